//! NCHW (ONNX) versus NHWC (IR) bookkeeping.
//!
//! The importer tracks, per IR tensor, whether its element order is the source model's own
//! (`Source`: what ONNX means by the value, NCHW for 4-D activations) or NHWC. Ops that need NHWC
//! (convolutions, pools) get an explicit `Transpose` in front of a `Source` 4-D input; ops whose
//! meaning depends on element order (Flatten, Reshape, graph outputs) get one back. Elementwise
//! ops keep whatever layout their input has, with per-axis quantisation axes remapped, so a
//! chain such as `QuantizeLinear -> Conv` transposes once, on the narrow type.

use crate::ir::{Quantization, TensorData};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layout {
    /// The element order the ONNX model means (NCHW for 4-D activations).
    Source,
    /// 4-D tensor stored NHWC while the ONNX value is NCHW.
    Nhwc,
}

/// NCHW -> NHWC: `out[i] = in[TO_NHWC[i]]`.
pub const TO_NHWC: [usize; 4] = [0, 2, 3, 1];
/// NHWC -> NCHW.
pub const TO_NCHW: [usize; 4] = [0, 3, 1, 2];

/// Where ONNX (NCHW) axis `axis` of a 4-D value sits in the NHWC tensor.
pub fn nhwc_axis(axis: usize) -> usize {
    match axis {
        1 => 3,
        2 => 1,
        3 => 2,
        other => other,
    }
}

/// Axis of the IR tensor that holds ONNX axis `axis` of a value stored in `layout`.
pub fn ir_axis(layout: Layout, axis: usize) -> usize {
    match layout {
        Layout::Source => axis,
        Layout::Nhwc => nhwc_axis(axis),
    }
}

/// `out[i] = shape[perm[i]]`.
pub fn permute_shape(shape: &[usize], perm: &[usize]) -> Vec<usize> {
    perm.iter().map(|&p| shape.get(p).copied().unwrap_or(1)).collect()
}

/// Where input axis `axis` ends up after a transpose by `perm`.
pub fn permuted_axis(perm: &[usize], axis: usize) -> Option<usize> {
    perm.iter().position(|&p| p == axis)
}

/// A quantisation moved through a transpose (per-axis axes follow their dimension).
pub fn permute_quant(q: &Option<Quantization>, perm: &[usize]) -> Option<Quantization> {
    q.as_ref().map(|q| Quantization { axis: q.axis.and_then(|a| permuted_axis(perm, a)), ..q.clone() })
}

/// Row-major transpose of `data` with `shape` by `perm` (`out[i] = in[perm[i]]` per axis).
/// The caller guarantees `perm` is a permutation of `0..shape.len()` and the data length
/// matches the shape.
pub fn transpose_data(data: &TensorData, shape: &[usize], perm: &[usize]) -> TensorData {
    match data {
        TensorData::I8(v) => TensorData::I8(transpose_vec(v, shape, perm)),
        TensorData::U8(v) => TensorData::U8(transpose_vec(v, shape, perm)),
        TensorData::I16(v) => TensorData::I16(transpose_vec(v, shape, perm)),
        TensorData::I32(v) => TensorData::I32(transpose_vec(v, shape, perm)),
        TensorData::I64(v) => TensorData::I64(transpose_vec(v, shape, perm)),
        TensorData::F32(v) => TensorData::F32(transpose_vec(v, shape, perm)),
    }
}

fn transpose_vec<T: Copy>(v: &[T], shape: &[usize], perm: &[usize]) -> Vec<T> {
    let rank = shape.len();
    let mut in_strides = vec![1usize; rank];
    for i in (0..rank.saturating_sub(1)).rev() {
        in_strides[i] = in_strides[i + 1] * shape[i + 1];
    }
    let out_shape = permute_shape(shape, perm);
    // Stride in the input of each output axis.
    let strides: Vec<usize> = perm.iter().map(|&p| in_strides.get(p).copied().unwrap_or(0)).collect();
    let total: usize = out_shape.iter().product();
    let mut out = Vec::with_capacity(total);
    let mut idx = vec![0usize; rank];
    for _ in 0..total {
        let offset: usize = idx.iter().zip(&strides).map(|(i, s)| i * s).sum();
        match v.get(offset) {
            Some(&x) => out.push(x),
            None => break,
        }
        // Odometer increment over the output shape.
        for d in (0..rank).rev() {
            idx[d] += 1;
            if idx[d] < out_shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

/// Composition of transposes: applying `first` then `second` equals applying the result.
pub fn compose(first: &[usize], second: &[usize]) -> Vec<usize> {
    second.iter().map(|&s| first.get(s).copied().unwrap_or(s)).collect()
}

pub fn is_identity(perm: &[usize]) -> bool {
    perm.iter().enumerate().all(|(i, &p)| i == p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_nchw_to_nhwc() {
        // [1, 2, 2, 3] -> NHWC [1, 2, 3, 2]
        let data: Vec<i32> = (0..12).collect();
        let out = transpose_data(&TensorData::I32(data), &[1, 2, 2, 3], &TO_NHWC);
        // out[0, h, w, c] = in[0, c, h, w] = c * 6 + h * 3 + w
        let want: Vec<i32> =
            (0..2).flat_map(|h| (0..3).flat_map(move |w| (0..2).map(move |c| c * 6 + h * 3 + w))).collect();
        assert_eq!(out, TensorData::I32(want));
        assert_eq!(permute_shape(&[1, 2, 2, 3], &TO_NHWC), vec![1, 2, 3, 2]);
    }

    #[test]
    fn perms_compose_and_axes_follow() {
        assert!(is_identity(&compose(&TO_NHWC, &TO_NCHW)));
        assert_eq!(permuted_axis(&TO_NHWC, 1), Some(3));
        assert_eq!(nhwc_axis(1), 3);
        assert_eq!(nhwc_axis(2), 1);
    }
}
