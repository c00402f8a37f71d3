//! The functional model as an [`EngineModel`]: the sequencer's descriptor loop (fetch, decode,
//! check against the build, run, write the performance record) with values from the functional
//! layer code and cycle counts from `arch::timing` (an estimate until the exact formulas land;
//! the cycle model replaces it with its own counts).
//!
//! Failures are reported as the hardware would: the [`ErrorCode`] of STATUS and the failing
//! descriptor's position in the program (STATUS.LAYER = its LAYER_INDEX). A descriptor that decodes and fits the build
//! can only fail at run time on a DRAM access outside device memory, which the hardware sees as
//! an AXI error response: `DMA_ERROR`.

use super::dram::Dram;
use super::{conv, post};
use crate::engine::{EngineModel, LayerStats, RunFailure, RunStats};
use systole_arch::axi_timing::DramTiming;
use systole_arch::descriptor::{
    check_against_config, decode, DescriptorError, LayerPerf, DESCRIPTOR_BYTES, DESCRIPTOR_WORDS, PERF_WORD,
};
use systole_arch::regmap::{ErrorCode, DRAM_ALIGN};
use systole_arch::timing::{layer_timing, program_timing};
use systole_arch::{ArchConfig, LayerDescriptor, Opcode};

/// The functional engine for one build (`cfg`) and DRAM timing.
#[derive(Clone, Debug)]
pub struct FunctionalEngine {
    cfg: ArchConfig,
    timing: DramTiming,
}

impl FunctionalEngine {
    pub fn new(cfg: &ArchConfig, timing: DramTiming) -> FunctionalEngine {
        FunctionalEngine { cfg: cfg.clone(), timing }
    }

    pub fn config(&self) -> &ArchConfig {
        &self.cfg
    }
}

/// The STATUS error code of a descriptor the sequencer rejects.
pub fn error_code(e: &DescriptorError) -> ErrorCode {
    match e {
        DescriptorError::BadMagic { .. } | DescriptorError::Length { .. } => ErrorCode::BadMagic,
        DescriptorError::BadVersion { .. } => ErrorCode::BadVersion,
        DescriptorError::Checksum { .. } => ErrorCode::BadChecksum,
        DescriptorError::BadOpcode { .. } => ErrorCode::BadOpcode,
        DescriptorError::Unsupported { .. } => ErrorCode::Unsupported,
        // Address fields are only ever rejected for their alignment.
        DescriptorError::Field { field, .. } if field.contains("ADDR") => ErrorCode::BadAlignment,
        DescriptorError::Field { .. }
        | DescriptorError::Reserved { .. }
        | DescriptorError::Plan { .. }
        | DescriptorError::PostParams { .. } => ErrorCode::BadGeometry,
    }
}

impl FunctionalEngine {
    fn fetch(&self, dram: &Dram, addr: u64, layer: u32) -> Result<LayerDescriptor, RunFailure> {
        let fail = |code: ErrorCode, reason: String| RunFailure { code, layer, reason, cycles: 0 };
        let words = dram.read_words(addr, DESCRIPTOR_WORDS).map_err(|e| fail(ErrorCode::DmaError, e.to_string()))?;
        let d = decode(&words).map_err(|e| fail(error_code(&e), e.to_string()))?;
        check_against_config(&d, &self.cfg).map_err(|e| fail(error_code(&e), e.to_string()))?;
        Ok(d)
    }

    fn write_perf(dram: &mut Dram, addr: u64, perf: &LayerPerf) -> Result<(), String> {
        let (c, s) = (perf.cycles, perf.dma_stall_cycles);
        let words = [c as u32, (c >> 32) as u32, s as u32, (s >> 32) as u32];
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        dram.write(addr + (PERF_WORD * 4) as u64, &bytes).map_err(|e| e.to_string())
    }
}

impl EngineModel for FunctionalEngine {
    fn run_program(
        &mut self,
        dram: &mut Dram,
        program_base: u64,
        max_descriptors: u32,
    ) -> Result<RunStats, RunFailure> {
        if !program_base.is_multiple_of(DRAM_ALIGN) {
            return Err(RunFailure {
                code: ErrorCode::BadAlignment,
                layer: 0,
                reason: format!("PROGRAM_BASE {program_base:#x} is not {DRAM_ALIGN}-byte aligned"),
                cycles: 0,
            });
        }
        let mut layers = Vec::new();
        let mut descs = Vec::new();
        let mut cycles = 0u64;
        // STATUS.LAYER is the failing descriptor's LAYER_INDEX (its position in the program);
        // a descriptor that does not decode has none, so it gets the previous one's + 1 (the
        // run's own position, from PROGRAM_BASE, when it is the first).
        let mut next_layer = None::<u32>;
        for index in 0..max_descriptors {
            // PROGRAM_BASE comes from a register: wrap as the address counter would, never panic.
            let addr = program_base.wrapping_add(index as u64 * DESCRIPTOR_BYTES as u64);
            let guess = next_layer.unwrap_or(index);
            let d = self.fetch(dram, addr, guess).map_err(|f| RunFailure { cycles, ..f })?;
            let layer = d.layer_index as u32;
            next_layer = Some(layer + 1);
            let opcode = d.opcode.unwrap_or(Opcode::End);
            if opcode == Opcode::End {
                let t = program_timing(&descs, &self.cfg, &self.timing).map_err(|e| RunFailure {
                    code: ErrorCode::BadGeometry,
                    layer,
                    reason: e.to_string(),
                    cycles,
                })?;
                return Ok(RunStats {
                    total_cycles: t.total_cycles,
                    busy_cycles: t.busy_cycles,
                    dma_stall_cycles: t.dma_stall_cycles,
                    layers,
                });
            }
            let so_far = cycles;
            let dma = move |reason: String| RunFailure { code: ErrorCode::DmaError, layer, reason, cycles: so_far };
            match opcode {
                Opcode::Conv => conv::run_conv(dram, &d, &self.cfg),
                _ => post::run_post(dram, &d),
            }
            .map_err(|r| dma(format!("{}: {r}", opcode.name())))?;
            let timing = layer_timing(&d, &self.cfg, &self.timing).map_err(|e| RunFailure {
                code: ErrorCode::BadGeometry,
                layer,
                reason: e.to_string(),
                cycles,
            })?;
            cycles += timing.cycles;
            let perf = LayerPerf { cycles: timing.cycles, dma_stall_cycles: timing.dma_stall_cycles };
            Self::write_perf(dram, addr, &perf).map_err(dma)?;
            layers.push(LayerStats { index, opcode, timing });
            descs.push(d);
        }
        Err(RunFailure {
            code: ErrorCode::ProgramOverrun,
            layer: next_layer.map_or(max_descriptors, |l| l.saturating_sub(1)),
            reason: format!("no END within PROGRAM_COUNT = {max_descriptors} descriptors"),
            cycles,
        })
    }
}
