//! Per-layer statistics of a graph: the table `systole inspect` prints, and the numbers the
//! hardware sizing starts from (MACs, weight bytes, quantisation granularity).

use crate::ir::{Graph, Node, Op};
use serde::Serialize;
use std::fmt::Write as _;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Granularity {
    PerTensor,
    PerChannel,
    /// Not quantized (float or raw integer).
    None,
}

impl Granularity {
    fn label(&self) -> &'static str {
        match self {
            Granularity::PerTensor => "per-tensor",
            Granularity::PerChannel => "per-channel",
            Granularity::None => "-",
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct LayerSummary {
    pub name: String,
    pub op: String,
    pub activation: String,
    pub input_shape: Vec<usize>,
    pub output_shape: Vec<usize>,
    pub dtype: String,
    pub macs: u64,
    /// Bytes of constant operands (weights and biases) in their stored types.
    pub weight_bytes: u64,
    /// Quantisation of the weights (MAC layers) or of the output (others).
    pub granularity: Granularity,
}

#[derive(Clone, Debug, Serialize)]
pub struct ModelSummary {
    pub name: String,
    pub numerics: String,
    pub layers: Vec<LayerSummary>,
    pub total_macs: u64,
    pub total_weight_bytes: u64,
}

/// Multiply-accumulates one node performs.
pub fn node_macs(graph: &Graph, node: &Node) -> u64 {
    let shape = |i: usize| node.inputs.get(i).map(|&t| graph.tensor(t).shape.clone()).unwrap_or_default();
    let out = node.outputs.first().map(|&t| graph.tensor(t).shape.clone()).unwrap_or_default();
    let product = |s: &[usize]| s.iter().map(|&d| d as u64).product::<u64>();
    match &node.op {
        Op::Conv2d(_) => {
            // Each output element sums KH * KW * (C_in / groups) products.
            let w = shape(1);
            product(&out) * w.iter().skip(1).map(|&d| d as u64).product::<u64>()
        }
        Op::FullyConnected { .. } => {
            let w = shape(1);
            product(&out) * w.get(1).copied().unwrap_or(0) as u64
        }
        Op::MatMul => {
            let a = shape(0);
            product(&out) * a.last().copied().unwrap_or(0) as u64
        }
        _ => 0,
    }
}

fn granularity(graph: &Graph, node: &Node) -> Granularity {
    let is_mac = matches!(node.op, Op::Conv2d(_) | Op::FullyConnected { .. } | Op::MatMul);
    let tensor = if is_mac { node.inputs.get(1) } else { node.outputs.first() };
    match tensor.and_then(|&t| graph.tensor(t).quant.as_ref()) {
        Some(q) if q.is_per_axis() => Granularity::PerChannel,
        Some(_) => Granularity::PerTensor,
        None => Granularity::None,
    }
}

/// Summarises every node of the graph, in execution order.
pub fn summarize(graph: &Graph) -> ModelSummary {
    let layers: Vec<LayerSummary> = graph
        .nodes
        .iter()
        .map(|node| {
            let first_input = node.inputs.first().map(|&t| graph.tensor(t));
            let output = node.outputs.first().map(|&t| graph.tensor(t));
            LayerSummary {
                name: node.name.clone(),
                op: node.op.kind().to_string(),
                activation: node.op.activation().to_string(),
                input_shape: first_input.map(|t| t.shape.clone()).unwrap_or_default(),
                output_shape: output.map(|t| t.shape.clone()).unwrap_or_default(),
                dtype: output.map(|t| t.dtype.to_string()).unwrap_or_default(),
                macs: node_macs(graph, node),
                weight_bytes: node
                    .inputs
                    .iter()
                    .map(|&t| graph.tensor(t))
                    .filter(|t| t.is_constant())
                    .map(|t| t.storage_bytes() as u64)
                    .sum(),
                granularity: granularity(graph, node),
            }
        })
        .collect();
    ModelSummary {
        name: graph.name.clone(),
        numerics: graph.numerics.to_string(),
        total_macs: layers.iter().map(|l| l.macs).sum(),
        total_weight_bytes: layers.iter().map(|l| l.weight_bytes).sum(),
        layers,
    }
}

fn dims(shape: &[usize]) -> String {
    shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("x")
}

/// Human-readable table with totals.
pub fn render_table(summary: &ModelSummary) -> String {
    let rows: Vec<[String; 9]> = summary
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            [
                i.to_string(),
                l.name.clone(),
                l.op.clone(),
                l.activation.clone(),
                dims(&l.input_shape),
                dims(&l.output_shape),
                l.macs.to_string(),
                l.weight_bytes.to_string(),
                l.granularity.label().to_string(),
            ]
        })
        .collect();
    let header = ["#", "name", "op", "act", "input", "output", "MACs", "weight B", "quant"];
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count()).min(48);
        }
    }
    let mut out = String::new();
    let _ = writeln!(out, "model: {}   numerics: {}", summary.name, summary.numerics);
    let line = |cells: &[String]| -> String {
        cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, &w))| {
                let c: String = c.chars().take(w).collect();
                if (6..=7).contains(&i) || i == 0 {
                    format!("{c:>w$}")
                } else {
                    format!("{c:<w$}")
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    let _ = writeln!(out, "{}", line(&header.map(String::from)));
    let _ = writeln!(out, "{}", widths.iter().map(|&w| "-".repeat(w)).collect::<Vec<_>>().join("  "));
    for r in &rows {
        let _ = writeln!(out, "{}", line(r));
    }
    let _ = writeln!(
        out,
        "total: {} layers, {} MACs, {} weight bytes",
        summary.layers.len(),
        summary.total_macs,
        summary.total_weight_bytes
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{
        Activation, Conv2dAttrs, DType, Numerics, Padding2d, Quantization, SourceFormat, Tensor, TensorData,
    };

    #[test]
    fn conv_macs_and_weight_bytes() {
        let mut g = Graph::new("t", SourceFormat::Synthetic, Numerics::Tflite);
        let x =
            g.add_tensor(Tensor::activation("x", vec![1, 8, 8, 4], DType::I8, Some(Quantization::per_tensor(0.1, 0))));
        let w = g.add_tensor(Tensor::constant(
            "w",
            vec![6, 3, 3, 2],
            DType::I8,
            Some(Quantization::per_axis(vec![0.1; 6], vec![0; 6], 0)),
            TensorData::I8(vec![1; 108]),
        ));
        let b = g.add_tensor(Tensor::constant("b", vec![6], DType::I32, None, TensorData::I32(vec![0; 6])));
        let y =
            g.add_tensor(Tensor::activation("y", vec![1, 8, 8, 6], DType::I8, Some(Quantization::per_tensor(0.2, 0))));
        let attrs = Conv2dAttrs {
            stride: [1, 1],
            dilation: [1, 1],
            padding: Padding2d { top: 1, left: 1, bottom: 1, right: 1 },
            groups: 2,
            activation: Activation::Relu,
        };
        g.add_node("conv", Op::Conv2d(attrs), vec![x, w, b], vec![y]);
        let s = summarize(&g);
        assert_eq!(s.total_macs, 8 * 8 * 6 * 3 * 3 * 2);
        assert_eq!(s.total_weight_bytes, 108 + 24);
        assert_eq!(s.layers[0].granularity, Granularity::PerChannel);
        assert!(render_table(&s).contains("Conv2d(grouped)"));
    }
}
