//! The post-op unit: lint-clean, latch-free Verilog, and Verilator co-simulation of random
//! layers of every implemented (opcode, requant) mode against the functional engine model.

mod common;

use std::path::PathBuf;
use systole_hdl::blocks::post::{top, PostTop};
use systole_hdl::check;
use systole_hdl::emit::{self, Design};

fn emit_top(name: &str) -> (Design, PathBuf) {
    let mut uut = PostTop::<64, 8, 6>::default();
    let design = emit::emit_with_nested_waivers(&mut uut, name, &[], &top::nested_waivers())
        .unwrap_or_else(|e| panic!("emit {name}: {e}"));
    let dir = common::scratch().join("designs").join(format!("{name}-{}", std::process::id()));
    let path = design.write_to(&dir).unwrap_or_else(|e| panic!("write {name}: {e}"));
    (design, path)
}

#[test]
fn post_unit_lints_and_synthesises() {
    if !check::tools_or_skip(&["verilator", "yosys"], "post unit lint/synth") {
        return;
    }
    let (design, path) = emit_top("systole_post64");
    let r = common::lint_and_synth(&design, &path);
    println!("{}: {:?}", design.top, r.cells);
}
