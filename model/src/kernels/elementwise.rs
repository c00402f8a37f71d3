//! Broadcasting elementwise Add and Mul.
//!
//! * TFLite Add: `reference_integer_ops::AddFunc` — both inputs offset, shifted left by
//!   `left_shift` (20 for 8-bit), scaled by their own multipliers to a common scale
//!   (`MultiplyByQuantizedMultiplierSmallerThanOneExp`), summed, rescaled to the output; the
//!   parameters are derived as tflite-micro `CalculateOpDataAdd` does.
//! * TFLite Mul: `reference_integer_ops::MulElementwise` — product of the offset inputs,
//!   `MultiplyByQuantizedMultiplier(s1 * s2 / s_out)`.
//! * onnxruntime QLinearAdd: MLAS `MlasQLinearAddKernelAvx2Helper` (float32 with FMA).
//! * onnxruntime QLinearMul: MLAS `MlasQLinearMulKernel` (SSE2: int product, float scale).

use super::{check_len, for_each_broadcast2, KResult, QType};
use crate::arith;

fn check_shapes(a_shape: &[usize], a: usize, b_shape: &[usize], b: usize, out_shape: &[usize], out: usize) -> KResult {
    check_len("first operand", a, a_shape.iter().product())?;
    check_len("second operand", b, b_shape.iter().product())?;
    check_len("output", out, out_shape.iter().product())
}

/// TFLite int8/uint8 Add parameters (`ArithmeticParams` as CMSIS-NN's add test vectors give them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TfliteAddParams {
    /// `-zero_point` of each input.
    pub input1_offset: i32,
    pub input2_offset: i32,
    pub left_shift: i32,
    pub input1_multiplier: i32,
    pub input1_shift: i32,
    pub input2_multiplier: i32,
    pub input2_shift: i32,
    pub output_multiplier: i32,
    pub output_shift: i32,
    /// Output zero point.
    pub output_offset: i32,
    pub act_min: i32,
    pub act_max: i32,
}

impl TfliteAddParams {
    /// tflite-micro `CalculateOpDataAdd` (add_common.cc) for 8-bit tensors (left_shift 20).
    #[allow(clippy::too_many_arguments)]
    pub fn new(s1: f32, zp1: i32, s2: f32, zp2: i32, s_out: f32, zp_out: i32, act_min: i32, act_max: i32) -> Self {
        let left_shift = 20;
        let twice_max_input_scale = 2.0 * (s1.max(s2) as f64);
        let real_input1_multiplier = s1 as f64 / twice_max_input_scale;
        let real_input2_multiplier = s2 as f64 / twice_max_input_scale;
        let real_output_multiplier = twice_max_input_scale / ((1i64 << left_shift) as f64 * s_out as f64);
        let (input1_multiplier, input1_shift) = arith::quantize_multiplier_smaller_than_one(real_input1_multiplier);
        let (input2_multiplier, input2_shift) = arith::quantize_multiplier_smaller_than_one(real_input2_multiplier);
        let (output_multiplier, output_shift) = arith::quantize_multiplier_smaller_than_one(real_output_multiplier);
        TfliteAddParams {
            input1_offset: -zp1,
            input2_offset: -zp2,
            left_shift,
            input1_multiplier,
            input1_shift,
            input2_multiplier,
            input2_shift,
            output_multiplier,
            output_shift,
            output_offset: zp_out,
            act_min,
            act_max,
        }
    }

    /// `AddFunc` + clamp for one pair of raw values.
    #[inline]
    pub fn apply(&self, x: i32, y: i32) -> i32 {
        let shifted1 = (self.input1_offset + x).wrapping_mul(1 << self.left_shift);
        let shifted2 = (self.input2_offset + y).wrapping_mul(1 << self.left_shift);
        let scaled1 = arith::multiply_by_quantized_multiplier_smaller_than_one(
            shifted1,
            self.input1_multiplier,
            self.input1_shift,
        );
        let scaled2 = arith::multiply_by_quantized_multiplier_smaller_than_one(
            shifted2,
            self.input2_multiplier,
            self.input2_shift,
        );
        let raw_sum = scaled1.wrapping_add(scaled2);
        let raw_output = arith::multiply_by_quantized_multiplier_smaller_than_one(
            raw_sum,
            self.output_multiplier,
            self.output_shift,
        )
        .wrapping_add(self.output_offset);
        raw_output.clamp(self.act_min, self.act_max)
    }
}

/// TFLite Add with broadcasting (`BroadcastAdd6DSlow` applies the same `AddFunc`).
pub fn add_tflite<T: QType>(
    p: &TfliteAddParams,
    a_shape: &[usize],
    a: &[T],
    b_shape: &[usize],
    b: &[T],
    out_shape: &[usize],
    out: &mut [T],
) -> KResult {
    check_shapes(a_shape, a.len(), b_shape, b.len(), out_shape, out.len())?;
    for_each_broadcast2(out_shape, a_shape, b_shape, |o, i, j| {
        out[o] = T::from_i32_sat(p.apply(a[i].to_i32(), b[j].to_i32()));
    })
}

/// Scales and zero points of a binary onnxruntime QLinear op (also the activation clamp).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OrtBinaryQuant {
    pub a_scale: f32,
    pub a_zero_point: i32,
    pub b_scale: f32,
    pub b_zero_point: i32,
    pub y_scale: f32,
    pub y_zero_point: i32,
    pub act_min: i32,
    pub act_max: i32,
}

/// onnxruntime QLinearAdd on x86-64 with AVX2 (`MlasQLinearAddKernelAvx2Helper`):
/// ratio_a = s_a / s_y, ratio_b = s_b / s_y (float32), fixed = zp_y - (ratio_a * zp_a + ratio_b * zp_b),
/// y = fma(a, ratio_a, fma(b, ratio_b, fixed)); when one operand is a single value (the MLAS
/// "scalar" kernels) its term is folded into `fixed` with a separate multiply and add first.
/// Rounded half to even (`_mm256_cvtps_epi32`) and saturated.
///
/// MLAS decides "scalar" per broadcast span of its own (NCHW) layout; here an operand is a scalar
/// when it has one element. A per-channel operand in NCHW (scalar spans in MLAS) is a vector in
/// the IR's NHWC layout, which can differ in the last float bit of rare ties.
pub fn add_ort<T: QType>(
    q: &OrtBinaryQuant,
    a_shape: &[usize],
    a: &[T],
    b_shape: &[usize],
    b: &[T],
    out_shape: &[usize],
    out: &mut [T],
) -> KResult {
    check_shapes(a_shape, a.len(), b_shape, b.len(), out_shape, out.len())?;
    let ratio_a = q.a_scale / q.y_scale;
    let ratio_b = q.b_scale / q.y_scale;
    // GCC contracts `ratio_a * zp_a + ratio_b * zp_b` into one FMA under -mfma.
    let fixed = q.y_zero_point as f32 - ratio_a.mul_add(q.a_zero_point as f32, ratio_b * q.b_zero_point as f32);
    let a_scalar = a.len() == 1 && b.len() != 1;
    let b_scalar = b.len() == 1 && !a_scalar;
    let fixed_scalar = match (a_scalar, b_scalar) {
        (true, _) => fixed + a[0].to_i32() as f32 * ratio_a,
        (_, true) => fixed + b[0].to_i32() as f32 * ratio_b,
        _ => fixed,
    };
    for_each_broadcast2(out_shape, a_shape, b_shape, |o, i, j| {
        let (av, bv) = (a[i].to_i32() as f32, b[j].to_i32() as f32);
        let v = if a_scalar {
            bv.mul_add(ratio_b, fixed_scalar)
        } else if b_scalar {
            av.mul_add(ratio_a, fixed_scalar)
        } else {
            av.mul_add(ratio_a, bv.mul_add(ratio_b, fixed))
        };
        out[o] = T::from_i32_sat(cvt_ps_epi32_pack(v).clamp(q.act_min, q.act_max));
    })
}

/// `_mm_cvtps_epi32` (half to even; out-of-range and NaN give INT32_MIN) followed by the
/// saturating int16 pack MLAS applies before the 8-bit pack.
#[inline]
fn cvt_ps_epi32_pack(v: f32) -> i32 {
    let r = v.round_ties_even();
    let i = if (-2147483648.0..2147483648.0).contains(&r) { r as i32 } else { i32::MIN };
    i.clamp(i16::MIN as i32, i16::MAX as i32)
}

/// Float Add with broadcasting and activation clamp.
pub fn add_f32(
    act: (f32, f32),
    a_shape: &[usize],
    a: &[f32],
    b_shape: &[usize],
    b: &[f32],
    out_shape: &[usize],
    out: &mut [f32],
) -> KResult {
    check_shapes(a_shape, a.len(), b_shape, b.len(), out_shape, out.len())?;
    for_each_broadcast2(out_shape, a_shape, b_shape, |o, i, j| out[o] = (a[i] + b[j]).max(act.0).min(act.1))
}

/// TFLite int8/uint8 Mul parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TfliteMulParams {
    pub input1_offset: i32,
    pub input2_offset: i32,
    pub output_multiplier: i32,
    pub output_shift: i32,
    pub output_offset: i32,
    pub act_min: i32,
    pub act_max: i32,
}

impl TfliteMulParams {
    /// tflite-micro `CalculateOpDataMul`: `QuantizeMultiplier(s1 * s2 / s_out)` in double.
    #[allow(clippy::too_many_arguments)]
    pub fn new(s1: f32, zp1: i32, s2: f32, zp2: i32, s_out: f32, zp_out: i32, act_min: i32, act_max: i32) -> Self {
        let (output_multiplier, output_shift) = arith::quantize_multiplier(s1 as f64 * s2 as f64 / s_out as f64);
        TfliteMulParams {
            input1_offset: -zp1,
            input2_offset: -zp2,
            output_multiplier,
            output_shift,
            output_offset: zp_out,
            act_min,
            act_max,
        }
    }

    #[inline]
    pub fn apply(&self, x: i32, y: i32) -> i32 {
        let prod = (self.input1_offset + x).wrapping_mul(self.input2_offset + y);
        arith::multiply_by_quantized_multiplier(prod, self.output_multiplier, self.output_shift)
            .wrapping_add(self.output_offset)
            .clamp(self.act_min, self.act_max)
    }
}

pub fn mul_tflite<T: QType>(
    p: &TfliteMulParams,
    a_shape: &[usize],
    a: &[T],
    b_shape: &[usize],
    b: &[T],
    out_shape: &[usize],
    out: &mut [T],
) -> KResult {
    check_shapes(a_shape, a.len(), b_shape, b.len(), out_shape, out.len())?;
    for_each_broadcast2(out_shape, a_shape, b_shape, |o, i, j| {
        out[o] = T::from_i32_sat(p.apply(a[i].to_i32(), b[j].to_i32()));
    })
}

/// onnxruntime QLinearMul, SSE2 kernel: int32 product of the offset inputs, times the float32
/// ratio `s_a * s_b / s_y`, plus `zp_y` in float, rounded half to even, saturated.
pub fn mul_ort<T: QType>(
    q: &OrtBinaryQuant,
    a_shape: &[usize],
    a: &[T],
    b_shape: &[usize],
    b: &[T],
    out_shape: &[usize],
    out: &mut [T],
) -> KResult {
    check_shapes(a_shape, a.len(), b_shape, b.len(), out_shape, out.len())?;
    let ratio = q.a_scale * q.b_scale / q.y_scale;
    let zy = q.y_zero_point as f32;
    for_each_broadcast2(out_shape, a_shape, b_shape, |o, i, j| {
        let prod = (a[i].to_i32() - q.a_zero_point) * (b[j].to_i32() - q.b_zero_point);
        let v = cvt_ps_epi32_pack(prod as f32 * ratio + zy);
        out[o] = T::from_i32_sat(v.clamp(q.act_min, q.act_max));
    })
}

pub fn mul_f32(
    act: (f32, f32),
    a_shape: &[usize],
    a: &[f32],
    b_shape: &[usize],
    b: &[f32],
    out_shape: &[usize],
    out: &mut [f32],
) -> KResult {
    check_shapes(a_shape, a.len(), b_shape, b.len(), out_shape, out.len())?;
    for_each_broadcast2(out_shape, a_shape, b_shape, |o, i, j| out[o] = (a[i] * b[j]).max(act.0).min(act.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tflite_add_equal_scales_is_exact_sum() {
        // Same scale in and out: y = (x1 - z1) + (x2 - z2) + zo.
        let p = TfliteAddParams::new(0.1, 3, 0.1, -2, 0.1, 1, -128, 127);
        let mut out = vec![0i8; 3];
        add_tflite(&p, &[3], &[10i8, -20, 100], &[1], &[5i8], &[3], &mut out).unwrap();
        assert_eq!(out, vec![7 + 7 + 1, -23 + 7 + 1, 97 + 7 + 1]);
    }

    #[test]
    fn tflite_add_halves_round_like_reference() {
        // Output scale twice the input scale: (1 + 0) / 2 = 0.5 rounds away from zero.
        let p = TfliteAddParams::new(1.0, 0, 1.0, 0, 2.0, 0, -128, 127);
        let mut out = vec![0i8; 2];
        add_tflite(&p, &[2], &[1i8, -1], &[2], &[0i8, 0], &[2], &mut out).unwrap();
        assert_eq!(out, vec![1, -1]);
    }

    #[test]
    fn tflite_mul_matches_formula() {
        let p = TfliteMulParams::new(0.5, 1, 0.25, -1, 0.125, 0, -128, 127);
        let mut out = vec![0i8; 1];
        mul_tflite(&p, &[1], &[5i8], &[1], &[3i8], &[1], &mut out).unwrap();
        assert_eq!(out, vec![4 * 4]); // (5-1)*0.5 * (3+1)*0.25 = 2 -> 2 / 0.125 = 16
    }

    #[test]
    fn ort_add_and_mul_round_half_even() {
        let q = OrtBinaryQuant {
            a_scale: 1.0,
            a_zero_point: 0,
            b_scale: 1.0,
            b_zero_point: 0,
            y_scale: 2.0,
            y_zero_point: 0,
            act_min: -128,
            act_max: 127,
        };
        let mut out = vec![0i8; 2];
        add_ort(&q, &[2], &[1i8, 3], &[2], &[0i8, 0], &[2], &mut out).unwrap();
        assert_eq!(out, vec![0, 2]); // 0.5 -> 0, 1.5 -> 2
        mul_ort(&q, &[2], &[1i8, 3], &[1], &[1i8], &[2], &mut out).unwrap();
        assert_eq!(out, vec![0, 2]);
    }
}
