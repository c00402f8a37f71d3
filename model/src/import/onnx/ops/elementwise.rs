//! Add, Mul and Concat: operands brought into one layout, emission, and the QDQ nodes.

use super::{Operand, OutSpec};
use crate::error::Result;
use crate::import::onnx::attrs::{normalize_axis, NodeCtx};
use crate::import::onnx::convert::{Converter, Val};
use crate::import::onnx::layout::{self, Layout};
use crate::import::onnx::tensor::ConstTensor;
use crate::ir::{Activation, Op, Quantization, TensorId};

impl<'m> Converter<'m> {
    /// A constant laid out for a 4-D NHWC partner: padded to rank 4 with leading 1s (numpy
    /// broadcasting) and transposed.
    fn const_operand(&mut self, c: &ConstTensor, quant: Option<Quantization>, nhwc: bool) -> Result<TensorId, String> {
        if !nhwc {
            return Ok(self.plain_const(c, quant));
        }
        if c.shape.len() > 4 {
            return Err(format!("constant of shape {:?} against a 4-D activation", c.shape));
        }
        let mut shape4 = vec![1; 4 - c.shape.len()];
        shape4.extend(&c.shape);
        let data = layout::transpose_data(&c.data, &shape4, &layout::TO_NHWC);
        let shape = layout::permute_shape(&shape4, &layout::TO_NHWC);
        let quant = quant.map(|q| Quantization { axis: q.axis.map(|a| layout::nhwc_axis(a + 4 - c.shape.len())), ..q });
        Ok(self.new_const(&c.name, shape, c.dtype, quant, data))
    }

    /// Brings the operands of a broadcasting / concatenating op into one layout: NHWC when a
    /// 4-D operand already is, the source layout otherwise. Returns the IR tensors and the
    /// layout chosen.
    pub fn align(&mut self, ctx: &NodeCtx, ops: Vec<Operand>) -> Result<(Vec<TensorId>, Layout)> {
        let rank_of = |c: &Converter, o: &Operand| match o {
            Operand::Tensor(t) => c.tensor(*t).shape.len(),
            Operand::Const(k, _) => k.shape.len(),
        };
        let any_nhwc = ops.iter().any(|o| matches!(o, Operand::Tensor(t) if self.layout_of(*t) == Layout::Nhwc));
        // NHWC is kept only when every tensor operand is 4-D (a lower-rank activation would
        // broadcast against the NCHW order).
        let all_tensors_4d = ops.iter().all(|o| !matches!(o, Operand::Tensor(_)) || rank_of(self, o) == 4);
        let nhwc = any_nhwc && all_tensors_4d;
        let want = if nhwc { Layout::Nhwc } else { Layout::Source };
        let mut ids = Vec::with_capacity(ops.len());
        for o in ops {
            ids.push(match o {
                Operand::Tensor(t) => self.in_layout(t, want),
                Operand::Const(c, q) => self.const_operand(&c, q, nhwc).map_err(|r| ctx.unsupported(r))?,
            });
        }
        Ok((ids, want))
    }

    pub fn emit_binary(&mut self, ctx: &NodeCtx, mul: bool, a: Operand, b: Operand, out: &OutSpec) -> Result<TensorId> {
        if matches!((&a, &b), (Operand::Const(..), Operand::Const(..))) {
            return Err(ctx.unsupported("both operands are constants (constant folding is not supported)"));
        }
        let (ids, layout) = self.align(ctx, vec![a, b])?;
        let op = if mul { Op::Mul { activation: out.activation } } else { Op::Add { activation: out.activation } };
        let name = ctx.name.clone();
        self.emit(ctx, name, op, ids, &out.name, out.dtype, out.quant.clone(), layout)
    }

    pub fn emit_concat(&mut self, ctx: &NodeCtx, ops: Vec<Operand>, axis: i64, out: &OutSpec) -> Result<TensorId> {
        let rank = match ops.first() {
            Some(Operand::Tensor(t)) => self.tensor(*t).shape.len(),
            Some(Operand::Const(c, _)) => c.shape.len(),
            None => return Err(ctx.invalid("no inputs")),
        };
        let axis = normalize_axis(axis, rank).ok_or_else(|| ctx.invalid(format!("axis {axis} for rank {rank}")))?;
        let (ids, layout) = self.align(ctx, ops)?;
        let axis = layout::ir_axis(layout, axis);
        let name = ctx.name.clone();
        let op = Op::Concat { axis, activation: out.activation };
        self.emit(ctx, name, op, ids, &out.name, out.dtype, out.quant.clone(), layout)
    }

    pub fn binary_node(&mut self, ctx: &NodeCtx) -> Result<()> {
        let out = ctx.single_output()?;
        let a = self.val(ctx, ctx.require_input(0, "A")?)?;
        let b = self.val(ctx, ctx.require_input(1, "B")?)?;
        if !matches!(a, Val::Dq(_) | Val::DqConst(..)) || !matches!(b, Val::Dq(_) | Val::DqConst(..)) {
            return Err(ctx.unsupported(format!(
                "{} is supported in QDQ form only (both inputs from DequantizeLinear, output to QuantizeLinear)",
                ctx.op()
            )));
        }
        let q = self.find_output_q(out)?.ok_or_else(|| self.not_fusable(ctx))?;
        let (a, b) = (self.dq_operand(ctx, a)?, self.dq_operand(ctx, b)?);
        let spec = self.fused_spec(&q);
        let y = self.emit_binary(ctx, ctx.op() == "Mul", a, b, &spec)?;
        self.finish_fusion(ctx, &q, y)
    }

    pub fn concat_node(&mut self, ctx: &NodeCtx) -> Result<()> {
        let out = ctx.single_output()?;
        let axis = ctx.int("axis")?.ok_or_else(|| ctx.invalid("axis is required"))?;
        let vals = (0..ctx.node.input.len())
            .filter_map(|i| ctx.input(i))
            .map(|n| self.val(ctx, n))
            .collect::<Result<Vec<_>>>()?;
        if vals.is_empty() {
            return Err(ctx.invalid("no inputs"));
        }
        if vals.iter().all(|v| matches!(v, Val::Dq(_) | Val::DqConst(..))) {
            if let Some(q) = self.find_output_q(out)? {
                let ops = vals.into_iter().map(|v| self.dq_operand(ctx, v)).collect::<Result<Vec<_>>>()?;
                let spec = self.fused_spec(&q);
                let y = self.emit_concat(ctx, ops, axis, &spec)?;
                return self.finish_fusion(ctx, &q, y);
            }
            // Not followed by Q: a float concat of dequantized values, exact only as a pure copy
            // when every input has the same quantisation.
            let (_, spec) = self.same_quant_spec(ctx, &vals, out)?;
            let ops = vals.into_iter().map(|v| self.dq_operand(ctx, v)).collect::<Result<Vec<_>>>()?;
            let y = self.emit_concat(ctx, ops, axis, &spec)?;
            return self.define(ctx, out, Val::Dq(y));
        }
        if vals.iter().all(|v| matches!(v, Val::Act(_))) {
            let (_, spec) = self.same_quant_spec(ctx, &vals, out)?;
            let ops = vals
                .iter()
                .filter_map(|v| if let Val::Act(t) = v { Some(Operand::Tensor(*t)) } else { None })
                .collect();
            let y = self.emit_concat(ctx, ops, axis, &spec)?;
            return self.define(ctx, out, Val::Act(y));
        }
        Err(ctx.unsupported("Concat mixing constants, dequantized and plain tensors"))
    }

    /// Output spec of a copy-only op whose tensor inputs all share one dtype and quantisation.
    fn same_quant_spec(&self, ctx: &NodeCtx, vals: &[Val], out: &str) -> Result<(TensorId, OutSpec)> {
        let tensors: Vec<TensorId> =
            vals.iter().filter_map(|v| if let Val::Dq(t) | Val::Act(t) = v { Some(*t) } else { None }).collect();
        let Some(&first) = tensors.first() else { return Err(ctx.unsupported("Concat of constants only")) };
        let (dtype, quant) = (self.tensor(first).dtype, self.tensor(first).quant.clone());
        let same = tensors.iter().all(|&t| self.tensor(t).dtype == dtype && self.tensor(t).quant == quant)
            && vals.iter().all(|v| !matches!(v, Val::DqConst(..)));
        if !same {
            return Err(self.not_fusable(ctx));
        }
        Ok((first, OutSpec { name: out.to_string(), dtype, quant, activation: Activation::None }))
    }
}
