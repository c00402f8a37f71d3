//! Little-endian field encoding shared by the PLAN and METADATA sections (byteorder). Lengths
//! are u32 counts; a reader checks every count against the bytes left before allocating, so a
//! corrupted count is an error, never a huge allocation.

use super::format::{ImageError, SectionKind};
use byteorder::{ByteOrder, LittleEndian as LE};

#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub fn bool(&mut self, v: bool) {
        self.u8(v as u8);
    }
    pub fn u32(&mut self, v: u32) {
        let mut b = [0; 4];
        LE::write_u32(&mut b, v);
        self.buf.extend_from_slice(&b);
    }
    pub fn i32(&mut self, v: i32) {
        self.u32(v as u32);
    }
    pub fn u64(&mut self, v: u64) {
        let mut b = [0; 8];
        LE::write_u64(&mut b, v);
        self.buf.extend_from_slice(&b);
    }
    pub fn f32(&mut self, v: f32) {
        self.u32(v.to_bits());
    }
    /// A length or index that fits u32 by construction of what is encoded (tensor dims, counts).
    pub fn len(&mut self, v: usize) {
        self.u32(v as u32);
    }
    pub fn str(&mut self, s: &str) {
        self.len(s.len());
        self.buf.extend_from_slice(s.as_bytes());
    }
    pub fn bytes(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.buf.extend_from_slice(b);
    }
}

pub struct Reader<'a> {
    section: SectionKind,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(section: SectionKind, bytes: &'a [u8]) -> Self {
        Reader { section, bytes, pos: 0 }
    }

    pub fn err(&self, reason: impl Into<String>) -> ImageError {
        ImageError::Malformed { section: self.section, reason: reason.into() }
    }

    fn take(&mut self, n: usize, field: &str) -> Result<&'a [u8], ImageError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(self.err(format!("ends inside {field} (offset {}, {n} bytes needed)", self.pos)));
        };
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    pub fn u8(&mut self, field: &str) -> Result<u8, ImageError> {
        Ok(self.take(1, field)?[0])
    }
    pub fn bool(&mut self, field: &str) -> Result<bool, ImageError> {
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(self.err(format!("{field} = {v} is not a flag (0 or 1)"))),
        }
    }
    pub fn u32(&mut self, field: &str) -> Result<u32, ImageError> {
        Ok(LE::read_u32(self.take(4, field)?))
    }
    pub fn i32(&mut self, field: &str) -> Result<i32, ImageError> {
        Ok(self.u32(field)? as i32)
    }
    pub fn u64(&mut self, field: &str) -> Result<u64, ImageError> {
        Ok(LE::read_u64(self.take(8, field)?))
    }
    pub fn f32(&mut self, field: &str) -> Result<f32, ImageError> {
        Ok(f32::from_bits(self.u32(field)?))
    }
    pub fn usize(&mut self, field: &str) -> Result<usize, ImageError> {
        Ok(self.u32(field)? as usize)
    }
    /// A count of items of at least `min_item_bytes` each that must fit in what is left.
    pub fn count(&mut self, field: &str, min_item_bytes: usize) -> Result<usize, ImageError> {
        let n = self.usize(field)?;
        let left = self.bytes.len() - self.pos;
        if n.saturating_mul(min_item_bytes.max(1)) > left {
            return Err(self.err(format!("{field}: {n} items cannot fit in the {left} bytes left")));
        }
        Ok(n)
    }
    pub fn str(&mut self, field: &str) -> Result<String, ImageError> {
        let n = self.count(field, 1)?;
        let b = self.take(n, field)?;
        String::from_utf8(b.to_vec()).map_err(|_| self.err(format!("{field} is not UTF-8")))
    }
    pub fn bytes(&mut self, field: &str) -> Result<&'a [u8], ImageError> {
        let n = self.u64(field)?;
        let n = usize::try_from(n).map_err(|_| self.err(format!("{field}: length {n} too large")))?;
        self.take(n, field)
    }
    /// Fails unless every byte was consumed (a section with trailing bytes is corrupted).
    pub fn finish(self) -> Result<(), ImageError> {
        if self.pos != self.bytes.len() {
            return Err(self.err(format!("{} unread bytes at the end", self.bytes.len() - self.pos)));
        }
        Ok(())
    }
}
