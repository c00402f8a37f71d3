//! Bit-exact integer (and plain float) kernels of the reference executor.
//!
//! Every kernel is a pure function over flat slices plus an explicit parameter struct (geometry,
//! zero points, [`OutputStage`](crate::quant::OutputStage), multipliers), so tests, the cycle model
//! and other engines can call them without a [`Graph`](crate::ir::Graph). Each kernel names the
//! reference function whose arithmetic it mirrors (tflite-micro `reference_ops` /
//! `reference_integer_ops`, gemmlowp, onnxruntime MLAS / contrib ops).
//!
//! Kernels check the lengths of their slices against their parameters up front and return a
//! [`KernelError`] on mismatch; after that check all indexing is in range by construction. The
//! shapes themselves come from a graph that passed [`crate::shape::validate`].
//!
//! Integer accumulators are `i32` with wrapping arithmetic: that is exactly what the int32
//! accumulators of TFLite, CMSIS-NN and MLAS compute (their overflow wraps in practice), and it
//! equals the low 32 bits of an exact 64-bit sum, so no input can make a kernel panic.

pub mod conv;
pub mod elementwise;
pub mod fc;
pub mod layout;
pub mod matmul;
pub mod pool;
pub mod quantize;
pub mod softmax;

use crate::ir::Activation;
use std::fmt;

/// A kernel was called with parameters that contradict its slices or each other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelError(pub String);

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KernelError {}

pub type KResult<T = ()> = Result<T, KernelError>;

pub(crate) fn kerr<T>(msg: impl Into<String>) -> KResult<T> {
    Err(KernelError(msg.into()))
}

/// Checks that a slice has the length the parameters imply.
pub(crate) fn check_len(what: &str, got: usize, want: usize) -> KResult {
    if got != want {
        return kerr(format!("{what} has {got} elements, expected {want}"));
    }
    Ok(())
}

/// Per-channel parameter vectors have one entry for all channels or one per channel.
pub(crate) fn check_per_channel(what: &str, got: usize, channels: usize) -> KResult {
    if got != 1 && got != channels {
        return kerr(format!("{what} has {got} entries, expected 1 or {channels}"));
    }
    Ok(())
}

/// Element types of quantized tensors (storage types; 4-bit values live unpacked in i8/u8).
pub trait QType: Copy + Default + PartialOrd + Send + Sync + 'static {
    const MIN: i32;
    const MAX: i32;
    fn to_i32(self) -> i32;
    /// `v` clamped to the type's range.
    fn from_i32_sat(v: i32) -> Self;
    /// C's `static_cast<T>(v)`: keeps the low bits (used where the reference truncates).
    fn from_i32_wrap(v: i32) -> Self;
}

macro_rules! impl_qtype {
    ($t:ty) => {
        impl QType for $t {
            const MIN: i32 = <$t>::MIN as i32;
            const MAX: i32 = <$t>::MAX as i32;
            #[inline]
            fn to_i32(self) -> i32 {
                self as i32
            }
            #[inline]
            fn from_i32_sat(v: i32) -> Self {
                v.clamp(<Self as QType>::MIN, <Self as QType>::MAX) as $t
            }
            #[inline]
            fn from_i32_wrap(v: i32) -> Self {
                v as $t
            }
        }
    };
}
impl_qtype!(i8);
impl_qtype!(u8);
impl_qtype!(i16);

impl QType for i32 {
    const MIN: i32 = i32::MIN;
    const MAX: i32 = i32::MAX;
    #[inline]
    fn to_i32(self) -> i32 {
        self
    }
    #[inline]
    fn from_i32_sat(v: i32) -> Self {
        v
    }
    #[inline]
    fn from_i32_wrap(v: i32) -> Self {
        v
    }
}

/// 8-bit operand types of the MAC kernels: `x - zero_point` always fits an `i16`.
pub trait Q8: QType {}
impl Q8 for i8 {}
impl Q8 for u8 {}

/// Zero points of 8-bit MAC operands must lie in [-255, 255] so that `x - zp` fits an i16.
pub(crate) fn check_zero_points(what: &str, zps: &[i32]) -> KResult {
    if let Some(z) = zps.iter().find(|z| !(-255..=255).contains(*z)) {
        return kerr(format!("{what} zero point {z} is outside the 8-bit range"));
    }
    Ok(())
}

/// Float clamp range of a fused activation (float kernels).
pub fn float_activation_range(activation: Activation) -> (f32, f32) {
    match activation {
        Activation::None => (f32::NEG_INFINITY, f32::INFINITY),
        Activation::Relu => (0.0, f32::INFINITY),
        Activation::Relu6 => (0.0, 6.0),
        Activation::ReluN1To1 => (-1.0, 1.0),
    }
}

/// Sum of products of two i16 slices with wrapping i32 accumulation (vectorises).
#[inline]
pub(crate) fn dot_i16(a: &[i16], b: &[i16]) -> i32 {
    a.iter().zip(b).fold(0i32, |s, (&x, &y)| s.wrapping_add(x as i32 * y as i32))
}

/// Row-major strides of `shape`.
pub(crate) fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Strides of `input` (numpy-broadcast against `out`, right-aligned) as seen from the output's
/// axes: 0 on broadcast axes. `None` when the shapes do not broadcast to `out`.
pub(crate) fn broadcast_strides(input: &[usize], out: &[usize]) -> Option<Vec<usize>> {
    if input.len() > out.len() {
        return None;
    }
    let own = strides(input);
    let lead = out.len() - input.len();
    let mut s = vec![0; out.len()];
    for (i, &d) in input.iter().enumerate() {
        if d == out[lead + i] {
            s[lead + i] = if d == 1 { 0 } else { own[i] };
        } else if d != 1 {
            return None;
        }
    }
    Some(s)
}

/// Calls `f(out_index, a_index, b_index)` for every element of `out_shape`, with `a` and `b`
/// broadcast numpy-style. Lengths of the shapes are checked by the caller.
pub(crate) fn for_each_broadcast2(
    out_shape: &[usize],
    a_shape: &[usize],
    b_shape: &[usize],
    mut f: impl FnMut(usize, usize, usize),
) -> KResult {
    let sa = broadcast_strides(a_shape, out_shape)
        .ok_or_else(|| KernelError(format!("{a_shape:?} does not broadcast to {out_shape:?}")))?;
    let sb = broadcast_strides(b_shape, out_shape)
        .ok_or_else(|| KernelError(format!("{b_shape:?} does not broadcast to {out_shape:?}")))?;
    let total: usize = out_shape.iter().product();
    if total == 0 {
        return Ok(());
    }
    let rank = out_shape.len();
    if rank == 0 {
        f(0, 0, 0);
        return Ok(());
    }
    let inner = out_shape[rank - 1];
    let (ia_step, ib_step) = (sa[rank - 1], sb[rank - 1]);
    let mut idx = vec![0usize; rank];
    let mut o = 0;
    while o < total {
        let base_a: usize = idx.iter().zip(&sa).map(|(i, s)| i * s).sum();
        let base_b: usize = idx.iter().zip(&sb).map(|(i, s)| i * s).sum();
        for j in 0..inner {
            f(o + j, base_a + j * ia_step, base_b + j * ib_step);
        }
        o += inner;
        // Advance the odometer over all but the last axis.
        let mut d = rank - 1;
        while d > 0 {
            d -= 1;
            idx[d] += 1;
            if idx[d] < out_shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_iteration_matches_numpy() {
        let mut seen = Vec::new();
        for_each_broadcast2(&[2, 3], &[2, 1], &[3], |o, a, b| seen.push((o, a, b))).unwrap();
        assert_eq!(seen, vec![(0, 0, 0), (1, 0, 1), (2, 0, 2), (3, 1, 0), (4, 1, 1), (5, 1, 2)]);
        assert!(for_each_broadcast2(&[2, 3], &[2, 2], &[3], |_, _, _| {}).is_err());
    }

    #[test]
    fn qtype_conversions() {
        assert_eq!(i8::from_i32_sat(300), 127);
        assert_eq!(u8::from_i32_sat(-3), 0);
        assert_eq!(i8::from_i32_wrap(128), -128);
        assert_eq!(strides(&[2, 3, 4]), vec![12, 4, 1]);
    }
}
