//! `systole run --device SPEC --image IMAGE.bin --input X.npy --output Y.npy [--timeout S] [--irq]
//! [--dram-latency L --dram-interval I]`:
//! opens the device, checks the image against it, loads, runs, writes the outputs and prints
//! every engine layer's cycles from its performance record.
//!
//! Outputs are written only after the whole run succeeded, each to a temporary file beside its
//! destination that is then renamed over it: an error leaves every file the user named as it was.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;
use systole_arch::axi_timing::DramTiming;
use systole_host::backend::{self, DeviceSpec, SysRoot};
use systole_host::driver::{Driver, RunOptions, RunReport, Wait};
use systole_host::image::Image;
use systole_host::Device;
use systole_model::ir::Value;
use systole_model::npy;
use systole_sim::{CycleModel, SimDevice};

pub struct Args<'a> {
    pub device: &'a str,
    pub image: &'a Path,
    pub inputs: &'a [PathBuf],
    pub outputs: &'a [PathBuf],
    pub timeout: f64,
    pub irq: bool,
    pub reset: bool,
    /// DRAM timing of the simulated devices (`sim:cycle`, `sim:rtl`); the same model and defaults
    /// as `systole simulate`, so both report the same cycles for the same engine and image.
    pub dram_latency: u64,
    pub dram_interval: u64,
}

/// `SYSTOLE_SYSROOT=DIR` reads `DIR/sys` and `DIR/dev` instead of `/sys` and `/dev` (tests,
/// chroots).
fn sysroot() -> SysRoot {
    std::env::var_os("SYSTOLE_SYSROOT").map_or_else(SysRoot::default, |d| SysRoot::under(Path::new(&d)))
}

fn open_device(spec: &DeviceSpec, image: &Image, dram: DramTiming) -> Result<Box<dyn Device>> {
    match spec {
        DeviceSpec::Board(b) => Ok(Box::new(backend::open(b, &sysroot())?)),
        DeviceSpec::Sim(kind) => {
            // The simulated bitstream is the one the image was packed for.
            let cfg = image.arch().context("the image's arch.json")?;
            let plan = &image.plan.dram;
            match kind.as_str() {
                // The cycle model is the functional model's values with arch::timing's cycles:
                // sim:functional names the same engine.
                "cycle" | "functional" => {
                    let engine = CycleModel::new(&cfg, dram).context("the image's arch.json")?;
                    Ok(Box::new(SimDevice::new(engine, &cfg, plan.base, plan.size)?))
                }
                // The generated top of the image's configuration under Verilator.
                "rtl" => Ok(Box::new(super::simulate::rtl_device(&cfg, image, dram, None)?)),
                other => bail!("unknown simulator sim:{other} (sim:cycle, sim:functional, sim:rtl)"),
            }
        }
    }
}

pub fn run(a: &Args) -> Result<()> {
    let spec = DeviceSpec::parse(a.device)?;
    let bytes = std::fs::read(a.image).with_context(|| format!("reading {}", a.image.display()))?;
    let image = Image::from_bytes(&bytes).with_context(|| format!("loading image {}", a.image.display()))?;
    if a.inputs.len() != image.plan.inputs.len() {
        bail!("the image has {} input(s) but {} --input file(s) were given", image.plan.inputs.len(), a.inputs.len());
    }
    if a.outputs.len() != image.plan.outputs.len() {
        bail!(
            "the image has {} output(s) but {} --output file(s) were given",
            image.plan.outputs.len(),
            a.outputs.len()
        );
    }
    if !(a.timeout > 0.0 && a.timeout.is_finite()) {
        bail!("--timeout {} is not a positive number of seconds", a.timeout);
    }
    let sim_dram = DramTiming::new(a.dram_latency, a.dram_interval).context("--dram-latency / --dram-interval")?;
    let values = a
        .inputs
        .iter()
        .map(|p| npy::read_value(p).with_context(|| format!("reading input {}", p.display())))
        .collect::<Result<Vec<Value>>>()?;
    let dev = open_device(&spec, &image, sim_dram).with_context(|| format!("opening {}", a.device))?;
    let opts = RunOptions {
        timeout: Duration::from_secs_f64(a.timeout),
        // The RTL's clock advances only while the host waits in `wait_irq` (a poll advances it
        // by one register read): polling it would spend its wall time sleeping.
        wait: if a.irq || spec == DeviceSpec::Sim("rtl".into()) { Wait::Irq } else { Wait::Poll },
        reset: a.reset,
    };
    let mut drv = Driver::open(dev, image, opts).with_context(|| format!("opening {}", a.device))?;
    let report = drv.run(&values).with_context(|| format!("running {} on {}", a.image.display(), a.device))?;
    for (path, value) in a.outputs.iter().zip(&report.outputs) {
        write_atomically(path, value)?;
    }
    print!("{}", render(&report));
    Ok(())
}

fn write_atomically(path: &Path, value: &Value) -> Result<()> {
    let name = path.file_name().with_context(|| format!("{} is not a file name", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    npy::write_value(&tmp, value).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
}

/// The per-layer cycle table.
fn render(r: &RunReport) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let w = r.runs.iter().flat_map(|x| &x.layers).map(|l| l.name.len()).max().unwrap_or(4).max(4);
    let _ = writeln!(o, "{:>5}  {:<w$}  {:<15}  {:>12}  {:>12}", "layer", "node", "op", "cycles", "dma stall");
    let mut total = 0u64;
    for (i, run) in r.runs.iter().enumerate() {
        for l in &run.layers {
            let _ = writeln!(
                o,
                "{:>5}  {:<w$}  {:<15}  {:>12}  {:>12}",
                l.index,
                l.name,
                l.opcode.name(),
                l.perf.cycles,
                l.perf.dma_stall_cycles
            );
        }
        let _ = writeln!(o, "       engine run {i}: {} busy cycles", run.busy_cycles);
        total += run.busy_cycles;
    }
    let layers: usize = r.runs.iter().map(|x| x.layers.len()).sum();
    let _ = writeln!(
        o,
        "{layers} engine layers in {} runs, {} host steps; {total} engine cycles; host wall time {:.3} ms",
        r.runs.len(),
        r.host_steps,
        r.elapsed.as_secs_f64() * 1e3
    );
    o
}
