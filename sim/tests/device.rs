//! The host driver on the simulated device (`sim:cycle`: `SimDevice` over the cycle model): every own fixture model, packed,
//! read back from bytes, opened, loaded and run through the registers, equals the reference
//! executor byte for byte, with a performance record for every engine layer; and the driver's
//! engine-side error paths (wrong bitstream, corrupted descriptors in device memory, interrupt
//! mode) end in the errors the user is meant to see.

mod common;

use common::{full, same};
use std::path::{Path, PathBuf};
use std::time::Duration;
use systole_arch::axi_timing::DramTiming;
use systole_arch::descriptor::DESCRIPTOR_BYTES;
use systole_arch::ArchConfig;
use systole_host::driver::{Driver, DriverError, RunOptions, Wait};
use systole_host::{pack, Device, Image, PackOptions};
use systole_model::exec::Executor;
use systole_model::ir::{Graph, Value};
use systole_model::{load::load_model, npy};
use systole_sim::CycleModel;
use systole_sim::SimDevice;

fn own(kind: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures").join(kind).join(name)
}

fn model_in(dir: &Path) -> Graph {
    let file = ["model.tflite", "model.onnx"].iter().map(|f| dir.join(f)).find(|p| p.is_file()).expect("model file");
    load_model(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

fn first_input(dir: &Path) -> Value {
    npy::read_value(&dir.join("input_000.npy")).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

fn timing() -> DramTiming {
    DramTiming::new(20, 1).expect("valid")
}

fn device(cfg: &ArchConfig, image: &Image) -> SimDevice<CycleModel> {
    let d = &image.plan.dram;
    SimDevice::new(CycleModel::new(cfg, timing()).expect("valid config"), cfg, d.base, d.size).expect("device")
}

fn packed(graph: &Graph, cfg: &ArchConfig) -> Image {
    let image = pack(graph, cfg, PackOptions { dram_base: 0x4000_0000 }).expect("pack");
    Image::from_bytes(&image.to_bytes()).expect("read back")
}

#[test]
fn every_own_fixture_model_runs_through_the_registers_bit_exactly() {
    let cfg = full("a16x16", 16, 16, 64);
    let mut dirs = Vec::new();
    for kind in ["tflite", "onnx"] {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures").join(kind);
        for e in std::fs::read_dir(&root).expect("fixtures").flatten() {
            dirs.push(e.path());
        }
    }
    dirs.sort();
    assert!(dirs.len() >= 5, "found {} fixture models", dirs.len());
    for (i, dir) in dirs.iter().enumerate() {
        let graph = model_in(dir);
        let x = first_input(dir);
        let want = Executor::new(&graph).expect("exec").run(std::slice::from_ref(&x)).expect("reference");
        let image = packed(&graph, &cfg);
        let engine_layers = image
            .descriptors()
            .expect("descriptors")
            .iter()
            .filter(|d| d.opcode != Some(systole_arch::Opcode::End))
            .count();
        let wait = if i % 2 == 0 { Wait::Poll } else { Wait::Irq };
        let opts = RunOptions { timeout: Duration::from_secs(5), wait, reset: false };
        let mut drv = Driver::open(device(&cfg, &image), image, opts).expect("open");
        let report = drv.run(std::slice::from_ref(&x)).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        assert_eq!(report.outputs.len(), want.len());
        for (g, w) in report.outputs.iter().zip(&want) {
            assert!(same(g, w), "{}: output differs from the reference", dir.display());
        }
        let layers: Vec<_> = report.runs.iter().flat_map(|r| &r.layers).collect();
        assert_eq!(layers.len(), engine_layers, "{}: one perf record per engine layer", dir.display());
        assert!(layers.iter().all(|l| l.perf.cycles > 0 && l.name != "?" && l.name != "END"), "{}", dir.display());
        for r in &report.runs {
            let sum: u64 = r.layers.iter().map(|l| l.perf.cycles).sum();
            assert!(r.busy_cycles >= sum, "{}: BUSY_CYCLES {} < layer sum {sum}", dir.display(), r.busy_cycles);
        }
        // A second inference on the loaded device gives the same bytes.
        let again = drv.run(std::slice::from_ref(&x)).expect("second run");
        assert!(again.outputs.iter().zip(&want).all(|(g, w)| same(g, w)));
    }
}

#[test]
fn a_device_built_for_another_config_is_refused() {
    let dir = own("tflite", "resnet_tiny");
    let cfg = full("a16x16", 16, 16, 64);
    let other = full("a8x8", 8, 8, 64);
    let image = packed(&model_in(&dir), &cfg);
    // Lent, not given: the caller keeps its device (and its image) whatever happens.
    let mut dev = device(&other, &image);
    let err = Driver::open(&mut dev, image.clone(), RunOptions::default()).expect_err("wrong bitstream");
    assert_eq!(dev.read_reg(systole_arch::regmap::ID.offset as u64).expect("id"), systole_arch::regmap::ID_MAGIC);
    let DriverError::WrongBitstream { device, image: img, .. } = &err else { panic!("{err}") };
    assert_eq!((*device, *img), (other.config_hash(), cfg.config_hash()));
    assert!(err.to_string().contains("a16x16"), "{err}");
}

#[test]
fn corrupted_descriptors_in_device_memory_name_the_error_and_the_layer() {
    let dir = own("tflite", "resnet_tiny");
    let graph = model_in(&dir);
    let cfg = full("a16x16", 16, 16, 64);
    let image = packed(&graph, &cfg);
    let names = systole_host::driver::layer_names(&image).expect("names");
    let program = image.plan.dram.program.addr;
    let x = first_input(&dir);
    // (descriptor, byte offset in it, expected code): word 0 -> magic, a checksummed payload
    // word -> checksum, PROGRAM_COUNT cut short by turning END into a layer is an overrun.
    for (index, byte, code) in [(0usize, 0usize, "BAD_MAGIC"), (1, 4 * 20, "BAD_CHECKSUM")] {
        let mut drv = Driver::open(device(&cfg, &image), image.clone(), RunOptions::default()).expect("open");
        drv.load().expect("load");
        let addr = program + (index * DESCRIPTOR_BYTES + byte) as u64;
        let mut b = [0u8; 1];
        drv.device().read_mem(addr, &mut b).expect("read");
        drv.device().write_mem(addr, &[b[0] ^ 0x40]).expect("write");
        let err = drv.run(std::slice::from_ref(&x)).expect_err("corrupted program");
        let DriverError::Engine { code: c, layer, name, .. } = &err else { panic!("{err}") };
        assert_eq!((c.as_str(), *layer as usize), (code, index), "{err}");
        assert_eq!(name, &names[index].0, "{err}");
        assert!(err.to_string().contains(&names[index].0), "{err}");
    }
}

#[test]
fn the_simulated_interrupt_follows_irq_status_and_irq_enable() {
    // Register-level: a run that stops on an error raises the line; IRQ_CLEAR drops it.
    let dir = own("tflite", "resnet_tiny");
    let cfg = full("a16x16", 16, 16, 64);
    let image = packed(&model_in(&dir), &cfg);
    let mut dev = device(&cfg, &image);
    for (region, bytes) in image.constant_regions() {
        dev.write_mem(region.addr, bytes).expect("load");
    }
    assert!(dev.wait_irq(Duration::from_millis(1)).is_err(), "no interrupt before any run");
    dev.write_reg(systole_arch::regmap::CONTROL.offset as u64, systole_arch::regmap::CONTROL_IRQ_ENABLE.mask())
        .expect("enable");
    dev.write_reg(systole_arch::regmap::PROGRAM_COUNT.offset as u64, 1).expect("count");
    dev.write_reg(systole_arch::regmap::PROGRAM_BASE_LO.offset as u64, image.plan.dram.program.addr as u32)
        .expect("base");
    let start = systole_arch::regmap::CONTROL_START.mask() | systole_arch::regmap::CONTROL_IRQ_ENABLE.mask();
    dev.write_reg(systole_arch::regmap::CONTROL.offset as u64, start).expect("start");
    // Descriptor 0 is a layer, not END: one descriptor allowed -> PROGRAM_OVERRUN, IRQ ERROR.
    assert!(dev.wait_irq(Duration::from_millis(1)).is_ok(), "the error raises the interrupt");
    let status = dev.read_reg(systole_arch::regmap::STATUS.offset as u64).expect("status");
    assert_eq!(systole_arch::regmap::STATUS_ERROR_CODE.get(status), 9, "PROGRAM_OVERRUN");
    dev.write_reg(systole_arch::regmap::IRQ_CLEAR.offset as u64, 3).expect("clear");
    assert!(dev.wait_irq(Duration::from_millis(1)).is_err(), "cleared");
}

#[test]
fn multi_run_schedules_interleave_host_steps_and_report_the_program_index_of_a_failure() {
    // A bare engine (no post-op units): resnet_tiny's ADDs and pool run on the host, splitting
    // the program into several engine runs.
    let dir = own("tflite", "resnet_tiny");
    let graph = model_in(&dir);
    let cfg = ArchConfig::new("bare16x16", 16, 16);
    let image = packed(&graph, &cfg);
    let runs: Vec<(u32, u32)> = image
        .plan
        .steps
        .iter()
        .filter_map(|s| match s {
            systole_host::schedule::Step::Engine { first, count } => Some((*first, *count)),
            _ => None,
        })
        .collect();
    assert!(runs.len() >= 2, "expected several engine runs, got {runs:?}");
    let x = first_input(&dir);
    let want = Executor::new(&graph).expect("exec").run(std::slice::from_ref(&x)).expect("reference");
    let mut drv = Driver::open(device(&cfg, &image), image.clone(), RunOptions::default()).expect("open");
    let report = drv.run(std::slice::from_ref(&x)).expect("run");
    assert!(report.outputs.iter().zip(&want).all(|(g, w)| same(g, w)), "differs from the reference");
    assert_eq!(report.runs.len(), runs.len());
    assert!(report.host_steps >= 2);
    for (r, (first, count)) in report.runs.iter().zip(&runs) {
        assert_eq!((r.first, r.layers.len() as u32), (*first, *count));
        assert!(r.layers.iter().enumerate().all(|(k, l)| l.index == first + k as u32));
    }
    // Corrupt the first layer of the last run: the error names its program index and node.
    let (first, _) = *runs.last().expect("runs");
    let names = systole_host::driver::layer_names(&image).expect("names");
    let mut drv = Driver::open(device(&cfg, &image), image.clone(), RunOptions::default()).expect("open");
    drv.load().expect("load");
    let addr = image.plan.dram.program.addr + first as u64 * DESCRIPTOR_BYTES as u64;
    drv.device().write_mem(addr, &[0x5a]).expect("corrupt the magic");
    let err = drv.run(std::slice::from_ref(&x)).expect_err("corrupted");
    let DriverError::Engine { code, layer, name, run, .. } = &err else { panic!("{err}") };
    assert_eq!((code.as_str(), *layer, *run), ("BAD_MAGIC", first, runs.len() - 1), "{err}");
    assert_eq!(name, &names[first as usize].0);
}

/// An engine built for 4-bit weights (`weight_bits` = 4): the digits model quantized with
/// `--weight-bits 4` is packed two weights per byte, runs through the registers on the cycle
/// model bit-exactly (the 8 onnxruntime-golden inputs), with a smaller image and fewer weight
/// DMA cycles than the same model on the 8-bit engine; an int8 model is refused by name.
#[test]
fn int4_engine_runs_packed_int4_weights_and_refuses_int8_models() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/quantize/digits_int4");
    let graph = model_in(&dir);
    let cfg8 = full("a16x16", 16, 16, 64);
    let cfg4 = ArchConfig { weight_bits: 4, ..cfg8.clone() };
    let exec = Executor::new(&graph).expect("exec");
    let mut busy = [0u64; 2];
    let mut weight_bytes = [0usize; 2];
    for (e, cfg) in [&cfg8, &cfg4].into_iter().enumerate() {
        let image = packed(&graph, cfg);
        weight_bytes[e] = image.weights.len();
        let mut drv = Driver::open(device(cfg, &image), image, RunOptions::default()).expect("open");
        for n in 0..8 {
            let x = npy::read_value(&dir.join(format!("input_{n:03}.npy"))).expect("input");
            let want = exec.run(std::slice::from_ref(&x)).expect("reference");
            let report = drv.run(std::slice::from_ref(&x)).unwrap_or_else(|e| panic!("{}: {e}", cfg.name));
            assert!(same(&report.outputs[0], &want[0]), "{} input {n}: output differs from the reference", cfg.name);
            busy[e] += report.runs.iter().map(|r| r.busy_cycles).sum::<u64>();
        }
    }
    eprintln!("digits int4: weight bytes 8-bit engine {} / 4-bit engine {}", weight_bytes[0], weight_bytes[1]);
    eprintln!("digits int4: BUSY_CYCLES over 8 inputs, 8-bit engine {} / 4-bit engine {}", busy[0], busy[1]);
    assert_eq!(weight_bytes[1] * 2, weight_bytes[0], "two weights per byte");
    assert!(busy[1] < busy[0], "half the weight DMA bytes must show in the cycles");

    // The 8-bit digits model on the 4-bit engine: refused, naming the layer and the remedy.
    let int8 = model_in(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/quantize/digits"));
    let err = pack(&int8, &cfg4, PackOptions::default()).expect_err("int8 weights on a 4-bit engine");
    let msg = err.to_string();
    assert!(msg.contains("int8") && msg.contains("--weight-bits 4"), "{msg}");
}
