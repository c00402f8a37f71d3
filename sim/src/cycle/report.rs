//! Per-layer and per-run figures of an engine run, as `systole simulate` and the benchmarks
//! print them: cycles, MACs, MAC utilisation (MACs / (R * C * cycles)), DMA stall cycles, DRAM
//! bytes read / written, and where the cycle count comes from.

use crate::engine::RunStats;
use serde::Serialize;
use std::fmt::Write as _;
use systole_arch::descriptor::{decode, DescriptorError, DESCRIPTOR_BYTES};
use systole_arch::timing::TimingSource;
use systole_arch::{ArchConfig, LayerDescriptor};
use systole_host::lower::partition::Placement;
use systole_host::schedule::Step;
use systole_host::Image;

/// One engine layer of a run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerReport {
    /// Descriptor index in the whole program (`PROGRAM` section), not in the run.
    pub descriptor: u32,
    /// The graph node (from the image's partition table), or `#<descriptor>`.
    pub name: String,
    pub op: &'static str,
    pub cycles: u64,
    pub macs: u64,
    /// MACs / (R * C * cycles): the fraction of the array's multiply slots doing model work.
    pub utilization: f64,
    pub stall_cycles: u64,
    pub dram_read_bytes: u64,
    pub dram_write_bytes: u64,
    pub exact: bool,
}

/// Every engine run of one inference. Serialised, it is the `--report R.json` of
/// `systole simulate`: `{"engine", "array": [R, C], "total_cycles", "layers": [{"name", "op",
/// "cycles", "macs", "utilization", "stall_cycles", ...}], ...}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunReport {
    /// Which engine produced the figures ("cycle", "rtl", ...).
    pub engine: String,
    pub array: [u32; 2],
    /// START to DONE summed over the engine runs (`TOTAL_CYCLES` of each).
    pub total_cycles: u64,
    pub layer_cycles: u64,
    pub dma_stall_cycles: u64,
    pub macs: u64,
    /// Whole-inference MACs / (R * C * total cycles).
    pub utilization: f64,
    pub layers: Vec<LayerReport>,
}

/// MACs / (R * C * cycles), 0 for a layer of no cycles.
pub fn utilization(macs: u64, cfg: &ArchConfig, cycles: u64) -> f64 {
    let slots = cfg.rows as f64 * cfg.cols as f64 * cycles as f64;
    if slots > 0.0 {
        macs as f64 / slots
    } else {
        0.0
    }
}

/// Every descriptor of `image`'s PROGRAM section, decoded.
pub fn program_descriptors(image: &Image) -> Result<Vec<LayerDescriptor>, DescriptorError> {
    image
        .program
        .chunks(DESCRIPTOR_BYTES)
        .map(|b| {
            let words: Vec<u32> = b.chunks(4).map(|w| w.iter().rev().fold(0u32, |a, &x| (a << 8) | x as u32)).collect();
            decode(&words)
        })
        .collect()
}

/// The graph node of every descriptor of `image`'s program (END descriptors are "END", a
/// descriptor no engine step covers is `#<index>`): engine layers appear in the partition table
/// in the order the packer wrote their descriptors.
pub fn descriptor_names(image: &Image) -> Vec<String> {
    let n = image.program.len() / DESCRIPTOR_BYTES;
    let mut names: Vec<String> = (0..n).map(|k| format!("#{k}")).collect();
    let mut engine_rows =
        image.metadata.partition.iter().filter(|r| r.placement == Placement::Engine).map(|r| r.node.clone());
    for step in &image.plan.steps {
        if let Step::Engine { first, count } = step {
            let (first, count) = (*first as usize, *count as usize);
            for k in first..first.saturating_add(count) {
                let (Some(slot), Some(name)) = (names.get_mut(k), engine_rows.next()) else { break };
                *slot = name;
            }
            if let Some(end) = names.get_mut(first.saturating_add(count)) {
                *end = "END".into();
            }
        }
    }
    names
}

impl RunReport {
    /// `runs` are the engine runs of one schedule in order, `firsts` their first descriptors
    /// (both from `Image::plan.steps`), `names` from [`descriptor_names`].
    pub fn new(engine: &str, cfg: &ArchConfig, runs: &[RunStats], firsts: &[u32], names: &[String]) -> RunReport {
        let mut layers = Vec::new();
        for (run, &first) in runs.iter().zip(firsts) {
            for l in &run.layers {
                let descriptor = first + l.index;
                let t = &l.timing;
                layers.push(LayerReport {
                    descriptor,
                    name: names.get(descriptor as usize).cloned().unwrap_or_else(|| format!("#{descriptor}")),
                    op: l.opcode.name(),
                    cycles: t.cycles,
                    macs: t.macs,
                    utilization: utilization(t.macs, cfg, t.cycles),
                    stall_cycles: t.dma_stall_cycles,
                    dram_read_bytes: t.dram_read_bytes,
                    dram_write_bytes: t.dram_write_bytes,
                    exact: t.source == TimingSource::Exact,
                });
            }
        }
        let total_cycles = runs.iter().map(|r| r.total_cycles).sum();
        let macs = layers.iter().map(|l| l.macs).sum();
        RunReport {
            engine: engine.to_string(),
            array: [cfg.rows, cfg.cols],
            total_cycles,
            layer_cycles: layers.iter().map(|l| l.cycles).sum(),
            dma_stall_cycles: runs.iter().map(|r| r.dma_stall_cycles).sum(),
            macs,
            utilization: utilization(macs, cfg, total_cycles),
            layers,
        }
    }

    /// The engine-run first descriptors of `image`, in schedule order.
    pub fn run_firsts(image: &Image) -> Vec<u32> {
        image
            .plan
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Engine { first, .. } => Some(*first),
                Step::Host(_) => None,
            })
            .collect()
    }

    /// A fixed-width text table, one row per layer, then the totals.
    pub fn table(&self) -> String {
        let w = self.layers.iter().map(|l| l.name.len()).max().unwrap_or(4).max(5);
        let mut o = String::new();
        let _ = writeln!(
            o,
            "{:<w$}  {:<15}  {:>10}  {:>10}  {:>6}  {:>9}  {:>9}  {:>9}  timing",
            "layer", "op", "cycles", "MACs", "util", "stall", "read B", "write B"
        );
        for l in &self.layers {
            let _ = writeln!(
                o,
                "{:<w$}  {:<15}  {:>10}  {:>10}  {:>5.1}%  {:>9}  {:>9}  {:>9}  {}",
                l.name,
                l.op,
                l.cycles,
                l.macs,
                100.0 * l.utilization,
                l.stall_cycles,
                l.dram_read_bytes,
                l.dram_write_bytes,
                if l.exact { "exact" } else { "estimate" }
            );
        }
        let _ = writeln!(
            o,
            "{} engine, {}x{} array: {} cycles total ({} in layers, {} DMA stall), {} MACs, utilisation {:.1}%",
            self.engine,
            self.array[0],
            self.array[1],
            self.total_cycles,
            self.layer_cycles,
            self.dma_stall_cycles,
            self.macs,
            100.0 * self.utilization
        );
        o
    }
}
