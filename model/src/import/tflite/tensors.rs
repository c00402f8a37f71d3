//! TFLite tensors -> IR tensors: element type, shape, quantisation and constant data.

use super::schema::{self, tensor_type, Buffer, QuantizationParameters};
use crate::ir::{DType, Quantization, Tensor, TensorData};
use crate::{ModelError, Result};
use flatbuffers::{ForwardsUOffset, Vector};

/// Largest element count accepted for one tensor. TFLite itself cannot hold more than 2 GB in a
/// flatbuffer; the bound keeps every later `shape.iter().product()` far from overflow.
const MAX_ELEMENTS: usize = i32::MAX as usize;

/// Converts tensor `index` of the subgraph. Tensor order is preserved by the caller, so the IR
/// `TensorId` equals the flatbuffer index.
pub(super) fn convert_tensor(
    tensor: schema::Tensor<'_>,
    index: usize,
    buffers: Option<Vector<'_, ForwardsUOffset<Buffer<'_>>>>,
) -> Result<Tensor> {
    // Unnamed tensors get a stable name so that errors can still point at them.
    let name = match tensor.name() {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => format!("tensor_{index}"),
    };
    let bad = |reason: String| ModelError::invalid_tensor(&name, reason);

    let dtype = dtype_of(tensor.tensor_type()).ok_or_else(|| ModelError::UnsupportedDType {
        dtype: tensor_type::name(tensor.tensor_type()),
        tensor: name.clone(),
        reason: "the IR carries int4/int8/uint8/int16/int32/int64/float32 tensors only".into(),
    })?;

    let shape = convert_shape(tensor.shape())
        .map_err(|reason| bad(format!("tensor #{index} has an invalid shape: {reason}")))?;
    let count = element_count(&shape)
        .ok_or_else(|| bad(format!("tensor #{index}: shape {shape:?} has more than {MAX_ELEMENTS} elements")))?;

    if tensor.has_field(schema::TENSOR_VT_SPARSITY) {
        return Err(bad("sparse tensors (sparsity parameters) are not supported".into()));
    }
    if tensor.external_buffer() != 0 {
        return Err(bad("data in an external buffer group is not supported".into()));
    }

    let quant = match tensor.quantization() {
        Some(q) => convert_quant(q, &shape, dtype).map_err(bad)?,
        None => None,
    };

    let data = match buffer_bytes(tensor.buffer(), buffers).map_err(bad)? {
        Some(bytes) => Some(decode(dtype, bytes, count).map_err(bad)?),
        None => None,
    };

    Ok(Tensor { name, shape, dtype, quant, data })
}

/// TFLite `TensorType` -> IR element type (`None`: not representable in the IR).
pub(super) fn dtype_of(t: i8) -> Option<DType> {
    match t {
        tensor_type::FLOAT32 => Some(DType::F32),
        tensor_type::INT32 => Some(DType::I32),
        tensor_type::UINT8 => Some(DType::U8),
        tensor_type::INT64 => Some(DType::I64),
        tensor_type::INT16 => Some(DType::I16),
        tensor_type::INT8 => Some(DType::I8),
        tensor_type::INT4 => Some(DType::I4),
        _ => None,
    }
}

fn convert_shape(shape: Option<Vector<'_, i32>>) -> Result<Vec<usize>, String> {
    // An absent shape is a scalar (rank 0), as TFLite reads it.
    let Some(shape) = shape else { return Ok(Vec::new()) };
    shape
        .iter()
        .map(|d| {
            usize::try_from(d).map_err(|_| format!("dimension {d} is negative (dynamic shapes are not supported)"))
        })
        .collect()
}

/// Checked element count, bounded by [`MAX_ELEMENTS`].
pub(super) fn element_count(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).filter(|&n| n <= MAX_ELEMENTS)
}

/// Quantisation parameters, per tensor or per axis.
///
/// `None` when the table carries no scale (TFLite writes empty `QuantizationParameters` tables on
/// float and shape tensors).
fn convert_quant(q: QuantizationParameters<'_>, shape: &[usize], dtype: DType) -> Result<Option<Quantization>, String> {
    if q.details_type() != 0 {
        return Err("custom quantization (QuantizationDetails) is not supported".into());
    }
    let scale: Vec<f32> = q.scale().map(|v| v.iter().collect()).unwrap_or_default();
    if scale.is_empty() {
        return Ok(None);
    }
    if let Some(s) = scale.iter().find(|s| !s.is_finite() || **s < 0.0) {
        return Err(format!("quantization scale {s} is not a finite non-negative number"));
    }

    let raw_zp: Vec<i64> = q.zero_point().map(|v| v.iter().collect()).unwrap_or_default();
    let zero_point: Vec<i32> = match raw_zp.len() {
        // Some writers omit zero points of symmetric tensors: they are 0.
        0 => vec![0; scale.len()],
        n if n == scale.len() => {
            let (lo, hi) = dtype.int_range().unwrap_or((i64::MIN, i64::MAX));
            raw_zp
                .iter()
                .map(|&z| {
                    if z < lo || z > hi {
                        return Err(format!("zero point {z} is outside the {dtype} range"));
                    }
                    i32::try_from(z).map_err(|_| format!("zero point {z} does not fit in int32"))
                })
                .collect::<Result<_, _>>()?
        }
        n => return Err(format!("{} scales but {n} zero points", scale.len())),
    };

    if scale.len() == 1 {
        // Per-tensor; `quantized_dimension` is meaningless here (and often left at garbage
        // values such as 3 on old converters' biases).
        return Ok(Some(Quantization::per_tensor(scale[0], zero_point[0])));
    }

    let n = scale.len();
    let qd = q.quantized_dimension();
    let axis = usize::try_from(qd).ok().filter(|&a| shape.get(a) == Some(&n));
    let axis = match axis {
        Some(a) => a,
        // Tolerated quirk (person_detect, written by TOCO): per-channel bias tensors are 1-D but
        // carry the quantized_dimension of their *weights* (3 for depthwise filters). The only
        // axis a 1-D tensor can be quantized along is 0, and the scale count confirms it.
        // LiteRT rejects such files; tflite-micro ignores the field for biases.
        None if shape.len() == 1 && shape[0] == n => 0,
        None => return Err(format!("{n} per-axis scales do not match quantized_dimension {qd} of shape {shape:?}")),
    };
    Ok(Some(Quantization::per_axis(scale, zero_point, axis)))
}

/// The constant data bytes of buffer `index`, `None` for activations (empty buffer).
fn buffer_bytes<'a>(
    index: u32,
    buffers: Option<Vector<'a, ForwardsUOffset<Buffer<'a>>>>,
) -> Result<Option<&'a [u8]>, String> {
    let count = buffers.map_or(0, |b| b.len());
    let Some(i) = usize::try_from(index).ok().filter(|&i| i < count) else {
        // Buffer 0 is the empty sentinel; a model without buffers has only activations.
        if index == 0 {
            return Ok(None);
        }
        return Err(format!("buffer index {index} is out of range ({count} buffers)"));
    };
    let Some(buffer) = buffers.map(|b| b.get(i)) else { return Ok(None) };
    // Models over 2 GB keep data after the flatbuffer (offset > 1 marks it valid).
    if buffer.offset() > 1 {
        return Err(format!(
            "buffer {index} stores its {} bytes outside the flatbuffer at offset {} (the >2 GB model \
             layout), which is not supported",
            buffer.size(),
            buffer.offset()
        ));
    }
    Ok(buffer.data().map(|d| d.bytes()).filter(|d| !d.is_empty()))
}

/// Decodes little-endian constant data of `count` elements.
fn decode(dtype: DType, bytes: &[u8], count: usize) -> Result<TensorData, String> {
    // `count` is bounded by MAX_ELEMENTS, so the byte size cannot overflow.
    let expected = (count * dtype.bits()).div_ceil(8);
    if bytes.len() != expected {
        return Err(format!("buffer holds {} bytes but {count} {dtype} elements need {expected}", bytes.len()));
    }
    Ok(match dtype {
        DType::I8 => TensorData::I8(bytes.iter().map(|&b| b as i8).collect()),
        DType::U8 => TensorData::U8(bytes.to_vec()),
        DType::I16 => TensorData::I16(bytes.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect()),
        DType::I32 => {
            TensorData::I32(bytes.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
        }
        DType::F32 => {
            TensorData::F32(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
        }
        DType::I64 => TensorData::I64(
            bytes
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
        ),
        DType::I4 => TensorData::I8(unpack_int4(bytes, count)),
        // TFLite has no uint4 tensor type; dtype_of never yields it.
        DType::U4 => return Err("uint4 constants are not supported".into()),
    })
}

/// Unpacks TFLite INT4 data: two values per byte, low nibble first (as tflite's
/// `UnpackDenseInt4IntoInt8`), each sign-extended to i8.
pub(super) fn unpack_int4(bytes: &[u8], count: usize) -> Vec<i8> {
    crate::ir::int4::unpack_i4(bytes, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int4_unpacks_low_nibble_first_with_sign() {
        // 0x7F: low 0xF = -1, high 0x7 = 7; 0x80: low 0 = 0, high 0x8 = -8.
        assert_eq!(unpack_int4(&[0x7f, 0x80], 4), vec![-1, 7, 0, -8]);
        assert_eq!(unpack_int4(&[0x21, 0x03], 3), vec![1, 2, 3]);
    }

    #[test]
    fn decode_checks_size_and_endianness() {
        let d = decode(DType::I32, &[1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff], 2).unwrap();
        assert_eq!(d, TensorData::I32(vec![1, -1]));
        assert!(decode(DType::I32, &[1, 0, 0], 1).is_err());
        let d = decode(DType::I4, &[0x21, 0x03], 3).unwrap();
        assert_eq!(d, TensorData::I8(vec![1, 2, 3]));
        assert!(decode(DType::I4, &[0x21], 3).is_err());
    }

    #[test]
    fn element_count_is_checked() {
        assert_eq!(element_count(&[]), Some(1));
        assert_eq!(element_count(&[2, 3]), Some(6));
        assert_eq!(element_count(&[1 << 20, 1 << 20]), None);
        assert_eq!(element_count(&[usize::MAX, 2]), None);
    }
}
