//! PE: emitted Verilog lints clean, synthesises without latches, and matches `PeModel` cycle
//! for cycle under Verilator on random stimuli.

mod common;

use systole_hdl::blocks::pe::{Pe, PeInputs, PeModel};
use systole_hdl::check;
use systole_hdl::rng::Rng;
use systole_hdl::verilator::sign_extend;

#[test]
fn pe_rtl_matches_golden_model() {
    if !check::tools_or_skip(&["verilator", "yosys"], "PE RTL test") {
        return;
    }
    let (design, path) = common::emit_to_dir(&mut Pe::default(), "systole_pe", &[]);
    common::lint_and_synth(&design, &path);
    let sim = common::simulator(&design);
    // A second build of the same Verilog comes from the cache under target/.
    assert!(common::simulator(&design).cached, "Verilator build cache missed");

    let mut rng = Rng(0x5157_011e);
    let mut stimuli = Vec::new();
    let mut vectors = Vec::new();
    for cycle in 0..20_000u64 {
        // Corners often: extreme activations/weights, and sums near the int32 limits.
        let pick8 = |rng: &mut Rng| match rng.below(4) {
            0 => -128i8,
            1 => 127,
            _ => rng.next_u64() as i8,
        };
        let psum_in = match rng.below(5) {
            0 => i32::MAX - rng.below(20_000) as i32,
            1 => i32::MIN + rng.below(20_000) as i32,
            _ => rng.next_u64() as i32,
        };
        let inputs = PeInputs {
            en: cycle < 10 || rng.chance(85),
            a_in: pick8(&mut rng),
            psum_in,
            w_in: pick8(&mut rng),
            w_load: rng.chance(30),
            swap: rng.chance(10),
        };
        stimuli.push(inputs);
        let mut v = vec![0u64; sim.inputs.len()];
        let mut set = |name: &str, value: u64| v[sim.input_index(name).expect(name)] = value;
        set("en", inputs.en as u64);
        set("a_in", inputs.a_in as u8 as u64);
        set("psum_in", inputs.psum_in as u32 as u64);
        set("w_in", inputs.w_in as u8 as u64);
        set("w_load", inputs.w_load as u64);
        set("swap", inputs.swap as u64);
        vectors.push(v);
    }
    let outputs = sim.run(&vectors).expect("simulate");
    assert_eq!(outputs.len(), vectors.len());
    let (ia, ip, iw) =
        (sim.output_index("a_out").unwrap(), sim.output_index("psum_out").unwrap(), sim.output_index("w_out").unwrap());
    let mut model = PeModel::default();
    for (cycle, (inputs, got)) in stimuli.iter().zip(&outputs).enumerate() {
        let want = model.step(*inputs);
        let got_t = (sign_extend(got[ia], 8) as i8, sign_extend(got[ip], 32) as i32, sign_extend(got[iw], 8) as i8);
        assert_eq!(got_t, (want.a_out, want.psum_out, want.w_out), "cycle {cycle}: inputs {inputs:?}");
    }
}
