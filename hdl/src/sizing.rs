//! What `systole generate` builds for a model, as one library call: the sizing on the
//! generator's grid (`blocks::top::generator_sizing_options`), fitted to the sizes the top is
//! monomorphised for (`fit_to_generator`), and the DRAM timing the sizing assumed. The CLI
//! (`generate`, `simulate`) and the model suites (tests/models.rs, the RTL benchmark) all call
//! this, so a test sizes its engine exactly as a user's `systole generate` does.

use crate::blocks::top::{fit_to_generator, generator_sizing_options};
use systole_arch::axi_timing::{DramTiming, TimingError};
use systole_arch::config::MAX_ZERO_SKIP_TILES;
use systole_arch::plan::plan_conv;
use systole_arch::timing::program_timing_at_masked;
use systole_arch::Opcode;
use systole_arch::{size_model, ArchConfig, Budget, DramModel, SizingError, SizingReport};
use systole_host::{pack, PackOptions};
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
    let mut config = fit_to_generator(sizing.config());
    let dram = dram_timing(&config, &sizing.dram)?;
    config.zero_skip_tiles = zero_skip_tiles(graph, &config, &dram);
    Ok(GeneratedEngine { sizing, config, dram })
}

/// The mask size of zero-tile skipping for `graph` on `cfg` with DRAM `dram` (docs/ENGINE.md
/// "Zero-tile skipping"): the k-tiles of the longest o-tile among the layers with zero tiles,
/// rounded up to whole DMA beats (the record is read in whole beats, so the rounding costs no
/// reads), when skipping makes the whole program faster (`arch::timing`, exact: each skipping
/// o-tile pays one mask read); else 0, so the engine is built without the feature and a dense
/// model gets exactly the engine it got before. Found by packing the model for an engine with
/// the largest mask; a model the packer refuses gets 0 (its own pack reports why).
pub fn zero_skip_tiles(graph: &Graph, cfg: &ArchConfig, dram: &DramTiming) -> u32 {
    let dense = ArchConfig { zero_skip_tiles: 0, ..cfg.clone() };
    let trial = ArchConfig { zero_skip_tiles: MAX_ZERO_SKIP_TILES, ..cfg.clone() };
    let Some(image) = pack(graph, &trial, PackOptions::default()).ok() else { return 0 };
    let Ok(descriptors) = image.descriptors() else { return 0 };
    let longest = descriptors
        .iter()
        .filter(|d| d.zero_skip)
        .filter_map(|d| plan_conv(&d.conv_geometry(), &trial).ok())
        .flat_map(|plan| plan.o_tiles.into_iter().map(|o| o.k_tiles.len() as u32))
        .max();
    let beat_bits = cfg.dma_data_bits.max(8);
    let Some(tiles) = longest.map(|n| (n.div_ceil(beat_bits) * beat_bits).min(MAX_ZERO_SKIP_TILES)) else {
        return 0;
    };
    let skipping = ArchConfig { zero_skip_tiles: tiles, ..cfg.clone() };
    match (engine_cycles(graph, &dense, dram), engine_cycles(graph, &skipping, dram)) {
        (Some(without), Some(with)) if with < without => tiles,
        _ => 0,
    }
}

/// Engine cycles of `graph` packed for `cfg`: `arch::timing`'s program timing of its engine
/// layers with their zero-tile masks (the runs' END descriptors left out: they cost the same
/// with or without skipping).
fn engine_cycles(graph: &Graph, cfg: &ArchConfig, dram: &DramTiming) -> Option<u64> {
    let image = pack(graph, cfg, PackOptions::default()).ok()?;
    let mut layers = Vec::new();
    let mut masks = Vec::new();
    for (i, d) in image.descriptors().ok()?.into_iter().enumerate() {
        if d.opcode.is_some_and(|o| o != Opcode::End) {
            masks.push(image.zero_mask(i, &d).ok()?);
            layers.push(d);
        }
    }
    Some(program_timing_at_masked(0, &layers, &masks, cfg, dram).ok()?.total_cycles)
}

/// A DRAM of `dram.bytes_per_cycle` and `dram.latency_cycles` as fixed-latency AXI timing for
/// `cfg`'s DMA width: one beat every ceil(beat bytes / bytes per cycle) cycles.
pub fn dram_timing(cfg: &ArchConfig, dram: &DramModel) -> Result<DramTiming, TimingError> {
    let beat = cfg.dma_bytes().max(1) as u64;
    let interval = beat.div_ceil(dram.bytes_per_cycle.max(1) as u64).max(1);
    DramTiming::new(dram.latency_cycles.max(1) as u64, interval)
}
