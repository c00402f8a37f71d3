//! Structured pruning of ONNX models (`systole prune`): whole output channels of convolutions
//! and fully-connected layers are removed together with the matching input channels of every
//! consumer, and the result is written in the same format, as an edited copy of the file.
//!
//! * `shapes`: static shapes of the values (ONNX layout) for the operators a CNN uses.
//! * `coupling`: which channels are tied (residual Adds, Concat, Flatten / Reshape), which can
//!   never be removed (graph outputs, operators that cannot be rewritten) and which constants
//!   follow each channel (weights, biases, per-channel scales and zero points, depthwise
//!   filters, reshape targets).
//! * `rank`: the decision per group of tied layers (L1 / L2 norm of the producers' weights).
//! * `rewrite`: sliced initializers, depthwise `group`, `value_info` shapes, written into the
//!   original protobuf bytes (`wire`) so nothing else in the file changes.
//!
//! Works on float models and on quantized QDQ and QOperator models (per-channel and
//! per-tensor): scales are per output channel, so removing a channel removes its scale and
//! zero point and leaves every other value of the model bit for bit as it was.

mod coupling;
mod error;
mod rank;
mod rewrite;
mod shapes;
mod wire;

pub use error::{PResult, PruneError};

use crate::import::onnx::proto::{data_type as dt, ModelProto};
use crate::import::onnx::tensor::{decode_tensor, ConstTensor};
use coupling::View;
use prost::Message;
use serde::Serialize;
use std::collections::HashMap;

/// How output channels are ranked: by the L1 or L2 norm of their (dequantized) weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Criterion {
    L1,
    L2,
}

#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Fraction of each prunable layer's output channels to remove, in [0, 1).
    pub ratio: f64,
    pub criterion: Criterion,
}

/// One MAC layer in the report.
#[derive(Clone, Debug, Serialize)]
pub struct LayerReport {
    pub name: String,
    pub op: String,
    pub channels_before: usize,
    pub channels_after: usize,
    /// Index of the group of tied layers (layers sharing channels through Add / Concat).
    pub group: Option<usize>,
    /// Why the layer keeps all its channels, when it is not pruned.
    pub kept_because: Option<String>,
}

/// Weight bytes (weights and biases of MAC layers, as stored) and multiply-accumulates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub weight_bytes: u64,
    pub macs: u64,
}

/// A pruned model and what was done.
#[derive(Clone, Debug, Serialize)]
pub struct Pruned {
    #[serde(skip)]
    pub model: Vec<u8>,
    pub layers: Vec<LayerReport>,
    pub before: Stats,
    pub after: Stats,
}

/// Prunes an ONNX model (bytes of a `ModelProto`).
pub fn prune_onnx(bytes: &[u8], opts: &Options) -> PResult<Pruned> {
    if !(0.0..1.0).contains(&opts.ratio) {
        return Err(PruneError::Ratio(opts.ratio));
    }
    let model = ModelProto::decode(bytes).map_err(|e| crate::ModelError::malformed("onnx", e.to_string()))?;
    let graph = model.graph.as_ref().ok_or_else(|| PruneError::BadModel("the model has no graph".into()))?;
    if !graph.sparse_initializer.is_empty() {
        return Err(PruneError::BadModel("sparse initializers are not supported".into()));
    }
    let opset = model
        .opset_import
        .iter()
        .find(|o| matches!(o.domain.as_deref().unwrap_or(""), "" | "ai.onnx"))
        .and_then(|o| o.version)
        .unwrap_or(1);
    let view = build_view(graph, opset)?;
    let coupling = coupling::analyse(&view);
    let decision = rank::decide(&coupling, opts.ratio, opts.criterion);
    let edits = rewrite::plan(&view, &coupling, &decision)?;
    let pruned = rewrite::write(bytes, graph, &edits)?;

    let after_model = ModelProto::decode(pruned.as_slice()).map_err(|e| PruneError::Wire(e.to_string()))?;
    let after_graph = after_model.graph.as_ref().ok_or_else(|| PruneError::Wire("graph lost".into()))?;
    let after_view = build_view(after_graph, opset)?;

    let mut layers = Vec::new();
    for (g, group) in decision.groups.iter().enumerate() {
        for &l in &group.layers {
            let layer = &coupling.layers[l];
            let kept =
                (0..layer.channels).filter(|&ch| !decision.removed.contains(&coupling.root(layer.first + ch))).count();
            let kept_because = group
                .frozen
                .clone()
                .or_else(|| (group.removed == 0 && opts.ratio > 0.0).then(|| "too few channels for the ratio".into()));
            layers.push((
                layer.node,
                LayerReport {
                    name: layer.name.clone(),
                    op: layer.op.clone(),
                    channels_before: layer.channels,
                    channels_after: kept,
                    group: Some(g),
                    kept_because,
                },
            ));
        }
    }
    for f in &coupling.fixed {
        let node = f.node;
        let channels = f.channels.unwrap_or(0);
        layers.push((
            node,
            LayerReport {
                name: f.name.clone(),
                op: f.op.clone(),
                channels_before: channels,
                channels_after: channels,
                group: None,
                kept_because: Some(f.reason.clone()),
            },
        ));
    }
    layers.sort_by_key(|(node, _)| *node);
    Ok(Pruned {
        model: pruned,
        layers: layers.into_iter().map(|(_, l)| l).collect(),
        before: stats(&view),
        after: stats(&after_view),
    })
}

fn build_view(graph: &crate::import::onnx::proto::GraphProto, opset: i64) -> PResult<View<'_>> {
    let mut inits = HashMap::new();
    let mut init_type = HashMap::new();
    for t in &graph.initializer {
        let c = decode_tensor(t)?;
        init_type.insert(c.name.clone(), t.data_type.unwrap_or(0));
        inits.insert(c.name.clone(), c);
    }
    let shapes = shapes::infer(graph, &inits);
    let mut refs: HashMap<String, usize> = HashMap::new();
    let mut producer = HashMap::new();
    for (i, n) in graph.node.iter().enumerate() {
        for input in n.input.iter().filter(|s| !s.is_empty()) {
            *refs.entry(input.clone()).or_default() += 1;
        }
        for o in n.output.iter().filter(|s| !s.is_empty()) {
            producer.insert(o.clone(), i);
        }
    }
    Ok(View { graph, inits, init_type, shapes, refs, producer, opset })
}

fn storage_bytes(c: &ConstTensor, onnx_type: i32) -> u64 {
    let n = c.element_count() as u64;
    match onnx_type {
        dt::INT4 | dt::UINT4 => n.div_ceil(2),
        dt::INT8 | dt::UINT8 | dt::BOOL => n,
        dt::INT16 | dt::UINT16 | dt::FLOAT16 | dt::BFLOAT16 => 2 * n,
        dt::INT64 | dt::UINT64 | dt::DOUBLE => 8 * n,
        _ => 4 * n,
    }
}

/// Weight bytes and MACs of the MAC layers (Conv, Gemm, MatMul and their QOperator forms).
fn stats(v: &View) -> Stats {
    let mut s = Stats::default();
    // Bytes of a constant operand: the initializer itself or the one a DequantizeLinear reads.
    let bytes = |name: &str| -> u64 {
        let name = match v.producer.get(name).map(|&i| &v.graph.node[i]) {
            Some(n) if n.op() == "DequantizeLinear" => n.input.first().map(String::as_str).unwrap_or(""),
            _ => name,
        };
        v.inits.get(name).map_or(0, |c| storage_bytes(c, v.init_type.get(name).copied().unwrap_or(0)))
    };
    for n in &v.graph.node {
        let (w, b) = match n.op() {
            "Conv" | "Gemm" => (1, Some(2)),
            "MatMul" | "ConvInteger" | "MatMulInteger" => (1, None),
            "QLinearConv" => (3, Some(8)),
            "QGemm" => (3, Some(6)),
            "QLinearMatMul" => (3, None),
            _ => continue,
        };
        let input = |i: usize| n.input.get(i).filter(|s| !s.is_empty()).map(String::as_str);
        let shape = |name: Option<&str>| name.and_then(|x| v.shapes.get(x));
        let (Some(ws), Some(out)) = (shape(input(w)), shape(n.output.first().map(String::as_str))) else { continue };
        let out_count: u64 = out.iter().map(|&d| d as u64).product();
        let k: u64 = if n.op().contains("Conv") {
            ws.iter().skip(1).map(|&d| d as u64).product()
        } else {
            let trans_b = n.attribute.iter().any(|a| a.name.as_deref() == Some("transB") && a.i == Some(1));
            ws.get(if trans_b { 1 } else { 0 }).copied().unwrap_or(0) as u64
        };
        s.macs = s.macs.saturating_add(out_count.saturating_mul(k));
        s.weight_bytes += input(w).map_or(0, &bytes) + b.and_then(input).map_or(0, &bytes);
    }
    s
}

#[cfg(test)]
mod tests;
