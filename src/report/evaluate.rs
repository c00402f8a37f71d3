//! The evaluation report of `systole evaluate`: `evaluate.md` with SVG charts and its JSON twin
//! `evaluate.json` (compression, accuracy, compute efficiency, robustness). Files are written
//! to a temporary name and renamed, so a reader never sees half a report.

use super::charts::{bar_chart, range_chart, Bar, RangePoint};
use anyhow::{Context, Result};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use systole_model::evaluate::LevelResult;
use systole_sim::cycle::report::LayerReport;

/// Weight bytes and MACs of one model.
#[derive(Clone, Debug, Serialize)]
pub struct Size {
    pub weight_bytes: u64,
    pub macs: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Compression {
    pub model: Size,
    pub baseline: Option<Size>,
    /// Baseline weight bytes / model weight bytes.
    pub weight_ratio: Option<f64>,
    /// Baseline MACs / model MACs.
    pub mac_ratio: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct DataSet {
    pub data: String,
    pub labels: String,
    /// Samples evaluated (after `--limit`).
    pub samples: usize,
    pub samples_in_file: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct Accuracy {
    /// Top-1 of the model on the bit-exact integer reference.
    pub top1: f64,
    pub correct: usize,
    /// Top-1 of the float baseline (float reference, MLAS summation order).
    pub baseline_top1: Option<f64>,
    /// Fraction of samples on which model and baseline predict the same class.
    pub agreement: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Efficiency {
    pub engine: String,
    pub array: [u32; 2],
    /// How the engine was chosen (`systole generate`'s budget, or the arch.json).
    pub sizing: String,
    pub dram_latency: u64,
    pub dram_interval: u64,
    pub total_cycles: u64,
    pub layer_cycles: u64,
    pub dma_stall_cycles: u64,
    pub macs: u64,
    pub utilization: f64,
    pub fmax_mhz: f64,
    /// "--fmax", "synth report <file>", or "nominal (not a synthesised Fmax)".
    pub fmax_source: String,
    pub latency_us: f64,
    pub layers: Vec<LayerReport>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Robustness {
    pub seed: u64,
    pub trials: usize,
    /// Bits of the quantized weights the flips draw over.
    pub weight_bits: u64,
    pub noise: Vec<LevelResult>,
    pub bit_flips: Vec<LevelResult>,
}

/// `evaluate.json`.
#[derive(Clone, Debug, Serialize)]
pub struct EvaluateReport {
    pub model: String,
    pub baseline: Option<String>,
    pub data: Option<DataSet>,
    pub compression: Compression,
    pub accuracy: Option<Accuracy>,
    pub efficiency: Efficiency,
    pub robustness: Option<Robustness>,
    /// Chart files relative to the report directory.
    pub charts: Vec<String>,
}

/// Writes `bytes` to `path` through `path.tmp` and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = tmp_path(path);
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|f| f.to_os_string()).unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Draws a chart into `path.tmp`, then renames it.
fn chart(path: &Path, draw: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let tmp = tmp_path(path);
    draw(&tmp)?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
}

/// A level as the tables and charts label it (0, 1e-5, 0.05).
pub fn rate_label(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if x < 1e-2 {
        format!("{x:.0e}")
    } else {
        format!("{x}")
    }
}

fn points(levels: &[LevelResult]) -> Vec<RangePoint> {
    levels
        .iter()
        .map(|l| RangePoint {
            label: rate_label(l.level),
            mean: 100.0 * l.accuracy.mean,
            min: 100.0 * l.accuracy.min,
            max: 100.0 * l.accuracy.max,
        })
        .collect()
}

/// Writes `dir/evaluate.md`, `dir/evaluate.json` and `dir/charts/evaluate-*.svg`; returns the
/// Markdown path. `report.charts` is filled in here.
pub fn write(dir: &Path, report: &mut EvaluateReport) -> Result<PathBuf> {
    let charts_dir = dir.join("charts");
    std::fs::create_dir_all(&charts_dir).with_context(|| format!("creating {}", charts_dir.display()))?;
    let mut charts = Vec::new();
    let layers = &report.efficiency.layers;
    let label = |l: &LayerReport| format!("{} {}", l.descriptor, l.name);
    let cycles: Vec<Bar> = layers.iter().map(|l| Bar { label: label(l), value: l.cycles as f64 }).collect();
    chart(&charts_dir.join("evaluate-cycles.svg"), |p| {
        bar_chart(p, "Cycles per engine layer", "cycles", &cycles, None)
    })?;
    charts.push("charts/evaluate-cycles.svg".to_string());
    let util: Vec<Bar> = layers.iter().map(|l| Bar { label: label(l), value: 100.0 * l.utilization }).collect();
    chart(&charts_dir.join("evaluate-utilization.svg"), |p| {
        bar_chart(p, "MAC utilisation per engine layer", "% of R x C MAC slots", &util, Some(100.0))
    })?;
    charts.push("charts/evaluate-utilization.svg".to_string());
    if let Some(r) = &report.robustness {
        if !r.bit_flips.is_empty() {
            let pts = points(&r.bit_flips);
            chart(&charts_dir.join("evaluate-bit-flips.svg"), |p| {
                range_chart(p, "Top-1 under weight bit flips", "flip probability per bit", "top-1 %", &pts, 100.0)
            })?;
            charts.push("charts/evaluate-bit-flips.svg".to_string());
        }
        if !r.noise.is_empty() {
            let pts = points(&r.noise);
            chart(&charts_dir.join("evaluate-noise.svg"), |p| {
                range_chart(p, "Top-1 under Gaussian input noise", "noise std (input units)", "top-1 %", &pts, 100.0)
            })?;
            charts.push("charts/evaluate-noise.svg".to_string());
        }
    }
    report.charts = charts;
    let json = serde_json::to_string_pretty(report).context("serialising evaluate.json")? + "\n";
    write_atomic(&dir.join("evaluate.json"), json.as_bytes())?;
    let md = dir.join("evaluate.md");
    write_atomic(&md, markdown(report).as_bytes())?;
    Ok(md)
}

fn pct(x: f64) -> String {
    format!("{:.2} %", 100.0 * x)
}

fn opt_pct(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".to_string(), pct)
}

/// The Markdown text of `evaluate.md`.
pub fn markdown(r: &EvaluateReport) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Evaluation of `{}`\n", r.model);
    if let Some(b) = &r.baseline {
        let _ = writeln!(o, "Float baseline: `{b}`.");
    }
    if let Some(d) = &r.data {
        let _ = writeln!(
            o,
            "Labelled set: `{}` with `{}`, {} of {} samples.",
            d.data, d.labels, d.samples, d.samples_in_file
        );
    }
    let _ = writeln!(o, "\n## Compression\n");
    let _ = writeln!(o, "| model | weight bytes | MACs |\n|---|---|---|");
    let c = &r.compression;
    let _ = writeln!(o, "| `{}` | {} | {} |", r.model, c.model.weight_bytes, c.model.macs);
    if let (Some(b), Some(name)) = (&c.baseline, &r.baseline) {
        let _ = writeln!(o, "| `{name}` (baseline) | {} | {} |", b.weight_bytes, b.macs);
        let ratio = |x: Option<f64>| x.map_or_else(|| "n/a".into(), |v| format!("{v:.2} x"));
        let _ = writeln!(
            o,
            "\nWeight bytes {} smaller, MACs {} fewer than the baseline.",
            ratio(c.weight_ratio),
            ratio(c.mac_ratio)
        );
    }
    let _ = writeln!(o, "\n## Accuracy\n");
    match &r.accuracy {
        Some(a) => {
            let _ = writeln!(o, "| top-1 (bit-exact integer reference) | baseline top-1 | agreement with baseline |");
            let _ = writeln!(o, "|---|---|---|");
            let _ = writeln!(
                o,
                "| {} ({} correct) | {} | {} |",
                pct(a.top1),
                a.correct,
                opt_pct(a.baseline_top1),
                opt_pct(a.agreement)
            );
        }
        None => {
            let _ = writeln!(o, "No labelled data (`--data X.npy --labels Y.npy`).");
        }
    }
    let e = &r.efficiency;
    let _ = writeln!(o, "\n## Compute efficiency (cycle model)\n");
    let _ = writeln!(
        o,
        "{} x {} array sized {}; DRAM latency {} cycles, a beat every {} cycle(s).\n",
        e.array[0], e.array[1], e.sizing, e.dram_latency, e.dram_interval
    );
    let _ = writeln!(o, "| cycles per inference | MACs | MAC utilisation | DMA stall cycles | Fmax | latency |");
    let _ = writeln!(o, "|---|---|---|---|---|---|");
    let _ = writeln!(
        o,
        "| {} | {} | {:.2} % | {} | {:.1} MHz ({}) | {:.2} us |\n",
        e.total_cycles,
        e.macs,
        100.0 * e.utilization,
        e.dma_stall_cycles,
        e.fmax_mhz,
        e.fmax_source,
        e.latency_us
    );
    let _ = writeln!(o, "| # | layer | op | cycles | MACs | utilisation | stall cycles | timing |");
    let _ = writeln!(o, "|---|---|---|---|---|---|---|---|");
    for l in &e.layers {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {:.2} % | {} | {} |",
            l.descriptor,
            l.name,
            l.op,
            l.cycles,
            l.macs,
            100.0 * l.utilization,
            l.stall_cycles,
            if l.exact { "exact" } else { "estimate" }
        );
    }
    for c in r.charts.iter().filter(|c| c.contains("cycles") || c.contains("utilization")) {
        let _ = writeln!(o, "\n![{c}]({c})");
    }
    if let Some(rb) = &r.robustness {
        let _ = writeln!(o, "\n## Robustness\n");
        let _ = writeln!(
            o,
            "{} trial(s) per level, seed {} (ChaCha8; rerunning with the same seed reproduces every number). \
             Accuracy is top-1 against the labels, agreement is top-1 equal to the clean model's.\n",
            rb.trials, rb.seed
        );
        let table = |o: &mut String, title: &str, unit: &str, levels: &[LevelResult], flips: bool| {
            let _ = writeln!(o, "### {title}\n");
            let extra = if flips { " | flipped bits (mean) |" } else { " |" };
            let _ = writeln!(o, "| {unit} | accuracy mean | min | max | agreement mean{extra}");
            let _ = writeln!(o, "|---|---|---|---|---|{}", if flips { "---|" } else { "" });
            for l in levels {
                let f = if flips { format!(" {:.1} |", l.flipped_bits_mean) } else { String::new() };
                let _ = writeln!(
                    o,
                    "| {} | {} | {} | {} | {} |{f}",
                    rate_label(l.level),
                    pct(l.accuracy.mean),
                    pct(l.accuracy.min),
                    pct(l.accuracy.max),
                    pct(l.agreement.mean)
                );
            }
            let _ = writeln!(o);
        };
        if !rb.bit_flips.is_empty() {
            let title = format!("Weight bit flips ({} weight bits, each flipped independently)", rb.weight_bits);
            table(&mut o, &title, "flip probability per bit", &rb.bit_flips, true);
            let _ = writeln!(o, "![bit flips](charts/evaluate-bit-flips.svg)\n");
        }
        if !rb.noise.is_empty() {
            table(&mut o, "Gaussian input noise (real input units)", "noise std", &rb.noise, false);
            let _ = writeln!(o, "![noise](charts/evaluate-noise.svg)\n");
        }
    }
    o
}
