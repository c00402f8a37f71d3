//! Operator conversion shared by the QDQ, QOperator and float paths: attribute parsing
//! (windows, pads, auto_pad), constant re-layout (OIHW -> OHWI, [K, N] -> [N, K]) and IR emission.

use super::attrs::{normalize_axis, NodeCtx};
use super::convert::{Converter, QParams, Val};
use super::layout::{self, Layout};
use super::tensor::{checked_count, ConstTensor};
use crate::error::Result;
use crate::ir::{Activation, Conv2dAttrs, DType, Op, Padding2d, Pool2dAttrs, Quantization, TensorData, TensorId};
use crate::shape;
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

impl<'m> Converter<'m> {
    // ------------------------------------------------------------ geometry ----

    /// Window geometry from `strides`, `dilations`, `pads`, `auto_pad` for an input of spatial
    /// size `hw` and a kernel of `kernel`.
    pub fn window(&self, ctx: &NodeCtx, hw: [usize; 2], kernel: [usize; 2], allow_dilation: bool) -> Result<Window> {
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

    // ---------------------------------------------------------- convolution ----

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

    /// IR quantisation of a weight constant whose per-axis parameters must lie on `axis`
    /// (the output-channel axis), re-indexed to `ir_axis` in the IR weight layout.
    pub fn weight_quant(&self, ctx: &NodeCtx, p: &QParams, axis: usize, ir_axis: usize) -> Result<Quantization> {
        if !matches!(p.dtype, DType::I8 | DType::U8 | DType::I4 | DType::U4) {
            return Err(ctx.unsupported(format!("{} weights (int8/uint8 expected)", p.dtype)));
        }
        if p.scale.len() == 1 && p.zero_point.len() == 1 {
            return Ok(Quantization::per_tensor(p.scale[0], p.zero_point[0]));
        }
        match p.axis {
            Some(a) if a == axis => Ok(Quantization::per_axis(p.scale.clone(), p.zero_point.clone(), ir_axis)),
            other => Err(ctx.unsupported(format!(
                "weights quantized per axis {other:?}; only the output-channel axis {axis} is supported"
            ))),
        }
    }

    // ------------------------------------------------------- fully connected ----

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

    // ------------------------------------------------------------- pooling ----

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

    // --------------------------------------------------- elementwise / concat ----

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

    // ---------------------------------------------------- QDQ / float nodes ----

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

    /// The bias of a QDQ MAC op: DequantizeLinear of an int32 constant, used as the int32
    /// accumulator offset exactly as given (onnxruntime's QDQ actions pass it through). A float
    /// 1-D bias is quantized the way onnxruntime's `WeightBiasQuantization` pass does before
    /// fusing: `Cast<int32>(Round(bias / (x_scale * w_scale)))`, all in float32, Round = half to
    /// even (constant-folded by onnxruntime with its CPU kernels).
    fn qdq_bias(&self, ctx: &NodeCtx, b: Option<Val>, x: TensorId, wp: &QParams) -> Result<Option<Rc<ConstTensor>>> {
        match b {
            None => Ok(None),
            Some(Val::DqConst(c, _)) if c.dtype == DType::I32 => Ok(Some(c)),
            Some(Val::Const(c)) if c.dtype == DType::F32 && c.shape.len() == 1 => {
                let sx = match &self.tensor(x).quant {
                    Some(q) if q.scale.len() == 1 => q.scale[0],
                    _ => return Err(ctx.unsupported("float bias with a per-axis quantized input")),
                };
                let n = c.shape[0];
                if wp.scale.len() != 1 && wp.scale.len() != n {
                    return Err(
                        ctx.unsupported(format!("float bias of {n} values for {} weight scales", wp.scale.len()))
                    );
                }
                let f = c.to_f32().unwrap_or_default();
                let q: Vec<i32> = f
                    .iter()
                    .enumerate()
                    .map(|(o, &v)| {
                        let sw = if wp.scale.len() == 1 { wp.scale[0] } else { wp.scale[o] };
                        let r = (v / (sx * sw)).round_ties_even();
                        r.clamp(i32::MIN as f32, i32::MAX as f32) as i32
                    })
                    .collect();
                Ok(Some(Rc::new(ConstTensor {
                    name: c.name.clone(),
                    shape: c.shape.clone(),
                    dtype: DType::I32,
                    data: TensorData::I32(q),
                })))
            }
            Some(_) => {
                Err(ctx.unsupported("QDQ bias must be DequantizeLinear of an int32 constant or a 1-D float32 constant"))
            }
        }
    }

    pub fn fused_spec(&self, q: &super::qdq::OutQ) -> OutSpec {
        OutSpec {
            name: q.name(self).to_string(),
            dtype: q.params.dtype,
            quant: Some(q.params.to_ir(Layout::Source)),
            activation: q.activation,
        }
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

    /// Fused QDQ ops read their activation inputs with one scale and zero point (onnxruntime's
    /// selectors require scalar DQ parameters on activations).
    fn per_tensor_input(&self, ctx: &NodeCtx, t: TensorId) -> Result<()> {
        match &self.tensor(t).quant {
            Some(q) if q.scale.len() == 1 && q.zero_point.len() == 1 => Ok(()),
            _ => Err(ctx.unsupported(format!("input '{}' is not quantized per tensor", self.tensor(t).name))),
        }
    }

    /// An operand of a QDQ elementwise / concat op.
    fn dq_operand(&self, ctx: &NodeCtx, v: Val) -> Result<Operand> {
        match v {
            Val::Dq(t) => {
                self.per_tensor_input(ctx, t)?;
                Ok(Operand::Tensor(t))
            }
            Val::DqConst(c, p) if p.is_per_tensor() && matches!(p.dtype, DType::I8 | DType::U8) => {
                let q = p.to_ir(Layout::Source);
                Ok(Operand::Const(c, Some(q)))
            }
            _ => Err(self.not_fusable(ctx)),
        }
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

    // ------------------------------------------------------- data movement ----

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
