//! Scale / zero-point selection and constant quantisation exactly as onnxruntime's
//! `quantize_static` computes them (`quant_utils.compute_scale_zp`, `quantize_nparray`,
//! `base_quantizer.quantize_bias_static_impl`, `qdq_quantizer._adjust_weight_scale_for_int32_bias`),
//! including where numpy computes in float32 and where in float64.

/// Integer element type of quantized activations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActType {
    Int8,
    Uint8,
}

impl ActType {
    pub fn range(self) -> (i32, i32) {
        match self {
            ActType::Int8 => (-128, 127),
            ActType::Uint8 => (0, 255),
        }
    }
}

/// One tensor's (per-tensor) quantisation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QParams {
    pub scale: f32,
    pub zero_point: i32,
}

/// `compute_scale_zp(rmin, rmax, qmin, qmax, symmetric)` for float32 ranges.
pub fn compute_scale_zp(rmin: f32, rmax: f32, qmin: i32, qmax: i32, symmetric: bool) -> QParams {
    // Make sure zero is representable.
    let mut rmin = rmin.min(0.0);
    let mut rmax = rmax.max(0.0);
    if symmetric {
        let absmax = rmin.abs().max(rmax.abs());
        rmin = -absmax;
        rmax = absmax;
    }
    let dr = rmax as f64 - rmin as f64;
    let dq = qmax as f64 - qmin as f64;
    let scale = dr / dq;
    if scale < f32::MIN_POSITIVE as f64 {
        return QParams { scale: 1.0, zero_point: 0 };
    }
    let zero_point = if symmetric {
        ((qmin + qmax) as f64 / 2.0).round_ties_even()
    } else {
        (qmin as f64 - rmin as f64 / scale).round_ties_even()
    };
    QParams { scale: scale as f32, zero_point: (zero_point as i32).clamp(qmin, qmax) }
}

/// Element type of quantized weights (onnxruntime `weight_type`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WeightType {
    /// `QInt8`: symmetric [-127, 127] (onnxruntime's `ONNX_INT_TYPE_SYMMETRIC_RANGE`).
    #[default]
    Int8,
    /// `QInt4`: onnxruntime has no symmetric int4 range, so symmetric weights use the full
    /// [-8, 7] (scale = 2 * absmax / 15, zero point round(-0.5) = 0).
    Int4,
}

impl WeightType {
    /// Bits per stored weight.
    pub fn bits(self) -> u32 {
        match self {
            WeightType::Int8 => 8,
            WeightType::Int4 => 4,
        }
    }

    /// The type's full range: `quantize_nparray` clips to it.
    pub fn clip_range(self) -> (i32, i32) {
        match self {
            WeightType::Int8 => (-128, 127),
            WeightType::Int4 => (-8, 7),
        }
    }
}

/// Weight range of `get_qmin_qmax_for_qType(qType, reduce_range, symmetric=True)`: int8
/// [-127, 127] or [-64, 64] with `reduce_range` (7-bit); int4 [-8, 7] or [-4, 3].
pub fn weight_range(reduce_range: bool, ty: WeightType) -> (i32, i32) {
    match (ty, reduce_range) {
        (WeightType::Int8, false) => (-127, 127),
        (WeightType::Int8, true) => (-64, 64),
        (WeightType::Int4, false) => (-8, 7),
        (WeightType::Int4, true) => (-4, 3),
    }
}

/// Symmetric parameters of a block of weights (one channel, or the whole tensor).
pub fn weight_params(data: &[f32], reduce_range: bool, ty: WeightType) -> QParams {
    let (qmin, qmax) = weight_range(reduce_range, ty);
    if data.is_empty() {
        return QParams { scale: 1.0, zero_point: 0 };
    }
    let lo = data.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = data.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    compute_scale_zp(lo, hi, qmin, qmax, true)
}

/// `quantize_nparray`: `round_half_even(f32(x) / f32(scale)) + zp`, clipped to the type.
pub fn quantize_value(x: f32, p: QParams, (lo, hi): (i32, i32)) -> i32 {
    let q = (x / p.scale).round_ties_even() + p.zero_point as f32;
    q.clamp(lo as f32, hi as f32) as i32
}

/// Bias scale `f32(s_x * s_w)` (numpy float32 product).
pub fn bias_scale(input_scale: f32, weight_scale: f32) -> f32 {
    input_scale * weight_scale
}

/// int32 bias: `round_half_even(f64(b) / f64(scale))`, clipped to the int32 range.
pub fn quantize_bias(b: f32, scale: f32) -> i32 {
    let q = (b as f64 / scale as f64).round_ties_even();
    q.clamp(i32::MIN as f64, i32::MAX as f64) as i32
}

/// onnxruntime enlarges a weight scale when `s_x * s_w` is too small for the bias to fit in
/// int32 (`_adjust_weight_scale_for_int32_bias`). `weight_scales` has one entry per channel
/// (per-channel) or one entry (per-tensor); returns true when any scale changed.
pub fn adjust_weight_scales_for_bias(input_scale: f32, weight_scales: &mut [f32], bias: &[f32]) -> bool {
    const EPS: f64 = 1.0001;
    let qrange = i32::MAX as f64 - (i32::MIN as f64 + 1.0);
    let mut changed = false;
    let mut adjust = |scale: &mut f32, absmax: f64| {
        let smallest = EPS * (2.0 * absmax) / qrange;
        let candidate = input_scale as f64 * *scale as f64;
        if candidate < smallest && candidate > 0.0 {
            *scale = (*scale as f64 * (smallest / candidate)) as f32;
            changed = true;
        }
    };
    if let [single] = weight_scales {
        let lo = bias.iter().copied().fold(0f32, f32::min) as f64;
        let hi = bias.iter().copied().fold(0f32, f32::max) as f64;
        adjust(single, lo.abs().max(hi.abs()));
    } else {
        for (s, b) in weight_scales.iter_mut().zip(bias) {
            adjust(s, (*b as f64).abs());
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asymmetric_int8_activation_of_a_unit_range() {
        // Digits input x in [0, 1]: onnxruntime stores scale 1/255 and zero point -128.
        let p = compute_scale_zp(0.0, 1.0, -128, 127, false);
        assert_eq!(p.scale, (1.0f64 / 255.0) as f32);
        assert_eq!(p.zero_point, -128);
        let u = compute_scale_zp(-1.0, 1.0, 0, 255, false);
        assert_eq!(u.zero_point, 128, "round(0 + 1/(2/255)) = round(127.5) = 128 (half to even)");
    }

    #[test]
    fn degenerate_range_gives_unit_scale() {
        assert_eq!(compute_scale_zp(0.0, 0.0, -128, 127, false), QParams { scale: 1.0, zero_point: 0 });
    }

    #[test]
    fn symmetric_weights_use_127() {
        let p = weight_params(&[-0.5, 0.25, 1.27], false, WeightType::Int8);
        assert_eq!(p.zero_point, 0);
        assert_eq!(p.scale, (2.0 * 1.27f32 as f64 / 254.0) as f32);
        assert_eq!(quantize_value(1.27, p, (-128, 127)), 127);
        assert_eq!(quantize_value(-0.5, p, (-128, 127)), -50);
    }

    #[test]
    fn symmetric_int4_weights_use_the_full_range() {
        // onnxruntime: rmax = absmax, rmin = -absmax, scale = 2 * absmax / (7 - -8), zp = round(-0.5) = 0.
        let p = weight_params(&[-0.5, 0.25, 1.5], false, WeightType::Int4);
        assert_eq!(p, QParams { scale: (3.0f64 / 15.0) as f32, zero_point: 0 });
        let r = WeightType::Int4.clip_range();
        // 1.5 / 0.2 = 7.5 rounds (half to even) to 8 and clips to 7; -0.5 / 0.2 = -2.5 -> -2.
        assert_eq!(quantize_value(1.5, p, r), 7);
        assert_eq!(quantize_value(-0.5, p, r), -2);
        assert_eq!(quantize_value(-1.5, p, r), -8);
        assert_eq!(weight_range(true, WeightType::Int4), (-4, 3));
    }

    #[test]
    fn bias_rounds_half_to_even_in_f64() {
        assert_eq!(quantize_bias(2.5, 1.0), 2);
        assert_eq!(quantize_bias(-3.5, 1.0), -4);
        assert_eq!(quantize_bias(1e30, 1.0), i32::MAX);
    }

    #[test]
    fn tiny_scales_are_enlarged_for_large_biases() {
        let mut s = [1e-9f32, 0.01];
        assert!(adjust_weight_scales_for_bias(1e-3, &mut s, &[1000.0, 0.1]));
        assert!(s[0] > 1e-9);
        assert_eq!(s[1], 0.01);
        let q = quantize_bias(1000.0, bias_scale(1e-3, s[0]));
        assert!(q < i32::MAX, "the bias fits after the adjustment: {q}");
    }
}
