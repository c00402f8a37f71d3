//! The cycle-level engine model: runs descriptors from DRAM as the generated engine does, with
//! the RTL's values and the RTL's cycle counts.
//!
//! * Control: the sequencer's fetch / decode / check of every descriptor (`crate::sequencer`,
//!   the RTL's error codes with the failing descriptor's index), `PROGRAM_COUNT` overrun, the
//!   per-layer performance record written into words 60..63 of the descriptor in DRAM.
//! * Values: the per-layer executors of the functional model (`functional::execute_layer`),
//!   bit-exact with the reference executor.
//! * Time: every number comes from `arch::timing` (`layer_timing`, `program_timing`), the one
//!   timing definition the RTL is checked against in Verilator. This module adds no timing
//!   formula of its own; where `arch::timing` still returns `TimingSource::Estimate` for a
//!   layer, so does the model (each [`LayerReport`] says which).
//!
//! [`report`] turns a run's [`RunStats`] into per-layer rows (cycles, MACs, MAC utilisation,
//! DMA stall cycles, DRAM bytes).

pub mod report;
pub mod scalesim;

pub use report::{LayerReport, RunReport};

use crate::engine::{EngineModel, LayerStats, RunFailure, RunStats};
use crate::functional::{execute_layer, read_zero_mask, Dram};
use crate::sequencer::{self, Fault};
use systole_arch::axi_timing::DramTiming;
use systole_arch::descriptor::LayerPerf;
use systole_arch::regmap::ErrorCode;
use systole_arch::timing::{program_timing_at_masked, LayerTiming};
use systole_arch::zero_mask::ZeroMask;
use systole_arch::{ArchConfig, ConfigError, LayerDescriptor, Opcode};

/// One generated engine (`ArchConfig`) on one DRAM (`DramTiming`).
#[derive(Clone, Debug)]
pub struct CycleModel {
    cfg: ArchConfig,
    dram: DramTiming,
}

impl CycleModel {
    pub fn new(cfg: &ArchConfig, dram: DramTiming) -> Result<CycleModel, ConfigError> {
        cfg.validate()?;
        Ok(CycleModel { cfg: cfg.clone(), dram })
    }

    pub fn config(&self) -> &ArchConfig {
        &self.cfg
    }

    pub fn dram_timing(&self) -> DramTiming {
        self.dram
    }

    /// The timing of the layer whose descriptor is at `addr` (its fetch depends on the address:
    /// a descriptor straddling a 4 KB boundary is read in two bursts).
    fn timing(&self, addr: u64, d: &LayerDescriptor, mask: Option<ZeroMask>) -> Result<LayerTiming, Fault> {
        let t = program_timing_at_masked(addr, std::slice::from_ref(d), &[mask], &self.cfg, &self.dram)
            .map_err(|e| Fault::new(ErrorCode::BadGeometry, e.to_string()))?;
        t.layers.first().copied().ok_or_else(|| Fault::new(ErrorCode::BadGeometry, "no layer timing"))
    }

    /// Runs one layer: values into `dram`, timing from `arch::timing` (with the zero-tile mask
    /// the layer reads, if any), perf record written.
    fn layer(
        &self,
        dram: &mut Dram,
        base: u64,
        index: u32,
        d: &LayerDescriptor,
        mask: Option<ZeroMask>,
    ) -> Result<LayerStats, Fault> {
        execute_layer(dram, d, &self.cfg)?;
        let timing = self.timing(sequencer::descriptor_addr(base, index)?, d, mask)?;
        let perf = LayerPerf { cycles: timing.cycles, dma_stall_cycles: timing.dma_stall_cycles };
        sequencer::write_perf(dram, base, index, &perf)?;
        Ok(LayerStats { index, opcode: d.opcode.unwrap_or(Opcode::End), timing })
    }
}

impl EngineModel for CycleModel {
    fn run_program(
        &mut self,
        dram: &mut Dram,
        program_base: u64,
        max_descriptors: u32,
    ) -> Result<RunStats, RunFailure> {
        let mut layers: Vec<LayerStats> = Vec::new();
        let mut descriptors = Vec::new();
        let mut masks = Vec::new();
        // Cycles until a failure: the layers that completed (the failing descriptor's own
        // fetch and check are not in `arch::timing` yet).
        let fail = |layer: u32, f: Fault, done: &[LayerStats]| RunFailure {
            code: f.code,
            layer,
            reason: f.reason,
            cycles: done.iter().map(|l| l.timing.cycles).sum(),
        };
        sequencer::check_start(program_base, max_descriptors).map_err(|f| fail(0, f, &layers))?;
        for index in 0..max_descriptors {
            let d = sequencer::fetch(dram, program_base, index, &self.cfg).map_err(|f| fail(index, f, &layers))?;
            if d.opcode == Some(Opcode::End) {
                let t = program_timing_at_masked(program_base, &descriptors, &masks, &self.cfg, &self.dram)
                    .map_err(|e| fail(index, Fault::new(ErrorCode::BadGeometry, e.to_string()), &layers))?;
                return Ok(RunStats {
                    total_cycles: t.total_cycles,
                    busy_cycles: t.busy_cycles,
                    dma_stall_cycles: t.dma_stall_cycles,
                    layers,
                });
            }
            // The mask is read before the layer runs (a layer may overwrite DRAM, never weights).
            let mask = read_zero_mask(dram, &d, &self.cfg).map_err(|f| fail(index, f, &layers))?;
            let stats = self.layer(dram, program_base, index, &d, mask.clone()).map_err(|f| fail(index, f, &layers))?;
            layers.push(stats);
            descriptors.push(d);
            masks.push(mask);
        }
        let reason = format!("no END within PROGRAM_COUNT = {max_descriptors} descriptors");
        Err(fail(max_descriptors, Fault::new(ErrorCode::ProgramOverrun, reason), &layers))
    }
}
