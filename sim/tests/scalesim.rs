//! The cycle model's CONV counts on ResNet-8 next to SCALE-Sim's weight-stationary closed form
//! `folds x (2R + C + T - 2)`, term by term (docs/CYCLES.md explains the table this prints):
//! the decomposition must add up, and our ResNet-8 must be the network SCALE-Sim's published
//! figures are for.

mod common;

use common::load;
use systole_arch::axi_timing::DramTiming;
use systole_sim::cycle::report::{descriptor_names, program_descriptors};
use systole_sim::cycle::scalesim::{compare_run, table};
use systole_sim::workloads::{resnet8, resnet8_config};
use systole_sim::CycleModel;

/// SCALE-Sim v3's published ResNet-8 compute cycles (arch::cycles tests, ANCHORS.md).
const PUBLISHED: [(u32, u64); 3] = [(8, 224_174), (16, 63_342), (32, 26_653)];

#[test]
fn resnet8_conv_layers_against_scalesim() {
    let (graph, x) = resnet8(1);
    for (side, published) in PUBLISHED {
        let cfg = resnet8_config(side);
        let model = load(&graph, &cfg);
        let image = model.image();
        let mut engine = CycleModel::new(&cfg, DramTiming::new(40, 1).expect("timing")).expect("config");
        let run = model.run_with(&mut engine, std::slice::from_ref(&x)).expect("cycle model");
        let descriptors = program_descriptors(image).expect("packed descriptors");
        let names = descriptor_names(image);
        let stats = &run.runs[0];
        let rows = compare_run(
            stats.layers.iter().map(|l| (names[l.index as usize].as_str(), &descriptors[l.index as usize], l)),
            &cfg,
        )
        .expect("plans");
        println!("\n{side}x{side}:\n{}", table(&rows));
        assert_eq!(rows.len(), 10, "9 convs and the FC");
        let (r, c) = (side as u64, side as u64);
        for (name, row) in &rows {
            // SCALE-Sim's count is its streaming plus its per-fold fill / drain.
            assert_eq!(row.scalesim_cycles, row.scalesim_folds * row.pixels + row.scalesim_fill, "{name}");
            assert_eq!(row.scalesim_fill, row.scalesim_folds * (2 * r + c - 2), "{name}");
            // systole streams every pixel through every fold, each tile at least R cycles.
            assert!(row.stream >= row.folds * row.pixels.max(r), "{name}: {row:?}");
            // Streaming and one fill / drain never exceed the layer's count: the rest is memory.
            assert!(row.memory >= 0, "{name}: {row:?}");
            assert_eq!(row.stream as i64 + row.fill as i64 + row.memory, row.cycles as i64, "{name}");
        }
        // Our workload is SCALE-Sim's ResNet-8: its closed form gives the published figure.
        let ours: u64 = rows.iter().map(|(_, r)| r.scalesim_cycles).sum();
        let err = (ours as f64 - published as f64).abs() / published as f64;
        assert!(err < 0.005, "{side}x{side}: closed form {ours}, SCALE-Sim published {published}");
    }
}
