//! Tensors of the quantized IR: shape, element type, quantisation and (for constants) data.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Element type of a tensor. 4-bit types are stored unpacked, one value per `i8`/`u8`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DType {
    I4,
    U4,
    I8,
    U8,
    I16,
    I32,
    I64,
    F32,
}

impl DType {
    /// Inclusive value range of an integer type (`None` for float).
    pub fn int_range(self) -> Option<(i64, i64)> {
        match self {
            DType::I4 => Some((-8, 7)),
            DType::U4 => Some((0, 15)),
            DType::I8 => Some((-128, 127)),
            DType::U8 => Some((0, 255)),
            DType::I16 => Some((-32768, 32767)),
            DType::I32 => Some((i32::MIN as i64, i32::MAX as i64)),
            DType::I64 => Some((i64::MIN, i64::MAX)),
            DType::F32 => None,
        }
    }

    /// True for the narrow types that carry quantized activations or weights.
    pub fn is_quantized_storage(self) -> bool {
        matches!(self, DType::I4 | DType::U4 | DType::I8 | DType::U8 | DType::I16)
    }

    /// Storage size in bits of one element as it sits in a model file.
    pub fn bits(self) -> usize {
        match self {
            DType::I4 | DType::U4 => 4,
            DType::I8 | DType::U8 => 8,
            DType::I16 => 16,
            DType::I32 | DType::F32 => 32,
            DType::I64 => 64,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            DType::I4 => "int4",
            DType::U4 => "uint4",
            DType::I8 => "int8",
            DType::U8 => "uint8",
            DType::I16 => "int16",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::F32 => "float32",
        };
        f.write_str(s)
    }
}

/// Affine quantisation: real = scale * (q - zero_point).
///
/// Per-tensor when `axis` is `None` (then `scale` and `zero_point` have one element), per-axis
/// otherwise (one element per index along `axis`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Quantization {
    pub scale: Vec<f32>,
    pub zero_point: Vec<i32>,
    pub axis: Option<usize>,
}

impl Quantization {
    pub fn per_tensor(scale: f32, zero_point: i32) -> Self {
        Quantization { scale: vec![scale], zero_point: vec![zero_point], axis: None }
    }

    pub fn per_axis(scale: Vec<f32>, zero_point: Vec<i32>, axis: usize) -> Self {
        Quantization { scale, zero_point, axis: Some(axis) }
    }

    pub fn is_per_axis(&self) -> bool {
        self.axis.is_some() && self.scale.len() > 1
    }

    /// Scale for index `i` along the quantised axis (per-tensor: always element 0).
    pub fn scale_at(&self, i: usize) -> f32 {
        if self.scale.len() == 1 {
            self.scale[0]
        } else {
            self.scale[i]
        }
    }

    /// Zero point for index `i` along the quantised axis (per-tensor: always element 0).
    pub fn zero_point_at(&self, i: usize) -> i32 {
        if self.zero_point.len() == 1 {
            self.zero_point[0]
        } else {
            self.zero_point[i]
        }
    }
}

/// Typed element storage. Quantized values of every integer type are kept in their natural Rust
/// type; 4-bit values are unpacked into `I8`/`U8`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TensorData {
    I8(Vec<i8>),
    U8(Vec<u8>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    F32(Vec<f32>),
}

impl TensorData {
    pub fn len(&self) -> usize {
        match self {
            TensorData::I8(v) => v.len(),
            TensorData::U8(v) => v.len(),
            TensorData::I16(v) => v.len(),
            TensorData::I32(v) => v.len(),
            TensorData::I64(v) => v.len(),
            TensorData::F32(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The Rust storage variant a tensor of `dtype` uses.
    pub fn storage_matches(&self, dtype: DType) -> bool {
        matches!(
            (self, dtype),
            (TensorData::I8(_), DType::I8 | DType::I4)
                | (TensorData::U8(_), DType::U8 | DType::U4)
                | (TensorData::I16(_), DType::I16)
                | (TensorData::I32(_), DType::I32)
                | (TensorData::I64(_), DType::I64)
                | (TensorData::F32(_), DType::F32)
        )
    }

    /// All elements widened to i32 (integer storages only; i64 values must fit).
    pub fn to_i32(&self) -> Option<Vec<i32>> {
        match self {
            TensorData::I8(v) => Some(v.iter().map(|&x| x as i32).collect()),
            TensorData::U8(v) => Some(v.iter().map(|&x| x as i32).collect()),
            TensorData::I16(v) => Some(v.iter().map(|&x| x as i32).collect()),
            TensorData::I32(v) => Some(v.clone()),
            TensorData::I64(v) => v.iter().map(|&x| i32::try_from(x).ok()).collect(),
            TensorData::F32(_) => None,
        }
    }

    /// Builds storage for `dtype` from i32 values that are already in range.
    pub fn from_i32(dtype: DType, values: Vec<i32>) -> TensorData {
        match dtype {
            DType::I4 | DType::I8 => TensorData::I8(values.into_iter().map(|x| x as i8).collect()),
            DType::U4 | DType::U8 => TensorData::U8(values.into_iter().map(|x| x as u8).collect()),
            DType::I16 => TensorData::I16(values.into_iter().map(|x| x as i16).collect()),
            DType::I32 => TensorData::I32(values),
            DType::I64 => TensorData::I64(values.into_iter().map(|x| x as i64).collect()),
            DType::F32 => TensorData::F32(values.into_iter().map(|x| x as f32).collect()),
        }
    }
}

/// A runtime value: shape plus data, as it flows through the reference executor.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    pub shape: Vec<usize>,
    pub data: TensorData,
}

impl Value {
    pub fn new(shape: Vec<usize>, data: TensorData) -> Self {
        Value { shape, data }
    }

    pub fn element_count(&self) -> usize {
        self.shape.iter().product()
    }
}

/// One tensor of a graph. Constants (weights, biases) carry `data`; activations do not.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub dtype: DType,
    pub quant: Option<Quantization>,
    pub data: Option<TensorData>,
}

impl Tensor {
    pub fn activation(name: impl Into<String>, shape: Vec<usize>, dtype: DType, quant: Option<Quantization>) -> Self {
        Tensor { name: name.into(), shape, dtype, quant, data: None }
    }

    pub fn constant(
        name: impl Into<String>,
        shape: Vec<usize>,
        dtype: DType,
        quant: Option<Quantization>,
        data: TensorData,
    ) -> Self {
        Tensor { name: name.into(), shape, dtype, quant, data: Some(data) }
    }

    pub fn element_count(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_constant(&self) -> bool {
        self.data.is_some()
    }

    /// Per-tensor zero point, or the first of a per-axis list (0 when unquantised).
    pub fn zero_point(&self) -> i32 {
        self.quant.as_ref().map_or(0, |q| q.zero_point_at(0))
    }

    /// Bytes the tensor takes in the model's own storage type (4-bit packed two per byte).
    pub fn storage_bytes(&self) -> usize {
        (self.element_count() * self.dtype.bits()).div_ceil(8)
    }
}
