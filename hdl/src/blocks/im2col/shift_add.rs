//! Sequential shift-and-add multiplication: `prod = acc0 + b * m` for a B-bit multiplier `b`,
//! `K` multiplier bits per step (`K` in 1, 2, 4, 8), `B / K` steps.
//!
//! The address generator multiplies each tile's 8-bit kernel indices by per-layer strides in
//! these steps while the previous tile streams, so its per-pixel path has adders only and the
//! design has no `*` (no DSP). With `K = 1` a step is one two-operand adder, which synthesis maps
//! onto a carry chain (multi-operand sums become LUT compressor trees).
//!
//! The registers live here, beside the step logic: a combinational sub-block whose inputs and
//! outputs both sit in the parent's single `always` block is a false combinational loop to
//! Verilator.

use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct SeqMul<const W: usize, const B: usize> {
    pub clock: Signal<In, Clock>,
    pub en: Signal<In, Bit>,
    /// Start a product: the first step runs on `acc0`, `m0`, `b0` at this edge.
    pub load: Signal<In, Bit>,
    /// Run the next step (ignored with `load`).
    pub step: Signal<In, Bit>,
    pub acc0: Signal<In, Bits<W>>,
    pub m0: Signal<In, Bits<W>>,
    pub b0: Signal<In, Bits<B>>,
    /// `acc0 + (b0 mod 2^(K * steps)) * m0` after `steps` steps (modulo 2^W).
    pub prod: Signal<Out, Bits<W>>,
    zero: Constant<Bits<W>>,
    /// Shift of bit j's partial product: j.
    shift: Vec<Constant<Bits<W>>>,
    step_w: Constant<Bits<W>>,
    step_b: Constant<Bits<B>>,
    acc: DFF<Bits<W>>,
    m: DFF<Bits<W>>,
    b: DFF<Bits<B>>,
    src_m: Signal<Local, Bits<W>>,
    src_b: Signal<Local, Bits<B>>,
    part: Vec<Signal<Local, Bits<W>>>,
    /// `chain[j]` = the accumulator plus the partial products below j.
    chain: Vec<Signal<Local, Bits<W>>>,
    _bits: usize,
}

impl<const W: usize, const B: usize> SeqMul<W, B> {
    /// A multiplier consuming `bits` (1, 2, 4 or 8) multiplier bits per step.
    pub fn new(bits: usize) -> Self {
        assert!(
            [1, 2, 4, 8].contains(&bits) && W > bits && B.is_multiple_of(bits),
            "shift-add step of {bits} bits, {B} x {W}"
        );
        Self {
            clock: Default::default(),
            en: Default::default(),
            load: Default::default(),
            step: Default::default(),
            acc0: Default::default(),
            m0: Default::default(),
            b0: Default::default(),
            prod: Default::default(),
            zero: Constant::new(0.into()),
            shift: (0..bits).map(|j| Constant::new((j as u64).into())).collect(),
            step_w: Constant::new((bits as u64).into()),
            step_b: Constant::new((bits as u64).into()),
            acc: Default::default(),
            m: Default::default(),
            b: Default::default(),
            src_m: Default::default(),
            src_b: Default::default(),
            part: (0..bits).map(|_| Default::default()).collect(),
            chain: (0..=bits).map(|_| Default::default()).collect(),
            _bits: bits,
        }
    }
}

impl<const W: usize, const B: usize> Logic for SeqMul<W, B> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, acc, m, b);
        self.chain[0].next = self.acc.q.val();
        self.src_m.next = self.m.q.val();
        self.src_b.next = self.b.q.val();
        if self.load.val() {
            self.chain[0].next = self.acc0.val();
            self.src_m.next = self.m0.val();
            self.src_b.next = self.b0.val();
        }
        for j in 0..(self._bits) {
            self.part[j].next = self.zero.val();
            if self.src_b.val().get_bit(j) {
                self.part[j].next = self.src_m.val() << self.shift[j].val();
            }
        }
        for j in 0..(self._bits) {
            self.chain[j + 1].next = self.chain[j].val() + self.part[j].val();
        }
        if self.en.val() & (self.load.val() | self.step.val()) {
            for j in (self._bits)..(self._bits + 1) {
                self.acc.d.next = self.chain[j].val();
            }
            self.m.d.next = self.src_m.val() << self.step_w.val();
            self.b.d.next = self.src_b.val() >> self.step_b.val();
        }
        self.prod.next = self.acc.q.val();
    }
}

/// Multiplier bits per step for an R-row array: `8 / min(R, 8)`, so the `8 / K` steps of a
/// tile's products never take more than R cycles, the array's own minimum tile period.
pub fn step_bits(rows: usize) -> usize {
    8 / rows.clamp(1, 8)
}
