//! The engine's timing: how many clock cycles each layer of a program takes on the generated
//! RTL, given the DRAM it talks to. The cycle model (`sim`) takes its cycle counts from here, the
//! RTL co-simulation checks them (zero tolerance), and the report quotes them.
//!
//! Interface contract (used by `sim::cycle`, `systole simulate`, the benchmarks):
//! * [`layer_timing`] gives one layer's [`LayerTiming`], the same numbers the engine writes into
//!   the layer's performance record (`descriptor::LayerPerf`): `cycles` from the sequencer's
//!   first descriptor read to the layer's last write response, `dma_stall_cycles` of them
//!   spent waiting for DMA.
//! * [`program_timing`] adds the END descriptor and the start / done overhead, giving the
//!   `BUSY_CYCLES` of one engine run (START to DONE; `TOTAL_CYCLES` is free-running).
//!
//! `TimingSource` says where a number comes from: `Exact` formulas are the RTL's sequencer
//! (checked in Verilator on every layer the test suite runs); `Estimate` falls back to the
//! analytic sizing model (`cycles`) for layers whose RTL path does not exist yet.

pub mod post;
pub mod seq;

use crate::axi_timing::DramTiming;
use crate::axi_timing::TimingError;
use crate::config::ArchConfig;
use crate::cycles::{self, DramModel};
use crate::descriptor::LayerDescriptor;
use crate::plan::{plan_conv, PlanError};
use crate::zero_mask::ZeroMask;
use crate::Opcode;
use serde::{Deserialize, Serialize};

pub mod conv;

/// Where a cycle count comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimingSource {
    /// The RTL's own timing, verified against Verilator.
    Exact,
    /// The analytic estimate of `cycles` (no RTL path for this layer yet).
    Estimate,
}

/// One layer, as the engine counts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerTiming {
    pub cycles: u64,
    pub dma_stall_cycles: u64,
    /// Multiply-accumulates the layer needs (the model's, not the padded array's).
    pub macs: u64,
    pub dram_read_bytes: u64,
    pub dram_write_bytes: u64,
    pub source: TimingSource,
}

/// A whole engine run (descriptors up to and including END).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramTiming {
    pub layers: Vec<LayerTiming>,
    /// START to DONE: every layer, the END descriptor's fetch, and the sequencer's overhead.
    pub total_cycles: u64,
    pub busy_cycles: u64,
    pub dma_stall_cycles: u64,
}

/// The DRAM as the analytic estimate sees it (bytes per cycle, one latency).
fn estimate_dram(cfg: &ArchConfig, dram: &DramTiming) -> DramModel {
    let beat = cfg.dma_bytes().max(1) as u64;
    DramModel {
        bytes_per_cycle: (beat / dram.interval.max(1)).max(1) as u32,
        latency_cycles: dram.read_latency.max(dram.write_latency) as u32,
    }
}

/// Timing of one layer (not END) on the engine `cfg` with DRAM `dram` (a CONV layer with
/// `ZERO_SKIP` needs its mask: [`layer_timing_masked`]).
pub fn layer_timing(d: &LayerDescriptor, cfg: &ArchConfig, dram: &DramTiming) -> Result<LayerTiming, PlanError> {
    layer_timing_masked(d, cfg, dram, None)
}

/// [`layer_timing`] with the zero-tile mask of a `ZERO_SKIP` CONV layer (`None` for the others).
pub fn layer_timing_masked(
    d: &LayerDescriptor,
    cfg: &ArchConfig,
    dram: &DramTiming,
    mask: Option<&ZeroMask>,
) -> Result<LayerTiming, PlanError> {
    if d.zero_skip != mask.is_some() {
        return Err(PlanError::Geometry(format!(
            "CONV layer {}: ZERO_SKIP = {} but its zero-tile mask was {}",
            d.layer_index,
            d.zero_skip as u8,
            if mask.is_some() { "given" } else { "not given" }
        )));
    }
    let est = estimate_dram(cfg, dram);
    let opcode = d.opcode.unwrap_or(Opcode::End);
    let g = d.conv_geometry();
    let pixels = g.pixels() as u64;
    let (c, macs, read, write) = match opcode {
        Opcode::Conv => {
            let plan = plan_conv(&g, cfg)?;
            (cycles::conv_cycles(&plan, cfg, &est), g.macs(), g.input_bytes() as u64, g.output_bytes() as u64)
        }
        Opcode::Add => {
            let px = (d.batch as u64) * (d.in_h as u64) * (d.in_w as u64);
            let bytes = px * d.in_c as u64;
            (cycles::add_cycles(px, d.in_c as u64, cfg, &est), 0, 2 * bytes, bytes)
        }
        Opcode::AvgPool | Opcode::MaxPool => {
            (cycles::pool_cycles(&g, cfg, &est), 0, g.input_bytes() as u64, pixels * g.in_c as u64)
        }
        Opcode::GlobalAvgPool => {
            let px = (d.batch as u64) * (d.in_h as u64) * (d.in_w as u64);
            let bytes = px * d.in_c as u64;
            (cycles::global_avg_pool_cycles(px, d.in_c as u64, cfg, &est), 0, bytes, d.batch as u64 * d.in_c as u64)
        }
        Opcode::End => (cycles::LayerCycles::default(), 0, 0, 0),
    };
    // The unit's start-to-done cycles: exact for the units with RTL (`conv`, `post`), else the
    // estimate; the sequencer's per-layer overhead (`seq`) is exact and added on top. A
    // descriptor at a 256-byte aligned address (the packer's layout) is read in one burst.
    let mut unit = (c.total, c.dma_stall(), TimingSource::Estimate);
    if opcode == Opcode::Conv && conv::supported(cfg) {
        if let Ok(t) = conv::conv_cycles_masked(d, cfg, dram, mask) {
            unit = (t.cycles, t.stall_cycles, TimingSource::Exact);
        }
    } else if post::implemented(opcode, d.requant) {
        if let Ok(t) = post::post_cycles(d, cfg, dram) {
            unit = (t.cycles, t.dma_stall_cycles, TimingSource::Exact);
        }
    }
    Ok(LayerTiming {
        cycles: seq::layer_perf_cycles(0, unit.0, cfg, dram).map_err(timing_err)?,
        dma_stall_cycles: unit.1,
        macs,
        dram_read_bytes: read,
        dram_write_bytes: write,
        source: unit.2,
    })
}

/// Timing of one engine run: `layers` are the run's descriptors before END.
pub fn program_timing(
    layers: &[LayerDescriptor],
    cfg: &ArchConfig,
    dram: &DramTiming,
) -> Result<ProgramTiming, PlanError> {
    program_timing_at(0, layers, cfg, dram)
}

/// [`program_timing_at`] with the zero-tile masks of the layers: `masks[i]` belongs to
/// `layers[i]` (missing entries are `None`).
pub fn program_timing_at_masked(
    program_base: u64,
    layers: &[LayerDescriptor],
    masks: &[Option<ZeroMask>],
    cfg: &ArchConfig,
    dram: &DramTiming,
) -> Result<ProgramTiming, PlanError> {
    let overhead = seq::layer_perf_cycles(0, 0, cfg, dram).map_err(timing_err)?;
    let mut timings = Vec::with_capacity(layers.len());
    let mut units = Vec::with_capacity(layers.len());
    for (i, d) in layers.iter().enumerate() {
        let mask = masks.get(i).and_then(Option::as_ref);
        let mut t = layer_timing_masked(d, cfg, dram, mask)?;
        let addr = program_base + (i * crate::descriptor::DESCRIPTOR_BYTES) as u64;
        let unit = t.cycles - overhead;
        t.cycles = seq::layer_perf_cycles(addr, unit, cfg, dram).map_err(timing_err)?;
        units.push(unit);
        timings.push(t);
    }
    let busy = seq::program_busy_cycles(program_base, &units, cfg, dram).map_err(timing_err)?;
    let stall: u64 = timings.iter().map(|l| l.dma_stall_cycles).sum();
    // TOTAL_CYCLES is free-running; START to DONE is the BUSY span (seq.rs).
    Ok(ProgramTiming { total_cycles: busy, busy_cycles: busy, dma_stall_cycles: stall, layers: timings })
}

/// As [`program_timing`] for a program at `program_base` (a descriptor straddling a 4 KB
/// boundary is read in two bursts, which costs one more DRAM latency).
pub fn program_timing_at(
    program_base: u64,
    layers: &[LayerDescriptor],
    cfg: &ArchConfig,
    dram: &DramTiming,
) -> Result<ProgramTiming, PlanError> {
    program_timing_at_masked(program_base, layers, &[], cfg, dram)
}

/// A DMA width or address the AXI port cannot take (config validation normally excludes both).
fn timing_err(e: TimingError) -> PlanError {
    PlanError::Geometry(format!("DMA timing: {e}"))
}

// Exact formulas, one file per engine unit, each checked by that unit's Verilator co-simulation:
// `seq` (descriptor fetch, END, perf record write, start/done overhead), `conv` (the CONV layer
// unit), `post` (the post-op unit). Until a unit's file exists its layers use the estimate.
