//! The protobuf wire format, just enough to copy a message field by field and replace a few of
//! its fields. The pruner edits an ONNX file this way (rather than decoding and re-encoding the
//! whole `ModelProto` with the importer's subset of `onnx.proto`) so every field systole does not
//! declare (doc strings, metadata, functions, training info) survives byte for byte.

use super::error::{PResult, PruneError};

/// One field of a message: its number, the raw bytes (key included) and, for length-delimited
/// fields, the payload.
pub struct Field<'a> {
    pub number: u64,
    pub raw: &'a [u8],
    pub payload: Option<&'a [u8]>,
}

fn varint(buf: &[u8], pos: &mut usize) -> PResult<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *buf.get(*pos).ok_or_else(|| PruneError::Wire("truncated varint".into()))?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(PruneError::Wire("varint longer than 10 bytes".into()))
}

fn skip(buf: &[u8], pos: &mut usize, n: usize) -> PResult<()> {
    let end =
        pos.checked_add(n).filter(|&e| e <= buf.len()).ok_or_else(|| PruneError::Wire("truncated field".into()))?;
    *pos = end;
    Ok(())
}

/// Splits a message into its fields, in file order.
pub fn fields(buf: &[u8]) -> PResult<Vec<Field<'_>>> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < buf.len() {
        let start = pos;
        let key = varint(buf, &mut pos)?;
        let payload = match key & 7 {
            0 => {
                varint(buf, &mut pos)?;
                None
            }
            1 => {
                skip(buf, &mut pos, 8)?;
                None
            }
            2 => {
                let len = usize::try_from(varint(buf, &mut pos)?)
                    .map_err(|_| PruneError::Wire("length does not fit in memory".into()))?;
                let from = pos;
                skip(buf, &mut pos, len)?;
                Some(&buf[from..pos])
            }
            5 => {
                skip(buf, &mut pos, 4)?;
                None
            }
            w => return Err(PruneError::Wire(format!("wire type {w} (groups) at byte {start}"))),
        };
        out.push(Field { number: key >> 3, raw: &buf[start..pos], payload });
    }
    Ok(out)
}

/// The payload of a length-delimited field, or an error naming what was expected.
pub fn payload<'a>(f: &Field<'a>, what: &str) -> PResult<&'a [u8]> {
    f.payload.ok_or_else(|| PruneError::Wire(format!("{what} (field {}) is not length-delimited", f.number)))
}

/// Appends a length-delimited field.
pub fn put_bytes(out: &mut Vec<u8>, number: u64, bytes: &[u8]) {
    prost::encoding::encode_varint((number << 3) | 2, out);
    prost::encoding::encode_varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_rejoins_every_wire_type() {
        let mut msg = Vec::new();
        prost::encoding::encode_varint(1 << 3, &mut msg); // field 1, varint
        prost::encoding::encode_varint(300, &mut msg);
        put_bytes(&mut msg, 7, b"abc");
        msg.extend_from_slice(&[(3 << 3) | 5, 1, 2, 3, 4]); // field 3, fixed32
        msg.extend_from_slice(&[(4 << 3) | 1, 1, 2, 3, 4, 5, 6, 7, 8]); // field 4, fixed64
        let f = fields(&msg).unwrap();
        assert_eq!(f.iter().map(|f| f.number).collect::<Vec<_>>(), [1, 7, 3, 4]);
        assert_eq!(f[1].payload, Some(&b"abc"[..]));
        assert_eq!(f.iter().flat_map(|f| f.raw.iter().copied()).collect::<Vec<_>>(), msg);
        assert!(fields(&msg[..msg.len() - 1]).is_err(), "truncated fixed64");
        assert!(fields(&[(1 << 3) | 3]).is_err(), "group wire type");
    }
}
