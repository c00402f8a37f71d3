//! The engine report: `report.md` with SVG charts and its JSON twin `report.json`, rendered from
//! the facts that `generate`, `synth` and `simulate` leave in an engine directory
//! ([`facts`]). `systole generate` renders it once; `systole report DIR` re-renders it after
//! synthesis or simulation results were added.

pub mod charts;
pub mod evaluate;
pub mod facts;
mod markdown;

use anyhow::{Context, Result};
use charts::{bar_chart, Bar};
use facts::{Facts, SimulateFact, SynthFact};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Where the charts go, relative to the engine directory.
pub const CHART_DIR: &str = "charts";

/// One target's resources with the part's capacity (when the part is known) and the latency of
/// one inference at the achieved Fmax.
#[derive(Clone, Debug, Serialize)]
pub struct TargetSummary {
    #[serde(flatten)]
    pub synth: SynthFact,
    /// LUT / DSP / block-RAM use in percent of the part (null for an unknown part).
    pub lut_percent: Option<f64>,
    pub dsp_percent: Option<f64>,
    pub bram_percent: Option<f64>,
    /// Engine cycles of one inference / Fmax (null without Fmax).
    pub latency_us: Option<f64>,
}

/// A simulated run next to the generator's exact per-layer counts.
#[derive(Clone, Debug, Serialize)]
pub struct SimulateSummary {
    pub file: String,
    pub engine: String,
    pub total_cycles: u64,
    pub layer_cycles: u64,
    /// Every layer's cycles equal the generator's exact count (false when any layer differs or
    /// the layer lists do not line up).
    pub matches_generate: bool,
}

/// `report.json`.
#[derive(Clone, Debug, Serialize)]
pub struct ReportJson<'a> {
    pub model: &'a str,
    pub name: &'a str,
    pub array: [u32; 2],
    pub config_hash: String,
    pub engine_cycles: u64,
    pub macs: u64,
    pub utilization: f64,
    pub engine_layers: usize,
    pub host_nodes: Vec<&'a str>,
    pub layers: &'a [facts::LayerFact],
    pub targets: Vec<TargetSummary>,
    pub simulations: Vec<SimulateSummary>,
    pub charts: Vec<String>,
}

/// What `render` wrote.
pub struct Rendered {
    pub markdown: PathBuf,
    pub json: PathBuf,
    pub charts: Vec<PathBuf>,
}

fn target_summary(synth: &SynthFact, cycles: u64) -> TargetSummary {
    let part = systole_arch::resources::part(&synth.target);
    let pct = |used: f64, cap: u32| (cap > 0).then(|| 100.0 * used / cap as f64);
    TargetSummary {
        lut_percent: part.and_then(|p| pct(synth.luts as f64, p.lut)),
        dsp_percent: part.and_then(|p| pct(synth.dsps as f64, p.dsp)),
        bram_percent: part.and_then(|p| pct(synth.brams, p.ram_blocks)),
        latency_us: synth.fmax_mhz.filter(|f| *f > 0.0).map(|f| cycles as f64 / f),
        synth: synth.clone(),
    }
}

fn simulate_summary(path: &Path, sim: &SimulateFact, facts: &Facts) -> SimulateSummary {
    let layer_cycles = sim.layers.iter().map(|l| l.cycles).sum();
    let gen = &facts.generate.layers;
    let matches_generate =
        sim.layers.len() == gen.len() && sim.layers.iter().zip(gen).all(|(s, g)| s.cycles == g.cycles);
    SimulateSummary {
        file: path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
        engine: sim.engine.clone(),
        total_cycles: sim.total_cycles,
        layer_cycles,
        matches_generate,
    }
}

fn draw_charts(dir: &Path, facts: &Facts, targets: &[TargetSummary]) -> Result<Vec<PathBuf>> {
    let chart_dir = dir.join(CHART_DIR);
    std::fs::create_dir_all(&chart_dir).with_context(|| format!("creating {}", chart_dir.display()))?;
    let layers = &facts.generate.layers;
    let label = |l: &facts::LayerFact| format!("{} {}", l.descriptor, l.op);
    let mut out = Vec::new();
    let cycles = chart_dir.join("cycles.svg");
    let bars: Vec<Bar> = layers.iter().map(|l| Bar { label: label(l), value: l.cycles as f64 }).collect();
    bar_chart(&cycles, "Cycles per engine layer", "cycles", &bars, None)?;
    out.push(cycles);
    let util = chart_dir.join("utilization.svg");
    let bars: Vec<Bar> = layers.iter().map(|l| Bar { label: label(l), value: 100.0 * l.utilization }).collect();
    bar_chart(&util, "MAC utilisation per engine layer", "% of R x C MAC slots", &bars, Some(100.0))?;
    out.push(util);
    let mut bars = Vec::new();
    for t in targets {
        for (kind, v) in [("LUT", t.lut_percent), ("DSP", t.dsp_percent), ("BRAM", t.bram_percent)] {
            if let Some(v) = v {
                bars.push(Bar { label: format!("{} {kind}", t.synth.target), value: v });
            }
        }
    }
    if !bars.is_empty() {
        let top = bars.iter().map(|b| b.value).fold(100.0, f64::max);
        let res = chart_dir.join("resources.svg");
        bar_chart(&res, "Resources in percent of the part", "% of the part", &bars, Some(top))?;
        out.push(res);
    }
    Ok(out)
}

/// Renders `dir/report.md`, `dir/report.json` and `dir/charts/*.svg` from the facts in `dir`.
pub fn render(dir: &Path) -> Result<Rendered> {
    let facts = facts::load(dir)?;
    let cycles = facts.generate.total_cycles();
    let targets: Vec<TargetSummary> = facts.synth.iter().map(|(_, s)| target_summary(s, cycles)).collect();
    let sims: Vec<SimulateSummary> = facts.simulate.iter().map(|(p, s)| simulate_summary(p, s, &facts)).collect();
    let charts = draw_charts(dir, &facts, &targets)?;
    let chart_names: Vec<String> =
        charts.iter().filter_map(|p| p.strip_prefix(dir).ok().map(|r| r.to_string_lossy().into_owned())).collect();

    let g = &facts.generate;
    let json = ReportJson {
        model: &g.model,
        name: &g.name,
        array: g.array,
        config_hash: format!("{:#010x}", g.config_hash),
        engine_cycles: cycles,
        macs: g.total_macs(),
        utilization: g.utilization(),
        engine_layers: g.layers.len(),
        host_nodes: g.partition.iter().filter(|p| p.placement == "host").map(|p| p.node.as_str()).collect(),
        layers: &g.layers,
        targets: targets.clone(),
        simulations: sims.clone(),
        charts: chart_names.clone(),
    };
    let json_path = dir.join("report.json");
    let text = serde_json::to_string_pretty(&json).context("serialising report.json")?;
    std::fs::write(&json_path, text + "\n").with_context(|| format!("writing {}", json_path.display()))?;

    let md_path = dir.join("report.md");
    let md = markdown::render(&facts, &targets, &sims, &chart_names);
    std::fs::write(&md_path, md).with_context(|| format!("writing {}", md_path.display()))?;
    Ok(Rendered { markdown: md_path, json: json_path, charts })
}
