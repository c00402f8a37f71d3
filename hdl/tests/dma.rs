//! DMA engines: lint-clean, latch-free Verilog at W = 64 and 512 (with Xilinx resources), and
//! Verilator co-simulation against the C++ DRAM model.

mod common;

use systole_hdl::blocks::dma::{Dma512, Dma64};
use systole_hdl::check::{self, SynthTarget};

#[test]
fn dma_lints_and_synthesises() {
    if !check::tools_or_skip(&["verilator", "yosys"], "DMA lint/synth") {
        return;
    }
    let (d64, p64) = common::emit_to_dir(&mut Dma64::default(), "systole_dma64", &[]);
    common::lint_and_synth(&d64, &p64);
    let (d512, p512) = common::emit_to_dir(&mut Dma512::default(), "systole_dma512", &[]);
    common::lint_and_synth(&d512, &p512);
    for (design, path) in [(&d64, &p64), (&d512, &p512)] {
        let r = check::synth(path, &design.top, SynthTarget::Xilinx).unwrap_or_else(|e| panic!("{e}"));
        println!("{}: LUT {} FF {} CARRY4 {} ({:?})", design.top, r.luts(), r.ffs(), r.carries(), r.cells);
    }
}
