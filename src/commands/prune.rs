//! `systole prune MODEL --ratio R [--criterion l1|l2] --out PRUNED`: structured pruning of
//! output channels (library: `systole_model::prune`). The output is written to a temporary file
//! next to `--out` and renamed, so a failure never leaves a partial model.

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use std::path::{Path, PathBuf};
use systole_model::load::{detect_format, model_name, ModelFormat};
use systole_model::prune::{self, Criterion, Options, Pruned};
use systole_model::{import, summary};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum CriterionArg {
    L1,
    L2,
}

#[derive(clap::Args)]
pub struct Args {
    /// The ONNX model (float, or quantized QDQ / QOperator).
    model: PathBuf,
    /// Fraction of each prunable layer's output channels to remove, in [0, 1) (at least one kept).
    // Negative numbers parse as values so that `--ratio -0.5` gets the range error, not a clap one.
    #[arg(long, allow_negative_numbers = true)]
    ratio: f64,
    /// Channel ranking: L1 or L2 norm of each output channel's (dequantized) weights.
    #[arg(long, value_enum, default_value = "l1")]
    criterion: CriterionArg,
    /// The pruned model to write (same format).
    #[arg(long, short = 'o')]
    out: PathBuf,
    /// Also write the per-layer report and totals as JSON.
    #[arg(long)]
    report: Option<PathBuf>,
}

pub fn run(args: &Args) -> Result<()> {
    let bytes = std::fs::read(&args.model).with_context(|| format!("reading {}", args.model.display()))?;
    if detect_format(&args.model, &bytes)? == ModelFormat::Tflite {
        bail!(
            "prune supports ONNX models; TFLite models cannot be pruned yet (systole has no TFLite writer): \
             prune the ONNX or float model before converting, or convert with tf2onnx"
        );
    }
    let opts = Options {
        ratio: args.ratio,
        criterion: match args.criterion {
            CriterionArg::L1 => Criterion::L1,
            CriterionArg::L2 => Criterion::L2,
        },
    };
    let pruned = prune::prune_onnx(&bytes, &opts).with_context(|| format!("pruning {}", args.model.display()))?;
    // A quantized model systole imports must still import after pruning; check before writing.
    let name = model_name(&args.model);
    let ir_before = import::onnx::import_onnx(&bytes, &name).ok();
    let ir_after = match &ir_before {
        Some(_) => match import::onnx::import_onnx(&pruned.model, &name) {
            Ok(g) => Some(g),
            Err(e) => bail!("internal error: the pruned model does not import back into systole: {e}"),
        },
        None => None,
    };
    write_atomically(&args.out, &pruned.model)?;
    print!("{}", render(&pruned));
    if let (Some(b), Some(a)) = (&ir_before, &ir_after) {
        let (b, a) = (summary::summarize(b), summary::summarize(a));
        println!(
            "systole IR (model::summary): weight bytes {} -> {}, MACs {} -> {}",
            b.total_weight_bytes, a.total_weight_bytes, b.total_macs, a.total_macs
        );
    }
    println!("wrote {} ({} -> {} bytes)", args.out.display(), bytes.len(), pruned.model.len());
    if let Some(path) = &args.report {
        let json = serde_json::to_string_pretty(&pruned)?;
        write_atomically(path, json.as_bytes())?;
    }
    Ok(())
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path.file_name().with_context(|| format!("{} is not a file name", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
}

fn percent(before: u64, after: u64) -> String {
    if before == 0 {
        return "-".into();
    }
    format!("{:.1} %", 100.0 * after as f64 / before as f64)
}

fn render(p: &Pruned) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let w = p.layers.iter().map(|l| l.name.len()).max().unwrap_or(5).max(5);
    let _ = writeln!(o, "{:<w$}  {:<14}  {:>8}  note", "layer", "op", "channels");
    for l in &p.layers {
        let note = l.kept_because.as_deref().map(|r| format!("kept: {r}")).unwrap_or_default();
        let ch = format!("{} -> {}", l.channels_before, l.channels_after);
        let _ = writeln!(o, "{:<w$}  {:<14}  {:>8}  {note}", l.name, l.op, ch);
    }
    let _ = writeln!(
        o,
        "weight bytes {} -> {} ({}), MACs {} -> {} ({})",
        p.before.weight_bytes,
        p.after.weight_bytes,
        percent(p.before.weight_bytes, p.after.weight_bytes),
        p.before.macs,
        p.after.macs,
        percent(p.before.macs, p.after.macs)
    );
    o
}
