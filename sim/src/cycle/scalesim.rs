//! The cycle model's CONV counts next to SCALE-Sim's weight-stationary closed form
//! `folds x (2R + C + T - 2)` (`arch::cycles::scalesim_ws_cycles`), split into the terms that
//! explain the difference (docs/CYCLES.md walks through them):
//!
//! * **folds**: SCALE-Sim folds a flat K = KH * KW * C_in / groups into `ceil(K / R)` row folds
//!   per `ceil(O / C)` column folds (per group); systole's folds are the plan's (o-tile, k-tile)
//!   pairs, k-tiles following memory (one kernel row, a run of columns and channels): more folds
//!   when C_in is not a multiple of R, fewer for grouped / depthwise layers (block-diagonal tiles
//!   cover several groups).
//! * **streaming**: both stream the T output pixels through every fold; systole in pixel blocks
//!   of PB, each k-tile occupying at least R cycles (the weight shift-in), so `sum over folds and
//!   blocks of max(T_block, R)`.
//! * **fill / drain**: SCALE-Sim pays `2R + C - 2` on every fold (the array drains between
//!   folds); systole's tiles follow each other without draining (double-buffered weights swap
//!   with the wavefront) and pays `R + C + 1 + requant latency` once per layer.
//! * **memory**: SCALE-Sim's compute count has no DRAM; the rest of the cycle model's count is
//!   descriptor fetch, exposed input / parameter / weight DMA and write-back.

use crate::engine::LayerStats;
use serde::Serialize;
use systole_arch::cycles::{scalesim_ws_cycles, REQUANT_LATENCY};
use systole_arch::plan::{plan_conv, PlanError};
use systole_arch::{ArchConfig, LayerDescriptor};

/// One CONV layer, both ways.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScaleSimRow {
    /// SCALE-Sim's `groups * ceil(K / R) * ceil(O / C)`.
    pub scalesim_folds: u64,
    /// systole's (o-tile, k-tile) pairs.
    pub folds: u64,
    /// T: output pixels.
    pub pixels: u64,
    /// `folds x (2R + C + T - 2)`.
    pub scalesim_cycles: u64,
    /// SCALE-Sim's per-fold fill / drain summed: `scalesim_folds x (2R + C - 2)`.
    pub scalesim_fill: u64,
    /// systole's streaming: `sum over folds and pixel blocks of max(T_block, R)`.
    pub stream: u64,
    /// systole's fill / drain, once per layer: `R + C + 1 + requant latency`.
    pub fill: u64,
    /// The cycle model's count for the layer.
    pub cycles: u64,
    /// `cycles - stream - fill`: memory and control (descriptor, exposed DMA, write-back).
    pub memory: i64,
    /// Of the layer's cycles, those the model reports as DMA stalls.
    pub dma_stall_cycles: u64,
}

/// Compares one CONV layer `d` that the cycle model reported as `stats`.
pub fn compare(d: &LayerDescriptor, stats: &LayerStats, cfg: &ArchConfig) -> Result<ScaleSimRow, PlanError> {
    let g = d.conv_geometry();
    let plan = plan_conv(&g, cfg)?;
    let (r, c) = (cfg.rows as u64, cfg.cols as u64);
    let scalesim_folds = g.groups as u64 * (g.k() as u64).div_ceil(r) * (g.group_out() as u64).div_ceil(c);
    let folds = plan.k_tiles_total() as u64;
    let per_fold: u64 = (0..plan.pixel_blocks).map(|b| (plan.block_pixels(b) as u64).max(r)).sum();
    let stream = folds * per_fold;
    let fill = r + c + 1 + REQUANT_LATENCY;
    let cycles = stats.timing.cycles;
    Ok(ScaleSimRow {
        scalesim_folds,
        folds,
        pixels: plan.pixels as u64,
        scalesim_cycles: scalesim_ws_cycles(&g, r, c),
        scalesim_fill: scalesim_folds * (2 * r + c - 2),
        stream,
        fill,
        cycles,
        memory: cycles as i64 - stream as i64 - fill as i64,
        dma_stall_cycles: stats.timing.dma_stall_cycles,
    })
}

/// Every CONV layer of an engine run: `(name, descriptor, stats)` in, one row each.
pub fn compare_run<'a>(
    layers: impl IntoIterator<Item = (&'a str, &'a LayerDescriptor, &'a LayerStats)>,
    cfg: &ArchConfig,
) -> Result<Vec<(String, ScaleSimRow)>, PlanError> {
    layers
        .into_iter()
        .filter(|(_, d, _)| d.opcode == Some(systole_arch::Opcode::Conv))
        .map(|(name, d, s)| Ok((name.to_string(), compare(d, s, cfg)?)))
        .collect()
}

/// A Markdown table of `rows` with a total line.
pub fn table(rows: &[(String, ScaleSimRow)]) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "| layer | T | SCALE-Sim folds | SCALE-Sim fill | SCALE-Sim cycles | systole folds | stream | fill | memory | cycle model | DMA stall |"
    );
    let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut total = [0i64; 6];
    for (name, r) in rows {
        let _ = writeln!(
            o,
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.pixels,
            r.scalesim_folds,
            r.scalesim_fill,
            r.scalesim_cycles,
            r.folds,
            r.stream,
            r.fill,
            r.memory,
            r.cycles,
            r.dma_stall_cycles
        );
        for (t, v) in total.iter_mut().zip([
            r.scalesim_fill as i64,
            r.scalesim_cycles as i64,
            r.stream as i64,
            r.fill as i64,
            r.memory,
            r.cycles as i64,
        ]) {
            *t += v;
        }
    }
    let _ = writeln!(
        o,
        "| **total** | | | {} | {} | | {} | {} | {} | {} | |",
        total[0], total[1], total[2], total[3], total[4], total[5]
    );
    o
}
