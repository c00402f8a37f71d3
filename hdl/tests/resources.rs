//! Xilinx 7-series resources (Yosys `synth_xilinx`, flattened, out of context) of each block,
//! printed for the record and guarded where the architecture depends on them.

mod common;

use systole_hdl::blocks::array::SystolicArray;
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
fn pe_is_one_dsp_and_few_luts() {
    if !check::tools_or_skip(&["yosys"], "PE resources") {
        return;
    }
    for (name, report) in [
        ("PE acc32", {
            let (design, path) = common::emit_to_dir(&mut Pe::<32>::default(), "systole_pe32", &[]);
            xilinx("PE acc32", &design, &path)
        }),
        ("PE acc48", {
            let (design, path) = common::emit_to_dir(&mut Pe::<48>::default(), "systole_pe48", &[]);
            xilinx("PE acc48", &design, &path)
        }),
    ] {
        // 9x9 multiply, add and the partial-sum register inside one DSP48E1; the fabric only
        // holds the clock enables of the weight registers.
        assert_eq!(report.dsps(), 1, "{name}");
        assert!(report.luts() <= 4, "{name}: fabric logic crept in: {:?}", report.cells);
    }
}

#[test]
fn fabric_pe_has_no_dsp() {
    if !check::tools_or_skip(&["yosys"], "fabric PE resources") {
        return;
    }
    let (design, path) = common::emit_to_dir(&mut Pe::<32>::fabric(), "systole_pe32_fabric", &[]);
    let report = xilinx("fabric PE acc32", &design, &path);
    // The product from eight carry-chain rows plus the accumulator adder: 116 LUT6 and
    // 32 CARRY4 measured (arch::resources::lut::PE_IN_FABRIC budgets 120). An adder-tree
    // form that Yosys folds into a soft $macc measured 239 LUT6; this guards against that.
    assert_eq!(report.dsps(), 0, "{:?}", report.cells);
    assert!(report.luts() > 20 && report.luts() <= 120, "{:?}", report.cells);
}

/// A 4-bit engine's PEs ([`Pe::narrow`]): the fabric multiplier has five carry-chain rows
/// instead of nine, and the DSP PE stays one DSP with no more fabric logic.
#[test]
fn narrow_pes_are_smaller() {
    if !check::tools_or_skip(&["yosys"], "narrow PE resources") {
        return;
    }
    let (design, path) = common::emit_to_dir(&mut Pe::<32>::fabric(), "systole_pe32_fabric", &[]);
    let wide = xilinx("fabric PE acc32", &design, &path);
    let (design, path) = common::emit_to_dir(&mut Pe::<32>::fabric().narrow(), "systole_pe32_fabric_narrow", &[]);
    let narrow = xilinx("fabric PE acc32, 5-bit weight", &design, &path);
    assert_eq!(narrow.dsps(), 0, "{:?}", narrow.cells);
    // Four of nine rows gone: well under the 9-bit multiplier's LUTs.
    assert!(narrow.luts() * 10 < wide.luts() * 8, "LUT {} (narrow) vs {} (9-bit)", narrow.luts(), wide.luts());
    let (design, path) = common::emit_to_dir(&mut Pe::<32>::default().narrow(), "systole_pe32_narrow", &[]);
    let dsp = xilinx("DSP PE acc32, 5-bit weight", &design, &path);
    assert_eq!(dsp.dsps(), 1, "{:?}", dsp.cells);
    assert!(dsp.luts() <= 4, "fabric logic crept in: {:?}", dsp.cells);
}

/// A 4 x 4 array with two fabric rows, 8-bit vs 4-bit weights: the 4-bit array's weight
/// registers (load pipe, shadow, active, column skew) keep five of nine bits, its fabric rows
/// have the five-row multiplier; the DSP rows keep their DSPs.
#[test]
fn four_bit_array_is_smaller() {
    if !check::tools_or_skip(&["yosys"], "4-bit array resources") {
        return;
    }
    let mut reports = Vec::new();
    for weight_bits in [8, 4] {
        let mut array = SystolicArray::<32>::with_weight_bits(4, 4, 2, weight_bits);
        let waivers = array.waivers();
        let top = format!("systole_array_4x4_fabric2_w{weight_bits}");
        let (design, path) = common::emit_to_dir(&mut array, &top, &waivers);
        reports.push(xilinx(&format!("array 4x4, 2 fabric rows, {weight_bits}-bit weights"), &design, &path));
    }
    let (w8, w4) = (&reports[0], &reports[1]);
    assert_eq!((w8.dsps(), w4.dsps()), (8, 8), "{:?} / {:?}", w8.cells, w4.cells);
    assert!(w4.luts() < w8.luts(), "LUT {} (4-bit) vs {} (8-bit)", w4.luts(), w8.luts());
    // The 8 fabric PEs' 3 weight registers lose 4 bits each, at least (a DSP PE's active
    // weight may sit in the DSP's own input register: 740 -> 608 FF measured).
    assert!(w4.ffs() + 8 * 3 * 4 <= w8.ffs(), "FF {} (4-bit) vs {} (8-bit)", w4.ffs(), w8.ffs());
}

/// Synthesises an R x C array for Xilinx (which also checks it for latches and undriven nets)
/// and guards the per-PE budget: one DSP, at most 100 LUTs (Gemmini's PE: 737).
fn array_resources(rows: usize, cols: usize) {
    let mut array = SystolicArray::<32>::new(rows, cols);
    let waivers = array.waivers();
    let (design, path) = common::emit_to_dir(&mut array, &format!("systole_array_{rows}x{cols}"), &waivers);
    let started = std::time::Instant::now();
    let report = xilinx(&format!("array {rows}x{cols}"), &design, &path);
    let pes = (rows * cols) as f64;
    println!(
        "array {rows}x{cols} per PE: LUT {:.2} FF {:.2} SRL {:.2} DSP {:.2} (synth_xilinx {:.0?})",
        report.luts() as f64 / pes,
        report.ffs() as f64 / pes,
        report.srls() as f64 / pes,
        report.dsps() as f64 / pes,
        started.elapsed()
    );
    assert_eq!(report.dsps(), (rows * cols) as u64);
    assert!(report.luts() as f64 <= 100.0 * pes, "{:?}", report.cells);
    // Today: about 3 LUTs per PE (edges and clock enables); a jump means logic crept in.
    assert!(report.luts() as f64 <= 8.0 * pes, "{:?}", report.cells);
}

#[test]
fn array_8x8_resources() {
    if check::tools_or_skip(&["yosys"], "8x8 array resources") {
        array_resources(8, 8);
    }
}

#[test]
fn array_16x16_resources() {
    if check::tools_or_skip(&["yosys"], "16x16 array resources") {
        array_resources(16, 16);
    }
}

#[test]
fn fabric_rows_leave_their_dsps() {
    if !check::tools_or_skip(&["yosys"], "fabric-row array resources") {
        return;
    }
    let mut array = SystolicArray::<32>::with_fabric_rows(4, 4, 2);
    let waivers = array.waivers();
    let (design, path) = common::emit_to_dir(&mut array, "systole_array_4x4_fabric2", &waivers);
    let report = xilinx("array 4x4, 2 fabric rows", &design, &path);
    assert_eq!(report.dsps(), 8, "two DSP rows of four: {:?}", report.cells);
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
