//! Per-node run-time plans: the [`Plan`] of every node and its derivation from the graph.

use super::{Executor, NodeResult};
use crate::ir::{Activation, DType, Graph, Node, Numerics, Op, Tensor, TensorData};
use crate::kernels::conv::{Conv2dGeometry, ConvQuant};
use crate::kernels::elementwise::{OrtBinaryQuant, TfliteAddParams, TfliteMulParams};
use crate::kernels::fc::{FcGeometry, FcQuant};
use crate::kernels::float_activation_range;
use crate::kernels::matmul::{MatMulGeometry, MatMulQuant};
use crate::kernels::pool::{GlobalPoolGeometry, OrtPoolQuant, Pool2dGeometry, TfliteMeanParams};
use crate::kernels::quantize::AffineParams;
use crate::kernels::softmax::TfliteSoftmaxParams;
use crate::quant::{activation_range, output_stage_for, storage_range, OutputStage};

/// How a MAC layer finishes its accumulators.
#[derive(Clone, Debug)]
pub(super) enum MacOut {
    /// Quantized output through the per-channel stage.
    Requant(OutputStage),
    /// Raw int32 accumulators (ONNX ConvInteger / MatMulInteger).
    Acc,
    /// Float tensors, with the fused activation's clamp range.
    Float((f32, f32)),
}

#[derive(Clone, Debug)]
pub(super) enum Bias {
    None,
    Int(Vec<i32>),
    Float(Vec<f32>),
}

impl Bias {
    pub(super) fn int(&self) -> Option<&[i32]> {
        match self {
            Bias::Int(v) => Some(v),
            _ => None,
        }
    }
    pub(super) fn float(&self) -> Option<&[f32]> {
        match self {
            Bias::Float(v) => Some(v),
            _ => None,
        }
    }
}

/// Elementwise arithmetic flavour of Add / Mul.
#[derive(Clone, Debug)]
pub(super) enum Binary {
    TfliteAdd(TfliteAddParams),
    TfliteMul(TfliteMulParams),
    OrtAdd(OrtBinaryQuant),
    OrtMul(OrtBinaryQuant),
    FloatAdd((f32, f32)),
    FloatMul((f32, f32)),
}

#[derive(Clone, Debug)]
pub(super) enum AvgPool {
    Tflite { act: (i32, i32) },
    Ort { q: OrtPoolQuant, act: (i32, i32) },
    Float((f32, f32)),
}

#[derive(Clone, Debug)]
pub(super) enum GlobalPool {
    Tflite(TfliteMeanParams),
    Ort { q: OrtPoolQuant, act: (i32, i32) },
    Float,
}

#[derive(Clone, Debug)]
pub(super) enum SoftmaxKind {
    Tflite(TfliteSoftmaxParams),
    Ort { x_scale: f32, y_scale: f32, y_zero_point: i32 },
    Float(f32),
}

/// Requantisation of one tensor to another's (scale, zero point).
#[derive(Clone, Debug)]
pub(super) struct Rescale {
    pub(super) in_scale: f32,
    pub(super) in_zp: i32,
    pub(super) out_scale: f32,
    pub(super) out_zp: i32,
    pub(super) qmin: i32,
    pub(super) qmax: i32,
}

#[derive(Clone, Debug)]
pub(super) enum QuantizeKind {
    FromFloat { params: AffineParams, qmin: i32, qmax: i32 },
    Requant(Rescale),
}

#[derive(Clone, Debug)]
pub(super) enum ClampKind {
    Int {
        act: (i32, i32),
    },
    /// Input and output quantisation differ: requantise, then clamp.
    Requant {
        r: Rescale,
    },
    Float((f32, f32)),
}

/// Everything a node needs at run time, derived once.
#[derive(Clone, Debug)]
pub(super) enum Plan {
    Conv { g: Conv2dGeometry, q: ConvQuant, bias: Bias, out: MacOut },
    Fc { g: FcGeometry, q: FcQuant, bias: Bias, out: MacOut },
    MatMul { g: MatMulGeometry, q: MatMulQuant, out: MacOut },
    Binary { kind: Binary, a_shape: Vec<usize>, b_shape: Vec<usize>, out_shape: Vec<usize> },
    AvgPool { g: Pool2dGeometry, count_include_pad: bool, kind: AvgPool },
    MaxPool { g: Pool2dGeometry, act_int: (i32, i32), act_float: (f32, f32) },
    GlobalPool { g: GlobalPoolGeometry, kind: GlobalPool },
    Reshape,
    Transpose { shape: Vec<usize>, perm: Vec<usize> },
    Pad { shape: Vec<usize>, pads: Vec<(usize, usize)>, int_value: i32, float_value: f32 },
    Concat { axis: usize, shapes: Vec<Vec<usize>>, rescale: Vec<Option<Rescale>>, act: Option<(i32, i32)> },
    Softmax { rows: usize, depth: usize, kind: SoftmaxKind },
    Quantize(QuantizeKind),
    Dequantize(AffineParams),
    Clamp(ClampKind),
}

fn quant_of(t: &Tensor) -> (f32, i32) {
    t.quant.as_ref().map_or((1.0, 0), |q| (q.scale_at(0), q.zero_point_at(0)))
}

fn is_float(t: &Tensor) -> bool {
    t.dtype == DType::F32
}

/// 8-bit MAC operand storage (int4 values are stored unpacked in i8 / u8).
fn is_q8(t: &Tensor) -> bool {
    matches!(t.dtype, DType::I8 | DType::U8 | DType::I4 | DType::U4)
}

fn is_quantized(t: &Tensor) -> bool {
    t.dtype.is_quantized_storage()
}

fn same_quant(a: &Tensor, b: &Tensor) -> bool {
    quant_of(a) == quant_of(b)
}

fn act_range(t: &Tensor, activation: Activation) -> (i32, i32) {
    let (s, z) = quant_of(t);
    activation_range(activation, s, z, t.dtype)
}

fn rescale(from: &Tensor, to: &Tensor) -> Rescale {
    let (in_scale, in_zp) = quant_of(from);
    let (out_scale, out_zp) = quant_of(to);
    let (qmin, qmax) = storage_range(to.dtype);
    Rescale { in_scale, in_zp, out_scale, out_zp, qmin, qmax }
}

fn affine_params(t: &Tensor) -> NodeResult<AffineParams> {
    match &t.quant {
        Some(q) if q.scale.len() > 1 || q.zero_point.len() > 1 => {
            let axis = q.axis.ok_or_else(|| format!("tensor '{}' has per-axis parameters but no axis", t.name))?;
            Ok(AffineParams::per_axis(q.scale.clone(), q.zero_point.clone(), axis, &t.shape)?)
        }
        _ => {
            let (s, z) = quant_of(t);
            Ok(AffineParams::per_tensor(s, z))
        }
    }
}

fn weight_zero_points(w: &Tensor) -> Vec<i32> {
    w.quant.as_ref().map_or_else(|| vec![0], |q| q.zero_point.clone())
}

fn dtype_err(what: &str, tensors: &[&Tensor]) -> String {
    let types: Vec<String> = tensors.iter().map(|t| format!("'{}' {}", t.name, t.dtype)).collect();
    format!("unsupported data types for {what}: {}", types.join(", "))
}

impl Executor<'_> {
    pub(super) fn plan(graph: &Graph, node: &Node) -> NodeResult<Plan> {
        let t = |i: usize| -> NodeResult<&Tensor> {
            node.inputs.get(i).map(|&id| graph.tensor(id)).ok_or_else(|| format!("missing input #{i}"))
        };
        let out = graph.tensor(node.outputs[0]);
        let numerics = graph.numerics;
        let constant_bias = |i: usize, float: bool| -> NodeResult<Bias> {
            let Some(&id) = node.inputs.get(i) else { return Ok(Bias::None) };
            let b = graph.tensor(id);
            match (&b.data, float) {
                (Some(TensorData::F32(v)), true) => Ok(Bias::Float(v.clone())),
                (Some(d), false) => d
                    .to_i32()
                    .map(Bias::Int)
                    .ok_or_else(|| format!("bias '{}' ({}) does not fit int32", b.name, b.dtype)),
                (None, _) => Err(format!("bias '{}' must be a constant", b.name)),
                (Some(_), true) => Err(format!("bias '{}' of a float layer must be float32", b.name)),
            }
        };
        let mac_out = |x: &Tensor, w: &Tensor, activation: Activation| -> NodeResult<MacOut> {
            if is_float(x) && is_float(w) && is_float(out) {
                return Ok(MacOut::Float(float_activation_range(activation)));
            }
            if !(is_q8(x) && is_q8(w)) {
                return Err(dtype_err("a MAC layer", &[x, w, out]));
            }
            if out.dtype == DType::I32 && (out.quant.is_none() || activation == Activation::None) {
                return Ok(MacOut::Acc);
            }
            if !is_quantized(out) {
                return Err(dtype_err("a MAC layer output", &[x, w, out]));
            }
            output_stage_for(numerics, x, w, out, activation).map(MacOut::Requant).ok_or_else(|| {
                format!("quantized output '{}' needs quantisation parameters on input and output", out.name)
            })
        };
        Ok(match &node.op {
            Op::Conv2d(attrs) => {
                let (x, w) = (t(0)?, t(1)?);
                let g = Conv2dGeometry::new(&x.shape, &w.shape, attrs)?;
                let out_kind = mac_out(x, w, attrs.activation)?;
                let bias = constant_bias(2, matches!(out_kind, MacOut::Float(_)))?;
                let q = ConvQuant { input_zero_point: x.zero_point(), weight_zero_points: weight_zero_points(w) };
                Plan::Conv { g, q, bias, out: out_kind }
            }
            Op::FullyConnected { activation } => {
                let (x, w) = (t(0)?, t(1)?);
                let g = FcGeometry::new(x.element_count(), &w.shape)?;
                let out_kind = mac_out(x, w, *activation)?;
                let bias = constant_bias(2, matches!(out_kind, MacOut::Float(_)))?;
                let q = FcQuant { input_zero_point: x.zero_point(), weight_zero_points: weight_zero_points(w) };
                Plan::Fc { g, q, bias, out: out_kind }
            }
            Op::MatMul => {
                let (a, b) = (t(0)?, t(1)?);
                let g = MatMulGeometry::new(&a.shape, &b.shape)?;
                let out_kind = mac_out(a, b, Activation::None)?;
                let q = MatMulQuant { a_zero_points: weight_zero_points(a), b_zero_points: weight_zero_points(b) };
                Plan::MatMul { g, q, out: out_kind }
            }
            Op::Add { activation } | Op::Mul { activation } => {
                let (a, b) = (t(0)?, t(1)?);
                let is_add = matches!(node.op, Op::Add { .. });
                let kind = if is_float(a) && is_float(b) && is_float(out) {
                    let act = float_activation_range(*activation);
                    if is_add {
                        Binary::FloatAdd(act)
                    } else {
                        Binary::FloatMul(act)
                    }
                } else if matches!(a.dtype, DType::I8 | DType::U8) && a.dtype == b.dtype && a.dtype == out.dtype {
                    let ((sa, za), (sb, zb), (so, zo)) = (quant_of(a), quant_of(b), quant_of(out));
                    let (lo, hi) = act_range(out, *activation);
                    match (numerics, is_add) {
                        (Numerics::Tflite, true) => {
                            Binary::TfliteAdd(TfliteAddParams::new(sa, za, sb, zb, so, zo, lo, hi))
                        }
                        (Numerics::Tflite, false) => {
                            Binary::TfliteMul(TfliteMulParams::new(sa, za, sb, zb, so, zo, lo, hi))
                        }
                        (Numerics::Onnxruntime, _) => {
                            let q = OrtBinaryQuant {
                                a_scale: sa,
                                a_zero_point: za,
                                b_scale: sb,
                                b_zero_point: zb,
                                y_scale: so,
                                y_zero_point: zo,
                                act_min: lo,
                                act_max: hi,
                            };
                            if is_add {
                                Binary::OrtAdd(q)
                            } else {
                                Binary::OrtMul(q)
                            }
                        }
                    }
                } else {
                    return Err(dtype_err(node.op.kind(), &[a, b, out]));
                };
                Plan::Binary { kind, a_shape: a.shape.clone(), b_shape: b.shape.clone(), out_shape: out.shape.clone() }
            }
            Op::AveragePool2d(p) | Op::MaxPool2d(p) => {
                let x = t(0)?;
                let g = Pool2dGeometry::new(&x.shape, p)?;
                if x.dtype != out.dtype || !(is_float(x) || matches!(x.dtype, DType::I8 | DType::U8 | DType::I16)) {
                    return Err(dtype_err("pooling", &[x, out]));
                }
                let act_float = float_activation_range(p.activation);
                if matches!(node.op, Op::MaxPool2d(_)) {
                    Plan::MaxPool { g, act_int: act_range(out, p.activation), act_float }
                } else {
                    let kind = if is_float(x) {
                        AvgPool::Float(act_float)
                    } else {
                        let act = act_range(out, p.activation);
                        match numerics {
                            // TFLite average pooling never rescales (input and output share quantisation).
                            Numerics::Tflite => AvgPool::Tflite { act },
                            Numerics::Onnxruntime => {
                                let ((xs, xz), (ys, yz)) = (quant_of(x), quant_of(out));
                                AvgPool::Ort {
                                    q: OrtPoolQuant { x_scale: xs, x_zero_point: xz, y_scale: ys, y_zero_point: yz },
                                    act,
                                }
                            }
                        }
                    };
                    Plan::AvgPool { g, count_include_pad: p.count_include_pad, kind }
                }
            }
            Op::GlobalAveragePool => {
                let x = t(0)?;
                let g =
                    GlobalPoolGeometry { batch: x.shape[0], image_size: x.shape[1] * x.shape[2], channels: x.shape[3] };
                if x.dtype != out.dtype {
                    return Err(dtype_err("GlobalAveragePool", &[x, out]));
                }
                let kind = if is_float(x) {
                    GlobalPool::Float
                } else if matches!(x.dtype, DType::I8 | DType::U8 | DType::I16) {
                    let ((xs, xz), (ys, yz)) = (quant_of(x), quant_of(out));
                    match numerics {
                        Numerics::Tflite => GlobalPool::Tflite(TfliteMeanParams::new(xs, xz, ys, yz)),
                        Numerics::Onnxruntime => GlobalPool::Ort {
                            q: OrtPoolQuant { x_scale: xs, x_zero_point: xz, y_scale: ys, y_zero_point: yz },
                            act: storage_range(out.dtype),
                        },
                    }
                } else {
                    return Err(dtype_err("GlobalAveragePool", &[x, out]));
                };
                Plan::GlobalPool { g, kind }
            }
            Op::Reshape => {
                let x = t(0)?;
                if x.dtype != out.dtype {
                    return Err(dtype_err("Reshape", &[x, out]));
                }
                Plan::Reshape
            }
            Op::Transpose { perm } => {
                let x = t(0)?;
                if x.dtype != out.dtype {
                    return Err(dtype_err("Transpose", &[x, out]));
                }
                Plan::Transpose { shape: x.shape.clone(), perm: perm.clone() }
            }
            Op::Pad { pads, value } => {
                let x = t(0)?;
                if x.dtype != out.dtype {
                    return Err(dtype_err("Pad", &[x, out]));
                }
                let (qmin, qmax) = storage_range(x.dtype);
                let int_value = value.unwrap_or_else(|| x.zero_point()).clamp(qmin, qmax);
                let float_value = value.map_or(0.0, |v| v as f32);
                Plan::Pad { shape: x.shape.clone(), pads: pads.clone(), int_value, float_value }
            }
            Op::Concat { axis, activation } => {
                let mut shapes = Vec::new();
                let mut rescales = Vec::new();
                for i in 0..node.inputs.len() {
                    let x = t(i)?;
                    if x.dtype != out.dtype {
                        return Err(dtype_err("Concat", &[x, out]));
                    }
                    shapes.push(x.shape.clone());
                    rescales.push((is_quantized(x) && !same_quant(x, out)).then(|| rescale(x, out)));
                }
                let act = (is_quantized(out) && *activation != Activation::None).then(|| act_range(out, *activation));
                Plan::Concat { axis: *axis, shapes, rescale: rescales, act }
            }
            Op::Softmax { beta } => {
                let x = t(0)?;
                let depth = x.shape.last().copied().unwrap_or(1);
                let rows = x.element_count().checked_div(depth).unwrap_or(0);
                let kind = if is_float(x) && is_float(out) {
                    SoftmaxKind::Float(*beta)
                } else if matches!(x.dtype, DType::I8 | DType::U8) && is_quantized(out) {
                    let ((xs, _), (ys, yz)) = (quant_of(x), quant_of(out));
                    match numerics {
                        Numerics::Tflite if matches!(out.dtype, DType::I8 | DType::U8 | DType::I16) => {
                            SoftmaxKind::Tflite(TfliteSoftmaxParams::new(xs, *beta))
                        }
                        Numerics::Onnxruntime if x.dtype == out.dtype => {
                            SoftmaxKind::Ort { x_scale: xs, y_scale: ys, y_zero_point: yz }
                        }
                        _ => return Err(dtype_err("Softmax", &[x, out])),
                    }
                } else {
                    return Err(dtype_err("Softmax", &[x, out]));
                };
                Plan::Softmax { rows, depth, kind }
            }
            Op::Quantize => {
                let x = t(0)?;
                if !is_quantized(out) {
                    return Err(dtype_err("Quantize output", &[x, out]));
                }
                let (qmin, qmax) = storage_range(out.dtype);
                if is_float(x) {
                    Plan::Quantize(QuantizeKind::FromFloat { params: affine_params(out)?, qmin, qmax })
                } else if is_quantized(x) {
                    Plan::Quantize(QuantizeKind::Requant(rescale(x, out)))
                } else {
                    return Err(dtype_err("Quantize", &[x, out]));
                }
            }
            Op::Dequantize => {
                let x = t(0)?;
                if !is_float(out) || !(is_quantized(x) || x.dtype == DType::I32) {
                    return Err(dtype_err("Dequantize", &[x, out]));
                }
                Plan::Dequantize(affine_params(x)?)
            }
            Op::Clamp { activation } => {
                let x = t(0)?;
                if x.dtype != out.dtype {
                    return Err(dtype_err("Clamp", &[x, out]));
                }
                Plan::Clamp(if is_float(x) {
                    ClampKind::Float(float_activation_range(*activation))
                } else if same_quant(x, out) {
                    ClampKind::Int { act: act_range(out, *activation) }
                } else {
                    let mut r = rescale(x, out);
                    (r.qmin, r.qmax) = act_range(out, *activation);
                    ClampKind::Requant { r }
                })
            }
        })
    }
}
