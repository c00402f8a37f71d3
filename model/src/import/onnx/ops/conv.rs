//! Conv: emission with OIHW -> OHWI weights, bias constants, and the QDQ / float Conv node.

use super::{OutSpec, MAX_ATTR};
use crate::error::Result;
use crate::import::onnx::attrs::NodeCtx;
use crate::import::onnx::convert::{Converter, Val};
use crate::import::onnx::layout::{self, Layout};
use crate::import::onnx::tensor::ConstTensor;
use crate::ir::{Activation, Conv2dAttrs, DType, Op, Quantization, TensorData, TensorId};

impl<'m> Converter<'m> {
    /// Conv2d from an activation, OIHW weights (and their IR quantisation), optional bias.
    pub fn emit_conv(
        &mut self,
        ctx: &NodeCtx,
        x: TensorId,
        w: &ConstTensor,
        w_quant: Option<Quantization>,
        bias: Option<&ConstTensor>,
        out: &OutSpec,
    ) -> Result<TensorId> {
        self.require_4d(ctx, x, "input")?;
        if w.shape.len() != 4 {
            return Err(ctx.unsupported(format!("weights of shape {:?}: only 2-D convolutions are supported", w.shape)));
        }
        let xs = self.in_layout(x, Layout::Nhwc);
        let kernel = [w.shape[2], w.shape[3]];
        if let Some(ks) = ctx.ints("kernel_shape")? {
            if ks.len() != 2 || ks[0] != kernel[0] as i64 || ks[1] != kernel[1] as i64 {
                return Err(ctx.invalid(format!("kernel_shape {ks:?} disagrees with weights {:?}", w.shape)));
            }
        }
        let group = ctx.int_or("group", 1)?;
        if !(1..=MAX_ATTR).contains(&group) {
            return Err(ctx.invalid(format!("group = {group}")));
        }
        let win = self.window(ctx, self.nhwc_hw(xs), kernel, true)?;
        let ohwi = layout::permute_shape(&w.shape, &layout::TO_NHWC);
        let data = layout::transpose_data(&w.data, &w.shape, &layout::TO_NHWC);
        let wt = self.new_const(&w.name, ohwi, w.dtype, w_quant, data);
        let mut inputs = vec![xs, wt];
        if let Some(b) = bias {
            inputs.push(self.bias_const(ctx, b, w.shape[0])?);
        }
        let op = Op::Conv2d(Conv2dAttrs {
            stride: win.stride,
            dilation: win.dilation,
            padding: win.padding,
            groups: group as usize,
            activation: out.activation,
        });
        let name = ctx.name.clone();
        self.emit(ctx, name, op, inputs, &out.name, out.dtype, out.quant.clone(), Layout::Nhwc)
    }

    /// A bias constant as a flat `[n]` vector; a single value is broadcast (Gemm's C may be a scalar).
    pub fn bias_const(&mut self, ctx: &NodeCtx, b: &ConstTensor, n: usize) -> Result<TensorId> {
        let count = b.element_count();
        let data = if count == n {
            b.data.clone()
        } else if count == 1 {
            match &b.data {
                TensorData::I32(v) => TensorData::I32(vec![v[0]; n]),
                TensorData::F32(v) => TensorData::F32(vec![v[0]; n]),
                _ => return Err(ctx.unsupported(format!("bias '{}' of type {}", b.name, b.dtype))),
            }
        } else {
            return Err(ctx.unsupported(format!("bias '{}' of shape {:?} for {n} outputs", b.name, b.shape)));
        };
        if !matches!(b.dtype, DType::I32 | DType::F32) {
            return Err(ctx.unsupported(format!("bias '{}' of type {} (int32 or float32 expected)", b.name, b.dtype)));
        }
        Ok(self.new_const(&b.name, vec![n], b.dtype, None, data))
    }

    pub fn conv_node(&mut self, ctx: &NodeCtx) -> Result<()> {
        let out = ctx.single_output()?;
        let x = self.val(ctx, ctx.require_input(0, "X")?)?;
        let w = self.val(ctx, ctx.require_input(1, "W")?)?;
        let b = self.opt_val(ctx, 2)?;
        match (x, w) {
            (Val::Dq(xt), Val::DqConst(wc, wp)) => {
                self.per_tensor_input(ctx, xt)?;
                let bias = self.qdq_bias(ctx, b, xt, &wp)?;
                let q = self.find_output_q(out)?.ok_or_else(|| self.not_fusable(ctx))?;
                let wq = self.weight_quant(ctx, &wp, 0, 0)?;
                let spec = self.fused_spec(&q);
                let y = self.emit_conv(ctx, xt, &wc, Some(wq), bias.as_deref(), &spec)?;
                self.finish_fusion(ctx, &q, y)
            }
            (Val::Act(xt), Val::Const(wc)) if self.tensor(xt).dtype == DType::F32 && wc.dtype == DType::F32 => {
                let bias = match b {
                    None => None,
                    Some(Val::Const(bc)) if bc.dtype == DType::F32 => Some(bc),
                    Some(_) => return Err(ctx.unsupported("float Conv bias must be a float32 constant")),
                };
                let spec =
                    OutSpec { name: out.to_string(), dtype: DType::F32, quant: None, activation: Activation::None };
                let y = self.emit_conv(ctx, xt, &wc, None, bias.as_deref(), &spec)?;
                self.define(ctx, out, Val::Act(y))
            }
            (Val::Dq(_), _) => Err(ctx.unsupported("QDQ Conv weights must be DequantizeLinear of a constant")),
            _ => Err(ctx.unsupported(
                "Conv needs a float input with constant float weights, or the QDQ form (DequantizeLinear inputs)",
            )),
        }
    }
}
