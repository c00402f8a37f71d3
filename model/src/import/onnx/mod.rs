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

mod attrs;
mod convert;
mod layout;
mod ops;
mod proto;
mod qdq;
mod qop;
mod tensor;

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

#[cfg(test)]
mod tests;
