//! The `systole` command line: one entry point for import, reference execution and (as the
//! project grows) generation, simulation, packing and running on a device.

mod commands;
mod report;

use clap::{CommandFactory, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "systole", version, about = "Quantized CNN -> FPGA systolic accelerator toolchain", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the layer table of a model (op, shapes, MACs, weight bytes, quantisation) with totals,
    /// or decode a packed image (sections, DRAM plan, schedule, descriptors, partition).
    Inspect {
        /// A .tflite or .onnx model, or an image written by `systole pack`.
        model: PathBuf,
        /// Print the table as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run the bit-exact integer reference on .npy inputs and write the outputs as .npy.
    Reference {
        /// A .tflite or .onnx model.
        model: PathBuf,
        /// Input arrays, one per model input, in model input order.
        #[arg(long = "input", short = 'i', required = true)]
        inputs: Vec<PathBuf>,
        /// Output files, one per model output (a single file when the model has one output).
        #[arg(long = "output", short = 'o', required = true)]
        outputs: Vec<PathBuf>,
        /// Write every tensor the run produces as DIR/tNNN.npy, plus DIR/index.json.
        #[arg(long)]
        dump_dir: Option<PathBuf>,
    },
    /// Lower a model onto an engine and write the packed image: descriptors, tiled weights,
    /// params, DRAM plan and schedule (little-endian, CRC-checked sections).
    Pack {
        /// A .tflite or .onnx model.
        model: PathBuf,
        /// The engine's arch.json (from the sizing or the hardware generator).
        #[arg(long)]
        arch: PathBuf,
        /// The image file to write.
        #[arg(long, short = 'o')]
        out: PathBuf,
        /// Device address of the first byte of the DRAM plan (64-byte aligned; decimal or 0x hex).
        #[arg(long, default_value = "0", value_parser = parse_address)]
        dram_base: u64,
    },
    /// Run a packed image on a device: a board (pcie:DDDD:BB:DD.F, xdma:/dev/xdmaN, uio:/dev/uioN,
    /// devmem:0xADDR) or a simulator (sim:cycle, sim:rtl); prints every engine layer's cycles.
    Run {
        /// pcie:DDDD:BB:DD.F[,regs=N,mem=M,mem_addr=A] | xdma:/dev/xdmaN | uio:/dev/uioN[,udmabuf=PATH] |
        /// devmem:0xADDR[,udmabuf=PATH,uio=PATH] | sim:cycle (alias sim:functional) | sim:rtl (the generated top under Verilator) (host/README.md)
        #[arg(long)]
        device: String,
        /// An image written by `systole pack`.
        #[arg(long)]
        image: PathBuf,
        /// Input arrays, one per model input, in model input order.
        #[arg(long = "input", short = 'i', required = true)]
        inputs: Vec<PathBuf>,
        /// Output files, one per model output; written only when the run succeeds.
        #[arg(long = "output", short = 'o', required = true)]
        outputs: Vec<PathBuf>,
        /// Deadline of each engine run, in seconds.
        #[arg(long, default_value_t = 10.0)]
        timeout: f64,
        /// Wait for the engine's interrupt instead of polling STATUS.
        #[arg(long)]
        irq: bool,
        /// Abort a busy or hung engine (CONTROL.SOFT_RESET) after identifying it, instead of
        /// refusing it.
        #[arg(long)]
        reset: bool,
        /// Simulated devices only: DRAM latency in cycles (AR to first R beat, WLAST to B), as
        /// `systole simulate --dram-latency`.
        #[arg(long, default_value_t = 40)]
        dram_latency: u64,
        /// Simulated devices only: cycles between beats of a burst (1 = a beat per cycle).
        #[arg(long, default_value_t = 1)]
        dram_interval: u64,
    },
    /// Size an engine for a model under a budget and emit it: Verilog (top module named after
    /// the model), arch.json, C header, register map, descriptor layout and report.md.
    Generate {
        /// A .tflite or .onnx model.
        model: PathBuf,
        /// Output directory.
        #[arg(long, short = 'o')]
        out: PathBuf,
        /// At most this many MACs (PEs) in the array.
        #[arg(long, conflicts_with = "part")]
        budget_macs: Option<u32>,
        /// Fit this FPGA part: xc7z020, xc7a100t, ecp5-85k, ecp5-25k, ice40up5k.
        #[arg(long)]
        part: Option<String>,
        /// Do not run `verilator --lint-only -Wall` on the emitted Verilog.
        #[arg(long)]
        no_lint: bool,
    },
    /// Run a model on the cycle model or the Verilator RTL of its generated engine through the
    /// host driver; print per-layer cycles, MACs, utilisation and DMA stalls.
    Simulate {
        /// A .tflite or .onnx model.
        model: PathBuf,
        /// Input arrays, one per model input, in model input order.
        #[arg(long = "input", short = 'i', required = true)]
        inputs: Vec<PathBuf>,
        /// Output files, one per model output.
        #[arg(long = "output", short = 'o', required = true)]
        outputs: Vec<PathBuf>,
        /// `cycle` (fast) or `rtl` (the generated Verilog under Verilator).
        #[arg(long, value_enum, default_value = "cycle")]
        engine: commands::simulate::Engine,
        /// The engine's arch.json (default: what `systole generate` sizes under the budget).
        #[arg(long, conflicts_with_all = ["budget_macs", "part"])]
        arch: Option<PathBuf>,
        /// Size the engine as `systole generate --budget-macs N` does (default 256).
        #[arg(long, conflicts_with = "part")]
        budget_macs: Option<u32>,
        /// Size the engine as `systole generate --part P` does.
        #[arg(long)]
        part: Option<String>,
        /// Write the per-layer report as JSON.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Write a VCD waveform of the RTL run (`--engine rtl`).
        #[arg(long)]
        vcd: Option<PathBuf>,
        /// DRAM latency in cycles (AR to first R beat, WLAST to B).
        #[arg(long, default_value_t = 40)]
        dram_latency: u64,
        /// Cycles between beats of a burst (1 = a beat per cycle).
        #[arg(long, default_value_t = 1)]
        dram_interval: u64,
    },
    /// Re-render an engine directory's report (report.md with SVG charts, report.json) from what
    /// `generate`, `synth` (synth-<target>.json) and `simulate --report DIR/simulate*.json` left there.
    Report {
        /// The directory `systole generate` wrote.
        dir: PathBuf,
    },
    /// Post-training quantisation: a float ONNX CNN + calibration data -> an int8 QDQ ONNX model
    /// (onnxruntime's quantize_static rules; loads in onnxruntime, imports in systole).
    Quantize(commands::quantize::Args),
    /// Structured pruning: remove the lowest-norm output channels of every Conv / Gemm / MatMul
    /// (and the matching input channels of their consumers) from an ONNX model (float, QDQ or
    /// QOperator); writes a smaller ONNX model. Residual Adds and Concats stay consistent.
    Prune(commands::prune::Args),
    /// Synthesise a generated engine with the open FPGA tools: resources (LUT, FF, DSP, BRAM and
    /// utilisation) for every target, Fmax after nextpnr place and route for ECP5 (and iCE40 when
    /// nextpnr-ice40 is installed), an ECP5 bitstream with --board.
    Synth {
        /// A `systole generate` output directory (arch.json, <name>.v).
        dir: PathBuf,
        /// xc7z020, xc7a100t (Yosys synth_xilinx), ecp5-85k, ecp5-25k (synth_ecp5 + nextpnr-ecp5), ice40up5k.
        #[arg(long)]
        target: String,
        /// Build a bitstream for this board (ulx3s-85f, with --target ecp5-85k); see bitstreams/README.md.
        #[arg(long)]
        board: Option<String>,
        /// Write the report (resources, Fmax, tool versions, command lines, step times) as JSON.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Logs, netlists and the bitstream (default DIR/synth-<target or board>).
        #[arg(long)]
        work: Option<PathBuf>,
        /// Clock constraint for place and route, MHz (the achieved Fmax is reported either way).
        #[arg(long, default_value_t = 100.0)]
        freq: f64,
        /// Never pip-install the YoWASP tools; fail if nextpnr-ecp5 / ecppack are missing.
        #[arg(long)]
        no_install: bool,
        /// No progress and no summary.
        #[arg(long)]
        quiet: bool,
        /// Print the report as JSON on stdout (no progress).
        #[arg(long)]
        json: bool,
    },
    /// Evaluate a quantized model: compression against its float baseline, top-1 accuracy and
    /// agreement on the bit-exact reference, cycles / utilisation / latency of its generated
    /// engine on the cycle model, robustness to input noise and weight bit flips (Markdown with
    /// SVG charts + JSON).
    Evaluate(commands::evaluate::Args),
    /// Compare two .npy arrays exactly (shape, element type, every element); fails on any difference.
    Compare {
        /// The array under test.
        actual: PathBuf,
        /// The golden array.
        expected: PathBuf,
    },
    /// Print every subcommand's --help as Markdown (docs/CLI.md; `make docs`).
    #[command(hide = true)]
    CliReference {
        /// Write the page to this file instead of stdout.
        #[arg(long, short = 'o')]
        out: Option<PathBuf>,
    },
}

/// `--budget-macs N` or `--part P` (default: 256 MACs).
fn generate_budget(macs: Option<u32>, part: Option<&str>) -> anyhow::Result<systole_arch::Budget> {
    use systole_arch::Budget;
    match (macs, part) {
        (Some(0), _) => anyhow::bail!("--budget-macs must be at least 1"),
        (Some(n), _) => Ok(Budget::MaxMacs(n)),
        (None, Some(p)) => match Budget::parse(p) {
            Some(b @ Budget::Part(_)) => Ok(b),
            _ => anyhow::bail!("unknown part {p:?}: one of xc7z020, xc7a100t, ecp5-85k, ecp5-25k, ice40up5k"),
        },
        (None, None) => Ok(Budget::MaxMacs(256)),
    }
}

fn parse_address(s: &str) -> Result<u64, String> {
    let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    };
    parsed.map_err(|e| format!("not an address: {e}"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect { model, json } => commands::inspect::run(&model, json),
        Command::Reference { model, inputs, outputs, dump_dir } => {
            commands::reference::run(&model, &inputs, &outputs, dump_dir.as_deref())
        }
        Command::Generate { model, out, budget_macs, part, no_lint } => generate_budget(budget_macs, part.as_deref())
            .and_then(|budget| {
                commands::generate::run(&commands::generate::Options { model: &model, out: &out, budget, no_lint })
            }),
        Command::Simulate {
            model,
            inputs,
            outputs,
            engine,
            arch,
            budget_macs,
            part,
            report,
            vcd,
            dram_latency,
            dram_interval,
        } => generate_budget(budget_macs, part.as_deref()).and_then(|budget| {
            commands::simulate::run(&commands::simulate::Args {
                model: &model,
                inputs: &inputs,
                outputs: &outputs,
                engine,
                arch: arch.as_deref(),
                budget,
                report: report.as_deref(),
                vcd: vcd.as_deref(),
                dram_latency,
                dram_interval,
            })
        }),
        Command::Report { dir } => commands::report::run(&dir),
        Command::Synth { dir, target, board, report, work, freq, no_install, quiet, json } => {
            commands::synth::run(&commands::synth::Args {
                dir: &dir,
                target: &target,
                board: board.as_deref(),
                work: work.as_deref(),
                report: report.as_deref(),
                freq_mhz: freq,
                no_install,
                quiet,
                json,
            })
        }
        Command::Compare { actual, expected } => commands::compare::run(&actual, &expected),
        Command::CliReference { out } => commands::cli_reference::run(Cli::command(), out.as_deref()),
        Command::Quantize(args) => commands::quantize::run(&args),
        Command::Prune(args) => commands::prune::run(&args),
        Command::Evaluate(args) => commands::evaluate::run(&args),
        Command::Pack { model, arch, out, dram_base } => commands::pack::run(&model, &arch, &out, dram_base),
        Command::Run { device, image, inputs, outputs, timeout, irq, reset, dram_latency, dram_interval } => {
            commands::run::run(&commands::run::Args {
                device: &device,
                image: &image,
                inputs: &inputs,
                outputs: &outputs,
                timeout,
                irq,
                reset,
                dram_latency,
                dram_interval,
            })
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
