//! Operator conversion shared by the QDQ, QOperator and float paths: attribute parsing
//! (windows, pads, auto_pad), constant re-layout (OIHW -> OHWI, [K, N] -> [N, K]) and IR emission.
//!
//! * `mod.rs` (this file): the emission vocabulary ([`OutSpec`], [`Operand`], [`Window`]) and
//!   window geometry shared by convolution and pooling.
//! * `conv`: Conv (emission, bias constants, the QDQ / float Conv node).
//! * `matmul`: FullyConnected and MatMul (Gemm / MatMul weights, emission, QDQ nodes).
//! * `pool`: AveragePool, MaxPool, GlobalAveragePool.
//! * `elementwise`: Add, Mul and Concat (operands aligned to one layout).
//! * `softmax`: Softmax (axis rules, emission, QDQ node).
//! * `movement`: data movement (Reshape / Flatten / Squeeze / Unsqueeze, Pad, Transpose).
//! * `quant`: quantisation shared by fused QDQ ops (weight parameters, biases, output specs).

mod conv;
mod elementwise;
mod matmul;
mod movement;
mod pool;
mod quant;
mod softmax;

use super::attrs::NodeCtx;
use super::convert::Converter;
use super::tensor::ConstTensor;
use crate::error::Result;
use crate::ir::{Activation, DType, Padding2d, Quantization, TensorId};
use std::rc::Rc;

/// Largest kernel, stride, dilation or pad accepted from a file (keeps shape arithmetic small).
const MAX_ATTR: i64 = 1 << 20;

/// Output tensor of an op being emitted.
pub struct OutSpec {
    pub name: String,
    pub dtype: DType,
    pub quant: Option<Quantization>,
    pub activation: Activation,
}

/// An input of an elementwise / concat op: an IR tensor, or a constant not yet laid out.
pub enum Operand {
    Tensor(TensorId),
    Const(Rc<ConstTensor>, Option<Quantization>),
}

/// Stride, dilation and padding of a 2-D window op.
pub struct Window {
    pub stride: [usize; 2],
    pub dilation: [usize; 2],
    pub padding: Padding2d,
}

fn pair(ctx: &NodeCtx, name: &str, default: [usize; 2], min: i64) -> Result<[usize; 2]> {
    match ctx.ints(name)? {
        None => Ok(default),
        Some(v) if v.len() == 2 && v.iter().all(|&x| (min..=MAX_ATTR).contains(&x)) => {
            Ok([v[0] as usize, v[1] as usize])
        }
        Some(v) => Err(ctx.unsupported(format!(
            "{name} = {v:?} (2 spatial dimensions with values in {min}..={MAX_ATTR} are supported)"
        ))),
    }
}

/// Window geometry from `strides`, `dilations`, `pads`, `auto_pad` for an input of spatial
/// size `hw` and a kernel of `kernel` (shared with the float executor of `crate::quantize`).
pub(crate) fn window(ctx: &NodeCtx, hw: [usize; 2], kernel: [usize; 2], allow_dilation: bool) -> Result<Window> {
    let stride = pair(ctx, "strides", [1, 1], 1)?;
    let dilation = pair(ctx, "dilations", [1, 1], 1)?;
    if !allow_dilation && dilation != [1, 1] {
        return Err(ctx.unsupported(format!("dilations {dilation:?} on a pool")));
    }
    if kernel.iter().any(|&k| k == 0 || k as i64 > MAX_ATTR) {
        return Err(ctx.unsupported(format!("kernel {kernel:?}")));
    }
    let auto_pad = ctx.string("auto_pad")?.unwrap_or_default();
    let padding = match auto_pad.as_str() {
        "" | "NOTSET" => match ctx.ints("pads")? {
            None => Padding2d::default(),
            Some(p) if p.len() == 4 && p.iter().all(|&x| (0..=MAX_ATTR).contains(&x)) => {
                // ONNX order: [x1_begin, x2_begin, x1_end, x2_end] = [top, left, bottom, right].
                Padding2d { top: p[0] as usize, left: p[1] as usize, bottom: p[2] as usize, right: p[3] as usize }
            }
            Some(p) => return Err(ctx.unsupported(format!("pads = {p:?} (4 non-negative values expected)"))),
        },
        "VALID" => Padding2d::default(),
        "SAME_UPPER" | "SAME_LOWER" => {
            // Same total as TFLite SAME; SAME_UPPER puts the odd extra pixel at the end,
            // SAME_LOWER at the beginning.
            let (t, b) = Padding2d::same_1d(hw[0], kernel[0], stride[0], dilation[0]);
            let (l, r) = Padding2d::same_1d(hw[1], kernel[1], stride[1], dilation[1]);
            if auto_pad == "SAME_UPPER" {
                Padding2d { top: t, left: l, bottom: b, right: r }
            } else {
                Padding2d { top: b, left: r, bottom: t, right: l }
            }
        }
        other => return Err(ctx.unsupported(format!("auto_pad = {other:?}"))),
    };
    Ok(Window { stride, dilation, padding })
}

impl<'m> Converter<'m> {
    pub fn window(&self, ctx: &NodeCtx, hw: [usize; 2], kernel: [usize; 2], allow_dilation: bool) -> Result<Window> {
        window(ctx, hw, kernel, allow_dilation)
    }

    /// Spatial size [H, W] of an NHWC IR tensor.
    fn nhwc_hw(&self, t: TensorId) -> [usize; 2] {
        let s = &self.tensor(t).shape;
        [s[1], s[2]]
    }

    fn require_4d(&self, ctx: &NodeCtx, t: TensorId, what: &str) -> Result<()> {
        let s = &self.tensor(t).shape;
        if s.len() != 4 {
            return Err(
                ctx.unsupported(format!("{what} of shape {s:?}: only 2-D spatial ops on 4-D tensors are supported"))
            );
        }
        Ok(())
    }
}
