//! Quantize (float -> q), requantize (q -> q), Dequantize (q -> float) and standalone clamps.
//!
//! * TFLite QUANTIZE of a float: `AffineQuantize` — `TfLiteRound(x / scale) + zp` (half away
//!   from zero, float32 division), saturated.
//! * onnxruntime QuantizeLinear: MLAS `MlasQuantizeLinear` — `x / scale` rounded half to even.
//! * TFLite QUANTIZE of an integer tensor: `reference_ops::Requantize` with
//!   `QuantizeMultiplier(s_in / s_out)` (double rounding).
//! * onnxruntime q -> q (DequantizeLinear then QuantizeLinear, or a QLinearConcat lookup table):
//!   float32 dequantize, then quantize half to even.
//! * Dequantize (both runtimes): `(q - zp) * scale` in float32.

use super::{check_len, kerr, KResult, QType};
use crate::arith;
use crate::ir::Numerics;

/// Per-tensor or per-axis affine parameters of a tensor of `shape`.
#[derive(Clone, Debug, PartialEq)]
pub struct AffineParams {
    pub scales: Vec<f32>,
    pub zero_points: Vec<i32>,
    /// `(axis length, elements per step along the axis)`; `None` = per tensor.
    pub axis: Option<(usize, usize)>,
}

impl AffineParams {
    pub fn per_tensor(scale: f32, zero_point: i32) -> Self {
        AffineParams { scales: vec![scale], zero_points: vec![zero_point], axis: None }
    }

    /// Per-axis parameters along `axis` of `shape` (scales/zero points of length 1 act per tensor).
    pub fn per_axis(scales: Vec<f32>, zero_points: Vec<i32>, axis: usize, shape: &[usize]) -> KResult<Self> {
        let Some(&len) = shape.get(axis) else {
            return kerr(format!("quantisation axis {axis} out of range for {shape:?}"));
        };
        let ok = |n: usize| n == 1 || n == len;
        if !ok(scales.len()) || !ok(zero_points.len()) || scales.is_empty() || zero_points.is_empty() {
            return kerr(format!(
                "{} scales / {} zero points for axis {axis} of length {len}",
                scales.len(),
                zero_points.len()
            ));
        }
        let inner = shape[axis + 1..].iter().product();
        Ok(AffineParams { scales, zero_points, axis: Some((len, inner)) })
    }

    #[inline]
    fn at(&self, i: usize) -> (f32, i32) {
        let c = match self.axis {
            Some((len, inner)) if inner > 0 => (i / inner) % len,
            _ => 0,
        };
        let s = self.scales[if self.scales.len() == 1 { 0 } else { c }];
        let z = self.zero_points[if self.zero_points.len() == 1 { 0 } else { c }];
        (s, z)
    }
}

/// float -> quantized with the rounding of `numerics`, saturated to `[qmin, qmax]` (the storage
/// range of the output dtype, e.g. [-8, 7] for int4 stored in i8).
pub fn quantize_f32<T: QType>(
    numerics: Numerics,
    p: &AffineParams,
    qmin: i32,
    qmax: i32,
    input: &[f32],
    out: &mut [T],
) -> KResult {
    check_len("quantize output", out.len(), input.len())?;
    for (i, (x, o)) in input.iter().zip(out.iter_mut()).enumerate() {
        let (s, z) = p.at(i);
        let v = match numerics {
            Numerics::Tflite => arith::quantize_float_half_away(*x, s, z, qmin, qmax),
            Numerics::Onnxruntime => arith::quantize_float_half_even(*x, s, z, qmin, qmax),
        };
        *o = T::from_i32_sat(v);
    }
    Ok(())
}

/// quantized -> float32: `(q - zp) * scale`.
pub fn dequantize<T: QType>(p: &AffineParams, input: &[T], out: &mut [f32]) -> KResult {
    check_len("dequantize output", out.len(), input.len())?;
    for (i, (q, o)) in input.iter().zip(out.iter_mut()).enumerate() {
        let (s, z) = p.at(i);
        *o = arith::dequantize(q.to_i32(), s, z);
    }
    Ok(())
}

/// TFLite `reference_ops::Requantize`: `MultiplyByQuantizedMultiplier(x - zp_in, M, shift) + zp_out`
/// clamped to `[qmin, qmax]`, with `(M, shift) = QuantizeMultiplier(s_in / s_out)`.
#[allow(clippy::too_many_arguments)]
pub fn requantize_tflite<X: QType, Y: QType>(
    in_scale: f32,
    in_zero_point: i32,
    out_scale: f32,
    out_zero_point: i32,
    qmin: i32,
    qmax: i32,
    input: &[X],
    out: &mut [Y],
) -> KResult {
    check_len("requantize output", out.len(), input.len())?;
    let (m, shift) = arith::quantize_multiplier(in_scale as f64 / out_scale as f64);
    for (x, o) in input.iter().zip(out.iter_mut()) {
        let v = arith::multiply_by_quantized_multiplier(x.to_i32() - in_zero_point, m, shift)
            .saturating_add(out_zero_point);
        *o = Y::from_i32_sat(v.clamp(qmin, qmax));
    }
    Ok(())
}

/// onnxruntime q -> q: float32 dequantize, then `QuantizeLinear` (half to even).
#[allow(clippy::too_many_arguments)]
pub fn requantize_ort<X: QType, Y: QType>(
    in_scale: f32,
    in_zero_point: i32,
    out_scale: f32,
    out_zero_point: i32,
    qmin: i32,
    qmax: i32,
    input: &[X],
    out: &mut [Y],
) -> KResult {
    check_len("requantize output", out.len(), input.len())?;
    for (x, o) in input.iter().zip(out.iter_mut()) {
        let f = arith::dequantize(x.to_i32(), in_scale, in_zero_point);
        *o = Y::from_i32_sat(arith::quantize_float_half_even(f, out_scale, out_zero_point, qmin, qmax));
    }
    Ok(())
}

/// LiteRT `ConcatenationWithScaling` for an input whose quantisation differs from the output's:
/// `round(x * scale + bias) + zp_out` in float32 with `scale = s_in * (1 / s_out)`,
/// `bias = -zp_in * scale`, rounded half away from zero (tflite-micro itself never rescales: its
/// converter gives every int8 concat input the output's quantisation).
pub fn requantize_concat_tflite<T: QType>(
    in_scale: f32,
    in_zero_point: i32,
    out_scale: f32,
    out_zero_point: i32,
    input: &[T],
    out: &mut [T],
) -> KResult {
    check_len("requantize output", out.len(), input.len())?;
    let inverse_output_scale = 1.0f32 / out_scale;
    let scale = in_scale * inverse_output_scale;
    let bias = -(in_zero_point as f32) * scale;
    for (x, o) in input.iter().zip(out.iter_mut()) {
        let r = (x.to_i32() as f32 * scale + bias).round();
        let v = if r.is_nan() { 0 } else { r.clamp(i32::MIN as f32, i32::MAX as f32) as i32 };
        *o = T::from_i32_sat(v.saturating_add(out_zero_point));
    }
    Ok(())
}

/// Plain integer clamp (standalone RELU / RELU6 with equal input and output quantisation).
pub fn clamp<T: QType>(act_min: i32, act_max: i32, input: &[T], out: &mut [T]) -> KResult {
    check_len("clamp output", out.len(), input.len())?;
    for (x, o) in input.iter().zip(out.iter_mut()) {
        *o = T::from_i32_sat(x.to_i32().clamp(act_min, act_max));
    }
    Ok(())
}

/// tflite-micro `ReluQuantized`: requantise to the output scale, then clamp.
#[allow(clippy::too_many_arguments)]
pub fn clamp_requant_tflite<T: QType>(
    in_scale: f32,
    in_zero_point: i32,
    out_scale: f32,
    out_zero_point: i32,
    act_min: i32,
    act_max: i32,
    input: &[T],
    out: &mut [T],
) -> KResult {
    requantize_tflite(in_scale, in_zero_point, out_scale, out_zero_point, act_min, act_max, input, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantize_rounding_follows_numerics() {
        let p = AffineParams::per_tensor(0.5, 1);
        let mut out = vec![0i8; 3];
        quantize_f32(Numerics::Tflite, &p, -128, 127, &[1.25, -1.25, 100.0], &mut out).unwrap();
        assert_eq!(out, vec![4, -2, 127]); // 2.5 -> 3, -2.5 -> -3
        quantize_f32(Numerics::Onnxruntime, &p, -128, 127, &[1.25, -1.25, 100.0], &mut out).unwrap();
        assert_eq!(out, vec![3, -1, 127]); // 2.5 -> 2, -2.5 -> -2
        let mut i4 = vec![0i8; 1];
        quantize_f32(Numerics::Onnxruntime, &p, -8, 7, &[100.0], &mut i4).unwrap();
        assert_eq!(i4, vec![7]);
    }

    #[test]
    fn per_axis_and_dequantize() {
        let p = AffineParams::per_axis(vec![1.0, 0.5], vec![0, 2], 1, &[2, 2]).unwrap();
        let mut f = vec![0f32; 4];
        dequantize(&p, &[3u8, 4, 5, 6], &mut f).unwrap();
        assert_eq!(f, vec![3.0, 1.0, 5.0, 2.0]);
        let mut q = vec![0u8; 4];
        quantize_f32(Numerics::Onnxruntime, &p, 0, 255, &f, &mut q).unwrap();
        assert_eq!(q, vec![3, 4, 5, 6]);
    }

    #[test]
    fn requantize_paths() {
        let mut out = vec![0i8; 2];
        requantize_tflite(0.5, 0, 1.0, 0, -128, 127, &[3i8, -3], &mut out).unwrap();
        // SaturatingRoundingDoublingHighMul rounds an exact negative half toward zero.
        assert_eq!(out, vec![2, -1]);
        requantize_ort(0.5, 0, 1.0, 0, -128, 127, &[3i8, -3], &mut out).unwrap();
        assert_eq!(out, vec![2, -2]); // 1.5 -> 2, -1.5 -> -2 (half even)
        requantize_ort(0.5, 0, 1.0, 0, -128, 127, &[5i8, -5], &mut out).unwrap();
        assert_eq!(out, vec![2, -2]); // 2.5 -> 2
        requantize_concat_tflite(0.5, 0, 1.0, 0, &[5i8, -5], &mut out).unwrap();
        assert_eq!(out, vec![3, -3]);
    }
}
