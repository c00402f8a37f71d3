//! `pack`: lower a graph, place it in device memory, and assemble the image.

use crate::dram::{place, DramError};
use crate::image::{Image, Metadata, Plan};
use crate::lower::{lower, LowerError};
use systole_arch::ArchConfig;
use systole_model::ir::Graph;
use thiserror::Error;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PackOptions {
    /// Device address of the first byte of the plan (64-byte aligned).
    pub dram_base: u64,
}

#[derive(Debug, Error)]
pub enum PackError {
    #[error(transparent)]
    Lower(#[from] LowerError),
    #[error("DRAM plan: {0}")]
    Dram(#[from] DramError),
}

/// Packs `graph` for the engine `cfg` describes.
pub fn pack(graph: &Graph, cfg: &ArchConfig, options: PackOptions) -> Result<Image, PackError> {
    let lowered = lower(graph, cfg)?;
    let placed = place(&lowered, options.dram_base)?;
    Ok(Image {
        config_hash: cfg.config_hash(),
        program: placed.program,
        weights: placed.weights,
        params: placed.params,
        plan: Plan { dram: placed.layout, steps: placed.steps, inputs: lowered.inputs, outputs: lowered.outputs },
        metadata: Metadata {
            model_name: graph.name.clone(),
            source: graph.source,
            numerics: graph.numerics,
            arch_json: cfg.to_json(),
            partition: lowered.partition,
        },
    })
}
