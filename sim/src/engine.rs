//! The interface between a simulated engine and the device front end that hosts it.
//!
//! The device front end (register file = `systole_arch::regfile::BankModel`, device memory, the
//! START / DONE / IRQ protocol) is the same for every simulated engine; what differs is how a
//! run of descriptors is executed. An [`EngineModel`] executes one engine run exactly as the
//! sequencer does (descriptors read from DRAM from `program_base`, at most `max_descriptors` of
//! them, END included), writes every layer's performance record into words 60..63 of its
//! descriptor in DRAM (`descriptor::LayerPerf`), and says how long the run took.

use crate::functional::Dram;
use systole_arch::regmap::ErrorCode;
use systole_arch::timing::LayerTiming;
use systole_arch::Opcode;

/// One layer of a finished run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerStats {
    /// Descriptor index from `program_base`.
    pub index: u32,
    pub opcode: Opcode,
    pub timing: LayerTiming,
}

/// What the engine's performance registers read after a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunStats {
    /// START to DONE (`TOTAL_CYCLES`).
    pub total_cycles: u64,
    /// `BUSY_CYCLES`.
    pub busy_cycles: u64,
    /// `DMA_STALL_CYCLES`.
    pub dma_stall_cycles: u64,
    /// Layers before END, in order.
    pub layers: Vec<LayerStats>,
}

/// A run that stopped on an error, as STATUS reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunFailure {
    pub code: ErrorCode,
    /// Descriptor index that failed (STATUS.LAYER).
    pub layer: u32,
    /// Human-readable cause (not visible to a real driver; for logs and tests).
    pub reason: String,
    /// Cycles until the engine stopped.
    pub cycles: u64,
}

/// One engine run on a simulated engine.
pub trait EngineModel {
    /// Executes descriptors from `program_base` until END (at most `max_descriptors`, END
    /// included), updating `dram` as the hardware would.
    fn run_program(&mut self, dram: &mut Dram, program_base: u64, max_descriptors: u32)
        -> Result<RunStats, RunFailure>;
}
