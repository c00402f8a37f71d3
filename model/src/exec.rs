//! The reference executor: runs a validated [`Graph`] node by node with the bit-exact kernels of
//! [`crate::kernels`], in the arithmetic of `graph.numerics`.
//!
//! [`Executor::new`] validates the graph ([`shape::validate`]) and derives every per-node
//! parameter once (geometry, [`OutputStage`], Add / Mul / Softmax / Mean multipliers, zero
//! points, bias vectors), so [`Executor::run`] only moves data through kernels. Shapes used by
//! the kernels come from the validated graph; the kernels still check their slice lengths.

use crate::error::{ModelError, Result};
use crate::ir::{Activation, DType, Graph, Node, Numerics, Op, Tensor, TensorData, TensorId, Value};
use crate::kernels::conv::{conv2d_acc, conv2d_f32, conv2d_q, Conv2dGeometry, ConvQuant};
use crate::kernels::elementwise::{
    add_f32, add_ort, add_tflite, mul_f32, mul_ort, mul_tflite, OrtBinaryQuant, TfliteAddParams, TfliteMulParams,
};
use crate::kernels::fc::{fully_connected_acc, fully_connected_f32, fully_connected_q, FcGeometry, FcQuant};
use crate::kernels::layout::{concat, pad, transpose};
use crate::kernels::matmul::{matmul_acc, matmul_f32, matmul_q, MatMulGeometry, MatMulQuant};
use crate::kernels::pool::{
    avg_pool_f32, avg_pool_ort, avg_pool_tflite, global_avg_pool_f32, global_avg_pool_ort, max_pool, max_pool_f32,
    mean_hw_tflite, GlobalPoolGeometry, OrtPoolQuant, Pool2dGeometry, TfliteMeanParams,
};
use crate::kernels::quantize::{
    clamp, clamp_requant_tflite, dequantize, quantize_f32, requantize_concat_tflite, requantize_ort, requantize_tflite,
    AffineParams,
};
use crate::kernels::softmax::{softmax_f32, softmax_ort, softmax_tflite, TfliteSoftmaxParams};
use crate::kernels::{float_activation_range, KernelError, QType};
use crate::quant::{activation_range, output_stage_for, storage_range, OutputStage};
use crate::shape;

/// Element types the executor moves between kernels.
trait Elem: Copy + Default + 'static {
    fn slice(d: &TensorData) -> Option<&[Self]>;
    fn wrap(v: Vec<Self>) -> TensorData;
    /// Requantises a Concat input to the output's quantisation (integer storages only).
    fn rescale(_numerics: Numerics, _r: &Rescale, v: &[Self]) -> NodeResult<Vec<Self>> {
        Ok(v.to_vec())
    }
    fn clamp_all(_v: &mut [Self], _lo: i32, _hi: i32) {}
}

macro_rules! impl_elem {
    ($t:ty, $variant:ident, quantized) => {
        impl Elem for $t {
            fn slice(d: &TensorData) -> Option<&[Self]> {
                match d {
                    TensorData::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn wrap(v: Vec<Self>) -> TensorData {
                TensorData::$variant(v)
            }
            fn rescale(numerics: Numerics, r: &Rescale, v: &[Self]) -> NodeResult<Vec<Self>> {
                let mut o = vec![<$t>::default(); v.len()];
                match numerics {
                    Numerics::Tflite => {
                        requantize_concat_tflite(r.in_scale, r.in_zp, r.out_scale, r.out_zp, v, &mut o)?
                    }
                    Numerics::Onnxruntime => {
                        requantize_ort(r.in_scale, r.in_zp, r.out_scale, r.out_zp, r.qmin, r.qmax, v, &mut o)?
                    }
                }
                Ok(o)
            }
            fn clamp_all(v: &mut [Self], lo: i32, hi: i32) {
                for x in v {
                    *x = <$t as QType>::from_i32_sat(QType::to_i32(*x).clamp(lo, hi));
                }
            }
        }
    };
    ($t:ty, $variant:ident) => {
        impl Elem for $t {
            fn slice(d: &TensorData) -> Option<&[Self]> {
                match d {
                    TensorData::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn wrap(v: Vec<Self>) -> TensorData {
                TensorData::$variant(v)
            }
        }
    };
}
impl_elem!(i8, I8, quantized);
impl_elem!(u8, U8, quantized);
impl_elem!(i16, I16, quantized);
impl_elem!(i32, I32);
impl_elem!(i64, I64);
impl_elem!(f32, F32);

/// Binds `$x` to the slice of an 8/16-bit quantized storage and `$T` to its element type.
macro_rules! any_q {
    ($data:expr, |$x:ident, $T:ident| $body:expr) => {
        match $data {
            TensorData::I8($x) => {
                #[allow(dead_code)]
                type $T = i8;
                $body
            }
            TensorData::U8($x) => {
                #[allow(dead_code)]
                type $T = u8;
                $body
            }
            TensorData::I16($x) => {
                #[allow(dead_code)]
                type $T = i16;
                $body
            }
            _ => Err(unexpected()),
        }
    };
}

/// As [`any_q`] for every storage type.
macro_rules! any_data {
    ($data:expr, |$x:ident, $T:ident| $body:expr) => {
        match $data {
            TensorData::I32($x) => {
                type $T = i32;
                $body
            }
            TensorData::I64($x) => {
                type $T = i64;
                $body
            }
            TensorData::F32($x) => {
                type $T = f32;
                $body
            }
            other => any_q!(other, |$x, $T| $body),
        }
    };
}

/// 8-bit input (i8 or u8).
macro_rules! q8_in {
    ($data:expr, |$x:ident| $body:expr) => {
        match $data {
            TensorData::I8($x) => $body,
            TensorData::U8($x) => $body,
            _ => Err(unexpected()),
        }
    };
}

/// Two operands of the same 8-bit type.
macro_rules! same_q8 {
    ($a:expr, $b:expr, |$x:ident, $y:ident, $T:ident| $body:expr) => {
        match ($a, $b) {
            (TensorData::I8($x), TensorData::I8($y)) => {
                type $T = i8;
                $body
            }
            (TensorData::U8($x), TensorData::U8($y)) => {
                type $T = u8;
                $body
            }
            _ => Err(unexpected()),
        }
    };
}

/// Allocates the quantized output of `dtype`, runs `$call` (a kernel writing `$o`), wraps it.
macro_rules! q_out {
    ($dtype:expr, $n:expr, |$o:ident| $call:expr) => {
        match $dtype {
            DType::I8 | DType::I4 => {
                let mut v = vec![0i8; $n];
                {
                    let $o = &mut v[..];
                    $call?;
                }
                Ok(TensorData::I8(v))
            }
            DType::U8 | DType::U4 => {
                let mut v = vec![0u8; $n];
                {
                    let $o = &mut v[..];
                    $call?;
                }
                Ok(TensorData::U8(v))
            }
            DType::I16 => {
                let mut v = vec![0i16; $n];
                {
                    let $o = &mut v[..];
                    $call?;
                }
                Ok(TensorData::I16(v))
            }
            other => Err(format!("unsupported quantized output type {other}")),
        }
    };
}

/// Any pair of 8-bit MAC operands.
macro_rules! q8_pair {
    ($xd:expr, $wd:expr, |$x:ident, $w:ident| $body:expr) => {
        match ($xd, $wd) {
            (TensorData::I8($x), TensorData::I8($w)) => $body,
            (TensorData::I8($x), TensorData::U8($w)) => $body,
            (TensorData::U8($x), TensorData::I8($w)) => $body,
            (TensorData::U8($x), TensorData::U8($w)) => $body,
            _ => Err(unexpected()),
        }
    };
}

/// Runs a MAC kernel in the flavour its plan selected.
macro_rules! mac_exec {
    ($kind:expr, $dtype:expr, $n:expr, $xd:expr, $wd:expr,
     q: |$x:ident, $w:ident, $st:ident, $o:ident| $q:expr,
     acc: |$xa:ident, $wa:ident, $oa:ident| $acc:expr,
     float: |$xf:ident, $wf:ident, $of:ident, $act:ident| $fl:expr) => {
        match $kind {
            MacOut::Float(range) => match ($xd, $wd) {
                (TensorData::F32($xf), TensorData::F32($wf)) => {
                    let $act = *range;
                    let mut v = vec![0f32; $n];
                    {
                        let $of = &mut v[..];
                        $fl?;
                    }
                    Ok(TensorData::F32(v))
                }
                _ => Err(unexpected()),
            },
            MacOut::Acc => q8_pair!($xd, $wd, |$xa, $wa| {
                let mut v = vec![0i32; $n];
                {
                    let $oa = &mut v[..];
                    $acc?;
                }
                Ok(TensorData::I32(v))
            }),
            MacOut::Requant($st) => q8_pair!($xd, $wd, |$x, $w| q_out!($dtype, $n, |$o| $q)),
        }
    };
}

/// Errors inside one node; the caller adds the node name and op.
type NodeResult<T> = std::result::Result<T, String>;

impl From<KernelError> for String {
    fn from(e: KernelError) -> String {
        e.0
    }
}

/// How a MAC layer finishes its accumulators.
#[derive(Clone, Debug)]
enum MacOut {
    /// Quantized output through the per-channel stage.
    Requant(OutputStage),
    /// Raw int32 accumulators (ONNX ConvInteger / MatMulInteger).
    Acc,
    /// Float tensors, with the fused activation's clamp range.
    Float((f32, f32)),
}

#[derive(Clone, Debug)]
enum Bias {
    None,
    Int(Vec<i32>),
    Float(Vec<f32>),
}

impl Bias {
    fn int(&self) -> Option<&[i32]> {
        match self {
            Bias::Int(v) => Some(v),
            _ => None,
        }
    }
    fn float(&self) -> Option<&[f32]> {
        match self {
            Bias::Float(v) => Some(v),
            _ => None,
        }
    }
}

/// Elementwise arithmetic flavour of Add / Mul.
#[derive(Clone, Debug)]
enum Binary {
    TfliteAdd(TfliteAddParams),
    TfliteMul(TfliteMulParams),
    OrtAdd(OrtBinaryQuant),
    OrtMul(OrtBinaryQuant),
    FloatAdd((f32, f32)),
    FloatMul((f32, f32)),
}

#[derive(Clone, Debug)]
enum AvgPool {
    Tflite { act: (i32, i32) },
    Ort { q: OrtPoolQuant, act: (i32, i32) },
    Float((f32, f32)),
}

#[derive(Clone, Debug)]
enum GlobalPool {
    Tflite(TfliteMeanParams),
    Ort { q: OrtPoolQuant, act: (i32, i32) },
    Float,
}

#[derive(Clone, Debug)]
enum SoftmaxKind {
    Tflite(TfliteSoftmaxParams),
    Ort { x_scale: f32, y_scale: f32, y_zero_point: i32 },
    Float(f32),
}

/// Requantisation of one tensor to another's (scale, zero point).
#[derive(Clone, Debug)]
struct Rescale {
    in_scale: f32,
    in_zp: i32,
    out_scale: f32,
    out_zp: i32,
    qmin: i32,
    qmax: i32,
}

#[derive(Clone, Debug)]
enum QuantizeKind {
    FromFloat { params: AffineParams, qmin: i32, qmax: i32 },
    Requant(Rescale),
}

#[derive(Clone, Debug)]
enum ClampKind {
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
enum Plan {
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

/// The reference executor of one graph.
pub struct Executor<'g> {
    graph: &'g Graph,
    plans: Vec<Plan>,
    /// Index of the last node reading each tensor (None: never read, or a graph output).
    last_use: Vec<Option<usize>>,
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

impl<'g> Executor<'g> {
    /// Validates `graph` and derives every node's run-time parameters.
    pub fn new(graph: &'g Graph) -> Result<Self> {
        shape::validate(graph)?;
        let mut plans = Vec::with_capacity(graph.nodes.len());
        for node in &graph.nodes {
            let plan = Self::plan(graph, node).map_err(|reason| ModelError::UnsupportedOp {
                op: node.op.kind().to_string(),
                node: node.name.clone(),
                reason,
            })?;
            plans.push(plan);
        }
        let mut last_use = vec![None; graph.tensors.len()];
        for (i, node) in graph.nodes.iter().enumerate() {
            for &id in &node.inputs {
                last_use[id] = Some(i);
            }
        }
        for &id in &graph.outputs {
            last_use[id] = None;
        }
        Ok(Executor { graph, plans, last_use })
    }

    pub fn graph(&self) -> &'g Graph {
        self.graph
    }

    fn plan(graph: &Graph, node: &Node) -> NodeResult<Plan> {
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

    /// Runs the graph on `inputs` (in `graph.inputs` order); returns the graph outputs in
    /// `graph.outputs` order.
    pub fn run(&self, inputs: &[Value]) -> Result<Vec<Value>> {
        self.run_observed(inputs, &mut |_, _| {})
    }

    /// As [`Executor::run`], calling `observer` with every tensor a node produces.
    pub fn run_observed(&self, inputs: &[Value], observer: &mut dyn FnMut(TensorId, &Value)) -> Result<Vec<Value>> {
        let g = self.graph;
        self.check_inputs(inputs)?;
        let mut slots: Vec<Option<Value>> = vec![None; g.tensors.len()];
        for (&id, v) in g.inputs.iter().zip(inputs) {
            slots[id] = Some(v.clone());
        }
        for (i, (node, plan)) in g.nodes.iter().zip(&self.plans).enumerate() {
            let data = {
                let mut ins = Vec::with_capacity(node.inputs.len());
                for &id in &node.inputs {
                    ins.push(self.data(&slots, id).ok_or_else(|| {
                        ModelError::invalid_node(&node.name, node.op.kind(), format!("input #{id} is not available"))
                    })?);
                }
                Self::exec(g.numerics, plan, &ins, g.tensor(node.outputs[0]))
                    .map_err(|r| ModelError::invalid_node(&node.name, node.op.kind(), r))?
            };
            let out_id = node.outputs[0];
            let value = Value::new(g.tensors[out_id].shape.clone(), data);
            observer(out_id, &value);
            slots[out_id] = Some(value);
            for &id in &node.inputs {
                if self.last_use[id] == Some(i) && !g.inputs.contains(&id) {
                    slots[id] = None;
                }
            }
        }
        g.outputs
            .iter()
            .map(|&id| {
                if let Some(v) = &slots[id] {
                    return Ok(v.clone());
                }
                let t = g.tensor(id);
                t.data
                    .as_ref()
                    .map(|d| Value::new(t.shape.clone(), d.clone()))
                    .ok_or_else(|| ModelError::invalid_tensor(&t.name, "graph output was not produced"))
            })
            .collect()
    }

    fn check_inputs(&self, inputs: &[Value]) -> Result<()> {
        let g = self.graph;
        if inputs.len() != g.inputs.len() {
            let name = g
                .inputs
                .get(inputs.len())
                .map_or_else(|| format!("#{}", inputs.len()), |&id| g.tensor(id).name.clone());
            return Err(ModelError::BadInput {
                name,
                reason: format!("the graph has {} inputs, {} were given", g.inputs.len(), inputs.len()),
            });
        }
        for (&id, v) in g.inputs.iter().zip(inputs) {
            let t = g.tensor(id);
            let bad = |reason: String| Err(ModelError::BadInput { name: t.name.clone(), reason });
            if v.shape != t.shape {
                return bad(format!("shape {:?} given, {:?} expected", v.shape, t.shape));
            }
            if !v.data.storage_matches(t.dtype) {
                return bad(format!("data is not of type {}", t.dtype));
            }
            if v.data.len() != t.element_count() {
                return bad(format!("{} values for shape {:?}", v.data.len(), t.shape));
            }
        }
        Ok(())
    }

    fn data<'a>(&'a self, slots: &'a [Option<Value>], id: TensorId) -> Option<&'a TensorData> {
        slots[id].as_ref().map(|v| &v.data).or(self.graph.tensor(id).data.as_ref())
    }

    fn exec(numerics: Numerics, plan: &Plan, ins: &[&TensorData], out: &Tensor) -> NodeResult<TensorData> {
        let n = out.element_count();
        let input = |i: usize| ins.get(i).copied().ok_or_else(|| format!("missing input #{i}"));
        match plan {
            Plan::Conv { g, q, bias, out: kind } => mac_exec!(kind, out.dtype, n, input(0)?, input(1)?,
                q: |x, w, st, o| conv2d_q(g, q, x, w, bias.int(), st, o),
                acc: |x, w, o| conv2d_acc(g, q, x, w, bias.int(), o),
                float: |x, w, o, act| conv2d_f32(g, x, w, bias.float(), act, o)),
            Plan::Fc { g, q, bias, out: kind } => mac_exec!(kind, out.dtype, n, input(0)?, input(1)?,
                q: |x, w, st, o| fully_connected_q(g, q, x, w, bias.int(), st, o),
                acc: |x, w, o| fully_connected_acc(g, q, x, w, bias.int(), o),
                float: |x, w, o, act| fully_connected_f32(g, x, w, bias.float(), act, o)),
            Plan::MatMul { g, q, out: kind } => mac_exec!(kind, out.dtype, n, input(0)?, input(1)?,
                q: |a, b, st, o| matmul_q(g, q, a, b, st, o),
                acc: |a, b, o| matmul_acc(g, q, a, b, o),
                float: |a, b, o, _act| matmul_f32(g, a, b, o)),
            Plan::Binary { kind, a_shape, b_shape, out_shape } => {
                let (sa, sb, so) = (a_shape.as_slice(), b_shape.as_slice(), out_shape.as_slice());
                match (input(0)?, input(1)?) {
                    (TensorData::F32(a), TensorData::F32(b)) => {
                        let mut o = vec![0f32; n];
                        match kind {
                            Binary::FloatAdd(act) => add_f32(*act, sa, a, sb, b, so, &mut o)?,
                            Binary::FloatMul(act) => mul_f32(*act, sa, a, sb, b, so, &mut o)?,
                            _ => return Err(unexpected()),
                        }
                        Ok(TensorData::F32(o))
                    }
                    (a, b) => same_q8!(a, b, |a, b, T| {
                        let mut o = vec![T::default(); n];
                        match kind {
                            Binary::TfliteAdd(p) => add_tflite(p, sa, a, sb, b, so, &mut o)?,
                            Binary::TfliteMul(p) => mul_tflite(p, sa, a, sb, b, so, &mut o)?,
                            Binary::OrtAdd(q) => add_ort(q, sa, a, sb, b, so, &mut o)?,
                            Binary::OrtMul(q) => mul_ort(q, sa, a, sb, b, so, &mut o)?,
                            _ => return Err(unexpected()),
                        }
                        Ok(T::wrap(o))
                    }),
                }
            }
            Plan::AvgPool { g, count_include_pad, kind } => {
                let cip = *count_include_pad;
                match (input(0)?, kind) {
                    (TensorData::F32(x), AvgPool::Float(act)) => {
                        let mut o = vec![0f32; n];
                        avg_pool_f32(g, cip, *act, x, &mut o)?;
                        Ok(TensorData::F32(o))
                    }
                    (x, AvgPool::Tflite { act }) => any_q!(x, |x, T| {
                        let mut o = vec![T::default(); n];
                        avg_pool_tflite(g, cip, act.0, act.1, x, &mut o)?;
                        Ok(T::wrap(o))
                    }),
                    (x, AvgPool::Ort { q, act }) => any_q!(x, |x, T| {
                        let mut o = vec![T::default(); n];
                        avg_pool_ort(g, cip, q, act.0, act.1, x, &mut o)?;
                        Ok(T::wrap(o))
                    }),
                    _ => Err(unexpected()),
                }
            }
            Plan::MaxPool { g, act_int, act_float } => match input(0)? {
                TensorData::F32(x) => {
                    let mut o = vec![0f32; n];
                    max_pool_f32(g, *act_float, x, &mut o)?;
                    Ok(TensorData::F32(o))
                }
                x => any_q!(x, |x, T| {
                    let mut o = vec![T::default(); n];
                    max_pool(g, act_int.0, act_int.1, x, &mut o)?;
                    Ok(T::wrap(o))
                }),
            },
            Plan::GlobalPool { g, kind } => match (input(0)?, kind) {
                (TensorData::F32(x), GlobalPool::Float) => {
                    let mut o = vec![0f32; n];
                    global_avg_pool_f32(g, x, &mut o)?;
                    Ok(TensorData::F32(o))
                }
                (x, GlobalPool::Tflite(p)) => any_q!(x, |x, T| {
                    let mut o = vec![T::default(); n];
                    mean_hw_tflite(g, p, x, &mut o)?;
                    Ok(T::wrap(o))
                }),
                (x, GlobalPool::Ort { q, act }) => any_q!(x, |x, T| {
                    let mut o = vec![T::default(); n];
                    global_avg_pool_ort(g, q, act.0, act.1, x, &mut o)?;
                    Ok(T::wrap(o))
                }),
                _ => Err(unexpected()),
            },
            Plan::Reshape => Ok(input(0)?.clone()),
            Plan::Transpose { shape, perm } => any_data!(input(0)?, |x, T| {
                let mut o = vec![T::default(); n];
                transpose(shape, perm, x, &mut o)?;
                Ok(T::wrap(o))
            }),
            Plan::Pad { shape, pads, int_value, float_value } => match input(0)? {
                TensorData::F32(x) => {
                    let mut o = vec![0f32; n];
                    pad(shape, pads, *float_value, x, &mut o)?;
                    Ok(TensorData::F32(o))
                }
                TensorData::I32(x) => {
                    let mut o = vec![0i32; n];
                    pad(shape, pads, *int_value, x, &mut o)?;
                    Ok(TensorData::I32(o))
                }
                x => any_q!(x, |x, T| {
                    let mut o = vec![T::default(); n];
                    pad(shape, pads, T::from_i32_sat(*int_value), x, &mut o)?;
                    Ok(T::wrap(o))
                }),
            },
            Plan::Concat { axis, shapes, rescale, act } => any_data!(input(0)?, |_first, T| {
                let mut owned: Vec<Vec<T>> = Vec::with_capacity(ins.len());
                for (i, d) in ins.iter().enumerate() {
                    let v = T::slice(d).ok_or_else(unexpected)?;
                    owned.push(match rescale.get(i).and_then(Option::as_ref) {
                        Some(r) => T::rescale(numerics, r, v)?,
                        None => v.to_vec(),
                    });
                }
                let parts: Vec<(&[usize], &[T])> =
                    shapes.iter().zip(&owned).map(|(s, v)| (s.as_slice(), v.as_slice())).collect();
                let mut o = vec![T::default(); n];
                concat(&parts, *axis, &mut o)?;
                if let Some((lo, hi)) = act {
                    T::clamp_all(&mut o, *lo, *hi);
                }
                Ok(T::wrap(o))
            }),
            Plan::Softmax { rows, depth, kind } => match (input(0)?, kind) {
                (TensorData::F32(x), SoftmaxKind::Float(beta)) => {
                    let mut o = vec![0f32; n];
                    softmax_f32(*beta, *rows, *depth, x, &mut o)?;
                    Ok(TensorData::F32(o))
                }
                (x, SoftmaxKind::Tflite(p)) => {
                    q8_in!(x, |x| q_out!(out.dtype, n, |o| softmax_tflite(p, *rows, *depth, x, o)))
                }
                (x, SoftmaxKind::Ort { x_scale, y_scale, y_zero_point }) => q8_in!(x, |x| {
                    let mut o = vec![Default::default(); n];
                    softmax_ort(*x_scale, *y_scale, *y_zero_point, *rows, *depth, x, &mut o)?;
                    Ok(Elem::wrap(o))
                }),
                _ => Err(unexpected()),
            },
            Plan::Quantize(QuantizeKind::FromFloat { params, qmin, qmax }) => match input(0)? {
                TensorData::F32(x) => q_out!(out.dtype, n, |o| quantize_f32(numerics, params, *qmin, *qmax, x, o)),
                _ => Err(unexpected()),
            },
            Plan::Quantize(QuantizeKind::Requant(r)) => {
                any_q!(input(0)?, |x, _X| q_out!(out.dtype, n, |o| match numerics {
                    Numerics::Tflite =>
                        requantize_tflite(r.in_scale, r.in_zp, r.out_scale, r.out_zp, r.qmin, r.qmax, x, o),
                    Numerics::Onnxruntime =>
                        requantize_ort(r.in_scale, r.in_zp, r.out_scale, r.out_zp, r.qmin, r.qmax, x, o),
                }))
            }
            Plan::Dequantize(params) => {
                let mut o = vec![0f32; n];
                match input(0)? {
                    TensorData::I32(x) => dequantize(params, x, &mut o)?,
                    x => any_q!(x, |x, _T| Ok::<(), String>(dequantize(params, x, &mut o)?))?,
                }
                Ok(TensorData::F32(o))
            }
            Plan::Clamp(kind) => match (input(0)?, kind) {
                (TensorData::F32(x), ClampKind::Float(act)) => {
                    Ok(TensorData::F32(x.iter().map(|v| v.max(act.0).min(act.1)).collect()))
                }
                (x, ClampKind::Int { act }) => any_q!(x, |x, T| {
                    let mut o = vec![T::default(); n];
                    clamp(act.0, act.1, x, &mut o)?;
                    Ok(T::wrap(o))
                }),
                (x, ClampKind::Requant { r }) => any_q!(x, |x, T| {
                    let mut o = vec![T::default(); n];
                    match numerics {
                        Numerics::Tflite => {
                            clamp_requant_tflite(r.in_scale, r.in_zp, r.out_scale, r.out_zp, r.qmin, r.qmax, x, &mut o)?
                        }
                        Numerics::Onnxruntime => {
                            requantize_ort(r.in_scale, r.in_zp, r.out_scale, r.out_zp, r.qmin, r.qmax, x, &mut o)?
                        }
                    }
                    Ok(T::wrap(o))
                }),
                _ => Err(unexpected()),
            },
        }
    }
}

fn unexpected() -> String {
    "internal: tensor data does not have the type the plan was built for".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Conv2dAttrs, Padding2d, Quantization, SourceFormat};
    use crate::kernels::conv::conv2d_q;

    fn q(scale: f32, zp: i32) -> Option<Quantization> {
        Some(Quantization::per_tensor(scale, zp))
    }

    /// input [1,4,4,2] int8 -> Conv 3x3 pad 1 (per-channel, relu) -> Add(self) -> Reshape [1, 48]
    /// -> Softmax; also exposes the conv output as a second graph output.
    fn small_tflite_graph() -> Graph {
        let mut g = Graph::new("t", SourceFormat::Synthetic, Numerics::Tflite);
        let x = g.add_tensor(Tensor::activation("x", vec![1, 4, 4, 2], DType::I8, q(0.05, -3)));
        let w_data: Vec<i8> = (0..3 * 3 * 3 * 2).map(|i| ((i * 37) % 255) as i8).collect();
        let w = g.add_tensor(Tensor::constant(
            "w",
            vec![3, 3, 3, 2],
            DType::I8,
            Some(Quantization::per_axis(vec![0.01, 0.02, 0.015], vec![0, 0, 0], 0)),
            TensorData::I8(w_data),
        ));
        let b = g.add_tensor(Tensor::constant(
            "b",
            vec![3],
            DType::I32,
            Some(Quantization::per_axis(vec![0.0005, 0.001, 0.00075], vec![0, 0, 0], 0)),
            TensorData::I32(vec![100, -200, 300]),
        ));
        let c = g.add_tensor(Tensor::activation("c", vec![1, 4, 4, 3], DType::I8, q(0.1, -128)));
        let s = g.add_tensor(Tensor::activation("s", vec![1, 4, 4, 3], DType::I8, q(0.2, -128)));
        let r = g.add_tensor(Tensor::activation("r", vec![1, 48], DType::I8, q(0.2, -128)));
        let y = g.add_tensor(Tensor::activation("y", vec![1, 48], DType::I8, q(1.0 / 256.0, -128)));
        let attrs = Conv2dAttrs {
            stride: [1, 1],
            dilation: [1, 1],
            padding: Padding2d { top: 1, left: 1, bottom: 1, right: 1 },
            groups: 1,
            activation: Activation::Relu,
        };
        g.add_node("conv", Op::Conv2d(attrs), vec![x, w, b], vec![c]);
        g.add_node("add", Op::Add { activation: Activation::None }, vec![c, c], vec![s]);
        g.add_node("reshape", Op::Reshape, vec![s], vec![r]);
        g.add_node("softmax", Op::Softmax { beta: 1.0 }, vec![r], vec![y]);
        g.inputs = vec![x];
        g.outputs = vec![y, c];
        g
    }

    fn input_value() -> Value {
        Value::new(vec![1, 4, 4, 2], TensorData::I8((0..32).map(|i| (i * 11 % 256) as u8 as i8).collect()))
    }

    #[test]
    fn runs_pipeline_and_matches_direct_kernel_calls() {
        let g = small_tflite_graph();
        let ex = Executor::new(&g).unwrap();
        let mut seen = Vec::new();
        let outs = ex.run_observed(&[input_value()], &mut |id, v| seen.push((id, v.clone()))).unwrap();
        assert_eq!(seen.iter().map(|(id, _)| *id).collect::<Vec<_>>(), vec![3, 4, 5, 6]);
        assert_eq!(outs.len(), 2);
        assert_eq!(outs[0].shape, vec![1, 48]);
        assert_eq!(outs[1], seen[0].1, "second output is the conv tensor");

        // The conv output equals a direct kernel call with the stage quant derives.
        let stage =
            output_stage_for(Numerics::Tflite, &g.tensors[0], &g.tensors[1], &g.tensors[3], Activation::Relu).unwrap();
        let geom = Conv2dGeometry::new(
            &[1, 4, 4, 2],
            &[3, 3, 3, 2],
            match &g.nodes[0].op {
                Op::Conv2d(a) => a,
                _ => unreachable!(),
            },
        )
        .unwrap();
        let (TensorData::I8(x), Some(TensorData::I8(w))) = (&input_value().data, &g.tensors[1].data) else {
            unreachable!()
        };
        let mut want = vec![0i8; 48];
        conv2d_q(&geom, &ConvQuant::symmetric(-3), x, w, Some(&[100, -200, 300]), &stage, &mut want).unwrap();
        assert_eq!(seen[0].1.data, TensorData::I8(want.clone()));
        assert!(want.iter().all(|&v| v >= -128), "relu clamps at the zero point");

        // Softmax output sums to about 1 (256 steps of 1/256 above -128).
        let TensorData::I8(y) = &outs[0].data else { unreachable!() };
        let total: i32 = y.iter().map(|&v| v as i32 + 128).sum();
        assert!((total - 256).abs() <= 48, "softmax mass {total}");
        // Deterministic.
        assert_eq!(ex.run(&[input_value()]).unwrap(), outs);
    }

    #[test]
    fn bad_inputs_are_named() {
        let g = small_tflite_graph();
        let ex = Executor::new(&g).unwrap();
        let err = ex.run(&[]).unwrap_err();
        assert!(matches!(&err, ModelError::BadInput { name, .. } if name == "x"), "{err}");
        let wrong_shape = Value::new(vec![1, 4, 2, 4], input_value().data);
        let err = ex.run(&[wrong_shape]).unwrap_err();
        assert!(matches!(&err, ModelError::BadInput { name, reason } if name == "x" && reason.contains("shape")));
        let wrong_type = Value::new(vec![1, 4, 4, 2], TensorData::U8(vec![0; 32]));
        assert!(matches!(ex.run(&[wrong_type]).unwrap_err(), ModelError::BadInput { .. }));
    }

    #[test]
    fn unsupported_dtypes_name_the_node() {
        let mut g = Graph::new("t", SourceFormat::Synthetic, Numerics::Tflite);
        let a = g.add_tensor(Tensor::activation("a", vec![4], DType::I8, q(1.0, 0)));
        let b = g.add_tensor(Tensor::activation("b", vec![4], DType::U8, q(1.0, 0)));
        let y = g.add_tensor(Tensor::activation("y", vec![4], DType::I8, q(1.0, 0)));
        g.add_node("mixed_add", Op::Add { activation: Activation::None }, vec![a, b], vec![y]);
        g.inputs = vec![a, b];
        g.outputs = vec![y];
        let err = Executor::new(&g).err().expect("mixed types are rejected");
        assert!(matches!(&err, ModelError::UnsupportedOp { node, .. } if node == "mixed_add"), "{err}");
    }

    #[test]
    fn onnx_qdq_style_graph_in_float_requant() {
        // float x -> Quantize (u8) -> ConvInteger-free QLinearConv 1x1 -> Dequantize.
        let mut g = Graph::new("o", SourceFormat::Synthetic, Numerics::Onnxruntime);
        let x = g.add_tensor(Tensor::activation("x", vec![1, 1, 2, 1], DType::F32, None));
        let xq = g.add_tensor(Tensor::activation("xq", vec![1, 1, 2, 1], DType::U8, q(0.5, 10)));
        let w = g.add_tensor(Tensor::constant("w", vec![1, 1, 1, 1], DType::I8, q(1.0, 0), TensorData::I8(vec![3])));
        let c = g.add_tensor(Tensor::activation("c", vec![1, 1, 2, 1], DType::U8, q(2.0, 0)));
        let y = g.add_tensor(Tensor::activation("y", vec![1, 1, 2, 1], DType::F32, None));
        let attrs = Conv2dAttrs {
            stride: [1, 1],
            dilation: [1, 1],
            padding: Padding2d::default(),
            groups: 1,
            activation: Activation::None,
        };
        g.add_node("q", Op::Quantize, vec![x], vec![xq]);
        g.add_node("conv", Op::Conv2d(attrs), vec![xq, w], vec![c]);
        g.add_node("dq", Op::Dequantize, vec![c], vec![y]);
        g.inputs = vec![x];
        g.outputs = vec![y];
        let ex = Executor::new(&g).unwrap();
        let out = ex.run(&[Value::new(vec![1, 1, 2, 1], TensorData::F32(vec![1.25, 0.75]))]).unwrap();
        // 1.25/0.5 = 2.5 -> 2 (half even) + 10 -> acc 2*3 = 6 -> 6*0.25 = 1.5 -> 2 -> 4.0
        // 0.75/0.5 = 1.5 -> 2 + 10 -> acc 6 -> same.
        assert_eq!(out[0].data, TensorData::F32(vec![4.0, 4.0]));
    }
}
