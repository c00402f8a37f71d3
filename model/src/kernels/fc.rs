//! Fully connected: out[r, o] = bias[o] + sum_k (x[r, k] - zx) * (w[o, k] - zw[o]).
//!
//! Mirrors tflite-micro `reference_integer_ops::FullyConnected` (which requantises with the same
//! double rounding as CONV_2D, `MultiplyByQuantizedMultiplier`), CMSIS-NN
//! `arm_fully_connected_s8` (incl. the per-channel and filter-offset variants) and onnxruntime's
//! QGemm / MatMulInteger output processing via the [`OutputStage`].

use super::{check_len, check_per_channel, check_zero_points, dot_i16, kerr, KResult, QType, Q8};
use crate::quant::OutputStage;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FcGeometry {
    /// Number of input rows (batch).
    pub rows: usize,
    /// Accumulation depth K.
    pub in_features: usize,
    /// Output features O.
    pub out_features: usize,
}

impl FcGeometry {
    /// Geometry from the input element count and `[O, K]` weights.
    pub fn new(input_len: usize, weights: &[usize]) -> KResult<Self> {
        let &[out_features, in_features] = weights else {
            return kerr(format!("FC weights must be 2-D [out, in], got {weights:?}"));
        };
        if in_features == 0 || !input_len.is_multiple_of(in_features) {
            return kerr(format!("FC input of {input_len} elements is not rows of K = {in_features}"));
        }
        Ok(FcGeometry { rows: input_len / in_features, in_features, out_features })
    }
}

/// Zero points of the FC operands (weights: per tensor or per output feature).
#[derive(Clone, Debug, PartialEq)]
pub struct FcQuant {
    pub input_zero_point: i32,
    pub weight_zero_points: Vec<i32>,
}

fn fc_core<X: Q8, W: Q8>(
    g: &FcGeometry,
    q: &FcQuant,
    input: &[X],
    weights: &[W],
    bias: Option<&[i32]>,
    mut sink: impl FnMut(usize, usize, i32),
) -> KResult {
    let (k, n_out) = (g.in_features, g.out_features);
    check_len("FC input", input.len(), g.rows * k)?;
    check_len("FC weights", weights.len(), n_out * k)?;
    if let Some(b) = bias {
        check_len("FC bias", b.len(), n_out)?;
    }
    check_per_channel("FC weight zero points", q.weight_zero_points.len(), n_out)?;
    check_zero_points("input", &[q.input_zero_point])?;
    check_zero_points("weight", &q.weight_zero_points)?;
    let zw = |o: usize| q.weight_zero_points[if q.weight_zero_points.len() == 1 { 0 } else { o }];
    let wq: Vec<i16> = weights.iter().enumerate().map(|(i, w)| (w.to_i32() - zw(i / k)) as i16).collect();
    let mut xrow = vec![0i16; k];
    for r in 0..g.rows {
        for (d, s) in xrow.iter_mut().zip(&input[r * k..(r + 1) * k]) {
            *d = (s.to_i32() - q.input_zero_point) as i16;
        }
        for o in 0..n_out {
            let acc = dot_i16(&xrow, &wq[o * k..(o + 1) * k]).wrapping_add(bias.map_or(0, |b| b[o]));
            sink(r * n_out + o, o, acc);
        }
    }
    Ok(())
}

/// Quantized FC with requantised output (TFLite FULLY_CONNECTED, ONNX QGemm).
pub fn fully_connected_q<X: Q8, W: Q8, Y: QType>(
    g: &FcGeometry,
    q: &FcQuant,
    input: &[X],
    weights: &[W],
    bias: Option<&[i32]>,
    stage: &OutputStage,
    out: &mut [Y],
) -> KResult {
    check_per_channel("output stage", stage.requant.channels(), g.out_features)?;
    check_len("FC output", out.len(), g.rows * g.out_features)?;
    fc_core(g, q, input, weights, bias, |i, o, acc| out[i] = Y::from_i32_sat(stage.apply(acc, o)))
}

/// Quantized FC returning the raw int32 accumulators.
pub fn fully_connected_acc<X: Q8, W: Q8>(
    g: &FcGeometry,
    q: &FcQuant,
    input: &[X],
    weights: &[W],
    bias: Option<&[i32]>,
    out: &mut [i32],
) -> KResult {
    check_len("FC output", out.len(), g.rows * g.out_features)?;
    fc_core(g, q, input, weights, bias, |i, _, acc| out[i] = acc)
}

/// Float FC (TFLite `reference_ops::FullyConnected` order: dot product, + bias, clamp).
pub fn fully_connected_f32(
    g: &FcGeometry,
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    act: (f32, f32),
    out: &mut [f32],
) -> KResult {
    let (k, n_out) = (g.in_features, g.out_features);
    check_len("FC input", input.len(), g.rows * k)?;
    check_len("FC weights", weights.len(), n_out * k)?;
    check_len("FC output", out.len(), g.rows * n_out)?;
    if let Some(b) = bias {
        check_len("FC bias", b.len(), n_out)?;
    }
    for r in 0..g.rows {
        let x = &input[r * k..(r + 1) * k];
        for o in 0..n_out {
            let mut total = 0.0f32;
            for (a, w) in x.iter().zip(&weights[o * k..(o + 1) * k]) {
                total += a * w;
            }
            let v = total + bias.map_or(0.0, |b| b[o]);
            out[r * n_out + o] = v.max(act.0).min(act.1);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::Requant;

    #[test]
    fn hand_computed_with_weight_zero_point() {
        let g = FcGeometry::new(6, &[2, 3]).unwrap();
        assert_eq!(g.rows, 2);
        let x: Vec<u8> = vec![1, 2, 3, 4, 5, 6];
        let w: Vec<u8> = vec![11, 12, 13, 9, 10, 11];
        let q = FcQuant { input_zero_point: 1, weight_zero_points: vec![10] };
        let mut out = vec![0i32; 4];
        fully_connected_acc(&g, &q, &x, &w, Some(&[5, -5]), &mut out).unwrap();
        // row 0: x-zx = [0,1,2]; w-zw = [1,2,3] and [-1,0,1].
        assert_eq!(out, vec![5 + 2 + 6, -5 + 2, 5 + 3 + 8 + 15, -5 - 3 + 5]);
    }

    #[test]
    fn requantised_per_channel() {
        let g = FcGeometry::new(2, &[2, 2]).unwrap();
        let stage = OutputStage {
            requant: Requant::Fixed { multiplier: vec![1 << 30, 1 << 30], shift: vec![0, 1] },
            zero_point: 0,
            qmin: -128,
            qmax: 127,
            act_min: -10,
            act_max: 127,
        };
        let q = FcQuant { input_zero_point: 0, weight_zero_points: vec![0] };
        let mut out = vec![0i8; 2];
        fully_connected_q(&g, &q, &[3i8, -5], &[1i8, 1, 4, 1], None, &stage, &mut out).unwrap();
        // acc = [-2, 7]: -2 * 0.5 = -1; 7 * 1.0 = 7.
        assert_eq!(out, vec![-1, 7]);
    }
}
