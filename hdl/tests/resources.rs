//! Xilinx 7-series resources (Yosys `synth_xilinx`, flattened, out of context) of each block,
//! printed for the record and guarded where the architecture depends on them.

mod common;

use systole_hdl::blocks::pe::Pe;
use systole_hdl::blocks::requant::{RequantUnit, WAIVERS};
use systole_hdl::check::{self, SynthReport, SynthTarget};

fn xilinx(report_name: &str, design: &systole_hdl::emit::Design, path: &std::path::Path) -> SynthReport {
    let report = check::synth(path, &design.top, SynthTarget::Xilinx).unwrap_or_else(|e| panic!("{e}"));
    println!(
        "{report_name}: LUT {} FF {} SRL {} DSP {} CARRY4 {} (all cells: {:?})",
        report.luts(),
        report.ffs(),
        report.srls(),
        report.dsps(),
        report.carries(),
        report.cells
    );
    report
}

#[test]
fn pe_is_one_dsp_and_no_luts() {
    if !check::tools_or_skip(&["yosys"], "PE resources") {
        return;
    }
    let (design, path) = common::emit_to_dir(&mut Pe::default(), "systole_pe", &[]);
    let report = xilinx("PE", &design, &path);
    // Multiply, 32-bit add and the partial-sum register all inside one DSP48E1.
    assert_eq!(report.dsps(), 1);
    assert!(report.luts() <= 4, "PE fabric logic crept in: {:?}", report.cells);
}

#[test]
fn requant_uses_four_dsps() {
    if !check::tools_or_skip(&["yosys"], "requant resources") {
        return;
    }
    let (design, path) = common::emit_to_dir(&mut RequantUnit::default(), "systole_requant", WAIVERS);
    let report = xilinx("requant", &design, &path);
    // The 32x32 multiply shared by both modes: four 16x16 partial products.
    assert_eq!(report.dsps(), 4);
}
