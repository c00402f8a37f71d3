//! Static shapes of every value the pruner needs (ONNX layout), inferred from the graph inputs
//! and the initializers for the operators a CNN uses. A value whose shape cannot be inferred
//! (an operator not listed here, a symbolic size) is simply absent; the coupling analysis then
//! refuses to prune through it.

use crate::import::onnx::attrs::{normalize_axis, NodeCtx};
use crate::import::onnx::ops::window;
use crate::import::onnx::proto::{GraphProto, NodeProto};
use crate::import::onnx::tensor::ConstTensor;
use std::collections::HashMap;

pub type Shapes = HashMap<String, Vec<usize>>;

/// Shapes of the graph inputs (symbolic or missing dimensions become 1: the batch), the
/// constants and every node output that can be inferred.
pub fn infer(graph: &GraphProto, consts: &HashMap<String, ConstTensor>) -> Shapes {
    let mut shapes: Shapes = consts.iter().map(|(k, c)| (k.clone(), c.shape.clone())).collect();
    for vi in &graph.input {
        let name = vi.name.clone().unwrap_or_default();
        if consts.contains_key(&name) {
            continue;
        }
        if let Some(shape) = vi.r#type.as_ref().and_then(|t| t.tensor_type.as_ref()).and_then(|t| t.shape.as_ref()) {
            let dims = shape
                .dim
                .iter()
                .map(|d| d.dim_value.and_then(|v| usize::try_from(v).ok()).filter(|&v| v > 0).unwrap_or(1));
            shapes.insert(name, dims.collect());
        }
    }
    for (index, node) in graph.node.iter().enumerate() {
        let ctx = NodeCtx { node, name: node.name.clone().unwrap_or_else(|| format!("{}_{index}", node.op())) };
        if node.op() == "Constant" {
            if let (Some(out), Ok(Some(t))) = (node.output.first(), ctx.tensor("value")) {
                shapes.insert(out.clone(), t.shape);
            }
            continue;
        }
        if let (Some(out), Some(shape)) = (node.output.first(), node_shape(&ctx, &shapes, consts)) {
            shapes.insert(out.clone(), shape);
        }
    }
    shapes
}

fn input_shape<'s>(node: &NodeProto, shapes: &'s Shapes, i: usize) -> Option<&'s Vec<usize>> {
    node.input.get(i).filter(|s| !s.is_empty()).and_then(|n| shapes.get(n))
}

/// Numpy broadcasting of two shapes.
pub fn broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| if i + s.len() < rank { 1 } else { s[i + s.len() - rank] };
    (0..rank)
        .map(|i| match (dim(a, i), dim(b, i)) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect()
}

/// ONNX Reshape (allowzero = 0): `0` copies the input dimension, one `-1` is inferred.
pub fn reshape_dims(input: &[usize], target: &[i64]) -> Option<Vec<usize>> {
    let total: usize = input.iter().product();
    let mut out = Vec::with_capacity(target.len());
    let mut infer = None;
    for (i, &t) in target.iter().enumerate() {
        match t {
            -1 if infer.is_none() => {
                infer = Some(i);
                out.push(1);
            }
            0 => out.push(*input.get(i)?),
            t if t > 0 => out.push(usize::try_from(t).ok()?),
            _ => return None,
        }
    }
    let known: usize = out.iter().product();
    if let Some(i) = infer {
        if known == 0 || !total.is_multiple_of(known) {
            return None;
        }
        out[i] = total / known;
    }
    (out.iter().product::<usize>() == total).then_some(out)
}

fn spatial(ctx: &NodeCtx, x: &[usize], c_out: usize, kernel: [usize; 2], dilation: bool) -> Option<Vec<usize>> {
    let &[n, _, h, w] = x else { return None };
    let win = window(ctx, [h, w], kernel, dilation).ok()?;
    let ceil = ctx.int_or("ceil_mode", 0).ok()? != 0;
    let size = |len: usize, k: usize, s: usize, d: usize, p0: usize, p1: usize| -> Option<usize> {
        let span = d * (k - 1) + 1;
        let padded = (len + p0 + p1).checked_sub(span)?;
        Some(if ceil { padded.div_ceil(s) } else { padded / s } + 1)
    };
    let p = win.padding;
    let oh = size(h, kernel[0], win.stride[0], win.dilation[0], p.top, p.bottom)?;
    let ow = size(w, kernel[1], win.stride[1], win.dilation[1], p.left, p.right)?;
    Some(vec![n, c_out, oh, ow])
}

fn kernel_attr(ctx: &NodeCtx) -> Option<[usize; 2]> {
    match ctx.ints("kernel_shape").ok()??.as_slice() {
        &[a, b] if a > 0 && b > 0 => Some([a as usize, b as usize]),
        _ => None,
    }
}

/// Constant `axes` of Squeeze / Unsqueeze (attribute before opset 13, input 1 from 13 on).
fn axes(ctx: &NodeCtx, consts: &HashMap<String, ConstTensor>) -> Option<Vec<i64>> {
    match ctx.input(1) {
        Some(name) => consts.get(name)?.to_i64(),
        None => ctx.ints("axes").ok()?,
    }
}

fn node_shape(ctx: &NodeCtx, shapes: &Shapes, consts: &HashMap<String, ConstTensor>) -> Option<Vec<usize>> {
    let node = ctx.node;
    let x = || input_shape(node, shapes, 0);
    match node.op() {
        "Conv" | "QLinearConv" | "ConvInteger" => {
            let wi = if node.op() == "QLinearConv" { 3 } else { 1 };
            let w = input_shape(node, shapes, wi)?;
            let &[o, _, kh, kw] = w.as_slice() else { return None };
            spatial(ctx, x()?, o, [kh, kw], true)
        }
        "MaxPool" | "AveragePool" | "QLinearAveragePool" => {
            let x = x()?;
            spatial(ctx, x, *x.get(1)?, kernel_attr(ctx)?, node.op() == "MaxPool")
        }
        "GlobalAveragePool" | "GlobalMaxPool" => match x()?.as_slice() {
            &[n, c, _, _] => Some(vec![n, c, 1, 1]),
            _ => None,
        },
        "QLinearGlobalAveragePool" => match (x()?.as_slice(), ctx.int_or("channels_last", 0).ok()?) {
            (&[n, c, _, _], 0) => Some(vec![n, c, 1, 1]),
            (&[n, _, _, c], _) => Some(vec![n, 1, 1, c]),
            _ => None,
        },
        "Relu" | "Clip" | "LeakyRelu" | "Sigmoid" | "Tanh" | "HardSigmoid" | "HardSwish" | "Identity" | "Cast"
        | "QuantizeLinear" | "DequantizeLinear" | "Softmax" | "LogSoftmax" | "QLinearLeakyRelu" | "QLinearSigmoid"
        | "QLinearSoftmax" | "Dropout" | "Neg" | "Abs" | "Sqrt" | "Exp" | "Erf" => x().cloned(),
        "Add" | "Sub" | "Mul" | "Div" | "Max" | "Min" | "Pow" => broadcast(x()?, input_shape(node, shapes, 1)?),
        "QLinearAdd" | "QLinearMul" => broadcast(x()?, input_shape(node, shapes, 3)?),
        "Concat" | "QLinearConcat" => {
            let parts: Vec<&Vec<usize>> = if node.op() == "Concat" {
                (0..node.input.len()).map(|i| input_shape(node, shapes, i)).collect::<Option<_>>()?
            } else {
                (2..node.input.len()).step_by(3).map(|i| input_shape(node, shapes, i)).collect::<Option<_>>()?
            };
            let first = *parts.first()?;
            let axis = normalize_axis(ctx.int("axis").ok()??, first.len())?;
            let mut out = first.clone();
            out[axis] = parts.iter().map(|p| p.get(axis).copied()).sum::<Option<usize>>()?;
            parts.iter().all(|p| p.len() == first.len()).then_some(out)
        }
        "Flatten" => {
            let x = x()?;
            let axis = normalize_axis(ctx.int_or("axis", 1).ok()?, x.len() + 1)?;
            Some(vec![x[..axis].iter().product(), x[axis..].iter().product()])
        }
        "Reshape" => reshape_dims(x()?, &consts.get(ctx.input(1)?)?.to_i64()?),
        "Squeeze" => {
            let x = x()?;
            let axes = match axes(ctx, consts) {
                Some(a) => a.iter().map(|&a| normalize_axis(a, x.len())).collect::<Option<Vec<_>>>()?,
                None => (0..x.len()).filter(|&i| x[i] == 1).collect(),
            };
            Some(x.iter().enumerate().filter(|(i, _)| !axes.contains(i)).map(|(_, &d)| d).collect())
        }
        "Unsqueeze" => {
            let x = x()?;
            let rank = x.len() + axes(ctx, consts)?.len();
            let axes = axes(ctx, consts)?.iter().map(|&a| normalize_axis(a, rank)).collect::<Option<Vec<_>>>()?;
            let mut rest = x.iter();
            (0..rank).map(|i| if axes.contains(&i) { Some(1) } else { rest.next().copied() }).collect()
        }
        "Transpose" => {
            let x = x()?;
            let perm = match ctx.ints("perm").ok()? {
                Some(p) => p.iter().map(|&a| usize::try_from(a).ok()).collect::<Option<Vec<_>>>()?,
                None => (0..x.len()).rev().collect(),
            };
            (perm.len() == x.len()).then(|| perm.iter().map(|&p| x.get(p).copied()).collect::<Option<Vec<_>>>())?
        }
        "Gemm" | "QGemm" => {
            let a = x()?;
            let b = input_shape(node, shapes, if node.op() == "QGemm" { 3 } else { 1 })?;
            let m = if ctx.int_or("transA", 0).ok()? != 0 { a.get(1)? } else { a.first()? };
            let n = if ctx.int_or("transB", 0).ok()? != 0 { b.first()? } else { b.get(1)? };
            Some(vec![*m, *n])
        }
        "MatMul" | "QLinearMatMul" | "MatMulInteger" => {
            let bi = if node.op() == "QLinearMatMul" { 3 } else { 1 };
            let (a, b) = (x()?, input_shape(node, shapes, bi)?);
            let &[k, n] = b.as_slice() else { return None };
            (a.last() == Some(&k)).then(|| {
                let mut s = a.clone();
                if let Some(last) = s.last_mut() {
                    *last = n;
                }
                s
            })
        }
        _ => None,
    }
}
