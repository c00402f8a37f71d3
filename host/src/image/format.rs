//! The image's fixed layout: header, section table, section kinds, and the load errors.
//!
//! ```text
//! offset  bytes  field (little-endian)
//!      0      8  magic "\x89SYSTOL\n" (the high byte and the newline catch text-mode copies)
//!      8      4  format version (FORMAT_VERSION)
//!     12      4  header bytes = 48 + 32 * sections
//!     16      4  arch config hash (ArchConfig::config_hash of the engine the image is for)
//!     20      4  number of sections
//!     24      8  file bytes
//!     32      4  CRC32 of the header bytes with this field zero
//!     36     12  reserved, 0
//!     48   32*n  section table: kind u32, flags u32 (0), offset u64, size u64, crc32 u32, reserved u32
//! ```
//! Sections follow at 64-byte aligned offsets (the weights can be DMA'd from a mapped file).

use std::fmt;
use thiserror::Error;

pub const MAGIC: [u8; 8] = *b"\x89SYSTOL\n";
pub const FORMAT_VERSION: u32 = 1;
pub const HEADER_FIXED_BYTES: usize = 48;
pub const SECTION_ENTRY_BYTES: usize = 32;
pub const HEADER_CRC_OFFSET: usize = 32;
/// More sections than this is a corrupted count, not an image.
pub const MAX_SECTIONS: u32 = 64;
pub const SECTION_ALIGN: u64 = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SectionKind {
    /// The encoded layer descriptors, loaded at the plan's program address.
    Program = 1,
    /// Weight tiles of every CONV layer, loaded at the plan's weights address.
    Weights = 2,
    /// Channel params and post-op records, loaded at the plan's params address.
    Params = 3,
    /// DRAM plan, schedule (engine runs and host steps) and I/O bindings.
    Plan = 4,
    /// Model name, numerics, the arch.json copy, the partition table.
    Metadata = 5,
}

impl SectionKind {
    pub const ALL: [SectionKind; 5] =
        [SectionKind::Program, SectionKind::Weights, SectionKind::Params, SectionKind::Plan, SectionKind::Metadata];

    pub fn from_code(code: u32) -> Option<SectionKind> {
        SectionKind::ALL.into_iter().find(|k| *k as u32 == code)
    }

    pub fn name(self) -> &'static str {
        match self {
            SectionKind::Program => "PROGRAM",
            SectionKind::Weights => "WEIGHTS",
            SectionKind::Params => "PARAMS",
            SectionKind::Plan => "PLAN",
            SectionKind::Metadata => "METADATA",
        }
    }
}

impl fmt::Display for SectionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One row of the section table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SectionEntry {
    pub kind: SectionKind,
    pub offset: u64,
    pub size: u64,
    pub crc32: u32,
}

/// Everything that can be wrong with an image file or with loading it onto a device. Each
/// variant names the section, field or region at fault.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ImageError {
    #[error("image is truncated: the {what} needs {needed} bytes, the file has {have}")]
    Truncated { what: &'static str, needed: u64, have: u64 },
    #[error("not a systole image: magic {found:02x?}, expected {MAGIC:02x?}")]
    BadMagic { found: [u8; 8] },
    #[error("image format version {found}; this build reads version {FORMAT_VERSION}")]
    UnknownVersion { found: u32 },
    #[error("header field {field} = {value}: {reason}")]
    BadHeader { field: &'static str, value: u64, reason: &'static str },
    #[error("file has {have} bytes but its header says {declared}: trailing data after the image")]
    TrailingData { declared: u64, have: u64 },
    #[error("header CRC32 mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    HeaderCrc { stored: u32, computed: u32 },
    #[error("section table entry {index}: unknown section kind {kind}")]
    UnknownSection { index: usize, kind: u32 },
    #[error("section {0} appears twice in the section table")]
    DuplicateSection(SectionKind),
    #[error("section {0} is missing")]
    MissingSection(SectionKind),
    #[error("section {section} [{offset:#x}, +{size:#x}) lies outside the {file_bytes}-byte file")]
    SectionOutOfFile { section: SectionKind, offset: u64, size: u64, file_bytes: u64 },
    #[error("section {section} at {offset:#x} is not {SECTION_ALIGN}-byte aligned")]
    SectionUnaligned { section: SectionKind, offset: u64 },
    #[error("sections {a} and {b} overlap")]
    SectionOverlap { a: String, b: String },
    #[error("section {section}: CRC32 mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    CrcMismatch { section: SectionKind, stored: u32, computed: u32 },
    #[error("section {section}: {reason}")]
    Malformed { section: SectionKind, reason: String },
    #[error(
        "image was packed for architecture config hash {image:#010x}, the bitstream's is {bitstream:#010x}: \
         re-pack the model for this arch.json"
    )]
    ConfigHashMismatch { image: u32, bitstream: u32 },
    #[error("{region} [{addr:#x}, {end:#x}) exceeds device memory of {device_bytes:#x} bytes")]
    ExceedsDeviceMemory { region: String, addr: u64, end: u64, device_bytes: u64 },
    #[error("DRAM plan: {a} and {b} overlap")]
    DramOverlap { a: String, b: String },
    #[error("DRAM plan: {region} is outside the plan's [{base:#x}, {end:#x})")]
    OutsidePlan { region: String, base: u64, end: u64 },
    #[error("descriptor {index}: {reason}")]
    Descriptor { index: usize, reason: String },
    #[error("schedule step {step}: {reason}")]
    Schedule { step: usize, reason: String },
}
