//! Pooling over NHWC tensors: windowed average / max and the global (H, W) mean.
//!
//! * TFLite average: `reference_integer_ops::AveragePool` — integer sum over the window clipped
//!   to the input (padding never counted), divided rounding half away from zero, clamped.
//! * Max: `reference_integer_ops::MaxPool` — max over the clipped window, clamped.
//! * onnxruntime average: contrib `QLinearAveragePool` — dequantize to float, float sum in
//!   (h, w) order, divide by the count, `nearbyintf(y / y_scale + y_zp)`.
//! * TFLite MEAN over H, W: tflite-micro `EvalIntegerMean` (reduce_common.cc).
//! * onnxruntime global average: MLAS `MlasQLinearGlobalAveragePoolNchw`.

use super::{check_len, kerr, KResult, QType};
use crate::arith;
use crate::ir::Pool2dAttrs;
use crate::shape::window_output;

#[derive(Clone, Debug, PartialEq)]
pub struct Pool2dGeometry {
    pub batch: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub channels: usize,
    pub out_h: usize,
    pub out_w: usize,
    /// `[h, w]`.
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    /// Leading pads used (the trailing pads only shape the output size).
    pub pad_top: usize,
    pub pad_left: usize,
}

impl Pool2dGeometry {
    pub fn new(input: &[usize], attrs: &Pool2dAttrs) -> KResult<Self> {
        let &[batch, in_h, in_w, channels] = input else {
            return kerr(format!("pooling needs a 4-D NHWC input, got {input:?}"));
        };
        let p = attrs.padding;
        let oh = window_output(in_h, p.top, p.bottom, attrs.kernel[0], attrs.stride[0], 1);
        let ow = window_output(in_w, p.left, p.right, attrs.kernel[1], attrs.stride[1], 1);
        let (Some(out_h), Some(out_w)) = (oh, ow) else {
            return kerr(format!("pool window {:?} does not fit input {input:?} with {p:?}", attrs.kernel));
        };
        Ok(Pool2dGeometry {
            batch,
            in_h,
            in_w,
            channels,
            out_h,
            out_w,
            kernel: attrs.kernel,
            stride: attrs.stride,
            pad_top: p.top,
            pad_left: p.left,
        })
    }

    pub fn input_len(&self) -> usize {
        self.batch * self.in_h * self.in_w * self.channels
    }

    pub fn output_len(&self) -> usize {
        self.batch * self.out_h * self.out_w * self.channels
    }

    fn check(&self, input: usize, output: usize) -> KResult {
        if self.kernel.contains(&0) || self.stride.contains(&0) {
            return kerr("zero pool kernel or stride");
        }
        check_len("pool input", input, self.input_len())?;
        check_len("pool output", output, self.output_len())
    }

    /// Input range `[start, end)` of the window of output `o` along one axis, clipped to the
    /// input, as TFLite computes `filter_x_start` / `filter_x_end`.
    #[inline]
    fn window(o: usize, stride: usize, pad: usize, kernel: usize, size: usize) -> (usize, usize) {
        let origin = (o * stride) as isize - pad as isize;
        let start = origin.max(0) as usize;
        let end = (origin + kernel as isize).clamp(0, size as isize) as usize;
        (start.min(end), end)
    }

    /// Calls `f(output_base, rows, cols)` for each output pixel with its clipped window.
    fn for_each_window(&self, mut f: impl FnMut(usize, usize, (usize, usize), (usize, usize))) {
        for b in 0..self.batch {
            for oy in 0..self.out_h {
                let ys = Self::window(oy, self.stride[0], self.pad_top, self.kernel[0], self.in_h);
                for ox in 0..self.out_w {
                    let xs = Self::window(ox, self.stride[1], self.pad_left, self.kernel[1], self.in_w);
                    let obase = ((b * self.out_h + oy) * self.out_w + ox) * self.channels;
                    f(b, obase, ys, xs);
                }
            }
        }
    }

    #[inline]
    fn at(&self, b: usize, y: usize, x: usize, c: usize) -> usize {
        ((b * self.in_h + y) * self.in_w + x) * self.channels + c
    }
}

/// TFLite int8/uint8 average pool (`reference_integer_ops::AveragePool`). With
/// `count_include_pad` the divisor is the full kernel area (ONNX semantics); TFLite never sets it.
pub fn avg_pool_tflite<T: QType>(
    g: &Pool2dGeometry,
    count_include_pad: bool,
    act_min: i32,
    act_max: i32,
    input: &[T],
    out: &mut [T],
) -> KResult {
    g.check(input.len(), out.len())?;
    let mut err = None;
    g.for_each_window(|b, obase, (y0, y1), (x0, x1)| {
        let count = if count_include_pad { (g.kernel[0] * g.kernel[1]) as i32 } else { ((y1 - y0) * (x1 - x0)) as i32 };
        if count == 0 {
            err = Some(window_error());
            return;
        }
        for c in 0..g.channels {
            let mut acc = 0i32;
            for y in y0..y1 {
                for x in x0..x1 {
                    acc += input[g.at(b, y, x, c)].to_i32();
                }
            }
            // Round to the closest integer value (half away from zero).
            let avg = if acc > 0 { (acc + count / 2) / count } else { (acc - count / 2) / count };
            out[obase + c] = T::from_i32_sat(avg.clamp(act_min, act_max));
        }
    });
    err.map_or(Ok(()), Err)
}

fn window_error() -> super::KernelError {
    super::KernelError("a pooling window lies entirely in the padding".into())
}

/// Max pool over the clipped window, then the activation clamp (TFLite `MaxPool`; onnxruntime
/// int8 MaxPool, whose padding value is the type minimum, gives the same result).
pub fn max_pool<T: QType>(g: &Pool2dGeometry, act_min: i32, act_max: i32, input: &[T], out: &mut [T]) -> KResult {
    g.check(input.len(), out.len())?;
    let mut err = None;
    g.for_each_window(|b, obase, (y0, y1), (x0, x1)| {
        if y0 == y1 || x0 == x1 {
            err = Some(window_error());
            return;
        }
        for c in 0..g.channels {
            let mut m = i32::MIN;
            for y in y0..y1 {
                for x in x0..x1 {
                    m = m.max(input[g.at(b, y, x, c)].to_i32());
                }
            }
            out[obase + c] = T::from_i32_sat(m.clamp(act_min, act_max));
        }
    });
    err.map_or(Ok(()), Err)
}

/// Quantisation of an onnxruntime QLinearAveragePool / QLinearGlobalAveragePool.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OrtPoolQuant {
    pub x_scale: f32,
    pub x_zero_point: i32,
    pub y_scale: f32,
    pub y_zero_point: i32,
}

/// onnxruntime contrib `QLinearAveragePool` (qlinear_pool.cc): `dequantize_value` =
/// `x_scale * (x - x_zp)` in float, float sum in (h, w) order, `/ count`, then
/// `quantize_value` = `nearbyintf(y / y_scale + y_zp)` saturated, then the activation clamp.
pub fn avg_pool_ort<T: QType>(
    g: &Pool2dGeometry,
    count_include_pad: bool,
    q: &OrtPoolQuant,
    act_min: i32,
    act_max: i32,
    input: &[T],
    out: &mut [T],
) -> KResult {
    g.check(input.len(), out.len())?;
    let mut err = None;
    g.for_each_window(|b, obase, (y0, y1), (x0, x1)| {
        let count = if count_include_pad { g.kernel[0] * g.kernel[1] } else { (y1 - y0) * (x1 - x0) };
        if count == 0 {
            err = Some(window_error());
            return;
        }
        for c in 0..g.channels {
            let mut sum = 0.0f32;
            for y in y0..y1 {
                for x in x0..x1 {
                    sum += q.x_scale * (input[g.at(b, y, x, c)].to_i32() - q.x_zero_point) as f32;
                }
            }
            let avg = sum / count as f32;
            let v = ort_quantize_value(avg, q.y_scale, q.y_zero_point, T::MIN, T::MAX);
            out[obase + c] = T::from_i32_sat(v.clamp(act_min, act_max));
        }
    });
    err.map_or(Ok(()), Err)
}

/// qlinear_pool.cc `quantize_value`: the zero point is added in float before rounding.
#[inline]
fn ort_quantize_value(y: f32, y_scale: f32, y_zero_point: i32, qmin: i32, qmax: i32) -> i32 {
    let r = (y / y_scale + y_zero_point as f32).round_ties_even();
    if r.is_nan() {
        return y_zero_point.clamp(qmin, qmax);
    }
    (r.clamp(i32::MIN as f32, i32::MAX as f32) as i32).clamp(qmin, qmax)
}

/// Float average / max pools (TFLite float reference order: sum, then divide by the count).
pub fn avg_pool_f32(
    g: &Pool2dGeometry,
    count_include_pad: bool,
    act: (f32, f32),
    input: &[f32],
    out: &mut [f32],
) -> KResult {
    g.check(input.len(), out.len())?;
    g.for_each_window(|b, obase, (y0, y1), (x0, x1)| {
        let count = if count_include_pad { g.kernel[0] * g.kernel[1] } else { (y1 - y0) * (x1 - x0) };
        for c in 0..g.channels {
            let mut sum = 0.0f32;
            for y in y0..y1 {
                for x in x0..x1 {
                    sum += input[g.at(b, y, x, c)];
                }
            }
            out[obase + c] = (sum / count as f32).max(act.0).min(act.1);
        }
    });
    Ok(())
}

pub fn max_pool_f32(g: &Pool2dGeometry, act: (f32, f32), input: &[f32], out: &mut [f32]) -> KResult {
    g.check(input.len(), out.len())?;
    g.for_each_window(|b, obase, (y0, y1), (x0, x1)| {
        for c in 0..g.channels {
            let mut m = f32::NEG_INFINITY;
            for y in y0..y1 {
                for x in x0..x1 {
                    m = m.max(input[g.at(b, y, x, c)]);
                }
            }
            out[obase + c] = m.max(act.0).min(act.1);
        }
    });
    Ok(())
}

/// Shape of a global (H, W) reduction over an NHWC tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GlobalPoolGeometry {
    pub batch: usize,
    /// H * W.
    pub image_size: usize,
    pub channels: usize,
}

/// Parameters of tflite-micro's int8 MEAN over (H, W) (reduce_common.cc `EvalIntegerMean`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TfliteMeanParams {
    /// Input and output scale and zero point identical: `reference_ops::Mean` — raw sum
    /// divided by the count with C++ integer division (truncation toward zero).
    SameQuant,
    /// `reference_ops::QuantizedMeanOrSum`: `QuantizeMultiplier(s_in / s_out)` (computed at
    /// prepare), folded with 1 / count at eval.
    Rescale { multiplier: i32, shift: i32, input_zero_point: i32, output_zero_point: i32 },
}

impl TfliteMeanParams {
    /// As `PrepareMeanOrSumHelper` + `EvalIntegerMean` choose them.
    pub fn new(input_scale: f32, input_zero_point: i32, output_scale: f32, output_zero_point: i32) -> Self {
        if input_zero_point == output_zero_point && input_scale == output_scale {
            return TfliteMeanParams::SameQuant;
        }
        let (multiplier, shift) = arith::quantize_multiplier(input_scale as f64 / output_scale as f64);
        TfliteMeanParams::Rescale { multiplier, shift, input_zero_point, output_zero_point }
    }
}

/// tflite-micro int8/int16 MEAN over H and W of an NHWC tensor.
pub fn mean_hw_tflite<T: QType>(g: &GlobalPoolGeometry, p: &TfliteMeanParams, input: &[T], out: &mut [T]) -> KResult {
    check_len("mean input", input.len(), g.batch * g.image_size * g.channels)?;
    check_len("mean output", out.len(), g.batch * g.channels)?;
    if g.image_size == 0 {
        return kerr("mean over an empty image");
    }
    let num = g.image_size as i64;
    // QuantizedMeanOrSum folds 1/num into the multiplier: shift = floor(log2(num)), clamped.
    let folded = match *p {
        TfliteMeanParams::SameQuant => None,
        TfliteMeanParams::Rescale { multiplier, shift, input_zero_point, output_zero_point } => {
            let s = (63 - (num as u64).leading_zeros() as i32).min(32).min(31 + shift);
            let m = (((multiplier as i64) << s) / num) as i32;
            Some((m, shift - s, input_zero_point, output_zero_point))
        }
    };
    for b in 0..g.batch {
        for c in 0..g.channels {
            let mut sum = 0i32;
            for i in 0..g.image_size {
                sum = sum.wrapping_add(input[(b * g.image_size + i) * g.channels + c].to_i32());
            }
            let v = match folded {
                // C++ `/` truncates toward zero, as Rust's does.
                None => sum / num as i32,
                Some((m, s, zin, zout)) => {
                    let shifted = sum.wrapping_sub(zin.wrapping_mul(num as i32));
                    arith::multiply_by_quantized_multiplier(shifted, m, s).saturating_add(zout)
                }
            };
            out[b * g.channels + c] = T::from_i32_sat(v);
        }
    }
    Ok(())
}

/// onnxruntime `QLinearGlobalAveragePool` (MLAS qlgavgpool.cpp): integer sum plus
/// `-x_zp * image_size`, then `MlasRequantizeOutput` with the float32 scale
/// `x_scale / (y_scale * image_size)`.
pub fn global_avg_pool_ort<T: QType>(
    g: &GlobalPoolGeometry,
    q: &OrtPoolQuant,
    act_min: i32,
    act_max: i32,
    input: &[T],
    out: &mut [T],
) -> KResult {
    check_len("global pool input", input.len(), g.batch * g.image_size * g.channels)?;
    check_len("global pool output", out.len(), g.batch * g.channels)?;
    if g.image_size == 0 || g.image_size >= 0x100_0000 {
        return kerr(format!("QLinearGlobalAveragePool image size {} out of range", g.image_size));
    }
    let scale = q.x_scale / (q.y_scale * g.image_size as f32);
    let bias = (-q.x_zero_point).wrapping_mul(g.image_size as i32);
    for b in 0..g.batch {
        for c in 0..g.channels {
            let mut acc = bias;
            for i in 0..g.image_size {
                acc = acc.wrapping_add(input[(b * g.image_size + i) * g.channels + c].to_i32());
            }
            let v = arith::requantize_float(acc, scale, q.y_zero_point, T::MIN, T::MAX);
            out[b * g.channels + c] = T::from_i32_sat(v.clamp(act_min, act_max));
        }
    }
    Ok(())
}

/// Float mean over H and W (TFLite float `Mean` order: sum over h then w, divide by h*w).
pub fn global_avg_pool_f32(g: &GlobalPoolGeometry, input: &[f32], out: &mut [f32]) -> KResult {
    check_len("global pool input", input.len(), g.batch * g.image_size * g.channels)?;
    check_len("global pool output", out.len(), g.batch * g.channels)?;
    for b in 0..g.batch {
        for c in 0..g.channels {
            let mut sum = 0.0f32;
            for i in 0..g.image_size {
                sum += input[(b * g.image_size + i) * g.channels + c];
            }
            out[b * g.channels + c] = sum / g.image_size as f32;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Activation, Padding2d};

    fn attrs(kernel: [usize; 2], stride: [usize; 2], padding: Padding2d) -> Pool2dAttrs {
        Pool2dAttrs { kernel, stride, padding, activation: Activation::None, count_include_pad: false }
    }

    #[test]
    fn tflite_average_excludes_padding_and_rounds_half_away() {
        // 1x2x2x1 input, 2x2 window, pad 1 top/left: first output sees only x(0,0).
        let g = Pool2dGeometry::new(
            &[1, 2, 2, 1],
            &attrs([2, 2], [1, 1], Padding2d { top: 1, left: 1, bottom: 0, right: 0 }),
        )
        .unwrap();
        let x: Vec<i8> = vec![-3, 4, 5, -7];
        let mut out = vec![0i8; 4];
        avg_pool_tflite(&g, false, -128, 127, &x, &mut out).unwrap();
        // (-3) ; (-3+4)/2 = 0.5 -> 1 ; (-3+5)/2 = 1 ; (-3+4+5-7)/4 = -0.25 -> 0
        assert_eq!(out, vec![-3, 1, 1, 0]);
        let x: Vec<i8> = vec![-3, -4, 5, -7];
        avg_pool_tflite(&g, false, -128, 127, &x, &mut out).unwrap();
        // (-3-4)/2 = -3.5 -> -4 (half away from zero)
        assert_eq!(out[1], -4);
        let mut mx = vec![0i8; 4];
        max_pool(&g, -128, 2, &x, &mut mx).unwrap();
        assert_eq!(mx, vec![-3, -3, 2, 2]);
    }

    #[test]
    fn tflite_mean_paths() {
        let g = GlobalPoolGeometry { batch: 1, image_size: 4, channels: 2 };
        let x: Vec<i8> = vec![1, -1, 2, -2, 3, -3, 5, -3];
        let mut out = vec![0i8; 2];
        mean_hw_tflite(&g, &TfliteMeanParams::new(0.5, 0, 0.5, 0), &x, &mut out).unwrap();
        assert_eq!(out, vec![2, -2]); // 11/4 = 2.75 -> 2, -9/4 -> -2 (truncation)
                                      // Rescale path with equal scales but different zero points: exact rounding average.
        let p = TfliteMeanParams::new(0.5, 1, 0.5, 0);
        mean_hw_tflite(&g, &p, &x, &mut out).unwrap();
        // (11 - 4)/4 = 1.75 -> 2; (-9 - 4)/4 = -3.25 -> -3
        assert_eq!(out, vec![2, -3]);
    }

    #[test]
    fn ort_global_average() {
        let g = GlobalPoolGeometry { batch: 1, image_size: 2, channels: 1 };
        let q = OrtPoolQuant { x_scale: 1.0, x_zero_point: 1, y_scale: 1.0, y_zero_point: 0 };
        let mut out = vec![0u8; 1];
        global_avg_pool_ort(&g, &q, 0, 255, &[3u8, 4], &mut out).unwrap();
        assert_eq!(out, vec![2]); // (2 + 3) / 2 = 2.5 -> 2 (half to even)
    }
}
