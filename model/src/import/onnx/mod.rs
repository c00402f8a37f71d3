//! ONNX importer: `ModelProto` bytes to the quantized IR, with onnxruntime's numerics.
//!
//! * `proto`: hand-written prost messages for the subset of `onnx.proto` we read.
//! * `tensor`: `TensorProto` decoding (raw and typed fields, int4 unpacking, external data refused).
//! * `convert`: the graph walk, value tracking, graph inputs/outputs.
//! * `qdq`: QuantizeLinear / DequantizeLinear and onnxruntime's QDQ fusion rules.
//! * `qop`: QOperator nodes (QLinearConv, QGemm, QLinearAdd, ...).
//! * `ops`: shared op conversion (conv / pool geometry, FC weights, elementwise, reshapes).
//! * `layout`: NCHW versus NHWC bookkeeping and the explicit transposes.
//!
//! The graph is marked [`Numerics::Onnxruntime`](crate::ir::Numerics): requantisation in
//! float32 rounded half to even, bias = the int32 initializer as given. Graph inputs and outputs
//! keep the ONNX layout (NCHW); Transpose nodes make the inside NHWC.
//!
//! Supported:
//! * QDQ (`quantize_static`, QuantFormat.QDQ), fused as onnxruntime's CPU provider fuses it:
//!   Conv (incl. grouped / depthwise, dilations, auto_pad), Gemm, MatMul, Add, Mul, AveragePool,
//!   GlobalAveragePool, Softmax, Concat between DequantizeLinear and QuantizeLinear, with a Relu /
//!   Clip in between when onnxruntime folds it; MaxPool, Reshape, Flatten, Squeeze, Unsqueeze,
//!   Transpose, Pad (constant 0) on DQ values; DQ -> Q pairs (collapsed, or a requantising
//!   Quantize); float QDQ biases (quantized like onnxruntime's WeightBiasQuantization).
//! * QOperator: QLinearConv, ConvInteger, QLinearMatMul, MatMulInteger, and com.microsoft QGemm,
//!   QLinearAdd, QLinearMul, QLinearAveragePool, QLinearGlobalAveragePool (channels_last 0/1),
//!   QLinearConcat, QLinearSoftmax; MaxPool / Pad / data movement on quantized tensors.
//! * QuantizeLinear / DequantizeLinear, per tensor or per axis, int8 / uint8 / int16 / int4 /
//!   uint4; float Conv (the ONNX Conv node tests); Constant, Identity, Dropout.
//!
//! Anything onnxruntime would run in float inside a quantized graph is refused with an error
//! naming the node, because its float kernels are not what integer hardware computes.
//!
//! Note on goldens: onnxruntime's uint8 x int8 GEMM on x86 CPUs without AVX-VNNI saturates pairs
//! of products to int16 (`vpmaddubsw`), so for models with full 8-bit weights its output depends
//! on the CPU. The IR computes the exact integer result, which is what onnxruntime gives with
//! `session.x64quantprecision = 1`, on VNNI / ARM CPUs, or for `reduce_range` (7-bit) weights.

pub(crate) mod attrs;
mod convert;
mod layout;
pub(crate) mod ops;
pub(crate) mod proto;
mod qdq;
mod qop;
pub(crate) mod tensor;

use crate::error::{ModelError, Result};
use crate::ir::{DType, Graph, Value};
use prost::Message;

pub use tensor::ConstTensor;

/// Imports an ONNX model. `name` becomes the graph name.
pub fn import_onnx(bytes: &[u8], name: &str) -> Result<Graph> {
    import_onnx_with_constants(bytes, name, &[])
}

/// Imports an ONNX model after binding the named graph inputs to constant values (the ONNX node
/// tests pass weights, scales and zero points as graph inputs; the IR needs them as constants).
/// Every name must be a graph input; bound inputs disappear from the IR graph's inputs.
pub fn import_onnx_with_constants(bytes: &[u8], name: &str, constants: &[(String, Value)]) -> Result<Graph> {
    let model = proto::ModelProto::decode(bytes).map_err(|e| ModelError::malformed("onnx", e.to_string()))?;
    let graph = model.graph.as_ref().ok_or_else(|| ModelError::malformed("onnx", "the model has no graph"))?;
    let mut opset = None;
    for o in &model.opset_import {
        let domain = o.domain.as_deref().unwrap_or("");
        match domain {
            "" | "ai.onnx" => opset = o.version,
            "com.microsoft" | "ai.onnx.ml" | "ai.onnx.training" | "ai.onnx.preview.training" => {}
            other => {
                return Err(ModelError::malformed(
                    "onnx",
                    format!("imports operator set domain '{other}', which systole does not know"),
                ))
            }
        }
    }
    let opset = match opset {
        Some(v) if v >= 1 => v,
        // IR version 1/2 files predate opset_import; their operators are opset 1.
        None if model.ir_version.unwrap_or(0) < 3 => 1,
        _ => return Err(ModelError::malformed("onnx", "no valid version for the default ONNX operator set")),
    };
    convert::convert_graph(graph, name, opset, constants)
}

/// Decodes a serialized `TensorProto` (the `input_N.pb` / `output_N.pb` files of the ONNX
/// backend tests) into its name, element type and value. 4-bit values come back unpacked.
pub fn read_tensor_proto(bytes: &[u8]) -> Result<(String, DType, Value)> {
    let t = proto::TensorProto::decode(bytes).map_err(|e| ModelError::malformed("onnx", e.to_string()))?;
    let c = tensor::decode_tensor(&t)?;
    Ok((c.name.clone(), c.dtype, c.to_value()))
}

/// Decodes every initializer of a serialized model (name and value; 4-bit values unpacked).
pub fn read_initializers(bytes: &[u8]) -> Result<Vec<(String, Value)>> {
    let model = proto::ModelProto::decode(bytes).map_err(|e| ModelError::malformed("onnx", e.to_string()))?;
    let graph = model.graph.as_ref().ok_or_else(|| ModelError::malformed("onnx", "the model has no graph"))?;
    graph.initializer.iter().map(|t| tensor::decode_tensor(t).map(|c| (c.name.clone(), c.to_value()))).collect()
}

#[cfg(test)]
mod tests;
