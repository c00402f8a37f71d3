//! Shared test plumbing: emit a block, check it with the real tools, build its simulator.

#![allow(dead_code)]

use rust_hdl::prelude::Block;
use std::path::PathBuf;
use systole_hdl::check::{self, SynthReport, SynthTarget};
use systole_hdl::emit::{self, Design};
use systole_hdl::verilator::Simulator;

/// Cargo's per-target scratch directory (under target/), kept between runs: the Verilator
/// build cache lives here.
pub fn scratch() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// The module name the tests give the engine top of `cfg`: one name per hardware configuration
/// (the config hash leaves the name out), so every test binary that simulates the same hardware
/// (tests/top.rs, tests/models.rs, benches/rtl.rs) hits the same cached Verilator build.
pub fn build_name(cfg: &systole_arch::ArchConfig) -> String {
    format!("models_{:08x}", cfg.config_hash())
}

/// Held while starting an `RtlDevice`: tests of one binary that simulate the same design then
/// build it once (the first builds into the cache, the others wait and reuse it) instead of
/// racing through the same build.
pub static RTL_BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Emits `uut` as `top` and writes it to a fresh directory; returns the design and file.
pub fn emit_to_dir<B: Block>(uut: &mut B, top: &str, waivers: &[emit::Waiver]) -> (Design, PathBuf) {
    let design = emit::emit_with_waivers(uut, top, waivers).unwrap_or_else(|e| panic!("emit {top}: {e}"));
    let dir = scratch().join("designs").join(format!("{top}-{}", std::process::id()));
    let path = design.write_to(&dir).unwrap_or_else(|e| panic!("write {top}: {e}"));
    (design, path)
}

/// Lints and synthesises (generic: latches, undriven nets); panics with the tool output.
pub fn lint_and_synth(design: &Design, path: &std::path::Path) -> SynthReport {
    check::lint(path, &design.top).unwrap_or_else(|e| panic!("{e}"));
    check::synth(path, &design.top, SynthTarget::Generic).unwrap_or_else(|e| panic!("{e}"))
}

pub fn simulator(design: &Design) -> Simulator {
    Simulator::build(design, &scratch()).unwrap_or_else(|e| panic!("{e}"))
}

/// Yosys 0.23 prints this for every block RAM it infers: its own techmap wires the generic
/// 64-bit data bus of `$__XILINX_RAMB18` into RAMB18E1's narrower ports. Nothing of ours.
const BRAM_RESIZE_WARNING: &str = "Warning: Resizing cell port ";

/// `check::synth(.., SynthTarget::Xilinx)` with the block-RAM resize warning tolerated (the
/// shared check refuses every warning, and blocks with block RAM use this): the same
/// script, `check -assert`, no other warning, no latch.
pub fn synth_xilinx_with_brams(path: &std::path::Path, top: &str) -> check::SynthReport {
    let script = format!(
        "read_verilog {}; synth_xilinx -flatten -noiopad -noclkbuf -top {top}; check -assert; stat",
        path.to_string_lossy()
    );
    let out = std::process::Command::new("yosys").args(["-p", &script]).output().expect("run yosys");
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "yosys failed:\n{}", &log[log.len().saturating_sub(4000)..]);
    let warnings: Vec<&str> = log
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with("Warning:") && !l.starts_with(BRAM_RESIZE_WARNING))
        .collect();
    assert!(warnings.is_empty(), "yosys warned: {warnings:#?}");
    let stat = &log[log.rfind("Number of cells:").expect("stat output")..];
    let cells = stat
        .lines()
        .skip(1)
        .map_while(|l| match l.split_whitespace().collect::<Vec<_>>()[..] {
            [kind, n] => n.parse::<u64>().ok().map(|n| (kind.to_string(), n)),
            _ => None,
        })
        .collect();
    let report = check::SynthReport { cells };
    assert!(report.latches().is_empty(), "latches: {:?}", report.latches());
    report
}
