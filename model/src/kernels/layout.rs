//! Data movement: Transpose, Pad, Concat (Reshape is a plain copy and needs no kernel).
//!
//! These kernels are type-generic copies; requantisation of Concat inputs whose quantisation
//! differs from the output's is done by the caller with [`super::quantize`] first (LiteRT
//! `ConcatenationWithScaling` / onnxruntime `QLinearConcat` lookup tables).

use super::{check_len, kerr, strides, KResult};

/// `out[i_perm] = input[i]`: output axis d is input axis `perm[d]`.
pub fn transpose<T: Copy>(shape: &[usize], perm: &[usize], input: &[T], out: &mut [T]) -> KResult {
    let rank = shape.len();
    let mut seen = vec![false; rank];
    if perm.len() != rank || perm.iter().any(|&p| p >= rank || std::mem::replace(&mut seen[p], true)) {
        return kerr(format!("perm {perm:?} is not a permutation of {rank} axes"));
    }
    let total: usize = shape.iter().product();
    check_len("transpose input", input.len(), total)?;
    check_len("transpose output", out.len(), total)?;
    let in_strides = strides(shape);
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    // Input stride of each output axis; walk the output in order with an odometer.
    let walk: Vec<usize> = perm.iter().map(|&p| in_strides[p]).collect();
    let mut idx = vec![0usize; rank];
    let mut src = 0usize;
    for o in out.iter_mut() {
        *o = input[src];
        for d in (0..rank).rev() {
            idx[d] += 1;
            src += walk[d];
            if idx[d] < out_shape[d] {
                break;
            }
            src -= walk[d] * out_shape[d];
            idx[d] = 0;
        }
    }
    Ok(())
}

/// Constant padding; `pads[d] = (before, after)` (TFLite PAD/PADV2, ONNX Pad constant mode).
pub fn pad<T: Copy>(shape: &[usize], pads: &[(usize, usize)], value: T, input: &[T], out: &mut [T]) -> KResult {
    if pads.len() != shape.len() {
        return kerr(format!("{} pad pairs for a {}-D input", pads.len(), shape.len()));
    }
    let out_shape: Vec<usize> = shape.iter().zip(pads).map(|(&d, &(b, a))| d + b + a).collect();
    check_len("pad input", input.len(), shape.iter().product())?;
    check_len("pad output", out.len(), out_shape.iter().product())?;
    out.fill(value);
    let rank = shape.len();
    if input.is_empty() {
        return Ok(());
    }
    if rank == 0 {
        out[0] = input[0];
        return Ok(());
    }
    let out_strides = strides(&out_shape);
    let inner = shape[rank - 1];
    let mut idx = vec![0usize; rank];
    let mut src = 0usize;
    while src < input.len() {
        let dst: usize = (0..rank).map(|d| (idx[d] + pads[d].0) * out_strides[d]).sum();
        out[dst..dst + inner].copy_from_slice(&input[src..src + inner]);
        src += inner;
        let mut d = rank - 1;
        while d > 0 {
            d -= 1;
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    Ok(())
}

/// Concatenation along `axis` of inputs with equal shapes elsewhere (`reference_ops::Concatenation`).
pub fn concat<T: Copy>(inputs: &[(&[usize], &[T])], axis: usize, out: &mut [T]) -> KResult {
    let Some((first, _)) = inputs.first() else {
        return kerr("concat of no inputs");
    };
    if axis >= first.len() {
        return kerr(format!("concat axis {axis} out of range for {first:?}"));
    }
    let outer: usize = first[..axis].iter().product();
    let inner: usize = first[axis + 1..].iter().product();
    let mut total_axis = 0;
    for (shape, data) in inputs {
        let same_rest = shape.len() == first.len()
            && shape.iter().zip(first.iter()).enumerate().all(|(i, (a, b))| i == axis || a == b);
        if !same_rest {
            return kerr(format!("{shape:?} cannot be concatenated with {first:?} on axis {axis}"));
        }
        check_len("concat input", data.len(), shape.iter().product())?;
        total_axis += shape[axis];
    }
    check_len("concat output", out.len(), outer * total_axis * inner)?;
    let mut dst = 0;
    for o in 0..outer {
        for (shape, data) in inputs {
            let chunk = shape[axis] * inner;
            out[dst..dst + chunk].copy_from_slice(&data[o * chunk..(o + 1) * chunk]);
            dst += chunk;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_nchw_to_nhwc() {
        // [1, 2, 2, 3] NCHW... use shape [2, 3] perm [1, 0] and a 3-D case.
        let mut out = vec![0; 6];
        transpose(&[2, 3], &[1, 0], &[1, 2, 3, 4, 5, 6], &mut out).unwrap();
        assert_eq!(out, vec![1, 4, 2, 5, 3, 6]);
        let x: Vec<i32> = (0..24).collect();
        let mut y = vec![0; 24];
        transpose(&[2, 3, 4], &[2, 0, 1], &x, &mut y).unwrap();
        for a in 0..2 {
            for b in 0..3 {
                for c in 0..4 {
                    assert_eq!(y[(c * 2 + a) * 3 + b], x[(a * 3 + b) * 4 + c]);
                }
            }
        }
    }

    #[test]
    fn pad_and_concat() {
        let mut out = vec![0i8; 12];
        pad(&[2, 2], &[(1, 0), (0, 2)], -1i8, &[1, 2, 3, 4], &mut out).unwrap();
        assert_eq!(out, vec![-1, -1, -1, -1, 1, 2, -1, -1, 3, 4, -1, -1]);
        let mut c = vec![0u8; 6];
        concat(&[(&[2, 1][..], &[1u8, 2][..]), (&[2, 2][..], &[3u8, 4, 5, 6][..])], 1, &mut c).unwrap();
        assert_eq!(c, vec![1, 3, 4, 2, 5, 6]);
    }
}
