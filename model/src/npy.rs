//! `.npy` files in and out of [`Value`]s (via `ndarray-npy`), keeping the element type.

use crate::error::{ModelError, Result};
use crate::ir::{DType, TensorData, Value};
use ndarray::{ArrayD, IxDyn};
use ndarray_npy::{read_npy, write_npy, ReadNpyError};
use std::path::Path;

fn io_error(path: &Path, reason: impl std::fmt::Display) -> ModelError {
    ModelError::Io { path: path.display().to_string(), source: std::io::Error::other(reason.to_string()) }
}

/// Reads a `.npy` array of int8, uint8, int16, int32, int64 or float32 elements. float64 arrays
/// are narrowed to float32 (the element type models take at their float edges).
pub fn read_value(path: &Path) -> Result<Value> {
    fn attempt<T: ndarray_npy::ReadableElement>(path: &Path) -> std::result::Result<ArrayD<T>, ReadNpyError> {
        read_npy::<_, ArrayD<T>>(path)
    }
    macro_rules! try_type {
        ($t:ty, $wrap:expr) => {
            match attempt::<$t>(path) {
                Ok(a) => {
                    let shape = a.shape().to_vec();
                    let data = a.into_iter().collect::<Vec<$t>>();
                    return Ok(Value::new(shape, $wrap(data)));
                }
                Err(ReadNpyError::WrongDescriptor(_)) => {}
                Err(e) => return Err(io_error(path, e)),
            }
        };
    }
    try_type!(i8, TensorData::I8);
    try_type!(u8, TensorData::U8);
    try_type!(i16, TensorData::I16);
    try_type!(i32, TensorData::I32);
    try_type!(i64, TensorData::I64);
    try_type!(f32, TensorData::F32);
    try_type!(f64, |v: Vec<f64>| TensorData::F32(v.into_iter().map(|x| x as f32).collect()));
    Err(io_error(path, "unsupported .npy element type (expected int8, uint8, int16, int32, int64, float32 or float64)"))
}

/// Writes a value as `.npy` with its own element type.
pub fn write_value(path: &Path, value: &Value) -> Result<()> {
    let shape = IxDyn(&value.shape);
    let shape_error = |e: ndarray::ShapeError| io_error(path, format!("shape {:?}: {e}", value.shape));
    let result = match &value.data {
        TensorData::I8(v) => write_npy(path, &ArrayD::from_shape_vec(shape, v.clone()).map_err(shape_error)?),
        TensorData::U8(v) => write_npy(path, &ArrayD::from_shape_vec(shape, v.clone()).map_err(shape_error)?),
        TensorData::I16(v) => write_npy(path, &ArrayD::from_shape_vec(shape, v.clone()).map_err(shape_error)?),
        TensorData::I32(v) => write_npy(path, &ArrayD::from_shape_vec(shape, v.clone()).map_err(shape_error)?),
        TensorData::I64(v) => write_npy(path, &ArrayD::from_shape_vec(shape, v.clone()).map_err(shape_error)?),
        TensorData::F32(v) => write_npy(path, &ArrayD::from_shape_vec(shape, v.clone()).map_err(shape_error)?),
    };
    result.map_err(|e| io_error(path, e))
}

/// The dtype a value's storage corresponds to (4-bit types are reported as their 8-bit storage).
pub fn storage_dtype(data: &TensorData) -> DType {
    match data {
        TensorData::I8(_) => DType::I8,
        TensorData::U8(_) => DType::U8,
        TensorData::I16(_) => DType::I16,
        TensorData::I32(_) => DType::I32,
        TensorData::I64(_) => DType::I64,
        TensorData::F32(_) => DType::F32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_type_and_shape() {
        let dir = std::env::temp_dir().join(format!("systole-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for value in [
            Value::new(vec![2, 3], TensorData::I8(vec![-128, -1, 0, 1, 2, 127])),
            Value::new(vec![4], TensorData::U8(vec![0, 1, 254, 255])),
            Value::new(vec![1, 2], TensorData::F32(vec![0.5, -3.25])),
            Value::new(vec![2], TensorData::I32(vec![i32::MIN, i32::MAX])),
        ] {
            let p = dir.join("v.npy");
            write_value(&p, &value).unwrap();
            assert_eq!(read_value(&p).unwrap(), value);
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn missing_file_is_an_error() {
        let err = read_value(Path::new("/nonexistent/x.npy")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/x.npy"));
    }
}
