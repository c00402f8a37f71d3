//! ARM CMSIS-NN int8 unit-test vectors on the cycle model, bit for bit against CMSIS-NN's own
//! `output_ref`: every conv, depthwise, grouped conv, fully-connected, average / max pool and add
//! case of `$SYSTOLE_FIXTURES/cmsis-nn` (default `../shared/fixtures/cmsis-nn`; a loud SKIP line
//! when absent) becomes one descriptor (plus END) in a fresh device memory (`cmsis::build`,
//! shared with hdl/tests/models.rs, which runs the same programs on the RTL), and runs on
//! several array shapes.
//!
//! Not engine layers, so skipped: `requantize_s64` (int16), mul, softmax, pad (host steps).
//! `*_int4` cases run in their own test on the 8-bit engines (weights sign-extended to bytes, as
//! lowering does for int4 models) and on the same engines built with `weight_bits` = 4 (two
//! weights per tile byte; `cmsis::int4_family`). Cases whose zero points the engine's 9-bit operands cannot
//! take are reported and counted (none at the time of writing).

mod cmsis;
mod common;

use cmsis::{build, cases, family, int4_family, Case, Family};
use common::{full, shared};
use systole_arch::axi_timing::DramTiming;
use systole_arch::descriptor::{encode, DESCRIPTOR_BYTES};
use systole_arch::{ArchConfig, LayerDescriptor};
use systole_sim::{CycleModel, EngineModel};

fn engines() -> Vec<ArchConfig> {
    vec![full("a16x16", 16, 16, 64), full("a8x4_pb5", 8, 4, 5), full("a4x8_pb3", 4, 8, 3)]
}

/// Runs every case `pick` selects on every engine of [`engines`]: (bit-exact runs, refusals, failures).
fn run_cases(
    cases: &[Case],
    pick: fn(&Case) -> Option<Family>,
    engines: &[ArchConfig],
) -> (usize, Vec<String>, Vec<String>) {
    let timing = DramTiming::new(20, 1).expect("timing");
    let (mut ran, mut refused, mut failures) = (0, Vec::new(), Vec::new());
    for c in cases {
        let Some(fam) = pick(c) else { continue };
        for cfg in engines {
            let (mut dev, d, out, len) = match build(c, fam, cfg) {
                Ok(b) => b,
                Err(e) => {
                    refused.push(e);
                    break;
                }
            };
            dev.dram.write(0, &encode(&d).iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
            let end = encode(&LayerDescriptor::end(1));
            dev.dram
                .write(DESCRIPTOR_BYTES as u64, &end.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<u8>>())
                .unwrap();
            let mut engine = CycleModel::new(cfg, timing).expect("config");
            match engine.run_program(&mut dev.dram, 0, 2) {
                Ok(stats) => {
                    ran += 1;
                    let got = dev.dram.read(out, len).expect("output").to_vec();
                    if got != c.expected(len) {
                        failures.push(format!("{} ({fam:?}) on {}: output differs", c.name, cfg.name));
                    }
                    assert_eq!(stats.layers.len(), 1);
                }
                Err(f) => failures.push(format!("{} on {}: {} {}", c.name, cfg.name, f.code.name(), f.reason)),
            }
        }
    }
    (ran, refused, failures)
}

#[test]
fn cmsis_nn_vectors_on_the_cycle_model() {
    let Some(cases) = cases(&shared()) else { return };
    let (ran, refused, failures) = run_cases(&cases, family, &engines());
    println!("{ran} case runs bit-exact; {} cases the engine cannot take:", refused.len());
    for r in &refused {
        println!("  {r}");
    }
    assert!(ran >= 3 * 60, "only {ran} case runs");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

/// The same engines built for 4-bit weights (two per byte in the tiles, `weight_bits` = 4).
fn int4_engines() -> Vec<ArchConfig> {
    engines().into_iter().map(|c| ArchConfig { name: format!("{}_w4", c.name), weight_bits: 4, ..c }).collect()
}

#[test]
fn cmsis_nn_int4_vectors_on_8bit_and_4bit_engines() {
    let Some(cases) = cases(&shared()) else { return };
    let mut all = engines();
    all.extend(int4_engines());
    let (ran, refused, failures) = run_cases(&cases, int4_family, &all);
    println!("{ran} int4 case runs bit-exact; refused: {refused:?}");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    // fully_connected_int4_6 has output zero point 128, which no int8 OUT_ZP holds (the refusal
    // is the descriptor check's; the reference test runs it).
    assert_eq!(refused.len(), 1, "refused: {refused:?}");
    assert!(refused[0].starts_with("fully_connected_int4_6:"), "refused: {refused:?}");
    assert_eq!(ran, 18 * all.len(), "every other consistent int4 case on every engine");
}
