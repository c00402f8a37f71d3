//! Shape arithmetic shared by the operator converters: TFLite's output-size and padding rules,
//! broadcasting, and the depthwise-weight transpose. All of it is checked arithmetic on
//! file-derived numbers.

use crate::ir::{Padding2d, TensorData};

/// TFLite `Padding` of a spatial operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PaddingMode {
    Same,
    Valid,
}

/// Output size and (before, after) padding of one spatial dimension, as TFLite computes them:
/// SAME: out = ceil(in / stride), padding per [`Padding2d::same_1d`] (NUMERICS.md);
/// VALID: out = floor((in - effective_kernel) / stride) + 1, no padding.
pub(super) fn spatial_1d(
    input: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    mode: PaddingMode,
) -> Result<(usize, (usize, usize)), String> {
    if kernel == 0 || stride == 0 || dilation == 0 {
        return Err(format!("kernel {kernel}, stride {stride} and dilation {dilation} must all be >= 1"));
    }
    let effective = (kernel - 1)
        .checked_mul(dilation)
        .and_then(|k| k.checked_add(1))
        .ok_or_else(|| format!("kernel {kernel} with dilation {dilation} overflows"))?;
    match mode {
        PaddingMode::Same => {
            let out = input.div_ceil(stride);
            // same_1d computes (out - 1) * stride + effective unchecked: make sure it fits.
            (out.saturating_sub(1))
                .checked_mul(stride)
                .and_then(|v| v.checked_add(effective))
                .ok_or_else(|| format!("input {input} with stride {stride} overflows"))?;
            Ok((out, Padding2d::same_1d(input, kernel, stride, dilation)))
        }
        PaddingMode::Valid => {
            if input < effective {
                return Err(format!(
                    "VALID padding: input size {input} is smaller than the effective kernel size {effective}"
                ));
            }
            Ok(((input - effective) / stride + 1, (0, 0)))
        }
    }
}

/// Numpy broadcast of two shapes (`None` when incompatible).
pub(super) fn broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| if i + s.len() >= rank { s[i + s.len() - rank] } else { 1 };
    (0..rank)
        .map(|i| match (dim(a, i), dim(b, i)) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect()
}

/// Normalises a possibly negative axis against `rank`.
pub(super) fn normalize_axis(axis: i64, rank: usize) -> Option<usize> {
    let rank = i64::try_from(rank).ok()?;
    let a = if axis < 0 { axis + rank } else { axis };
    (0..rank).contains(&a).then_some(a as usize)
}

/// Reorders TFLite depthwise weights `[1, KH, KW, C_out]` into the IR's OHWI
/// `[C_out, KH, KW, 1]`: element (ky, kx, o) moves to (o, ky, kx).
pub(super) fn depthwise_to_ohwi(data: &TensorData, kh: usize, kw: usize, c_out: usize) -> TensorData {
    // Destination order (o, ky, kx) -> source index (ky * kw + kx) * c_out + o.
    let src: Vec<usize> = (0..c_out).flat_map(|o| (0..kh * kw).map(move |yx| yx * c_out + o)).collect();
    fn gather<T: Copy>(v: &[T], src: &[usize]) -> Vec<T> {
        src.iter().filter_map(|&i| v.get(i).copied()).collect()
    }
    match data {
        TensorData::I8(v) => TensorData::I8(gather(v, &src)),
        TensorData::U8(v) => TensorData::U8(gather(v, &src)),
        TensorData::I16(v) => TensorData::I16(gather(v, &src)),
        TensorData::I32(v) => TensorData::I32(gather(v, &src)),
        TensorData::I64(v) => TensorData::I64(gather(v, &src)),
        TensorData::F32(v) => TensorData::F32(gather(v, &src)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_matches_tflite() {
        // 96 -> 48 with a 3x3 stride-2 kernel: total 1, all after.
        assert_eq!(spatial_1d(96, 3, 2, 1, PaddingMode::Same), Ok((48, (0, 1))));
        // DS-CNN first layer: 49 rows, 10-row kernel, stride 2 -> 25 rows, pads 4 / 5.
        assert_eq!(spatial_1d(49, 10, 2, 1, PaddingMode::Same), Ok((25, (4, 5))));
        // Dilation 2 on a 3-tap kernel spans 5: SAME stride 1 pads 2 / 2.
        assert_eq!(spatial_1d(10, 3, 1, 2, PaddingMode::Same), Ok((10, (2, 2))));
    }

    #[test]
    fn valid_padding_matches_tflite() {
        assert_eq!(spatial_1d(10, 3, 1, 1, PaddingMode::Valid), Ok((8, (0, 0))));
        assert_eq!(spatial_1d(10, 3, 2, 1, PaddingMode::Valid), Ok((4, (0, 0))));
        assert_eq!(spatial_1d(10, 3, 1, 2, PaddingMode::Valid), Ok((6, (0, 0))));
        assert!(spatial_1d(2, 3, 1, 1, PaddingMode::Valid).is_err());
        assert!(spatial_1d(2, 3, 0, 1, PaddingMode::Valid).is_err());
        assert!(spatial_1d(usize::MAX, 3, 1, usize::MAX, PaddingMode::Same).is_err());
    }

    #[test]
    fn broadcast_follows_numpy() {
        assert_eq!(broadcast(&[1, 4, 4, 8], &[8]), Some(vec![1, 4, 4, 8]));
        assert_eq!(broadcast(&[1, 4, 1, 8], &[1, 1, 3, 1]), Some(vec![1, 4, 3, 8]));
        assert_eq!(broadcast(&[], &[2, 3]), Some(vec![2, 3]));
        assert_eq!(broadcast(&[2, 3], &[3, 2]), None);
    }

    #[test]
    fn axes_normalise() {
        assert_eq!(normalize_axis(-1, 4), Some(3));
        assert_eq!(normalize_axis(3, 4), Some(3));
        assert_eq!(normalize_axis(4, 4), None);
        assert_eq!(normalize_axis(-5, 4), None);
    }

    #[test]
    fn depthwise_transpose_moves_channels_first() {
        // [1, 2, 1, 3]: (ky, kx=0, o) = 10 * ky + o.
        let w = TensorData::I8(vec![0, 1, 2, 10, 11, 12]);
        // -> [3, 2, 1, 1]: (o, ky) = 10 * ky + o.
        assert_eq!(depthwise_to_ohwi(&w, 2, 1, 3), TensorData::I8(vec![0, 10, 1, 11, 2, 12]));
    }
}
