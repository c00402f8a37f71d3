//! Tensor values as the bytes they occupy in device memory: one element per byte for the 8-bit
//! (and unpacked 4-bit) types, little-endian otherwise, no padding.

use systole_model::ir::{DType, TensorData, Value};
use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TensorBytesError {
    #[error("{what}: {got} bytes, a {dtype} tensor of shape {shape:?} needs {need}")]
    Length { what: String, dtype: DType, shape: Vec<usize>, got: usize, need: usize },
    #[error("{what}: data is not of type {dtype}")]
    Type { what: String, dtype: DType },
}

/// Bytes of one element of `dtype` in device memory.
pub fn element_bytes(dtype: DType) -> usize {
    match dtype {
        DType::I4 | DType::U4 | DType::I8 | DType::U8 => 1,
        DType::I16 => 2,
        DType::I32 | DType::F32 => 4,
        DType::I64 => 8,
    }
}

/// Bytes a dense tensor of `shape` and `dtype` occupies.
pub fn tensor_bytes(dtype: DType, shape: &[usize]) -> usize {
    shape.iter().product::<usize>() * element_bytes(dtype)
}

/// As [`tensor_bytes`], `None` when the size does not fit `usize` (shapes read from a file).
pub fn checked_tensor_bytes(dtype: DType, shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(element_bytes(dtype), |acc, &d| acc.checked_mul(d))
}

/// The device-memory bytes of `data` (which must have the storage of `dtype`).
pub fn to_bytes(what: &str, dtype: DType, data: &TensorData) -> Result<Vec<u8>, TensorBytesError> {
    if !data.storage_matches(dtype) {
        return Err(TensorBytesError::Type { what: what.to_string(), dtype });
    }
    Ok(match data {
        TensorData::I8(v) => v.iter().map(|&x| x as u8).collect(),
        TensorData::U8(v) => v.clone(),
        TensorData::I16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        TensorData::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        TensorData::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        TensorData::F32(v) => v.iter().flat_map(|x| x.to_bits().to_le_bytes()).collect(),
    })
}

/// Reads a tensor of `dtype` and `shape` from exactly its bytes.
pub fn from_bytes(what: &str, dtype: DType, shape: &[usize], bytes: &[u8]) -> Result<Value, TensorBytesError> {
    let need = tensor_bytes(dtype, shape);
    if bytes.len() != need {
        return Err(TensorBytesError::Length {
            what: what.to_string(),
            dtype,
            shape: shape.to_vec(),
            got: bytes.len(),
            need,
        });
    }
    fn chunks<const N: usize>(b: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
        // `chunks_exact` of N bytes always converts; the length was checked above.
        b.chunks_exact(N).map(|c| c.try_into().unwrap_or([0; N]))
    }
    let data = match dtype {
        DType::I4 | DType::I8 => TensorData::I8(bytes.iter().map(|&b| b as i8).collect()),
        DType::U4 | DType::U8 => TensorData::U8(bytes.to_vec()),
        DType::I16 => TensorData::I16(chunks::<2>(bytes).map(i16::from_le_bytes).collect()),
        DType::I32 => TensorData::I32(chunks::<4>(bytes).map(i32::from_le_bytes).collect()),
        DType::I64 => TensorData::I64(chunks::<8>(bytes).map(i64::from_le_bytes).collect()),
        DType::F32 => TensorData::F32(chunks::<4>(bytes).map(|c| f32::from_bits(u32::from_le_bytes(c))).collect()),
    };
    Ok(Value::new(shape.to_vec(), data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips() {
        let cases = [
            (DType::I8, TensorData::I8(vec![-128, 0, 127])),
            (DType::U8, TensorData::U8(vec![0, 200, 255])),
            (DType::I4, TensorData::I8(vec![-8, 0, 7])),
            (DType::I16, TensorData::I16(vec![-32768, 1, 32767])),
            (DType::I32, TensorData::I32(vec![i32::MIN, -1, 7])),
            (DType::I64, TensorData::I64(vec![i64::MIN, 0, 9])),
            (DType::F32, TensorData::F32(vec![-0.0, 1.5, f32::MIN_POSITIVE])),
        ];
        for (dtype, data) in cases {
            let b = to_bytes("t", dtype, &data).unwrap();
            assert_eq!(b.len(), 3 * element_bytes(dtype));
            let v = from_bytes("t", dtype, &[3], &b).unwrap();
            assert_eq!(v.data, data, "{dtype}");
        }
        assert_eq!(
            to_bytes("t", DType::I32, &TensorData::F32(vec![1.0])).unwrap_err().to_string(),
            "t: data is not of type int32"
        );
        assert!(matches!(from_bytes("t", DType::F32, &[2], &[0; 7]), Err(TensorBytesError::Length { need: 8, .. })));
    }
}
