//! Reading an image: every check that needs only the file, in the order that names the real
//! fault (a truncated file is reported as truncated, not as a CRC mismatch).

use super::format::*;
use super::sections::{decode_metadata, decode_plan};
use super::{Image, Metadata, Plan};
use byteorder::{ByteOrder, LittleEndian as LE};

/// The validated header: config hash and section table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub version: u32,
    pub config_hash: u32,
    pub file_bytes: u64,
    pub sections: Vec<SectionEntry>,
}

/// Checks size, magic, version, the header CRC and the section table (bounds, alignment,
/// overlaps, duplicates, unknown kinds). Section contents are not checked here.
pub fn read_header(bytes: &[u8]) -> Result<Header, ImageError> {
    let have = bytes.len() as u64;
    if bytes.len() < HEADER_FIXED_BYTES {
        // Name the magic first when even that is wrong: a text file is not a "truncated image".
        if bytes.len() >= 8 && bytes[..8] != MAGIC {
            let found = bytes[..8].try_into().unwrap_or([0; 8]);
            return Err(ImageError::BadMagic { found });
        }
        return Err(ImageError::Truncated { what: "header", needed: HEADER_FIXED_BYTES as u64, have });
    }
    if bytes[..8] != MAGIC {
        return Err(ImageError::BadMagic { found: bytes[..8].try_into().unwrap_or([0; 8]) });
    }
    let version = LE::read_u32(&bytes[8..]);
    if version != FORMAT_VERSION {
        return Err(ImageError::UnknownVersion { found: version });
    }
    let header_bytes = LE::read_u32(&bytes[12..]) as u64;
    let config_hash = LE::read_u32(&bytes[16..]);
    let count = LE::read_u32(&bytes[20..]);
    let file_bytes = LE::read_u64(&bytes[24..]);
    if count > MAX_SECTIONS {
        return Err(ImageError::BadHeader {
            field: "section count",
            value: count as u64,
            reason: "more sections than any image has",
        });
    }
    if header_bytes != (HEADER_FIXED_BYTES + count as usize * SECTION_ENTRY_BYTES) as u64 {
        return Err(ImageError::BadHeader {
            field: "header bytes",
            value: header_bytes,
            reason: "must be 48 + 32 * section count",
        });
    }
    if have < header_bytes {
        return Err(ImageError::Truncated { what: "section table", needed: header_bytes, have });
    }
    if have < file_bytes {
        return Err(ImageError::Truncated { what: "file", needed: file_bytes, have });
    }
    if have > file_bytes {
        return Err(ImageError::TrailingData { declared: file_bytes, have });
    }
    let mut header = bytes[..header_bytes as usize].to_vec();
    let stored = LE::read_u32(&header[HEADER_CRC_OFFSET..]);
    LE::write_u32(&mut header[HEADER_CRC_OFFSET..], 0);
    let computed = crc32fast::hash(&header);
    if stored != computed {
        return Err(ImageError::HeaderCrc { stored, computed });
    }

    let mut sections: Vec<SectionEntry> = Vec::with_capacity(count as usize);
    for index in 0..count as usize {
        let at = HEADER_FIXED_BYTES + index * SECTION_ENTRY_BYTES;
        let code = LE::read_u32(&bytes[at..]);
        let kind = SectionKind::from_code(code).ok_or(ImageError::UnknownSection { index, kind: code })?;
        let e = SectionEntry {
            kind,
            offset: LE::read_u64(&bytes[at + 8..]),
            size: LE::read_u64(&bytes[at + 16..]),
            crc32: LE::read_u32(&bytes[at + 24..]),
        };
        if sections.iter().any(|s| s.kind == kind) {
            return Err(ImageError::DuplicateSection(kind));
        }
        let end = e.offset.checked_add(e.size);
        if end.is_none_or(|end| end > file_bytes) {
            return Err(ImageError::SectionOutOfFile { section: kind, offset: e.offset, size: e.size, file_bytes });
        }
        if !e.offset.is_multiple_of(SECTION_ALIGN) {
            return Err(ImageError::SectionUnaligned { section: kind, offset: e.offset });
        }
        if e.size > 0 && e.offset < header_bytes {
            return Err(ImageError::SectionOverlap { a: "header".into(), b: kind.name().into() });
        }
        if let Some(o) = sections
            .iter()
            .find(|s| s.size > 0 && e.size > 0 && s.offset < e.offset + e.size && e.offset < s.offset + s.size)
        {
            return Err(ImageError::SectionOverlap { a: o.kind.name().into(), b: kind.name().into() });
        }
        sections.push(e);
    }
    Ok(Header { version, config_hash, file_bytes, sections })
}

/// The bytes of section `kind`, CRC-checked.
fn section<'a>(bytes: &'a [u8], header: &Header, kind: SectionKind) -> Result<&'a [u8], ImageError> {
    let e = header.sections.iter().find(|s| s.kind == kind).ok_or(ImageError::MissingSection(kind))?;
    // Bounds were checked against the file size, which equals `bytes.len()`.
    let body = &bytes[e.offset as usize..(e.offset + e.size) as usize];
    let computed = crc32fast::hash(body);
    if computed != e.crc32 {
        return Err(ImageError::CrcMismatch { section: kind, stored: e.crc32, computed });
    }
    Ok(body)
}

impl Image {
    /// Validates and decodes an image file. Checks everything the file alone can tell; the
    /// checks against a particular engine are [`Image::check_device`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Image, ImageError> {
        let header = read_header(bytes)?;
        for kind in SectionKind::ALL {
            section(bytes, &header, kind)?;
        }
        let get = |kind| section(bytes, &header, kind);
        let plan: Plan = decode_plan(get(SectionKind::Plan)?)?;
        let metadata: Metadata = decode_metadata(get(SectionKind::Metadata)?)?;
        let image = Image {
            config_hash: header.config_hash,
            program: get(SectionKind::Program)?.to_vec(),
            weights: get(SectionKind::Weights)?.to_vec(),
            params: get(SectionKind::Params)?.to_vec(),
            plan,
            metadata,
        };
        image.check_consistency()?;
        Ok(image)
    }
}
