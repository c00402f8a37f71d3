//! `systole quantize FLOAT.onnx --calib CALIB.npy --out INT8.onnx`: post-training static
//! quantisation into a QDQ model (library: `systole_model::quantize`).

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use std::path::PathBuf;
use systole_model::quantize::{self, ActType, Method, Options, TensorKind, WeightType};
use systole_model::{import, npy};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum CalibMethod {
    Minmax,
    Percentile,
    Entropy,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Activations {
    Int8,
    Uint8,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum WeightBits {
    #[value(name = "8")]
    Eight,
    #[value(name = "4")]
    Four,
}

#[derive(clap::Args)]
pub struct Args {
    /// The float32 ONNX model.
    model: PathBuf,
    /// Calibration inputs (.npy, float32): [N, *input shape] or [N, *input shape without batch].
    #[arg(long)]
    calib: PathBuf,
    /// The quantized QDQ model to write.
    #[arg(long, short = 'o')]
    out: PathBuf,
    /// Per-channel int8 weights (per-tensor otherwise).
    #[arg(long)]
    per_channel: bool,
    /// Calibration method (onnxruntime's MinMax, Percentile 99.999 % or Entropy).
    #[arg(long, value_enum, default_value = "minmax")]
    method: CalibMethod,
    /// Activation type. int8 keeps onnxruntime's x86 kernels exact; uint8 x int8 with full 8-bit
    /// weights can saturate there (vpmaddubsw) unless --reduce-range.
    #[arg(long, value_enum, default_value = "int8")]
    activations: Activations,
    /// 7-bit weights (onnxruntime reduce_range=True; 3-bit with --weight-bits 4).
    #[arg(long)]
    reduce_range: bool,
    /// Weight width: 8 (int8) or 4 (int4, onnxruntime's QInt4: symmetric [-8, 7], written as ONNX
    /// INT4 initializers with DequantizeLinear at opset 21).
    #[arg(long, value_enum, default_value = "8")]
    weight_bits: WeightBits,
    /// Write every tensor's scale / zero point / calibrated range as JSON.
    #[arg(long)]
    report: Option<PathBuf>,
}

pub fn run(args: &Args) -> Result<()> {
    let bytes = std::fs::read(&args.model).with_context(|| format!("reading {}", args.model.display()))?;
    let calib = npy::read_value(&args.calib).with_context(|| format!("reading {}", args.calib.display()))?;
    let opts = Options {
        method: match args.method {
            CalibMethod::Minmax => Method::MinMax,
            CalibMethod::Percentile => Method::Percentile,
            CalibMethod::Entropy => Method::Entropy,
        },
        per_channel: args.per_channel,
        activation: match args.activations {
            Activations::Int8 => ActType::Int8,
            Activations::Uint8 => ActType::Uint8,
        },
        reduce_range: args.reduce_range,
        weights: match args.weight_bits {
            WeightBits::Eight => WeightType::Int8,
            WeightBits::Four => WeightType::Int4,
        },
    };
    let name = systole_model::load::model_name(&args.model);
    let q = quantize::quantize_onnx(&bytes, &name, &calib, &opts)
        .with_context(|| format!("quantizing {}", args.model.display()))?;
    // The result must be a model systole itself imports; check before writing anything.
    if let Err(e) = import::onnx::import_onnx(&q.model, &name) {
        bail!("internal error: the quantized model does not import back into systole: {e}");
    }
    std::fs::write(&args.out, &q.model).with_context(|| format!("writing {}", args.out.display()))?;
    let count = |k: TensorKind| q.tensors.iter().filter(|t| t.kind == k).count();
    println!(
        "quantized {} with {} calibration samples ({:?}, {} int{} weights, {} activations): {} activations, {} \
         weights, {} biases; {} Relu/Clip folded",
        args.model.display(),
        q.samples,
        opts.method,
        if opts.per_channel { "per-channel" } else { "per-tensor" },
        opts.weights.bits(),
        format!("{:?}", opts.activation).to_lowercase(),
        count(TensorKind::Activation),
        count(TensorKind::Weight),
        count(TensorKind::Bias),
        q.folded_activations
    );
    println!("wrote {} ({} bytes)", args.out.display(), q.model.len());
    if let Some(path) = &args.report {
        let json = serde_json::to_string_pretty(&q.tensors)?;
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
