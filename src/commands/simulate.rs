//! `systole simulate MODEL --input X.npy --output Y.npy [--engine cycle|rtl] [--arch A.json]
//! [--report R.json] [--vcd F]`: pack the model for an engine, run it through the host driver on
//! the cycle model or on the Verilator RTL of the generated top, print the per-layer table and
//! write the outputs.
//!
//! Both engines sit behind `systole_host::Device`, so the run is the driver's own code path
//! (open: ID / version / config hash, load, START / wait / perf records, host steps), the same
//! that drives a board with `systole run`.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;
use systole_arch::axi_timing::DramTiming;
use systole_arch::timing::{layer_timing_masked, TimingSource};
use systole_arch::{ArchConfig, Budget};
use systole_hdl::blocks::top::emit_top;
use systole_hdl::cosim::{RtlDevice, RtlOptions};
use systole_hdl::sizing::size_for_generator;
use systole_host::driver::{Driver, RunOptions, RunReport, Wait};
use systole_host::{pack, Device, Image, PackOptions};
use systole_model::ir::{Graph, Value};
use systole_model::load::load_model;
use systole_model::npy;
use systole_sim::cycle::report::{self as cycle_report, LayerReport};
use systole_sim::{CycleModel, SimDevice};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// The cycle model (values from the functional executors, cycles from arch::timing).
    Cycle,
    /// The generated Verilog under Verilator (built on first use, cached by design hash).
    Rtl,
}

impl Engine {
    fn label(self) -> &'static str {
        match self {
            Engine::Cycle => "cycle",
            Engine::Rtl => "rtl",
        }
    }
}

pub struct Args<'a> {
    pub model: &'a Path,
    pub inputs: &'a [PathBuf],
    pub outputs: &'a [PathBuf],
    pub engine: Engine,
    pub arch: Option<&'a Path>,
    pub budget: Budget,
    pub report: Option<&'a Path>,
    pub vcd: Option<&'a Path>,
    pub dram_latency: u64,
    pub dram_interval: u64,
}

/// The engine to simulate: the user's arch.json, or what `systole generate` would size for the
/// model under `budget` (`--budget-macs` / `--part`, default 256 MACs), restricted to the units
/// the generator builds.
pub fn engine_config(graph: &Graph, arch: Option<&Path>, budget: &Budget) -> Result<ArchConfig> {
    if let Some(path) = arch {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return ArchConfig::from_json(&text).with_context(|| format!("{}", path.display()));
    }
    // The library error names the model and the budget.
    let engine = size_for_generator(graph, budget)?;
    Ok(engine.config)
}

fn open(
    engine: Engine,
    cfg: &ArchConfig,
    image: &Image,
    dram: DramTiming,
    vcd: Option<&Path>,
) -> Result<Box<dyn Device>> {
    let plan = &image.plan.dram;
    Ok(match engine {
        Engine::Cycle => {
            let model = CycleModel::new(cfg, dram).context("the engine configuration")?;
            Box::new(SimDevice::new(model, cfg, plan.base, plan.size)?)
        }
        Engine::Rtl => Box::new(rtl_device(cfg, image, dram, vcd)?),
    })
}

/// The generated top of `cfg` under Verilator, with device memory for `image`'s DRAM plan
/// (`systole simulate --engine rtl`, `systole run --device sim:rtl`).
pub fn rtl_device(cfg: &ArchConfig, image: &Image, dram: DramTiming, vcd: Option<&Path>) -> Result<RtlDevice> {
    let design = emit_top(cfg).with_context(|| format!("generating the Verilog of {}", cfg.name))?;
    let mut opts = RtlOptions::new(dram, image.plan.dram.end(), &rtl_cache_dir());
    opts.vcd = vcd.map(Path::to_path_buf);
    eprintln!("building / starting the Verilator simulation of {} (cached after the first build)", cfg.name);
    RtlDevice::start(&design, &opts).context("starting the RTL simulation")
}

/// Where Verilator builds are cached (keyed by design hash): `SYSTOLE_CACHE`, else
/// `$XDG_CACHE_HOME/systole/rtl`, else `~/.cache/systole/rtl`, else `./target/systole-rtl`.
fn rtl_cache_dir() -> PathBuf {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    env("SYSTOLE_CACHE")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("systole").join("rtl")))
        .or_else(|| env("HOME").map(|d| d.join(".cache").join("systole").join("rtl")))
        .unwrap_or_else(|| PathBuf::from("target").join("systole-rtl"))
}

pub fn run(a: &Args) -> Result<()> {
    if a.vcd.is_some() && a.engine != Engine::Rtl {
        bail!("--vcd needs --engine rtl (the cycle model has no waveforms)");
    }
    let graph = load_model(a.model).with_context(|| format!("loading {}", a.model.display()))?;
    if a.inputs.len() != graph.inputs.len() {
        bail!(
            "{} has {} input(s) but {} --input file(s) were given",
            a.model.display(),
            graph.inputs.len(),
            a.inputs.len()
        );
    }
    if a.outputs.len() != graph.outputs.len() {
        bail!(
            "{} has {} output(s) but {} --output file(s) were given",
            a.model.display(),
            graph.outputs.len(),
            a.outputs.len()
        );
    }
    let dram = DramTiming::new(a.dram_latency, a.dram_interval).context("--dram-latency / --dram-interval")?;
    let values = a
        .inputs
        .iter()
        .map(|p| npy::read_value(p).with_context(|| format!("reading input {}", p.display())))
        .collect::<Result<Vec<Value>>>()?;
    let cfg = engine_config(&graph, a.arch, &a.budget)?;
    let (outputs, report) = simulate_graph(&graph, &cfg, a.engine, dram, a.vcd, &values)?;
    for (path, value) in a.outputs.iter().zip(&outputs) {
        npy::write_value(path, value).with_context(|| format!("writing {}", path.display()))?;
    }
    print!("{}", report.table());
    if let Some(path) = a.report {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Packs `graph` for `cfg` and runs `inputs` once on `engine` through the host driver: the
/// outputs and the per-layer report (`systole simulate`, and the cycles of `systole evaluate`).
pub fn simulate_graph(
    graph: &Graph,
    cfg: &ArchConfig,
    engine: Engine,
    dram: DramTiming,
    vcd: Option<&Path>,
    inputs: &[Value],
) -> Result<(Vec<Value>, cycle_report::RunReport)> {
    let image = pack(graph, cfg, PackOptions { dram_base: 0 }).context("packing the model for the engine")?;
    let dev = open(engine, cfg, &image, dram, vcd)?;
    // A simulated engine is slow only in wall time; the deadline guards against a hang. The
    // interrupt path lets the RTL run its clock freely while the driver waits.
    let opts = RunOptions { timeout: Duration::from_secs(3600), wait: Wait::Irq, ..RunOptions::default() };
    let mut drv = Driver::open(dev, image, opts).context("opening the simulated engine")?;
    let run = drv.run(inputs).context("running the model")?;
    let report = build_report(engine, cfg, drv.image(), &run, &dram)?;
    Ok((run.outputs, report))
}

/// The per-layer report from what the driver read back: each layer's performance record
/// (cycles, DMA stall) as the engine wrote it, MACs and DRAM bytes from its descriptor.
fn build_report(
    engine: Engine,
    cfg: &ArchConfig,
    image: &Image,
    run: &RunReport,
    dram: &DramTiming,
) -> Result<cycle_report::RunReport> {
    let descriptors = cycle_report::program_descriptors(image).context("the image's program")?;
    let mut layers = Vec::new();
    for rec in run.runs.iter().flat_map(|r| &r.layers) {
        let d = descriptors.get(rec.index as usize).with_context(|| format!("no descriptor {}", rec.index))?;
        let mask = image.zero_mask(rec.index as usize, d)?;
        let t =
            layer_timing_masked(d, cfg, dram, mask.as_ref()).with_context(|| format!("descriptor {}", rec.index))?;
        let cycles = rec.perf.cycles;
        layers.push(LayerReport {
            descriptor: rec.index,
            name: rec.name.clone(),
            op: rec.opcode.name(),
            cycles,
            macs: t.macs,
            utilization: cycle_report::utilization(t.macs, cfg, cycles),
            stall_cycles: rec.perf.dma_stall_cycles,
            dram_read_bytes: t.dram_read_bytes,
            dram_write_bytes: t.dram_write_bytes,
            // The RTL's records are measured; the cycle model's are exact where arch::timing is.
            exact: engine == Engine::Rtl || t.source == TimingSource::Exact,
        });
    }
    let total_cycles: u64 = run.runs.iter().map(|r| r.busy_cycles).sum();
    let macs = layers.iter().map(|l| l.macs).sum();
    Ok(cycle_report::RunReport {
        engine: engine.label().to_string(),
        array: [cfg.rows, cfg.cols],
        total_cycles,
        layer_cycles: layers.iter().map(|l| l.cycles).sum(),
        dma_stall_cycles: layers.iter().map(|l| l.stall_cycles).sum(),
        macs,
        utilization: cycle_report::utilization(macs, cfg, total_cycles),
        layers,
    })
}
