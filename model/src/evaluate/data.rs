//! Labelled data sets as `.npy` arrays: a batch `[N, ...]` of inputs split into per-sample
//! model inputs, and one integer class per sample.

use super::error::{EResult, EvaluateError};
use crate::arith;
use crate::ir::{DType, Numerics, Tensor, TensorData, Value};

/// Splits `data` into `N` inputs of `input`'s shape. Accepted layouts for an input of shape
/// `S = [s0, s1, ...]`: `[N, s0, s1, ...]`, or `[N, s1, ...]` when `s0` is 1 (batch-1 models run
/// sample by sample). Float data for a quantized input is quantized with the input's
/// parameters and the graph's rounding; integer data must have the input's element type.
pub fn split_samples(data: &Value, input: &Tensor, numerics: Numerics, what: &str) -> EResult<Vec<Value>> {
    let s = &input.shape;
    let shape_error = || EvaluateError::DataShape {
        what: what.to_string(),
        input: input.name.clone(),
        shape: data.shape.clone(),
        expected: s.clone(),
    };
    let (&n, rest) = data.shape.split_first().ok_or_else(shape_error)?;
    let fits = rest == s.as_slice() || (s.first() == Some(&1) && rest == s.get(1..).unwrap_or_default());
    if !fits || n == 0 {
        return Err(shape_error());
    }
    let per = input.element_count();
    let type_error = || EvaluateError::DataType {
        what: what.to_string(),
        input: input.name.clone(),
        found: crate::npy::storage_dtype(&data.data).to_string(),
        expected: input.dtype.to_string(),
    };
    let converted: TensorData = match (&data.data, input.dtype) {
        (TensorData::F32(_), DType::F32) => data.data.clone(),
        (TensorData::F32(x), dt) if dt.is_quantized_storage() => {
            let (scale, zp) = input_params(input)?;
            let (lo, hi) = dt.int_range().map(|(a, b)| (a as i32, b as i32)).unwrap_or((0, 0));
            let q = x.iter().map(|&v| quantize(numerics, v, scale, zp, lo, hi)).collect();
            TensorData::from_i32(dt, q)
        }
        (d, dt) if crate::npy::storage_dtype(d) == dt || (d.storage_matches(dt) && dt.bits() == 4) => data.data.clone(),
        _ => return Err(type_error()),
    };
    Ok((0..n).map(|i| Value::new(s.clone(), slice(&converted, i * per, per))).collect())
}

/// One integer class per sample: `[N]` or `[N, 1]`, any integer element type.
pub fn labels(value: &Value, samples: usize, what: &str) -> EResult<Vec<i64>> {
    let bad = |reason: String| EvaluateError::Labels { what: what.to_string(), reason };
    let one_per_sample = matches!(value.shape.as_slice(), [_] | [_, 1]);
    if !one_per_sample {
        return Err(bad(format!("shape {:?}: expected [N] or [N, 1] class indices", value.shape)));
    }
    let v: Vec<i64> = match &value.data {
        TensorData::I64(v) => v.clone(),
        TensorData::F32(_) => return Err(bad("float labels: expected integer class indices".into())),
        d => d.to_i32().unwrap_or_default().into_iter().map(i64::from).collect(),
    };
    if v.len() != samples {
        return Err(bad(format!("{} labels for {samples} samples", v.len())));
    }
    Ok(v)
}

/// The per-tensor `(scale, zero point)` of a quantized input.
pub(super) fn input_params(input: &Tensor) -> EResult<(f32, i32)> {
    match &input.quant {
        Some(q) if !q.is_per_axis() => Ok((q.scale_at(0), q.zero_point_at(0))),
        Some(_) => Err(EvaluateError::NotQuantized {
            what: format!("input '{}'", input.name),
            reason: "per-axis quantized inputs are not supported".into(),
        }),
        None => Err(EvaluateError::NotQuantized {
            what: format!("input '{}'", input.name),
            reason: format!("{} input without quantisation parameters", input.dtype),
        }),
    }
}

/// float -> quantized with the graph's rounding (as its Quantize nodes would).
pub(super) fn quantize(numerics: Numerics, x: f32, scale: f32, zp: i32, lo: i32, hi: i32) -> i32 {
    match numerics {
        Numerics::Tflite => arith::quantize_float_half_away(x, scale, zp, lo, hi),
        Numerics::Onnxruntime => arith::quantize_float_half_even(x, scale, zp, lo, hi),
    }
}

fn slice(d: &TensorData, start: usize, len: usize) -> TensorData {
    // The caller checked that the data holds N whole samples; `get` keeps a short array harmless.
    fn part<T: Clone>(v: &[T], start: usize, len: usize) -> Vec<T> {
        v.get(start..start + len).map(<[T]>::to_vec).unwrap_or_default()
    }
    match d {
        TensorData::I8(v) => TensorData::I8(part(v, start, len)),
        TensorData::U8(v) => TensorData::U8(part(v, start, len)),
        TensorData::I16(v) => TensorData::I16(part(v, start, len)),
        TensorData::I32(v) => TensorData::I32(part(v, start, len)),
        TensorData::I64(v) => TensorData::I64(part(v, start, len)),
        TensorData::F32(v) => TensorData::F32(part(v, start, len)),
    }
}

/// The real values of a sample of graph input `input`: float data as is, quantized data
/// dequantized with the input's parameters (what a float baseline model takes).
pub fn real_valued(v: &Value, input: &Tensor) -> EResult<Vec<f32>> {
    if let TensorData::F32(x) = &v.data {
        return Ok(x.clone());
    }
    let (scale, zp) = input_params(input)?;
    let q = v.data.to_i32().ok_or_else(|| EvaluateError::DataType {
        what: "sample".into(),
        input: input.name.clone(),
        found: crate::npy::storage_dtype(&v.data).to_string(),
        expected: input.dtype.to_string(),
    })?;
    Ok(q.into_iter().map(|e| arith::dequantize(e, scale, zp)).collect())
}
