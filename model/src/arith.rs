//! Integer arithmetic primitives, exactly as the reference runtimes compute them.
//!
//! This module is the single definition of the numerics (see `../shared/NUMERICS.md`): the
//! reference executor, the cycle model and the RTL generator's golden models all call it.
//!
//! * TFLite / tflite-micro / CMSIS-NN: gemmlowp fixed point ("double rounding").
//! * onnxruntime: float32 requantisation, rounded half to even.

/// TFLite `QuantizeMultiplier`: real = M * 2^(shift - 31) with M in [2^30, 2^31).
///
/// Computed in double precision; `frexp` gives the fraction in [0.5, 1), rounded half away from
/// zero (`TfLiteRound`). Returns `(0, 0)` for a zero multiplier. Shifts below -31 flush to zero,
/// as tflite does. Negative multipliers are not produced by valid models; their magnitude is used
/// with the sign carried by M.
pub fn quantize_multiplier(real: f64) -> (i32, i32) {
    if real == 0.0 || !real.is_finite() {
        return (0, 0);
    }
    let (fraction, mut shift) = frexp(real);
    let mut q_fixed = (fraction * (1i64 << 31) as f64).round() as i64;
    if q_fixed == (1i64 << 31) {
        q_fixed /= 2;
        shift += 1;
    }
    if shift < -31 {
        return (0, 0);
    }
    (q_fixed as i32, shift)
}

/// `QuantizeMultiplierSmallerThanOneExp`: as [`quantize_multiplier`] for multipliers in (0, 1);
/// the returned shift is <= 0.
pub fn quantize_multiplier_smaller_than_one(real: f64) -> (i32, i32) {
    quantize_multiplier(real)
}

/// `QuantizeMultiplierGreaterThanOne`: the returned shift is >= 0.
pub fn quantize_multiplier_greater_than_one(real: f64) -> (i32, i32) {
    quantize_multiplier(real)
}

/// C's `frexp` for finite non-zero doubles: x = fraction * 2^exp, |fraction| in [0.5, 1).
pub fn frexp(x: f64) -> (f64, i32) {
    if x == 0.0 || !x.is_finite() {
        return (x, 0);
    }
    let bits = x.to_bits();
    let exp_bits = ((bits >> 52) & 0x7ff) as i32;
    if exp_bits == 0 {
        // Subnormal: scale into the normal range first.
        let (f, e) = frexp(x * f64::from_bits(0x4350_0000_0000_0000)); // 2^54
        return (f, e - 54);
    }
    let exp = exp_bits - 1022;
    let fraction = f64::from_bits((bits & !(0x7ffu64 << 52)) | (1022u64 << 52));
    (fraction, exp)
}

/// gemmlowp `SaturatingRoundingDoublingHighMul`: round(a * b / 2^31) with the only overflow case
/// (INT32_MIN * INT32_MIN) saturated to INT32_MAX. Division truncates toward zero after the nudge.
#[inline]
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = a as i64 * b as i64;
    let nudge: i64 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// gemmlowp `RoundingDivideByPOT`: x / 2^exponent rounded half away from zero
/// (exponent in 0..=31).
#[inline]
pub fn rounding_divide_by_pot(x: i32, exponent: u32) -> i32 {
    debug_assert!(exponent <= 31);
    let mask: i64 = (1i64 << exponent) - 1;
    let remainder = (x as i64) & mask;
    let threshold = (mask >> 1) + i64::from(x < 0);
    let shifted = (x as i64) >> exponent;
    (shifted + i64::from(remainder > threshold)) as i32
}

/// x * 2^left saturated to the int32 range (NUMERICS.md step 3).
#[inline]
pub fn saturating_left_shift(x: i32, left: u32) -> i32 {
    let v = (x as i64) << left.min(32);
    v.clamp(i32::MIN as i64, i32::MAX as i64) as i32
}

/// TFLite `MultiplyByQuantizedMultiplier` (double rounding): the full per-channel requantiser.
#[inline]
pub fn multiply_by_quantized_multiplier(x: i32, multiplier: i32, shift: i32) -> i32 {
    let left = shift.max(0) as u32;
    let right = (-shift).max(0) as u32;
    let high = saturating_rounding_doubling_high_mul(saturating_left_shift(x, left), multiplier);
    rounding_divide_by_pot(high, right.min(31))
}

/// `MultiplyByQuantizedMultiplierSmallerThanOneExp` (used by Add): shift <= 0.
#[inline]
pub fn multiply_by_quantized_multiplier_smaller_than_one(x: i32, multiplier: i32, shift: i32) -> i32 {
    rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x, multiplier), (-shift).clamp(0, 31) as u32)
}

/// `MultiplyByQuantizedMultiplierGreaterThanOne` (used by Softmax): shift >= 0.
#[inline]
pub fn multiply_by_quantized_multiplier_greater_than_one(x: i32, multiplier: i32, left_shift: i32) -> i32 {
    saturating_rounding_doubling_high_mul(saturating_left_shift(x, left_shift.max(0) as u32), multiplier)
}

/// onnxruntime's requantisation (MLAS `MlasRequantizeOutput`): float32(acc) * scale, clamped to
/// the representable range around the zero point, rounded half to even, plus the zero point.
#[inline]
pub fn requantize_float(acc: i32, scale: f32, zero_point: i32, qmin: i32, qmax: i32) -> i32 {
    let lo = (qmin - zero_point) as f32;
    let hi = (qmax - zero_point) as f32;
    let v = (acc as f32 * scale).max(lo).min(hi);
    v.round_ties_even() as i32 + zero_point
}

/// onnxruntime `QuantizeLinear` of a float: x / scale (float32 division), rounded half to even,
/// plus the zero point, saturated.
#[inline]
pub fn quantize_float_half_even(x: f32, scale: f32, zero_point: i32, qmin: i32, qmax: i32) -> i32 {
    let lo = (qmin - zero_point) as f32;
    let hi = (qmax - zero_point) as f32;
    let v = (x / scale).max(lo).min(hi);
    // NaN input maps to the zero point, as MLAS's min/max do.
    if v.is_nan() {
        return zero_point;
    }
    v.round_ties_even() as i32 + zero_point
}

/// tflite `AffineQuantize` of a float: round(x / scale) half away from zero, plus the zero point,
/// saturated.
#[inline]
pub fn quantize_float_half_away(x: f32, scale: f32, zero_point: i32, qmin: i32, qmax: i32) -> i32 {
    let q = (x / scale).round();
    if q.is_nan() {
        return zero_point.clamp(qmin, qmax);
    }
    let q = q.clamp(i32::MIN as f32, i32::MAX as f32) as i64 + zero_point as i64;
    q.clamp(qmin as i64, qmax as i64) as i32
}

/// Dequantize as both runtimes do: float32(q - zero_point) * scale.
#[inline]
pub fn dequantize(q: i32, scale: f32, zero_point: i32) -> f32 {
    (q - zero_point) as f32 * scale
}

// ---------------------------------------------------------------------------------------------
// gemmlowp fixed-point transcendental helpers (fixedpoint/fixedpoint.h), used by TFLite's int8
// Softmax (`reference_ops::Softmax`). A "FixedPoint<int32, IB>" value is its raw i32 with
// 31 - IB fractional bits; multiplication is `saturating_rounding_doubling_high_mul`, addition
// is plain (wrapping) int32 addition, exactly as gemmlowp's scalar path computes them.
// ---------------------------------------------------------------------------------------------

/// gemmlowp `RoundingHalfSum` for int32: (a + b) / 2 rounded half away from zero.
#[inline]
pub fn rounding_half_sum(a: i32, b: i32) -> i32 {
    let sum = a as i64 + b as i64;
    let sign = if sum >= 0 { 1 } else { -1 };
    ((sum + sign) / 2) as i32
}

/// gemmlowp `SaturatingRoundingMultiplyByPOT<exponent>`: saturating left shift for a positive
/// exponent, [`rounding_divide_by_pot`] for a negative one.
#[inline]
pub fn saturating_rounding_multiply_by_pot(x: i32, exponent: i32) -> i32 {
    if exponent > 0 {
        let threshold: i32 = ((1i64 << (31 - exponent)) - 1) as i32;
        if x > threshold {
            i32::MAX
        } else if x < -threshold {
            i32::MIN
        } else {
            x.wrapping_shl(exponent as u32)
        }
    } else if exponent < 0 {
        rounding_divide_by_pot(x, (-exponent) as u32)
    } else {
        x
    }
}

/// gemmlowp `Rescale<dst_integer_bits>` of a value with `src_integer_bits`.
#[inline]
pub fn fixedpoint_rescale(x: i32, src_integer_bits: i32, dst_integer_bits: i32) -> i32 {
    saturating_rounding_multiply_by_pot(x, src_integer_bits - dst_integer_bits)
}

/// gemmlowp `exp_on_interval_between_negative_one_quarter_and_0_excl` (Q0.31 in, Q0.31 out).
pub fn exp_on_interval_between_negative_one_quarter_and_0_excl(a: i32) -> i32 {
    let mul = saturating_rounding_doubling_high_mul;
    const CONSTANT_TERM: i32 = 1895147668; // exp(-1/8)
    const CONSTANT_1_OVER_3: i32 = 715827883;
    // Taylor expansion around -1/8: x = a + 1/8 (1/8 = 1 << 28 with 0 integer bits).
    let x = a.wrapping_add(1 << 28);
    let x2 = mul(x, x);
    let x3 = mul(x2, x);
    let x4 = mul(x2, x2);
    let x4_over_4 = saturating_rounding_multiply_by_pot(x4, -2);
    let x4_over_24_plus_x3_over_6_plus_x2_over_2 =
        saturating_rounding_multiply_by_pot(mul(x4_over_4.wrapping_add(x3), CONSTANT_1_OVER_3).wrapping_add(x2), -1);
    CONSTANT_TERM.wrapping_add(mul(CONSTANT_TERM, x.wrapping_add(x4_over_24_plus_x3_over_6_plus_x2_over_2)))
}

/// gemmlowp `exp_on_negative_values` for an input with `integer_bits` integer bits
/// (`FixedPoint<int32, integer_bits>`, a <= 0); returns exp(a) in Q0.31.
pub fn exp_on_negative_values(a: i32, integer_bits: i32) -> i32 {
    debug_assert!((0..31).contains(&integer_bits));
    let fractional_bits = 31 - integer_bits;
    let one_quarter: i32 = 1 << (fractional_bits - 2);
    let mask = one_quarter.wrapping_sub(1);
    let a_mod_quarter_minus_one_quarter = (a & mask).wrapping_sub(one_quarter);
    let mut result = exp_on_interval_between_negative_one_quarter_and_0_excl(fixedpoint_rescale(
        a_mod_quarter_minus_one_quarter,
        integer_bits,
        0,
    ));
    let remainder = a_mod_quarter_minus_one_quarter.wrapping_sub(a);
    // Barrel shifter: multiply by exp(-2^e) for every bit set in the remainder.
    const BARREL: [(i32, i32); 7] =
        [(-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308), (2, 39332535), (3, 720401), (4, 242)];
    for &(exponent, multiplier) in &BARREL {
        if integer_bits > exponent {
            let shift = fractional_bits + exponent;
            if remainder & (1i32 << shift) != 0 {
                result = saturating_rounding_doubling_high_mul(result, multiplier);
            }
        }
    }
    if integer_bits > 5 {
        let clamp = -(1i32 << (36 - integer_bits)); // -32.0
        if a < clamp {
            result = 0;
        }
    }
    if a == 0 {
        result = i32::MAX; // FixedPoint<int32, 0>::One()
    }
    result
}

/// gemmlowp `one_over_one_plus_x_for_x_in_0_1` (Q0.31 in, Q0.31 out): Newton-Raphson division.
pub fn one_over_one_plus_x_for_x_in_0_1(a: i32) -> i32 {
    let mul = saturating_rounding_doubling_high_mul;
    let half_denominator = rounding_half_sum(a, i32::MAX);
    const CONSTANT_48_OVER_17: i32 = 1515870810; // Q2.29
    const CONSTANT_NEG_32_OVER_17: i32 = -1010580540; // Q2.29
    const F2_ONE: i32 = 1 << 29;
    let mut x = CONSTANT_48_OVER_17.wrapping_add(mul(half_denominator, CONSTANT_NEG_32_OVER_17));
    for _ in 0..3 {
        let half_denominator_times_x = mul(half_denominator, x);
        let one_minus_half_denominator_times_x = F2_ONE.wrapping_sub(half_denominator_times_x);
        // x * (1 - d*x) is Q4.27; Rescale<2> brings it back to Q2.29.
        x = x.wrapping_add(fixedpoint_rescale(mul(x, one_minus_half_denominator_times_x), 4, 2));
    }
    // ExactMulByPot<-1>(x) reinterprets Q2.29 as Q1.30; Rescale<0> then shifts left by one.
    fixedpoint_rescale(x, 1, 0)
}

/// TFLite `GetReciprocal(x, x_integer_digits, &num_bits_over_unit)`: returns
/// (1 / x as a Q0.31 scale, num_bits_over_unit). `x` must be positive.
pub fn get_reciprocal(x: i32, x_integer_digits: i32) -> (i32, i32) {
    let headroom_plus_one = (x as u32).leading_zeros() as i32;
    let num_bits_over_unit = x_integer_digits - headroom_plus_one;
    let shifted_sum_minus_one = ((x as u32).wrapping_shl(headroom_plus_one as u32)).wrapping_sub(1u32 << 31) as i32;
    (one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one), num_bits_over_unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frexp_matches_c() {
        assert_eq!(frexp(1.0), (0.5, 1));
        assert_eq!(frexp(0.75), (0.75, 0));
        assert_eq!(frexp(3.0), (0.75, 2));
        assert_eq!(frexp(-0.375), (-0.75, -1));
        let (f, e) = frexp(f64::MIN_POSITIVE / 4.0);
        assert_eq!(f, 0.5);
        assert_eq!(e, -1023);
    }

    #[test]
    fn quantize_multiplier_known_values() {
        // 0.5 = 2^30 * 2^(0-31)
        assert_eq!(quantize_multiplier(0.5), (1 << 30, 0));
        assert_eq!(quantize_multiplier(1.0), (1 << 30, 1));
        // Rounds up to 2^31: halved and shift incremented.
        let just_below_one = 1.0 - 1e-12;
        assert_eq!(quantize_multiplier(just_below_one), (1 << 30, 1));
        assert_eq!(quantize_multiplier(0.0), (0, 0));
        assert_eq!(quantize_multiplier(1e-12), (0, 0));
    }

    #[test]
    fn srdhm_corners() {
        assert_eq!(saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN), i32::MAX);
        assert_eq!(saturating_rounding_doubling_high_mul(1 << 30, 1 << 30), 1 << 29);
        // -1 * 2^30 / 2^31 = -0.5: gemmlowp's negative nudge (1 - 2^30) plus truncation sends
        // an exact negative half to 0, while +0.5 goes to 1 (not symmetric, by design).
        assert_eq!(saturating_rounding_doubling_high_mul(-1, 1 << 30), 0);
        assert_eq!(saturating_rounding_doubling_high_mul(-3, 1 << 30), -1);
        assert_eq!(saturating_rounding_doubling_high_mul(1, 1 << 30), 1);
        assert_eq!(saturating_rounding_doubling_high_mul(i32::MIN, i32::MAX), -i32::MAX);
    }

    #[test]
    fn rounding_divide_by_pot_rounds_half_away() {
        assert_eq!(rounding_divide_by_pot(5, 1), 3);
        assert_eq!(rounding_divide_by_pot(-5, 1), -3);
        assert_eq!(rounding_divide_by_pot(4, 1), 2);
        assert_eq!(rounding_divide_by_pot(-4, 1), -2);
        assert_eq!(rounding_divide_by_pot(6, 2), 2);
        assert_eq!(rounding_divide_by_pot(-6, 2), -2);
        assert_eq!(rounding_divide_by_pot(i32::MIN, 31), -1);
        assert_eq!(rounding_divide_by_pot(i32::MAX, 31), 1);
        assert_eq!(rounding_divide_by_pot(7, 0), 7);
    }

    #[test]
    fn float_requant_is_half_even() {
        assert_eq!(requantize_float(5, 0.5, 0, -128, 127), 2);
        assert_eq!(requantize_float(7, 0.5, 0, -128, 127), 4);
        assert_eq!(requantize_float(-5, 0.5, 3, -128, 127), 1);
        assert_eq!(requantize_float(1_000_000, 0.5, 0, -128, 127), 127);
        assert_eq!(requantize_float(-1_000_000, 0.5, 10, -128, 127), -128);
    }

    #[test]
    fn quantize_rounding_modes_differ_on_ties() {
        assert_eq!(quantize_float_half_even(2.5, 1.0, 0, -128, 127), 2);
        assert_eq!(quantize_float_half_away(2.5, 1.0, 0, -128, 127), 3);
        assert_eq!(quantize_float_half_away(-2.5, 1.0, 0, -128, 127), -3);
        assert_eq!(quantize_float_half_away(1e30, 1.0, 5, -128, 127), 127);
    }

    #[test]
    fn gemmlowp_exp_matches_float_closely() {
        // Q5.26 inputs, as TFLite's softmax feeds them.
        for &v in &[0.0f64, -0.1, -0.25, -0.5, -1.0, -2.5, -7.75, -16.0, -31.0] {
            let raw = (v * (1u64 << 26) as f64).round() as i32;
            let got = exp_on_negative_values(raw, 5) as f64 / 2f64.powi(31);
            assert!((got - v.exp()).abs() < 2e-6, "exp({v}) = {got}");
        }
        assert_eq!(exp_on_negative_values(0, 5), i32::MAX);
    }

    #[test]
    fn reciprocal_matches_float_closely() {
        // x in Q12.19: 1.25 -> 0.8 with no bits over unit... scale is in [0.5, 1).
        for &v in &[1.0f64, 1.25, 2.0, 3.7, 100.5, 2047.0] {
            let raw = (v * (1u64 << 19) as f64) as i32;
            let (scale, bits) = get_reciprocal(raw, 12);
            let recip = scale as f64 / 2f64.powi(31) / 2f64.powi(bits);
            assert!((recip - 1.0 / v).abs() / (1.0 / v) < 1e-6, "1/{v}: {recip}");
        }
    }

    #[test]
    fn rounding_half_sum_and_pot() {
        assert_eq!(rounding_half_sum(1, 2), 2);
        assert_eq!(rounding_half_sum(-1, -2), -2);
        assert_eq!(saturating_rounding_multiply_by_pot(1 << 29, 2), i32::MAX);
        assert_eq!(saturating_rounding_multiply_by_pot(-(1 << 29), 2), i32::MIN);
        assert_eq!(saturating_rounding_multiply_by_pot(3, 1), 6);
        assert_eq!(saturating_rounding_multiply_by_pot(5, -1), 3);
    }
}
