//! Writing an image: header, section table, then each section on a 64-byte boundary.

use super::format::*;
use super::sections::{encode_metadata, encode_plan};
use super::Image;
use byteorder::{ByteOrder, LittleEndian as LE};

fn align(x: u64) -> u64 {
    x.div_ceil(SECTION_ALIGN) * SECTION_ALIGN
}

impl Image {
    /// The image file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let plan = encode_plan(&self.plan);
        let meta = encode_metadata(&self.metadata);
        let bodies: [(SectionKind, &[u8]); 5] = [
            (SectionKind::Program, &self.program),
            (SectionKind::Weights, &self.weights),
            (SectionKind::Params, &self.params),
            (SectionKind::Plan, &plan),
            (SectionKind::Metadata, &meta),
        ];
        let header_bytes = HEADER_FIXED_BYTES + bodies.len() * SECTION_ENTRY_BYTES;
        let mut entries = Vec::with_capacity(bodies.len());
        let mut offset = align(header_bytes as u64);
        for (kind, body) in &bodies {
            entries.push(SectionEntry { kind: *kind, offset, size: body.len() as u64, crc32: crc32fast::hash(body) });
            offset = align(offset + body.len() as u64);
        }
        let file_bytes = entries.last().map_or(header_bytes as u64, |e| e.offset + e.size);
        let mut out = vec![0u8; file_bytes as usize];
        out[..8].copy_from_slice(&MAGIC);
        LE::write_u32(&mut out[8..], FORMAT_VERSION);
        LE::write_u32(&mut out[12..], header_bytes as u32);
        LE::write_u32(&mut out[16..], self.config_hash);
        LE::write_u32(&mut out[20..], entries.len() as u32);
        LE::write_u64(&mut out[24..], file_bytes);
        for (i, e) in entries.iter().enumerate() {
            let at = HEADER_FIXED_BYTES + i * SECTION_ENTRY_BYTES;
            LE::write_u32(&mut out[at..], e.kind as u32);
            LE::write_u64(&mut out[at + 8..], e.offset);
            LE::write_u64(&mut out[at + 16..], e.size);
            LE::write_u32(&mut out[at + 24..], e.crc32);
        }
        let crc = crc32fast::hash(&out[..header_bytes]);
        LE::write_u32(&mut out[HEADER_CRC_OFFSET..], crc);
        for (e, (_, body)) in entries.iter().zip(&bodies) {
            out[e.offset as usize..][..body.len()].copy_from_slice(body);
        }
        out
    }
}
