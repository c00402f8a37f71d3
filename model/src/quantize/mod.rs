//! Post-training static quantisation of a float ONNX CNN into a standard QDQ model
//! (`systole quantize`), reproducing onnxruntime's `quantize_static` for the same options.
//!
//! * `graph`: the float model (operators a CNN needs; anything else is refused by name).
//! * `exec`: float reference execution (NCHW, MLAS summation order) for calibration.
//! * `calibrate`: MinMax, Percentile and Entropy ranges as onnxruntime's calibrators compute them.
//! * `params`: scale / zero-point selection, int8 weights, int32 biases (onnxruntime's formulas).
//! * `plan`: which tensors get Q/DQ (onnxruntime's QDQ op rules, Relu / Clip folding, shared
//!   parameters of data-movement ops).
//! * `writer`: the QDQ `ModelProto`, encoded with prost.
//!
//! The written model is imported by [`crate::import::onnx`] like any onnxruntime QDQ model and
//! runs in onnxruntime; with int8 activations (the default) onnxruntime's x86 kernels agree with
//! systole's reference bit for bit.

mod calibrate;
mod error;
mod exec;
mod graph;
mod params;
mod plan;
mod writer;

pub use calibrate::Method;
pub use error::{QResult, QuantizeError};
pub use exec::FTensor;
pub use params::{ActType, WeightType};

use crate::ir::{TensorData, Value};
use serde::Serialize;

/// Options of `quantize_static` that systole supports.
#[derive(Clone, Debug)]
pub struct Options {
    pub method: Method,
    /// Per-channel weights (onnxruntime `per_channel=True`); per-tensor otherwise.
    pub per_channel: bool,
    /// Activation element type (`activation_type`): int8 (default) or uint8.
    pub activation: ActType,
    /// 7-bit weights (`reduce_range=True`; 3-bit for int4).
    pub reduce_range: bool,
    /// Weight element type (`weight_type`): int8 (default) or int4, written as an ONNX `INT4`
    /// initializer with an opset-21 DequantizeLinear.
    pub weights: WeightType,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            method: Method::MinMax,
            per_channel: false,
            activation: ActType::Int8,
            reduce_range: false,
            weights: WeightType::Int8,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TensorKind {
    Activation,
    Weight,
    Bias,
}

/// The parameters chosen for one tensor (per channel for per-channel weights and their biases).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TensorReport {
    pub name: String,
    pub kind: TensorKind,
    pub scale: Vec<f32>,
    pub zero_point: Vec<i32>,
    /// Calibrated (min, max) for activations.
    pub range: Option<(f32, f32)>,
}

/// A quantized model and what was chosen.
#[derive(Clone, Debug)]
pub struct Quantized {
    /// The encoded QDQ `ModelProto`.
    pub model: Vec<u8>,
    pub tensors: Vec<TensorReport>,
    pub samples: usize,
    /// Relu / Clip nodes folded into the range of their producer.
    pub folded_activations: usize,
}

/// Quantizes a float ONNX model with calibration data `calib` (one model input; the first
/// dimension indexes samples, see [`split_samples`]).
pub fn quantize_onnx(float_model: &[u8], name: &str, calib: &Value, opts: &Options) -> QResult<Quantized> {
    let g = graph::parse(float_model, name)?;
    let samples = split_samples(&g, calib)?;
    let plan = plan::plan(&g, opts.per_channel)?;
    let ranges = calibrate::calibrate(&g, &samples, opts.method)?;
    let (model, tensors) = writer::write(&g, &plan, &ranges, opts)?;
    Ok(Quantized { model, tensors, samples: samples.len(), folded_activations: plan.removed.len() })
}

/// A parsed float ONNX model that runs many inputs (the baseline of `systole evaluate`).
#[derive(Clone, Debug)]
pub struct FloatModel {
    g: graph::FloatGraph,
}

/// Size of a float model: MACs (from the tensor shapes of one run) and bytes of the constant
/// operands (weights and biases) of its MAC nodes, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct FloatSize {
    pub macs: u64,
    pub weight_bytes: u64,
}

impl FloatModel {
    pub fn parse(bytes: &[u8], name: &str) -> QResult<Self> {
        Ok(FloatModel { g: graph::parse(bytes, name)? })
    }

    pub fn input_count(&self) -> usize {
        self.g.inputs.len()
    }

    /// Declared shape of input `i` (symbolic dimensions `None`).
    pub fn input_shape(&self, i: usize) -> Option<Vec<Option<usize>>> {
        self.g.input_shape(i)
    }

    /// Runs one input (float reference, MLAS summation order).
    pub fn run(&self, input: &FTensor) -> QResult<Vec<FTensor>> {
        exec::run(&self.g, std::slice::from_ref(input), &mut |_, _| {})
    }

    /// MACs and weight bytes; MACs need the activation shapes, hence one run on `input`.
    pub fn size(&self, input: &FTensor) -> QResult<FloatSize> {
        let mut shapes: std::collections::HashMap<String, Vec<usize>> = Default::default();
        exec::run(&self.g, std::slice::from_ref(input), &mut |name, t| {
            shapes.insert(name.to_string(), t.shape.clone());
        })?;
        let count = |s: &[usize]| s.iter().map(|&d| d as u64).product::<u64>();
        let const_bytes =
            |name: &str| self.g.consts.get(name).map_or(0, |c| (c.element_count() * c.dtype.bits()).div_ceil(8) as u64);
        let mut size = FloatSize { macs: 0, weight_bytes: 0 };
        for n in &self.g.nodes {
            let (w, b) = match &n.op {
                graph::FloatOp::Conv { w, b, .. } | graph::FloatOp::Gemm { w, b, .. } => (w, b.as_deref()),
                graph::FloatOp::MatMul { w } => (w, None),
                _ => continue,
            };
            let w_shape = self.g.consts.get(w).map(|c| c.shape.clone()).unwrap_or_default();
            let out = shapes.get(&n.output).map_or(0, |s| count(s));
            // Products per output element: C_in/groups * KH * KW (Conv, OIHW), K (Gemm / MatMul).
            let per_output = match &n.op {
                graph::FloatOp::Conv { .. } => count(w_shape.get(1..).unwrap_or_default()),
                graph::FloatOp::Gemm { trans_b: true, .. } => w_shape.get(1).copied().unwrap_or(0) as u64,
                _ => w_shape.first().copied().unwrap_or(0) as u64,
            };
            size.macs += out * per_output;
            size.weight_bytes += const_bytes(w) + b.map_or(0, const_bytes);
        }
        Ok(size)
    }
}

/// Runs the float model on one input (reference for accuracy comparisons).
pub fn run_float(float_model: &[u8], input: &FTensor) -> QResult<Vec<FTensor>> {
    let g = graph::parse(float_model, "float")?;
    exec::run(&g, std::slice::from_ref(input), &mut |_, _| {})
}

/// Splits calibration data into per-sample model inputs. Accepted layouts for a model input of
/// shape `S = [s0, s1, ...]`: `[N, s0, s1, ...]` (N samples, as onnxruntime's data readers
/// usually feed them), or `[N, s1, ...]` when `s0` is 1 or symbolic (N samples of batch 1).
/// Values must be float32 and finite.
fn split_samples(g: &graph::FloatGraph, calib: &Value) -> QResult<Vec<Vec<FTensor>>> {
    let names = g.input_names();
    let [input] = names.as_slice() else {
        return Err(QuantizeError::BadModel(format!(
            "the model has {} inputs; calibration with one .npy file supports single-input models",
            names.len()
        )));
    };
    let declared = g.input_shape(0).unwrap_or_default();
    let expected: Vec<usize> = declared.iter().map(|d| d.unwrap_or(0)).collect();
    let shape_error = |reason: &str| QuantizeError::CalibShape {
        input: input.clone(),
        shape: calib.shape.clone(),
        expected: expected.clone(),
        reason: reason.to_string(),
    };
    let TensorData::F32(data) = &calib.data else {
        return Err(shape_error("calibration data must be float32 (or float64) values"));
    };
    if let Some((index, &value)) = data.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        let per = calib.shape.iter().skip(1).product::<usize>().max(1);
        return Err(QuantizeError::CalibNotFinite { sample: index / per, index: index % per, value });
    }
    let fits = |shape: &[usize]| {
        shape.len() == declared.len()
            && shape.iter().zip(&declared).all(|(s, d)| d.is_none_or_eq(*s))
            && shape.iter().all(|&s| s > 0)
    };
    let (count, sample_shape) = match calib.shape.split_first() {
        Some((&n, rest)) if fits(rest) => (n, rest.to_vec()),
        Some((&n, rest)) if declared.first().is_some_and(|d| d.is_none_or_eq(1)) => {
            let mut s = vec![1];
            s.extend_from_slice(rest);
            if !fits(&s) {
                return Err(shape_error("expected [N, *input shape] or [N, *input shape without its batch dimension]"));
            }
            (n, s)
        }
        _ => return Err(shape_error("expected [N, *input shape] or [N, *input shape without its batch dimension]")),
    };
    if count == 0 {
        return Err(shape_error("no samples (first dimension is 0)"));
    }
    let per: usize = sample_shape.iter().product();
    Ok(data.chunks_exact(per).map(|c| vec![FTensor::new(sample_shape.clone(), c.to_vec())]).collect())
}

/// `None` (symbolic dimension) matches anything.
trait DimMatch {
    fn is_none_or_eq(&self, v: usize) -> bool;
}

impl DimMatch for Option<usize> {
    fn is_none_or_eq(&self, v: usize) -> bool {
        match self {
            None => true,
            Some(d) => *d == v,
        }
    }
}

#[cfg(test)]
mod tests;
