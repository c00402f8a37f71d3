//! Plan dispatch: the element types the executor moves and running one [`Plan`] through its kernels.

use super::plan::{AvgPool, Binary, ClampKind, GlobalPool, MacOut, Plan, QuantizeKind, Rescale, SoftmaxKind};
use super::{Executor, NodeResult};
use crate::ir::{DType, Numerics, Tensor, TensorData};
use crate::kernels::conv::{conv2d_acc, conv2d_f32, conv2d_q};
use crate::kernels::elementwise::{add_f32, add_ort, add_tflite, mul_f32, mul_ort, mul_tflite};
use crate::kernels::fc::{fully_connected_acc, fully_connected_f32, fully_connected_q};
use crate::kernels::layout::{concat, pad, transpose};
use crate::kernels::matmul::{matmul_acc, matmul_f32, matmul_q};
use crate::kernels::pool::{
    avg_pool_f32, avg_pool_ort, avg_pool_tflite, global_avg_pool_f32, global_avg_pool_ort, max_pool, max_pool_f32,
    mean_hw_tflite,
};
use crate::kernels::quantize::{
    clamp, clamp_requant_tflite, dequantize, quantize_f32, requantize_concat_tflite, requantize_ort, requantize_tflite,
};
use crate::kernels::softmax::{softmax_f32, softmax_ort, softmax_tflite};
use crate::kernels::QType;

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

impl Executor<'_> {
    pub(super) fn exec(numerics: Numerics, plan: &Plan, ins: &[&TensorData], out: &Tensor) -> NodeResult<TensorData> {
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
