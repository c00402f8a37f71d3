//! PE: emitted Verilog lints clean, synthesises without latches, and matches `PeModel` cycle
//! for cycle under Verilator on random stimuli, at the default and the widest accumulator.

mod common;

use systole_hdl::blocks::pe::{Pe, PeInputs, PeModel};
use systole_hdl::check;
use systole_hdl::rng::Rng;
use systole_hdl::verilator::sign_extend;

fn check_pe<const ACC: usize>(seed: u64, cycles: usize) {
    let top = format!("systole_pe{ACC}");
    let (design, path) = common::emit_to_dir(&mut Pe::<ACC>::default(), &top, &[]);
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
    let mut model = PeModel::new(ACC);
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
    check_pe::<32>(0x5157_011e, 20_000);
    check_pe::<48>(0x48, 5_000);
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
