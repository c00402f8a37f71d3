//! Packed signed 4-bit storage: two values per byte, the first in the low nibble.
//!
//! This is the layout of TFLite `INT4` tensors (tflite's `UnpackDenseInt4IntoInt8`), of the
//! CMSIS-NN `*_s4` kernels' weights and of ONNX `INT4` `raw_data`; the packed engine image uses it
//! too. Inside the IR 4-bit values are held unpacked (one `i8` in [-8, 7] per value, dtype
//! [`super::DType::I4`]); these two functions are the only conversions between the forms.

/// Unpacks `count` signed 4-bit values, low nibble first, each sign-extended to `i8`. Missing
/// bytes (fewer than `count.div_ceil(2)`) end the output early; callers check the length.
pub fn unpack_i4(bytes: &[u8], count: usize) -> Vec<i8> {
    bytes.iter().flat_map(|&b| [((b << 4) as i8) >> 4, (b as i8) >> 4]).take(count).collect()
}

/// Packs signed 4-bit values two per byte, low nibble first; an odd count leaves the last high
/// nibble 0. Values outside [-8, 7] are an error naming the first offending index.
pub fn pack_i4(values: &[i8]) -> Result<Vec<u8>, Int4RangeError> {
    if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !(-8..=7).contains(*v)) {
        return Err(Int4RangeError { index, value });
    }
    Ok(values.chunks(2).map(|p| (p[0] as u8 & 0x0f) | ((p.get(1).copied().unwrap_or(0) as u8 & 0x0f) << 4)).collect())
}

/// A value that does not fit a signed 4-bit field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("value {value} at index {index} is outside the int4 range [-8, 7]")]
pub struct Int4RangeError {
    pub index: usize,
    pub value: i8,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpacks_low_nibble_first_with_sign() {
        // 0x7F: low 0xF = -1, high 0x7 = 7; 0x80: low 0 = 0, high 0x8 = -8.
        assert_eq!(unpack_i4(&[0x7f, 0x80], 4), vec![-1, 7, 0, -8]);
        assert_eq!(unpack_i4(&[0x21, 0x03], 3), vec![1, 2, 3]);
    }

    #[test]
    fn pack_inverts_unpack_for_every_pair_and_odd_counts() {
        let all: Vec<i8> = (-8..=7).flat_map(|a| (-8..=7).map(move |b| [a, b])).flatten().collect();
        let packed = pack_i4(&all).unwrap();
        assert_eq!(packed.len(), all.len() / 2);
        assert_eq!(unpack_i4(&packed, all.len()), all);
        assert_eq!(pack_i4(&[-8, 7, 3]).unwrap(), vec![0x78, 0x03]);
        assert_eq!(unpack_i4(&[0x78, 0x03], 3), vec![-8, 7, 3]);
    }

    #[test]
    fn pack_refuses_out_of_range() {
        assert_eq!(pack_i4(&[0, 8]), Err(Int4RangeError { index: 1, value: 8 }));
        assert_eq!(pack_i4(&[-9]), Err(Int4RangeError { index: 0, value: -9 }));
    }
}
