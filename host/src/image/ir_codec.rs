//! Binary encoding of the IR pieces a host step carries: tensors (with quantisation and constant
//! data) and ops with their attributes. Codes are part of the image format: append, never
//! renumber.

use super::codec::{Reader, Writer};
use super::format::ImageError;
use systole_model::ir::{
    Activation, Conv2dAttrs, DType, Numerics, Op, Padding2d, Pool2dAttrs, Quantization, SourceFormat, Tensor,
    TensorData,
};

const DTYPES: [DType; 8] = [DType::I4, DType::U4, DType::I8, DType::U8, DType::I16, DType::I32, DType::I64, DType::F32];
const ACTIVATIONS: [Activation; 4] = [Activation::None, Activation::Relu, Activation::Relu6, Activation::ReluN1To1];
const NUMERICS: [Numerics; 2] = [Numerics::Tflite, Numerics::Onnxruntime];
const SOURCES: [SourceFormat; 3] = [SourceFormat::Tflite, SourceFormat::Onnx, SourceFormat::Synthetic];

fn code_of<T: PartialEq>(table: &[T], v: &T) -> u8 {
    table.iter().position(|x| x == v).unwrap_or(0) as u8
}

fn from_code<T: Copy>(r: &Reader, table: &[T], code: u8, field: &str) -> Result<T, ImageError> {
    table.get(code as usize).copied().ok_or_else(|| r.err(format!("{field}: unknown code {code}")))
}

pub fn put_dtype(w: &mut Writer, d: DType) {
    w.u8(code_of(&DTYPES, &d));
}
pub fn get_dtype(r: &mut Reader) -> Result<DType, ImageError> {
    let c = r.u8("dtype")?;
    from_code(r, &DTYPES, c, "dtype")
}
pub fn put_numerics(w: &mut Writer, n: Numerics) {
    w.u8(code_of(&NUMERICS, &n));
}
pub fn get_numerics(r: &mut Reader) -> Result<Numerics, ImageError> {
    let c = r.u8("numerics")?;
    from_code(r, &NUMERICS, c, "numerics")
}
pub fn put_source(w: &mut Writer, s: SourceFormat) {
    w.u8(code_of(&SOURCES, &s));
}
pub fn get_source(r: &mut Reader) -> Result<SourceFormat, ImageError> {
    let c = r.u8("source format")?;
    from_code(r, &SOURCES, c, "source format")
}
fn put_act(w: &mut Writer, a: Activation) {
    w.u8(code_of(&ACTIVATIONS, &a));
}
fn get_act(r: &mut Reader) -> Result<Activation, ImageError> {
    let c = r.u8("activation")?;
    from_code(r, &ACTIVATIONS, c, "activation")
}

fn put_dims(w: &mut Writer, v: &[usize]) {
    w.len(v.len());
    v.iter().for_each(|&d| w.u64(d as u64));
}
fn get_dims(r: &mut Reader, field: &str) -> Result<Vec<usize>, ImageError> {
    let n = r.count(field, 8)?;
    (0..n)
        .map(|_| {
            let d = r.u64(field)?;
            usize::try_from(d).map_err(|_| r.err(format!("{field}: {d} does not fit usize")))
        })
        .collect()
}
fn put_pair(w: &mut Writer, v: [usize; 2]) {
    v.iter().for_each(|&d| w.u32(d as u32));
}
fn get_pair(r: &mut Reader, field: &str) -> Result<[usize; 2], ImageError> {
    Ok([r.usize(field)?, r.usize(field)?])
}
fn put_padding(w: &mut Writer, p: &Padding2d) {
    [p.top, p.left, p.bottom, p.right].iter().for_each(|&d| w.u32(d as u32));
}
fn get_padding(r: &mut Reader) -> Result<Padding2d, ImageError> {
    Ok(Padding2d {
        top: r.usize("padding")?,
        left: r.usize("padding")?,
        bottom: r.usize("padding")?,
        right: r.usize("padding")?,
    })
}
fn put_pool(w: &mut Writer, p: &Pool2dAttrs) {
    put_pair(w, p.kernel);
    put_pair(w, p.stride);
    put_padding(w, &p.padding);
    put_act(w, p.activation);
    w.bool(p.count_include_pad);
}
fn get_pool(r: &mut Reader) -> Result<Pool2dAttrs, ImageError> {
    Ok(Pool2dAttrs {
        kernel: get_pair(r, "pool kernel")?,
        stride: get_pair(r, "pool stride")?,
        padding: get_padding(r)?,
        activation: get_act(r)?,
        count_include_pad: r.bool("count_include_pad")?,
    })
}

pub fn put_op(w: &mut Writer, op: &Op) {
    match op {
        Op::Conv2d(a) => {
            w.u8(0);
            put_pair(w, a.stride);
            put_pair(w, a.dilation);
            put_padding(w, &a.padding);
            w.len(a.groups);
            put_act(w, a.activation);
        }
        Op::FullyConnected { activation } => {
            w.u8(1);
            put_act(w, *activation);
        }
        Op::MatMul => w.u8(2),
        Op::Add { activation } => {
            w.u8(3);
            put_act(w, *activation);
        }
        Op::Mul { activation } => {
            w.u8(4);
            put_act(w, *activation);
        }
        Op::AveragePool2d(p) => {
            w.u8(5);
            put_pool(w, p);
        }
        Op::MaxPool2d(p) => {
            w.u8(6);
            put_pool(w, p);
        }
        Op::GlobalAveragePool => w.u8(7),
        Op::Reshape => w.u8(8),
        Op::Transpose { perm } => {
            w.u8(9);
            put_dims(w, perm);
        }
        Op::Pad { pads, value } => {
            w.u8(10);
            w.len(pads.len());
            for &(a, b) in pads {
                w.u64(a as u64);
                w.u64(b as u64);
            }
            w.bool(value.is_some());
            w.i32(value.unwrap_or(0));
        }
        Op::Concat { axis, activation } => {
            w.u8(11);
            w.len(*axis);
            put_act(w, *activation);
        }
        Op::Softmax { beta } => {
            w.u8(12);
            w.f32(*beta);
        }
        Op::Quantize => w.u8(13),
        Op::Dequantize => w.u8(14),
        Op::Clamp { activation } => {
            w.u8(15);
            put_act(w, *activation);
        }
    }
}

pub fn get_op(r: &mut Reader) -> Result<Op, ImageError> {
    Ok(match r.u8("op")? {
        0 => Op::Conv2d(Conv2dAttrs {
            stride: get_pair(r, "conv stride")?,
            dilation: get_pair(r, "conv dilation")?,
            padding: get_padding(r)?,
            groups: r.usize("groups")?,
            activation: get_act(r)?,
        }),
        1 => Op::FullyConnected { activation: get_act(r)? },
        2 => Op::MatMul,
        3 => Op::Add { activation: get_act(r)? },
        4 => Op::Mul { activation: get_act(r)? },
        5 => Op::AveragePool2d(get_pool(r)?),
        6 => Op::MaxPool2d(get_pool(r)?),
        7 => Op::GlobalAveragePool,
        8 => Op::Reshape,
        9 => Op::Transpose { perm: get_dims(r, "perm")? },
        10 => {
            let n = r.count("pads", 16)?;
            let mut pads = Vec::with_capacity(n);
            for _ in 0..n {
                let (a, b) = (r.u64("pad")?, r.u64("pad")?);
                let fit = |v: u64| usize::try_from(v).map_err(|_| r.err(format!("pad {v} does not fit usize")));
                pads.push((fit(a)?, fit(b)?));
            }
            let has = r.bool("pad value flag")?;
            let v = r.i32("pad value")?;
            Op::Pad { pads, value: has.then_some(v) }
        }
        11 => Op::Concat { axis: r.usize("axis")?, activation: get_act(r)? },
        12 => Op::Softmax { beta: r.f32("beta")? },
        13 => Op::Quantize,
        14 => Op::Dequantize,
        15 => Op::Clamp { activation: get_act(r)? },
        c => return Err(r.err(format!("unknown op code {c}"))),
    })
}

fn put_data(w: &mut Writer, d: &TensorData) {
    let (tag, bytes): (u8, Vec<u8>) = match d {
        TensorData::I8(v) => (0, v.iter().map(|&x| x as u8).collect()),
        TensorData::U8(v) => (1, v.clone()),
        TensorData::I16(v) => (2, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        TensorData::I32(v) => (3, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        TensorData::I64(v) => (4, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        TensorData::F32(v) => (5, v.iter().flat_map(|x| x.to_bits().to_le_bytes()).collect()),
    };
    w.u8(tag);
    w.bytes(&bytes);
}

fn get_data(r: &mut Reader) -> Result<TensorData, ImageError> {
    let tag = r.u8("data type")?;
    let b = r.bytes("tensor data")?;
    let width = [1usize, 1, 2, 4, 8, 4].get(tag as usize).copied().ok_or_else(|| r.err(format!("data tag {tag}")))?;
    if b.len() % width != 0 {
        return Err(r.err(format!("tensor data of {} bytes is not whole {width}-byte elements", b.len())));
    }
    // `chunks_exact(N)` yields N-byte slices only, so the conversions cannot fail.
    fn le<const N: usize>(b: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
        b.chunks_exact(N).map(|c| c.try_into().unwrap_or([0; N]))
    }
    Ok(match tag {
        0 => TensorData::I8(b.iter().map(|&x| x as i8).collect()),
        1 => TensorData::U8(b.to_vec()),
        2 => TensorData::I16(le::<2>(b).map(i16::from_le_bytes).collect()),
        3 => TensorData::I32(le::<4>(b).map(i32::from_le_bytes).collect()),
        4 => TensorData::I64(le::<8>(b).map(i64::from_le_bytes).collect()),
        _ => TensorData::F32(le::<4>(b).map(|c| f32::from_bits(u32::from_le_bytes(c))).collect()),
    })
}

pub fn put_tensor(w: &mut Writer, t: &Tensor) {
    w.str(&t.name);
    put_dtype(w, t.dtype);
    put_dims(w, &t.shape);
    w.bool(t.quant.is_some());
    if let Some(q) = &t.quant {
        w.len(q.scale.len());
        q.scale.iter().for_each(|&s| w.f32(s));
        w.len(q.zero_point.len());
        q.zero_point.iter().for_each(|&z| w.i32(z));
        w.bool(q.axis.is_some());
        w.len(q.axis.unwrap_or(0));
    }
    w.bool(t.data.is_some());
    if let Some(d) = &t.data {
        put_data(w, d);
    }
}

pub fn get_tensor(r: &mut Reader) -> Result<Tensor, ImageError> {
    let name = r.str("tensor name")?;
    let dtype = get_dtype(r)?;
    let shape = get_dims(r, "shape")?;
    let quant = if r.bool("quantisation flag")? {
        let n = r.count("scales", 4)?;
        let scale = (0..n).map(|_| r.f32("scale")).collect::<Result<Vec<_>, _>>()?;
        let n = r.count("zero points", 4)?;
        let zero_point = (0..n).map(|_| r.i32("zero point")).collect::<Result<Vec<_>, _>>()?;
        let has_axis = r.bool("axis flag")?;
        let axis = r.usize("axis")?;
        Some(Quantization { scale, zero_point, axis: has_axis.then_some(axis) })
    } else {
        None
    };
    let data = if r.bool("data flag")? { Some(get_data(r)?) } else { None };
    if let Some(d) = &data {
        let count = shape.iter().try_fold(1usize, |a, &x| a.checked_mul(x));
        if !d.storage_matches(dtype) || count != Some(d.len()) {
            return Err(r.err(format!("constant '{name}': data does not match {dtype} {shape:?}")));
        }
    }
    Ok(Tensor { name, shape, dtype, quant, data })
}

#[cfg(test)]
mod tests {
    use super::super::format::SectionKind;
    use super::*;

    #[test]
    fn every_op_and_tensor_kind_round_trips() {
        let pool = Pool2dAttrs {
            kernel: [2, 3],
            stride: [1, 2],
            padding: Padding2d { top: 1, left: 0, bottom: 2, right: 3 },
            activation: Activation::Relu6,
            count_include_pad: true,
        };
        let ops = vec![
            Op::Conv2d(Conv2dAttrs {
                stride: [2, 1],
                dilation: [1, 3],
                padding: Padding2d { top: 1, left: 2, bottom: 3, right: 4 },
                groups: 8,
                activation: Activation::ReluN1To1,
            }),
            Op::FullyConnected { activation: Activation::Relu },
            Op::MatMul,
            Op::Add { activation: Activation::None },
            Op::Mul { activation: Activation::Relu6 },
            Op::AveragePool2d(pool.clone()),
            Op::MaxPool2d(pool),
            Op::GlobalAveragePool,
            Op::Reshape,
            Op::Transpose { perm: vec![0, 3, 1, 2] },
            Op::Pad { pads: vec![(0, 0), (1, 2), (3, 4), (0, 0)], value: Some(-3) },
            Op::Pad { pads: vec![(1, 1)], value: None },
            Op::Concat { axis: 3, activation: Activation::Relu },
            Op::Softmax { beta: 0.75 },
            Op::Quantize,
            Op::Dequantize,
            Op::Clamp { activation: Activation::Relu6 },
        ];
        let tensors = vec![
            Tensor::activation("x", vec![1, 2, 3, 4], DType::I8, Some(Quantization::per_tensor(0.5, -3))),
            Tensor::constant(
                "w",
                vec![2, 2],
                DType::U8,
                Some(Quantization::per_axis(vec![0.1, 0.2], vec![1, 2], 0)),
                TensorData::U8(vec![1, 2, 3, 4]),
            ),
            Tensor::constant("b", vec![2], DType::I32, None, TensorData::I32(vec![-1, 1 << 30])),
            Tensor::constant("f", vec![2], DType::F32, None, TensorData::F32(vec![-0.5, 3.25])),
            Tensor::constant("s", vec![1], DType::I16, None, TensorData::I16(vec![-300])),
            Tensor::constant("l", vec![1], DType::I64, None, TensorData::I64(vec![i64::MIN])),
        ];
        let mut w = Writer::default();
        ops.iter().for_each(|o| put_op(&mut w, o));
        tensors.iter().for_each(|t| put_tensor(&mut w, t));
        let mut r = Reader::new(SectionKind::Plan, &w.buf);
        for o in &ops {
            assert_eq!(&get_op(&mut r).unwrap(), o);
        }
        for t in &tensors {
            assert_eq!(&get_tensor(&mut r).unwrap(), t);
        }
        r.finish().unwrap();
        // Every truncation is an error, never a panic.
        for cut in 0..w.buf.len() {
            let mut r = Reader::new(SectionKind::Plan, &w.buf[..cut]);
            let ok = ops.iter().all(|_| get_op(&mut r).is_ok()) && tensors.iter().all(|_| get_tensor(&mut r).is_ok());
            assert!(!ok, "a cut at {cut} decoded");
        }
    }
}
