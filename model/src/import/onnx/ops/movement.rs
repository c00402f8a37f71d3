//! Data movement: Reshape / Flatten / Squeeze / Unsqueeze, constant-mode Pad and Transpose.

use super::MAX_ATTR;
use crate::error::Result;
use crate::import::onnx::attrs::{normalize_axis, NodeCtx};
use crate::import::onnx::convert::{Converter, QParams, Val};
use crate::import::onnx::layout::{self, Layout};
use crate::import::onnx::tensor::{checked_count, ConstTensor};
use crate::ir::{DType, Op};
use crate::shape;
use std::rc::Rc;

impl<'m> Converter<'m> {
    pub fn reshape_node(&mut self, ctx: &NodeCtx) -> Result<()> {
        let out = ctx.single_output()?;
        let x = self.val(ctx, ctx.require_input(0, "data")?)?;
        let in_shape = self.source_shape(&x);
        let new_shape = self.reshaped(ctx, &in_shape)?;
        if checked_count(&new_shape) != checked_count(&in_shape) {
            return Err(ctx.invalid(format!("cannot reshape {in_shape:?} to {new_shape:?}")));
        }
        let v = match x {
            Val::Const(c) => Val::Const(Rc::new(ConstTensor { shape: new_shape, ..(*c).clone() })),
            Val::DqConst(c, p) if p.is_per_tensor() => {
                Val::DqConst(Rc::new(ConstTensor { shape: new_shape, ..(*c).clone() }), p)
            }
            Val::DqConst(..) => return Err(ctx.unsupported("reshaping a per-axis quantized constant")),
            Val::Act(t) | Val::Dq(t) => {
                // Element order must be the ONNX one: transpose an NHWC tensor back first.
                let src = self.in_layout(t, Layout::Source);
                let tensor = self.tensor(src);
                if tensor.quant.as_ref().is_some_and(|q| q.scale.len() > 1) {
                    return Err(ctx.unsupported("reshaping a per-axis quantized tensor"));
                }
                let (dtype, quant) = (tensor.dtype, tensor.quant.clone());
                let name = ctx.name.clone();
                let y = self.emit_with_shape(
                    ctx,
                    name,
                    Op::Reshape,
                    vec![src],
                    out,
                    new_shape,
                    dtype,
                    quant,
                    Layout::Source,
                )?;
                if matches!(x, Val::Dq(_)) {
                    Val::Dq(y)
                } else {
                    Val::Act(y)
                }
            }
        };
        self.define(ctx, out, v)
    }

    /// Output shape of Reshape / Flatten / Squeeze / Unsqueeze for an input of `shape`.
    fn reshaped(&self, ctx: &NodeCtx, shape: &[usize]) -> Result<Vec<usize>> {
        let rank = shape.len();
        let axes_input = |c: &Converter| -> Result<Option<Vec<i64>>> {
            match ctx.input(1) {
                Some(n) => Ok(Some(
                    c.const_input(ctx, n, "axes")?.to_i64().ok_or_else(|| ctx.invalid("axes must be integers"))?,
                )),
                None => ctx.ints("axes"),
            }
        };
        match ctx.op() {
            "Flatten" => {
                let axis = ctx.int_or("axis", 1)?;
                let a = if axis < 0 { axis + rank as i64 } else { axis };
                if !(0..=rank as i64).contains(&a) {
                    return Err(ctx.invalid(format!("axis {axis} for rank {rank}")));
                }
                let a = a as usize;
                Ok(vec![shape[..a].iter().product(), shape[a..].iter().product()])
            }
            "Squeeze" => {
                let axes = axes_input(self)?;
                let drop: Vec<usize> = match axes {
                    None => (0..rank).filter(|&i| shape[i] == 1).collect(),
                    Some(ax) => ax
                        .iter()
                        .map(|&a| {
                            normalize_axis(a, rank).ok_or_else(|| ctx.invalid(format!("axis {a} for rank {rank}")))
                        })
                        .collect::<Result<_>>()?,
                };
                if drop.iter().any(|&a| shape[a] != 1) {
                    return Err(ctx.invalid(format!("squeezing axes {drop:?} of {shape:?}")));
                }
                Ok(shape.iter().enumerate().filter(|(i, _)| !drop.contains(i)).map(|(_, &d)| d).collect())
            }
            "Unsqueeze" => {
                let axes = axes_input(self)?.ok_or_else(|| ctx.invalid("axes are required"))?;
                let out_rank = rank + axes.len();
                let mut ins = axes
                    .iter()
                    .map(|&a| {
                        normalize_axis(a, out_rank).ok_or_else(|| ctx.invalid(format!("axis {a} for rank {out_rank}")))
                    })
                    .collect::<Result<Vec<_>>>()?;
                ins.sort_unstable();
                ins.dedup();
                if ins.len() != axes.len() {
                    return Err(ctx.invalid("repeated axes"));
                }
                let mut it = shape.iter();
                Ok((0..out_rank).map(|i| if ins.contains(&i) { 1 } else { it.next().copied().unwrap_or(1) }).collect())
            }
            _ => {
                let target = self
                    .const_input(ctx, ctx.require_input(1, "shape")?, "shape")?
                    .to_i64()
                    .ok_or_else(|| ctx.invalid("shape must be int64"))?;
                let allow_zero = ctx.int_or("allowzero", 0)? != 0;
                let mut out = Vec::with_capacity(target.len());
                let mut infer_at = None;
                for (i, &d) in target.iter().enumerate() {
                    match d {
                        -1 if infer_at.is_none() => {
                            infer_at = Some(i);
                            out.push(1);
                        }
                        0 if !allow_zero => out.push(
                            *shape
                                .get(i)
                                .ok_or_else(|| ctx.invalid(format!("shape {target:?}: 0 beyond the input rank")))?,
                        ),
                        d if d >= 0 => out.push(usize::try_from(d).map_err(|_| ctx.invalid("dimension too large"))?),
                        _ => return Err(ctx.invalid(format!("shape {target:?}"))),
                    }
                }
                if let Some(i) = infer_at {
                    let total = checked_count(shape).unwrap_or(0);
                    let rest = checked_count(&out).unwrap_or(0);
                    if rest == 0 || !total.is_multiple_of(rest) {
                        return Err(ctx.invalid(format!("cannot reshape {shape:?} to {target:?}")));
                    }
                    out[i] = total / rest;
                }
                Ok(out)
            }
        }
    }

    /// Constant-mode Pad. On a DQ view (QDQ: onnxruntime pads the dequantized float with 0.0 and
    /// quantizes again) the pad value is the zero point, which dequantizes to exactly 0.0; on a
    /// quantized tensor (QOperator) the constant is the raw integer given.
    pub fn pad_node(&mut self, ctx: &NodeCtx) -> Result<()> {
        let out = ctx.single_output()?;
        let x = self.val(ctx, ctx.require_input(0, "data")?)?;
        let mode = ctx.string("mode")?.unwrap_or_else(|| "constant".into());
        if mode != "constant" {
            return Err(ctx.unsupported(format!("mode = {mode:?} (constant only)")));
        }
        if ctx.input(3).is_some() {
            return Err(ctx.unsupported("the axes input"));
        }
        let src_shape = self.source_shape(&x);
        let rank = src_shape.len();
        let raw_pads = match ctx.input(1) {
            Some(n) => self.const_input(ctx, n, "pads")?.to_i64().ok_or_else(|| ctx.invalid("pads must be int64"))?,
            None => ctx.ints("pads")?.ok_or_else(|| ctx.invalid("pads are required"))?,
        };
        if raw_pads.len() != 2 * rank || raw_pads.iter().any(|&p| !(0..=MAX_ATTR).contains(&p)) {
            return Err(ctx.unsupported(format!("pads {raw_pads:?} for rank {rank} (non-negative, 2 per axis)")));
        }
        let src_pads: Vec<(usize, usize)> =
            (0..rank).map(|i| (raw_pads[i] as usize, raw_pads[i + rank] as usize)).collect();
        let constant = match ctx.input(2) {
            Some(n) => Some(self.const_input(ctx, n, "constant_value")?),
            None => None,
        };
        let (Val::Dq(t) | Val::Act(t)) = x else { return Err(ctx.unsupported("padding a constant")) };
        let tensor = self.tensor(t);
        let (dtype, quant, layout) = (tensor.dtype, tensor.quant.clone(), self.layout_of(t));
        let float_zero = |c: &Option<std::rc::Rc<ConstTensor>>| match c {
            None => Ok(ctx.float("value")?.unwrap_or(0.0) == 0.0),
            Some(c) => Ok::<bool, crate::error::ModelError>(c.to_f32().is_some_and(|v| v.iter().all(|&f| f == 0.0))),
        };
        let value = match (&x, dtype) {
            (Val::Dq(_), _) | (Val::Act(_), DType::F32) => {
                if !float_zero(&constant)? {
                    return Err(ctx.unsupported("a non-zero float pad value"));
                }
                if dtype == DType::F32 {
                    Some(0)
                } else {
                    None
                }
            }
            _ => match &constant {
                None => Some(0),
                Some(c) => Some(
                    c.to_i32()
                        .and_then(|v| v.first().copied())
                        .filter(|_| c.dtype == dtype)
                        .ok_or_else(|| ctx.invalid(format!("constant_value must be a {dtype} scalar")))?,
                ),
            },
        };
        let pads = match layout {
            Layout::Source => src_pads,
            Layout::Nhwc => layout::TO_NHWC.iter().map(|&a| src_pads[a]).collect(),
        };
        let name = ctx.name.clone();
        let y = self.emit(ctx, name, Op::Pad { pads, value }, vec![t], out, dtype, quant, layout)?;
        let v = if matches!(x, Val::Dq(_)) { Val::Dq(y) } else { Val::Act(y) };
        self.define(ctx, out, v)
    }

    pub fn transpose_node(&mut self, ctx: &NodeCtx) -> Result<()> {
        let out = ctx.single_output()?;
        let x = self.val(ctx, ctx.require_input(0, "data")?)?;
        let rank = self.source_shape(&x).len();
        let perm: Vec<usize> = match ctx.ints("perm")? {
            None => (0..rank).rev().collect(),
            Some(p) => p
                .iter()
                .map(|&a| {
                    usize::try_from(a).ok().filter(|&a| a < rank).ok_or_else(|| ctx.invalid(format!("perm {p:?}")))
                })
                .collect::<Result<_>>()?,
        };
        let shape_check = shape::infer(&Op::Transpose { perm: perm.clone() }, &[&vec![1; rank]]);
        shape_check.map_err(|r| ctx.invalid(r))?;
        let v = match x {
            Val::Const(c) => Val::Const(Rc::new(transpose_const(&c, &perm))),
            Val::DqConst(c, p) => {
                let axis = p.axis.and_then(|a| layout::permuted_axis(&perm, a));
                Val::DqConst(Rc::new(transpose_const(&c, &perm)), QParams { axis, ..p })
            }
            Val::Act(t) | Val::Dq(t) => {
                // Compose with the storage layout so that at most one IR transpose results.
                let ir_perm = match self.layout_of(t) {
                    Layout::Nhwc => layout::compose(&layout::TO_NCHW, &perm),
                    Layout::Source => perm,
                };
                let tensor = self.tensor(t);
                let (dtype, quant, shape) =
                    (tensor.dtype, layout::permute_quant(&tensor.quant, &ir_perm), tensor.shape.clone());
                let name = ctx.name.clone();
                let y = if !layout::is_identity(&ir_perm) {
                    self.emit(ctx, name, Op::Transpose { perm: ir_perm }, vec![t], out, dtype, quant, Layout::Source)?
                } else if self.layout_of(t) == Layout::Nhwc {
                    // An NCHW -> NHWC transpose of a tensor already stored NHWC: the data is
                    // right, only its meaning changes (now the source layout); a Reshape to the
                    // same shape gives it a tensor of its own.
                    self.emit_with_shape(ctx, name, Op::Reshape, vec![t], out, shape, dtype, quant, Layout::Source)?
                } else {
                    t
                };
                if matches!(x, Val::Dq(_)) {
                    Val::Dq(y)
                } else {
                    Val::Act(y)
                }
            }
        };
        self.define(ctx, out, v)
    }
}

fn transpose_const(c: &ConstTensor, perm: &[usize]) -> ConstTensor {
    ConstTensor {
        name: c.name.clone(),
        shape: layout::permute_shape(&c.shape, perm),
        dtype: c.dtype,
        data: layout::transpose_data(&c.data, &c.shape, perm),
    }
}
