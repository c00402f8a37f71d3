//! FullyConnected and MatMul: Gemm / MatMul weights as `[N, K]`, emission, and the QDQ Gemm / MatMul nodes.

use super::OutSpec;
use crate::error::Result;
use crate::import::onnx::attrs::NodeCtx;
use crate::import::onnx::convert::{Converter, QParams, Val};
use crate::import::onnx::layout::{self, Layout};
use crate::import::onnx::tensor::ConstTensor;
use crate::ir::{Op, Quantization, TensorId};

impl<'m> Converter<'m> {
    /// FullyConnected from an activation and `[N, K]` weights.
    pub fn emit_fc(
        &mut self,
        ctx: &NodeCtx,
        a: TensorId,
        w_nk: ConstTensor,
        w_quant: Option<Quantization>,
        bias: Option<&ConstTensor>,
        out: &OutSpec,
    ) -> Result<TensorId> {
        let a = self.in_layout(a, Layout::Source);
        if self.tensor(a).shape.len() < 2 {
            return Err(ctx.unsupported("1-D matrix operand"));
        }
        let n = w_nk.shape[0];
        let wt = self.new_const(&w_nk.name, w_nk.shape.clone(), w_nk.dtype, w_quant, w_nk.data);
        let mut inputs = vec![a, wt];
        if let Some(b) = bias {
            inputs.push(self.bias_const(ctx, b, n)?);
        }
        let name = ctx.name.clone();
        let op = Op::FullyConnected { activation: out.activation };
        self.emit(ctx, name, op, inputs, &out.name, out.dtype, out.quant.clone(), Layout::Source)
    }

    /// Gemm / MatMul weights as `[N, K]`: `b` is `[K, N]` unless `b_is_nk`. Per-axis parameters
    /// must be per output column (axis of N) and end up on axis 0.
    pub fn fc_weights(
        &self,
        ctx: &NodeCtx,
        b: &ConstTensor,
        p: Option<&QParams>,
        b_is_nk: bool,
    ) -> Result<(ConstTensor, Option<Quantization>)> {
        if b.shape.len() != 2 {
            return Err(ctx.unsupported(format!("weight matrix of shape {:?} (2-D expected)", b.shape)));
        }
        let n_axis = if b_is_nk { 0 } else { 1 };
        let quant = p.map(|p| self.weight_quant(ctx, p, n_axis, 0)).transpose()?;
        let w = if b_is_nk {
            b.clone()
        } else {
            ConstTensor {
                name: b.name.clone(),
                shape: vec![b.shape[1], b.shape[0]],
                dtype: b.dtype,
                data: layout::transpose_data(&b.data, &b.shape, &[1, 0]),
            }
        };
        Ok((w, quant))
    }

    /// IR MatMul of two tensors (numpy broadcasting of leading dims).
    pub fn emit_matmul(&mut self, ctx: &NodeCtx, a: TensorId, b: TensorId, out: &OutSpec) -> Result<TensorId> {
        let a = self.in_layout(a, Layout::Source);
        let b = self.in_layout(b, Layout::Source);
        let name = ctx.name.clone();
        self.emit(ctx, name, Op::MatMul, vec![a, b], &out.name, out.dtype, out.quant.clone(), Layout::Source)
    }

    /// An IR constant for a matrix operand (no re-layout).
    pub fn plain_const(&mut self, c: &ConstTensor, quant: Option<Quantization>) -> TensorId {
        self.new_const(&c.name, c.shape.clone(), c.dtype, quant, c.data.clone())
    }

    fn gemm_attrs(&self, ctx: &NodeCtx, has_c: bool) -> Result<bool> {
        let alpha = ctx.float("alpha")?.unwrap_or(1.0);
        let beta = ctx.float("beta")?.unwrap_or(1.0);
        if alpha != 1.0 || (has_c && beta != 1.0) {
            return Err(ctx.unsupported(format!("alpha = {alpha}, beta = {beta} (only 1 is supported)")));
        }
        ctx.expect_int("transA", 0, "transposed A")?;
        Ok(ctx.int_or("transB", 0)? != 0)
    }

    pub fn gemm_node(&mut self, ctx: &NodeCtx) -> Result<()> {
        let out = ctx.single_output()?;
        let a = self.val(ctx, ctx.require_input(0, "A")?)?;
        let b = self.val(ctx, ctx.require_input(1, "B")?)?;
        let c = self.opt_val(ctx, 2)?;
        let trans_b = self.gemm_attrs(ctx, c.is_some())?;
        match (a, b) {
            (Val::Dq(at), Val::DqConst(bc, bp)) => {
                self.per_tensor_input(ctx, at)?;
                let bias = self.qdq_bias(ctx, c, at, &bp)?;
                let q = self.find_output_q(out)?.ok_or_else(|| self.not_fusable(ctx))?;
                let (w, wq) = self.fc_weights(ctx, &bc, Some(&bp), trans_b)?;
                let spec = self.fused_spec(&q);
                let y = self.emit_fc(ctx, at, w, wq, bias.as_deref(), &spec)?;
                self.finish_fusion(ctx, &q, y)
            }
            (Val::Dq(_), _) => Err(ctx.unsupported("QDQ Gemm weights must be DequantizeLinear of a constant")),
            _ => Err(ctx.unsupported("float Gemm is not supported (quantize the model: QDQ or QOperator)")),
        }
    }

    pub fn matmul_node(&mut self, ctx: &NodeCtx) -> Result<()> {
        let out = ctx.single_output()?;
        let a = self.val(ctx, ctx.require_input(0, "A")?)?;
        let b = self.val(ctx, ctx.require_input(1, "B")?)?;
        let Val::Dq(at) = a else {
            return Err(ctx.unsupported("float MatMul is not supported (quantize the model: QDQ or QOperator)"));
        };
        self.per_tensor_input(ctx, at)?;
        let q = self.find_output_q(out)?.ok_or_else(|| self.not_fusable(ctx))?;
        let spec = self.fused_spec(&q);
        let y = match b {
            Val::DqConst(bc, bp) if bc.shape.len() == 2 => {
                let (w, wq) = self.fc_weights(ctx, &bc, Some(&bp), false)?;
                self.emit_fc(ctx, at, w, wq, None, &spec)?
            }
            Val::DqConst(bc, bp) => {
                let quant = self.matrix_quant(ctx, &bp, bc.shape.len())?;
                let bt = self.plain_const(&bc, Some(quant));
                self.emit_matmul(ctx, at, bt, &spec)?
            }
            Val::Dq(bt) => {
                let p = self.tensor_qparams(bt).ok_or_else(|| ctx.invalid("B has no quantisation"))?;
                self.matrix_quant(ctx, &p, self.tensor(bt).shape.len())?;
                self.emit_matmul(ctx, at, bt, &spec)?
            }
            _ => return Err(ctx.unsupported("QDQ MatMul B must come from DequantizeLinear")),
        };
        self.finish_fusion(ctx, &q, y)
    }

    /// Quantisation of a MatMul B operand: per-tensor or per output column (last axis).
    pub fn matrix_quant(&self, ctx: &NodeCtx, p: &QParams, rank: usize) -> Result<Quantization> {
        if p.is_per_tensor() {
            return Ok(Quantization::per_tensor(p.scale[0], p.zero_point[0]));
        }
        match p.axis {
            Some(a) if a + 1 == rank => Ok(Quantization::per_axis(p.scale.clone(), p.zero_point.clone(), a)),
            other => Err(ctx.unsupported(format!("MatMul B quantized per axis {other:?} (per column only)"))),
        }
    }
}
