//! What each node of a graph asks of the engine (ENGINE.md "What runs where"): a convolution, an
//! element-wise or pooling post-op, nothing (folded into a neighbour), or the host.

use crate::plan::{ConvGeometry, PlanError};
use crate::PostOps;
use serde::Serialize;
use systole_model::ir::{DType, Graph, Node, Op, Padding2d};
use systole_model::summary::node_macs;

/// Where a node runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Placement {
    Engine,
    /// Costs nothing at run time: Reshape of identical bytes, Pad (into the consumer's padding),
    /// Concat (producers write channel slices), Clamp (into the producer's clamp), the NCHW
    /// flatten Transpose in front of an FC (into the packed weight order).
    Folded,
    Host,
}

/// The engine work of one node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Work {
    /// CONV (and FC). `max_abs_bias` feeds the accumulator-width proof.
    Conv {
        geometry: ConvGeometry,
        max_abs_bias: u64,
    },
    Add {
        pixels: u64,
        channels: u64,
    },
    /// AVG_POOL / MAX_POOL; the geometry's `groups = in_c = out_c`, dilation 1.
    Pool {
        geometry: ConvGeometry,
        max: bool,
    },
    GlobalAvgPool {
        pixels: u64,
        channels: u64,
    },
    None,
}

/// One node, classified.
#[derive(Clone, Debug, Serialize)]
pub struct LayerWork {
    pub name: String,
    pub op: &'static str,
    pub placement: Placement,
    pub work: Work,
    pub macs: u64,
}

fn is_byte(dtype: DType) -> bool {
    matches!(dtype, DType::I8 | DType::U8)
}

/// Classifies every node of `graph`, in execution order.
pub fn layers(graph: &Graph) -> Result<Vec<LayerWork>, PlanError> {
    graph.nodes.iter().map(|n| classify(graph, n)).collect()
}

/// Whether every CONV / FC weight of `graph` is int4, so a 4-bit weight path (two weights per
/// byte) holds them all; one int8 weight anywhere needs the 8-bit path (host lowering refuses
/// int8 weights on a 4-bit engine). False for a graph without CONV / FC layers.
pub fn all_weights_int4(graph: &Graph) -> bool {
    let mut weights = graph
        .nodes
        .iter()
        .filter(|n| matches!(n.op, Op::Conv2d(_) | Op::FullyConnected { .. }))
        .map(|n| n.inputs.get(1).and_then(|&id| graph.tensors.get(id)).map(|t| t.dtype))
        .peekable();
    weights.peek().is_some() && weights.all(|d| d == Some(DType::I4))
}

/// Post-op units the engine needs for `layers`.
pub fn post_ops_needed(layers: &[LayerWork]) -> PostOps {
    let mut p = PostOps::default();
    for l in layers.iter().filter(|l| l.placement == Placement::Engine) {
        match &l.work {
            Work::Add { .. } => p.add = true,
            Work::Pool { max: true, .. } => p.max_pool = true,
            Work::Pool { max: false, .. } => p.avg_pool = true,
            Work::GlobalAvgPool { .. } => p.global_avg_pool = true,
            Work::Conv { .. } | Work::None => {}
        }
    }
    p
}

fn classify(graph: &Graph, node: &Node) -> Result<LayerWork, PlanError> {
    let err = |reason: String| PlanError::Node { node: node.name.clone(), reason };
    let tensor = |id: Option<&usize>| id.and_then(|&i| graph.tensors.get(i));
    let input = tensor(node.inputs.first());
    let output = tensor(node.outputs.first());
    let bytes_io = input.is_some_and(|t| is_byte(t.dtype)) && output.is_some_and(|t| is_byte(t.dtype));
    let mut layer = LayerWork {
        name: node.name.clone(),
        op: node.op.kind(),
        placement: Placement::Host,
        work: Work::None,
        macs: node_macs(graph, node),
    };
    let engine = |layer: &mut LayerWork, work: Work| {
        layer.placement = Placement::Engine;
        layer.work = work;
    };
    match &node.op {
        Op::Conv2d(_) | Op::FullyConnected { .. } if bytes_io => {
            let geometry = ConvGeometry::from_node(graph, node)?.ok_or_else(|| err("not a MAC layer".into()))?;
            let max_abs_bias = tensor(node.inputs.get(2))
                .and_then(|b| b.data.as_ref())
                .and_then(|d| d.to_i32())
                .map_or(0, |v| v.iter().map(|x| x.unsigned_abs() as u64).max().unwrap_or(0));
            engine(&mut layer, Work::Conv { geometry, max_abs_bias });
        }
        Op::Add { .. } if bytes_io => {
            let a = input.map(|t| t.shape.clone()).unwrap_or_default();
            let b = tensor(node.inputs.get(1)).map(|t| t.shape.clone()).unwrap_or_default();
            // The add unit streams two equal-shape tensors; broadcasting stays on the host.
            if a == b && !a.is_empty() {
                let channels = *a.last().unwrap_or(&1) as u64;
                let pixels = a.iter().map(|&d| d as u64).product::<u64>() / channels.max(1);
                engine(&mut layer, Work::Add { pixels, channels });
            }
        }
        Op::AveragePool2d(p) | Op::MaxPool2d(p) if bytes_io => {
            let shape = input.map(|t| t.shape.as_slice()).unwrap_or_default();
            let &[n, h, w, c] = shape else { return Err(err(format!("pool input {shape:?} is not NHWC"))) };
            let geometry = ConvGeometry {
                batch: n,
                in_h: h,
                in_w: w,
                in_c: c,
                out_c: c,
                kernel: p.kernel,
                stride: p.stride,
                dilation: [1, 1],
                padding: p.padding,
                groups: c,
            };
            geometry.validate().map_err(|e| err(e.to_string()))?;
            engine(&mut layer, Work::Pool { geometry, max: matches!(node.op, Op::MaxPool2d(_)) });
        }
        Op::GlobalAveragePool if bytes_io => {
            let shape = input.map(|t| t.shape.as_slice()).unwrap_or_default();
            let &[n, h, w, c] = shape else { return Err(err(format!("global pool input {shape:?} is not NHWC"))) };
            engine(&mut layer, Work::GlobalAvgPool { pixels: (n * h * w) as u64, channels: c as u64 });
        }
        Op::Reshape | Op::Pad { .. } | Op::Concat { .. } | Op::Clamp { .. } => layer.placement = Placement::Folded,
        Op::Transpose { .. } => {
            // The NCHW flatten of ONNX models: Transpose -> Reshape -> FC, folded by the packer.
            let feeds_flatten = node.outputs.iter().all(|&t| {
                graph.consumers(t).iter().all(|&c| matches!(graph.nodes[c].op, Op::Reshape | Op::FullyConnected { .. }))
            });
            if feeds_flatten && !graph.outputs.iter().any(|o| node.outputs.contains(o)) {
                layer.placement = Placement::Folded;
            }
        }
        _ => {}
    }
    Ok(layer)
}

/// A pooling window as a `ConvGeometry` (used by tests and callers building synthetic work).
pub fn pool_geometry(in_hw: [usize; 2], channels: usize, kernel: [usize; 2], stride: [usize; 2]) -> ConvGeometry {
    ConvGeometry {
        batch: 1,
        in_h: in_hw[0],
        in_w: in_hw[1],
        in_c: channels,
        out_c: channels,
        kernel,
        stride,
        dilation: [1, 1],
        padding: Padding2d::default(),
        groups: channels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use systole_model::ir::{Activation, Conv2dAttrs, Numerics, Quantization, SourceFormat, Tensor, TensorData};

    fn q() -> Option<Quantization> {
        Some(Quantization::per_tensor(0.1, 0))
    }

    #[test]
    fn classifies_conv_add_pool_folded_and_host() {
        let mut g = Graph::new("t", SourceFormat::Synthetic, Numerics::Tflite);
        let x = g.add_tensor(Tensor::activation("x", vec![1, 8, 8, 4], DType::I8, q()));
        let w = g.add_tensor(Tensor::constant("w", vec![4, 3, 3, 4], DType::I8, q(), TensorData::I8(vec![1; 144])));
        let b = g.add_tensor(Tensor::constant("b", vec![4], DType::I32, None, TensorData::I32(vec![5, -900, 3, 0])));
        let y = g.add_tensor(Tensor::activation("y", vec![1, 8, 8, 4], DType::I8, q()));
        let s = g.add_tensor(Tensor::activation("s", vec![1, 8, 8, 4], DType::I8, q()));
        let p = g.add_tensor(Tensor::activation("p", vec![1, 1, 1, 4], DType::I8, q()));
        let r = g.add_tensor(Tensor::activation("r", vec![1, 4], DType::I8, q()));
        let o = g.add_tensor(Tensor::activation("o", vec![1, 4], DType::F32, None));
        let attrs = Conv2dAttrs {
            stride: [1, 1],
            dilation: [1, 1],
            padding: Padding2d { top: 1, left: 1, bottom: 1, right: 1 },
            groups: 1,
            activation: Activation::Relu,
        };
        g.add_node("conv", Op::Conv2d(attrs), vec![x, w, b], vec![y]);
        g.add_node("add", Op::Add { activation: Activation::None }, vec![y, x], vec![s]);
        g.add_node("gap", Op::GlobalAveragePool, vec![s], vec![p]);
        g.add_node("flat", Op::Reshape, vec![p], vec![r]);
        g.add_node("deq", Op::Dequantize, vec![r], vec![o]);
        let l = layers(&g).unwrap();
        let placements: Vec<Placement> = l.iter().map(|l| l.placement).collect();
        use Placement::*;
        assert_eq!(placements, [Engine, Engine, Engine, Folded, Host]);
        let Work::Conv { geometry, max_abs_bias } = &l[0].work else { panic!("{:?}", l[0].work) };
        assert_eq!((geometry.out_c, geometry.k(), *max_abs_bias), (4, 36, 900));
        assert_eq!(l[1].work, Work::Add { pixels: 64, channels: 4 });
        assert_eq!(l[2].work, Work::GlobalAvgPool { pixels: 64, channels: 4 });
        let p = post_ops_needed(&l);
        assert!(p.add && p.global_avg_pool && !p.max_pool && !p.avg_pool);
    }
}
