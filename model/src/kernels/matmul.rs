//! Batched matrix multiply `a [.., M, K] x b [.., K, N]` with numpy broadcasting of the leading
//! dimensions.
//!
//! Mirrors ONNX MatMulInteger (raw int32; `a_zero_point` per tensor or per row M, `b_zero_point`
//! per tensor or per column N) and QLinearMatMul / TFLite BATCH_MATMUL (requantised through the
//! [`OutputStage`], whose channel is the output column n).

use super::{
    broadcast_strides, check_len, check_per_channel, check_zero_points, dot_i16, kerr, strides, KResult, QType, Q8,
};
use crate::quant::OutputStage;
use crate::shape::broadcast;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatMulGeometry {
    pub a_shape: Vec<usize>,
    pub b_shape: Vec<usize>,
    /// Broadcast batch dims followed by `[M, N]`.
    pub out_shape: Vec<usize>,
    pub m: usize,
    pub k: usize,
    pub n: usize,
}

impl MatMulGeometry {
    pub fn new(a_shape: &[usize], b_shape: &[usize]) -> KResult<Self> {
        if a_shape.len() < 2 || b_shape.len() < 2 {
            return kerr(format!("MatMul operands must be at least 2-D, got {a_shape:?} and {b_shape:?}"));
        }
        let (m, k) = (a_shape[a_shape.len() - 2], a_shape[a_shape.len() - 1]);
        let (k2, n) = (b_shape[b_shape.len() - 2], b_shape[b_shape.len() - 1]);
        if k != k2 {
            return kerr(format!("MatMul inner dimensions differ: {a_shape:?} x {b_shape:?}"));
        }
        let mut out_shape = broadcast(&a_shape[..a_shape.len() - 2], &b_shape[..b_shape.len() - 2])
            .ok_or_else(|| super::KernelError(format!("MatMul batch dims of {a_shape:?} and {b_shape:?} differ")))?;
        out_shape.extend([m, n]);
        Ok(MatMulGeometry { a_shape: a_shape.to_vec(), b_shape: b_shape.to_vec(), out_shape, m, k, n })
    }

    pub fn output_len(&self) -> usize {
        self.out_shape.iter().product()
    }

    /// `(a_offset, b_offset)` in elements of every output matrix, in output order.
    fn batch_offsets(&self) -> KResult<Vec<(usize, usize)>> {
        let batch_shape = &self.out_shape[..self.out_shape.len() - 2];
        let a_batch = &self.a_shape[..self.a_shape.len() - 2];
        let b_batch = &self.b_shape[..self.b_shape.len() - 2];
        let sa = broadcast_strides(a_batch, batch_shape).ok_or_else(|| super::KernelError("batch broadcast".into()))?;
        let sb = broadcast_strides(b_batch, batch_shape).ok_or_else(|| super::KernelError("batch broadcast".into()))?;
        let count: usize = batch_shape.iter().product();
        let out_strides = strides(batch_shape);
        let (a_mat, b_mat) = (self.m * self.k, self.k * self.n);
        Ok((0..count)
            .map(|i| {
                let (mut oa, mut ob) = (0, 0);
                for d in 0..batch_shape.len() {
                    let idx = (i / out_strides[d]) % batch_shape[d];
                    oa += idx * sa[d];
                    ob += idx * sb[d];
                }
                (oa * a_mat, ob * b_mat)
            })
            .collect())
    }
}

/// Zero points: `a` per tensor or per row (M), `b` per tensor or per column (N).
#[derive(Clone, Debug, PartialEq)]
pub struct MatMulQuant {
    pub a_zero_points: Vec<i32>,
    pub b_zero_points: Vec<i32>,
}

fn matmul_core<A: Q8, B: Q8>(
    g: &MatMulGeometry,
    q: &MatMulQuant,
    a: &[A],
    b: &[B],
    mut sink: impl FnMut(usize, usize, i32),
) -> KResult {
    check_len("MatMul a", a.len(), g.a_shape.iter().product())?;
    check_len("MatMul b", b.len(), g.b_shape.iter().product())?;
    check_per_channel("MatMul a zero points", q.a_zero_points.len(), g.m)?;
    check_per_channel("MatMul b zero points", q.b_zero_points.len(), g.n)?;
    check_zero_points("a", &q.a_zero_points)?;
    check_zero_points("b", &q.b_zero_points)?;
    let (m, k, n) = (g.m, g.k, g.n);
    let za = |r: usize| q.a_zero_points[if q.a_zero_points.len() == 1 { 0 } else { r }];
    let zb = |c: usize| q.b_zero_points[if q.b_zero_points.len() == 1 { 0 } else { c }];
    let mut bt = vec![0i16; n * k]; // one b matrix, transposed to [N, K], zero point removed
    let mut arow = vec![0i16; k];
    let mut last_b = usize::MAX;
    for (bi, (oa, ob)) in g.batch_offsets()?.into_iter().enumerate() {
        if ob != last_b {
            for kk in 0..k {
                for c in 0..n {
                    bt[c * k + kk] = (b[ob + kk * n + c].to_i32() - zb(c)) as i16;
                }
            }
            last_b = ob;
        }
        for r in 0..m {
            for (d, s) in arow.iter_mut().zip(&a[oa + r * k..oa + (r + 1) * k]) {
                *d = (s.to_i32() - za(r)) as i16;
            }
            for c in 0..n {
                sink((bi * m + r) * n + c, c, dot_i16(&arow, &bt[c * k..(c + 1) * k]));
            }
        }
    }
    Ok(())
}

/// Raw int32 result (ONNX MatMulInteger).
pub fn matmul_acc<A: Q8, B: Q8>(g: &MatMulGeometry, q: &MatMulQuant, a: &[A], b: &[B], out: &mut [i32]) -> KResult {
    check_len("MatMul output", out.len(), g.output_len())?;
    matmul_core(g, q, a, b, |i, _, acc| out[i] = acc)
}

/// Requantised result (QLinearMatMul, TFLite BATCH_MATMUL); stage channel = column.
pub fn matmul_q<A: Q8, B: Q8, Y: QType>(
    g: &MatMulGeometry,
    q: &MatMulQuant,
    a: &[A],
    b: &[B],
    stage: &OutputStage,
    out: &mut [Y],
) -> KResult {
    check_per_channel("output stage", stage.requant.channels(), g.n)?;
    check_len("MatMul output", out.len(), g.output_len())?;
    matmul_core(g, q, a, b, |i, c, acc| out[i] = Y::from_i32_sat(stage.apply(acc, c)))
}

/// Float MatMul (dot products in k order).
pub fn matmul_f32(g: &MatMulGeometry, a: &[f32], b: &[f32], out: &mut [f32]) -> KResult {
    check_len("MatMul a", a.len(), g.a_shape.iter().product())?;
    check_len("MatMul b", b.len(), g.b_shape.iter().product())?;
    check_len("MatMul output", out.len(), g.output_len())?;
    let (m, k, n) = (g.m, g.k, g.n);
    for (bi, (oa, ob)) in g.batch_offsets()?.into_iter().enumerate() {
        for r in 0..m {
            for c in 0..n {
                let mut total = 0.0f32;
                for kk in 0..k {
                    total += a[oa + r * k + kk] * b[ob + kk * n + c];
                }
                out[(bi * m + r) * n + c] = total;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_batches_and_zero_points() {
        // a [2, 1, 2, 3] x b [3, 3, 2] -> [2, 3, 2, 2]
        let g = MatMulGeometry::new(&[2, 1, 2, 3], &[3, 3, 2]).unwrap();
        assert_eq!(g.out_shape, vec![2, 3, 2, 2]);
        let a: Vec<u8> = (0..12).map(|v| v as u8 + 3).collect();
        let b: Vec<i8> = (0..18).map(|v| (v as i8) - 9).collect();
        let q = MatMulQuant { a_zero_points: vec![3], b_zero_points: vec![1, -1] };
        let mut out = vec![0i32; g.output_len()];
        matmul_acc(&g, &q, &a, &b, &mut out).unwrap();
        for i in 0..2 {
            for j in 0..3 {
                for r in 0..2 {
                    for c in 0..2 {
                        let mut want = 0;
                        for kk in 0..3 {
                            let av = a[i * 6 + r * 3 + kk] as i32 - 3;
                            let bv = b[j * 6 + kk * 2 + c] as i32 - [1, -1][c];
                            want += av * bv;
                        }
                        assert_eq!(out[((i * 3 + j) * 2 + r) * 2 + c], want);
                    }
                }
            }
        }
    }
}
