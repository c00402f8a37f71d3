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
