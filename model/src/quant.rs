//! Requantisation parameters: derived once from tensor scales, applied by every engine.
//!
//! `OutputStage` is the per-output-channel tail of a MAC layer (bias already in the
//! accumulator): requantise, add the output zero point, clamp to the activation range. The packer
//! stores exactly these fields in the layer descriptors, and the RTL requant unit implements
//! `OutputStage::apply`.

use crate::arith;
use crate::ir::{Activation, DType, Numerics, Tensor};
use serde::{Deserialize, Serialize};

/// Per-output-channel requantisation (vectors have one entry per channel, or one for all).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Requant {
    /// TFLite double rounding: `MultiplyByQuantizedMultiplier(acc, multiplier, shift)`.
    Fixed { multiplier: Vec<i32>, shift: Vec<i32> },
    /// onnxruntime: `round_half_even(f32(acc) * scale)`.
    Float { scale: Vec<f32> },
}

impl Requant {
    pub fn channels(&self) -> usize {
        match self {
            Requant::Fixed { multiplier, .. } => multiplier.len(),
            Requant::Float { scale } => scale.len(),
        }
    }

    /// Derives the requantiser of a MAC layer from its scales, the way the runtime of `numerics`
    /// does: TFLite in double (`s_x * s_w / s_y`), onnxruntime in float32 (same order).
    pub fn for_mac_layer(numerics: Numerics, input_scale: f32, weight_scales: &[f32], output_scale: f32) -> Requant {
        match numerics {
            Numerics::Tflite => {
                let (multiplier, shift) = weight_scales
                    .iter()
                    .map(|&sw| arith::quantize_multiplier(input_scale as f64 * sw as f64 / output_scale as f64))
                    .unzip();
                Requant::Fixed { multiplier, shift }
            }
            Numerics::Onnxruntime => {
                Requant::Float { scale: weight_scales.iter().map(|&sw| input_scale * sw / output_scale).collect() }
            }
        }
    }
}

/// Requantise + zero point + activation clamp for one MAC layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputStage {
    pub requant: Requant,
    pub zero_point: i32,
    /// Storage range of the output type (the float path clamps here before rounding).
    pub qmin: i32,
    pub qmax: i32,
    /// Fused activation range, inside [qmin, qmax].
    pub act_min: i32,
    pub act_max: i32,
}

impl OutputStage {
    /// Applies the stage to accumulator `acc` of output channel `channel`.
    #[inline]
    pub fn apply(&self, acc: i32, channel: usize) -> i32 {
        let v = match &self.requant {
            Requant::Fixed { multiplier, shift } => {
                let i = if multiplier.len() == 1 { 0 } else { channel };
                arith::multiply_by_quantized_multiplier(acc, multiplier[i], shift[i]) as i64 + self.zero_point as i64
            }
            Requant::Float { scale } => {
                let i = if scale.len() == 1 { 0 } else { channel };
                arith::requantize_float(acc, scale[i], self.zero_point, self.qmin, self.qmax) as i64
            }
        };
        v.clamp(self.act_min as i64, self.act_max as i64) as i32
    }
}

/// The quantized clamp range of a fused activation on an output tensor, as tflite's
/// `CalculateActivationRangeQuantized` computes it: `zp + round(f / scale)` in float32, rounded
/// half away from zero, intersected with the storage range.
pub fn activation_range(activation: Activation, scale: f32, zero_point: i32, dtype: DType) -> (i32, i32) {
    let (qmin, qmax) = storage_range(dtype);
    let quantize = |f: f32| -> i64 { zero_point as i64 + (f / scale).round() as i64 };
    let clamp = |v: i64| v.clamp(qmin as i64, qmax as i64) as i32;
    match activation {
        Activation::None => (qmin, qmax),
        Activation::Relu => (clamp(quantize(0.0).max(qmin as i64)), qmax),
        Activation::Relu6 => (clamp(quantize(0.0).max(qmin as i64)), clamp(quantize(6.0).min(qmax as i64))),
        Activation::ReluN1To1 => (clamp(quantize(-1.0).max(qmin as i64)), clamp(quantize(1.0).min(qmax as i64))),
    }
}

/// Storage range of an integer type as i32 (int32 and float map to the full int32 range).
pub fn storage_range(dtype: DType) -> (i32, i32) {
    match dtype.int_range() {
        Some((lo, hi)) => (lo.max(i32::MIN as i64) as i32, hi.min(i32::MAX as i64) as i32),
        None => (i32::MIN, i32::MAX),
    }
}

/// Per-channel weight scales of a constant weight tensor (per-tensor: one entry).
pub fn weight_scales(weights: &Tensor) -> Vec<f32> {
    weights.quant.as_ref().map_or_else(|| vec![1.0], |q| q.scale.clone())
}

/// Builds the output stage of a MAC layer from its input, weight and output tensors.
/// Returns `None` when the output is not quantized (raw int32 accumulator or float output).
pub fn output_stage_for(
    numerics: Numerics,
    input: &Tensor,
    weights: &Tensor,
    output: &Tensor,
    activation: Activation,
) -> Option<OutputStage> {
    let out_q = output.quant.as_ref()?;
    if !output.dtype.is_quantized_storage() {
        return None;
    }
    let in_q = input.quant.as_ref()?;
    let ws = weight_scales(weights);
    let requant = Requant::for_mac_layer(numerics, in_q.scale_at(0), &ws, out_q.scale_at(0));
    let zero_point = out_q.zero_point_at(0);
    let (qmin, qmax) = storage_range(output.dtype);
    let (act_min, act_max) = activation_range(activation, out_q.scale_at(0), zero_point, output.dtype);
    Some(OutputStage { requant, zero_point, qmin, qmax, act_min, act_max })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relu6_range_matches_tflite_rule() {
        // scale 6/255, zp -128: relu6 spans the whole int8 range.
        let (lo, hi) = activation_range(Activation::Relu6, 6.0 / 255.0, -128, DType::I8);
        assert_eq!((lo, hi), (-128, 127));
        let (lo, hi) = activation_range(Activation::Relu6, 0.1, 10, DType::I8);
        assert_eq!((lo, hi), (10, 70));
        let (lo, hi) = activation_range(Activation::Relu, 0.1, -3, DType::I8);
        assert_eq!((lo, hi), (-3, 127));
    }

    #[test]
    fn fixed_stage_applies_double_rounding() {
        let stage = OutputStage {
            requant: Requant::Fixed { multiplier: vec![1 << 30], shift: vec![-1] },
            zero_point: 5,
            qmin: -128,
            qmax: 127,
            act_min: -128,
            act_max: 127,
        };
        // acc * 0.5 * 0.5 = acc / 4, rounded half away from zero.
        assert_eq!(stage.apply(10, 0), 3 + 5);
        assert_eq!(stage.apply(-10, 0), -3 + 5);
        assert_eq!(stage.apply(1 << 20, 0), 127);
    }
}
