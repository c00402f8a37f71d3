//! Shape inference and whole-graph validation.
//!
//! Importers call [`infer`] to fill in output shapes where the source format leaves them out
//! (ONNX), and every importer ends with [`validate`], so a graph that reaches the executor, the
//! generator or the packer is structurally sound: ids in range, topological order, one producer
//! per tensor, constant data matching shape and type, quantisation vectors matching their axis,
//! and every node's output shape equal to what its op computes from its inputs.

use crate::error::{ModelError, Result};
use crate::ir::{Graph, Op, Padding2d, TensorId};

/// Output size of a windowed op along one axis (floor mode); `None` when the window does not fit.
pub fn window_output(
    input: usize,
    pad_before: usize,
    pad_after: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
) -> Option<usize> {
    if kernel == 0 || stride == 0 || dilation == 0 {
        return None;
    }
    let effective = (kernel - 1) * dilation + 1;
    let padded = input + pad_before + pad_after;
    if padded < effective {
        return None;
    }
    Some((padded - effective) / stride + 1)
}

/// Numpy-style broadcast of two shapes.
pub fn broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i + a.len() >= rank { a[i + a.len() - rank] } else { 1 };
        let db = if i + b.len() >= rank { b[i + b.len() - rank] } else { 1 };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

fn spatial(
    x: &[usize],
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
    pad: &Padding2d,
) -> std::result::Result<(usize, usize), String> {
    if x.len() != 4 {
        return Err(format!("input must be 4-D NHWC, got {x:?}"));
    }
    let oh = window_output(x[1], pad.top, pad.bottom, kernel[0], stride[0], dilation[0]);
    let ow = window_output(x[2], pad.left, pad.right, kernel[1], stride[1], dilation[1]);
    match (oh, ow) {
        (Some(h), Some(w)) => Ok((h, w)),
        _ => Err(format!(
            "window {kernel:?} (stride {stride:?}, dilation {dilation:?}, padding {pad:?}) does not fit input {x:?}"
        )),
    }
}

/// Infers the output shape of `op` from its input shapes. The error string says what is wrong;
/// callers wrap it with the node name.
pub fn infer(op: &Op, inputs: &[&[usize]]) -> std::result::Result<Vec<usize>, String> {
    let need = |n: usize| -> std::result::Result<(), String> {
        if inputs.len() < n {
            Err(format!("expects at least {n} inputs, got {}", inputs.len()))
        } else {
            Ok(())
        }
    };
    match op {
        Op::Conv2d(a) => {
            need(2)?;
            let (x, w) = (inputs[0], inputs[1]);
            if w.len() != 4 {
                return Err(format!("weights must be 4-D OHWI, got {w:?}"));
            }
            if a.groups == 0 || x.len() != 4 || x[3] != w[3] * a.groups || !w[0].is_multiple_of(a.groups) {
                return Err(format!(
                    "input {x:?} and weights {w:?} do not agree with groups = {} (need C_in = I * groups, O % groups = 0)",
                    a.groups
                ));
            }
            if let Some(b) = inputs.get(2) {
                if b.iter().product::<usize>() != w[0] {
                    return Err(format!("bias {b:?} does not have {} elements", w[0]));
                }
            }
            let (oh, ow) = spatial(x, [w[1], w[2]], a.stride, a.dilation, &a.padding)?;
            Ok(vec![x[0], oh, ow, w[0]])
        }
        Op::FullyConnected { .. } => {
            need(2)?;
            let (x, w) = (inputs[0], inputs[1]);
            if w.len() != 2 {
                return Err(format!("weights must be 2-D [out, in], got {w:?}"));
            }
            let total: usize = x.iter().product();
            if w[1] == 0 || !total.is_multiple_of(w[1]) {
                return Err(format!("input {x:?} cannot be read as rows of K = {}", w[1]));
            }
            if let Some(b) = inputs.get(2) {
                if b.iter().product::<usize>() != w[0] {
                    return Err(format!("bias {b:?} does not have {} elements", w[0]));
                }
            }
            if x.last() == Some(&w[1]) && x.len() >= 2 {
                let mut out = x.to_vec();
                *out.last_mut().expect("rank >= 2") = w[0];
                Ok(out)
            } else {
                Ok(vec![total / w[1], w[0]])
            }
        }
        Op::MatMul => {
            need(2)?;
            let (a, b) = (inputs[0], inputs[1]);
            if a.len() < 2 || b.len() < 2 {
                return Err(format!("operands must be at least 2-D, got {a:?} and {b:?}"));
            }
            let (m, k) = (a[a.len() - 2], a[a.len() - 1]);
            let (k2, n) = (b[b.len() - 2], b[b.len() - 1]);
            if k != k2 {
                return Err(format!("inner dimensions differ: {a:?} x {b:?}"));
            }
            let mut batch = broadcast(&a[..a.len() - 2], &b[..b.len() - 2])
                .ok_or_else(|| format!("batch dimensions of {a:?} and {b:?} do not broadcast"))?;
            batch.extend([m, n]);
            Ok(batch)
        }
        Op::Add { .. } | Op::Mul { .. } => {
            need(2)?;
            broadcast(inputs[0], inputs[1])
                .ok_or_else(|| format!("{:?} and {:?} do not broadcast", inputs[0], inputs[1]))
        }
        Op::AveragePool2d(p) | Op::MaxPool2d(p) => {
            need(1)?;
            let x = inputs[0];
            let (oh, ow) = spatial(x, p.kernel, p.stride, [1, 1], &p.padding)?;
            Ok(vec![x[0], oh, ow, x[3]])
        }
        Op::GlobalAveragePool => {
            need(1)?;
            let x = inputs[0];
            if x.len() != 4 {
                return Err(format!("input must be 4-D NHWC, got {x:?}"));
            }
            Ok(vec![x[0], 1, 1, x[3]])
        }
        Op::Transpose { perm } => {
            need(1)?;
            let x = inputs[0];
            let mut seen = vec![false; x.len()];
            if perm.len() != x.len() || perm.iter().any(|&p| p >= x.len() || std::mem::replace(&mut seen[p], true)) {
                return Err(format!("perm {perm:?} is not a permutation of the {} axes of {x:?}", x.len()));
            }
            Ok(perm.iter().map(|&p| x[p]).collect())
        }
        Op::Pad { pads, .. } => {
            need(1)?;
            let x = inputs[0];
            if pads.len() != x.len() {
                return Err(format!("{} pad pairs for a {}-D input", pads.len(), x.len()));
            }
            Ok(x.iter().zip(pads).map(|(&d, &(b, a))| d + b + a).collect())
        }
        Op::Concat { axis, .. } => {
            need(1)?;
            let first = inputs[0];
            if *axis >= first.len() {
                return Err(format!("axis {axis} out of range for {first:?}"));
            }
            let mut out = first.to_vec();
            for s in &inputs[1..] {
                let same_rest =
                    s.len() == first.len() && s.iter().zip(first).enumerate().all(|(i, (a, b))| i == *axis || a == b);
                if !same_rest {
                    return Err(format!("{s:?} cannot be concatenated with {first:?} on axis {axis}"));
                }
                out[*axis] += s[*axis];
            }
            Ok(out)
        }
        Op::Reshape | Op::Softmax { .. } | Op::Quantize | Op::Dequantize | Op::Clamp { .. } => {
            need(1)?;
            Ok(inputs[0].to_vec())
        }
    }
}

/// True when `declared` is an acceptable output shape for an op whose inferred shape is
/// `inferred`. Reshape only keeps the element count; FullyConnected and GlobalAveragePool accept
/// the flattened `[rows, features]` forms their source formats use.
fn shape_accepts(op: &Op, inferred: &[usize], declared: &[usize]) -> bool {
    let count = |s: &[usize]| s.iter().product::<usize>();
    match op {
        Op::Reshape => count(inferred) == count(declared),
        Op::FullyConnected { .. } | Op::GlobalAveragePool => {
            inferred == declared || (count(inferred) == count(declared) && inferred.last() == declared.last())
        }
        _ => inferred == declared,
    }
}

/// Validates the whole graph; the first problem found is returned, naming node and tensor.
pub fn validate(graph: &Graph) -> Result<()> {
    let n_tensors = graph.tensors.len();
    let check_id = |id: TensorId, what: &str| -> Result<()> {
        if id >= n_tensors {
            Err(ModelError::malformed("graph", format!("{what} refers to tensor #{id}, but the graph has {n_tensors}")))
        } else {
            Ok(())
        }
    };
    for t in &graph.tensors {
        if let Some(data) = &t.data {
            if data.len() != t.element_count() {
                return Err(ModelError::invalid_tensor(
                    &t.name,
                    format!("has {} data elements but shape {:?} needs {}", data.len(), t.shape, t.element_count()),
                ));
            }
            if !data.storage_matches(t.dtype) {
                return Err(ModelError::invalid_tensor(
                    &t.name,
                    format!("data storage does not match dtype {}", t.dtype),
                ));
            }
        }
        if let Some(q) = &t.quant {
            if q.scale.is_empty() || q.scale.len() != q.zero_point.len() && q.zero_point.len() != 1 {
                return Err(ModelError::invalid_tensor(
                    &t.name,
                    format!("{} scales but {} zero points", q.scale.len(), q.zero_point.len()),
                ));
            }
            if let Some(s) = q.scale.iter().find(|s| !s.is_finite() || **s < 0.0) {
                return Err(ModelError::invalid_tensor(&t.name, format!("invalid quantisation scale {s}")));
            }
            if q.scale.len() > 1 {
                let axis_len = q.axis.and_then(|a| t.shape.get(a)).copied();
                if axis_len != Some(q.scale.len()) {
                    return Err(ModelError::invalid_tensor(
                        &t.name,
                        format!("{} per-axis scales on axis {:?} of shape {:?}", q.scale.len(), q.axis, t.shape),
                    ));
                }
            }
        }
    }

    // Tensors that are available before any node runs: graph inputs and constants.
    let mut available: Vec<bool> = graph.tensors.iter().map(|t| t.is_constant()).collect();
    for &id in &graph.inputs {
        check_id(id, "graph input")?;
        available[id] = true;
    }
    let mut produced = vec![false; n_tensors];
    for node in &graph.nodes {
        let op_name = node.op.kind();
        let mut shapes = Vec::with_capacity(node.inputs.len());
        for &id in &node.inputs {
            check_id(id, &format!("node '{}' input", node.name))?;
            if !available[id] {
                return Err(ModelError::invalid_node(
                    &node.name,
                    op_name,
                    format!("reads tensor '{}' before anything produces it", graph.tensors[id].name),
                ));
            }
            shapes.push(graph.tensors[id].shape.as_slice());
        }
        if node.outputs.len() != 1 {
            return Err(ModelError::invalid_node(
                &node.name,
                op_name,
                format!("has {} outputs, expected 1", node.outputs.len()),
            ));
        }
        let out = node.outputs[0];
        check_id(out, &format!("node '{}' output", node.name))?;
        if produced[out] || graph.tensors[out].is_constant() {
            return Err(ModelError::invalid_node(
                &node.name,
                op_name,
                format!("writes tensor '{}', which is already produced or constant", graph.tensors[out].name),
            ));
        }
        let inferred = infer(&node.op, &shapes).map_err(|r| ModelError::invalid_node(&node.name, op_name, r))?;
        let declared = &graph.tensors[out].shape;
        if !shape_accepts(&node.op, &inferred, declared) {
            return Err(ModelError::invalid_node(
                &node.name,
                op_name,
                format!(
                    "output '{}' is declared {declared:?} but the op computes {inferred:?}",
                    graph.tensors[out].name
                ),
            ));
        }
        produced[out] = true;
        available[out] = true;
    }
    for &id in &graph.outputs {
        check_id(id, "graph output")?;
        if !available[id] {
            return Err(ModelError::invalid_tensor(&graph.tensors[id].name, "is a graph output that nothing produces"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Activation, Conv2dAttrs};

    #[test]
    fn conv_shape_with_asymmetric_padding() {
        let attrs = Conv2dAttrs {
            stride: [2, 2],
            dilation: [1, 1],
            padding: Padding2d { top: 4, left: 1, bottom: 5, right: 1 },
            groups: 1,
            activation: Activation::None,
        };
        let out = infer(&Op::Conv2d(attrs), &[&[1, 49, 10, 1], &[64, 10, 4, 1]]).unwrap();
        assert_eq!(out, vec![1, 25, 5, 64]);
    }

    #[test]
    fn same_padding_matches_numerics_example() {
        // DS-CNN first layer: 49 rows, 10x4 kernel, stride 2: 4 above, 5 below.
        assert_eq!(Padding2d::same_1d(49, 10, 2, 1), (4, 5));
        assert_eq!(Padding2d::same_1d(10, 4, 2, 1), (1, 1));
    }

    #[test]
    fn broadcast_rules() {
        assert_eq!(broadcast(&[2, 1, 4], &[3, 1]), Some(vec![2, 3, 4]));
        assert_eq!(broadcast(&[2, 3], &[4, 3]), None);
    }

    #[test]
    fn depthwise_groups_check() {
        let attrs = Conv2dAttrs {
            stride: [1, 1],
            dilation: [1, 1],
            padding: Padding2d::default(),
            groups: 3,
            activation: Activation::None,
        };
        assert_eq!(infer(&Op::Conv2d(attrs.clone()), &[&[1, 5, 6, 3], &[9, 3, 3, 1]]).unwrap(), vec![1, 3, 4, 9]);
        assert!(infer(&Op::Conv2d(attrs), &[&[1, 5, 6, 4], &[9, 3, 3, 1]]).is_err());
    }
}
