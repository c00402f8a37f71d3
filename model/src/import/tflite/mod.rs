//! TFLite importer: a `.tflite` flatbuffer -> the quantized IR.
//!
//! * Subgraph 0 is converted; every TFLite tensor keeps its index, so flatbuffer tensor N is
//!   `TensorId` N (tensors the importer synthesises, e.g. the flattening input of a
//!   FULLY_CONNECTED, are appended after them).
//! * Depthwise weights are rewritten in place from `[1, KH, KW, C_out]` to the IR's OHWI
//!   `[C_out, KH, KW, 1]` with `groups = C_in`; per-axis quantisation moves from axis 3 to 0.
//! * Weight zero points are carried as the file has them (uint8 per-tensor models from old
//!   converters have non-zero ones); nothing here assumes they are 0.
//! * The numerics contract is [`Numerics::Tflite`] (fixed-point double rounding).
//!
//! The bytes are untrusted: the flatbuffer is verified before any field is read, and every index
//! and shape is checked, so malformed input yields an error, never a panic.

mod geometry;
mod ops;
mod schema;
mod tensors;

#[cfg(test)]
mod test_model;
#[cfg(test)]
mod tests;

use crate::ir::{Graph, Numerics, SourceFormat, TensorId};
use crate::{ModelError, Result};
use ops::{Converter, OpInfo};
use schema::builtin_op;

const FORMAT: &str = "TFLite";

/// Imports subgraph 0 of a TFLite model. `name` becomes the graph name.
///
/// Errors: [`ModelError::Malformed`] for bytes that are not a valid TFLite flatbuffer,
/// [`ModelError::UnsupportedOp`] / [`ModelError::UnsupportedDType`] for content the IR cannot
/// express, [`ModelError::InvalidNode`] / [`ModelError::InvalidTensor`] for inconsistent shapes,
/// indices or quantisation.
pub fn import_tflite(bytes: &[u8], name: &str) -> Result<Graph> {
    let model = parse(bytes)?;
    let subgraph = model
        .subgraphs()
        .filter(|s| !s.is_empty())
        .map(|s| s.get(0))
        .ok_or_else(|| ModelError::malformed(FORMAT, "the model has no subgraph"))?;

    let mut graph = Graph::new(name, SourceFormat::Tflite, Numerics::Tflite);
    let buffers = model.buffers();
    // Tensors may share a buffer, so a crafted file could make the decoded constants far larger
    // than the file itself; real models stay near 1x (weights are stored once).
    let decode_budget = bytes.len().saturating_mul(8).saturating_add(1 << 20);
    let mut decoded = 0usize;
    for (index, tensor) in subgraph.tensors().into_iter().flatten().enumerate() {
        let t = tensors::convert_tensor(tensor, index, buffers)?;
        if t.is_constant() {
            decoded = decoded.saturating_add(t.storage_bytes());
            if decoded > decode_budget {
                return Err(ModelError::invalid_tensor(
                    &t.name,
                    format!("constants decode to more than {decode_budget} bytes (buffers shared too often)"),
                ));
            }
        }
        graph.tensors.push(t);
    }
    let n_tensors = graph.tensors.len();
    graph.inputs = graph_io(subgraph.inputs(), n_tensors, "input")?;
    graph.outputs = graph_io(subgraph.outputs(), n_tensors, "output")?;

    let codes = model.operator_codes();
    let mut converter = Converter::new(&mut graph);
    for (index, op) in subgraph.operators().into_iter().flatten().enumerate() {
        let info = resolve(&mut converter, op, index, codes, n_tensors)?;
        converter.convert(&info)?;
    }
    // The whole-graph check every importer ends with: shape inference of each node against its
    // declared output, topological order, graph outputs produced, constants, quantisation.
    crate::shape::validate(&graph)?;
    Ok(graph)
}

/// Checks the file identifier and verifies the flatbuffer.
fn parse(bytes: &[u8]) -> Result<schema::Model<'_>> {
    let Some(ident) = bytes.get(4..8) else {
        return Err(ModelError::malformed(
            FORMAT,
            format!("file is {} bytes, too short for a flatbuffer header", bytes.len()),
        ));
    };
    if ident != schema::FILE_IDENTIFIER {
        return Err(ModelError::malformed(
            FORMAT,
            format!(
                "file identifier (bytes 4..8) is {:?}, expected \"TFL3\": not a TFLite model",
                String::from_utf8_lossy(ident)
            ),
        ));
    }
    let model = schema::root_as_model(bytes)
        .map_err(|e| ModelError::malformed(FORMAT, format!("flatbuffer verification failed: {e}")))?;
    if model.version() != schema::SCHEMA_VERSION {
        return Err(ModelError::malformed(
            FORMAT,
            format!("schema version {} (only version {} is supported)", model.version(), schema::SCHEMA_VERSION),
        ));
    }
    Ok(model)
}

/// Subgraph inputs or outputs as tensor ids.
fn graph_io(list: Option<flatbuffers::Vector<'_, i32>>, n_tensors: usize, what: &str) -> Result<Vec<TensorId>> {
    list.into_iter()
        .flatten()
        .map(|i| {
            usize::try_from(i).ok().filter(|&i| i < n_tensors).ok_or_else(|| {
                ModelError::malformed(
                    FORMAT,
                    format!("subgraph {what} refers to tensor {i}, but subgraph 0 has {n_tensors} tensors"),
                )
            })
        })
        .collect()
}

/// Resolves an operator's code, name and tensor indices.
fn resolve<'m>(
    converter: &mut Converter<'_>,
    op: schema::Operator<'m>,
    index: usize,
    codes: Option<flatbuffers::Vector<'m, flatbuffers::ForwardsUOffset<schema::OperatorCode<'m>>>>,
    n_tensors: usize,
) -> Result<OpInfo<'m>> {
    let opcode_index = op.opcode_index();
    let opcode =
        codes.filter(|c| (opcode_index as usize) < c.len()).map(|c| c.get(opcode_index as usize)).ok_or_else(|| {
            ModelError::malformed(
                FORMAT,
                format!(
                    "operator #{index} uses operator code {opcode_index}, but the model has {}",
                    codes.map_or(0, |c| c.len())
                ),
            )
        })?;
    let code = opcode.code();
    let op_name = if code == builtin_op::CUSTOM {
        format!("CUSTOM({})", opcode.custom_code().unwrap_or("?"))
    } else {
        builtin_op::name(code)
    };

    // Output indices first: the node is named after its first output.
    let raw_outputs: Vec<i32> = op.outputs().into_iter().flatten().collect();
    let outputs: Option<Vec<TensorId>> =
        raw_outputs.iter().map(|&i| usize::try_from(i).ok().filter(|&i| i < n_tensors)).collect();
    let base = outputs
        .as_ref()
        .and_then(|o| o.first())
        .map(|&y| converter.graph.tensors[y].name.clone())
        .unwrap_or_else(|| format!("{}_{index}", op_name.to_lowercase()));
    let node = converter.unique_name(&base);
    let Some(outputs) = outputs else {
        return Err(ModelError::invalid_node(
            node,
            op_name,
            format!("operator #{index}: output indices {raw_outputs:?} out of range ({n_tensors} tensors)"),
        ));
    };

    let mut inputs = Vec::new();
    for i in op.inputs().into_iter().flatten() {
        match i {
            -1 => inputs.push(None),
            i => match usize::try_from(i).ok().filter(|&i| i < n_tensors) {
                Some(i) => inputs.push(Some(i)),
                None => {
                    return Err(ModelError::invalid_node(
                        node,
                        op_name,
                        format!("operator #{index}: input tensor index {i} out of range ({n_tensors} tensors)"),
                    ))
                }
            },
        }
    }
    Ok(OpInfo { index, code, op_name, node, inputs, outputs, op })
}
