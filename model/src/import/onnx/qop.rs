//! QOperator-format nodes: the integer ops themselves (QLinearConv, QLinearMatMul, ConvInteger,
//! MatMulInteger and the com.microsoft QGemm / QLinearAdd / QLinearMul / QLinear*Pool /
//! QLinearConcat / QLinearSoftmax). Their scale and zero-point inputs become the IR tensors'
//! quantisation.

use super::attrs::NodeCtx;
use super::convert::{Converter, QParams, Val};
use super::ops::{Operand, OutSpec};
use crate::error::Result;
use crate::ir::{Activation, DType, TensorId};

impl<'m> Converter<'m> {
    /// Per-tensor parameters of activation `data` from `scale` / `zero point` inputs.
    fn act_params(&self, ctx: &NodeCtx, scale: usize, zp: usize, dtype: DType) -> Result<QParams> {
        let p = self.qparams(ctx, ctx.require_input(scale, "scale")?, ctx.input(zp), 1, &[], dtype)?;
        if !p.is_per_tensor() {
            return Err(ctx.unsupported("per-axis activation quantisation"));
        }
        Ok(p)
    }

    /// A quantized activation input of a QLinear op (input `data`, scale input `scale`, zero
    /// point input `zp`): an IR tensor carrying the parameters, or a quantized constant.
    fn q_operand(&mut self, ctx: &NodeCtx, data: usize, scale: usize, zp: usize) -> Result<Operand> {
        let v = self.val(ctx, ctx.require_input(data, "data")?)?;
        match v {
            Val::Act(t) if self.tensor(t).dtype.is_quantized_storage() => {
                let p = self.act_params(ctx, scale, zp, self.tensor(t).dtype)?;
                self.bind_quant(ctx, t, &p)?;
                Ok(Operand::Tensor(t))
            }
            Val::Const(c) if c.dtype.is_quantized_storage() => {
                let p = self.act_params(ctx, scale, zp, c.dtype)?;
                if p.dtype != c.dtype {
                    return Err(ctx.invalid(format!("'{}' is {} but its zero point is {}", c.name, c.dtype, p.dtype)));
                }
                Ok(Operand::Const(c, Some(p.to_ir(super::layout::Layout::Source))))
            }
            _ => Err(ctx.invalid(format!("input {data} must be an int8/uint8 tensor"))),
        }
    }

    /// The quantized activation tensor input `data` (constants refused).
    fn q_tensor(&mut self, ctx: &NodeCtx, data: usize, scale: usize, zp: usize) -> Result<TensorId> {
        match self.q_operand(ctx, data, scale, zp)? {
            Operand::Tensor(t) => Ok(t),
            Operand::Const(..) => {
                Err(ctx.unsupported(format!("input {data} is a constant (an activation is expected)")))
            }
        }
    }

    /// Output spec from `y_scale` / `y_zero_point` inputs.
    fn q_out(&self, ctx: &NodeCtx, scale: usize, zp: usize, default: DType) -> Result<OutSpec> {
        let p = self.act_params(ctx, scale, zp, default)?;
        Ok(OutSpec {
            name: ctx.single_output()?.to_string(),
            dtype: p.dtype,
            quant: Some(p.to_ir(super::layout::Layout::Source)),
            activation: Activation::None,
        })
    }

    fn finish(&mut self, ctx: &NodeCtx, y: TensorId) -> Result<()> {
        let out = ctx.single_output()?;
        self.define(ctx, out, Val::Act(y))
    }

    fn refuse_channels_last(&self, ctx: &NodeCtx) -> Result<bool> {
        Ok(ctx.int_or("channels_last", 0)? != 0)
    }

    pub fn qlinear_conv(&mut self, ctx: &NodeCtx) -> Result<()> {
        if self.refuse_channels_last(ctx)? {
            return Err(ctx.unsupported("channels_last QLinearConv (an onnxruntime-internal form)"));
        }
        let x = self.q_tensor(ctx, 0, 1, 2)?;
        let w = self.const_input(ctx, ctx.require_input(3, "w")?, "weights")?;
        let wp = self.qparams(ctx, ctx.require_input(4, "w_scale")?, ctx.input(5), 0, &w.shape, w.dtype)?;
        if wp.dtype != w.dtype {
            return Err(ctx.invalid(format!("w is {} but w_zero_point is {}", w.dtype, wp.dtype)));
        }
        let wq = self.weight_quant(ctx, &wp, 0, 0)?;
        let spec = self.q_out(ctx, 6, 7, self.tensor(x).dtype)?;
        let bias = match ctx.input(8) {
            Some(b) => Some(self.const_input(ctx, b, "bias")?),
            None => None,
        };
        if bias.as_ref().is_some_and(|b| b.dtype != DType::I32) {
            return Err(ctx.invalid("bias must be int32"));
        }
        let y = self.emit_conv(ctx, x, &w, Some(wq), bias.as_deref(), &spec)?;
        self.finish(ctx, y)
    }

    /// Zero-point-only parameters (ConvInteger / MatMulInteger): scale 1.
    fn zp_params(&self, ctx: &NodeCtx, zp: usize, dtype: DType, axis: usize, shape: &[usize]) -> Result<QParams> {
        let Some(name) = ctx.input(zp) else { return Ok(QParams::per_tensor(1.0, 0, dtype)) };
        let c = self.const_input(ctx, name, "zero point")?;
        let z = c.to_i32().ok_or_else(|| ctx.invalid("zero point must be an integer tensor"))?;
        if c.dtype != dtype {
            return Err(ctx.invalid(format!("zero point '{name}' is {} for {dtype} data", c.dtype)));
        }
        match z.len() {
            1 => Ok(QParams::per_tensor(1.0, z[0], dtype)),
            n if shape.get(axis) == Some(&n) => {
                Ok(QParams { scale: vec![1.0; n], zero_point: z, axis: Some(axis), dtype })
            }
            n => Err(ctx.unsupported(format!("{n} zero points for shape {shape:?}"))),
        }
    }

    pub fn conv_integer(&mut self, ctx: &NodeCtx) -> Result<()> {
        let out = ctx.single_output()?;
        let Val::Act(x) = self.val(ctx, ctx.require_input(0, "x")?)? else {
            return Err(ctx.unsupported("x must be an activation"));
        };
        let x_dtype = self.tensor(x).dtype;
        let xp = self.zp_params(ctx, 2, x_dtype, 1, &[])?;
        self.bind_quant(ctx, x, &xp)?;
        let w = self.const_input(ctx, ctx.require_input(1, "w")?, "weights")?;
        let wp = self.zp_params(ctx, 3, w.dtype, 0, &w.shape)?;
        let wq = self.weight_quant(ctx, &wp, 0, 0)?;
        let spec = OutSpec { name: out.to_string(), dtype: DType::I32, quant: None, activation: Activation::None };
        let y = self.emit_conv(ctx, x, &w, Some(wq), None, &spec)?;
        self.finish(ctx, y)
    }

    /// MatMul-family B operand: FullyConnected weights when a 2-D constant, else a MatMul operand.
    fn matmul_b(
        &mut self,
        ctx: &NodeCtx,
        a: TensorId,
        b: Val,
        bp: impl Fn(&Converter, &[usize], DType) -> Result<QParams>,
        spec: &OutSpec,
    ) -> Result<TensorId> {
        match b {
            Val::Const(bc) if bc.shape.len() == 2 => {
                let p = bp(self, &bc.shape, bc.dtype)?;
                let (w, wq) = self.fc_weights(ctx, &bc, Some(&p), false)?;
                self.emit_fc(ctx, a, w, wq, None, spec)
            }
            Val::Const(bc) => {
                let p = bp(self, &bc.shape, bc.dtype)?;
                let q = self.matrix_quant(ctx, &p, bc.shape.len())?;
                let bt = self.plain_const(&bc, Some(q));
                self.emit_matmul(ctx, a, bt, spec)
            }
            Val::Act(bt) => {
                let shape = self.tensor(bt).shape.clone();
                let p = bp(self, &shape, self.tensor(bt).dtype)?;
                self.matrix_quant(ctx, &p, shape.len())?;
                self.bind_quant(ctx, bt, &p)?;
                self.emit_matmul(ctx, a, bt, spec)
            }
            _ => Err(ctx.invalid("B must be an integer tensor")),
        }
    }

    pub fn qlinear_matmul(&mut self, ctx: &NodeCtx) -> Result<()> {
        let a = self.q_tensor(ctx, 0, 1, 2)?;
        let b = self.val(ctx, ctx.require_input(3, "b")?)?;
        let spec = self.q_out(ctx, 6, 7, self.tensor(a).dtype)?;
        let bp = |c: &Converter, shape: &[usize], dtype: DType| -> Result<QParams> {
            let axis = shape.len() as i64 - 1;
            c.qparams(ctx, ctx.require_input(4, "b_scale")?, ctx.input(5), axis, shape, dtype)
        };
        let y = self.matmul_b(ctx, a, b, bp, &spec)?;
        self.finish(ctx, y)
    }

    pub fn matmul_integer(&mut self, ctx: &NodeCtx) -> Result<()> {
        let out = ctx.single_output()?;
        let Val::Act(a) = self.val(ctx, ctx.require_input(0, "A")?)? else {
            return Err(ctx.unsupported("A must be an activation"));
        };
        let a_dtype = self.tensor(a).dtype;
        let ap = self.zp_params(ctx, 2, a_dtype, usize::MAX, &[])?;
        self.bind_quant(ctx, a, &ap)?;
        let b = self.val(ctx, ctx.require_input(1, "B")?)?;
        let spec = OutSpec { name: out.to_string(), dtype: DType::I32, quant: None, activation: Activation::None };
        let bp = |c: &Converter, shape: &[usize], dtype: DType| {
            c.zp_params(ctx, 3, dtype, shape.len().saturating_sub(1), shape)
        };
        let y = self.matmul_b(ctx, a, b, bp, &spec)?;
        self.finish(ctx, y)
    }

    pub fn qgemm(&mut self, ctx: &NodeCtx) -> Result<()> {
        let a = self.q_tensor(ctx, 0, 1, 2)?;
        let b = self.const_input(ctx, ctx.require_input(3, "B")?, "B")?;
        let c = ctx.input(6).map(|n| self.const_input(ctx, n, "C")).transpose()?;
        if ctx.input(7).is_none() {
            return Err(ctx.unsupported("QGemm with a float output (no y_scale)"));
        }
        let alpha = ctx.float("alpha")?.unwrap_or(1.0);
        if alpha != 1.0 {
            return Err(ctx.unsupported(format!("alpha = {alpha} (only 1 is supported)")));
        }
        ctx.expect_int("transA", 0, "transposed A")?;
        let trans_b = ctx.int_or("transB", 0)? != 0;
        let b_axis = if trans_b { 0 } else { 1 };
        let bp = self.qparams(ctx, ctx.require_input(4, "b_scale")?, ctx.input(5), b_axis, &b.shape, b.dtype)?;
        let (w, wq) = self.fc_weights(ctx, &b, Some(&bp), trans_b)?;
        if c.as_ref().is_some_and(|c| c.dtype != DType::I32) {
            return Err(ctx.invalid("C must be int32"));
        }
        let spec = self.q_out(ctx, 7, 8, self.tensor(a).dtype)?;
        let y = self.emit_fc(ctx, a, w, wq, c.as_deref(), &spec)?;
        self.finish(ctx, y)
    }

    pub fn qlinear_binary(&mut self, ctx: &NodeCtx) -> Result<()> {
        let a = self.q_operand(ctx, 0, 1, 2)?;
        let b = self.q_operand(ctx, 3, 4, 5)?;
        let dtype = match &a {
            Operand::Tensor(t) => self.tensor(*t).dtype,
            Operand::Const(c, _) => c.dtype,
        };
        let spec = self.q_out(ctx, 6, 7, dtype)?;
        let y = self.emit_binary(ctx, ctx.op() == "QLinearMul", a, b, &spec)?;
        self.finish(ctx, y)
    }

    pub fn qlinear_global_average_pool(&mut self, ctx: &NodeCtx) -> Result<()> {
        let x = self.q_tensor(ctx, 0, 1, 2)?;
        let spec = self.q_out(ctx, 3, 4, self.tensor(x).dtype)?;
        let channels_last = ctx.int_or("channels_last", 0)? != 0;
        let y = self.emit_global_pool(ctx, x, channels_last, &spec)?;
        self.finish(ctx, y)
    }

    pub fn qlinear_average_pool(&mut self, ctx: &NodeCtx) -> Result<()> {
        let x = self.q_tensor(ctx, 0, 1, 2)?;
        let spec = self.q_out(ctx, 3, 4, self.tensor(x).dtype)?;
        let channels_last = ctx.int_or("channels_last", 0)? != 0;
        let y = self.emit_pool(ctx, x, false, channels_last, &spec)?;
        self.finish(ctx, y)
    }

    pub fn qlinear_concat(&mut self, ctx: &NodeCtx) -> Result<()> {
        let axis = ctx.int("axis")?.ok_or_else(|| ctx.invalid("axis is required"))?;
        let n = ctx.node.input.len();
        if n < 5 || !(n - 2).is_multiple_of(3) {
            return Err(ctx.invalid(format!("{n} inputs (expected 2 + 3 per tensor)")));
        }
        let mut ops = Vec::with_capacity((n - 2) / 3);
        for k in 0..(n - 2) / 3 {
            let i = 2 + 3 * k;
            ops.push(self.q_operand(ctx, i, i + 1, i + 2)?);
        }
        let dtype = match &ops[0] {
            Operand::Tensor(t) => self.tensor(*t).dtype,
            Operand::Const(c, _) => c.dtype,
        };
        let spec = self.q_out(ctx, 0, 1, dtype)?;
        let y = self.emit_concat(ctx, ops, axis, &spec)?;
        self.finish(ctx, y)
    }

    pub fn qlinear_softmax(&mut self, ctx: &NodeCtx) -> Result<()> {
        let x = self.q_tensor(ctx, 0, 1, 2)?;
        let spec = self.q_out(ctx, 3, 4, self.tensor(x).dtype)?;
        let opset = ctx.int("opset")?.ok_or_else(|| ctx.invalid("opset attribute is required"))?;
        let rank = self.tensor(x).shape.len();
        let axis = self.softmax_axis(ctx, rank, opset)?;
        let y = self.emit_softmax(ctx, x, axis, &spec)?;
        self.finish(ctx, y)
    }
}
