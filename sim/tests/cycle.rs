//! The cycle model (`sim::cycle::CycleModel`) as an engine of the schedule:
//! * outputs equal the reference executor's byte for byte on every fixture model (own and, when
//!   present, third-party) and on the ResNet-8 workload, on several engine shapes;
//! * per-layer numbers are consistent (utilisation <= 1, stalls <= cycles, layer cycles <= the
//!   run's total, MACs = the graph's engine MACs) and are the perf records written into DRAM;
//! * corrupted programs stop with the RTL's error code and the failing descriptor's index.

mod common;

use common::{full, inputs_of, load, model_file, models, same};
use systole_arch::axi_timing::DramTiming;
use systole_arch::descriptor::{decode, encode, LayerPerf, DESCRIPTOR_BYTES, DESCRIPTOR_WORDS};
use systole_arch::regmap::ErrorCode;
use systole_arch::{ArchConfig, LayerDescriptor, Opcode};
use systole_host::lower::partition::Placement;
use systole_host::schedule::Step;
use systole_host::Image;
use systole_model::exec::Executor;
use systole_model::ir::{Graph, Op, Value};
use systole_model::summary::node_macs;
use systole_model::{load::load_model, npy};
use systole_sim::cycle::report::{descriptor_names, utilization, RunReport};
use systole_sim::functional::Dram;
use systole_sim::workloads::{resnet8, resnet8_config};
use systole_sim::{CycleModel, EngineModel, FunctionalModel, RunFailure, ScheduleRun};

fn dram_timing() -> DramTiming {
    DramTiming::new(40, 1).expect("valid DRAM timing")
}

/// Runs `inputs` on the cycle model; checks the outputs against the reference and the stats
/// for consistency.
fn check(graph: &Graph, model: &FunctionalModel, cfg: &ArchConfig, inputs: &[Value]) -> Result<ScheduleRun, String> {
    let want = Executor::new(graph).and_then(|e| e.run(inputs)).map_err(|e| format!("reference: {e}"))?;
    let mut engine = CycleModel::new(cfg, dram_timing()).map_err(|e| e.to_string())?;
    let run = model.run_with(&mut engine, inputs).map_err(|e| format!("cycle model: {e}"))?;
    for (i, (g, w)) in run.outputs.iter().zip(&want).enumerate() {
        if !same(g, w) {
            return Err(format!("output {i} differs: cycle model {:?} vs reference {:?}", g.data, w.data));
        }
    }
    check_stats(graph, model.image(), cfg, &run)?;
    Ok(run)
}

fn check_stats(graph: &Graph, image: &Image, cfg: &ArchConfig, run: &ScheduleRun) -> Result<(), String> {
    let firsts: Vec<u32> = image
        .plan
        .steps
        .iter()
        .filter_map(|s| if let Step::Engine { first, .. } = s { Some(*first) } else { None })
        .collect();
    if firsts.len() != run.runs.len() {
        return Err(format!("{} engine runs reported, {} in the schedule", run.runs.len(), firsts.len()));
    }
    let mut macs = 0;
    for (stats, &first) in run.runs.iter().zip(&firsts) {
        let layer_sum: u64 = stats.layers.iter().map(|l| l.timing.cycles).sum();
        if layer_sum > stats.total_cycles || stats.busy_cycles > stats.total_cycles {
            return Err(format!(
                "run at {first}: layers {layer_sum} / busy {} > total {}",
                stats.busy_cycles, stats.total_cycles
            ));
        }
        if stats.dma_stall_cycles > stats.total_cycles {
            return Err(format!("run at {first}: stall {} > total", stats.dma_stall_cycles));
        }
        for l in &stats.layers {
            let t = &l.timing;
            let u = utilization(t.macs, cfg, t.cycles);
            if t.cycles == 0 || !(0.0..=1.0).contains(&u) || t.dma_stall_cycles > t.cycles {
                return Err(format!("descriptor {}+{}: {t:?}, utilisation {u}", first, l.index));
            }
            if (t.macs > 0) != (l.opcode == Opcode::Conv) {
                return Err(format!("descriptor {}+{}: {} with {} MACs", first, l.index, l.opcode.name(), t.macs));
            }
            macs += t.macs;
            // The perf record the engine wrote into the descriptor.
            let addr = image.plan.dram.program.addr + ((first + l.index) as usize * DESCRIPTOR_BYTES) as u64;
            let words = run.dram.read_words(addr, DESCRIPTOR_WORDS).map_err(|e| e.to_string())?;
            let perf = LayerPerf::from_words(&words).map_err(|e| e.to_string())?;
            if perf != (LayerPerf { cycles: t.cycles, dma_stall_cycles: t.dma_stall_cycles }) {
                return Err(format!("descriptor {}+{}: perf record {perf:?} vs {t:?}", first, l.index));
            }
        }
    }
    // MACs: the graph's CONV / FC nodes that run on the engine (the model summary's count).
    let engine: Vec<&str> =
        image.metadata.partition.iter().filter(|r| r.placement == Placement::Engine).map(|r| r.node.as_str()).collect();
    let want: u64 = graph
        .nodes
        .iter()
        .filter(|n| engine.contains(&n.name.as_str()))
        .filter(|n| matches!(n.op, Op::Conv2d(_) | Op::FullyConnected { .. }))
        .map(|n| node_macs(graph, n))
        .sum();
    if macs != want {
        return Err(format!("{macs} MACs reported, the graph's engine layers have {want}"));
    }
    // Every reported layer is named after an engine node, in the partition's order.
    let report = RunReport::new("cycle", cfg, &run.runs, &firsts, &descriptor_names(image));
    let names: Vec<&str> = report.layers.iter().map(|l| l.name.as_str()).collect();
    if names != engine {
        return Err(format!("report layers {names:?}, engine nodes {engine:?}"));
    }
    Ok(())
}

fn configs() -> Vec<ArchConfig> {
    vec![full("a16x16", 16, 16, 256), full("a8x4_pb7", 8, 4, 7)]
}

#[test]
fn every_fixture_model_matches_the_reference_on_the_cycle_model() {
    let mut failures = Vec::new();
    let mut runs = 0;
    for dir in models() {
        let Some(file) = model_file(&dir) else { continue };
        let graph = load_model(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let inputs: Vec<Value> = inputs_of(&dir)
            .iter()
            .take(2)
            .map(|p| npy::read_value(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
            .collect();
        assert!(!inputs.is_empty(), "{}: no inputs", dir.display());
        for cfg in configs() {
            let model = load(&graph, &cfg);
            for (i, x) in inputs.iter().enumerate() {
                runs += 1;
                match check(&graph, &model, &cfg, std::slice::from_ref(x)) {
                    Ok(run) if i == 0 => {
                        let total: u64 = run.runs.iter().map(|r| r.total_cycles).sum();
                        println!("{:<22} {:<9} {:>9} cycles", graph.name, cfg.name, total);
                    }
                    Ok(_) => {}
                    Err(e) => failures.push(format!("{} on {} input {i}: {e}", graph.name, cfg.name)),
                }
            }
        }
    }
    assert!(runs > 0);
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn resnet8_matches_the_reference_at_every_benchmark_size() {
    let (graph, x) = resnet8(7);
    for side in [8, 16, 32] {
        let cfg = resnet8_config(side);
        let model = load(&graph, &cfg);
        let run = check(&graph, &model, &cfg, std::slice::from_ref(&x)).unwrap_or_else(|e| panic!("{side}: {e}"));
        assert_eq!(run.runs.len(), 1, "ResNet-8 is one engine run");
        // The report names each layer after its graph node and adds up.
        let image = model.image();
        let report = RunReport::new("cycle", &cfg, &run.runs, &RunReport::run_firsts(image), &descriptor_names(image));
        let kinds: Vec<(&str, &str)> = report.layers.iter().map(|l| (l.name.as_str(), l.op)).collect();
        let mut expect = vec![("conv1", "CONV"), ("conv2", "CONV"), ("conv3", "CONV"), ("add3", "ADD")];
        expect.extend([("conv4", "CONV"), ("conv5", "CONV"), ("conv6", "CONV"), ("add6", "ADD")]);
        expect.extend([("conv7", "CONV"), ("conv8", "CONV"), ("conv9", "CONV"), ("add9", "ADD")]);
        expect.extend([("pool", "AVG_POOL"), ("fc", "CONV")]);
        assert_eq!(kinds, expect);
        assert_eq!(report.total_cycles, run.runs[0].total_cycles);
        assert!(report.layer_cycles <= report.total_cycles);
        assert!(report.utilization > 0.0 && report.utilization <= 1.0, "{}", report.utilization);
        assert_eq!(report.macs, 12_501_632);
        // The JSON `systole simulate --report` writes (issue 4's keys).
        let json = serde_json::to_value(&report).expect("serialise");
        assert_eq!(json["engine"], "cycle");
        assert_eq!(json["array"], serde_json::json!([side, side]));
        assert_eq!(json["total_cycles"], report.total_cycles);
        for (l, j) in report.layers.iter().zip(json["layers"].as_array().expect("layers")) {
            assert_eq!((j["name"].as_str(), j["op"].as_str()), (Some(l.name.as_str()), Some(l.op)));
            assert_eq!((j["cycles"].as_u64(), j["macs"].as_u64()), (Some(l.cycles), Some(l.macs)));
            assert_eq!(
                (j["utilization"].as_f64(), j["stall_cycles"].as_u64()),
                (Some(l.utilization), Some(l.stall_cycles))
            );
        }
    }
}

/// ResNet-8 packed for 16 x 16, loaded into a fresh device memory: (image, DRAM, PROGRAM_BASE,
/// PROGRAM_COUNT).
fn resnet8_on_device() -> (Image, Dram, u64, u32) {
    let (graph, _) = resnet8(3);
    let model = load(&graph, &full("a16x16", 16, 16, 256));
    let image = model.image().clone();
    let layout = &image.plan.dram;
    let mut dram = Dram::new(layout.base, layout.size).expect("device memory");
    for (region, bytes) in image.constant_regions() {
        dram.write(region.addr, bytes).expect("constant region");
    }
    let [Step::Engine { first: 0, count }] = image.plan.steps[..] else { panic!("{:?}", image.plan.steps) };
    let base = layout.program.addr;
    (image, dram, base, count + 1)
}

fn engine(cfg: ArchConfig) -> CycleModel {
    CycleModel::new(&cfg, dram_timing()).expect("config")
}

fn descriptor(dram: &Dram, base: u64, index: u32) -> LayerDescriptor {
    let words = dram.read_words(base + index as u64 * DESCRIPTOR_BYTES as u64, DESCRIPTOR_WORDS).expect("read");
    decode(&words).expect("valid descriptor")
}

fn put_words(dram: &mut Dram, base: u64, index: u32, words: &[u32]) {
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    dram.write(base + index as u64 * DESCRIPTOR_BYTES as u64, &bytes).expect("write");
}

fn edit(dram: &mut Dram, base: u64, index: u32, f: impl Fn(&mut LayerDescriptor)) {
    let mut d = descriptor(dram, base, index);
    f(&mut d);
    put_words(dram, base, index, &encode(&d));
}

fn fails(cfg: ArchConfig, dram: &mut Dram, base: u64, count: u32) -> RunFailure {
    match engine(cfg).run_program(dram, base, count) {
        Ok(stats) => panic!("ran to END: {stats:?}"),
        Err(f) => f,
    }
}

#[test]
fn corrupted_programs_stop_with_the_rtl_error_code_and_layer() {
    let cfg = full("a16x16", 16, 16, 256);
    let (_, clean, base, count) = resnet8_on_device();
    let ok = engine(cfg.clone()).run_program(&mut clean_copy(&clean), base, count).expect("clean run");
    assert_eq!(ok.layers.len() as u32, count - 1);
    let cycles_before = |k: usize| ok.layers[..k].iter().map(|l| l.timing.cycles).sum::<u64>();

    // Magic: layers before it ran (and wrote their perf records), the failing one did not.
    let mut dram = clean_copy(&clean);
    let mut words = dram.read_words(base + 3 * DESCRIPTOR_BYTES as u64, DESCRIPTOR_WORDS).unwrap();
    words[0] ^= 0x100;
    put_words(&mut dram, base, 3, &words);
    let f = fails(cfg.clone(), &mut dram, base, count);
    assert_eq!((f.code, f.layer), (ErrorCode::BadMagic, 3), "{f:?}");
    assert_eq!(f.cycles, cycles_before(3));
    let perf = |dram: &Dram, k: u32| {
        LayerPerf::from_words(&dram.read_words(base + k as u64 * DESCRIPTOR_BYTES as u64, DESCRIPTOR_WORDS).unwrap())
            .unwrap()
    };
    assert_eq!(perf(&dram, 2).cycles, ok.layers[2].timing.cycles);
    assert_eq!(perf(&dram, 4), LayerPerf::default());

    // Checksum word.
    let mut dram = clean_copy(&clean);
    let mut words = dram.read_words(base + 5 * DESCRIPTOR_BYTES as u64, DESCRIPTOR_WORDS).unwrap();
    words[59] = words[59].wrapping_add(1);
    put_words(&mut dram, base, 5, &words);
    let f = fails(cfg.clone(), &mut dram, base, count);
    assert_eq!((f.code, f.layer), (ErrorCode::BadChecksum, 5), "{f:?}");
    assert_eq!(f.cycles, cycles_before(5));

    // PROGRAM_COUNT without room for END: overrun at the first descriptor past it.
    let f = fails(cfg.clone(), &mut clean_copy(&clean), base, count - 1);
    assert_eq!((f.code, f.layer), (ErrorCode::ProgramOverrun, count - 1), "{f:?}");
    let f = fails(cfg.clone(), &mut clean_copy(&clean), base, 0);
    assert_eq!((f.code, f.layer), (ErrorCode::ProgramOverrun, 0), "{f:?}");

    // PROGRAM_BASE off the 64-byte grid, and a descriptor's output address off it.
    let f = fails(cfg.clone(), &mut clean_copy(&clean), base + 4, count);
    assert_eq!((f.code, f.layer), (ErrorCode::BadAlignment, 0), "{f:?}");
    let mut dram = clean_copy(&clean);
    edit(&mut dram, base, 2, |d| d.output_addr += 8);
    let f = fails(cfg.clone(), &mut dram, base, count);
    assert_eq!((f.code, f.layer), (ErrorCode::BadAlignment, 2), "{f:?}");

    // Weights outside device memory (inside the 32-bit AXI space): the DMA's DECERR, at that
    // layer; above 4 GB the sequencer refuses the address itself.
    let mut dram = clean_copy(&clean);
    edit(&mut dram, base, 1, |d| d.weight_addr = 0xffff_0000);
    let f = fails(cfg.clone(), &mut dram, base, count);
    assert_eq!((f.code, f.layer), (ErrorCode::DmaError, 1), "{f:?}");
    let mut dram = clean_copy(&clean);
    edit(&mut dram, base, 1, |d| d.weight_addr = 1 << 40);
    let f = fails(cfg.clone(), &mut dram, base, count);
    assert_eq!((f.code, f.layer), (ErrorCode::BadAlignment, 1), "{f:?}");
    // A program outside device memory, and one above 4 GB.
    let f = fails(cfg.clone(), &mut clean_copy(&clean), 0xffff_0000, count);
    assert_eq!((f.code, f.layer), (ErrorCode::DmaError, 0), "{f:?}");
    let f = fails(cfg.clone(), &mut clean_copy(&clean), 1 << 40, count);
    assert_eq!((f.code, f.layer), (ErrorCode::BadAlignment, 0), "{f:?}");

    // A reserved bit: the sequencer's own code, ahead of the checksum it also breaks.
    let mut dram = clean_copy(&clean);
    let mut words = dram.read_words(base + 6 * DESCRIPTOR_BYTES as u64, DESCRIPTOR_WORDS).unwrap();
    words[40] |= 1 << 20;
    put_words(&mut dram, base, 6, &words);
    let f = fails(cfg.clone(), &mut dram, base, count);
    assert_eq!((f.code, f.layer), (ErrorCode::ReservedBits, 6), "{f:?}");

    // An engine without the add unit stops at the first ADD.
    let first_add =
        (0..count).find(|&k| descriptor(&clean, base, k).opcode == Some(Opcode::Add)).expect("ResNet-8 has adds");
    let no_add = ArchConfig { post_ops: systole_arch::PostOps { add: false, ..cfg.post_ops }, ..cfg.clone() };
    let f = fails(no_add, &mut clean_copy(&clean), base, count);
    assert_eq!((f.code, f.layer), (ErrorCode::Unsupported, first_add), "{f:?}");

    // A program tiled for another array: the tile counts disagree with this engine's plan.
    let f = fails(full("a8x8", 8, 8, 256), &mut clean_copy(&clean), base, count);
    assert_eq!((f.code, f.layer), (ErrorCode::BadGeometry, 0), "{f:?}");
}

fn clean_copy(d: &Dram) -> Dram {
    d.clone()
}
