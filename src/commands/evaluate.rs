//! `systole evaluate MODEL [--data X.npy --labels Y.npy] [--baseline FLOAT.onnx] [--out-dir DIR]
//! [--report R.json]`: the trade-off numbers of a quantized (or pruned, or int4) model.
//!
//! * compression: weight bytes and MACs against the float baseline;
//! * accuracy: top-1 on the bit-exact integer reference, the baseline's top-1 on the float
//!   reference, and their agreement;
//! * compute efficiency: the engine `systole generate` sizes under the same budget, run once on
//!   the cycle model exactly as `systole simulate` does (cycles, MAC utilisation, per layer),
//!   latency at `--fmax`, a synth report's Fmax, or a stated nominal clock;
//! * robustness: accuracy under seeded Gaussian input noise and seeded weight bit flips.
//!
//! Library pieces: `systole_model::evaluate` (data, metrics, flips, noise),
//! `systole_model::quantize::FloatModel` (baseline), `crate::report::evaluate` (rendering).

use super::simulate::{engine_config, simulate_graph, Engine};
use crate::report::evaluate::{self as report, *};
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use systole_arch::axi_timing::DramTiming;
use systole_model::evaluate::{bitflip, data, metrics, predict, Experiment};
use systole_model::ir::{Graph, TensorData, Value};
use systole_model::load::load_model;
use systole_model::npy;
use systole_model::quantize::{FTensor, FloatModel};
use systole_model::summary::summarize;

/// Clock assumed for the latency when neither `--fmax` nor `--synth-report` gives one.
pub const NOMINAL_MHZ: f64 = 100.0;

#[derive(clap::Args)]
pub struct Args {
    /// The quantized model (.tflite or .onnx; int8 or int4 weights).
    model: PathBuf,
    /// Inputs, a batch [N, *input shape] (or [N, *input shape without its batch of 1]); float
    /// data for a quantized input is quantized with the input's parameters.
    #[arg(long, requires = "labels")]
    data: Option<PathBuf>,
    /// One integer class per sample of --data: [N] or [N, 1].
    #[arg(long, requires = "data")]
    labels: Option<PathBuf>,
    /// The float32 ONNX model the quantized one came from (weight bytes, MACs, accuracy, agreement).
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Evaluate on the first N samples only.
    #[arg(long)]
    limit: Option<usize>,
    /// Write evaluate.md, evaluate.json and charts/evaluate-*.svg into this directory.
    #[arg(long)]
    out_dir: Option<PathBuf>,
    /// Write the JSON report to this file.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Size the engine as `systole generate --budget-macs N` does (default 256).
    #[arg(long, conflicts_with = "part")]
    budget_macs: Option<u32>,
    /// Size the engine as `systole generate --part P` does.
    #[arg(long)]
    part: Option<String>,
    /// DRAM latency in cycles of the cycle model (as `systole simulate`).
    #[arg(long, default_value_t = 40)]
    dram_latency: u64,
    /// Cycles between beats of a burst (as `systole simulate`).
    #[arg(long, default_value_t = 1)]
    dram_interval: u64,
    /// Clock for the latency, MHz (e.g. the Fmax `systole synth` reported).
    #[arg(long, conflicts_with = "synth_report")]
    fmax: Option<f64>,
    /// Take the clock from a `systole synth --report R.json` (its fmax_mhz).
    #[arg(long)]
    synth_report: Option<PathBuf>,
    /// Gaussian input noise levels: standard deviations in real input units, comma-separated
    /// ("none" skips the experiment).
    #[arg(long, default_value = "0.05,0.1,0.2,0.4", value_parser = parse_levels)]
    noise: Levels,
    /// Probabilities with which every weight bit flips, independently, comma-separated ("none"
    /// skips the experiment).
    #[arg(long, default_value = "1e-5,1e-4,1e-3,1e-2", value_parser = parse_levels)]
    bit_flip_rates: Levels,
    /// Random trials per noise level and bit-flip rate (mean, min, max reported).
    #[arg(long, default_value_t = 5)]
    trials: usize,
    /// Seed of every random draw (recorded in the report).
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// No progress and no summary.
    #[arg(long)]
    quiet: bool,
    /// Print the JSON report on stdout (no progress).
    #[arg(long)]
    json: bool,
}

/// A comma-separated list of experiment levels.
#[derive(Clone, Debug)]
pub struct Levels(Vec<f64>);

fn parse_levels(s: &str) -> Result<Levels, String> {
    let s = s.trim();
    if s.is_empty() || s == "none" {
        return Ok(Levels(Vec::new()));
    }
    s.split(',')
        .map(|x| x.trim().parse::<f64>().map_err(|e| format!("{x:?}: {e}")))
        .collect::<Result<_, _>>()
        .map(Levels)
}

fn check_options(a: &Args) -> Result<()> {
    if a.trials == 0 {
        bail!("--trials must be at least 1");
    }
    if a.limit == Some(0) {
        bail!("--limit must be at least 1");
    }
    if let Some(r) = a.bit_flip_rates.0.iter().find(|r| !(0.0..=1.0).contains(*r)) {
        bail!("--bit-flip-rates: {r} is not a probability in [0, 1]");
    }
    if let Some(s) = a.noise.0.iter().find(|s| !(s.is_finite() && **s >= 0.0)) {
        bail!("--noise: {s} is not a standard deviation (finite, >= 0)");
    }
    if let Some(f) = a.fmax.filter(|f| !(f.is_finite() && *f > 0.0)) {
        bail!("--fmax {f}: expected a clock in MHz above 0");
    }
    Ok(())
}

/// The labelled samples (after `--limit`) and what the report says about them.
struct Labelled {
    samples: Vec<Value>,
    labels: Vec<i64>,
    set: Option<DataSet>,
}

fn read_labelled(a: &Args, graph: &Graph) -> Result<Labelled> {
    let (Some(dp), Some(lp)) = (&a.data, &a.labels) else {
        return Ok(Labelled { samples: Vec::new(), labels: Vec::new(), set: None });
    };
    let input = graph.inputs.first().map(|&id| graph.tensor(id)).context("the model has no input")?;
    let x = npy::read_value(dp).with_context(|| format!("reading {}", dp.display()))?;
    let y = npy::read_value(lp).with_context(|| format!("reading {}", lp.display()))?;
    let mut samples = data::split_samples(&x, input, graph.numerics, &dp.display().to_string())
        .with_context(|| format!("{} as inputs of {}", dp.display(), a.model.display()))?;
    let what = format!("{} (labels of {})", lp.display(), dp.display());
    let mut labels = data::labels(&y, samples.len(), &what)?;
    let in_file = samples.len();
    if let Some(n) = a.limit {
        samples.truncate(n);
        labels.truncate(n);
    }
    let set = DataSet {
        data: dp.display().to_string(),
        labels: lp.display().to_string(),
        samples: samples.len(),
        samples_in_file: in_file,
    };
    Ok(Labelled { samples, labels, set: Some(set) })
}

/// An all-zero-point input (for the cycle run and the baseline's MAC count without data).
fn zero_input(graph: &Graph) -> Result<Value> {
    let t = graph.inputs.first().map(|&id| graph.tensor(id)).context("the model has no input")?;
    let n = t.element_count();
    let data = match t.dtype {
        systole_model::ir::DType::F32 => TensorData::F32(vec![0.0; n]),
        dt => TensorData::from_i32(dt, vec![t.zero_point(); n]),
    };
    Ok(Value::new(t.shape.clone(), data))
}

/// The parsed baseline with its input shape resolved against the model's.
struct Baseline {
    path: PathBuf,
    model: FloatModel,
    shape: Vec<usize>,
}

fn load_baseline(path: &Path, model_path: &Path, graph: &Graph) -> Result<Baseline> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let name = systole_model::load::model_name(path);
    let model = FloatModel::parse(&bytes, &name)
        .with_context(|| format!("{}: not a float ONNX model systole runs", path.display()))?;
    let input = graph.inputs.first().map(|&id| graph.tensor(id)).context("the model has no input")?;
    let declared = model.input_shape(0).unwrap_or_default();
    let fits = model.input_count() == 1
        && declared.len() == input.shape.len()
        && declared.iter().zip(&input.shape).all(|(d, s)| d.unwrap_or(*s) == *s);
    if !fits {
        let dims: Vec<String> = declared.iter().map(|d| d.map_or("?".into(), |d| d.to_string())).collect();
        bail!(
            "baseline {} takes {} input(s), the first of shape [{}]; {} takes one input of shape {:?}",
            path.display(),
            model.input_count(),
            dims.join(", "),
            model_path.display(),
            input.shape
        );
    }
    Ok(Baseline { path: path.to_path_buf(), model, shape: input.shape.clone() })
}

impl Baseline {
    fn tensor(&self, graph: &Graph, sample: &Value) -> Result<FTensor> {
        let input = graph.inputs.first().map(|&id| graph.tensor(id)).context("the model has no input")?;
        Ok(FTensor::new(self.shape.clone(), data::real_valued(sample, input)?))
    }

    /// Top-1 of the baseline; its output must have as many scores as the model's.
    fn top1(&self, graph: &Graph, model_path: &Path, sample: &Value) -> Result<usize> {
        let out =
            self.model.run(&self.tensor(graph, sample)?).with_context(|| format!("running {}", self.path.display()))?;
        let first = out.into_iter().next().with_context(|| format!("{} produced no output", self.path.display()))?;
        let expected = graph.outputs.first().map_or(0, |&id| graph.tensor(id).element_count());
        if first.data.len() != expected {
            bail!(
                "baseline {} output has shape {:?}, {} output has {} elements: not the same classifier",
                self.path.display(),
                first.shape,
                model_path.display(),
                expected
            );
        }
        metrics::top1(&Value::new(first.shape, TensorData::F32(first.data)))
            .with_context(|| format!("{}: output has no class scores", self.path.display()))
    }
}

fn fmax(a: &Args) -> Result<(f64, String)> {
    if let Some(f) = a.fmax {
        return Ok((f, "--fmax".to_string()));
    }
    let Some(path) = &a.synth_report else {
        return Ok((NOMINAL_MHZ, format!("nominal {NOMINAL_MHZ} MHz, not a synthesised Fmax")));
    };
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not a JSON synth report", path.display()))?;
    match json.get("fmax_mhz").and_then(serde_json::Value::as_f64) {
        Some(f) if f > 0.0 => Ok((f, format!("synth report {}", path.display()))),
        _ => bail!(
            "{} has no fmax_mhz (the target's flow reports no Fmax, e.g. Yosys-only xc7 targets): pass --fmax MHZ",
            path.display()
        ),
    }
}

fn is_float_onnx(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|bytes| FloatModel::parse(&bytes, "model").is_ok())
}

fn progress(a: &Args, total: u64) -> ProgressBar {
    if a.quiet || a.json || total == 0 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template("{msg:28} [{bar:30}] {pos}/{len} runs ({elapsed}, eta {eta})") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

pub fn run(a: &Args) -> Result<()> {
    check_options(a)?;
    let budget = crate::generate_budget(a.budget_macs, a.part.as_deref())?;
    let dram = DramTiming::new(a.dram_latency, a.dram_interval).context("--dram-latency / --dram-interval")?;
    let (fmax_mhz, fmax_source) = fmax(a)?;
    let model_name = a.model.display().to_string();
    let graph = match load_model(&a.model) {
        Ok(g) => g,
        // A float ONNX model fails the import on its first float operator; say what it is.
        Err(e) if is_float_onnx(&a.model) => {
            bail!(
                "{model_name} is not an int8/int4 model but a float ONNX model ({e}): evaluate a quantized model \
                 (`systole quantize`) and pass the float one as --baseline"
            )
        }
        Err(e) => return Err(e).with_context(|| format!("loading {model_name}")),
    };
    bitflip::require_quantized(&graph, &model_name)?;
    if graph.inputs.len() != 1 || graph.outputs.is_empty() {
        bail!("{model_name} has {} inputs: evaluate takes single-input classifiers", graph.inputs.len());
    }
    let set = read_labelled(a, &graph)?;
    let baseline = a.baseline.as_deref().map(|p| load_baseline(p, &a.model, &graph)).transpose()?;

    let n = set.samples.len() as u64;
    let levels = (a.noise.0.len() + a.bit_flip_rates.0.len()) as u64;
    let bar = progress(a, n * (1 + u64::from(baseline.is_some()) + levels * a.trials as u64));
    bar.set_message("int8 reference");
    let preds = predict(&graph, &set.samples, &mut || bar.inc(1))?;

    let first = match set.samples.first() {
        Some(s) => s.clone(),
        None => zero_input(&graph)?,
    };
    let summary = summarize(&graph);
    let model_size = Size { weight_bytes: summary.total_weight_bytes, macs: summary.total_macs };
    let mut baseline_size = None;
    let mut baseline_preds = Vec::new();
    if let Some(b) = &baseline {
        bar.set_message("float baseline");
        let s = b.model.size(&b.tensor(&graph, &first)?).with_context(|| format!("running {}", b.path.display()))?;
        baseline_size = Some(Size { weight_bytes: s.weight_bytes, macs: s.macs });
        for sample in &set.samples {
            baseline_preds.push(b.top1(&graph, &a.model, sample)?);
            bar.inc(1);
        }
        if set.samples.is_empty() {
            b.top1(&graph, &a.model, &first)?; // the output-shape check, even without data
        }
    }
    let ratio = |b: u64, m: u64| (m > 0).then(|| b as f64 / m as f64);
    let compression = Compression {
        weight_ratio: baseline_size.as_ref().and_then(|b| ratio(b.weight_bytes, model_size.weight_bytes)),
        mac_ratio: baseline_size.as_ref().and_then(|b| ratio(b.macs, model_size.macs)),
        model: model_size,
        baseline: baseline_size,
    };
    let accuracy = set.set.as_ref().map(|_| Accuracy {
        top1: metrics::accuracy(&preds, &set.labels),
        correct: preds.iter().zip(&set.labels).filter(|(&p, &l)| i64::try_from(p).is_ok_and(|p| p == l)).count(),
        baseline_top1: baseline.as_ref().map(|_| metrics::accuracy(&baseline_preds, &set.labels)),
        agreement: baseline.as_ref().map(|_| metrics::agreement(&preds, &baseline_preds)),
    });

    bar.set_message("cycle model");
    let cfg = engine_config(&graph, None, &budget)?;
    let (_, run) = simulate_graph(&graph, &cfg, Engine::Cycle, dram, None, std::slice::from_ref(&first))?;
    let efficiency = Efficiency {
        engine: cfg.name.clone(),
        array: run.array,
        sizing: format!("as `systole generate` does for {}", budget.label()),
        dram_latency: a.dram_latency,
        dram_interval: a.dram_interval,
        total_cycles: run.total_cycles,
        layer_cycles: run.layer_cycles,
        dma_stall_cycles: run.dma_stall_cycles,
        macs: run.macs,
        utilization: run.utilization,
        fmax_mhz,
        fmax_source,
        latency_us: run.total_cycles as f64 / fmax_mhz,
        layers: run.layers,
    };

    let robustness = if set.samples.is_empty() || levels == 0 {
        None
    } else {
        let exp = Experiment {
            graph: &graph,
            samples: &set.samples,
            labels: &set.labels,
            clean: &preds,
            trials: a.trials,
            seed: a.seed,
        };
        bar.set_message("input noise");
        let noise = exp.noise(&a.noise.0, &mut || bar.inc(1))?;
        bar.set_message("weight bit flips");
        let bit_flips = exp.bit_flips(&a.bit_flip_rates.0, &mut || bar.inc(1))?;
        Some(Robustness { seed: a.seed, trials: a.trials, weight_bits: bitflip::weight_bits(&graph), noise, bit_flips })
    };
    bar.finish_and_clear();

    let mut rep = EvaluateReport {
        model: model_name,
        baseline: baseline.as_ref().map(|b| b.path.display().to_string()),
        data: set.set,
        compression,
        accuracy,
        efficiency,
        robustness,
        charts: Vec::new(),
    };
    let markdown = match &a.out_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            Some(report::write(dir, &mut rep)?)
        }
        None => None,
    };
    let json = serde_json::to_string_pretty(&rep).context("serialising the report")? + "\n";
    if let Some(path) = &a.report {
        write_atomic(path, json.as_bytes())?;
    }
    if a.json {
        print!("{json}");
    } else if !a.quiet {
        print_summary(&rep, markdown.as_deref());
    }
    Ok(())
}

fn print_summary(r: &EvaluateReport, markdown: Option<&Path>) {
    let c = &r.compression;
    print!("{}: {} weight bytes, {} MACs", r.model, c.model.weight_bytes, c.model.macs);
    if let (Some(b), Some(w)) = (&c.baseline, c.weight_ratio) {
        print!(" (baseline {} B, {} MACs: {w:.2} x smaller)", b.weight_bytes, b.macs);
    }
    println!();
    if let Some(acc) = &r.accuracy {
        print!("top-1 {:.2} % ({} correct)", 100.0 * acc.top1, acc.correct);
        if let (Some(b), Some(g)) = (acc.baseline_top1, acc.agreement) {
            print!(", baseline {:.2} %, agreement {:.2} %", 100.0 * b, 100.0 * g);
        }
        println!();
    }
    let e = &r.efficiency;
    println!(
        "{} x {} engine: {} cycles, utilisation {:.2} %, {:.2} us at {:.1} MHz ({})",
        e.array[0],
        e.array[1],
        e.total_cycles,
        100.0 * e.utilization,
        e.latency_us,
        e.fmax_mhz,
        e.fmax_source
    );
    if let Some(rb) = &r.robustness {
        for (what, levels) in [("bit-flip rate", &rb.bit_flips), ("noise std", &rb.noise)] {
            for l in levels.iter() {
                println!(
                    "{what} {}: top-1 mean {:.2} % (min {:.2}, max {:.2}) over {} trial(s)",
                    report::rate_label(l.level),
                    100.0 * l.accuracy.mean,
                    100.0 * l.accuracy.min,
                    100.0 * l.accuracy.max,
                    l.trials
                );
            }
        }
    }
    if let Some(md) = markdown {
        println!("wrote {}", md.display());
    }
}
