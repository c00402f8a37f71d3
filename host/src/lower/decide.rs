//! Where each node runs (ENGINE.md "What runs where"), decided in topological order.
//!
//! First every MAC / post-op node is built as an engine layer on its own ([`Proto`]); a node the
//! engine cannot take keeps the builder's reason and goes to the host. Then, node by node:
//! Reshapes and byte-identical Transposes are aliases; an NCHW flatten (Transpose, Reshapes)
//! whose every consumer is an engine FC folds into those FCs' weight order; a Pad with the zero
//! point whose every consumer is an engine conv folds into their padding; a Clamp folds into the
//! output range of its engine producer; a Concat on channels of engine outputs that nothing else
//! reads, in the output's quantisation, becomes channel slices those producers write.

use super::conv::{build_conv, ConvInput};
use super::gather::{compose, is_identity, row_order, transpose_map};
use super::post::{build_add, build_global_pool, build_pool};
use super::proto::{quant_of, Proto, Reason};
use std::rc::Rc;
use systole_arch::descriptor::check_against_config;
use systole_arch::{ArchConfig, DescriptorError};
use systole_model::ir::{Graph, Node, Op, Padding2d, TensorId};
use systole_model::quant::{activation_range, storage_range};

pub enum Decision {
    Engine(Proto),
    /// Output = input bytes (Reshape, Transpose of size-1 axes).
    Alias,
    /// Transpose folded into the weight order of the FCs that read it.
    Flatten,
    /// Pad folded into the padding of the convs that read it.
    PadFold,
    /// Clamp folded into its producer's output range.
    ClampFold,
    /// Concat whose producers write channel slices of its output.
    ConcatFold,
    /// Run by the host; the reason is the node's partition detail.
    Host,
}

/// Graph facts every decision needs.
pub struct Ctx<'g> {
    pub graph: &'g Graph,
    pub consumers: Vec<Vec<usize>>,
    pub producer: Vec<Option<usize>>,
    pub is_output: Vec<bool>,
    pub is_input: Vec<bool>,
}

impl<'g> Ctx<'g> {
    pub fn new(graph: &'g Graph) -> Self {
        let n = graph.tensors.len();
        let mut consumers = vec![Vec::new(); n];
        let mut producer = vec![None; n];
        for (i, node) in graph.nodes.iter().enumerate() {
            for &t in &node.inputs {
                if consumers[t].last() != Some(&i) {
                    consumers[t].push(i);
                }
            }
            for &t in &node.outputs {
                producer[t] = Some(i);
            }
        }
        let mut is_output = vec![false; n];
        graph.outputs.iter().for_each(|&t| is_output[t] = true);
        let mut is_input = vec![false; n];
        graph.inputs.iter().for_each(|&t| is_input[t] = true);
        Ctx { graph, consumers, producer, is_output, is_input }
    }

    fn node(&self, i: usize) -> &'g Node {
        &self.graph.nodes[i]
    }

    /// Read by node `i` only, once, and not a graph output.
    fn private_to(&self, t: TensorId, i: usize) -> bool {
        self.consumers[t] == [i] && !self.is_output[t] && self.node(i).inputs.iter().filter(|&&x| x == t).count() == 1
    }
}

/// The engine layer of a MAC / post-op node on its own, `None` for other ops.
fn intrinsic(ctx: &Ctx, node: &Node, cfg: &ArchConfig) -> Option<Result<Proto, Reason>> {
    // A layer the built engine cannot hold (input larger than the activation buffer) runs on
    // the host, with the reason in the partition table.
    intrinsic_layer(ctx, node, cfg).map(|r| {
        r.and_then(|p| match check_against_config(&p.desc, cfg) {
            Err(e @ DescriptorError::InputTooLarge { .. }) => Err(e.to_string()),
            _ => Ok(p),
        })
    })
}

fn intrinsic_layer(ctx: &Ctx, node: &Node, cfg: &ArchConfig) -> Option<Result<Proto, Reason>> {
    let g = ctx.graph;
    let post = &cfg.post_ops;
    Some(match &node.op {
        Op::Conv2d(_) | Op::FullyConnected { .. } => build_conv(g, node, cfg, ConvInput::default()),
        Op::Add { .. } if !post.add => Err("this engine has no add unit (post_ops.add)".into()),
        Op::Add { activation } => build_add(g, node, cfg, *activation),
        Op::AveragePool2d(_) if !post.avg_pool => Err("this engine has no average-pool unit".into()),
        Op::MaxPool2d(_) if !post.max_pool => Err("this engine has no max-pool unit".into()),
        Op::AveragePool2d(p) => build_pool(g, node, cfg, p, false),
        Op::MaxPool2d(p) => build_pool(g, node, cfg, p, true),
        Op::GlobalAveragePool if !post.global_avg_pool => Err("this engine has no global average-pool unit".into()),
        Op::GlobalAveragePool => build_global_pool(g, node, cfg),
        _ => return None,
    })
}

/// Why an op that is never an engine layer runs on the host.
fn host_reason(ctx: &Ctx, node: &Node) -> Reason {
    let edge = node.inputs.iter().any(|&t| ctx.is_input[t]) || node.outputs.iter().any(|&t| ctx.is_output[t]);
    match &node.op {
        Op::Quantize | Op::Dequantize if edge => "float <-> integer conversion at the graph edge".into(),
        Op::Quantize => "requantisation between layers has no engine unit".into(),
        Op::Dequantize => "integer -> float conversion".into(),
        Op::Softmax { .. } => "softmax (exp, reciprocal) is not an engine op".into(),
        Op::Transpose { .. } if edge => "layout transpose at the graph edge".into(),
        Op::Transpose { .. } => "NCHW <-> NHWC layout change (the engine reads NHWC; only an FC flatten folds)".into(),
        Op::Mul { .. } => "the engine has no multiply unit".into(),
        Op::MatMul => "activation x activation product: nothing to keep stationary".into(),
        other => format!("{} has no engine unit", other.kind()),
    }
}

pub struct Decided {
    pub decisions: Vec<Decision>,
    /// Partition-table detail per node.
    pub details: Vec<String>,
}

pub fn decide(ctx: &Ctx, cfg: &ArchConfig) -> Decided {
    let g = ctx.graph;
    let mut own: Vec<Option<Result<Proto, Reason>>> = g.nodes.iter().map(|n| intrinsic(ctx, n, cfg)).collect();
    // Flatten order per tensor on an NCHW-flatten path: element f is byte map[f] of the buffer.
    let mut gather: Vec<Option<Rc<Vec<usize>>>> = vec![None; g.tensors.len()];
    let mut decisions: Vec<Decision> = Vec::with_capacity(g.nodes.len());
    let mut details: Vec<String> = Vec::with_capacity(g.nodes.len());
    let names = |ids: &[usize]| ids.iter().map(|&i| g.nodes[i].name.as_str()).collect::<Vec<_>>().join(", ");
    let host = |r: Reason| (Decision::Host, r);

    for (i, node) in g.nodes.iter().enumerate() {
        let out = node.outputs[0];
        let x = node.inputs.first().copied().unwrap_or(out);
        let (decision, detail) = match &node.op {
            Op::Reshape => {
                gather[out] = gather[x].clone();
                (Decision::Alias, "same bytes, no copy".to_string())
            }
            Op::Transpose { perm } => {
                let map =
                    transpose_map(&g.tensor(x).shape, perm).map(|m| compose(gather[x].as_deref().map(|v| &v[..]), m));
                match map {
                    Some(map) if is_identity(&map) => (Decision::Alias, "moves only size-1 axes: same bytes".into()),
                    Some(map) => match flatten_consumers(ctx, out, &map, &own) {
                        Some(fcs) => {
                            for (fc, order) in &fcs {
                                let input = ConvInput { gather: Some(order), ..ConvInput::default() };
                                own[*fc] = Some(build_conv(g, ctx.node(*fc), cfg, input));
                            }
                            gather[out] = Some(Rc::new(map));
                            let ids: Vec<usize> = fcs.iter().map(|(f, _)| *f).collect();
                            (Decision::Flatten, format!("NCHW flatten folded into the weight order of {}", names(&ids)))
                        }
                        None => host(host_reason(ctx, node)),
                    },
                    None => host(format!("permutation {perm:?} does not fit the input")),
                }
            }
            Op::Pad { pads, value } => match pad_fold(ctx, i, pads, *value, cfg, &own) {
                Ok((_, convs)) => {
                    let ids: Vec<usize> = convs.iter().map(|(c, _)| *c).collect();
                    for (c, proto) in convs {
                        own[c] = Some(Ok(proto));
                    }
                    (Decision::PadFold, format!("zero-point padding folded into {}", names(&ids)))
                }
                Err(r) => host(r),
            },
            Op::Clamp { activation } => match clamp_fold(ctx, i, *activation, &mut decisions, cfg) {
                Ok(p) => {
                    if let Decision::Engine(proto) = &decisions[p] {
                        details[p] = proto.summary.clone();
                    }
                    (Decision::ClampFold, format!("folded into the output range of {}", g.nodes[p].name))
                }
                Err(r) => host(r),
            },
            Op::Concat { axis, activation } => match concat_fold(ctx, i, *axis, *activation, &decisions) {
                Ok(producers) => {
                    (Decision::ConcatFold, format!("{} write channel slices of the output", names(&producers)))
                }
                Err(r) => host(r),
            },
            _ => match own[i].take() {
                Some(Ok(p)) => {
                    let s = p.summary.clone();
                    (Decision::Engine(p), s)
                }
                Some(Err(r)) => host(r),
                None => host(host_reason(ctx, node)),
            },
        };
        decisions.push(decision);
        details.push(detail);
    }
    Decided { decisions, details }
}

/// The FCs (with their per-row feature order) an NCHW flatten of `t` feeds through Reshapes, if
/// every path ends in an engine FC that reads `t`'s bytes as its input rows.
fn flatten_consumers(
    ctx: &Ctx,
    t: TensorId,
    map: &[usize],
    own: &[Option<Result<Proto, Reason>>],
) -> Option<Vec<(usize, Vec<usize>)>> {
    let g = ctx.graph;
    let mut fcs = Vec::new();
    let mut stack = vec![t];
    while let Some(cur) = stack.pop() {
        if ctx.is_output[cur] || ctx.consumers[cur].is_empty() {
            return None;
        }
        for &c in &ctx.consumers[cur] {
            let node = ctx.node(c);
            let engine = matches!(own[c], Some(Ok(_)));
            match &node.op {
                Op::Reshape => stack.push(node.outputs[0]),
                Op::FullyConnected { .. } if engine && node.inputs[0] == cur && !node.inputs[1..].contains(&cur) => {
                    let k = *g.tensor(node.inputs[1]).shape.last()?;
                    fcs.push((c, row_order(map, k)?));
                }
                _ => return None,
            }
        }
    }
    (!fcs.is_empty()).then_some(fcs)
}

/// A Pad of spatial rows / columns with the input zero point, read only by engine convs:
/// returns the padding to add and those convs rebuilt with it.
fn pad_fold(
    ctx: &Ctx,
    i: usize,
    pads: &[(usize, usize)],
    value: Option<i32>,
    cfg: &ArchConfig,
    own: &[Option<Result<Proto, Reason>>],
) -> Result<(Padding2d, Vec<(usize, Proto)>), Reason> {
    let g = ctx.graph;
    let node = ctx.node(i);
    let (x, out) = (g.tensor(node.inputs[0]), node.outputs[0]);
    let &[(0, 0), (top, bottom), (left, right), (0, 0)] = pads else {
        return Err("pads other than rows and columns of an NHWC tensor".into());
    };
    let (qmin, qmax) = storage_range(x.dtype);
    if value.is_some_and(|v| v.clamp(qmin, qmax) != x.zero_point()) {
        return Err("pads with a value other than the zero point".into());
    }
    if ctx.is_output[out] || ctx.consumers[out].is_empty() {
        return Err("the padded tensor is a graph output".into());
    }
    let extra = Padding2d { top, left, bottom, right };
    let mut convs = Vec::new();
    for &c in &ctx.consumers[out] {
        let conv = ctx.node(c);
        let reads_as_input = conv.inputs[0] == out && !conv.inputs[1..].contains(&out);
        if !matches!(conv.op, Op::Conv2d(_)) || !reads_as_input || !matches!(own[c], Some(Ok(_))) {
            return Err(format!("read by {} ({}), not only by engine convs", conv.name, conv.op.kind()));
        }
        let input = ConvInput { extra_pad: extra, source: Some(x), ..ConvInput::default() };
        let proto =
            build_conv(g, conv, cfg, input).map_err(|r| format!("{} with the padding folded: {r}", conv.name))?;
        convs.push((c, proto));
    }
    Ok((extra, convs))
}

/// A Clamp in its input's quantisation right after an engine layer that nothing else reads:
/// narrows that layer's output range. Returns the producer.
fn clamp_fold(
    ctx: &Ctx,
    i: usize,
    activation: systole_model::ir::Activation,
    decisions: &mut [Decision],
    cfg: &ArchConfig,
) -> Result<usize, Reason> {
    let g = ctx.graph;
    let node = ctx.node(i);
    let (xi, out) = (node.inputs[0], g.tensor(node.outputs[0]));
    let x = g.tensor(xi);
    let Some(p) = ctx.producer[xi] else { return Err("clamps a graph input".into()) };
    if !ctx.private_to(xi, i) {
        return Err("its input is read elsewhere too".into());
    }
    if x.dtype != out.dtype || quant_of(x) != quant_of(out) {
        return Err("requantises (input and output quantisation differ)".into());
    }
    let Decision::Engine(proto) = &mut decisions[p] else {
        return Err(format!("its producer {} runs on the host", g.nodes[p].name));
    };
    let (s, z) = quant_of(out);
    let (lo, hi) = activation_range(activation, s, z, out.dtype);
    let (lo, hi) = (lo.max(proto.desc.act_min as i32), hi.min(proto.desc.act_max as i32));
    if lo > hi {
        return Err("its range does not overlap the producer's".into());
    }
    let mut d = proto.desc.clone();
    // Inside the producer's i16 range, so the casts are exact.
    (d.act_min, d.act_max) = (lo as i16, hi as i16);
    super::proto::check(&d, cfg)?;
    proto.desc = d;
    proto.summary.push_str(&format!(", clamp [{lo}, {hi}] of {}", node.name));
    Ok(p)
}

/// A Concat on the last axis of engine outputs, each read only by the concat and already in
/// the output's quantisation: returns the producers.
fn concat_fold(
    ctx: &Ctx,
    i: usize,
    axis: usize,
    activation: systole_model::ir::Activation,
    decisions: &[Decision],
) -> Result<Vec<usize>, Reason> {
    let g = ctx.graph;
    let node = ctx.node(i);
    let out = g.tensor(node.outputs[0]);
    if activation != systole_model::ir::Activation::None {
        return Err("has a fused activation".into());
    }
    if axis + 1 != out.shape.len() {
        return Err(format!("concatenates axis {axis}, not the channels"));
    }
    if out.shape.last().is_none_or(|&c| c > u16::MAX as usize) {
        return Err("too many channels for OUT_CH_STRIDE".into());
    }
    let mut producers = Vec::new();
    for &t in &node.inputs {
        let x = g.tensor(t);
        let name = &x.name;
        let Some(p) = ctx.producer[t] else { return Err(format!("input '{name}' is not computed by a layer")) };
        if !matches!(decisions[p], Decision::Engine(_)) {
            return Err(format!("input '{name}' comes from {}, not an engine layer", g.nodes[p].name));
        }
        if !ctx.private_to(t, i) {
            return Err(format!("input '{name}' is read elsewhere too"));
        }
        if x.dtype != out.dtype || quant_of(x) != quant_of(out) {
            return Err(format!("input '{name}' needs requantising to the output's scale"));
        }
        producers.push(p);
    }
    Ok(producers)
}
