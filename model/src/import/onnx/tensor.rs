//! `TensorProto` decoding: initializers, `Constant` node values and the `.pb` files of the ONNX
//! node tests become typed constants.

use super::proto::{data_type as dt, TensorProto};
use crate::error::{ModelError, Result};
use crate::ir::{DType, TensorData, Value};

/// Upper bound on the element count of any tensor the importer creates or accepts. It keeps
/// every later shape product far from `usize` overflow, whatever a file declares.
pub const MAX_ELEMENTS: usize = 1 << 32;

/// A constant tensor in the source (ONNX, row-major) layout.
#[derive(Clone, Debug, PartialEq)]
pub struct ConstTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub dtype: DType,
    pub data: TensorData,
}

impl ConstTensor {
    pub fn element_count(&self) -> usize {
        self.shape.iter().product()
    }

    /// All values as i32 (integer types only).
    pub fn to_i32(&self) -> Option<Vec<i32>> {
        self.data.to_i32()
    }

    /// All values as i64 (integer types only): shapes, axes and pads are int64 in ONNX.
    pub fn to_i64(&self) -> Option<Vec<i64>> {
        match &self.data {
            TensorData::I64(v) => Some(v.clone()),
            TensorData::F32(_) => None,
            other => other.to_i32().map(|v| v.into_iter().map(i64::from).collect()),
        }
    }

    pub fn to_f32(&self) -> Option<Vec<f32>> {
        match &self.data {
            TensorData::F32(v) => Some(v.clone()),
            _ => None,
        }
    }

    /// Builds a constant from a runtime value; `declared` (the graph input's element type)
    /// disambiguates storages shared by two types (int4 values live in `I8` storage).
    pub fn from_value(name: &str, value: &Value, declared: Option<DType>) -> Result<ConstTensor> {
        let storage_dtype = match &value.data {
            TensorData::I8(_) => DType::I8,
            TensorData::U8(_) => DType::U8,
            TensorData::I16(_) => DType::I16,
            TensorData::I32(_) => DType::I32,
            TensorData::I64(_) => DType::I64,
            TensorData::F32(_) => DType::F32,
        };
        let dtype = match declared {
            Some(d) if value.data.storage_matches(d) => d,
            Some(d) => {
                return Err(ModelError::BadInput {
                    name: name.to_string(),
                    reason: format!("the model declares {d}, the bound constant holds {storage_dtype} data"),
                })
            }
            None => storage_dtype,
        };
        let count = checked_count(&value.shape).ok_or_else(|| ModelError::BadInput {
            name: name.to_string(),
            reason: format!("shape {:?} is too large", value.shape),
        })?;
        if count != value.data.len() {
            return Err(ModelError::BadInput {
                name: name.to_string(),
                reason: format!("shape {:?} needs {count} elements, the value has {}", value.shape, value.data.len()),
            });
        }
        Ok(ConstTensor { name: name.to_string(), shape: value.shape.clone(), dtype, data: value.data.clone() })
    }

    pub fn to_value(&self) -> Value {
        Value::new(self.shape.clone(), self.data.clone())
    }
}

/// Element count of a shape, `None` on overflow or beyond [`MAX_ELEMENTS`].
pub fn checked_count(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).filter(|&c| c <= MAX_ELEMENTS)
}

/// The IR type of an ONNX element type, or `None` when the IR cannot carry it.
pub fn dtype_of(onnx_type: i32) -> Option<DType> {
    Some(match onnx_type {
        dt::FLOAT => DType::F32,
        dt::UINT8 => DType::U8,
        dt::INT8 => DType::I8,
        dt::INT16 => DType::I16,
        dt::INT32 => DType::I32,
        dt::INT64 => DType::I64,
        dt::INT4 => DType::I4,
        dt::UINT4 => DType::U4,
        _ => return None,
    })
}

/// Converts ONNX dims (int64, possibly negative in a broken file) to a checked shape.
pub fn shape_from_dims(dims: &[i64], what: &str) -> Result<Vec<usize>> {
    let shape = dims
        .iter()
        .map(|&d| {
            usize::try_from(d)
                .map_err(|_| ModelError::invalid_tensor(what, format!("negative dimension {d} in {dims:?}")))
        })
        .collect::<Result<Vec<_>>>()?;
    if checked_count(&shape).is_none() {
        return Err(ModelError::invalid_tensor(what, format!("shape {shape:?} has more than {MAX_ELEMENTS} elements")));
    }
    Ok(shape)
}

/// Decodes one `TensorProto` into a constant. External data, segments and types the IR has no
/// storage for are refused with a message naming the tensor.
pub fn decode_tensor(t: &TensorProto) -> Result<ConstTensor> {
    let name = t.name.clone().unwrap_or_default();
    let label = if name.is_empty() { "<unnamed tensor>".to_string() } else { name.clone() };
    if t.data_location == Some(1) || !t.external_data.is_empty() {
        let location = t
            .external_data
            .iter()
            .find(|e| e.key.as_deref() == Some("location"))
            .and_then(|e| e.value.clone())
            .unwrap_or_else(|| "?".into());
        return Err(ModelError::invalid_tensor(
            &label,
            format!(
                "stores its data in an external file ('{location}'); systole reads self-contained models only \
                 (re-save with onnx.save_model(model, path, save_as_external_data=False))"
            ),
        ));
    }
    if t.segment.is_some() {
        return Err(ModelError::invalid_tensor(&label, "is a segmented tensor, which is not supported"));
    }
    let type_code = t.data_type.unwrap_or(0);
    let dtype = dtype_of(type_code).ok_or_else(|| ModelError::UnsupportedDType {
        dtype: dt::name(type_code),
        tensor: label.clone(),
        reason: "the IR carries float32, int4/uint4, int8/uint8, int16, int32 and int64 tensors".into(),
    })?;
    let shape = shape_from_dims(&t.dims, &label)?;
    let count = checked_count(&shape).unwrap_or(0);
    let data = match &t.raw_data {
        Some(raw) => decode_raw(raw, dtype, count, &label)?,
        None => decode_typed(t, dtype, count, &label)?,
    };
    Ok(ConstTensor { name, shape, dtype, data })
}

fn length_error(label: &str, field: &str, got: usize, want: usize) -> ModelError {
    ModelError::invalid_tensor(label, format!("{field} holds {got} entries, the shape needs {want}"))
}

/// `raw_data`: fixed-width little-endian elements; 4-bit types pack two per byte, low nibble first.
fn decode_raw(raw: &[u8], dtype: DType, count: usize, label: &str) -> Result<TensorData> {
    let want = match dtype {
        DType::I4 | DType::U4 => count.div_ceil(2),
        other => count.saturating_mul(other.bits() / 8),
    };
    if raw.len() != want {
        return Err(length_error(label, "raw_data (bytes)", raw.len(), want));
    }
    Ok(match dtype {
        DType::I4 | DType::U4 => unpack_nibbles(raw.iter().map(|&b| b as i32), dtype, count),
        DType::F32 => {
            TensorData::F32(raw.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
        }
        DType::I8 => TensorData::I8(raw.iter().map(|&b| b as i8).collect()),
        DType::U8 => TensorData::U8(raw.to_vec()),
        DType::I16 => TensorData::I16(raw.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect()),
        DType::I32 => {
            TensorData::I32(raw.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
        }
        DType::I64 => TensorData::I64(
            raw.chunks_exact(8).map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])).collect(),
        ),
    })
}

/// Splits packed 4-bit values (one byte per entry, low nibble first) into one value per element.
fn unpack_nibbles(bytes: impl Iterator<Item = i32>, dtype: DType, count: usize) -> TensorData {
    let mut values = Vec::with_capacity(count);
    for b in bytes {
        for nib in [b & 0xf, (b >> 4) & 0xf] {
            if values.len() < count {
                values.push(nib);
            }
        }
    }
    match dtype {
        DType::I4 => TensorData::I8(values.into_iter().map(|v| ((v << 4) as i8) >> 4).collect()),
        _ => TensorData::U8(values.into_iter().map(|v| v as u8).collect()),
    }
}

/// The typed repeated fields: `float_data`, `int32_data` (every narrow integer type, 4-bit types
/// packed two per entry) and `int64_data`.
fn decode_typed(t: &TensorProto, dtype: DType, count: usize, label: &str) -> Result<TensorData> {
    let narrow = |lo: i32, hi: i32| -> Result<Vec<i32>> {
        if t.int32_data.len() != count {
            return Err(length_error(label, "int32_data", t.int32_data.len(), count));
        }
        if let Some(v) = t.int32_data.iter().find(|&&v| v < lo || v > hi) {
            return Err(ModelError::invalid_tensor(
                label,
                format!("int32_data value {v} is outside the {dtype} range"),
            ));
        }
        Ok(t.int32_data.clone())
    };
    Ok(match dtype {
        DType::F32 => {
            if t.float_data.len() != count {
                return Err(length_error(label, "float_data", t.float_data.len(), count));
            }
            TensorData::F32(t.float_data.clone())
        }
        DType::I8 => TensorData::I8(narrow(-128, 127)?.into_iter().map(|v| v as i8).collect()),
        DType::U8 => TensorData::U8(narrow(0, 255)?.into_iter().map(|v| v as u8).collect()),
        DType::I16 => TensorData::I16(narrow(-32768, 32767)?.into_iter().map(|v| v as i16).collect()),
        DType::I32 => TensorData::I32(narrow(i32::MIN, i32::MAX)?),
        DType::I64 => {
            if t.int64_data.len() != count {
                return Err(length_error(label, "int64_data", t.int64_data.len(), count));
            }
            TensorData::I64(t.int64_data.clone())
        }
        DType::I4 | DType::U4 => {
            let want = count.div_ceil(2);
            if t.int32_data.len() != want {
                return Err(length_error(label, "int32_data (packed 4-bit pairs)", t.int32_data.len(), want));
            }
            unpack_nibbles(t.int32_data.iter().copied(), dtype, count)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_and_typed_fields_decode() {
        let t = TensorProto {
            dims: vec![2],
            data_type: Some(dt::FLOAT),
            raw_data: Some([1.5f32.to_le_bytes(), (-2.0f32).to_le_bytes()].concat()),
            name: Some("a".into()),
            ..Default::default()
        };
        let c = decode_tensor(&t).unwrap();
        assert_eq!(c.data, TensorData::F32(vec![1.5, -2.0]));
        let t = TensorProto {
            dims: vec![3],
            data_type: Some(dt::INT8),
            int32_data: vec![-1, 5, 127],
            ..Default::default()
        };
        assert_eq!(decode_tensor(&t).unwrap().data, TensorData::I8(vec![-1, 5, 127]));
        let bad =
            TensorProto { dims: vec![2], data_type: Some(dt::INT8), int32_data: vec![300, 1], ..Default::default() };
        assert!(decode_tensor(&bad).is_err());
    }

    #[test]
    fn int4_unpacks_low_nibble_first() {
        // The onnx int4 node test: int32_data [16, 199, 8] holds [0, 1, 7, -4, -8].
        let t = TensorProto {
            dims: vec![5],
            data_type: Some(dt::INT4),
            int32_data: vec![16, 199, 8],
            ..Default::default()
        };
        assert_eq!(decode_tensor(&t).unwrap().data, TensorData::I8(vec![0, 1, 7, -4, -8]));
        let t = TensorProto {
            dims: vec![3],
            data_type: Some(dt::UINT4),
            raw_data: Some(vec![0x21, 0x0f]),
            ..Default::default()
        };
        assert_eq!(decode_tensor(&t).unwrap().data, TensorData::U8(vec![1, 2, 15]));
    }

    #[test]
    fn refuses_external_negative_and_short_data() {
        let ext = TensorProto {
            dims: vec![1],
            data_type: Some(dt::FLOAT),
            data_location: Some(1),
            name: Some("w".into()),
            ..Default::default()
        };
        let e = decode_tensor(&ext).unwrap_err().to_string();
        assert!(e.contains("external"), "{e}");
        let neg = TensorProto { dims: vec![-1], data_type: Some(dt::FLOAT), ..Default::default() };
        assert!(decode_tensor(&neg).is_err());
        let short =
            TensorProto { dims: vec![4], data_type: Some(dt::FLOAT), float_data: vec![1.0], ..Default::default() };
        assert!(decode_tensor(&short).is_err());
        let huge = TensorProto { dims: vec![1 << 40, 1 << 40], data_type: Some(dt::FLOAT), ..Default::default() };
        assert!(decode_tensor(&huge).is_err());
    }
}
