//! PE: emitted Verilog lints clean, synthesises without latches, and matches `PeModel` cycle
//! for cycle under Verilator on random stimuli, at the default and the widest accumulator.

mod common;

use systole_hdl::blocks::pe::{Pe, PeInputs, PeModel};
use systole_hdl::check;
use systole_hdl::rng::Rng;
use systole_hdl::verilator::sign_extend;

fn check_pe<const ACC: usize>(fabric: bool, narrow: bool, seed: u64, cycles: usize) {
    let (top, pe) = match fabric {
        false => (format!("systole_pe{ACC}"), Pe::<ACC>::default()),
        true => (format!("systole_pe{ACC}_fabric"), Pe::<ACC>::fabric()),
    };
    let (top, mut pe) = if narrow { (format!("{top}_narrow"), pe.narrow()) } else { (top, pe) };
    let (design, path) = common::emit_to_dir(&mut pe, &top, &[]);
    common::lint_and_synth(&design, &path);
    let sim = common::simulator(&design);
    // A second build of the same Verilog comes from the cache under target/.
    assert!(common::simulator(&design).cached, "Verilator build cache missed");

    let mut rng = Rng(seed);
    let acc_max = (1i64 << (ACC - 1)) - 1;
    let mut stimuli = Vec::new();
    let mut vectors = Vec::new();
    for cycle in 0..cycles {
        // Corners often: extreme operands, and sums near the accumulator's limits.
        let pick9 = |rng: &mut Rng| match rng.below(5) {
            0 => -255i16,
            1 => 255,
            2 => -256,
            _ => rng.range(-256, 255) as i16,
        };
        let psum_in = match rng.below(5) {
            0 => acc_max - rng.below(70_000) as i64,
            1 => -acc_max - 1 + rng.below(70_000) as i64,
            _ => rng.range(-acc_max - 1, acc_max),
        };
        let inputs = PeInputs {
            en: cycle < 10 || rng.chance(85),
            a_in: pick9(&mut rng),
            tag_in: rng.chance(15),
            psum_in,
            w_in: pick9(&mut rng),
            w_shift: rng.chance(40),
            w_commit: rng.chance(20),
        };
        stimuli.push(inputs);
        let mut v = vec![0u64; sim.inputs.len()];
        let mut set = |name: &str, value: u64| v[sim.input_index(name).expect(name)] = value;
        set("en", inputs.en as u64);
        set("a_in", inputs.a_in as u64);
        set("tag_in", inputs.tag_in as u64);
        set("psum_in", inputs.psum_in as u64);
        set("w_in", inputs.w_in as u64);
        set("w_shift", inputs.w_shift as u64);
        set("w_commit", inputs.w_commit as u64);
        vectors.push(v);
    }
    let outputs = sim.run(&vectors).expect("simulate");
    assert_eq!(outputs.len(), vectors.len());
    let index = |name: &str| sim.output_index(name).expect(name);
    let (ia, it, ip, iw) = (index("a_out"), index("tag_out"), index("psum_out"), index("w_out"));
    let mut model = if narrow { PeModel::narrow(ACC) } else { PeModel::new(ACC) };
    for (cycle, (inputs, got)) in stimuli.iter().zip(&outputs).enumerate() {
        let want = model.step(*inputs);
        let got_t =
            (sign_extend(got[ia], 9) as i16, got[it] != 0, sign_extend(got[ip], ACC), sign_extend(got[iw], 9) as i16);
        assert_eq!(got_t, (want.a_out, want.tag_out, want.psum_out, want.w_out), "cycle {cycle}: inputs {inputs:?}");
    }
}

#[test]
fn pe_rtl_matches_golden_model() {
    if !check::tools_or_skip(&["verilator", "yosys"], "PE RTL test") {
        return;
    }
    check_pe::<32>(false, false, 0x5157_011e, 20_000);
    check_pe::<48>(false, false, 0x48, 5_000);
    // A 4-bit engine's PE: the weight registers' low five bits are the signed operand.
    check_pe::<32>(false, true, 0x5157_0114, 5_000);
}

/// The shift-and-add PE against the same golden: every 9-bit operand pair (the exhaustive
/// 512 x 512 product table, in random order of weights) plus the accumulator corners.
#[test]
fn fabric_pe_rtl_matches_golden_model() {
    if !check::tools_or_skip(&["verilator", "yosys"], "fabric PE RTL test") {
        return;
    }
    check_pe::<32>(true, false, 0x000f_ab1c, 40_000);
    check_pe::<48>(true, false, 0xfab48, 5_000);
    check_fabric_products_exhaustively(false);
    // The narrow fabric PE (five rows): random stimuli, and every 9-bit x 5-bit product.
    check_pe::<32>(true, true, 0x000f_ab14, 10_000);
    check_fabric_products_exhaustively(true);
}

/// Loads each of the 512 weights once and streams all 512 activations past it: every product
/// of two 9-bit signed operands, compared with the integer product. `narrow`: the 32 weights
/// of a narrow PE's 5-bit operand.
fn check_fabric_products_exhaustively(narrow: bool) {
    let (mut pe, top, weights) = match narrow {
        false => (Pe::<32>::fabric(), "systole_pe32_fabric", -256i16..=255),
        true => (Pe::<32>::fabric().narrow(), "systole_pe32_fabric_narrow", -16i16..=15),
    };
    let count = weights.len();
    let (design, _path) = common::emit_to_dir(&mut pe, top, &[]);
    let sim = common::simulator(&design);
    let mut vectors = Vec::new();
    let mut expected = Vec::new();
    let row = |w_in: i16, w_shift: bool, w_commit: bool, tag_in: bool, a_in: i16| {
        let mut v = vec![0u64; sim.inputs.len()];
        let mut set = |name: &str, value: u64| v[sim.input_index(name).expect(name)] = value;
        set("en", 1);
        set("w_in", w_in as u64);
        set("w_shift", w_shift as u64);
        set("w_commit", w_commit as u64);
        set("tag_in", tag_in as u64);
        set("a_in", a_in as u64);
        set("psum_in", 0);
        v
    };
    for w in weights {
        // Shift w into the pipe, commit it to the shadow, then tag: it is active from the
        // next edge on.
        vectors.push(row(w, true, false, false, 0));
        expected.push(None);
        vectors.push(row(0, false, true, false, 0));
        expected.push(None);
        vectors.push(row(0, false, false, true, 0));
        expected.push(None);
        for a in -256i16..=255 {
            vectors.push(row(0, false, false, false, a));
            expected.push(Some((a, w)));
        }
    }
    let outputs = sim.run(&vectors).expect("simulate");
    let ip = sim.output_index("psum_out").expect("psum_out");
    let mut checked = 0;
    for (cycle, (want, got)) in expected.iter().zip(&outputs).enumerate() {
        if let Some((a, w)) = want {
            assert_eq!(sign_extend(got[ip], 32), i64::from(*a) * i64::from(*w), "cycle {cycle}: {a} x {w}");
            checked += 1;
        }
    }
    assert_eq!(checked, count * 512);
}

#[test]
fn pe_ports_are_nine_bit_operands() {
    let mut pe = Pe::<40>::default();
    let design = systole_hdl::emit::emit(&mut pe, "pe40").expect("emit");
    for (name, width) in [("a_in", 9), ("w_in", 9), ("psum_in", 40), ("psum_out", 40)] {
        let port = design.port(name).expect(name);
        assert_eq!((port.width, port.signed), (width, true), "{name}");
    }
}
