//! Softmax over the last axis.
//!
//! * TFLite int8/uint8 input: tflite-micro `reference_ops::Softmax<InputT, OutputT>` with
//!   gemmlowp `exp_on_negative_values` (Q5.26 input), a Q12.19 sum of exponentials,
//!   `GetReciprocal` and a final `RoundingDivideByPOT`; parameters from `PreprocessSoftmaxScaling`
//!   (kScaledDiffIntegerBits = 5) and `CalculateInputRadius` (softmax_common.cc).
//! * onnxruntime quantized: contrib `QLinearSoftmax` (qlinear_softmax.cc, float lookup table).
//! * float: plain f32.

use super::{check_len, kerr, KResult, QType};
use crate::arith;

const SCALED_DIFF_INTEGER_BITS: i32 = 5;
const ACCUMULATION_INTEGER_BITS: i32 = 12;

/// `SoftmaxParams` of TFLite's int8 softmax.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TfliteSoftmaxParams {
    pub input_multiplier: i32,
    pub input_left_shift: i32,
    pub diff_min: i32,
}

impl TfliteSoftmaxParams {
    /// `PreprocessSoftmaxScaling(beta, input_scale, 5)` + `-CalculateInputRadius(5, shift)`.
    pub fn new(input_scale: f32, beta: f32) -> Self {
        let real = (beta as f64 * input_scale as f64 * (1i64 << (31 - SCALED_DIFF_INTEGER_BITS)) as f64)
            .min((1i64 << 31) as f64 - 1.0);
        let (input_multiplier, input_left_shift) = arith::quantize_multiplier_greater_than_one(real);
        let diff_min = -calculate_input_radius(SCALED_DIFF_INTEGER_BITS, input_left_shift, 31);
        TfliteSoftmaxParams { input_multiplier, input_left_shift, diff_min }
    }
}

/// TFLite `CalculateInputRadius`: the largest |input diff| whose rescaled value fits Q5.26.
pub fn calculate_input_radius(input_integer_bits: i32, input_left_shift: i32, total_signed_bits: i32) -> i32 {
    let max_input_rescaled = ((1i64 << input_integer_bits) - 1) as f64
        * (1i64 << (total_signed_bits - input_integer_bits)) as f64
        / 2f64.powi(input_left_shift);
    max_input_rescaled.floor() as i32
}

/// tflite-micro `reference_ops::Softmax` for 8-bit input and 8/16-bit output.
pub fn softmax_tflite<X: QType, Y: QType>(
    p: &TfliteSoftmaxParams,
    rows: usize,
    depth: usize,
    input: &[X],
    out: &mut [Y],
) -> KResult {
    check_len("softmax input", input.len(), rows * depth)?;
    check_len("softmax output", out.len(), rows * depth)?;
    let out_bits = (std::mem::size_of::<Y>() * 8) as i32;
    if !(0..=31).contains(&p.input_left_shift) {
        return kerr(format!("softmax input left shift {} out of range", p.input_left_shift));
    }
    let rescaled = |diff: i32| {
        arith::multiply_by_quantized_multiplier_greater_than_one(diff, p.input_multiplier, p.input_left_shift)
    };
    for r in 0..rows {
        let row = &input[r * depth..(r + 1) * depth];
        let max_in_row = row.iter().map(|v| v.to_i32()).fold(X::MIN, i32::max);
        let mut sum_of_exps = 0i32; // Q12.19
        for v in row {
            let diff = v.to_i32() - max_in_row;
            if diff >= p.diff_min {
                let e = arith::exp_on_negative_values(rescaled(diff), SCALED_DIFF_INTEGER_BITS);
                sum_of_exps = sum_of_exps.wrapping_add(arith::fixedpoint_rescale(e, 0, ACCUMULATION_INTEGER_BITS));
            }
        }
        let (shifted_scale, num_bits_over_unit) = arith::get_reciprocal(sum_of_exps, ACCUMULATION_INTEGER_BITS);
        let exponent = num_bits_over_unit + 31 - out_bits;
        if !(0..=31).contains(&exponent) {
            return kerr(format!("softmax output exponent {exponent} out of range"));
        }
        for (v, o) in row.iter().zip(&mut out[r * depth..(r + 1) * depth]) {
            let diff = v.to_i32() - max_in_row;
            *o = if diff >= p.diff_min {
                let e = arith::exp_on_negative_values(rescaled(diff), SCALED_DIFF_INTEGER_BITS);
                let unsat = arith::rounding_divide_by_pot(
                    arith::saturating_rounding_doubling_high_mul(shifted_scale, e),
                    exponent as u32,
                );
                Y::from_i32_sat(unsat.wrapping_add(Y::MIN))
            } else {
                Y::from_i32_sat(Y::MIN)
            };
        }
    }
    Ok(())
}

/// onnxruntime contrib `QLinearSoftmax` (opset 13 path, axis = last) for int8 / uint8.
///
/// The exp table is built in double (`QlinearBuildLookupTableUint32`) and stored as float; sums
/// and the final `nearbyintf(vt * floor(1 / y_scale) / vsum) + y_zp` are float32. The reference
/// stores int8 results through an `int8_t` cast (a value of 128 wraps to -128); mirrored here.
pub fn softmax_ort<T: QType>(
    x_scale: f32,
    y_scale: f32,
    y_zero_point: i32,
    rows: usize,
    depth: usize,
    input: &[T],
    out: &mut [T],
) -> KResult {
    check_len("softmax input", input.len(), rows * depth)?;
    check_len("softmax output", out.len(), rows * depth)?;
    if depth == 0 {
        return Ok(());
    }
    let signed = T::MIN < 0;
    // bit_shift = max(0, log(FLT_MAX / D) - 5) / x_scale  (log of a float quotient).
    let quotient = f32::MAX / depth as f32;
    let bit_shift = ((quotient as f64).ln() - 5.0).max(0.0) / x_scale as f64;
    let mut table = [0f32; 256];
    for i in 0..256i32 {
        let scaled = ((i as f64 - 255.0 + bit_shift) * x_scale as f64).exp();
        let index = if signed { (i - 128) as u8 } else { i as u8 };
        table[index as usize] = scaled as f32;
    }
    let y_scale_inv = (1.0f32 / y_scale).floor();
    for r in 0..rows {
        let row = &input[r * depth..(r + 1) * depth];
        let xmax = row.iter().map(|v| v.to_i32()).fold(T::MIN, i32::max);
        // Index of each element in the table, aligning the row maximum with entry 255 (127).
        let index = |v: i32| -> usize {
            if signed {
                (127 - xmax + v) as u8 as usize
            } else {
                (255 - xmax + v) as usize
            }
        };
        let mut vsum = 0.0f32;
        for v in row {
            vsum += table[index(v.to_i32())];
        }
        if vsum == 0.0 {
            // The reference returns early, leaving the rest of the output unwritten.
            return kerr("QLinearSoftmax: sum of exponentials is zero");
        }
        for (v, o) in row.iter().zip(&mut out[r * depth..(r + 1) * depth]) {
            let vt = table[index(v.to_i32())];
            let vq = ((vt * y_scale_inv) / vsum).round_ties_even() as i32 + y_zero_point;
            *o = if signed {
                if vq > 255 {
                    T::from_i32_wrap(255)
                } else {
                    T::from_i32_wrap(vq)
                }
            } else {
                T::from_i32_wrap(vq.min(255))
            };
        }
    }
    Ok(())
}

/// Float softmax with `beta` (TFLite `reference_ops::Softmax` float order).
pub fn softmax_f32(beta: f32, rows: usize, depth: usize, input: &[f32], out: &mut [f32]) -> KResult {
    check_len("softmax input", input.len(), rows * depth)?;
    check_len("softmax output", out.len(), rows * depth)?;
    for r in 0..rows {
        let row = &input[r * depth..(r + 1) * depth];
        let max = row.iter().copied().fold(f32::MIN, f32::max);
        let dst = &mut out[r * depth..(r + 1) * depth];
        let mut sum = 0.0f32;
        for (x, o) in row.iter().zip(dst.iter_mut()) {
            *o = ((x - max) * beta).exp();
            sum += *o;
        }
        for o in dst.iter_mut() {
            *o /= sum;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_match_cmsis_vector_convention() {
        // CMSIS-NN softmax test: INPUT_LEFT_SHIFT 19 gives DIFF_MIN -3968.
        assert_eq!(calculate_input_radius(5, 19, 31), 3968);
        let p = TfliteSoftmaxParams::new(1.0 / 16.0, 1.0);
        assert_eq!(p.input_left_shift, 23);
        assert_eq!(p.input_multiplier, 1 << 30);
    }

    #[test]
    fn uniform_row_gives_equal_probabilities() {
        let p = TfliteSoftmaxParams::new(0.1, 1.0);
        let mut out = vec![0i8; 4];
        softmax_tflite(&p, 1, 4, &[5i8, 5, 5, 5], &mut out).unwrap();
        // 1/4 in units of 1/256 with zero point -128: 64 - 128.
        assert_eq!(out, vec![-64; 4]);
        let mut f = vec![0f32; 2];
        softmax_f32(1.0, 1, 2, &[0.0, 0.0], &mut f).unwrap();
        assert_eq!(f, vec![0.5, 0.5]);
    }
}
