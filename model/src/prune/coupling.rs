//! Channel coupling: which output channels of which layers must be removed together, which can
//! never be removed, and every constant that has to be sliced when they are.
//!
//! Every output channel of a prunable layer (Conv / Gemm / MatMul and their QOperator forms) is
//! an *element*. A value that carries channels along one axis has a *track*: its axis and, per
//! position along it, the element it comes from. Data movement and elementwise operators pass
//! tracks on (Transpose moves the axis, Flatten / Reshape repeat each element over the merged
//! spatial positions, Concat appends tracks); an elementwise Add / Mul of two tracked values
//! joins their elements position by position (union-find), so channels that meet in a residual
//! sum are pruned together. Elements that reach a graph output or an operator the pruner cannot
//! rewrite are *frozen*, with the reason; a layer group (layers joined by union-find) containing
//! a frozen element stays unpruned.
//!
//! Constants are recorded as slice requests (initializer, axis, track): the keep mask is only
//! known after ranking (see [`super::rank`]).

use super::shapes::Shapes;
use crate::import::onnx::attrs::{normalize_axis, NodeCtx};
use crate::import::onnx::proto::{data_type as dt, GraphProto, NodeProto};
use crate::import::onnx::tensor::ConstTensor;
use crate::ir::TensorData;
use std::collections::HashMap;

/// The decoded graph as the analysis reads it.
pub struct View<'g> {
    pub graph: &'g GraphProto,
    /// Initializers (the only constants the rewriter can slice).
    pub inits: HashMap<String, ConstTensor>,
    /// ONNX element type of each initializer.
    pub init_type: HashMap<String, i32>,
    pub shapes: Shapes,
    /// Number of node inputs naming each value.
    pub refs: HashMap<String, usize>,
    /// Node index producing each value.
    pub producer: HashMap<String, usize>,
    pub opset: i64,
}

impl View<'_> {
    fn refs(&self, name: &str) -> usize {
        self.refs.get(name).copied().unwrap_or(0)
    }

    fn count(&self, name: &str) -> Option<usize> {
        self.shapes.get(name).map(|s| s.iter().product())
    }
}

/// Channels of a value along `axis` of a rank-`rank` tensor, one element per position.
#[derive(Clone, Debug)]
pub struct Track {
    pub axis: usize,
    pub rank: usize,
    pub map: Vec<usize>,
}

/// A rewrite whose keep mask follows the fate of the elements in `map`.
#[derive(Clone, Debug)]
pub enum Req {
    /// Keep the positions of `axis` of initializer `init` whose element survives.
    Slice { init: String, axis: usize, map: Vec<usize> },
    /// Entry `index` of the int64 shape initializer `init` becomes the number of survivors.
    ShapeEntry { init: String, index: usize, map: Vec<usize> },
    /// The `group` attribute of node `node` (a depthwise convolution) becomes the survivor count.
    Group { node: usize, map: Vec<usize> },
}

/// A layer whose output channels can be pruned.
#[derive(Clone, Debug)]
pub struct Layer {
    pub node: usize,
    pub name: String,
    pub op: String,
    pub first: usize,
    pub channels: usize,
    /// Per output channel: sum of |w| and sqrt(sum of w^2) of its (dequantized) weights.
    pub l1: Vec<f64>,
    pub l2: Vec<f64>,
}

/// A MAC layer that cannot be pruned at all, and why.
#[derive(Clone, Debug)]
pub struct Fixed {
    pub node: usize,
    pub name: String,
    pub op: String,
    pub channels: Option<usize>,
    pub reason: String,
}

/// Result of the analysis.
#[derive(Default)]
pub struct Coupling {
    parent: Vec<usize>,
    /// Owning layer and channel of each element; `None` for the channels of untracked values
    /// that were concatenated with tracked ones (never removable).
    pub owner: Vec<Option<(usize, usize)>>,
    pub frozen: Vec<Option<String>>,
    pub layers: Vec<Layer>,
    pub fixed: Vec<Fixed>,
    pub reqs: Vec<Req>,
    tracks: HashMap<String, Track>,
}

/// A constant operand, possibly quantized: `q` (an initializer), dequantized by `scale` / `zp`
/// (per tensor, or per position of `axis` of `q`).
struct Src {
    q: String,
    scale: Option<String>,
    zp: Option<String>,
    axis: Option<usize>,
}

const SLICEABLE: [i32; 6] = [dt::FLOAT, dt::INT8, dt::UINT8, dt::INT16, dt::INT32, dt::INT64];

impl Coupling {
    pub fn root(&self, mut e: usize) -> usize {
        while self.parent[e] != e {
            e = self.parent[e];
        }
        e
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.root(a), self.root(b));
        if ra != rb {
            let (lo, hi) = (ra.min(rb), ra.max(rb));
            self.parent[hi] = lo;
        }
    }

    fn new_elems(
        &mut self,
        n: usize,
        owner: impl Fn(usize) -> Option<(usize, usize)>,
        frozen: Option<&str>,
    ) -> Vec<usize> {
        let first = self.parent.len();
        for i in 0..n {
            self.parent.push(first + i);
            self.owner.push(owner(i));
            self.frozen.push(frozen.map(str::to_string));
        }
        (first..first + n).collect()
    }

    fn freeze(&mut self, map: &[usize], reason: &str) {
        for &e in map {
            if self.frozen[e].is_none() {
                self.frozen[e] = Some(reason.to_string());
            }
        }
    }
}

/// Runs the analysis over the graph in node order (ONNX graphs are topologically sorted).
pub fn analyse(v: &View) -> Coupling {
    let mut c = Coupling::default();
    for index in 0..v.graph.node.len() {
        visit(&mut c, v, index);
    }
    for out in &v.graph.output {
        let name = out.name.clone().unwrap_or_default();
        if let Some(t) = c.tracks.get(&name).cloned() {
            c.freeze(&t.map, &format!("its channels reach graph output '{name}'"));
        }
    }
    c
}

fn node_name(node: &NodeProto, index: usize) -> String {
    node.name.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| format!("{}_{index}", node.op()))
}

fn visit(c: &mut Coupling, v: &View, index: usize) {
    let node = &v.graph.node[index];
    let name = node_name(node, index);
    let ctx = NodeCtx { node, name: name.clone() };
    let tracked: Vec<Track> = node.input.iter().filter_map(|i| c.tracks.get(i).cloned()).collect();
    let out_name = node.output.first().cloned().unwrap_or_default();
    let op = node.op();
    let result: Result<Option<Track>, String> = match op {
        "Conv" | "QLinearConv" => conv(c, v, &ctx, index),
        "Gemm" | "QGemm" | "MatMul" | "QLinearMatMul" => fc(c, v, &ctx, index),
        "Relu" | "Clip" | "LeakyRelu" | "Sigmoid" | "Tanh" | "HardSigmoid" | "HardSwish" | "Identity" | "Cast"
        | "QLinearLeakyRelu" | "QLinearSigmoid" | "Neg" | "Abs" | "Sqrt" | "Exp" | "Erf" | "Dropout" => {
            Ok(first_track(c, node))
        }
        "QuantizeLinear" | "DequantizeLinear" => quant_linear(c, v, &ctx),
        "MaxPool" | "AveragePool" | "GlobalAveragePool" | "GlobalMaxPool" | "QLinearAveragePool" => pool(c, node, 1),
        "QLinearGlobalAveragePool" => match ctx.int_or("channels_last", 0) {
            Ok(0) => pool(c, node, 1),
            Ok(_) => pool(c, node, 3),
            Err(e) => Err(e.to_string()),
        },
        "Softmax" | "LogSoftmax" | "QLinearSoftmax" => softmax(c, v, &ctx),
        "Add" | "Sub" | "Mul" | "Div" | "Max" | "Min" => elementwise(c, v, &ctx, 0, 1),
        "QLinearAdd" | "QLinearMul" => elementwise(c, v, &ctx, 0, 3),
        "Concat" => concat(c, v, &ctx, (0..node.input.len()).collect()),
        "QLinearConcat" => concat(c, v, &ctx, (2..node.input.len()).step_by(3).collect()),
        "Flatten" | "Reshape" | "Squeeze" | "Unsqueeze" => reshape(c, v, &ctx),
        "Transpose" => transpose(c, &ctx),
        _ if tracked.is_empty() => Ok(None),
        _ => Err(format!("consumed by {op} node '{name}', which prune cannot rewrite")),
    };
    match result {
        Ok(Some(t)) if !out_name.is_empty() => {
            c.tracks.insert(out_name, t);
        }
        Ok(_) => {}
        Err(reason) => {
            for t in tracked {
                c.freeze(&t.map, &reason);
            }
        }
    }
}

fn first_track(c: &Coupling, node: &NodeProto) -> Option<Track> {
    node.input.first().and_then(|i| c.tracks.get(i)).cloned()
}

/// Resolves a constant operand: an initializer or a DequantizeLinear of initializers, used by
/// this node only (a shared constant cannot be sliced for one consumer).
fn resolve(v: &View, name: &str) -> Result<Src, String> {
    let own = |n: &str| -> Result<(), String> {
        match v.init_type.get(n) {
            None => Err(format!("'{n}' is not an initializer")),
            Some(t) if !SLICEABLE.contains(t) => Err(format!("initializer '{n}' has element type {}", dt::name(*t))),
            Some(_) if v.refs(n) != 1 => Err(format!("initializer '{n}' is shared by {} node inputs", v.refs(n))),
            Some(_) => Ok(()),
        }
    };
    if v.inits.contains_key(name) {
        own(name)?;
        return Ok(Src { q: name.to_string(), scale: None, zp: None, axis: None });
    }
    let dq = v.producer.get(name).map(|&i| &v.graph.node[i]).filter(|n| n.op() == "DequantizeLinear");
    let Some(dq) = dq else {
        return Err(format!("'{name}' is neither an initializer nor a DequantizeLinear of one"));
    };
    if v.refs(name) != 1 {
        return Err(format!("'{name}' is shared by {} node inputs", v.refs(name)));
    }
    let input = |i: usize| dq.input.get(i).filter(|s| !s.is_empty()).cloned();
    let q = input(0).ok_or("DequantizeLinear without input")?;
    own(&q)?;
    let scale = input(1).ok_or("DequantizeLinear without scale")?;
    let zp = input(2);
    let per_axis = v.count(&scale).unwrap_or(1) > 1;
    let mut axis = None;
    if per_axis {
        own(&scale)?;
        if let Some(z) = &zp {
            own(z)?;
        }
        let ctx = NodeCtx { node: dq, name: dq.name.clone().unwrap_or_default() };
        let rank = v.shapes.get(&q).map_or(0, Vec::len);
        axis = ctx.int_or("axis", 1).ok().and_then(|a| normalize_axis(a, rank));
        if axis.is_none() {
            return Err(format!("DequantizeLinear of '{q}' has an invalid axis"));
        }
    } else if !v.inits.contains_key(&scale) {
        return Err(format!("scale '{scale}' is not an initializer"));
    }
    Ok(Src { q, scale: Some(scale), zp, axis })
}

/// Explicit weight quantisation of a QOperator node (w, w_scale, w_zero_point inputs); a
/// per-channel scale runs along the weight's output axis `out_axis`.
fn qop_src(v: &View, ctx: &NodeCtx, w: usize, out_axis: usize) -> Result<Src, String> {
    let input = |i: usize| ctx.input(i).map(str::to_string).ok_or(format!("input {i} is missing"));
    let q = input(w)?;
    let scale = input(w + 1)?;
    let zp = ctx.input(w + 2).map(str::to_string);
    let src = resolve(v, &q)?;
    if src.scale.is_some() {
        return Err(format!("weight '{q}' is dequantized twice"));
    }
    let per_axis = v.count(&scale).unwrap_or(1) > 1;
    if per_axis {
        resolve(v, &scale)?;
        if let Some(z) = &zp {
            resolve(v, z)?;
        }
    }
    Ok(Src { q, scale: Some(scale), zp, axis: per_axis.then_some(out_axis) })
}

impl Src {
    fn slices(&self, axis: usize, map: &[usize]) -> Vec<Req> {
        let mut out = vec![Req::Slice { init: self.q.clone(), axis, map: map.to_vec() }];
        if self.axis == Some(axis) {
            for p in [&self.scale, &self.zp].into_iter().flatten() {
                out.push(Req::Slice { init: p.clone(), axis: 0, map: map.to_vec() });
            }
        }
        out
    }

    fn shape<'v>(&self, v: &'v View) -> Option<&'v Vec<usize>> {
        v.shapes.get(&self.q)
    }

    /// Dequantized values, row-major.
    fn values(&self, v: &View) -> Option<Vec<f64>> {
        let to_f64 = |name: &str| -> Option<Vec<f64>> {
            let c = v.inits.get(name)?;
            Some(match &c.data {
                TensorData::F32(x) => x.iter().map(|&x| f64::from(x)).collect(),
                TensorData::I64(x) => x.iter().map(|&x| x as f64).collect(),
                other => other.to_i32()?.into_iter().map(f64::from).collect(),
            })
        };
        let q = to_f64(&self.q)?;
        let Some(scale) = &self.scale else { return Some(q) };
        let scale = to_f64(scale)?;
        let zp = match &self.zp {
            Some(z) => to_f64(z)?,
            None => vec![0.0; scale.len()],
        };
        let shape = self.shape(v)?;
        let (len, inner) = match self.axis {
            Some(a) => (*shape.get(a)?, shape.get(a + 1..)?.iter().product::<usize>()),
            None => (1, 1),
        };
        if scale.len() != len || zp.len() != len {
            return None;
        }
        Some(q.iter().enumerate().map(|(i, &x)| (x - zp[(i / inner) % len]) * scale[(i / inner) % len]).collect())
    }
}

/// Per-channel L1 and L2 norms along `axis`.
fn norms(values: &[f64], shape: &[usize], axis: usize) -> (Vec<f64>, Vec<f64>) {
    let len = shape.get(axis).copied().unwrap_or(0);
    let inner: usize = shape.get(axis + 1..).map_or(1, |s| s.iter().product());
    let (mut l1, mut sq) = (vec![0f64; len], vec![0f64; len]);
    for (i, &x) in values.iter().enumerate() {
        let ch = (i / inner.max(1)) % len.max(1);
        l1[ch] += x.abs();
        sq[ch] += x * x;
    }
    (l1, sq.into_iter().map(f64::sqrt).collect())
}

/// Where a new layer's channels live: its weight (sliced along `out_axis`), extra constants
/// sliced with it (bias) and the output value's rank and channel axis.
struct LayerSpec<'s> {
    w: &'s Src,
    out_axis: usize,
    extra: Vec<(Src, usize)>,
    out_rank: usize,
    track_axis: usize,
}

/// Registers a prunable layer and returns its output track.
fn new_layer(c: &mut Coupling, v: &View, ctx: &NodeCtx, index: usize, spec: LayerSpec) -> Result<Track, String> {
    let LayerSpec { w, out_axis, extra, out_rank, track_axis } = spec;
    let shape = w.shape(v).ok_or_else(|| format!("shape of weight '{}' unknown", w.q))?.clone();
    let channels = *shape.get(out_axis).ok_or("weight rank too small")?;
    if channels == 0 {
        return Err(format!("weight '{}' has no output channels", w.q));
    }
    let values = w.values(v).ok_or_else(|| format!("weight '{}' cannot be dequantized", w.q))?;
    let (l1, l2) = norms(&values, &shape, out_axis);
    let layer = c.layers.len();
    let map = c.new_elems(channels, |ch| Some((layer, ch)), None);
    c.layers.push(Layer {
        node: index,
        name: ctx.name.clone(),
        op: ctx.op_label(),
        first: map.first().copied().unwrap_or(0),
        channels,
        l1,
        l2,
    });
    c.reqs.extend(w.slices(out_axis, &map));
    for (src, axis) in extra {
        c.reqs.extend(src.slices(axis, &map));
    }
    Ok(Track { axis: track_axis, rank: out_rank, map })
}

fn fixed(c: &mut Coupling, ctx: &NodeCtx, index: usize, channels: Option<usize>, reason: String) {
    c.fixed.push(Fixed { node: index, name: ctx.name.clone(), op: ctx.op_label(), channels, reason });
}

/// A bias operand sliced along its last axis when it has one value per output channel.
fn bias_src(v: &View, name: Option<&str>, n: usize) -> Result<Option<(Src, usize)>, String> {
    let Some(name) = name else { return Ok(None) };
    let shape = v.shapes.get(name).ok_or_else(|| format!("shape of bias '{name}' unknown"))?;
    match shape.iter().product::<usize>() {
        1 => Ok(None),
        count if count == n && shape.last() == Some(&n) => Ok(Some((resolve(v, name)?, shape.len() - 1))),
        _ => Err(format!("bias '{name}' of shape {shape:?} for {n} output channels")),
    }
}

fn conv(c: &mut Coupling, v: &View, ctx: &NodeCtx, index: usize) -> Result<Option<Track>, String> {
    let qop = ctx.op() == "QLinearConv";
    let (wi, bi) = if qop { (3, 8) } else { (1, 2) };
    let w_name = ctx.input(wi).ok_or("weight input missing")?;
    let w_shape = v.shapes.get(w_name).cloned().ok_or_else(|| format!("shape of weight '{w_name}' unknown"))?;
    let &[o, cg, _, _] = w_shape.as_slice() else { return Err(format!("weight of shape {w_shape:?}")) };
    let group = usize::try_from(ctx.int_or("group", 1).map_err(|e| e.to_string())?).map_err(|_| "negative group")?;
    let x = ctx.input(0).and_then(|i| c.tracks.get(i)).cloned();
    let weight = || if qop { qop_src(v, ctx, wi, 0) } else { resolve(v, w_name) };
    if group > 1 {
        // Depthwise with multiplier 1 keeps channel c -> c: its channels follow its input.
        let Some(t) = x else {
            fixed(c, ctx, index, Some(o), format!("grouped convolution (group {group}) on an unprunable input"));
            return Ok(None);
        };
        if !(cg == 1 && o == group && t.map.len() == group && t.axis == 1) {
            return Err(format!(
                "consumed by grouped convolution '{}' (group {group}, weights {w_shape:?}); only depthwise \
                 convolutions with one filter per channel can follow pruned channels",
                ctx.name
            ));
        }
        let mut reqs = weight()?.slices(0, &t.map);
        if let Some((b, axis)) = bias_src(v, ctx.input(bi), o)? {
            reqs.extend(b.slices(axis, &t.map));
        }
        reqs.push(Req::Group { node: index, map: t.map.clone() });
        c.reqs.extend(reqs);
        return Ok(Some(t));
    }
    if let Some(t) = &x {
        if t.axis != 1 || t.map.len() != cg {
            return Err(format!(
                "convolution '{}' reads the channels on axis {} (weights {w_shape:?})",
                ctx.name, t.axis
            ));
        }
        let reqs = weight()?.slices(1, &t.map);
        c.reqs.extend(reqs);
    }
    let layer = (|| {
        let w = weight()?;
        let bias = bias_src(v, ctx.input(bi), o)?;
        let spec = LayerSpec { w: &w, out_axis: 0, extra: bias.into_iter().collect(), out_rank: 4, track_axis: 1 };
        new_layer(c, v, ctx, index, spec)
    })();
    match layer {
        Ok(t) => Ok(Some(t)),
        Err(reason) => {
            fixed(c, ctx, index, Some(o), reason);
            Ok(None)
        }
    }
}

fn fc(c: &mut Coupling, v: &View, ctx: &NodeCtx, index: usize) -> Result<Option<Track>, String> {
    let op = ctx.op();
    let qop = matches!(op, "QGemm" | "QLinearMatMul");
    let wi = if qop { 3 } else { 1 };
    let gemm = matches!(op, "Gemm" | "QGemm");
    let trans_b = gemm && ctx.int_or("transB", 0).map_err(|e| e.to_string())? != 0;
    if gemm && ctx.int_or("transA", 0).map_err(|e| e.to_string())? != 0 {
        return Err(format!("consumed by '{}' with transA = 1", ctx.name));
    }
    let (in_axis, out_axis) = if trans_b { (1, 0) } else { (0, 1) };
    let w_name = ctx.input(wi).ok_or("weight input missing")?;
    let w_shape = v.shapes.get(w_name).cloned().ok_or_else(|| format!("'{w_name}' has no known shape"))?;
    let a_rank = ctx.input(0).and_then(|a| v.shapes.get(a)).map_or(0, Vec::len);
    // Explicit QOperator weight scales are per output channel (column of B).
    let weight = || if qop { qop_src(v, ctx, wi, out_axis) } else { resolve(v, w_name) };
    if w_shape.len() != 2 {
        return Err(format!("consumed by '{}' whose B has shape {w_shape:?} (a constant 2-D B is needed)", ctx.name));
    }
    if let Some(t) = ctx.input(0).and_then(|i| c.tracks.get(i)).cloned() {
        if t.axis + 1 != t.rank || w_shape.get(in_axis) != Some(&t.map.len()) {
            return Err(format!("'{}' reads the channels on axis {} of a rank-{} input", ctx.name, t.axis, t.rank));
        }
        let reqs = weight()?.slices(in_axis, &t.map);
        c.reqs.extend(reqs);
    }
    let n = w_shape[out_axis];
    let bias_name = match op {
        "Gemm" => ctx.input(2),
        "QGemm" => ctx.input(6),
        _ => None,
    };
    let layer = (|| {
        let w = weight()?;
        let bias = bias_src(v, bias_name, n)?;
        let rank = a_rank.max(2);
        let spec =
            LayerSpec { w: &w, out_axis, extra: bias.into_iter().collect(), out_rank: rank, track_axis: rank - 1 };
        new_layer(c, v, ctx, index, spec)
    })();
    match layer {
        Ok(t) => Ok(Some(t)),
        Err(reason) => {
            fixed(c, ctx, index, Some(n), reason);
            Ok(None)
        }
    }
}

fn quant_linear(c: &mut Coupling, v: &View, ctx: &NodeCtx) -> Result<Option<Track>, String> {
    let Some(t) = first_track(c, ctx.node) else { return Ok(None) };
    let scale = ctx.input(1).ok_or("scale missing")?;
    if v.count(scale).unwrap_or(1) <= 1 {
        return Ok(Some(t));
    }
    let axis = ctx.int_or("axis", 1).ok().and_then(|a| normalize_axis(a, t.rank));
    if axis != Some(t.axis) {
        return Err(format!("'{}' quantizes per axis {axis:?}, across the pruned channels", ctx.name));
    }
    let mut reqs = resolve(v, scale)?.slices(0, &t.map);
    if let Some(z) = ctx.input(2) {
        reqs.extend(resolve(v, z)?.slices(0, &t.map));
    }
    c.reqs.extend(reqs);
    Ok(Some(t))
}

fn pool(c: &Coupling, node: &NodeProto, channel_axis: usize) -> Result<Option<Track>, String> {
    match first_track(c, node) {
        Some(t) if t.axis != channel_axis || t.rank != 4 => {
            Err(format!("pooled by {} over the axis that carries the channels", node.op()))
        }
        other => Ok(other),
    }
}

fn softmax(c: &Coupling, v: &View, ctx: &NodeCtx) -> Result<Option<Track>, String> {
    let Some(t) = first_track(c, ctx.node) else { return Ok(None) };
    let default = if v.opset >= 13 { -1 } else { 1 };
    let axis = ctx.int_or("axis", default).ok().and_then(|a| normalize_axis(a, t.rank));
    let normalises = match axis {
        Some(a) if v.opset >= 13 || ctx.op() == "QLinearSoftmax" => a == t.axis,
        Some(a) => t.axis >= a,
        None => true,
    };
    if normalises {
        return Err(format!("{} '{}' normalises over the channels", ctx.op(), ctx.name));
    }
    Ok(Some(t))
}

fn elementwise(c: &mut Coupling, v: &View, ctx: &NodeCtx, ai: usize, bi: usize) -> Result<Option<Track>, String> {
    let names = [ctx.input(ai), ctx.input(bi)];
    let tracks: Vec<Option<Track>> = names.iter().map(|n| n.and_then(|n| c.tracks.get(n)).cloned()).collect();
    let out_rank = ctx.node.output.first().and_then(|o| v.shapes.get(o)).map(Vec::len).ok_or("output shape unknown")?;
    let from_end = |t: &Track| t.rank - t.axis;
    match (&tracks[0], &tracks[1]) {
        (None, None) => Ok(None),
        (Some(a), Some(b)) => {
            if from_end(a) != from_end(b) || a.map.len() != b.map.len() {
                return Err(format!("'{}' combines channels on different axes", ctx.name));
            }
            for (&x, &y) in a.map.iter().zip(&b.map) {
                c.union(x, y);
            }
            let axis = out_rank.checked_sub(from_end(a)).ok_or("output rank too small")?;
            Ok(Some(Track { axis, rank: out_rank, map: a.map.clone() }))
        }
        (Some(t), None) | (None, Some(t)) => {
            let other_i = if tracks[0].is_some() { 1 } else { 0 };
            let other = names[other_i].ok_or("operand missing")?;
            let shape = v.shapes.get(other).ok_or_else(|| format!("shape of '{other}' unknown"))?;
            let d = from_end(t);
            let out = Track {
                axis: out_rank.checked_sub(d).ok_or("output rank too small")?,
                rank: out_rank,
                map: t.map.clone(),
            };
            if d > shape.len() || shape[shape.len() - d] == 1 {
                return Ok(Some(out));
            }
            if shape[shape.len() - d] != t.map.len() {
                return Err(format!("'{}' broadcasts '{other}' of shape {shape:?} across the channels", ctx.name));
            }
            let src = resolve(v, other).map_err(|r| {
                format!("combined in '{}' with '{other}', whose channels cannot be pruned ({r})", ctx.name)
            })?;
            c.reqs.extend(src.slices(shape.len() - d, &t.map));
            Ok(Some(out))
        }
    }
}

fn concat(c: &mut Coupling, v: &View, ctx: &NodeCtx, inputs: Vec<usize>) -> Result<Option<Track>, String> {
    let names: Vec<&str> = inputs.iter().filter_map(|&i| ctx.input(i)).collect();
    let tracks: Vec<Option<Track>> = names.iter().map(|n| c.tracks.get(*n).cloned()).collect();
    let Some(first) = tracks.iter().flatten().next().cloned() else { return Ok(None) };
    let axis = ctx.int("axis").ok().flatten().and_then(|a| normalize_axis(a, first.rank)).ok_or("invalid axis")?;
    if tracks.iter().flatten().any(|t| t.axis != first.axis || t.rank != first.rank) {
        return Err(format!("'{}' concatenates values tracked on different axes", ctx.name));
    }
    if axis != first.axis {
        // Concatenation along another axis: every operand carries the same channels.
        if tracks.iter().any(|t| t.as_ref().is_none_or(|t| t.map.len() != first.map.len())) {
            return Err(format!("'{}' concatenates pruned and unprunable channels", ctx.name));
        }
        for t in tracks.iter().flatten() {
            for (&x, &y) in first.map.iter().zip(&t.map) {
                c.union(x, y);
            }
        }
        return Ok(Some(first));
    }
    let mut map = Vec::new();
    for (name, t) in names.iter().zip(&tracks) {
        match t {
            Some(t) => map.extend_from_slice(&t.map),
            None => {
                let n = v.shapes.get(*name).and_then(|s| s.get(axis)).copied().ok_or("operand shape unknown")?;
                let reason = format!("concatenated in '{}' with '{name}', whose channels cannot be pruned", ctx.name);
                map.extend(c.new_elems(n, |_| None, Some(&reason)));
            }
        }
    }
    Ok(Some(Track { axis, rank: first.rank, map }))
}

fn transpose(c: &Coupling, ctx: &NodeCtx) -> Result<Option<Track>, String> {
    let Some(t) = first_track(c, ctx.node) else { return Ok(None) };
    let perm = match ctx.ints("perm").map_err(|e| e.to_string())? {
        Some(p) => p.iter().map(|&a| usize::try_from(a).ok()).collect::<Option<Vec<_>>>().ok_or("bad perm")?,
        None => (0..t.rank).rev().collect(),
    };
    let axis = perm.iter().position(|&p| p == t.axis).ok_or("perm misses the channel axis")?;
    Ok(Some(Track { axis, ..t }))
}

/// Flatten, Reshape, Squeeze, Unsqueeze: the output dimension that holds the channel axis
/// (merged with neighbouring input dimensions, never split).
fn reshape(c: &mut Coupling, v: &View, ctx: &NodeCtx) -> Result<Option<Track>, String> {
    let Some(t) = first_track(c, ctx.node) else { return Ok(None) };
    let unknown = || format!("shapes around '{}' are unknown", ctx.name);
    let input = ctx.input(0).and_then(|i| v.shapes.get(i)).ok_or_else(unknown)?;
    let output = ctx.node.output.first().and_then(|o| v.shapes.get(o)).ok_or_else(unknown)?;
    let (b, e) = merge_target(input, output, t.axis)
        .ok_or_else(|| format!("'{}' ({:?} -> {:?}) splits the channel axis", ctx.name, input, output))?;
    let inner: usize = input[t.axis + 1..e].iter().product();
    let len = t.map.len();
    if len == 0 || inner == 0 {
        return Err(format!("'{}' reshapes an empty tensor", ctx.name));
    }
    let map: Vec<usize> = (0..output[b]).map(|p| t.map[(p / inner) % len]).collect();
    if ctx.op() == "Reshape" {
        let shape_name = ctx.input(1).ok_or("shape input missing")?;
        let target = v.inits.get(shape_name).and_then(ConstTensor::to_i64);
        match target.as_ref().and_then(|s| s.get(b)) {
            Some(&x) if x > 0 => {
                resolve(v, shape_name)?;
                c.reqs.push(Req::ShapeEntry { init: shape_name.to_string(), index: b, map: map.clone() });
            }
            Some(_) => {}
            None => return Err(format!("shape '{shape_name}' of '{}' is not an int64 initializer", ctx.name)),
        }
    }
    Ok(Some(Track { axis: b, rank: output.len(), map }))
}

/// Finds output dimension `b` equal to the product of input dimensions `s..e` with `s <= axis < e`
/// (row-major order is preserved by reshapes, so the block maps as a whole); returns `(b, e)`.
fn merge_target(input: &[usize], output: &[usize], axis: usize) -> Option<(usize, usize)> {
    let prefix = |s: &[usize]| -> Vec<usize> {
        let mut p = vec![1usize];
        for &d in s {
            p.push(p.last().copied().unwrap_or(1).saturating_mul(d));
        }
        p
    };
    let (pi, po) = (prefix(input), prefix(output));
    (0..output.len()).find_map(|b| {
        (0..=axis).rev().find(|&i| pi[i] == po[b])?;
        let e = (axis + 1..pi.len()).find(|&i| pi[i] == po[b + 1])?;
        Some((b, e))
    })
}

#[cfg(test)]
mod tests {
    use super::merge_target;

    #[test]
    fn reshapes_merge_but_never_split_the_channel_axis() {
        // NCHW flatten: C merged with H, W.
        assert_eq!(merge_target(&[1, 32, 4, 4], &[1, 512], 1), Some((1, 4)));
        // NHWC flatten: C merged with the spatial dims before it.
        assert_eq!(merge_target(&[1, 4, 4, 32], &[1, 512], 3), Some((1, 4)));
        // Squeeze after a global pool.
        assert_eq!(merge_target(&[1, 32, 1, 1], &[1, 32], 1), Some((1, 2)));
        // Splitting the channels into groups is refused.
        assert_eq!(merge_target(&[1, 32, 4, 4], &[1, 8, 4, 16], 1), None);
    }
}
