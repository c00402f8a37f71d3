//! Processing element of the weight-stationary array: 9-bit x 9-bit signed multiply, `ACC`-bit
//! accumulate, with a triple-buffered weight (load pipe, shadow, active).
//!
//! The array subtracts zero points at its edges (docs/ENGINE.md), so both operands arrive as
//! `x - zx` and `w - zw` in [-255, 255]: 9-bit signed, and the PE needs no correction terms.
//!
//! * Activations enter from the left (`a_in`) and leave to the right one cycle later (`a_out`).
//! * Partial sums enter from above (`psum_in`) and leave downwards registered:
//!   `psum_out <= psum_in + a_in * w_active` (wrapping in `ACC` bits).
//! * `tag_in` says "the activation on `a_in` in the *next* enabled cycle is the first of a new
//!   tile": at this edge the active weight becomes the shadow weight, so that activation and
//!   every later one of its tile meet the new weight. It travels to the right (`tag_out`) with
//!   the activations, one slot ahead of them, so the swap sweeps the array as a wavefront
//!   exactly behind the last activation of the previous tile: tiles stream back to back.
//! * Weights: `w_shift` moves `w_in` into the load pipe register (`w_out` feeds the PE below, so
//!   a column is a shift register); `w_commit` copies the pipe into the shadow. The pipe is a
//!   third register so the next tile's weights can stream in while the shadow still waits for
//!   the swap wavefront; each copy reads the source's value from before the edge, so shift,
//!   commit and swap may coincide.
//! * `en` low freezes every register (the array's stall).
//!
//! The multiply is written as a signed 16x16 (rust-hdl's only multiply) of sign-extended 9-bit
//! operands; Yosys narrows it and packs multiply + add + output register into one DSP48E1.
//!
//! A *fabric* PE ([`Pe::fabric`]) builds the same product from LUTs and carry chains instead,
//! as a shift-accumulate array multiplier: row 0 is `w[0] ? a : 0`, row i (1..=8) adds
//! `w[i] ? a : 0` (row 8 subtracts it: the weight's sign bit) to the previous row shifted right
//! by one (arithmetically); the bit shifted out of row i - 1 is product bit i - 1, row 8 gives
//! bits 17..8. Every row is a 10-bit add that Yosys maps to one carry chain (ECP5: 40 CCU2C +
//! 81 LUT4 for the multiplier, exhaustively checked). An adder *tree* of the nine shifted
//! partial products is the textbook alternative but Yosys 0.23 merges it into one `$macc` and
//! builds that from LUTs only (about 430 LUT4). It exists for arrays larger than the
//! part's DSP count (a 16 x 16 engine on an ECP5-85F with 156 multipliers): the array builds its
//! last `fabric_pe_rows` rows this way. The choice is a `Constant` select, so Yosys folds the
//! unused path away (no `$mul` reaches DSP mapping in a fabric PE, no adder tree survives in a
//! DSP PE); cycles and values are identical.
//!
//! A *narrow* PE ([`Pe::narrow`], the PEs of a 4-bit engine) multiplies by a 5-bit signed
//! weight: `w - zw` of int4 weights and zero points lies in [-15, 15]. It takes the low five
//! bits of its weight registers as that operand (bits 8..5 are ignored: the array's edge drives
//! them 0, so Yosys removes those flip-flops). The fabric product stops after row 4, which
//! subtracts (bit 4 is the sign): five carry-chain rows instead of nine; the DSP form multiplies
//! the sign-extended 5-bit operand. Again a `Constant` select.

use rust_hdl::prelude::*;

/// Accumulator widths the PE supports: at least the 32-bit product, at most a DSP48E1's 48-bit
/// P register (wider would cost a second DSP per PE).
pub const ACC_BITS: std::ops::RangeInclusive<usize> = 32..=48;

#[derive(LogicBlock)]
pub struct Pe<const ACC: usize = 32> {
    pub clock: Signal<In, Clock>,
    pub en: Signal<In, Bit>,
    pub a_in: Signal<In, Signed<9>>,
    pub tag_in: Signal<In, Bit>,
    pub psum_in: Signal<In, Signed<ACC>>,
    pub w_in: Signal<In, Signed<9>>,
    pub w_shift: Signal<In, Bit>,
    pub w_commit: Signal<In, Bit>,
    pub a_out: Signal<Out, Signed<9>>,
    pub tag_out: Signal<Out, Bit>,
    pub psum_out: Signal<Out, Signed<ACC>>,
    pub w_out: Signal<Out, Signed<9>>,
    a_reg: DFF<Signed<9>>,
    tag_reg: DFF<Bit>,
    psum_reg: DFF<Signed<ACC>>,
    w_pipe: DFF<Signed<9>>,
    w_shadow: DFF<Signed<9>>,
    w_active: DFF<Signed<9>>,
    a_wide: Signal<Local, Signed<16>>,
    w_wide: Signal<Local, Signed<16>>,
    product: Signal<Local, Signed<32>>,
    product_acc: Signal<Local, Signed<ACC>>,
    /// True: the product comes from the shift-accumulate rows below, not from `*`.
    in_fabric: Constant<Bit>,
    /// True: the weight operand is the 5-bit signed value in the weight registers' low bits.
    narrow: Constant<Bit>,
    k_low5: Constant<Bits<9>>,
    k_high4: Constant<Bits<9>>,
    w_bits9: Signal<Local, Bits<9>>,
    w_low5: Signal<Local, Bits<9>>,
    w_sx: Signal<Local, Bits<9>>,
    w5: Signal<Local, Signed<9>>,
    w5_wide: Signal<Local, Signed<16>>,
    /// Row 4 of a narrow PE: subtracts `w[4] ? a : 0` (the 5-bit weight's sign bit).
    row4n: Signal<Local, Bits<10>>,
    row4n_signed: Signal<Local, Signed<10>>,
    row4n_ext: Signal<Local, Signed<18>>,
    row4n_bits: Signal<Local, Bits<18>>,
    row4n_wide: Signal<Local, Bits<18>>,
    fabric5_product: Signal<Local, Bits<18>>,
    fabric5_signed: Signal<Local, Signed<18>>,
    zero10: Constant<Bits<10>>,
    sign10: Constant<Bits<10>>,
    top18: Constant<Bits<18>>,
    zero18: Constant<Bits<18>>,
    /// `a_in` sign-extended to 10 bits, as bits (each cast is a signal of its own: the emitter
    /// widens only a bare `x = $signed(y)`, hdl/README.md).
    a10_signed: Signal<Local, Signed<10>>,
    a10: Signal<Local, Bits<10>>,
    /// Row i's addend: `w[i] ? a : 0`.
    addend: Vec<Signal<Local, Bits<10>>>,
    /// Row i's sign bit in position 9 (the arithmetic shift's fill of row i + 1), i = 0..8.
    fill: Vec<Signal<Local, Bits<10>>>,
    /// Row sums (10 bits each).
    row: Vec<Signal<Local, Bits<10>>>,
    /// Product bit i (row i's low bit) in position 17, i = 0..8.
    low_bit: Vec<Signal<Local, Bits<18>>>,
    /// Product bits collected MSB-first: after row i, bits 0..i - 1 sit in 18 - i..=17.
    low: Vec<Signal<Local, Bits<18>>>,
    row8_signed: Signal<Local, Signed<10>>,
    row8_ext: Signal<Local, Signed<18>>,
    row8_bits: Signal<Local, Bits<18>>,
    row8_wide: Signal<Local, Bits<18>>,
    fabric_product: Signal<Local, Bits<18>>,
    fabric_signed: Signal<Local, Signed<18>>,
}

impl<const ACC: usize> Pe<ACC> {
    const WIDTH_OK: () = assert!(ACC >= 32 && ACC <= 48, "PE accumulator must be 32..=48 bits");
}

impl<const ACC: usize> Pe<ACC> {
    /// A PE whose multiplier is built from LUTs and carry chains instead of a DSP.
    pub fn fabric() -> Self {
        Self { in_fabric: Constant::new(true), ..Default::default() }
    }

    /// The same PE with a 5-bit signed weight operand (a 4-bit engine's): see the module docs.
    pub fn narrow(self) -> Self {
        Self { narrow: Constant::new(true), ..self }
    }
}

impl<const ACC: usize> Default for Pe<ACC> {
    fn default() -> Self {
        let () = Self::WIDTH_OK;
        Self {
            clock: Default::default(),
            en: Default::default(),
            a_in: Default::default(),
            tag_in: Default::default(),
            psum_in: Default::default(),
            w_in: Default::default(),
            w_shift: Default::default(),
            w_commit: Default::default(),
            a_out: Default::default(),
            tag_out: Default::default(),
            psum_out: Default::default(),
            w_out: Default::default(),
            a_reg: Default::default(),
            tag_reg: Default::default(),
            psum_reg: Default::default(),
            w_pipe: Default::default(),
            w_shadow: Default::default(),
            w_active: Default::default(),
            a_wide: Default::default(),
            w_wide: Default::default(),
            product: Default::default(),
            product_acc: Default::default(),
            in_fabric: Constant::new(false),
            narrow: Constant::new(false),
            k_low5: Constant::new(Bits::<9>::from(0x1fu64)),
            k_high4: Constant::new(Bits::<9>::from(0x1e0u64)),
            w_bits9: Default::default(),
            w_low5: Default::default(),
            w_sx: Default::default(),
            w5: Default::default(),
            w5_wide: Default::default(),
            row4n: Default::default(),
            row4n_signed: Default::default(),
            row4n_ext: Default::default(),
            row4n_bits: Default::default(),
            row4n_wide: Default::default(),
            fabric5_product: Default::default(),
            fabric5_signed: Default::default(),
            zero10: Constant::new(Bits::<10>::default()),
            sign10: Constant::new(Bits::<10>::from(0x200u64)),
            top18: Constant::new(Bits::<18>::from(1u64 << 17)),
            zero18: Constant::new(Bits::<18>::default()),
            a10_signed: Default::default(),
            a10: Default::default(),
            addend: (0..9).map(|_| Default::default()).collect(),
            fill: (0..8).map(|_| Default::default()).collect(),
            row: (0..9).map(|_| Default::default()).collect(),
            low_bit: (0..8).map(|_| Default::default()).collect(),
            low: (0..9).map(|_| Default::default()).collect(),
            row8_signed: Default::default(),
            row8_ext: Default::default(),
            row8_bits: Default::default(),
            row8_wide: Default::default(),
            fabric_product: Default::default(),
            fabric_signed: Default::default(),
        }
    }
}

impl<const ACC: usize> Logic for Pe<ACC> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, a_reg, tag_reg, psum_reg, w_pipe, w_shadow, w_active);
        self.a_wide.next = signed_bit_cast::<16, 9>(self.a_in.val());
        self.w_wide.next = signed_bit_cast::<16, 9>(self.w_active.q.val());
        // Narrow: the low five bits sign-extended from bit 4 (each cast a signal of its own; a
        // mask, not a part select, so no bit of the register reads as unused to the linter).
        self.w_bits9.next = unsigned_cast::<9>(self.w_active.q.val());
        self.w_low5.next = self.w_bits9.val() & self.k_low5.val();
        self.w_sx.next = self.w_low5.val();
        if self.w_bits9.val().get_bit(4) {
            self.w_sx.next = self.w_low5.val() | self.k_high4.val();
        }
        self.w5.next = signed_cast::<9>(self.w_sx.val());
        self.w5_wide.next = signed_bit_cast::<16, 9>(self.w5.val());
        // Shift-accumulate product (see the module docs); exact for 9-bit signed operands.
        self.a10_signed.next = signed_bit_cast::<10, 9>(self.a_in.val());
        self.a10.next = unsigned_cast::<10>(self.a10_signed.val());
        for i in 0..9 {
            self.addend[i].next = self.zero10.val();
            if self.w_active.q.val().get_bit(i) {
                self.addend[i].next = self.a10.val();
            }
        }
        // One pass in dependency order (row i - 1 is written before anything reads it): rust-hdl
        // emits a single `always @(*)`, and a read before the write in it is a loop to Verilator.
        self.row[0].next = self.addend[0].val();
        self.low[0].next = self.zero18.val();
        for i in 1..8 {
            self.fill[i - 1].next = self.zero10.val();
            if self.row[i - 1].val().get_bit(9) {
                self.fill[i - 1].next = self.sign10.val();
            }
            // Product bit i - 1 leaves row i - 1 here.
            self.low_bit[i - 1].next = self.zero18.val();
            if self.row[i - 1].val().get_bit(0) {
                self.low_bit[i - 1].next = self.top18.val();
            }
            self.low[i].next = (self.low[i - 1].val() >> 1) | self.low_bit[i - 1].val();
            self.row[i].next = ((self.row[i - 1].val() >> 1) | self.fill[i - 1].val()) + self.addend[i].val();
        }
        // Row 8 subtracts: w[8] is the weight's sign bit (w = -256 * w[8] + sum of w[i] * 2^i).
        self.fill[7].next = self.zero10.val();
        if self.row[7].val().get_bit(9) {
            self.fill[7].next = self.sign10.val();
        }
        self.low_bit[7].next = self.zero18.val();
        if self.row[7].val().get_bit(0) {
            self.low_bit[7].next = self.top18.val();
        }
        self.low[8].next = (self.low[7].val() >> 1) | self.low_bit[7].val();
        self.row[8].next = ((self.row[7].val() >> 1) | self.fill[7].val()) - self.addend[8].val();
        // Row 8 lands in product bits 17..8; each cast is a signal of its own (emitter rule).
        self.row8_signed.next = signed_cast::<10>(self.row[8].val());
        self.row8_ext.next = signed_bit_cast::<18, 10>(self.row8_signed.val());
        self.row8_bits.next = unsigned_cast::<18>(self.row8_ext.val());
        self.row8_wide.next = self.row8_bits.val() << 8;
        self.fabric_product.next = self.row8_wide.val() | (self.low[8].val() >> 10);
        self.fabric_signed.next = signed_cast::<18>(self.fabric_product.val());
        // Narrow: row 4 subtracts and lands in product bits 13..4 (sign-extended to 17..4);
        // bits 3..0 left rows 0..3 and sit in `low[4]` bits 17..14.
        self.row4n.next = ((self.row[3].val() >> 1) | self.fill[3].val()) - self.addend[4].val();
        self.row4n_signed.next = signed_cast::<10>(self.row4n.val());
        self.row4n_ext.next = signed_bit_cast::<18, 10>(self.row4n_signed.val());
        self.row4n_bits.next = unsigned_cast::<18>(self.row4n_ext.val());
        self.row4n_wide.next = self.row4n_bits.val() << 4;
        self.fabric5_product.next = self.row4n_wide.val() | (self.low[4].val() >> 14);
        self.fabric5_signed.next = signed_cast::<18>(self.fabric5_product.val());
        if self.in_fabric.val() {
            if self.narrow.val() {
                self.product.next = signed_bit_cast::<32, 18>(self.fabric5_signed.val());
            } else {
                self.product.next = signed_bit_cast::<32, 18>(self.fabric_signed.val());
            }
        } else if self.narrow.val() {
            self.product.next = self.a_wide.val() * self.w5_wide.val();
        } else {
            self.product.next = self.a_wide.val() * self.w_wide.val();
        }
        self.product_acc.next = signed_bit_cast::<ACC, 32>(self.product.val());
        if self.en.val() {
            self.a_reg.d.next = self.a_in.val();
            self.tag_reg.d.next = self.tag_in.val();
            self.psum_reg.d.next = self.psum_in.val() + self.product_acc.val();
            if self.w_shift.val() {
                self.w_pipe.d.next = self.w_in.val();
            }
            if self.w_commit.val() {
                self.w_shadow.d.next = self.w_pipe.q.val();
            }
            if self.tag_in.val() {
                self.w_active.d.next = self.w_shadow.q.val();
            }
        }
        self.a_out.next = self.a_reg.q.val();
        self.tag_out.next = self.tag_reg.q.val();
        self.psum_out.next = self.psum_reg.q.val();
        self.w_out.next = self.w_pipe.q.val();
    }
}

/// Inputs of one PE clock cycle (9-bit operands as `i16` in [-256, 255]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeInputs {
    pub en: bool,
    pub a_in: i16,
    pub tag_in: bool,
    pub psum_in: i64,
    pub w_in: i16,
    pub w_shift: bool,
    pub w_commit: bool,
}

/// Registered outputs of the PE after a rising edge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeOutputs {
    pub a_out: i16,
    pub tag_out: bool,
    pub psum_out: i64,
    pub w_out: i16,
}

/// Golden model of [`Pe`]: the same registers, updated once per [`PeModel::step`].
#[derive(Clone, Copy, Debug)]
pub struct PeModel {
    acc_bits: u32,
    /// [`Pe::narrow`]: the product takes the active weight's low five bits, signed.
    narrow: bool,
    a: i16,
    tag: bool,
    psum: i64,
    w_pipe: i16,
    w_shadow: i16,
    w_active: i16,
}

impl PeModel {
    pub fn new(acc_bits: usize) -> PeModel {
        assert!(ACC_BITS.contains(&acc_bits), "accumulator width {acc_bits} outside {ACC_BITS:?}");
        PeModel {
            acc_bits: acc_bits as u32,
            narrow: false,
            a: 0,
            tag: false,
            psum: 0,
            w_pipe: 0,
            w_shadow: 0,
            w_active: 0,
        }
    }

    /// The golden model of a narrow PE ([`Pe::narrow`]).
    pub fn narrow(acc_bits: usize) -> PeModel {
        PeModel { narrow: true, ..PeModel::new(acc_bits) }
    }

    /// One rising edge with `inputs` applied; returns the outputs after it.
    pub fn step(&mut self, inputs: PeInputs) -> PeOutputs {
        if inputs.en {
            let w = if self.narrow { i64::from(self.w_active << 11 >> 11) } else { i64::from(self.w_active) };
            let sum = inputs.psum_in + i64::from(inputs.a_in) * w;
            self.psum = wrap(sum, self.acc_bits);
            self.a = inputs.a_in;
            self.tag = inputs.tag_in;
            // Every copy reads the value from before the edge.
            let (pipe, shadow) = (self.w_pipe, self.w_shadow);
            if inputs.w_shift {
                self.w_pipe = inputs.w_in;
            }
            if inputs.w_commit {
                self.w_shadow = pipe;
            }
            if inputs.tag_in {
                self.w_active = shadow;
            }
        }
        PeOutputs { a_out: self.a, tag_out: self.tag, psum_out: self.psum, w_out: self.w_pipe }
    }
}

/// `v` wrapped to a `bits`-wide two's complement value (the accumulator register).
pub fn wrap(v: i64, bits: u32) -> i64 {
    let shift = 64 - bits;
    (v << shift) >> shift
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triple_buffer_moves_pipe_shadow_active_on_one_edge() {
        let mut pe = PeModel::new(32);
        pe.step(PeInputs { en: true, w_in: 3, w_shift: true, ..Default::default() });
        // Shift 5 in, commit 3 to the shadow, all on one edge.
        let out = pe.step(PeInputs { en: true, w_in: 5, w_shift: true, w_commit: true, ..Default::default() });
        assert_eq!(out.w_out, 5);
        // Tag: 3 becomes active at this edge, commit 5 to the shadow at the same time.
        pe.step(PeInputs { en: true, tag_in: true, w_commit: true, ..Default::default() });
        let out = pe.step(PeInputs { en: true, a_in: -255, psum_in: 10, ..Default::default() });
        assert_eq!(out.psum_out, 10 - 255 * 3);
        assert_eq!(out.a_out, -255);
        // Stalled: everything holds, including the weight registers.
        let out = pe.step(PeInputs { en: false, a_in: 1, tag_in: true, w_in: 7, w_shift: true, ..Default::default() });
        assert_eq!((out.psum_out, out.a_out, out.w_out), (10 - 255 * 3, -255, 5));
        let out = pe.step(PeInputs { en: true, a_in: 255, tag_in: true, ..Default::default() });
        assert_eq!(out.psum_out, 255 * 3, "the tagged edge still multiplies with the old weight");
        let out = pe.step(PeInputs { en: true, a_in: 255, ..Default::default() });
        assert_eq!(out.psum_out, 255 * 5);
    }

    #[test]
    fn accumulator_wraps_at_its_width() {
        assert_eq!(wrap(i64::from(i32::MAX) + 1, 32), i64::from(i32::MIN));
        assert_eq!(wrap(1 << 47, 48), -(1 << 47));
        assert_eq!(wrap(-5, 40), -5);
    }
}
