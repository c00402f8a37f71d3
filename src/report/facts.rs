//! What a report is made of: the facts `systole generate`, `systole synth` and `systole
//! simulate` leave in an engine directory, as JSON files that the report reads back.
//!
//! * `generate.json` (written by `generate`): the configuration, the sizing, the partition and
//!   the exact per-layer cycles on the generated engine;
//! * `synth-<target>.json` (written by `synth`): resources and Fmax on one FPGA target;
//! * `simulate*.json` (`simulate --report DIR/simulate.json`): a run on the cycle model or RTL.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The file `generate` writes its facts to.
pub const GENERATE_FACTS: &str = "generate.json";

/// One engine layer (descriptor) with its exact (or estimated) timing on the generated engine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerFact {
    pub descriptor: u32,
    pub name: String,
    pub op: String,
    pub cycles: u64,
    pub macs: u64,
    pub utilization: f64,
    pub stall_cycles: u64,
    /// "exact" (the RTL's own timing) or "estimate" (the analytic model).
    pub timing: String,
}

/// One node of the model and where it runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PartitionFact {
    pub node: String,
    pub op: String,
    pub placement: String,
    pub detail: String,
}

/// The emitted Verilog.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerilogFact {
    pub file: String,
    pub modules_emitted: usize,
    pub modules_merged: usize,
    pub lint: String,
}

/// Everything `generate` decided and computed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GenerateFacts {
    pub model: String,
    pub name: String,
    pub array: [u32; 2],
    /// Array rows (the last ones) whose multipliers are LUTs instead of DSPs.
    #[serde(default)]
    pub fabric_pe_rows: u32,
    pub psum_depth: u32,
    pub dma_data_bits: u32,
    pub act_buffer_bytes: u32,
    pub config_hash: u32,
    /// DRAM the per-layer cycles assume: latency in cycles, cycles between beats.
    pub dram_latency: u64,
    pub dram_interval: u64,
    /// The sizing decision (chosen shape and runners-up) as Markdown.
    pub sizing_markdown: String,
    pub partition: Vec<PartitionFact>,
    pub layers: Vec<LayerFact>,
    pub verilog: VerilogFact,
}

impl GenerateFacts {
    pub fn total_cycles(&self) -> u64 {
        self.layers.iter().map(|l| l.cycles).sum()
    }

    pub fn total_macs(&self) -> u64 {
        self.layers.iter().map(|l| l.macs).sum()
    }

    /// Whole-model MACs / (R * C * cycles).
    pub fn utilization(&self) -> f64 {
        let slots = self.array[0] as f64 * self.array[1] as f64 * self.total_cycles() as f64;
        if slots > 0.0 {
            self.total_macs() as f64 / slots
        } else {
            0.0
        }
    }
}

/// Resources and timing of the design on one FPGA target (`synth --report`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SynthFact {
    pub target: String,
    pub luts: u64,
    pub ffs: u64,
    pub dsps: u64,
    pub brams: f64,
    /// Null where the flow has no timing analysis (synthesis only).
    pub fmax_mhz: Option<f64>,
}

/// One layer of a simulated run (`simulate --report`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimulatedLayer {
    pub name: String,
    pub op: String,
    pub cycles: u64,
    pub macs: u64,
    pub utilization: f64,
    pub stall_cycles: u64,
}

/// A simulated run (`simulate --report`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimulateFact {
    pub engine: String,
    pub array: [u32; 2],
    pub total_cycles: u64,
    pub layers: Vec<SimulatedLayer>,
}

/// The facts found in one engine directory.
#[derive(Clone, Debug)]
pub struct Facts {
    pub generate: GenerateFacts,
    /// With the file each came from, in file-name order.
    pub synth: Vec<(PathBuf, SynthFact)>,
    pub simulate: Vec<(PathBuf, SimulateFact)>,
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a valid report file", path.display()))
}

/// Reads `dir`'s `generate.json` and every `synth-*.json` and `simulate*.json` beside it.
pub fn load(dir: &Path) -> Result<Facts> {
    let gen_path = dir.join(GENERATE_FACTS);
    if !gen_path.is_file() {
        bail!("{} not found: run `systole generate MODEL --out {}` first", gen_path.display(), dir.display());
    }
    let generate: GenerateFacts = read_json(&gen_path)?;
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    names.sort();
    let mut synth = Vec::new();
    let mut simulate = Vec::new();
    for path in names {
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        if stem.starts_with("synth-") {
            let fact: SynthFact = read_json(&path)?;
            synth.push((path, fact));
        } else if stem.starts_with("simulate") {
            let fact: SimulateFact = read_json(&path)?;
            simulate.push((path, fact));
        }
    }
    Ok(Facts { generate, synth, simulate })
}
