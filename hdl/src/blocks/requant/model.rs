//! Integer-only model of the requantiser, stage by stage as the RTL computes it.
//!
//! It is the executable specification of [`super::RequantUnit`]: the RTL is compared with
//! `systole_model::quant::OutputStage::apply` (the golden), and this model is compared with the
//! same golden in unit tests, so an algorithm bug and a transcription bug show up separately.
//!
//! Both modes share one magnitude datapath: |acc| -> left shift -> 32x32 unsigned multiply ->
//! rounding -> variable shift with rounding -> sign -> + zero point -> clamp.
//! * Fixed (TFLite): the left shift is `shift` saturated to int32; the multiply is
//!   SaturatingRoundingDoublingHighMul in sign-magnitude form; the final shift is
//!   RoundingDivideByPOT (half away from zero == half up on the magnitude).
//! * Float (onnxruntime): the left shift normalises |acc| (count leading zeros), the top 24 bits
//!   are rounded half-even (int -> f32 conversion), multiplied by the 24-bit scale mantissa, the
//!   48-bit product is rounded half-even to 24 bits (f32 multiply), and the final shift by the
//!   combined exponent rounds half-even (`round_ties_even`).

use super::params::{ChannelParams, RequantMode};

/// Values at or beyond this magnitude saturate the float path: |act - zp| < 2^33 for any 32-bit
/// zero point and activation limits, so the clamp result is the same as for the true value.
pub const FLOAT_SATURATED: u64 = 1 << 33;

/// Saturating left shift of |acc| (sign `negative`) by `left` in 0..=32, as int32 saturation
/// does it: the limit is 2^31 for negative values and 2^31 - 1 for positive ones.
fn saturating_shift_magnitude(magnitude: u64, negative: bool, left: u32) -> u64 {
    let shifted = magnitude << left;
    let limit = if negative { 1u64 << 31 } else { (1u64 << 31) - 1 };
    shifted.min(limit)
}

/// Rounds to 24 significant bits, half to even. Input `value` has
/// its leading one at bit `msb` (>= 23); returns (mantissa in [2^23, 2^24), extra exponent).
fn round_to_24_half_even(value: u64, msb: u32) -> (u64, u32) {
    let drop = msb - 23;
    if drop == 0 {
        return (value, 0);
    }
    let kept = value >> drop;
    let half = (value >> (drop - 1)) & 1 == 1;
    let sticky = value & ((1u64 << (drop - 1)) - 1) != 0;
    let rounded = kept + u64::from(half && (sticky || kept & 1 == 1));
    if rounded == 1 << 24 {
        (1 << 23, drop + 1)
    } else {
        (rounded, drop)
    }
}

/// The result magnitude and sign before the zero point, or `None` for a NaN product.
fn magnitude_and_sign(params: &ChannelParams, acc: i32) -> Option<(u64, bool)> {
    let negative_acc = acc < 0;
    let acc_magnitude = u64::from(acc.unsigned_abs());
    let mult = params.mult;
    let sign = negative_acc ^ (mult >> 31 == 1);
    match params.mode {
        RequantMode::Fixed => {
            let left = params.shift.clamp(0, 32) as u32;
            let right = (-i32::from(params.shift)).clamp(0, 31) as u32;
            let multiplier_magnitude = u64::from((mult as i32).unsigned_abs());
            let a = saturating_shift_magnitude(acc_magnitude, negative_acc, left);
            let product = a * multiplier_magnitude;
            let negative = sign && product != 0;
            // SaturatingRoundingDoublingHighMul on magnitudes: the negative nudge 1 - 2^30
            // plus truncation toward zero is floor((|p| + 2^30 - 1) / 2^31).
            let mut high = (product + (1 << 30) - u64::from(negative)) >> 31;
            if !negative && high >= 1 << 31 {
                high = (1 << 31) - 1; // INT32_MIN * INT32_MIN
            }
            // RoundingDivideByPOT: half away from zero is half up on the magnitude.
            let rounded = if right == 0 { high } else { (high + (1 << (right - 1))) >> right };
            Some((rounded, negative))
        }
        RequantMode::Float => {
            let exponent = (mult >> 23) & 0xff;
            let fraction = u64::from(mult & 0x7f_ffff);
            if exponent == 0xff && (fraction != 0 || acc == 0) {
                return None; // NaN scale, or 0 * inf
            }
            if exponent == 0xff {
                return Some((FLOAT_SATURATED, sign));
            }
            if exponent == 0 || acc == 0 {
                // Zero, or a subnormal scale: |x| < 2^31 * 2^-126, which rounds to zero.
                return Some((0, sign));
            }
            // int32 -> f32: leading one at bit 31 - lz, rounded to 24 bits.
            let msb = 63 - acc_magnitude.leading_zeros();
            let normalised = acc_magnitude << (31 - msb);
            let (acc_mantissa, acc_extra) = round_to_24_half_even(normalised, 31);
            let acc_exponent = acc_extra as i32 - 31 + msb as i32; // acc ~= mantissa * 2^this
            let scale_mantissa = fraction | (1 << 23);
            let product = acc_mantissa * scale_mantissa; // in [2^46, 2^48)
            let product_msb = 63 - product.leading_zeros();
            let (mantissa, extra) = round_to_24_half_even(product, product_msb);
            // x = mantissa * 2^k
            let k = acc_exponent + exponent as i32 - 150 + extra as i32;
            if k > 9 {
                return Some((FLOAT_SATURATED, sign));
            }
            if k < -25 {
                return Some((0, sign));
            }
            // Fixed point with 31 fraction bits, then round half to even.
            let w = mantissa << (31 + k) as u32;
            let integer = w >> 31;
            let half = (w >> 30) & 1 == 1;
            let sticky = w & ((1 << 30) - 1) != 0;
            Some((integer + u64::from(half && (sticky || integer & 1 == 1)), sign))
        }
    }
}

/// The requantised, zero-pointed and clamped output for `acc`.
pub fn requantize(params: &ChannelParams, acc: i32) -> i32 {
    let Some((magnitude, negative)) = magnitude_and_sign(params, acc) else {
        // NaN: onnxruntime's min/max send it to qmin, which the activation clamp lifts to
        // act_min (qmin <= act_min is a precondition of `ChannelParams`).
        return params.act_min;
    };
    let value = if negative { -(magnitude as i64) } else { magnitude as i64 };
    (value + i64::from(params.zero_point)).clamp(i64::from(params.act_min), i64::from(params.act_max)) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_to_24_bits() {
        assert_eq!(round_to_24_half_even(0xff_ffff, 23), (0xff_ffff, 0));
        // 0x1ffffff at msb 24: drops one bit (1), a tie, kept odd -> rounds up and carries.
        assert_eq!(round_to_24_half_even(0x1ff_ffff, 24), (1 << 23, 2));
        // Tie with even kept value stays.
        assert_eq!(round_to_24_half_even(0x100_0001, 24), (0x80_0000, 1));
    }
}
