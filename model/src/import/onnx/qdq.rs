//! QuantizeLinear / DequantizeLinear and the QDQ pattern rules.
//!
//! onnxruntime (CPU provider, default optimisation level) rewrites
//! `DQ(x), DQ(w), [DQ(bias)] -> Conv|Gemm|MatMul -> Q` into QLinearConv / QGemm / QLinearMatMul,
//! `DQ -> Add|Mul -> Q` into QLinearAdd / QLinearMul, `DQ -> AveragePool|GlobalAveragePool|Softmax
//! -> Q` into their QLinear forms and `DQ -> Concat -> Q` into QLinearConcat
//! (`qdq_selector_action_transformer.cc`), and drops the Q/DQ pair around data-movement ops
//! (Reshape, Flatten, Transpose, Squeeze, Unsqueeze, MaxPool) when both carry the same
//! parameters. Before that, `ReluQuantFusion` / `ClipQuantFusion` delete a Relu / Clip that feeds
//! a QuantizeLinear whose range already clamps as much (Relu: zero point = type minimum; Clip:
//! [min, max] covers the quantized range to within float epsilon). This module reproduces those
//! decisions; what onnxruntime would leave in float is refused, because its float kernels are not
//! bit-reproducible on integer hardware.

use super::attrs::NodeCtx;
use super::convert::{Converter, QParams, Val};
use super::tensor::{dtype_of, ConstTensor};
use crate::arith;
use crate::error::Result;
use crate::ir::{Activation, DType, Op, TensorData, TensorId};
use crate::quant::storage_range;
use std::rc::Rc;

/// The QuantizeLinear node(s) a compute op's output feeds, when onnxruntime would fuse them.
pub struct OutQ {
    /// The Q nodes (several identical ones are merged by onnxruntime's common-subexpression pass).
    pub q_nodes: Vec<usize>,
    /// A Relu / Clip between op and Q that onnxruntime deletes.
    pub removed: Option<usize>,
    pub params: QParams,
    pub activation: Activation,
}

impl OutQ {
    /// Name of the IR output tensor: the first Q's output.
    pub fn name<'a>(&self, c: &Converter<'a>) -> &'a str {
        c.nodes[self.q_nodes[0]].output.first().map(String::as_str).unwrap_or("")
    }
}

impl<'m> Converter<'m> {
    // ------------------------------------------------------------ parameters ----

    /// Scale (and optional zero point) inputs as quantisation parameters for a value of
    /// `data_shape`. Scales must be constant, positive and finite; more than one scale means
    /// per-axis along `axis` (default 1, negative counts from the end).
    pub fn qparams(
        &self,
        ctx: &NodeCtx,
        scale: &str,
        zero_point: Option<&str>,
        axis: i64,
        data_shape: &[usize],
        default_dtype: DType,
    ) -> Result<QParams> {
        let s = self.const_input(ctx, scale, "scale")?;
        let scales = s.to_f32().ok_or_else(|| ctx.unsupported(format!("scale '{scale}' must be float32")))?;
        if scales.is_empty() {
            return Err(ctx.invalid(format!("scale '{scale}' is empty")));
        }
        if let Some(bad) = scales.iter().find(|v| !(v.is_finite() && **v > 0.0)) {
            return Err(ctx.unsupported(format!("scale {bad} in '{scale}' (scales must be positive and finite)")));
        }
        let (zps, dtype) = match zero_point {
            Some(zp) => {
                let z = self.const_input(ctx, zp, "zero point")?;
                let v =
                    z.to_i32().ok_or_else(|| ctx.invalid(format!("zero point '{zp}' must be an integer tensor")))?;
                (v, z.dtype)
            }
            None => (vec![0], default_dtype),
        };
        let n = scales.len();
        if !(zps.len() == n || zps.len() == 1) {
            return Err(ctx.invalid(format!("{n} scales but {} zero points", zps.len())));
        }
        let axis = if n == 1 {
            None
        } else {
            if s.shape.len() != 1 {
                return Err(ctx.unsupported(format!(
                    "scale of shape {:?}: blocked quantisation is not supported (1-D per-axis scales only)",
                    s.shape
                )));
            }
            let a = super::attrs::normalize_axis(axis, data_shape.len())
                .ok_or_else(|| ctx.invalid(format!("axis {axis} out of range for shape {data_shape:?}")))?;
            if data_shape[a] != n {
                return Err(ctx.invalid(format!("{n} scales for axis {a} of shape {data_shape:?}")));
            }
            Some(a)
        };
        Ok(QParams { scale: scales, zero_point: zps, axis, dtype })
    }

    /// A constant input (initializer, Constant, bound input) by name.
    pub fn const_input(&self, ctx: &NodeCtx, name: &str, what: &str) -> Result<Rc<ConstTensor>> {
        match self.val(ctx, name)? {
            Val::Const(c) => Ok(c),
            _ => Err(ctx.unsupported(format!(
                "{what} '{name}' is computed at run time; systole needs it as a constant \
                 (bind graph inputs with import_onnx_with_constants)"
            ))),
        }
    }

    /// Records `p` as the quantisation of IR tensor `t`, or checks it against what `t` already
    /// carries (an activation has one quantisation in the IR).
    pub fn bind_quant(&mut self, ctx: &NodeCtx, t: TensorId, p: &QParams) -> Result<()> {
        let layout = self.layout_of(t);
        let tensor = self.tensor(t);
        if tensor.dtype != p.dtype {
            return Err(
                ctx.invalid(format!("tensor '{}' is {} but its zero point is {}", tensor.name, tensor.dtype, p.dtype))
            );
        }
        let want = p.to_ir(layout);
        match &tensor.quant {
            None => {
                self.g.tensors[t].quant = Some(want);
                Ok(())
            }
            Some(q) if *q == want => Ok(()),
            Some(q) => Err(ctx.unsupported(format!(
                "tensor '{}' is used with quantisation {want:?} here but {q:?} elsewhere; \
                 one tensor carries one quantisation in the IR",
                tensor.name
            ))),
        }
    }

    /// The quantisation parameters tensor `t` carries, in ONNX axis terms.
    pub fn tensor_qparams(&self, t: TensorId) -> Option<QParams> {
        let tensor = self.tensor(t);
        let q = tensor.quant.as_ref()?;
        let axis = q.axis.map(|a| match self.layout_of(t) {
            super::layout::Layout::Source => a,
            super::layout::Layout::Nhwc => super::layout::TO_NHWC.get(a).copied().unwrap_or(a),
        });
        Some(QParams { scale: q.scale.clone(), zero_point: q.zero_point.clone(), axis, dtype: tensor.dtype })
    }

    // ------------------------------------------------------------ Q and DQ ----

    pub fn quantize_linear(&mut self, ctx: &NodeCtx) -> Result<()> {
        let out = ctx.single_output()?;
        let x = self.val(ctx, ctx.require_input(0, "x")?)?;
        ctx.expect_int("block_size", 0, "blocked quantisation")?;
        let default_dtype = match ctx.int("output_dtype")? {
            Some(t) if t != 0 => {
                i32::try_from(t).ok().and_then(dtype_of).ok_or_else(|| ctx.unsupported(format!("output_dtype {t}")))?
            }
            _ => DType::U8,
        };
        let shape = self.source_shape(&x);
        let p = self.qparams(
            ctx,
            ctx.require_input(1, "y_scale")?,
            ctx.input(2),
            ctx.int_or("axis", 1)?,
            &shape,
            default_dtype,
        )?;
        if !p.dtype.is_quantized_storage() {
            return Err(ctx.unsupported(format!("quantizing to {} is not supported", p.dtype)));
        }
        let v = match x {
            Val::Const(c) if c.dtype == DType::F32 => Val::Const(Rc::new(fold_quantize(ctx, &c, &p)?)),
            Val::DqConst(c, cp) => {
                let f = fold_dequantize(&c, &cp);
                Val::Const(Rc::new(fold_quantize(ctx, &f, &p)?))
            }
            Val::Act(t) if self.tensor(t).dtype == DType::F32 => Val::Act(self.emit_quantize(ctx, t, &p, out)?),
            Val::Dq(t) => match self.tensor_qparams(t) {
                // DQ -> Q with the same parameters is the identity on the integers.
                Some(q) if q.same_as(&p) => Val::Act(t),
                _ => Val::Act(self.emit_quantize(ctx, t, &p, out)?),
            },
            _ => return Err(ctx.invalid("input must be float32")),
        };
        self.define(ctx, out, v)
    }

    /// IR Quantize of `t` (float, or quantized: then a requantisation that dequantizes and
    /// quantizes again in float32, as onnxruntime runs an unfused DQ -> Q).
    fn emit_quantize(&mut self, ctx: &NodeCtx, t: TensorId, p: &QParams, out: &str) -> Result<TensorId> {
        let layout = self.layout_of(t);
        let quant = Some(p.to_ir(layout));
        let name = ctx.name.clone();
        self.emit(ctx, name, Op::Quantize, vec![t], out, p.dtype, quant, layout)
    }

    pub fn dequantize_linear(&mut self, ctx: &NodeCtx) -> Result<()> {
        let out = ctx.single_output()?;
        let x = self.val(ctx, ctx.require_input(0, "x")?)?;
        ctx.expect_int("block_size", 0, "blocked quantisation")?;
        let shape = self.source_shape(&x);
        let x_dtype = match &x {
            Val::Const(c) => c.dtype,
            Val::Act(t) => self.tensor(*t).dtype,
            _ => return Err(ctx.invalid("input must be an integer tensor, not a float value")),
        };
        let p =
            self.qparams(ctx, ctx.require_input(1, "x_scale")?, ctx.input(2), ctx.int_or("axis", 1)?, &shape, x_dtype)?;
        if p.dtype != x_dtype {
            return Err(ctx.invalid(format!("x is {x_dtype} but x_zero_point is {}", p.dtype)));
        }
        if x_dtype == DType::F32 || x_dtype == DType::I64 {
            return Err(ctx.unsupported(format!("dequantizing {x_dtype} is not supported")));
        }
        let v = match x {
            Val::Const(c) => Val::DqConst(c, p),
            Val::Act(t) => {
                self.bind_quant(ctx, t, &p)?;
                Val::Dq(t)
            }
            _ => return Err(ctx.invalid("input must be an integer tensor")),
        };
        self.define(ctx, out, v)
    }

    // ------------------------------------------------------- fusion look-ahead ----

    /// Nodes consuming `value` when every one of them is a QuantizeLinear reading it as `x`
    /// (and `value` is not a graph output).
    fn q_consumers(&self, value: &str) -> Option<Vec<usize>> {
        let (cons, is_output) = self.consumers_of(value);
        if is_output || cons.is_empty() {
            return None;
        }
        let all_q = cons.iter().all(|&i| {
            let n = &self.nodes[i];
            !self.skip[i]
                && n.op() == "QuantizeLinear"
                && matches!(n.domain(), "" | "ai.onnx")
                && n.input.first().map(String::as_str) == Some(value)
        });
        all_q.then(|| cons.to_vec())
    }

    /// Per-tensor int8/uint8 parameters shared by all of `q_nodes`, or `None`.
    fn shared_q_params(&self, q_nodes: &[usize]) -> Option<QParams> {
        let mut shared: Option<QParams> = None;
        for &i in q_nodes {
            let n = &self.nodes[i];
            let qctx = NodeCtx { node: n, name: n.name.clone().unwrap_or_default() };
            let scale = qctx.input(1)?;
            let p = self.qparams(&qctx, scale, qctx.input(2), 1, &[], DType::U8).ok()?;
            if !p.is_per_tensor() || !matches!(p.dtype, DType::I8 | DType::U8) {
                return None;
            }
            match &shared {
                Some(s) if !s.same_as(&p) => return None,
                Some(_) => {}
                None => shared = Some(p),
            }
        }
        shared
    }

    /// The QuantizeLinear that onnxruntime would fuse into the op producing `value`.
    pub fn find_output_q(&self, value: &str) -> Result<Option<OutQ>> {
        if let Some(q_nodes) = self.q_consumers(value) {
            return Ok(self.shared_q_params(&q_nodes).map(|params| OutQ {
                q_nodes,
                removed: None,
                params,
                activation: Activation::None,
            }));
        }
        let (cons, is_output) = self.consumers_of(value);
        if is_output || cons.len() != 1 || self.skip[cons[0]] {
            return Ok(None);
        }
        let act_index = cons[0];
        let act = &self.nodes[act_index];
        if !matches!(act.op(), "Relu" | "Clip") || !matches!(act.domain(), "" | "ai.onnx") {
            return Ok(None);
        }
        let Some(act_out) = act.output.first() else { return Ok(None) };
        let Some(q_nodes) = self.q_consumers(act_out) else { return Ok(None) };
        let Some(params) = self.shared_q_params(&q_nodes) else { return Ok(None) };
        let act_ctx = NodeCtx { node: act, name: act.name.clone().unwrap_or_default() };
        let activation = if act.op() == "Relu" {
            if !relu_removable(&params) {
                return Ok(None);
            }
            Activation::Relu
        } else {
            let (lo, hi) = self.clip_bounds(&act_ctx)?;
            if !clip_removable(&params, lo, hi) {
                return Ok(None);
            }
            Activation::None
        };
        Ok(Some(OutQ { q_nodes, removed: Some(act_index), params, activation }))
    }

    /// Marks the fused Q (and deleted Relu/Clip) nodes done and binds their outputs to `t`.
    pub fn finish_fusion(&mut self, ctx: &NodeCtx, q: &OutQ, t: TensorId) -> Result<()> {
        if let Some(r) = q.removed {
            self.skip[r] = true;
        }
        for &i in &q.q_nodes {
            self.skip[i] = true;
            if let Some(out) = self.nodes[i].output.first().filter(|o| !o.is_empty()) {
                self.define(ctx, out, Val::Act(t))?;
            }
        }
        Ok(())
    }

    /// The error for a float compute op onnxruntime would not turn into an integer kernel.
    pub fn not_fusable(&self, ctx: &NodeCtx) -> crate::error::ModelError {
        ctx.unsupported(format!(
            "float {op} not surrounded by QuantizeLinear/DequantizeLinear: its inputs come from \
             DequantizeLinear but its output does not feed only QuantizeLinear nodes with identical \
             per-tensor int8/uint8 parameters (optionally through a Relu/Clip that onnxruntime folds \
             into them), so onnxruntime would run it in float, which systole does not reproduce",
            op = ctx.op()
        ))
    }

    /// Clip bounds: attributes before opset 11, optional constant inputs after.
    pub fn clip_bounds(&self, ctx: &NodeCtx) -> Result<(f32, f32)> {
        let bound = |i: usize, attr: &str, default: f32| -> Result<f32> {
            if let Some(name) = ctx.input(i) {
                let c = self.const_input(ctx, name, attr)?;
                return c
                    .to_f32()
                    .and_then(|v| v.first().copied())
                    .ok_or_else(|| ctx.unsupported(format!("{attr} must be a float32 scalar")));
            }
            Ok(ctx.float(attr)?.unwrap_or(default))
        };
        Ok((bound(1, "min", f32::MIN)?, bound(2, "max", f32::MAX)?))
    }

    // ----------------------------------------------------- Relu / Clip on DQ ----

    /// A standalone Relu/Clip between DQ and Q. Deleted when onnxruntime deletes it; a Relu it
    /// keeps runs in float on dequantized values, which equals an integer clamp at the zero
    /// point (dequantisation is monotonic and maps the zero point to exactly 0.0).
    pub fn activation_node(&mut self, ctx: &NodeCtx) -> Result<()> {
        let out = ctx.single_output()?;
        let x = self.val(ctx, ctx.require_input(0, "x")?)?;
        let Val::Dq(t) = x else {
            return Err(ctx.unsupported(format!(
                "{} is supported between DequantizeLinear and QuantizeLinear only (float activations are not)",
                ctx.op()
            )));
        };
        let followers = self.q_consumers(out).and_then(|q| self.shared_q_params(&q));
        let (lo, hi) = if ctx.op() == "Clip" { self.clip_bounds(ctx)? } else { (0.0, f32::MAX) };
        let removable = match &followers {
            Some(p) if ctx.op() == "Relu" => relu_removable(p),
            Some(p) => clip_removable(p, lo, hi),
            None => false,
        };
        if removable {
            return self.define(ctx, out, Val::Dq(t));
        }
        if lo != 0.0 || hi != f32::MAX {
            return Err(ctx.unsupported(format!(
                "Clip({lo}, {hi}) that onnxruntime keeps in float; only Clip(0, inf) (= Relu) is supported"
            )));
        }
        let tensor = self.tensor(t);
        if !matches!(&tensor.quant, Some(q) if q.scale.len() == 1) {
            return Err(ctx.unsupported("Relu on a per-axis quantized tensor"));
        }
        let (dtype, quant, layout) = (tensor.dtype, tensor.quant.clone(), self.layout_of(t));
        let name = ctx.name.clone();
        let y = self.emit(ctx, name, Op::Clamp { activation: Activation::Relu }, vec![t], out, dtype, quant, layout)?;
        self.define(ctx, out, Val::Dq(y))
    }
}

/// ReluQuantFusion: the Relu is redundant when the following Q's zero point is the type minimum.
fn relu_removable(p: &QParams) -> bool {
    p.is_per_tensor() && p.zero_point[0] == storage_range(p.dtype).0
}

/// ClipQuantFusion: redundant when [min, max] covers the Q's representable range to within
/// float epsilon (computed in float32 as onnxruntime does).
fn clip_removable(p: &QParams, min: f32, max: f32) -> bool {
    if !p.is_per_tensor() {
        return false;
    }
    let (qmin, qmax) = storage_range(p.dtype);
    let (s, z) = (p.scale[0], p.zero_point[0]);
    let lower = s * (qmin - z) as f32;
    let upper = s * (qmax - z) as f32;
    !(f32::EPSILON < min - lower || f32::EPSILON < upper - max)
}

/// Constant QuantizeLinear, with onnxruntime's rounding (half to even, saturating).
fn fold_quantize(ctx: &NodeCtx, c: &ConstTensor, p: &QParams) -> Result<ConstTensor> {
    let x = c.to_f32().ok_or_else(|| ctx.invalid("QuantizeLinear of a non-float constant"))?;
    let (qmin, qmax) = storage_range(p.dtype);
    let index = per_axis_index(&c.shape, p.axis);
    let q: Vec<i32> = x
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let k = index(i);
            let s = p.scale.get(k).or(p.scale.first()).copied().unwrap_or(1.0);
            let z = p.zero_point.get(k).or(p.zero_point.first()).copied().unwrap_or(0);
            arith::quantize_float_half_even(v, s, z, qmin, qmax)
        })
        .collect();
    Ok(ConstTensor {
        name: c.name.clone(),
        shape: c.shape.clone(),
        dtype: p.dtype,
        data: TensorData::from_i32(p.dtype, q),
    })
}

/// Constant DequantizeLinear: float32(q - zero_point) * scale.
pub fn fold_dequantize(c: &ConstTensor, p: &QParams) -> ConstTensor {
    let q = c.to_i32().unwrap_or_default();
    let index = per_axis_index(&c.shape, p.axis);
    let f: Vec<f32> = q
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let k = index(i);
            let s = p.scale.get(k).or(p.scale.first()).copied().unwrap_or(1.0);
            let z = p.zero_point.get(k).or(p.zero_point.first()).copied().unwrap_or(0);
            arith::dequantize(v, s, z)
        })
        .collect();
    ConstTensor { name: c.name.clone(), shape: c.shape.clone(), dtype: DType::F32, data: TensorData::F32(f) }
}

/// Maps a flat element index to its index along `axis` (0 when per-tensor).
fn per_axis_index(shape: &[usize], axis: Option<usize>) -> impl Fn(usize) -> usize {
    let (inner, len) = match axis {
        Some(a) if a < shape.len() => (shape[a + 1..].iter().product::<usize>().max(1), shape[a].max(1)),
        _ => (1, 1),
    };
    move |i| (i / inner) % len
}
