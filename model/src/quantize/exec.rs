//! Float reference execution of a [`FloatGraph`] (NCHW, float32) for calibration.
//!
//! The ranges calibration records are extremes of float tensors, so a last-bit difference from
//! onnxruntime's float kernels can change a scale in its last bit. To keep such differences rare,
//! the dot products follow the summation order of onnxruntime's MLAS SGEMM on x86: im2col order
//! (channel, ky, kx), fused multiply-adds from zero over K blocks whose partial sums are added to
//! the output one block after the other (K block 128, widened when N is small, as
//! `MlasSgemmOperation` does; 256 for the pre-packed constant B of Gemm / MatMul), then the bias
//! (Conv) or on top of the bias (Gemm).

use super::error::{QResult, QuantizeError};
use super::graph::{FloatGraph, FloatNode, FloatOp};
use crate::import::onnx::attrs::normalize_axis;
use crate::import::onnx::ops::window;
use std::collections::HashMap;

/// A float tensor, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct FTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl FTensor {
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Self {
        FTensor { shape, data }
    }
}

/// Runs the graph on one set of inputs (graph input order). `observe` sees every graph input
/// and every node output, once, in execution order. Returns the graph outputs.
pub fn run(g: &FloatGraph, inputs: &[FTensor], observe: &mut dyn FnMut(&str, &FTensor)) -> QResult<Vec<FTensor>> {
    let names = g.input_names();
    if inputs.len() != names.len() {
        return Err(QuantizeError::BadModel(format!("{} inputs given, the model has {}", inputs.len(), names.len())));
    }
    let mut values: HashMap<&str, FTensor> = HashMap::new();
    for (name, t) in names.iter().zip(inputs) {
        observe(name, t);
        values.insert(name.as_str(), t.clone());
    }
    for node in &g.nodes {
        let args: Vec<&FTensor> = node
            .inputs
            .iter()
            .map(|i| {
                values.get(i.as_str()).ok_or_else(|| {
                    QuantizeError::exec(
                        &node.name,
                        &node.op_type,
                        format!("input '{i}' is not computed before this node"),
                    )
                })
            })
            .collect::<QResult<_>>()?;
        let out = run_node(g, node, &args)?;
        observe(&node.output, &out);
        values.insert(node.output.as_str(), out);
    }
    g.output_names()
        .iter()
        .map(|o| {
            values
                .get(o.as_str())
                .cloned()
                .ok_or_else(|| QuantizeError::BadModel(format!("graph output '{o}' is not produced by any node")))
        })
        .collect()
}

fn run_node(g: &FloatGraph, node: &FloatNode, args: &[&FTensor]) -> QResult<FTensor> {
    let err = |reason: String| QuantizeError::exec(&node.name, &node.op_type, reason);
    let x = args.first().copied().ok_or_else(|| err("no input".into()))?;
    match &node.op {
        FloatOp::Conv { w, b, group } => conv(g, node, x, w, b.as_deref(), *group),
        FloatOp::Gemm { w, b, trans_b } => {
            let (ws, wd) = g.float_const(w).ok_or_else(|| err(format!("weight '{w}' is not float")))?;
            let (k, n) = if *trans_b { (ws[1], ws[0]) } else { (ws[0], ws[1]) };
            let bias = match b {
                Some(b) => Some(g.float_const(b).ok_or_else(|| err(format!("bias '{b}' is not float")))?.1),
                None => None,
            };
            if x.shape.len() != 2 || x.shape[1] != k {
                return Err(err(format!("A of shape {:?} does not match B of shape {ws:?}", x.shape)));
            }
            if let Some(bias) = bias {
                if bias.len() != n && bias.len() != 1 {
                    return Err(err(format!("C has {} values, expected {n} or 1", bias.len())));
                }
            }
            let m = x.shape[0];
            let mut out = vec![0f32; m * n];
            for r in 0..m {
                for c in 0..n {
                    let init = bias.map(|b| if b.len() == 1 { b[0] } else { b[c] }).unwrap_or(0.0);
                    let a = &x.data[r * k..(r + 1) * k];
                    out[r * n + c] = if *trans_b {
                        dot_blocks(init, k, PACKED_STRIDE_K, |i| (a[i], wd[c * k + i]))
                    } else {
                        dot_blocks(init, k, PACKED_STRIDE_K, |i| (a[i], wd[i * n + c]))
                    };
                }
            }
            Ok(FTensor::new(vec![m, n], out))
        }
        FloatOp::MatMul { w } => {
            let (ws, wd) = g.float_const(w).ok_or_else(|| err(format!("weight '{w}' is not float")))?;
            let (k, n) = (ws[0], ws[1]);
            if x.shape.last() != Some(&k) {
                return Err(err(format!("A of shape {:?} does not match B of shape {ws:?}", x.shape)));
            }
            let m = x.data.len() / k.max(1);
            let mut out = vec![0f32; m * n];
            for r in 0..m {
                let a = &x.data[r * k..(r + 1) * k];
                for c in 0..n {
                    out[r * n + c] = dot_blocks(0.0, k, PACKED_STRIDE_K, |i| (a[i], wd[i * n + c]));
                }
            }
            let mut shape = x.shape.clone();
            if let Some(last) = shape.last_mut() {
                *last = n;
            }
            Ok(FTensor::new(shape, out))
        }
        FloatOp::Relu => Ok(FTensor::new(x.shape.clone(), x.data.iter().map(|&v| v.max(0.0)).collect())),
        FloatOp::Clip { min, max } => {
            Ok(FTensor::new(x.shape.clone(), x.data.iter().map(|&v| v.max(*min).min(*max)).collect()))
        }
        FloatOp::Add => {
            let y = args.get(1).copied().ok_or_else(|| err("second input missing".into()))?;
            if x.shape != y.shape {
                return Err(err(format!(
                    "operands of shapes {:?} and {:?} (broadcasting is not supported)",
                    x.shape, y.shape
                )));
            }
            Ok(FTensor::new(x.shape.clone(), x.data.iter().zip(&y.data).map(|(a, b)| a + b).collect()))
        }
        FloatOp::Concat { axis } => concat(args, *axis).map_err(err),
        FloatOp::MaxPool { kernel } => pool(node, x, *kernel, PoolKind::Max),
        FloatOp::AveragePool { kernel, count_include_pad } => {
            pool(node, x, *kernel, PoolKind::Average { count_include_pad: *count_include_pad })
        }
        FloatOp::GlobalAveragePool => {
            let [n, c, h, w] = dims4(node, x)?;
            let hw = h * w;
            let out = (0..n * c).map(|i| x.data[i * hw..(i + 1) * hw].iter().sum::<f32>() / hw as f32).collect();
            Ok(FTensor::new(vec![n, c, 1, 1], out))
        }
        FloatOp::Flatten { axis } => {
            let a = if *axis == x.shape.len() as i64 {
                x.shape.len()
            } else {
                normalize_axis(*axis, x.shape.len())
                    .ok_or_else(|| err(format!("axis {axis} for rank {}", x.shape.len())))?
            };
            let outer: usize = x.shape[..a].iter().product();
            let inner: usize = x.shape[a..].iter().product();
            Ok(FTensor::new(vec![outer, inner], x.data.clone()))
        }
        FloatOp::Reshape { shape } => {
            let out = reshape_dims(&x.shape, shape).map_err(err)?;
            Ok(FTensor::new(out, x.data.clone()))
        }
    }
}

/// K block of MLAS's pre-packed SGEMM (`MLAS_SGEMM_PACKED_STRIDEK`).
const PACKED_STRIDE_K: usize = 256;

/// K block of MLAS's SGEMM for an `N`-column, `K`-deep product (`MlasSgemmOperation`: the
/// 128 x 128 stride is rebalanced towards K when N is small and towards N when K is small).
fn mlas_stride_k(n: usize, k: usize) -> usize {
    let (mut stride_n, mut stride_k) = (128usize, 128usize);
    if n >= k {
        // (MLAS doubles the N stride here; only the K stride matters for the sums.)
        while stride_k / 2 >= k {
            stride_k /= 2;
        }
    } else {
        while stride_n > 16 && stride_n / 2 >= n {
            stride_k *= 2;
            stride_n /= 2;
        }
    }
    stride_k.max(1)
}

/// `init` plus the products `pair(0..k)`, accumulated with fused multiply-adds from zero per
/// block of `block` and each block's sum added to the running result.
fn dot_blocks(init: f32, k: usize, block: usize, pair: impl Fn(usize) -> (f32, f32)) -> f32 {
    let mut result = init;
    let mut start = 0;
    while start < k {
        let end = (start + block).min(k);
        let mut acc = 0f32;
        for i in start..end {
            let (a, b) = pair(i);
            acc = a.mul_add(b, acc);
        }
        result += acc;
        start = end;
    }
    result
}

fn dims4(node: &FloatNode, x: &FTensor) -> QResult<[usize; 4]> {
    match x.shape.as_slice() {
        &[n, c, h, w] => Ok([n, c, h, w]),
        s => Err(QuantizeError::exec(&node.name, &node.op_type, format!("input of shape {s:?} (4-D NCHW expected)"))),
    }
}

fn out_size(
    node: &FloatNode,
    input: usize,
    k: usize,
    stride: usize,
    dil: usize,
    p0: usize,
    p1: usize,
) -> QResult<usize> {
    let eff = (k - 1) * dil + 1;
    let padded = input + p0 + p1;
    if padded < eff {
        return Err(QuantizeError::exec(
            &node.name,
            &node.op_type,
            format!("window {eff} larger than padded input {padded}"),
        ));
    }
    Ok((padded - eff) / stride + 1)
}

fn conv(g: &FloatGraph, node: &FloatNode, x: &FTensor, w: &str, b: Option<&str>, group: usize) -> QResult<FTensor> {
    let err = |reason: String| QuantizeError::exec(&node.name, &node.op_type, reason);
    let [n, c, h, wd] = dims4(node, x)?;
    let (ws, wv) = g.float_const(w).ok_or_else(|| err(format!("weight '{w}' is not float")))?;
    let &[o, cg, kh, kw] = ws else { return Err(err(format!("weights of shape {ws:?}"))) };
    if cg * group != c || o % group != 0 {
        return Err(err(format!("input has {c} channels, weights {ws:?} with group {group}")));
    }
    let bias = match b {
        Some(b) => {
            let (_, bv) = g.float_const(b).ok_or_else(|| err(format!("bias '{b}' is not float")))?;
            if bv.len() != o {
                return Err(err(format!("bias has {} values for {o} output channels", bv.len())));
            }
            Some(bv)
        }
        None => None,
    };
    let win = window(&node.ctx(), [h, wd], [kh, kw], true)?;
    let p = win.padding;
    let oh = out_size(node, h, kh, win.stride[0], win.dilation[0], p.top, p.bottom)?;
    let ow = out_size(node, wd, kw, win.stride[1], win.dilation[1], p.left, p.right)?;
    let k = cg * kh * kw;
    let block = mlas_stride_k(oh * ow, k);
    let og = o / group;
    let mut out = vec![0f32; n * o * oh * ow];
    for b_i in 0..n {
        for oc in 0..o {
            let gi = oc / og;
            let wbase = oc * k;
            for oy in 0..oh {
                for ox in 0..ow {
                    let tap = |i: usize| -> (f32, f32) {
                        let ci = i / (kh * kw);
                        let ky = (i / kw) % kh;
                        let kx = i % kw;
                        let iy = (oy * win.stride[0] + ky * win.dilation[0]) as isize - p.top as isize;
                        let ix = (ox * win.stride[1] + kx * win.dilation[1]) as isize - p.left as isize;
                        if iy < 0 || ix < 0 || iy as usize >= h || ix as usize >= wd {
                            return (0.0, wv[wbase + i]);
                        }
                        let ch = gi * cg + ci;
                        (x.data[((b_i * c + ch) * h + iy as usize) * wd + ix as usize], wv[wbase + i])
                    };
                    let acc = dot_blocks(0.0, k, block, tap);
                    out[((b_i * o + oc) * oh + oy) * ow + ox] = acc + bias.map_or(0.0, |bv| bv[oc]);
                }
            }
        }
    }
    Ok(FTensor::new(vec![n, o, oh, ow], out))
}

enum PoolKind {
    Max,
    Average { count_include_pad: bool },
}

fn pool(node: &FloatNode, x: &FTensor, kernel: [usize; 2], kind: PoolKind) -> QResult<FTensor> {
    let [n, c, h, w] = dims4(node, x)?;
    let win = window(&node.ctx(), [h, w], kernel, false)?;
    let p = win.padding;
    let oh = out_size(node, h, kernel[0], win.stride[0], 1, p.top, p.bottom)?;
    let ow = out_size(node, w, kernel[1], win.stride[1], 1, p.left, p.right)?;
    let mut out = Vec::with_capacity(n * c * oh * ow);
    for plane in 0..n * c {
        let src = &x.data[plane * h * w..(plane + 1) * h * w];
        for oy in 0..oh {
            for ox in 0..ow {
                let y0 = (oy * win.stride[0]) as isize - p.top as isize;
                let x0 = (ox * win.stride[1]) as isize - p.left as isize;
                let (mut acc, mut count) = (
                    match kind {
                        PoolKind::Max => f32::NEG_INFINITY,
                        _ => 0.0,
                    },
                    0usize,
                );
                for ky in 0..kernel[0] as isize {
                    for kx in 0..kernel[1] as isize {
                        let (iy, ix) = (y0 + ky, x0 + kx);
                        if iy < 0 || ix < 0 || iy as usize >= h || ix as usize >= w {
                            continue;
                        }
                        let v = src[iy as usize * w + ix as usize];
                        acc = match kind {
                            PoolKind::Max => acc.max(v),
                            _ => acc + v,
                        };
                        count += 1;
                    }
                }
                out.push(match kind {
                    PoolKind::Max => acc,
                    PoolKind::Average { count_include_pad } => {
                        let full = if count_include_pad {
                            // Only the explicit pads count, not positions past them.
                            let ys = (y0..y0 + kernel[0] as isize).filter(|&v| v < (h + p.bottom) as isize).count();
                            let xs = (x0..x0 + kernel[1] as isize).filter(|&v| v < (w + p.right) as isize).count();
                            ys * xs
                        } else {
                            count
                        };
                        acc / full.max(1) as f32
                    }
                });
            }
        }
    }
    Ok(FTensor::new(vec![n, c, oh, ow], out))
}

fn concat(args: &[&FTensor], axis: i64) -> Result<FTensor, String> {
    let first = args.first().ok_or("no inputs")?;
    let rank = first.shape.len();
    let a = normalize_axis(axis, rank).ok_or(format!("axis {axis} for rank {rank}"))?;
    for t in args {
        let same = t.shape.len() == rank && (0..rank).all(|d| d == a || t.shape[d] == first.shape[d]);
        if !same {
            return Err(format!("inputs of shapes {:?} and {:?} cannot be joined on axis {a}", first.shape, t.shape));
        }
    }
    let outer: usize = first.shape[..a].iter().product();
    let inner: usize = first.shape[a + 1..].iter().product();
    let mut shape = first.shape.clone();
    shape[a] = args.iter().map(|t| t.shape[a]).sum();
    let mut data = Vec::with_capacity(shape.iter().product());
    for o in 0..outer {
        for t in args {
            let len = t.shape[a] * inner;
            data.extend_from_slice(&t.data[o * len..(o + 1) * len]);
        }
    }
    Ok(FTensor::new(shape, data))
}

/// ONNX Reshape target (allowzero = 0): `0` copies the input dimension, one `-1` is inferred.
pub fn reshape_dims(input: &[usize], target: &[i64]) -> Result<Vec<usize>, String> {
    let total: usize = input.iter().product();
    let mut out = Vec::with_capacity(target.len());
    let mut infer = None;
    for (i, &d) in target.iter().enumerate() {
        match d {
            0 => out.push(
                *input.get(i).ok_or(format!("shape {target:?}: dimension {i} copies a missing input dimension"))?,
            ),
            -1 if infer.is_none() => {
                infer = Some(i);
                out.push(1);
            }
            d if d > 0 => out.push(d as usize),
            _ => return Err(format!("shape {target:?} is not a valid Reshape target")),
        }
    }
    let known: usize = out.iter().product();
    if let Some(i) = infer {
        if known == 0 || !total.is_multiple_of(known) {
            return Err(format!("cannot reshape {input:?} to {target:?}"));
        }
        out[i] = total / known;
    }
    if out.iter().product::<usize>() != total {
        return Err(format!("cannot reshape {input:?} ({total} elements) to {target:?}"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mlas_k_block_follows_the_stride_rebalancing() {
        // Digits conv2: N = 16 output pixels, K = 144 -> one block (StrideK grows to 1024).
        assert_eq!(mlas_stride_k(16, 144), 1024);
        // Large N, small K: K stride shrinks below K's size never matters (one block).
        assert!(mlas_stride_k(64, 9) >= 9);
        assert_eq!(mlas_stride_k(1000, 1000), 128);
    }

    #[test]
    fn blocked_dot_adds_block_sums_in_order() {
        let a: Vec<f32> = (0..300).map(|i| (i as f32 * 0.37).sin()).collect();
        let direct = dot_blocks(0.5, 300, 300, |i| (a[i], 1.0));
        let mut acc = 0f32;
        for &v in &a {
            acc = v.mul_add(1.0, acc);
        }
        assert_eq!(direct, 0.5 + acc);
        let blocked = dot_blocks(0.5, 300, 256, |i| (a[i], 1.0));
        let (mut b1, mut b2) = (0f32, 0f32);
        for &v in &a[..256] {
            b1 = v.mul_add(1.0, b1);
        }
        for &v in &a[256..] {
            b2 = v.mul_add(1.0, b2);
        }
        assert_eq!(blocked, (0.5 + b1) + b2);
    }

    #[test]
    fn reshape_targets() {
        assert_eq!(reshape_dims(&[1, 32, 4, 4], &[1, -1]).unwrap(), vec![1, 512]);
        assert_eq!(reshape_dims(&[2, 3, 4], &[0, 12]).unwrap(), vec![2, 12]);
        assert!(reshape_dims(&[2, 3], &[4, -1]).is_err());
        assert!(reshape_dims(&[2, 3], &[-1, -1]).is_err());
    }
}
