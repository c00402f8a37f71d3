//! Pooling: AveragePool / MaxPool / GlobalAveragePool emission and their nodes.

use super::{pair, OutSpec};
use crate::error::Result;
use crate::import::onnx::attrs::NodeCtx;
use crate::import::onnx::convert::{Converter, Val};
use crate::import::onnx::layout::Layout;
use crate::ir::{Activation, Op, Pool2dAttrs, TensorId};

impl<'m> Converter<'m> {
    /// AveragePool / MaxPool. `channels_last` (com.microsoft QLinearAveragePool) means the ONNX
    /// value itself is NHWC.
    pub fn emit_pool(
        &mut self,
        ctx: &NodeCtx,
        x: TensorId,
        max: bool,
        channels_last: bool,
        out: &OutSpec,
    ) -> Result<TensorId> {
        self.require_4d(ctx, x, "input")?;
        let (xs, out_layout) = if channels_last {
            (self.in_layout(x, Layout::Source), Layout::Source)
        } else {
            (self.in_layout(x, Layout::Nhwc), Layout::Nhwc)
        };
        let kernel = pair(ctx, "kernel_shape", [0, 0], 1)?;
        if ctx.ints("kernel_shape")?.is_none() {
            return Err(ctx.invalid("kernel_shape is required"));
        }
        let hw = self.nhwc_hw(xs);
        let win = self.window(ctx, hw, kernel, false)?;
        if ctx.int_or("ceil_mode", 0)? != 0 {
            for d in 0..2 {
                let (before, after) =
                    if d == 0 { (win.padding.top, win.padding.bottom) } else { (win.padding.left, win.padding.right) };
                let padded = hw[d] + before + after;
                let span = padded.saturating_sub(kernel[d]);
                let ceil = span.div_ceil(win.stride[d]);
                let floor = span / win.stride[d];
                if ceil != floor && ceil * win.stride[d] < hw[d] + before {
                    return Err(ctx.unsupported("ceil_mode = 1 with a partial last window"));
                }
            }
        }
        if max {
            ctx.expect_int("storage_order", 0, "column-major indices")?;
        }
        let count_include_pad = !max && ctx.int_or("count_include_pad", 0)? != 0;
        let attrs = Pool2dAttrs {
            kernel,
            stride: win.stride,
            padding: win.padding,
            activation: out.activation,
            count_include_pad,
        };
        let op = if max { Op::MaxPool2d(attrs) } else { Op::AveragePool2d(attrs) };
        let name = ctx.name.clone();
        self.emit(ctx, name, op, vec![xs], &out.name, out.dtype, out.quant.clone(), out_layout)
    }

    pub fn emit_global_pool(
        &mut self,
        ctx: &NodeCtx,
        x: TensorId,
        channels_last: bool,
        out: &OutSpec,
    ) -> Result<TensorId> {
        self.require_4d(ctx, x, "input")?;
        let (xs, out_layout) = if channels_last {
            (self.in_layout(x, Layout::Source), Layout::Source)
        } else {
            (self.in_layout(x, Layout::Nhwc), Layout::Nhwc)
        };
        let name = ctx.name.clone();
        self.emit(ctx, name, Op::GlobalAveragePool, vec![xs], &out.name, out.dtype, out.quant.clone(), out_layout)
    }

    pub fn avg_pool_node(&mut self, ctx: &NodeCtx) -> Result<()> {
        let out = ctx.single_output()?;
        let Val::Dq(xt) = self.val(ctx, ctx.require_input(0, "X")?)? else {
            return Err(ctx.unsupported(format!("{} is supported in QDQ form only", ctx.op())));
        };
        self.per_tensor_input(ctx, xt)?;
        let q = self.find_output_q(out)?.ok_or_else(|| self.not_fusable(ctx))?;
        let spec = self.fused_spec(&q);
        let y = if ctx.op() == "GlobalAveragePool" {
            self.emit_global_pool(ctx, xt, false, &spec)?
        } else {
            self.emit_pool(ctx, xt, false, false, &spec)?
        };
        self.finish_fusion(ctx, &q, y)
    }

    /// MaxPool commutes with (monotonic) dequantisation, so it runs on the integers whether the
    /// input is a DQ view (QDQ), a quantized tensor (QOperator) or float.
    pub fn max_pool_node(&mut self, ctx: &NodeCtx) -> Result<()> {
        let out = ctx.single_output()?;
        let x = self.val(ctx, ctx.require_input(0, "X")?)?;
        let (Val::Dq(t) | Val::Act(t)) = x else {
            return Err(ctx.unsupported("MaxPool of a constant"));
        };
        let tensor = self.tensor(t);
        let spec = OutSpec {
            name: out.to_string(),
            dtype: tensor.dtype,
            quant: tensor.quant.clone(),
            activation: Activation::None,
        };
        let y = self.emit_pool(ctx, t, true, false, &spec)?;
        let v = if matches!(x, Val::Dq(_)) { Val::Dq(y) } else { Val::Act(y) };
        self.define(ctx, out, v)
    }
}
