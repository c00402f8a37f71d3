//! Requantiser: emitted Verilog lints clean, synthesises without latches, and equals
//! `systole_model::quant::OutputStage::apply` on corner and random cases under Verilator.

mod common;

use systole_hdl::blocks::requant::stimuli::{cases, golden};
use systole_hdl::blocks::requant::{ChannelParams, RequantMode, RequantUnit, LATENCY, WAIVERS};
use systole_hdl::check;
use systole_hdl::verilator::sign_extend;

#[test]
fn requant_rtl_matches_output_stage() {
    if !check::tools_or_skip(&["verilator", "yosys"], "requant RTL test") {
        return;
    }
    let (design, path) = common::emit_to_dir(&mut RequantUnit::default(), "systole_requant", WAIVERS);
    common::lint_and_synth(&design, &path);
    let sim = common::simulator(&design);

    let cases = cases(0x00C0_FFEE, 100_000);
    let mut vectors = Vec::with_capacity(cases.len() + LATENCY);
    let mut params = Vec::with_capacity(cases.len());
    for (index, (stage, acc)) in cases.iter().enumerate() {
        let p = ChannelParams::from_stage(stage, 0).expect("stimuli are valid stages");
        let mut v = vec![0u64; sim.inputs.len()];
        let mut set = |name: &str, value: u64| v[sim.input_index(name).expect(name)] = value;
        // Gaps in `valid` check that it travels with its data.
        set("valid_in", u64::from(index % 7 != 3));
        set("mode", u64::from(p.mode == RequantMode::Float));
        set("acc", *acc as u32 as u64);
        set("mult", u64::from(p.mult));
        set("shift", p.shift as u8 as u64);
        set("zero_point", p.zero_point as u32 as u64);
        set("act_min", p.act_min as u32 as u64);
        set("act_max", p.act_max as u32 as u64);
        vectors.push(v);
        params.push(p);
    }
    // Flush the pipeline.
    vectors.extend(std::iter::repeat_n(vec![0u64; sim.inputs.len()], LATENCY));
    let outputs = sim.run(&vectors).expect("simulate");
    let (iy, iv) = (sim.output_index("y").unwrap(), sim.output_index("valid_out").unwrap());
    let mut failures = Vec::new();
    for (index, (stage, acc)) in cases.iter().enumerate() {
        let out = &outputs[index + LATENCY - 1];
        let got = sign_extend(out[iy], 32) as i32;
        let want = golden(stage, *acc);
        assert_eq!(out[iv], u64::from(index % 7 != 3), "valid of case {index}");
        if got != want {
            failures.push(format!("case {index}: acc {acc} {:?} -> rtl {got}, golden {want}", params[index]));
        }
    }
    assert!(failures.is_empty(), "{} mismatches, first: {:#?}", failures.len(), &failures[..failures.len().min(10)]);
}
