//! `systole synth DIR --target T [--board B] [--report R.json] [--quiet] [--json]`: the open
//! FPGA flow of `systole_flows` on a `systole generate` output, with a spinner per step.

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::time::Duration;
use systole_flows::{synth, Board, Design, Progress, SynthOptions, SynthReport, Target, Toolbox};

pub struct Args<'a> {
    pub dir: &'a Path,
    pub target: &'a str,
    pub board: Option<&'a str>,
    pub work: Option<&'a Path>,
    pub report: Option<&'a Path>,
    pub freq_mhz: f64,
    pub no_install: bool,
    pub quiet: bool,
    pub json: bool,
}

/// Where the YoWASP tools are installed: `SYSTOLE_FPGA_VENV`, else `SYSTOLE_CACHE/fpga-venv`,
/// else `~/.cache/systole/fpga-venv` (`make` sets `SYSTOLE_FPGA_VENV=.venv-fpga`).
fn venv_dir() -> PathBuf {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    env("SYSTOLE_FPGA_VENV")
        .or_else(|| env("SYSTOLE_CACHE").map(|d| d.join("fpga-venv")))
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("systole").join("fpga-venv")))
        .or_else(|| env("HOME").map(|d| d.join(".cache").join("systole").join("fpga-venv")))
        .unwrap_or_else(|| PathBuf::from(".venv-fpga"))
}

/// A spinner showing the running step and its elapsed time; finished steps stay as lines.
struct Spinner(ProgressBar);

impl Progress for Spinner {
    fn step(&self, what: &str) {
        self.0.reset_elapsed();
        self.0.set_message(what.to_string());
    }
    fn done(&self, what: &str, seconds: f64) {
        self.0.println(format!("  {what}: {seconds:.1} s"));
    }
}

pub fn run(a: &Args) -> Result<()> {
    let target: Target = a.target.parse()?;
    let board: Option<Board> = a.board.map(str::parse).transpose()?;
    let design = Design::load(a.dir)?;
    let work = a.work.map(Path::to_path_buf).unwrap_or_else(|| {
        let name = board.map_or(target.name(), |b| b.name());
        a.dir.join(format!("synth-{name}"))
    });
    let opts = SynthOptions {
        target,
        work: work.clone(),
        toolbox: Toolbox { venv: venv_dir(), install: !a.no_install },
        freq_mhz: a.freq_mhz,
        board,
    };
    let spinner = if a.quiet || a.json {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        bar.println(format!(
            "systole synth {} for {} ({}), work directory {}",
            design.top,
            target,
            target.part(),
            work.display()
        ));
        bar
    };
    let progress = Spinner(spinner);
    let result = synth(&design, &opts, &progress);
    progress.0.finish_and_clear();
    let report = result.with_context(|| format!("synthesising {} for {target}", a.dir.display()))?;

    let json = serde_json::to_string_pretty(&report)?;
    if let Some(path) = a.report {
        std::fs::write(path, format!("{json}\n")).with_context(|| format!("writing {}", path.display()))?;
    }
    if a.json {
        println!("{json}");
    } else if !a.quiet {
        print_summary(&report);
    }
    Ok(())
}

fn print_summary(r: &SynthReport) {
    let u = &r.utilisation_percent;
    println!("{} on {} ({}): {}", r.top, r.target, r.part, r.resources_from);
    println!("  LUT  {:>8} / {:<8} {:>5.1} %", r.luts, r.capacity.luts, u.luts);
    println!("  FF   {:>8} / {:<8} {:>5.1} %", r.ffs, r.capacity.ffs, u.ffs);
    println!("  DSP  {:>8} / {:<8} {:>5.1} %  ({})", r.dsps, r.capacity.dsps, u.dsps, r.dsp_unit);
    println!("  BRAM {:>8} / {:<8} {:>5.1} %  ({})", r.brams, r.capacity.brams, u.brams, r.bram_unit);
    match (r.fmax_mhz, r.clock_constraint_mhz) {
        (Some(f), Some(c)) => println!("  Fmax {f:.2} MHz (constraint {c} MHz)"),
        (Some(f), None) => println!("  Fmax {f:.2} MHz"),
        _ => println!("  Fmax: no timing for this target"),
    }
    if let Some(ffs) = r.harness_ffs {
        println!("  (includes the place-and-route harness: {ffs} FFs, one per engine port bit)");
    }
    if let Some(bit) = &r.bitstream {
        println!("  bitstream: {}", bit.display());
    }
    for s in &r.steps {
        println!("  {}: {:.1} s ({:.1} s CPU)", s.name, s.seconds, s.cpu_seconds);
    }
    let logs = r.steps.first().and_then(|s| s.log.parent()).map_or_else(String::new, |p| p.display().to_string());
    println!("  logs in {logs}");
}
