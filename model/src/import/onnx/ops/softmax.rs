//! Softmax: the axis rules of each opset, emission, and the QDQ node.

use super::OutSpec;
use crate::error::Result;
use crate::import::onnx::attrs::{normalize_axis, NodeCtx};
use crate::import::onnx::convert::{Converter, Val};
use crate::import::onnx::layout::Layout;
use crate::ir::{Op, TensorId};

impl<'m> Converter<'m> {
    /// Softmax over ONNX axis `axis` (already normalised); the IR normalises over the last axis,
    /// which is the channel axis of an NHWC tensor.
    pub fn emit_softmax(&mut self, ctx: &NodeCtx, x: TensorId, axis: usize, out: &OutSpec) -> Result<TensorId> {
        let rank = self.tensor(x).shape.len();
        let xs = if rank == 4 && axis == 1 {
            self.in_layout(x, Layout::Nhwc)
        } else if axis + 1 == rank {
            self.in_layout(x, Layout::Source)
        } else {
            return Err(ctx.unsupported(format!("softmax over axis {axis} of a rank-{rank} tensor (last axis only)")));
        };
        let layout = self.layout_of(xs);
        let name = ctx.name.clone();
        self.emit(ctx, name, Op::Softmax { beta: 1.0 }, vec![xs], &out.name, out.dtype, out.quant.clone(), layout)
    }

    /// The softmax axis with the opset's default and its pre-13 "flatten to 2-D" meaning (which
    /// matches a single-axis softmax only over the last axis).
    pub fn softmax_axis(&self, ctx: &NodeCtx, rank: usize, opset: i64) -> Result<usize> {
        let default = if opset >= 13 { -1 } else { 1 };
        let axis = ctx.int_or("axis", default)?;
        let a = normalize_axis(axis, rank).ok_or_else(|| ctx.invalid(format!("axis {axis} for rank {rank}")))?;
        if opset < 13 && a + 1 != rank {
            return Err(ctx.unsupported(format!(
                "opset-{opset} softmax with axis {a} flattens trailing axes; only the last axis is supported"
            )));
        }
        Ok(a)
    }

    pub fn softmax_node(&mut self, ctx: &NodeCtx) -> Result<()> {
        let out = ctx.single_output()?;
        let Val::Dq(xt) = self.val(ctx, ctx.require_input(0, "input")?)? else {
            return Err(ctx.unsupported("Softmax is supported in QDQ form only"));
        };
        self.per_tensor_input(ctx, xt)?;
        let q = self.find_output_q(out)?.ok_or_else(|| self.not_fusable(ctx))?;
        let rank = self.tensor(xt).shape.len();
        let axis = self.softmax_axis(ctx, rank, self.opset)?;
        let spec = self.fused_spec(&q);
        let y = self.emit_softmax(ctx, xt, axis, &spec)?;
        self.finish_fusion(ctx, &q, y)
    }
}
