//! What `systole generate` builds for a model, as one library call: the sizing on the
//! generator's grid (`blocks::top::generator_sizing_options`), fitted to the sizes the top is
//! monomorphised for (`fit_to_generator`), and the DRAM timing the sizing assumed. The CLI
//! (`generate`, `simulate`) and the model suites (tests/models.rs, the RTL benchmark) all call
//! this, so a test sizes its engine exactly as a user's `systole generate` does.

use crate::blocks::top::{fit_to_generator, generator_sizing_options};
use systole_arch::axi_timing::{DramTiming, TimingError};
use systole_arch::{size_model, ArchConfig, Budget, DramModel, SizingError, SizingReport};
use systole_model::ir::Graph;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum GeneratorSizingError {
    /// The budget and the reason are in `source` (printed by the error chain, not repeated here).
    #[error("sizing an engine for {model}")]
    Sizing { model: String, source: SizingError },
    #[error("the DRAM model of the sizing: {0}")]
    Dram(#[from] TimingError),
}

/// The engine `systole generate` emits for a model.
#[derive(Clone, Debug)]
pub struct GeneratedEngine {
    /// The sizing decision (chosen shape, runners-up, DRAM model), as the report prints it.
    pub sizing: SizingReport,
    /// The configuration of the emitted top (`sizing.config()` with the activation buffer
    /// rounded up to a size the generator builds).
    pub config: ArchConfig,
    /// The sizing's DRAM as the DMA's cycle model sees it.
    pub dram: DramTiming,
}

/// Sizes the engine for `graph` under `budget` on the generator's grid.
pub fn size_for_generator(graph: &Graph, budget: &Budget) -> Result<GeneratedEngine, GeneratorSizingError> {
    let sizing = size_model(graph, budget, &generator_sizing_options())
        .map_err(|source| GeneratorSizingError::Sizing { model: graph.name.clone(), source })?;
    let config = fit_to_generator(sizing.config());
    let dram = dram_timing(&config, &sizing.dram)?;
    Ok(GeneratedEngine { sizing, config, dram })
}

/// A DRAM of `dram.bytes_per_cycle` and `dram.latency_cycles` as fixed-latency AXI timing for
/// `cfg`'s DMA width: one beat every ceil(beat bytes / bytes per cycle) cycles.
pub fn dram_timing(cfg: &ArchConfig, dram: &DramModel) -> Result<DramTiming, TimingError> {
    let beat = cfg.dma_bytes().max(1) as u64;
    let interval = beat.div_ceil(dram.bytes_per_cycle.max(1) as u64).max(1);
    DramTiming::new(dram.latency_cycles.max(1) as u64, interval)
}
