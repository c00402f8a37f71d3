//! 2-D convolution over NHWC activations and OHWI weights: standard, grouped and depthwise
//! (groups == in_channels), with stride, dilation and asymmetric padding.
//!
//! Mirrors tflite-micro `reference_integer_ops::ConvPerChannel` / `DepthwiseConvPerChannel`
//! (and CMSIS-NN `arm_convolve_s8` / `arm_depthwise_conv_s8`, onnxruntime `QLinearConv` /
//! `ConvInteger`): acc[o] = bias[o] + sum (x - zx) * (w - zw[o]) over the window, then the
//! per-channel [`OutputStage`]. Padded positions contribute x = zx, i.e. exactly zero after the
//! offset, so they are skipped. Depthwise output channel o reads input channel o / multiplier.

use super::{check_len, check_per_channel, check_zero_points, dot_i16, kerr, KResult, QType, Q8};
use crate::ir::{Conv2dAttrs, Padding2d};
use crate::quant::OutputStage;
use crate::shape::window_output;

/// Everything that fixes the loop nest of a convolution.
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2dGeometry {
    pub batch: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub in_c: usize,
    pub out_h: usize,
    pub out_w: usize,
    pub out_c: usize,
    pub kernel_h: usize,
    pub kernel_w: usize,
    /// `[h, w]`.
    pub stride: [usize; 2],
    /// `[h, w]`.
    pub dilation: [usize; 2],
    pub padding: Padding2d,
    pub groups: usize,
}

impl Conv2dGeometry {
    /// Geometry from an NHWC input shape, an OHWI weight shape and the op attributes.
    pub fn new(input: &[usize], weights: &[usize], attrs: &Conv2dAttrs) -> KResult<Self> {
        let (&[batch, in_h, in_w, in_c], &[out_c, kernel_h, kernel_w, _]) = (input, weights) else {
            return kerr(format!("conv needs a 4-D NHWC input and 4-D OHWI weights, got {input:?} and {weights:?}"));
        };
        let p = attrs.padding;
        let out_h = window_output(in_h, p.top, p.bottom, kernel_h, attrs.stride[0], attrs.dilation[0]);
        let out_w = window_output(in_w, p.left, p.right, kernel_w, attrs.stride[1], attrs.dilation[1]);
        let (Some(out_h), Some(out_w)) = (out_h, out_w) else {
            return kerr(format!("conv window {kernel_h}x{kernel_w} does not fit input {input:?} with {p:?}"));
        };
        let g = Conv2dGeometry {
            batch,
            in_h,
            in_w,
            in_c,
            out_h,
            out_w,
            out_c,
            kernel_h,
            kernel_w,
            stride: attrs.stride,
            dilation: attrs.dilation,
            padding: p,
            groups: attrs.groups,
        };
        g.check()?;
        if weights[3] != g.in_c / g.groups {
            return kerr(format!("weights {weights:?} need {} input channels per group", g.in_c / g.groups));
        }
        Ok(g)
    }

    /// Internal consistency: groups divide both channel counts, windows fit.
    pub fn check(&self) -> KResult {
        if self.groups == 0 || !self.in_c.is_multiple_of(self.groups) || !self.out_c.is_multiple_of(self.groups) {
            return kerr(format!(
                "groups = {} does not divide in_channels = {} and out_channels = {}",
                self.groups, self.in_c, self.out_c
            ));
        }
        if self.stride.contains(&0) || self.dilation.contains(&0) || self.kernel_h == 0 || self.kernel_w == 0 {
            return kerr("zero stride, dilation or kernel size");
        }
        let p = self.padding;
        let oh = window_output(self.in_h, p.top, p.bottom, self.kernel_h, self.stride[0], self.dilation[0]);
        let ow = window_output(self.in_w, p.left, p.right, self.kernel_w, self.stride[1], self.dilation[1]);
        if oh != Some(self.out_h) || ow != Some(self.out_w) {
            return kerr(format!(
                "output {}x{} does not follow from input {}x{}, kernel {}x{}, {:?}",
                self.out_h, self.out_w, self.in_h, self.in_w, self.kernel_h, self.kernel_w, p
            ));
        }
        Ok(())
    }

    pub fn input_len(&self) -> usize {
        self.batch * self.in_h * self.in_w * self.in_c
    }

    pub fn weight_len(&self) -> usize {
        self.out_c * self.kernel_h * self.kernel_w * (self.in_c / self.groups)
    }

    pub fn output_len(&self) -> usize {
        self.batch * self.out_h * self.out_w * self.out_c
    }

    /// Input row/column of kernel tap `k` for output position `o` along one axis, if inside.
    #[inline]
    fn tap(o: usize, k: usize, stride: usize, dilation: usize, pad: usize, size: usize) -> Option<usize> {
        (o * stride + k * dilation).checked_sub(pad).filter(|&i| i < size)
    }
}

/// Zero points of the two MAC operands.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvQuant {
    pub input_zero_point: i32,
    /// One entry (per tensor) or one per output channel.
    pub weight_zero_points: Vec<i32>,
}

impl ConvQuant {
    /// Symmetric weights (zero point 0), the TFLite int8 case.
    pub fn symmetric(input_zero_point: i32) -> Self {
        ConvQuant { input_zero_point, weight_zero_points: vec![0] }
    }
}

/// Quantized convolution with requantised output (TFLite CONV_2D / DEPTHWISE_CONV_2D,
/// ONNX QLinearConv).
pub fn conv2d_q<X: Q8, W: Q8, Y: QType>(
    g: &Conv2dGeometry,
    q: &ConvQuant,
    input: &[X],
    weights: &[W],
    bias: Option<&[i32]>,
    stage: &OutputStage,
    out: &mut [Y],
) -> KResult {
    check_per_channel("output stage", stage.requant.channels(), g.out_c)?;
    check_len("conv output", out.len(), g.output_len())?;
    conv2d_core(g, q, input, weights, bias, |i, o, acc| out[i] = Y::from_i32_sat(stage.apply(acc, o)))
}

/// Quantized convolution returning the raw int32 accumulators (ONNX ConvInteger).
pub fn conv2d_acc<X: Q8, W: Q8>(
    g: &Conv2dGeometry,
    q: &ConvQuant,
    input: &[X],
    weights: &[W],
    bias: Option<&[i32]>,
    out: &mut [i32],
) -> KResult {
    check_len("conv output", out.len(), g.output_len())?;
    conv2d_core(g, q, input, weights, bias, |i, _, acc| out[i] = acc)
}

/// The shared accumulation loop; `sink(output_index, output_channel, acc)` consumes results.
fn conv2d_core<X: Q8, W: Q8>(
    g: &Conv2dGeometry,
    q: &ConvQuant,
    input: &[X],
    weights: &[W],
    bias: Option<&[i32]>,
    mut sink: impl FnMut(usize, usize, i32),
) -> KResult {
    g.check()?;
    check_len("conv input", input.len(), g.input_len())?;
    check_len("conv weights", weights.len(), g.weight_len())?;
    if let Some(b) = bias {
        check_len("conv bias", b.len(), g.out_c)?;
    }
    check_per_channel("weight zero points", q.weight_zero_points.len(), g.out_c)?;
    check_zero_points("input", &[q.input_zero_point])?;
    check_zero_points("weight", &q.weight_zero_points)?;

    let cg_in = g.in_c / g.groups;
    let cg_out = g.out_c / g.groups;
    let taps = g.kernel_h * g.kernel_w;
    let k_len = taps * cg_in;
    let zx = q.input_zero_point;
    let zw = |o: usize| q.weight_zero_points[if q.weight_zero_points.len() == 1 { 0 } else { o }];
    let bias_of = |o: usize| bias.map_or(0, |b| b[o]);

    if cg_in == 1 {
        // Depthwise (and single-input-channel) path: weights transposed to [tap][O] so the inner
        // loop runs over contiguous output channels.
        let mut wt = vec![0i16; taps * g.out_c];
        for o in 0..g.out_c {
            for t in 0..taps {
                wt[t * g.out_c + o] = (weights[o * taps + t].to_i32() - zw(o)) as i16;
            }
        }
        let mut acc = vec![0i32; g.out_c];
        let mut xrow = vec![0i16; g.in_c];
        for b in 0..g.batch {
            for oy in 0..g.out_h {
                for ox in 0..g.out_w {
                    for (o, a) in acc.iter_mut().enumerate() {
                        *a = bias_of(o);
                    }
                    for ky in 0..g.kernel_h {
                        let Some(iy) = Conv2dGeometry::tap(oy, ky, g.stride[0], g.dilation[0], g.padding.top, g.in_h)
                        else {
                            continue;
                        };
                        for kx in 0..g.kernel_w {
                            let Some(ix) =
                                Conv2dGeometry::tap(ox, kx, g.stride[1], g.dilation[1], g.padding.left, g.in_w)
                            else {
                                continue;
                            };
                            let base = ((b * g.in_h + iy) * g.in_w + ix) * g.in_c;
                            for (d, s) in xrow.iter_mut().zip(&input[base..base + g.in_c]) {
                                *d = (s.to_i32() - zx) as i16;
                            }
                            let wrow = &wt[(ky * g.kernel_w + kx) * g.out_c..][..g.out_c];
                            if cg_out == 1 {
                                for ((a, &x), &w) in acc.iter_mut().zip(&xrow).zip(wrow) {
                                    *a = a.wrapping_add(x as i32 * w as i32);
                                }
                            } else {
                                for (o, (a, &w)) in acc.iter_mut().zip(wrow).enumerate() {
                                    *a = a.wrapping_add(xrow[o / cg_out] as i32 * w as i32);
                                }
                            }
                        }
                    }
                    let obase = ((b * g.out_h + oy) * g.out_w + ox) * g.out_c;
                    for (o, &a) in acc.iter().enumerate() {
                        sink(obase + o, o, a);
                    }
                }
            }
        }
        return Ok(());
    }

    // General path: per output pixel and group, gather the (zero-point-removed) input patch in
    // OHWI order, padded taps as 0, then one i16 dot product per output channel.
    let wq: Vec<i16> = weights.iter().enumerate().map(|(i, w)| (w.to_i32() - zw(i / k_len)) as i16).collect();
    let mut col = vec![0i16; k_len];
    for b in 0..g.batch {
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                let obase = ((b * g.out_h + oy) * g.out_w + ox) * g.out_c;
                for grp in 0..g.groups {
                    let c0 = grp * cg_in;
                    for ky in 0..g.kernel_h {
                        let iy = Conv2dGeometry::tap(oy, ky, g.stride[0], g.dilation[0], g.padding.top, g.in_h);
                        for kx in 0..g.kernel_w {
                            let dst = &mut col[(ky * g.kernel_w + kx) * cg_in..][..cg_in];
                            let ix = Conv2dGeometry::tap(ox, kx, g.stride[1], g.dilation[1], g.padding.left, g.in_w);
                            match (iy, ix) {
                                (Some(iy), Some(ix)) => {
                                    let base = ((b * g.in_h + iy) * g.in_w + ix) * g.in_c + c0;
                                    for (d, s) in dst.iter_mut().zip(&input[base..base + cg_in]) {
                                        *d = (s.to_i32() - zx) as i16;
                                    }
                                }
                                _ => dst.fill(0),
                            }
                        }
                    }
                    for o in grp * cg_out..(grp + 1) * cg_out {
                        let acc = bias_of(o).wrapping_add(dot_i16(&col, &wq[o * k_len..][..k_len]));
                        sink(obase + o, o, acc);
                    }
                }
            }
        }
    }
    Ok(())
}

/// Float convolution (TFLite `reference_ops::Conv` order: sum over (ky, kx, c), then + bias,
/// then the activation clamp). Used for float graphs and the ONNX Conv geometry node tests.
pub fn conv2d_f32(
    g: &Conv2dGeometry,
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    act: (f32, f32),
    out: &mut [f32],
) -> KResult {
    g.check()?;
    check_len("conv input", input.len(), g.input_len())?;
    check_len("conv weights", weights.len(), g.weight_len())?;
    check_len("conv output", out.len(), g.output_len())?;
    if let Some(b) = bias {
        check_len("conv bias", b.len(), g.out_c)?;
    }
    let cg_in = g.in_c / g.groups;
    let cg_out = g.out_c / g.groups;
    let k_len = g.kernel_h * g.kernel_w * cg_in;
    for b in 0..g.batch {
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                let obase = ((b * g.out_h + oy) * g.out_w + ox) * g.out_c;
                for o in 0..g.out_c {
                    let c0 = (o / cg_out) * cg_in;
                    let w = &weights[o * k_len..][..k_len];
                    let mut total = 0.0f32;
                    for ky in 0..g.kernel_h {
                        let Some(iy) = Conv2dGeometry::tap(oy, ky, g.stride[0], g.dilation[0], g.padding.top, g.in_h)
                        else {
                            continue;
                        };
                        for kx in 0..g.kernel_w {
                            let Some(ix) =
                                Conv2dGeometry::tap(ox, kx, g.stride[1], g.dilation[1], g.padding.left, g.in_w)
                            else {
                                continue;
                            };
                            let xs = &input[((b * g.in_h + iy) * g.in_w + ix) * g.in_c + c0..][..cg_in];
                            let ws = &w[(ky * g.kernel_w + kx) * cg_in..][..cg_in];
                            for (x, wv) in xs.iter().zip(ws) {
                                total += x * wv;
                            }
                        }
                    }
                    let v = total + bias.map_or(0.0, |bv| bv[o]);
                    out[obase + o] = v.max(act.0).min(act.1);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Activation;
    use crate::quant::Requant;

    fn attrs(stride: [usize; 2], dilation: [usize; 2], padding: Padding2d, groups: usize) -> Conv2dAttrs {
        Conv2dAttrs { stride, dilation, padding, groups, activation: Activation::None }
    }

    /// Direct formula, one output at a time, padded taps as x = zx.
    #[allow(clippy::too_many_arguments)]
    fn naive(g: &Conv2dGeometry, x: &[i32], w: &[i32], zx: i32, zw: &[i32], bias: &[i32]) -> Vec<i64> {
        let cg_in = g.in_c / g.groups;
        let cg_out = g.out_c / g.groups;
        let mut out = vec![0i64; g.output_len()];
        for b in 0..g.batch {
            for oy in 0..g.out_h {
                for ox in 0..g.out_w {
                    for o in 0..g.out_c {
                        let zwo = zw[if zw.len() == 1 { 0 } else { o }] as i64;
                        let mut acc = bias[o] as i64;
                        for ky in 0..g.kernel_h {
                            for kx in 0..g.kernel_w {
                                for c in 0..cg_in {
                                    let iy = (oy * g.stride[0] + ky * g.dilation[0]) as i64 - g.padding.top as i64;
                                    let ix = (ox * g.stride[1] + kx * g.dilation[1]) as i64 - g.padding.left as i64;
                                    let ci = (o / cg_out) * cg_in + c;
                                    let xv = if iy < 0 || ix < 0 || iy >= g.in_h as i64 || ix >= g.in_w as i64 {
                                        zx as i64
                                    } else {
                                        x[((b * g.in_h + iy as usize) * g.in_w + ix as usize) * g.in_c + ci] as i64
                                    };
                                    let wv = w[((o * g.kernel_h + ky) * g.kernel_w + kx) * cg_in + c] as i64;
                                    acc += (xv - zx as i64) * (wv - zwo);
                                }
                            }
                        }
                        out[((b * g.out_h + oy) * g.out_w + ox) * g.out_c + o] = acc;
                    }
                }
            }
        }
        out
    }

    fn pseudo(n: usize, seed: u32, lo: i32, hi: i32) -> Vec<i32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(1103515245).wrapping_add(12345);
                lo + ((s >> 8) % (hi - lo + 1) as u32) as i32
            })
            .collect()
    }

    #[test]
    fn hand_computed_1x1_and_padding() {
        // 1x2x2x1 input, 2x2 kernel, pad 1 all round: corners see one pixel each.
        let a = attrs([1, 1], [1, 1], Padding2d { top: 1, left: 1, bottom: 1, right: 1 }, 1);
        let g = Conv2dGeometry::new(&[1, 2, 2, 1], &[1, 2, 2, 1], &a).unwrap();
        assert_eq!((g.out_h, g.out_w), (3, 3));
        let x: Vec<i8> = vec![11, 12, 13, 14]; // zx = 10 -> 1, 2, 3, 4
        let w: Vec<i8> = vec![1, 2, 3, 4];
        let mut out = vec![0i32; 9];
        conv2d_acc(&g, &ConvQuant::symmetric(10), &x, &w, Some(&[100]), &mut out).unwrap();
        // out(0,0) = x(0,0)*w(1,1) = 1*4; out(1,1) = 1*1+2*2+3*3+4*4 = 30.
        assert_eq!(out, vec![104, 111, 106, 114, 130, 114, 106, 111, 104]);
    }

    #[test]
    fn depthwise_and_grouped_match_naive() {
        let cases = [
            // (input NHWC, weights OHWI, stride, dilation, padding, groups)
            ([2, 5, 6, 3], [9, 3, 2, 1], [2, 1], [1, 2], Padding2d { top: 1, left: 0, bottom: 2, right: 1 }, 3),
            ([1, 4, 4, 4], [4, 3, 3, 1], [1, 1], [1, 1], Padding2d { top: 1, left: 1, bottom: 1, right: 1 }, 4),
            ([1, 5, 5, 6], [4, 2, 3, 3], [1, 2], [2, 1], Padding2d { top: 0, left: 2, bottom: 1, right: 0 }, 2),
            ([1, 3, 7, 2], [5, 1, 3, 2], [1, 3], [1, 1], Padding2d { top: 0, left: 1, bottom: 0, right: 1 }, 1),
        ];
        for (n, (xs, ws, stride, dil, pad, groups)) in cases.into_iter().enumerate() {
            let g = Conv2dGeometry::new(&xs, &ws, &attrs(stride, dil, pad, groups)).unwrap();
            let x = pseudo(g.input_len(), n as u32 + 1, 0, 255);
            let w = pseudo(g.weight_len(), n as u32 + 7, -128, 127);
            let bias = pseudo(g.out_c, n as u32 + 9, -1000, 1000);
            let zw: Vec<i32> = pseudo(g.out_c, 3, -5, 5);
            let want = naive(&g, &x, &w, 37, &zw, &bias);
            let xu: Vec<u8> = x.iter().map(|&v| v as u8).collect();
            let wi: Vec<i8> = w.iter().map(|&v| v as i8).collect();
            let mut got = vec![0i32; g.output_len()];
            let q = ConvQuant { input_zero_point: 37, weight_zero_points: zw.clone() };
            conv2d_acc(&g, &q, &xu, &wi, Some(&bias), &mut got).unwrap();
            assert_eq!(got.iter().map(|&v| v as i64).collect::<Vec<_>>(), want, "case {n}");
        }
    }

    #[test]
    fn requantised_output_uses_stage_per_channel() {
        let g =
            Conv2dGeometry::new(&[1, 1, 1, 2], &[2, 1, 1, 2], &attrs([1, 1], [1, 1], Padding2d::default(), 1)).unwrap();
        let stage = OutputStage {
            requant: Requant::Fixed { multiplier: vec![1 << 30, 1 << 30], shift: vec![0, -1] },
            zero_point: -1,
            qmin: -128,
            qmax: 127,
            act_min: -128,
            act_max: 127,
        };
        let mut out = vec![0i8; 2];
        // acc = [3*1 + 4*2, 3*1 + 4*2] = 11: 11/2 -> 6 (half away), 11/4 -> 3.
        conv2d_q(&g, &ConvQuant::symmetric(0), &[3i8, 4], &[1i8, 2, 1, 2], None, &stage, &mut out).unwrap();
        assert_eq!(out, vec![5, 2]);
    }

    #[test]
    fn float_conv_matches_integer_formula() {
        let g = Conv2dGeometry::new(
            &[1, 4, 5, 2],
            &[3, 3, 2, 2],
            &attrs([2, 1], [1, 2], Padding2d { top: 1, left: 2, bottom: 1, right: 0 }, 1),
        )
        .unwrap();
        let x = pseudo(g.input_len(), 4, -9, 9);
        let w = pseudo(g.weight_len(), 5, -9, 9);
        let bias = vec![1, -2, 3];
        let want = naive(&g, &x, &w, 0, &[0], &bias);
        let xf: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let wf: Vec<f32> = w.iter().map(|&v| v as f32).collect();
        let bf: Vec<f32> = bias.iter().map(|&v| v as f32).collect();
        let mut got = vec![0f32; g.output_len()];
        conv2d_f32(&g, &xf, &wf, Some(&bf), (f32::NEG_INFINITY, f32::INFINITY), &mut got).unwrap();
        assert_eq!(got.iter().map(|&v| v as i64).collect::<Vec<_>>(), want);
    }

    #[test]
    fn rejects_bad_lengths_and_zero_points() {
        let g =
            Conv2dGeometry::new(&[1, 2, 2, 1], &[1, 1, 1, 1], &attrs([1, 1], [1, 1], Padding2d::default(), 1)).unwrap();
        let mut out = vec![0i32; 4];
        assert!(conv2d_acc(&g, &ConvQuant::symmetric(0), &[0i8; 3], &[1i8], None, &mut out).is_err());
        assert!(conv2d_acc(&g, &ConvQuant::symmetric(999), &[0i8; 4], &[1i8], None, &mut out).is_err());
    }

    /// Independent formulation: build the full im2col matrix [pixels, KH*KW*C] with padded taps
    /// equal to the input zero point, then multiply by the weight matrix [K, O] in i64.
    fn im2col_matmul(g: &Conv2dGeometry, x: &[i32], w: &[i32], zx: i32, zw: &[i32], bias: &[i32]) -> Vec<i64> {
        let k = g.kernel_h * g.kernel_w * g.in_c;
        let pixels = g.batch * g.out_h * g.out_w;
        let mut cols = vec![zx as i64; pixels * k];
        for p in 0..pixels {
            let (b, oy, ox) = (p / (g.out_h * g.out_w), (p / g.out_w) % g.out_h, p % g.out_w);
            for ky in 0..g.kernel_h {
                for kx in 0..g.kernel_w {
                    let iy = (oy * g.stride[0] + ky * g.dilation[0]) as i64 - g.padding.top as i64;
                    let ix = (ox * g.stride[1] + kx * g.dilation[1]) as i64 - g.padding.left as i64;
                    if iy >= 0 && ix >= 0 && (iy as usize) < g.in_h && (ix as usize) < g.in_w {
                        for c in 0..g.in_c {
                            cols[p * k + (ky * g.kernel_w + kx) * g.in_c + c] =
                                x[((b * g.in_h + iy as usize) * g.in_w + ix as usize) * g.in_c + c] as i64;
                        }
                    }
                }
            }
        }
        let mut out = vec![0i64; pixels * g.out_c];
        for p in 0..pixels {
            for o in 0..g.out_c {
                let z = zw[if zw.len() == 1 { 0 } else { o }] as i64;
                out[p * g.out_c + o] = bias[o] as i64
                    + (0..k).map(|i| (cols[p * k + i] - zx as i64) * (w[o * k + i] as i64 - z)).sum::<i64>();
            }
        }
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(96))]
        #[test]
        fn conv_groups1_equals_im2col_matmul(
            batch in 1usize..3, in_h in 1usize..9, in_w in 1usize..9, in_c in 1usize..6, out_c in 1usize..6,
            kh in 1usize..4, kw in 1usize..4, sh in 1usize..3, sw in 1usize..3, dh in 1usize..3, dw in 1usize..3,
            pads in proptest::array::uniform4(0usize..3), zx in -128i32..128, per_channel in proptest::bool::ANY,
            seed in 0u32..10_000,
        ) {
            let padding = Padding2d { top: pads[0], left: pads[1], bottom: pads[2], right: pads[3] };
            let a = attrs([sh, sw], [dh, dw], padding, 1);
            // Skip windows that do not fit (the geometry rejects them, as shape inference does).
            let Ok(g) = Conv2dGeometry::new(&[batch, in_h, in_w, in_c], &[out_c, kh, kw, in_c], &a) else {
                return Ok(());
            };
            let x = pseudo(g.input_len(), seed, -128, 127);
            let w = pseudo(g.weight_len(), seed ^ 0x5555, -128, 127);
            let bias = pseudo(out_c, seed ^ 0xAAAA, -100_000, 100_000);
            let zw = if per_channel { pseudo(out_c, seed ^ 0x0F0F, -20, 20) } else { vec![0] };
            let want = im2col_matmul(&g, &x, &w, zx, &zw, &bias);
            let xi: Vec<i8> = x.iter().map(|&v| v as i8).collect();
            let wi: Vec<i8> = w.iter().map(|&v| v as i8).collect();
            let q = ConvQuant { input_zero_point: zx, weight_zero_points: zw };
            let mut got = vec![0i32; g.output_len()];
            conv2d_acc(&g, &q, &xi, &wi, Some(&bias), &mut got).unwrap();
            proptest::prop_assert_eq!(got.iter().map(|&v| v as i64).collect::<Vec<_>>(), want);
        }
    }
}
