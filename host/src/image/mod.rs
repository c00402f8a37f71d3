//! The packed image (`systole pack`): one little-endian file holding everything a driver needs
//! to run a model on an engine.
//!
//! * `format`: header, section table, section kinds, [`ImageError`].
//! * `codec`, `ir_codec`, `sections`: the PLAN and METADATA encodings.
//! * `writer`: [`Image::to_bytes`]; `reader`: [`Image::from_bytes`], which validates the file
//!   (size, magic, version, header and section CRCs, section bounds and overlaps) and decodes it.
//! * `device`: [`Image::check_device`], the checks against the engine it is loaded onto
//!   (config hash, device memory, DRAM overlaps, every descriptor, the schedule).
//! * `describe`: the human-readable dump of `systole inspect IMAGE.bin`.
//! * `tensors`: the weights, biases and requant parameters read back out of an image.

mod codec;
mod describe;
mod device;
mod format;
mod ir_codec;
mod reader;
mod sections;
pub mod tensors;
mod writer;

pub use describe::describe;
pub use format::{ImageError, SectionEntry, SectionKind, FORMAT_VERSION, MAGIC};

use crate::dram::DramLayout;
use crate::lower::partition::PartitionRow;
use crate::schedule::{IoBinding, Step};
use systole_model::ir::{Numerics, SourceFormat};

/// Where everything lives and what runs in which order.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub dram: DramLayout,
    pub steps: Vec<Step>,
    pub inputs: Vec<IoBinding>,
    pub outputs: Vec<IoBinding>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Metadata {
    pub model_name: String,
    pub source: SourceFormat,
    pub numerics: Numerics,
    /// The `arch.json` the image was packed for (its hash is the header's).
    pub arch_json: String,
    pub partition: Vec<PartitionRow>,
}

/// A decoded image.
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    pub config_hash: u32,
    /// Encoded descriptors, loaded at `plan.dram.program`.
    pub program: Vec<u8>,
    /// Weight tiles, loaded at `plan.dram.weights`.
    pub weights: Vec<u8>,
    /// Channel params and post-op records, loaded at `plan.dram.params`.
    pub params: Vec<u8>,
    pub plan: Plan,
    pub metadata: Metadata,
}

/// True when `bytes` start like an image (for CLIs that take models or images).
pub fn is_image(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC)
}
