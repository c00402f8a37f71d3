//! The requantiser in rust-hdl: one channel per cycle, [`LATENCY`] register stages.
//!
//! Stages (see `model.rs` for the arithmetic they implement):
//! 1. |acc|, |M| or the scale mantissa, shift decode, special-case flags;
//! 2. left-shift cascade, steps 32/16/8 (Fixed: by `left`; Float: normalise, counting zeros);
//! 3. left-shift cascade, steps 4/2/1;
//! 4. Fixed: int32 saturation; Float: round |acc| to a 24-bit mantissa, half to even;
//! 5. four 16x16 partial products (rust-hdl multiplies only 16x16; one DSP each);
//! 6. sum of the partial products (64 bits);
//! 7. Fixed: SaturatingRoundingDoublingHighMul's nudge and >> 31 with the INT32_MIN corner;
//!    Float: round the 48-bit product to 24 bits half to even, final exponent, zero/saturation;
//! 8. barrel shift into a 33.31 fixed-point word;
//! 9. round (Fixed: half up on the magnitude == RoundingDivideByPOT; Float: half to even), sign;
//! 10. + zero point, clamp to [act_min, act_max] (NaN -> act_min).
//!
//! Coding rules forced by rust-hdl 0.46 (see `crate::emit`): every operator's operands have the
//! same width (constants are `Constant`s of the right width, never bare literals); width
//! changes are whole-statement `bit_cast`/`signed_bit_cast` assignments; nested operators are
//! parenthesised; no signed arithmetic (two's complement by hand, signed compares by flipping
//! the sign bit).

use super::super::delay::Delay;
use crate::emit::Waiver;
use rust_hdl::prelude::*;

/// Register stages from inputs to `y`: the result of the inputs applied before rising edge t
/// is on `y` after edge t + LATENCY - 1.
pub const LATENCY: usize = 10;

/// Lint waivers the emitted module needs (pass to `emit::emit_with_waivers`).
pub const WAIVERS: &[Waiver] = &[Waiver {
    signal: std::borrow::Cow::Borrowed("hsum"),
    rule: "UNUSEDSIGNAL",
    reason: "bits 30:0 of the nudged product are what SaturatingRoundingDoublingHighMul's >> 31 discards",
}];

#[derive(LogicBlock)]
pub struct RequantUnit {
    pub clock: Signal<In, Clock>,
    pub valid_in: Signal<In, Bit>,
    /// 0: Fixed (TFLite), 1: Float (onnxruntime).
    pub mode: Signal<In, Bit>,
    pub acc: Signal<In, Signed<32>>,
    /// Fixed: multiplier M; Float: f32 bit pattern of the scale.
    pub mult: Signal<In, Bits<32>>,
    /// Fixed: shift (left if positive).
    pub shift: Signal<In, Signed<8>>,
    pub zero_point: Signal<In, Signed<32>>,
    pub act_min: Signal<In, Signed<32>>,
    pub act_max: Signal<In, Signed<32>>,
    pub valid_out: Signal<Out, Bit>,
    pub y: Signal<Out, Signed<32>>,

    // Constants, named by width.
    k1_8: Constant<Bits<8>>,
    k32_8: Constant<Bits<8>>,
    k0_6: Constant<Bits<6>>,
    k32_6: Constant<Bits<6>>,
    k31_6: Constant<Bits<6>>,
    k0_5: Constant<Bits<5>>,
    k31_5: Constant<Bits<5>>,
    k1_32: Constant<Bits<32>>,
    frac_mask_32: Constant<Bits<32>>,
    hidden_32: Constant<Bits<32>>,
    int_max_32: Constant<Bits<32>>,
    k168_9: Constant<Bits<9>>,
    k16_9: Constant<Bits<9>>,
    k8_9: Constant<Bits<9>>,
    k4_9: Constant<Bits<9>>,
    k2_9: Constant<Bits<9>>,
    k1_9: Constant<Bits<9>>,
    k262_9: Constant<Bits<9>>,
    k296_9: Constant<Bits<9>>,
    int_max_64: Constant<Bits<64>>,
    int_min_mag_64: Constant<Bits<64>>,
    nudge_pos_64: Constant<Bits<64>>,
    nudge_neg_64: Constant<Bits<64>>,
    k1_25: Constant<Bits<25>>,
    hidden_24: Constant<Bits<24>>,
    k0_34: Constant<Bits<34>>,
    k1_34: Constant<Bits<34>>,
    saturated_34: Constant<Bits<34>>,
    k1_35: Constant<Bits<35>>,
    sign_36: Constant<Bits<36>>,
    ext_36: Constant<Bits<36>>,

    // Side band.
    valid_pipe: Delay<1, LATENCY>,
    zp_pipe: Delay<32, 9>,
    min_pipe: Delay<32, 9>,
    max_pipe: Delay<32, 9>,

    // Stage 1.
    acc_u: Signal<Local, Bits<32>>,
    shift_u: Signal<Local, Bits<8>>,
    neg_shift: Signal<Local, Bits<8>>,
    acc_nz: Signal<Local, Bit>,
    mult_nz: Signal<Local, Bit>,
    exp_all: Signal<Local, Bit>,
    exp_any: Signal<Local, Bit>,
    frac_any: Signal<Local, Bit>,
    s1_mode: DFF<Bit>,
    s1_sign_a: DFF<Bit>,
    s1_mag_a: DFF<Bits<32>>,
    s1_op_b: DFF<Bits<32>>,
    s1_exp: DFF<Bits<8>>,
    s1_left: DFF<Bits<6>>,
    s1_right: DFF<Bits<5>>,
    s1_neg: DFF<Bit>,
    s1_nan: DFF<Bit>,
    s1_inf: DFF<Bit>,
    s1_fzero: DFF<Bit>,

    // Stage 2.
    v0: Signal<Local, Bits<64>>,
    v1: Signal<Local, Bits<64>>,
    v2: Signal<Local, Bits<64>>,
    c16: Signal<Local, Bit>,
    c8: Signal<Local, Bit>,
    exp9: Signal<Local, Bits<9>>,
    eb0: Signal<Local, Bits<9>>,
    eb1: Signal<Local, Bits<9>>,
    s2_mode: DFF<Bit>,
    s2_sign_a: DFF<Bit>,
    s2_v: DFF<Bits<64>>,
    s2_eb: DFF<Bits<9>>,
    s2_left: DFF<Bits<3>>,
    s2_op_b: DFF<Bits<32>>,
    s2_right: DFF<Bits<5>>,
    s2_neg: DFF<Bit>,
    s2_nan: DFF<Bit>,
    s2_inf: DFF<Bit>,
    s2_fzero: DFF<Bit>,

    // Stage 3.
    c4: Signal<Local, Bit>,
    c2: Signal<Local, Bit>,
    c1: Signal<Local, Bit>,
    v4: Signal<Local, Bits<64>>,
    v5: Signal<Local, Bits<64>>,
    eb4: Signal<Local, Bits<9>>,
    eb5: Signal<Local, Bits<9>>,
    s3_mode: DFF<Bit>,
    s3_sign_a: DFF<Bit>,
    s3_v: DFF<Bits<64>>,
    s3_eb: DFF<Bits<9>>,
    s3_op_b: DFF<Bits<32>>,
    s3_right: DFF<Bits<5>>,
    s3_neg: DFF<Bit>,
    s3_nan: DFF<Bit>,
    s3_inf: DFF<Bit>,
    s3_fzero: DFF<Bit>,

    // Stage 4.
    limit: Signal<Local, Bits<64>>,
    x32: Signal<Local, Bits<32>>,
    norm: Signal<Local, Bits<32>>,
    fa0: Signal<Local, Bits<24>>,
    round_a: Signal<Local, Bit>,
    fa0_25: Signal<Local, Bits<25>>,
    fa25: Signal<Local, Bits<25>>,
    carry_a: Signal<Local, Bit>,
    fa: Signal<Local, Bits<24>>,
    fa32: Signal<Local, Bits<32>>,
    s4_mode: DFF<Bit>,
    s4_op_a: DFF<Bits<32>>,
    s4_op_b: DFF<Bits<32>>,
    s4_eb: DFF<Bits<9>>,
    s4_right: DFF<Bits<5>>,
    s4_neg: DFF<Bit>,
    s4_nan: DFF<Bit>,
    s4_inf: DFF<Bit>,
    s4_fzero: DFF<Bit>,

    // Stage 5.
    a_lo: Signal<Local, Bits<16>>,
    a_hi: Signal<Local, Bits<16>>,
    b_lo: Signal<Local, Bits<16>>,
    b_hi: Signal<Local, Bits<16>>,
    s5_mode: DFF<Bit>,
    s5_ll: DFF<Bits<32>>,
    s5_lh: DFF<Bits<32>>,
    s5_hl: DFF<Bits<32>>,
    s5_hh: DFF<Bits<32>>,
    s5_eb: DFF<Bits<9>>,
    s5_right: DFF<Bits<5>>,
    s5_neg: DFF<Bit>,
    s5_nan: DFF<Bit>,
    s5_inf: DFF<Bit>,
    s5_fzero: DFF<Bit>,

    // Stage 6.
    ll64: Signal<Local, Bits<64>>,
    lh64: Signal<Local, Bits<64>>,
    hl64: Signal<Local, Bits<64>>,
    hh64: Signal<Local, Bits<64>>,
    s6_mode: DFF<Bit>,
    s6_p: DFF<Bits<64>>,
    s6_eb: DFF<Bits<9>>,
    s6_right: DFF<Bits<5>>,
    s6_neg: DFF<Bit>,
    s6_nan: DFF<Bit>,
    s6_inf: DFF<Bit>,
    s6_fzero: DFF<Bit>,

    // Stage 7.
    nudge: Signal<Local, Bits<64>>,
    hsum: Signal<Local, Bits<64>>,
    hmag: Signal<Local, Bits<32>>,
    p48: Signal<Local, Bits<48>>,
    top: Signal<Local, Bit>,
    pn: Signal<Local, Bits<48>>,
    fp0: Signal<Local, Bits<24>>,
    round_p: Signal<Local, Bit>,
    fp0_25: Signal<Local, Bits<25>>,
    fp25: Signal<Local, Bits<25>>,
    carry_p: Signal<Local, Bit>,
    fp: Signal<Local, Bits<24>>,
    fp32: Signal<Local, Bits<32>>,
    sb0: Signal<Local, Bits<9>>,
    sb: Signal<Local, Bits<9>>,
    right6: Signal<Local, Bits<6>>,
    s7_mode: DFF<Bit>,
    s7_val: DFF<Bits<32>>,
    s7_sa: DFF<Bits<6>>,
    s7_zero: DFF<Bit>,
    s7_sat: DFF<Bit>,
    s7_neg: DFF<Bit>,
    s7_nan: DFF<Bit>,

    // Stage 8.
    val64: Signal<Local, Bits<64>>,
    s8_mode: DFF<Bit>,
    s8_w: DFF<Bits<64>>,
    s8_zero: DFF<Bit>,
    s8_sat: DFF<Bit>,
    s8_neg: DFF<Bit>,
    s8_nan: DFF<Bit>,

    // Stage 9.
    q33: Signal<Local, Bits<33>>,
    half: Signal<Local, Bit>,
    sticky: Signal<Local, Bit>,
    round_up: Signal<Local, Bit>,
    q34: Signal<Local, Bits<34>>,
    mag34: Signal<Local, Bits<34>>,
    mag35: Signal<Local, Bits<35>>,
    s9_res: DFF<Bits<35>>,
    s9_nan: DFF<Bit>,

    // Stage 10.
    res36_z: Signal<Local, Bits<36>>,
    res36: Signal<Local, Bits<36>>,
    zp_u: Signal<Local, Bits<32>>,
    zp36_z: Signal<Local, Bits<36>>,
    zp36: Signal<Local, Bits<36>>,
    min36_z: Signal<Local, Bits<36>>,
    min36: Signal<Local, Bits<36>>,
    max36_z: Signal<Local, Bits<36>>,
    max36: Signal<Local, Bits<36>>,
    sum36: Signal<Local, Bits<36>>,
    y_u: Signal<Local, Bits<32>>,
    s10_y: DFF<Bits<32>>,
}

fn k<const N: usize>(value: u64) -> Constant<Bits<N>> {
    Constant::new(bits::<N>(value))
}

impl Default for RequantUnit {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            valid_in: Default::default(),
            mode: Default::default(),
            acc: Default::default(),
            mult: Default::default(),
            shift: Default::default(),
            zero_point: Default::default(),
            act_min: Default::default(),
            act_max: Default::default(),
            valid_out: Default::default(),
            y: Default::default(),
            k1_8: k(1),
            k32_8: k(32),
            k0_6: k(0),
            k32_6: k(32),
            k31_6: k(31),
            k0_5: k(0),
            k31_5: k(31),
            k1_32: k(1),
            frac_mask_32: k(0x7f_ffff),
            hidden_32: k(0x80_0000),
            int_max_32: k(0x7fff_ffff),
            k168_9: k(168),
            k16_9: k(16),
            k8_9: k(8),
            k4_9: k(4),
            k2_9: k(2),
            k1_9: k(1),
            k262_9: k(262),
            k296_9: k(296),
            int_max_64: k(0x7fff_ffff),
            int_min_mag_64: k(0x8000_0000),
            nudge_pos_64: k(1 << 30),
            nudge_neg_64: k((1 << 30) - 1),
            k1_25: k(1),
            hidden_24: k(0x80_0000),
            k0_34: k(0),
            k1_34: k(1),
            saturated_34: k(super::model::FLOAT_SATURATED),
            k1_35: k(1),
            sign_36: k(1 << 35),
            ext_36: k(0xf_0000_0000),
            valid_pipe: Default::default(),
            zp_pipe: Default::default(),
            min_pipe: Default::default(),
            max_pipe: Default::default(),
            acc_u: Default::default(),
            shift_u: Default::default(),
            neg_shift: Default::default(),
            acc_nz: Default::default(),
            mult_nz: Default::default(),
            exp_all: Default::default(),
            exp_any: Default::default(),
            frac_any: Default::default(),
            s1_mode: Default::default(),
            s1_sign_a: Default::default(),
            s1_mag_a: Default::default(),
            s1_op_b: Default::default(),
            s1_exp: Default::default(),
            s1_left: Default::default(),
            s1_right: Default::default(),
            s1_neg: Default::default(),
            s1_nan: Default::default(),
            s1_inf: Default::default(),
            s1_fzero: Default::default(),
            v0: Default::default(),
            v1: Default::default(),
            v2: Default::default(),
            c16: Default::default(),
            c8: Default::default(),
            exp9: Default::default(),
            eb0: Default::default(),
            eb1: Default::default(),
            s2_mode: Default::default(),
            s2_sign_a: Default::default(),
            s2_v: Default::default(),
            s2_eb: Default::default(),
            s2_left: Default::default(),
            s2_op_b: Default::default(),
            s2_right: Default::default(),
            s2_neg: Default::default(),
            s2_nan: Default::default(),
            s2_inf: Default::default(),
            s2_fzero: Default::default(),
            c4: Default::default(),
            c2: Default::default(),
            c1: Default::default(),
            v4: Default::default(),
            v5: Default::default(),
            eb4: Default::default(),
            eb5: Default::default(),
            s3_mode: Default::default(),
            s3_sign_a: Default::default(),
            s3_v: Default::default(),
            s3_eb: Default::default(),
            s3_op_b: Default::default(),
            s3_right: Default::default(),
            s3_neg: Default::default(),
            s3_nan: Default::default(),
            s3_inf: Default::default(),
            s3_fzero: Default::default(),
            limit: Default::default(),
            x32: Default::default(),
            norm: Default::default(),
            fa0: Default::default(),
            round_a: Default::default(),
            fa0_25: Default::default(),
            fa25: Default::default(),
            carry_a: Default::default(),
            fa: Default::default(),
            fa32: Default::default(),
            s4_mode: Default::default(),
            s4_op_a: Default::default(),
            s4_op_b: Default::default(),
            s4_eb: Default::default(),
            s4_right: Default::default(),
            s4_neg: Default::default(),
            s4_nan: Default::default(),
            s4_inf: Default::default(),
            s4_fzero: Default::default(),
            a_lo: Default::default(),
            a_hi: Default::default(),
            b_lo: Default::default(),
            b_hi: Default::default(),
            s5_mode: Default::default(),
            s5_ll: Default::default(),
            s5_lh: Default::default(),
            s5_hl: Default::default(),
            s5_hh: Default::default(),
            s5_eb: Default::default(),
            s5_right: Default::default(),
            s5_neg: Default::default(),
            s5_nan: Default::default(),
            s5_inf: Default::default(),
            s5_fzero: Default::default(),
            ll64: Default::default(),
            lh64: Default::default(),
            hl64: Default::default(),
            hh64: Default::default(),
            s6_mode: Default::default(),
            s6_p: Default::default(),
            s6_eb: Default::default(),
            s6_right: Default::default(),
            s6_neg: Default::default(),
            s6_nan: Default::default(),
            s6_inf: Default::default(),
            s6_fzero: Default::default(),
            nudge: Default::default(),
            hsum: Default::default(),
            hmag: Default::default(),
            p48: Default::default(),
            top: Default::default(),
            pn: Default::default(),
            fp0: Default::default(),
            round_p: Default::default(),
            fp0_25: Default::default(),
            fp25: Default::default(),
            carry_p: Default::default(),
            fp: Default::default(),
            fp32: Default::default(),
            sb0: Default::default(),
            sb: Default::default(),
            right6: Default::default(),
            s7_mode: Default::default(),
            s7_val: Default::default(),
            s7_sa: Default::default(),
            s7_zero: Default::default(),
            s7_sat: Default::default(),
            s7_neg: Default::default(),
            s7_nan: Default::default(),
            val64: Default::default(),
            s8_mode: Default::default(),
            s8_w: Default::default(),
            s8_zero: Default::default(),
            s8_sat: Default::default(),
            s8_neg: Default::default(),
            s8_nan: Default::default(),
            q33: Default::default(),
            half: Default::default(),
            sticky: Default::default(),
            round_up: Default::default(),
            q34: Default::default(),
            mag34: Default::default(),
            mag35: Default::default(),
            s9_res: Default::default(),
            s9_nan: Default::default(),
            res36_z: Default::default(),
            res36: Default::default(),
            zp_u: Default::default(),
            zp36_z: Default::default(),
            zp36: Default::default(),
            min36_z: Default::default(),
            min36: Default::default(),
            max36_z: Default::default(),
            max36: Default::default(),
            sum36: Default::default(),
            y_u: Default::default(),
            s10_y: Default::default(),
        }
    }
}

impl Logic for RequantUnit {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, s1_mode, s1_sign_a, s1_mag_a, s1_op_b, s1_exp, s1_left, s1_right, s1_neg, s1_nan, s1_inf,
            s1_fzero, s2_mode, s2_sign_a, s2_v, s2_eb, s2_left, s2_op_b, s2_right, s2_neg, s2_nan, s2_inf, s2_fzero,
            s3_mode, s3_sign_a, s3_v, s3_eb, s3_op_b, s3_right, s3_neg, s3_nan, s3_inf, s3_fzero, s4_mode, s4_op_a,
            s4_op_b, s4_eb, s4_right, s4_neg, s4_nan, s4_inf, s4_fzero, s5_mode, s5_ll, s5_lh, s5_hl, s5_hh, s5_eb,
            s5_right, s5_neg, s5_nan, s5_inf, s5_fzero, s6_mode, s6_p, s6_eb, s6_right, s6_neg, s6_nan, s6_inf,
            s6_fzero, s7_mode, s7_val, s7_sa, s7_zero, s7_sat, s7_neg, s7_nan, s8_mode, s8_w, s8_zero, s8_sat, s8_neg,
            s8_nan, s9_res, s9_nan, s10_y
        );
        self.valid_pipe.clock.next = self.clock.val();
        self.zp_pipe.clock.next = self.clock.val();
        self.min_pipe.clock.next = self.clock.val();
        self.max_pipe.clock.next = self.clock.val();
        self.valid_pipe.d.next = self.valid_in.val().into();
        self.zp_pipe.d.next = unsigned_cast(self.zero_point.val());
        self.min_pipe.d.next = unsigned_cast(self.act_min.val());
        self.max_pipe.d.next = unsigned_cast(self.act_max.val());

        // ---- Stage 1: magnitudes, shift decode, special cases.
        self.acc_u.next = unsigned_cast(self.acc.val());
        self.shift_u.next = unsigned_cast(self.shift.val());
        self.acc_nz.next = self.acc_u.val().any();
        self.mult_nz.next = self.mult.val().any();
        self.exp_all.next = self.mult.val().get_bits::<8>(23).all();
        self.exp_any.next = self.mult.val().get_bits::<8>(23).any();
        self.frac_any.next = self.mult.val().get_bits::<23>(0).any();
        self.s1_mode.d.next = self.mode.val();
        self.s1_sign_a.d.next = self.acc_u.val().get_bit(31);
        self.s1_mag_a.d.next = self.acc_u.val();
        if self.acc_u.val().get_bit(31) {
            self.s1_mag_a.d.next = !self.acc_u.val() + self.k1_32.val();
        }
        // Float: the 24-bit mantissa with its hidden one; Fixed: |M|.
        self.s1_op_b.d.next = self.mult.val();
        if self.mode.val() {
            self.s1_op_b.d.next = (self.mult.val() & self.frac_mask_32.val()) | self.hidden_32.val();
        } else if self.mult.val().get_bit(31) {
            self.s1_op_b.d.next = !self.mult.val() + self.k1_32.val();
        }
        self.s1_exp.d.next = self.mult.val().get_bits::<8>(23);
        // left = clamp(shift, 0, 32), right = clamp(-shift, 0, 31).
        self.neg_shift.next = !self.shift_u.val() + self.k1_8.val();
        self.s1_left.d.next = self.k0_6.val();
        self.s1_right.d.next = self.k0_5.val();
        if self.shift_u.val().get_bit(7) {
            self.s1_right.d.next = self.k31_5.val();
            if self.neg_shift.val() < self.k32_8.val() {
                self.s1_right.d.next = self.neg_shift.val().get_bits::<5>(0);
            }
        } else {
            self.s1_left.d.next = self.k32_6.val();
            if self.shift_u.val() < self.k32_8.val() {
                self.s1_left.d.next = self.shift_u.val().get_bits::<6>(0);
            }
        }
        // Product sign; in Fixed mode a zero product is not negative (it changes the nudge).
        self.s1_neg.d.next = (self.acc_u.val().get_bit(31) ^ self.mult.val().get_bit(31))
            & (self.mode.val() | (self.acc_nz.val() & self.mult_nz.val()));
        // Float specials: NaN scale or 0 * inf -> NaN; inf -> saturate; zero or subnormal
        // scale, or zero accumulator -> 0.
        self.s1_nan.d.next = self.mode.val() & self.exp_all.val() & (self.frac_any.val() | !self.acc_nz.val());
        self.s1_inf.d.next = self.mode.val() & self.exp_all.val() & !self.frac_any.val() & self.acc_nz.val();
        self.s1_fzero.d.next = self.mode.val() & (!self.exp_any.val() | !self.acc_nz.val());

        // ---- Stage 2: shift cascade 32/16/8. Float mode shifts while the top bits are zero
        // (normalising |acc| to bit 31) and tracks the exponent eb = E + 168 - lz.
        self.v0.next = bit_cast::<64, 32>(self.s1_mag_a.q.val());
        self.v1.next = self.v0.val();
        if !self.s1_mode.q.val() & self.s1_left.q.val().get_bit(5) {
            self.v1.next = self.v0.val() << 32;
        }
        self.c16.next = self.s1_left.q.val().get_bit(4);
        if self.s1_mode.q.val() {
            self.c16.next = !self.v1.val().get_bits::<16>(16).any();
        }
        self.v2.next = self.v1.val();
        if self.c16.val() {
            self.v2.next = self.v1.val() << 16;
        }
        self.c8.next = self.s1_left.q.val().get_bit(3);
        if self.s1_mode.q.val() {
            self.c8.next = !self.v2.val().get_bits::<8>(24).any();
        }
        self.s2_v.d.next = self.v2.val();
        if self.c8.val() {
            self.s2_v.d.next = self.v2.val() << 8;
        }
        self.exp9.next = bit_cast::<9, 8>(self.s1_exp.q.val());
        self.eb0.next = self.exp9.val() + self.k168_9.val();
        self.eb1.next = self.eb0.val();
        if self.c16.val() {
            self.eb1.next = self.eb0.val() - self.k16_9.val();
        }
        self.s2_eb.d.next = self.eb1.val();
        if self.c8.val() {
            self.s2_eb.d.next = self.eb1.val() - self.k8_9.val();
        }
        self.s2_left.d.next = self.s1_left.q.val().get_bits::<3>(0);
        self.s2_mode.d.next = self.s1_mode.q.val();
        self.s2_sign_a.d.next = self.s1_sign_a.q.val();
        self.s2_op_b.d.next = self.s1_op_b.q.val();
        self.s2_right.d.next = self.s1_right.q.val();
        self.s2_neg.d.next = self.s1_neg.q.val();
        self.s2_nan.d.next = self.s1_nan.q.val();
        self.s2_inf.d.next = self.s1_inf.q.val();
        self.s2_fzero.d.next = self.s1_fzero.q.val();

        // ---- Stage 3: shift cascade 4/2/1.
        self.c4.next = self.s2_left.q.val().get_bit(2);
        if self.s2_mode.q.val() {
            self.c4.next = !self.s2_v.q.val().get_bits::<4>(28).any();
        }
        self.v4.next = self.s2_v.q.val();
        self.eb4.next = self.s2_eb.q.val();
        if self.c4.val() {
            self.v4.next = self.s2_v.q.val() << 4;
            self.eb4.next = self.s2_eb.q.val() - self.k4_9.val();
        }
        self.c2.next = self.s2_left.q.val().get_bit(1);
        if self.s2_mode.q.val() {
            self.c2.next = !self.v4.val().get_bits::<2>(30).any();
        }
        self.v5.next = self.v4.val();
        self.eb5.next = self.eb4.val();
        if self.c2.val() {
            self.v5.next = self.v4.val() << 2;
            self.eb5.next = self.eb4.val() - self.k2_9.val();
        }
        self.c1.next = self.s2_left.q.val().get_bit(0);
        if self.s2_mode.q.val() {
            self.c1.next = !self.v5.val().get_bit(31);
        }
        self.s3_v.d.next = self.v5.val();
        self.s3_eb.d.next = self.eb5.val();
        if self.c1.val() {
            self.s3_v.d.next = self.v5.val() << 1;
            self.s3_eb.d.next = self.eb5.val() - self.k1_9.val();
        }
        self.s3_mode.d.next = self.s2_mode.q.val();
        self.s3_sign_a.d.next = self.s2_sign_a.q.val();
        self.s3_op_b.d.next = self.s2_op_b.q.val();
        self.s3_right.d.next = self.s2_right.q.val();
        self.s3_neg.d.next = self.s2_neg.q.val();
        self.s3_nan.d.next = self.s2_nan.q.val();
        self.s3_inf.d.next = self.s2_inf.q.val();
        self.s3_fzero.d.next = self.s2_fzero.q.val();

        // ---- Stage 4: Fixed saturates to int32; Float rounds |acc| to 24 bits half-even.
        self.limit.next = self.int_max_64.val();
        if self.s3_sign_a.q.val() {
            self.limit.next = self.int_min_mag_64.val();
        }
        self.x32.next = self.s3_v.q.val().get_bits::<32>(0);
        if self.s3_v.q.val() > self.limit.val() {
            self.x32.next = self.limit.val().get_bits::<32>(0);
        }
        self.norm.next = self.s3_v.q.val().get_bits::<32>(0);
        self.fa0.next = self.norm.val().get_bits::<24>(8);
        self.round_a.next =
            self.norm.val().get_bit(7) & (self.norm.val().get_bits::<7>(0).any() | self.fa0.val().get_bit(0));
        self.fa0_25.next = bit_cast::<25, 24>(self.fa0.val());
        self.fa25.next = self.fa0_25.val();
        if self.round_a.val() {
            self.fa25.next = self.fa0_25.val() + self.k1_25.val();
        }
        self.carry_a.next = self.fa25.val().get_bit(24);
        self.fa.next = self.fa25.val().get_bits::<24>(0);
        if self.carry_a.val() {
            self.fa.next = self.hidden_24.val();
        }
        self.fa32.next = bit_cast::<32, 24>(self.fa.val());
        self.s4_op_a.d.next = self.x32.val();
        if self.s3_mode.q.val() {
            self.s4_op_a.d.next = self.fa32.val();
        }
        self.s4_eb.d.next = self.s3_eb.q.val();
        if self.carry_a.val() {
            self.s4_eb.d.next = self.s3_eb.q.val() + self.k1_9.val();
        }
        self.s4_mode.d.next = self.s3_mode.q.val();
        self.s4_op_b.d.next = self.s3_op_b.q.val();
        self.s4_right.d.next = self.s3_right.q.val();
        self.s4_neg.d.next = self.s3_neg.q.val();
        self.s4_nan.d.next = self.s3_nan.q.val();
        self.s4_inf.d.next = self.s3_inf.q.val();
        self.s4_fzero.d.next = self.s3_fzero.q.val();

        // ---- Stage 5: 32x32 unsigned as four 16x16 partial products.
        self.a_lo.next = self.s4_op_a.q.val().get_bits::<16>(0);
        self.a_hi.next = self.s4_op_a.q.val().get_bits::<16>(16);
        self.b_lo.next = self.s4_op_b.q.val().get_bits::<16>(0);
        self.b_hi.next = self.s4_op_b.q.val().get_bits::<16>(16);
        self.s5_ll.d.next = self.a_lo.val() * self.b_lo.val();
        self.s5_lh.d.next = self.a_lo.val() * self.b_hi.val();
        self.s5_hl.d.next = self.a_hi.val() * self.b_lo.val();
        self.s5_hh.d.next = self.a_hi.val() * self.b_hi.val();
        self.s5_mode.d.next = self.s4_mode.q.val();
        self.s5_eb.d.next = self.s4_eb.q.val();
        self.s5_right.d.next = self.s4_right.q.val();
        self.s5_neg.d.next = self.s4_neg.q.val();
        self.s5_nan.d.next = self.s4_nan.q.val();
        self.s5_inf.d.next = self.s4_inf.q.val();
        self.s5_fzero.d.next = self.s4_fzero.q.val();

        // ---- Stage 6: sum of partial products.
        self.ll64.next = bit_cast::<64, 32>(self.s5_ll.q.val());
        self.lh64.next = bit_cast::<64, 32>(self.s5_lh.q.val());
        self.hl64.next = bit_cast::<64, 32>(self.s5_hl.q.val());
        self.hh64.next = bit_cast::<64, 32>(self.s5_hh.q.val());
        self.s6_p.d.next =
            self.ll64.val() + (self.lh64.val() << 16) + (self.hl64.val() << 16) + (self.hh64.val() << 32);
        self.s6_mode.d.next = self.s5_mode.q.val();
        self.s6_eb.d.next = self.s5_eb.q.val();
        self.s6_right.d.next = self.s5_right.q.val();
        self.s6_neg.d.next = self.s5_neg.q.val();
        self.s6_nan.d.next = self.s5_nan.q.val();
        self.s6_inf.d.next = self.s5_inf.q.val();
        self.s6_fzero.d.next = self.s5_fzero.q.val();

        // ---- Stage 7, Fixed: (|p| + 2^30 - neg) >> 31, INT32_MIN * INT32_MIN -> INT32_MAX.
        self.nudge.next = self.nudge_pos_64.val();
        if self.s6_neg.q.val() {
            self.nudge.next = self.nudge_neg_64.val();
        }
        self.hsum.next = self.s6_p.q.val() + self.nudge.val();
        self.hmag.next = self.hsum.val().get_bits::<32>(31);
        // Bit 62 is set only by 2^62 + 2^30 (the saturating corner); bit 63 never, but reading
        // it keeps every bit of the sum used.
        if !self.s6_neg.q.val() & (self.hsum.val().get_bit(62) | self.hsum.val().get_bit(63)) {
            self.hmag.next = self.int_max_32.val();
        }
        // Stage 7, Float: normalise the product to bit 47 and round to 24 bits half-even.
        self.p48.next = self.s6_p.q.val().get_bits::<48>(0);
        self.top.next = self.p48.val().get_bit(47);
        self.pn.next = self.p48.val() << 1;
        if self.top.val() {
            self.pn.next = self.p48.val();
        }
        self.fp0.next = self.pn.val().get_bits::<24>(24);
        self.round_p.next =
            self.pn.val().get_bit(23) & (self.pn.val().get_bits::<23>(0).any() | self.fp0.val().get_bit(0));
        self.fp0_25.next = bit_cast::<25, 24>(self.fp0.val());
        self.fp25.next = self.fp0_25.val();
        if self.round_p.val() {
            self.fp25.next = self.fp0_25.val() + self.k1_25.val();
        }
        self.carry_p.next = self.fp25.val().get_bit(24);
        self.fp.next = self.fp25.val().get_bits::<24>(0);
        if self.carry_p.val() {
            self.fp.next = self.hidden_24.val();
        }
        self.fp32.next = bit_cast::<32, 24>(self.fp.val());
        // sb = 256 + 31 + k: the final shift is sb - 256 when k is in -25..=9.
        self.sb0.next = self.s6_eb.q.val();
        if self.top.val() {
            self.sb0.next = self.s6_eb.q.val() + self.k1_9.val();
        }
        self.sb.next = self.sb0.val();
        if self.carry_p.val() {
            self.sb.next = self.sb0.val() + self.k1_9.val();
        }
        self.right6.next = bit_cast::<6, 5>(self.s6_right.q.val());
        self.s7_val.d.next = self.hmag.val();
        self.s7_sa.d.next = self.k31_6.val() - self.right6.val();
        if self.s6_mode.q.val() {
            self.s7_val.d.next = self.fp32.val();
            self.s7_sa.d.next = self.sb.val().get_bits::<6>(0);
        }
        self.s7_zero.d.next = self.s6_fzero.q.val() | (self.s6_mode.q.val() & (self.sb.val() < self.k262_9.val()));
        self.s7_sat.d.next = self.s6_inf.q.val() | (self.s6_mode.q.val() & (self.sb.val() > self.k296_9.val()));
        self.s7_mode.d.next = self.s6_mode.q.val();
        self.s7_neg.d.next = self.s6_neg.q.val();
        self.s7_nan.d.next = self.s6_nan.q.val();

        // ---- Stage 8: into 33.31 fixed point.
        self.val64.next = bit_cast::<64, 32>(self.s7_val.q.val());
        self.s8_w.d.next = self.val64.val() << self.s7_sa.q.val();
        self.s8_mode.d.next = self.s7_mode.q.val();
        self.s8_zero.d.next = self.s7_zero.q.val();
        self.s8_sat.d.next = self.s7_sat.q.val();
        self.s8_neg.d.next = self.s7_neg.q.val();
        self.s8_nan.d.next = self.s7_nan.q.val();

        // ---- Stage 9: round (half up == RoundingDivideByPOT on magnitudes; Float half-even), sign.
        self.q33.next = self.s8_w.q.val().get_bits::<33>(31);
        self.half.next = self.s8_w.q.val().get_bit(30);
        self.sticky.next = self.s8_w.q.val().get_bits::<30>(0).any();
        self.round_up.next = self.half.val();
        if self.s8_mode.q.val() {
            self.round_up.next = self.half.val() & (self.sticky.val() | self.q33.val().get_bit(0));
        }
        self.q34.next = bit_cast::<34, 33>(self.q33.val());
        self.mag34.next = self.q34.val();
        if self.round_up.val() {
            self.mag34.next = self.q34.val() + self.k1_34.val();
        }
        // Zero wins: with a zero accumulator the exponent (and so `sat`) is meaningless, while
        // an infinite scale with a zero accumulator is NaN, handled at stage 10.
        if self.s8_sat.q.val() {
            self.mag34.next = self.saturated_34.val();
        }
        if self.s8_zero.q.val() {
            self.mag34.next = self.k0_34.val();
        }
        self.mag35.next = bit_cast::<35, 34>(self.mag34.val());
        self.s9_res.d.next = self.mag35.val();
        if self.s8_neg.q.val() {
            self.s9_res.d.next = !self.mag35.val() + self.k1_35.val();
        }
        self.s9_nan.d.next = self.s8_nan.q.val();

        // ---- Stage 10: + zero point, clamp (signed compares with the sign bit flipped).
        self.res36_z.next = bit_cast::<36, 35>(self.s9_res.q.val());
        self.res36.next = self.res36_z.val();
        if self.s9_res.q.val().get_bit(34) {
            self.res36.next = self.res36_z.val() | self.sign_36.val();
        }
        self.zp_u.next = self.zp_pipe.q.val();
        self.zp36_z.next = bit_cast::<36, 32>(self.zp_u.val());
        self.zp36.next = self.zp36_z.val();
        if self.zp_u.val().get_bit(31) {
            self.zp36.next = self.zp36_z.val() | self.ext_36.val();
        }
        self.min36_z.next = bit_cast::<36, 32>(self.min_pipe.q.val());
        self.min36.next = self.min36_z.val();
        if self.min_pipe.q.val().get_bit(31) {
            self.min36.next = self.min36_z.val() | self.ext_36.val();
        }
        self.max36_z.next = bit_cast::<36, 32>(self.max_pipe.q.val());
        self.max36.next = self.max36_z.val();
        if self.max_pipe.q.val().get_bit(31) {
            self.max36.next = self.max36_z.val() | self.ext_36.val();
        }
        self.sum36.next = self.res36.val() + self.zp36.val();
        self.y_u.next = self.sum36.val().get_bits::<32>(0);
        if (self.sum36.val() ^ self.sign_36.val()) < (self.min36.val() ^ self.sign_36.val()) {
            self.y_u.next = self.min_pipe.q.val();
        }
        if (self.sum36.val() ^ self.sign_36.val()) > (self.max36.val() ^ self.sign_36.val()) {
            self.y_u.next = self.max_pipe.q.val();
        }
        if self.s9_nan.q.val() {
            self.y_u.next = self.min_pipe.q.val();
        }
        self.s10_y.d.next = self.y_u.val();
        self.y.next = signed_cast(self.s10_y.q.val());
        self.valid_out.next = self.valid_pipe.q.val().into();
    }
}
