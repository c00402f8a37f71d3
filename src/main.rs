//! The `systole` command line: one entry point for import, reference execution and (as the
//! project grows) generation, simulation, packing and running on a device.

mod commands;

use clap::{Parser, Subcommand};
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
    /// Print the layer table of a model (op, shapes, MACs, weight bytes, quantisation) with totals.
    Inspect {
        /// A .tflite or .onnx model.
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
    /// Compare two .npy arrays exactly (shape, element type, every element); fails on any difference.
    Compare {
        /// The array under test.
        actual: PathBuf,
        /// The golden array.
        expected: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect { model, json } => commands::inspect::run(&model, json),
        Command::Reference { model, inputs, outputs, dump_dir } => {
            commands::reference::run(&model, &inputs, &outputs, dump_dir.as_deref())
        }
        Command::Compare { actual, expected } => commands::compare::run(&actual, &expected),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
