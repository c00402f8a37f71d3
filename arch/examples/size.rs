//! Sizes an engine for a model and writes what the other crates consume:
//!
//! ```text
//! cargo run -p systole-arch --example size -- <model.tflite|model.onnx> [budget] [out_dir]
//! ```
//!
//! `budget` is a part name (xc7z020, xc7a100t, ecp5-85k, ecp5-25k, ice40up5k) or a MAC count
//! (default 256). Writes `arch.json`, `<name>_regs.h`, `REGISTERS.md` (with this configuration's
//! values) and `SIZING.md` into `out_dir` (default `build/arch/<name>`).

use std::path::PathBuf;
use systole_arch::gen::{c_header, header_file_name, registers_markdown};
use systole_arch::{size_model, Budget, SizingOptions};
use systole_model::load::load_model;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(model) = args.first() else {
        return Err("usage: size <model> [budget: part name or MAC count] [out_dir]".into());
    };
    let budget_text = args.get(1).map_or("256", String::as_str);
    let budget = Budget::parse(budget_text).ok_or_else(|| format!("unknown budget {budget_text:?}"))?;
    let graph = load_model(&PathBuf::from(model))?;
    let report = size_model(&graph, &budget, &SizingOptions::default())?;
    let cfg = report.config();
    let out = args.get(2).map_or_else(|| PathBuf::from("build/arch").join(&cfg.name), PathBuf::from);
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join("arch.json"), cfg.to_json())?;
    std::fs::write(out.join(header_file_name(cfg)), c_header(cfg)?)?;
    std::fs::write(out.join("REGISTERS.md"), registers_markdown(Some(cfg)))?;
    let md = report.to_markdown();
    std::fs::write(out.join("SIZING.md"), &md)?;
    println!("{md}\nwrote {}", out.display());
    Ok(())
}
