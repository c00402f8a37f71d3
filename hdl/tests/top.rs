//! The engine top (register file + sequencer + DMA arbiter + DMA + CONV and post-op units),
//! checked through the register protocol a driver uses: `RtlDevice` (a persistent Verilator
//! process of the whole top with a C++ AXI4 DRAM slave) behind `systole_host::Device`. Every cycle count is compared with
//! `systole_arch::timing::seq` (zero tolerance), every error code with `sequencer_check`.

mod common;

use systole_arch::ArchConfig;
use systole_hdl::blocks::seq::fields::FIELD_PORTS;
use systole_hdl::blocks::top::emit_top;
use systole_hdl::check;

/// The smallest array whose weight tile is whole beats at `bits` (the CONV unit's rule), with
/// the 4 KB activation buffer and 256-pixel psum blocks `emit_top` monomorphises. Named after
/// the hardware (`common::build_name`): every test here at one width simulates one Verilator
/// build, and at 64 bits it is the build tests/models.rs makes for the small TFLite models.
fn config(bits: u32) -> ArchConfig {
    let side = if bits <= 128 { 4 } else { 8 };
    let cfg = ArchConfig { dma_data_bits: bits, act_buffer_bytes: 4096, ..ArchConfig::new("top", side, side) };
    ArchConfig { name: common::build_name(&cfg), ..cfg }
}

/// The top with every post-op unit, emitted and written for `bits`.
fn post_top(bits: u32) -> (ArchConfig, systole_hdl::emit::Design, std::path::PathBuf) {
    // Every post-op unit on: the sequencer starts it for all four ops.
    let post_ops = systole_hdl::blocks::top::generator_post_ops();
    let cfg = ArchConfig { post_ops, ..config(bits) };
    let cfg = ArchConfig { name: common::build_name(&cfg), ..cfg };
    let design = emit_top(&cfg).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(design.top, cfg.name);
    let dir = common::scratch().join("designs").join(format!("{}-{}", cfg.name, std::process::id()));
    let path = design.write_to(&dir).unwrap_or_else(|e| panic!("{e}"));
    (cfg, design, path)
}

#[test]
fn top_lints() {
    if !check::tools_or_skip(&["verilator"], "engine top lint") {
        return;
    }
    for bits in [64, 512] {
        let (_, design, path) = post_top(bits);
        // Zero warnings, both units included (their waivers are routed to the modules declaring
        // them).
        check::lint(&path, &design.top).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// Yosys synthesis of the whole top (4 x 4, every post-op unit) with `synth_xilinx`: no latches,
/// no undriven nets (`check -assert`), no warning but block-RAM port resizing. Not the generic
/// `synth`: it maps the post-op unit's buffers (three of 512 x 64 bits) to flip-flops, which
/// takes tens of minutes; `synth_xilinx` infers block RAM as `systole synth` does.
#[test]
fn top_synthesises() {
    if !check::tools_or_skip(&["yosys"], "engine top synth") {
        return;
    }
    let (_, design, path) = post_top(64);
    let started = std::time::Instant::now();
    let r = common::synth_xilinx_with_brams(&path, &design.top);
    assert!(r.dsps() >= 16 && r.luts() > 0, "a 4 x 4 array has a DSP per PE: {:?}", r.cells);
    eprintln!("{}: LUT {} FF {} DSP {} ({:.0?})", design.top, r.luts(), r.ffs(), r.dsps(), started.elapsed());
}

/// Xilinx 7-series resources of the whole engine top at 16 x 16 (W = 64, PB 256, 16 KB
/// activation buffer, every post-op unit): Yosys `synth_xilinx`, out of context, no latches.
/// About five minutes of Yosys, so `#[ignore]`d:
/// `cargo test -p systole-hdl --test top -- --ignored --nocapture top_16x16`.
#[test]
#[ignore]
fn top_16x16_xilinx_resources() {
    if !check::tools_or_skip(&["yosys"], "engine top resources") {
        return;
    }
    let post_ops = systole_hdl::blocks::top::generator_post_ops();
    let cfg = ArchConfig { act_buffer_bytes: 16384, post_ops, ..ArchConfig::new("top16", 16, 16) };
    let design = emit_top(&cfg).unwrap_or_else(|e| panic!("{e}"));
    let dir = common::scratch().join("designs").join(format!("{}-{}", cfg.name, std::process::id()));
    let path = design.write_to(&dir).unwrap_or_else(|e| panic!("{e}"));
    let started = std::time::Instant::now();
    let r = common::synth_xilinx_with_brams(&path, &design.top);
    let bram: u64 = r.cells.iter().filter(|(k, _)| k.starts_with("RAMB")).map(|(_, n)| n).sum();
    let pes = (cfg.rows * cfg.cols) as f64;
    println!(
        "{}: LUT {} FF {} SRL {} DSP {} BRAM {bram} CARRY4 {} ({:.0?}); per PE: LUT {:.1} FF {:.1} DSP {:.2} (cells {:?})",
        design.top,
        r.luts(),
        r.ffs(),
        r.srls(),
        r.dsps(),
        r.carries(),
        started.elapsed(),
        r.luts() as f64 / pes,
        r.ffs() as f64 / pes,
        r.dsps() as f64 / pes,
        r.cells
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The engine top built for 8-bit and for 4-bit weights (`weight_bits`), Yosys `synth_xilinx`
/// as `systole synth --target xc7z020` runs it: a 4 x 4 DSP array and a 16 x 16 array with 9
/// fabric PE rows (the ECP5-85F shape), every post-op unit. Tens of minutes of Yosys, so
/// `#[ignore]`d: `cargo test -p systole-hdl --test top -- --ignored --nocapture weight_bits`.
/// The numbers are in docs/SYNTHESIS.md ("4-bit weights").
#[test]
#[ignore]
fn top_weight_bits_xilinx_resources() {
    if !check::tools_or_skip(&["yosys"], "engine top resources") {
        return;
    }
    let post_ops = systole_hdl::blocks::top::generator_post_ops();
    let only = std::env::var("SYSTOLE_TOP_SHAPE").unwrap_or_default();
    for (side, fabric, act) in [(4, 0, 4096), (16, 9, 16384)] {
        if !only.is_empty() && only != side.to_string() {
            continue;
        }
        let mut luts = Vec::new();
        for weight_bits in [8, 4] {
            let base = ArchConfig::new(format!("top{side}_w{weight_bits}"), side, side);
            let cfg = ArchConfig { act_buffer_bytes: act, post_ops, fabric_pe_rows: fabric, weight_bits, ..base };
            let design = emit_top(&cfg).unwrap_or_else(|e| panic!("{e}"));
            let dir = common::scratch().join("designs").join(format!("{}-{}", cfg.name, std::process::id()));
            let path = design.write_to(&dir).unwrap_or_else(|e| panic!("{e}"));
            let started = std::time::Instant::now();
            let r = common::synth_xilinx_with_brams(&path, &design.top);
            let bram: f64 = r
                .cells
                .iter()
                .filter(|(k, _)| k.starts_with("RAMB"))
                .map(|(k, n)| if k.starts_with("RAMB18") { *n as f64 / 2.0 } else { *n as f64 })
                .sum();
            println!(
                "{side}x{side} ({fabric} fabric rows) {weight_bits}-bit weights: LUT {} FF {} SRL {} DSP {} BRAM {bram} CARRY4 {} ({:.0?})",
                r.luts(),
                r.ffs(),
                r.srls(),
                r.dsps(),
                r.carries(),
                started.elapsed()
            );
            luts.push(r.luts());
            let _ = std::fs::remove_dir_all(&dir);
        }
        assert!(luts[1] <= luts[0], "{side}x{side}: the 4-bit engine has more LUTs: {luts:?}");
    }
}

#[test]
fn descriptor_field_ports_follow_the_table() {
    use systole_arch::descriptor::DESCRIPTOR_FIELDS;
    assert_eq!(FIELD_PORTS.len(), DESCRIPTOR_FIELDS.len());
    for ((name, width), f) in FIELD_PORTS.iter().zip(&DESCRIPTOR_FIELDS) {
        assert_eq!(*name, f.name.to_lowercase());
        assert_eq!(*width as u32, f.width, "{name}");
    }
}

/// An engine with zero-tile skipping (FEATURES.ZERO_SKIP) is built and lint-clean at both bus
/// widths, with a one-beat and a multi-beat mask record.
#[test]
fn zero_skip_top_lints() {
    if !check::tools_or_skip(&["verilator"], "zero-skip engine top lint") {
        return;
    }
    for (bits, tiles) in [(64, 100), (512, 64)] {
        let cfg = ArchConfig { zero_skip_tiles: tiles, ..config(bits) };
        let cfg = ArchConfig { name: common::build_name(&cfg), ..cfg };
        let design = emit_top(&cfg).unwrap_or_else(|e| panic!("{e}"));
        let dir = common::scratch().join("designs").join(format!("{}-{}", cfg.name, std::process::id()));
        let path = design.write_to(&dir).unwrap_or_else(|e| panic!("{e}"));
        check::lint(&path, &design.top).unwrap_or_else(|e| panic!("{bits}-bit, {tiles} tiles: {e}"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

mod rtl {
    use super::config;
    use crate::common;
    use std::time::Duration;
    use systole_arch::axi_timing::DramTiming;
    use systole_arch::descriptor::{encode, field, LayerDescriptor, Opcode, RequantMode, DESCRIPTOR_WORDS};
    use systole_arch::regmap::{self, ErrorCode};
    use systole_arch::timing::program_timing_at;
    use systole_arch::timing::seq::{program_busy_cycles, sequencer_check, start_check, EngineUnits};
    use systole_arch::ArchConfig;
    use systole_hdl::blocks::top::{available_units, emit_top};
    use systole_hdl::check;
    use systole_hdl::cosim::{RtlDevice, RtlOptions};
    use systole_host::Device;

    const MEM: u64 = 1 << 16;
    const TIMEOUT: Duration = Duration::from_secs(30);

    fn dram() -> DramTiming {
        DramTiming { read_latency: 6, write_latency: 3, interval: 2 }
    }

    fn device(cfg: &ArchConfig) -> Option<RtlDevice> {
        if !check::tools_or_skip(&["verilator"], "engine top co-simulation") {
            return None;
        }
        let design = emit_top(cfg).unwrap_or_else(|e| panic!("{e}"));
        let opts = RtlOptions::new(dram(), MEM, &common::scratch());
        let _build = common::RTL_BUILD.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Some(RtlDevice::start(&design, &opts).unwrap_or_else(|e| panic!("{e}")))
    }

    fn reg(d: &mut RtlDevice, r: regmap::Register) -> u32 {
        d.read_reg(u64::from(r.offset)).unwrap_or_else(|e| panic!("read {}: {e}", r.name))
    }

    fn set(d: &mut RtlDevice, r: regmap::Register, v: u32) {
        d.write_reg(u64::from(r.offset), v).unwrap_or_else(|e| panic!("write {}: {e}", r.name))
    }

    fn counter(d: &mut RtlDevice, lo: regmap::Register, hi: regmap::Register) -> u64 {
        let l = reg(d, lo) as u64;
        l | (reg(d, hi) as u64) << 32
    }

    fn put_words(d: &mut RtlDevice, addr: u64, words: &[u32]) {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        d.write_mem(addr, &bytes).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Makes words 0..=59 sum to zero again after an edit.
    fn reseal(w: &mut [u32; DESCRIPTOR_WORDS]) {
        w[59] = 0;
        let sum = w[..59].iter().fold(0u32, |s, &x| s.wrapping_add(x));
        w[59] = 0u32.wrapping_sub(sum);
    }

    /// What a driver sees after one run: STATUS, IRQ_STATUS, the counters.
    #[derive(Debug)]
    struct Outcome {
        status: u32,
        irq_status: u32,
        busy: u64,
        stall: u64,
        layers: u32,
    }

    /// Programs base/count, starts with the interrupt enabled, waits for it, reads the result.
    fn run(d: &mut RtlDevice, base: u64, count: u32) -> Outcome {
        set(d, regmap::PROGRAM_BASE_LO, base as u32);
        set(d, regmap::PROGRAM_BASE_HI, (base >> 32) as u32);
        set(d, regmap::PROGRAM_COUNT, count);
        set(d, regmap::CONTROL, regmap::CONTROL_IRQ_ENABLE.mask() | regmap::CONTROL_START.mask());
        d.wait_irq(TIMEOUT).unwrap_or_else(|e| panic!("{e}"));
        let o = Outcome {
            status: reg(d, regmap::STATUS),
            irq_status: reg(d, regmap::IRQ_STATUS),
            busy: counter(d, regmap::BUSY_CYCLES_LO, regmap::BUSY_CYCLES_HI),
            stall: counter(d, regmap::DMA_STALL_CYCLES_LO, regmap::DMA_STALL_CYCLES_HI),
            layers: reg(d, regmap::LAYERS_DONE),
        };
        // Clear the interrupt (W1C) and see the line drop.
        set(d, regmap::IRQ_CLEAR, o.irq_status);
        assert_eq!(reg(d, regmap::IRQ_STATUS), 0, "IRQ_CLEAR left bits set");
        let (irq, _) = d.run(4).unwrap_or_else(|e| panic!("{e}"));
        assert!(!irq, "irq still high after IRQ_CLEAR");
        o
    }

    fn assert_no_violations(d: &mut RtlDevice) {
        let (n, first) = d.violations().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(n, 0, "AXI violations: {first}");
    }

    #[test]
    fn end_only_program_is_done_with_exact_counters() {
        for bits in [64, 256] {
            let cfg = config(bits);
            let Some(mut d) = device(&cfg) else { return };
            assert_eq!(reg(&mut d, regmap::ID), regmap::ID_MAGIC);
            assert_eq!(reg(&mut d, regmap::CONFIG_HASH), cfg.config_hash());
            // 0xfc0: the END descriptor straddles a 4 KB boundary (two bursts) at 64..256 bits.
            for base in [0x1000u64, 0x1fc0] {
                put_words(&mut d, base, &encode(&LayerDescriptor::end(0)));
                let o = run(&mut d, base, 1);
                let s = o.status;
                assert_eq!(regmap::STATUS_DONE.get(s), 1, "{bits} bits, base {base:#x}: {s:#x}");
                assert_eq!(regmap::STATUS_BUSY.get(s) + regmap::STATUS_ERROR.get(s), 0, "{s:#x}");
                assert_eq!(o.irq_status, regmap::IRQ_DONE.mask());
                let want = program_busy_cycles(base, &[], &cfg, &dram()).unwrap();
                let program = program_timing_at(base, &[], &cfg, &dram()).unwrap();
                assert_eq!((program.busy_cycles, program.total_cycles), (want, want));
                assert_eq!(o.busy, want, "{bits} bits, base {base:#x}: BUSY_CYCLES");
                assert_eq!((o.stall, o.layers), (0, 0));
            }
            // TOTAL_CYCLES is free-running: two reads differ by the edges between them.
            let t0 = reg(&mut d, regmap::TOTAL_CYCLES_LO) as u64;
            let c0 = d.cycle().unwrap();
            d.run(100).unwrap();
            let t1 = reg(&mut d, regmap::TOTAL_CYCLES_LO) as u64;
            let c1 = d.cycle().unwrap();
            assert_eq!(t1 - t0, c1 - c0, "TOTAL_CYCLES does not count every cycle");
            assert_no_violations(&mut d);
        }
    }

    #[test]
    fn every_provokable_error_code() {
        let cfg = config(64);
        let Some(mut d) = device(&cfg) else { return };
        let units: EngineUnits = available_units(&cfg);
        let base = 0x2000u64;
        let end = encode(&LayerDescriptor::end(0));
        // An ADD (no post-op unit in this build): addresses are checked before support.
        let conv =
            LayerDescriptor { opcode: Some(Opcode::Add), requant: RequantMode::Fixed, ..LayerDescriptor::default() };
        let mut cases: Vec<(&str, [u32; DESCRIPTOR_WORDS], ErrorCode)> = Vec::new();
        let mut w = end;
        w[0] ^= 0x100;
        cases.push(("magic", w, ErrorCode::BadMagic));
        let mut w = end;
        w[1] = (w[1] & !field::VERSION.mask()) | 2;
        reseal(&mut w);
        cases.push(("version", w, ErrorCode::BadVersion));
        let mut w = end;
        w[1] = (w[1] & !field::OPCODE.mask()) | (7 << field::OPCODE.lsb);
        reseal(&mut w);
        cases.push(("opcode", w, ErrorCode::BadOpcode));
        let mut w = end;
        w[40] = 0x10;
        reseal(&mut w);
        cases.push(("reserved word", w, ErrorCode::ReservedBits));
        let mut w = end;
        w[1] |= 1 << 31;
        reseal(&mut w);
        cases.push(("reserved bit", w, ErrorCode::ReservedBits));
        let mut w = end;
        w[59] ^= 1;
        cases.push(("checksum", w, ErrorCode::BadChecksum));
        cases.push(("add without an add unit", encode(&conv), ErrorCode::Unsupported));
        let mut w = end;
        w[1] |= (RequantMode::Float as u32) << field::REQUANT.lsb;
        reseal(&mut w);
        cases.push(("float requant on a fixed-only build", w, ErrorCode::Unsupported));
        let mut w = encode(&conv);
        w[field::OUTPUT_ADDR_LO.word] = 0x1008;
        reseal(&mut w);
        cases.push(("misaligned output", w, ErrorCode::BadAlignment));
        let mut w = encode(&conv);
        w[field::WEIGHT_ADDR_HI.word] = 1;
        reseal(&mut w);
        cases.push(("weights above 4 GB", w, ErrorCode::BadAlignment));
        for (what, words, code) in cases {
            assert_eq!(sequencer_check(&words, cfg.requant, &units), Err(code), "{what}: the Rust check disagrees");
            put_words(&mut d, base, &words);
            let o = run(&mut d, base, 4);
            let s = o.status;
            assert_eq!(regmap::STATUS_ERROR.get(s), 1, "{what}: {s:#x}");
            assert_eq!(regmap::STATUS_ERROR_CODE.get(s), code as u32, "{what}: {s:#x}");
            assert_eq!(regmap::STATUS_LAYER.get(s), 0, "{what}");
            assert_eq!(regmap::STATUS_BUSY.get(s) + regmap::STATUS_DONE.get(s), 0, "{what}: {s:#x}");
            assert_eq!(o.irq_status, regmap::IRQ_ERROR.mask(), "{what}");
            // A failed check stops where END would have finished.
            assert_eq!(o.busy, program_busy_cycles(base, &[], &cfg, &dram()).unwrap(), "{what}: BUSY_CYCLES");
        }
        // Refused at START: no descriptor read, BUSY never rises.
        put_words(&mut d, base, &end);
        for (what, b, count, code) in [
            ("misaligned PROGRAM_BASE", base + 32, 1, ErrorCode::BadAlignment),
            ("PROGRAM_BASE above 4 GB", base | 1 << 32, 1, ErrorCode::BadAlignment),
            ("PROGRAM_COUNT 0", base, 0, ErrorCode::ProgramOverrun),
        ] {
            assert_eq!(start_check(b, count), Err(code), "{what}");
            let o = run(&mut d, b, count);
            assert_eq!(regmap::STATUS_ERROR_CODE.get(o.status), code as u32, "{what}: {:#x}", o.status);
            assert_eq!(o.busy, 0, "{what}");
        }
        // A descriptor beyond device memory: the DRAM answers DECERR.
        let o = run(&mut d, MEM, 1);
        assert_eq!(regmap::STATUS_ERROR_CODE.get(o.status), ErrorCode::DmaError as u32, "{:#x}", o.status);
        // After all that, a good program still runs.
        let o = run(&mut d, base, 1);
        assert_eq!(regmap::STATUS_DONE.get(o.status), 1, "{:#x}", o.status);
        assert_no_violations(&mut d);
    }

    #[test]
    fn soft_reset_aborts_a_fetch_and_clears_everything() {
        let cfg = config(64);
        let Some(mut d) = device(&cfg) else { return };
        let base = 0x3000u64;
        put_words(&mut d, base, &encode(&LayerDescriptor::end(0)));
        // A first run leaves DONE and a pending IRQ behind.
        set(&mut d, regmap::PROGRAM_BASE_LO, base as u32);
        set(&mut d, regmap::PROGRAM_COUNT, 1);
        set(&mut d, regmap::CONTROL, regmap::CONTROL_START.mask());
        let (irq, _) = d.run(500).unwrap();
        assert!(!irq, "IRQ_ENABLE is 0: the line must stay low");
        assert_eq!(regmap::STATUS_DONE.get(reg(&mut d, regmap::STATUS)), 1);
        assert_eq!(reg(&mut d, regmap::IRQ_STATUS), regmap::IRQ_DONE.mask());
        // Start again and abort while the descriptor read is in flight.
        set(&mut d, regmap::CONTROL, regmap::CONTROL_START.mask());
        assert_eq!(regmap::STATUS_BUSY.get(reg(&mut d, regmap::STATUS)), 1, "not busy right after START");
        set(&mut d, regmap::CONTROL, regmap::CONTROL_SOFT_RESET.mask());
        d.run(200).unwrap();
        assert_eq!(reg(&mut d, regmap::STATUS), 0, "STATUS after SOFT_RESET");
        assert_eq!(reg(&mut d, regmap::IRQ_STATUS), 0);
        assert_eq!(counter(&mut d, regmap::BUSY_CYCLES_LO, regmap::BUSY_CYCLES_HI), 0);
        assert_eq!(reg(&mut d, regmap::LAYERS_DONE), 0);
        let total = counter(&mut d, regmap::TOTAL_CYCLES_LO, regmap::TOTAL_CYCLES_HI);
        assert!(total < 300, "TOTAL_CYCLES {total} not cleared by SOFT_RESET");
        // The engine is usable again, with exact timing.
        let o = run(&mut d, base, 1);
        assert_eq!(regmap::STATUS_DONE.get(o.status), 1, "{:#x}", o.status);
        assert_eq!(o.busy, program_busy_cycles(base, &[], &cfg, &dram()).unwrap());
        assert_no_violations(&mut d);
    }
}

/// Real models' engine runs on the RTL (`sim:rtl`), packed for one engine with every post-op
/// unit (ADD, MAX_POOL, AVG_POOL, GLOBAL_AVG_POOL on the engine): every engine run through
/// `RtlDevice` by the register protocol, host steps by the host driver / functional model.
/// Outputs equal the committed tflite-micro goldens byte for byte; every layer's perf record and
/// every run's BUSY_CYCLES equal `arch::timing` and the cycle model's. The same hardware as
/// tests/models.rs sizes for resnet_tiny (one cached build).
/// (The host driver on the RTL and on the cycle model, for every fixture model and CMSIS-NN
/// case: tests/models.rs.)
mod model_run {
    use crate::common;
    use std::path::PathBuf;
    use std::time::Duration;
    use systole_arch::axi_timing::DramTiming;
    use systole_arch::descriptor::{decode, LayerPerf, DESCRIPTOR_BYTES, DESCRIPTOR_WORDS};
    use systole_arch::regmap::{self, ErrorCode};
    use systole_arch::timing::{program_timing_at, LayerTiming, TimingSource};
    use systole_arch::{ArchConfig, LayerDescriptor, Opcode};
    use systole_hdl::blocks::top::{emit_top, generator_post_ops};
    use systole_hdl::check;
    use systole_hdl::cosim::{RtlDevice, RtlOptions};
    use systole_host::{pack, Device, Image, PackOptions};
    use systole_model::ir::{Graph, Value};
    use systole_sim::functional::Dram;
    use systole_sim::{EngineModel, FunctionalModel, LayerStats, RunFailure, RunStats};

    fn dram() -> DramTiming {
        DramTiming { read_latency: 5, write_latency: 3, interval: 1 }
    }

    /// The one engine of these tests: 4 x 4, 64-bit DMA, every post-op unit, the 16 KB
    /// activation buffer (the largest post-op input of the models below: 32 x 32 x 8 bytes).
    fn engine() -> ArchConfig {
        let cfg = ArchConfig {
            dma_data_bits: 64,
            act_buffer_bytes: 16384,
            post_ops: generator_post_ops(),
            ..ArchConfig::new("post_rtl", 4, 4)
        };
        ArchConfig { name: common::build_name(&cfg), ..cfg }
    }

    fn fixture(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/tflite").join(name)
    }

    /// The model, its image for [`engine`], the DRAM size, the first input and its committed
    /// golden (tflite-micro's output).
    fn load(name: &str) -> (Graph, Image, u64, Value, Value) {
        let dir = fixture(name);
        let graph = systole_model::load::load_model(&dir.join("model.tflite")).unwrap_or_else(|e| panic!("{e}"));
        let image = pack(&graph, &engine(), PackOptions::default()).unwrap_or_else(|e| panic!("pack {name}: {e}"));
        let layout = image.plan.dram.clone();
        let mem = (layout.base + layout.size).next_power_of_two().max(1 << 16);
        let input = systole_model::npy::read_value(&dir.join("input_000.npy")).unwrap_or_else(|e| panic!("{e}"));
        let golden = systole_model::npy::read_value(&dir.join("output_000.npy")).unwrap_or_else(|e| panic!("{e}"));
        (graph, image, mem, input, golden)
    }

    /// The engine's opcodes in `image`, in program order (END left out).
    fn engine_ops(image: &Image) -> Vec<Opcode> {
        let descs = image.descriptors().unwrap_or_else(|e| panic!("{e}"));
        descs.iter().filter_map(|d| d.opcode).filter(|&o| o != Opcode::End).collect()
    }

    fn start_rtl(cfg: &ArchConfig, mem: u64) -> RtlDevice {
        let design = emit_top(cfg).unwrap_or_else(|e| panic!("{e}"));
        let _build = common::RTL_BUILD.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        RtlDevice::start(&design, &RtlOptions::new(dram(), mem, &common::scratch())).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The RTL as an engine of the functional model's schedule.
    struct RtlEngine {
        dev: RtlDevice,
        base: u64,
        size: u64,
        /// Every run's descriptors (before END) and its stats, for the timing check.
        runs: Vec<(u64, Vec<LayerDescriptor>, RunStats)>,
    }

    fn fail(code: ErrorCode, reason: String) -> RunFailure {
        RunFailure { code, layer: 0, reason, cycles: 0 }
    }

    impl EngineModel for RtlEngine {
        fn run_program(&mut self, dram: &mut Dram, base: u64, max: u32) -> Result<RunStats, RunFailure> {
            let io = |e: &dyn std::fmt::Display| fail(ErrorCode::DmaError, e.to_string());
            let bytes = dram.read(self.base, self.size as usize).map_err(|e| io(&e))?.to_vec();
            let d = &mut self.dev;
            d.write_mem(self.base, &bytes).map_err(|e| io(&e))?;
            let regs: [(regmap::Register, u32); 4] = [
                (regmap::PROGRAM_BASE_LO, base as u32),
                (regmap::PROGRAM_BASE_HI, (base >> 32) as u32),
                (regmap::PROGRAM_COUNT, max),
                (regmap::CONTROL, regmap::CONTROL_IRQ_ENABLE.mask() | regmap::CONTROL_START.mask()),
            ];
            for (r, v) in regs {
                d.write_reg(u64::from(r.offset), v).map_err(|e| io(&e))?;
            }
            d.wait_irq(Duration::from_secs(600)).map_err(|e| io(&e))?;
            let mut read = |r: regmap::Register| d.read_reg(u64::from(r.offset)).map_err(|e| io(&e));
            let status = read(regmap::STATUS)?;
            let busy = read(regmap::BUSY_CYCLES_LO)? as u64 | (read(regmap::BUSY_CYCLES_HI)? as u64) << 32;
            let stall = read(regmap::DMA_STALL_CYCLES_LO)? as u64 | (read(regmap::DMA_STALL_CYCLES_HI)? as u64) << 32;
            let done = read(regmap::LAYERS_DONE)?;
            read(regmap::IRQ_STATUS)
                .and_then(|v| d.write_reg(u64::from(regmap::IRQ_CLEAR.offset), v).map_err(|e| io(&e)))?;
            if regmap::STATUS_ERROR.get(status) == 1 {
                let code = ErrorCode::from_code(regmap::STATUS_ERROR_CODE.get(status)).unwrap_or(ErrorCode::None);
                let layer = regmap::STATUS_LAYER.get(status);
                return Err(RunFailure { code, layer, reason: format!("STATUS {status:#x}"), cycles: busy });
            }
            let mut back = vec![0u8; bytes.len()];
            d.read_mem(self.base, &mut back).map_err(|e| io(&e))?;
            dram.write(self.base, &back).map_err(|e| io(&e))?;
            let mut layers = Vec::new();
            let mut descs = Vec::new();
            for i in 0..done {
                let addr = base + (i as usize * DESCRIPTOR_BYTES) as u64;
                let words = dram.read_words(addr, DESCRIPTOR_WORDS).map_err(|e| io(&e))?;
                let desc = decode(&words).map_err(|e| io(&e))?;
                let perf = LayerPerf::from_words(&words).map_err(|e| io(&e))?;
                let timing = LayerTiming {
                    cycles: perf.cycles,
                    dma_stall_cycles: perf.dma_stall_cycles,
                    macs: 0,
                    dram_read_bytes: 0,
                    dram_write_bytes: 0,
                    source: TimingSource::Exact,
                };
                layers.push(LayerStats { index: i, opcode: desc.opcode.unwrap_or(Opcode::End), timing });
                descs.push(desc);
            }
            let stats = RunStats { total_cycles: busy, busy_cycles: busy, dma_stall_cycles: stall, layers };
            self.runs.push((base, descs, stats.clone()));
            Ok(stats)
        }
    }

    /// resnet_tiny (residual ADDs, a MEAN = GLOBAL_AVG_POOL): every ADD and the pool run on the
    /// post-op unit, every layer's perf record is `arch::timing`'s exact count, and the output
    /// equals the functional model's and the committed golden.
    #[test]
    fn resnet_tiny_on_the_rtl_equals_the_functional_model_and_the_timing() {
        if !check::tools_or_skip(&["verilator"], "resnet_tiny on the RTL") {
            return;
        }
        let cfg = engine();
        let (_, image, mem, input, golden) = load("resnet_tiny");
        let ops = engine_ops(&image);
        assert!(ops.contains(&Opcode::Add), "resnet_tiny's ADDs are not on the engine: {ops:?}");
        assert!(ops.contains(&Opcode::GlobalAvgPool), "resnet_tiny's pool is not on the engine: {ops:?}");
        let layout = image.plan.dram.clone();
        let model = FunctionalModel::new(image, &cfg, mem).unwrap_or_else(|e| panic!("{e}"));
        let want = model.run(std::slice::from_ref(&input)).unwrap_or_else(|e| panic!("functional: {e}"));

        let dev = start_rtl(&cfg, mem);
        let mut engine = RtlEngine { dev, base: layout.base, size: layout.size, runs: Vec::new() };
        let got = model.run_with(&mut engine, std::slice::from_ref(&input)).unwrap_or_else(|e| panic!("rtl: {e}"));
        assert_eq!(got.outputs.len(), want.len());
        for (i, (g, w)) in got.outputs.iter().zip(&want).enumerate() {
            assert_eq!(g.data, w.data, "output {i} differs between the RTL and the functional model");
        }
        assert_eq!(got.outputs[0].data, golden.data, "output 0 differs from tflite-micro's golden");
        assert!(!engine.runs.is_empty(), "no engine run");
        let mut layers = 0;
        let mut post = 0;
        for (base, descs, stats) in &engine.runs {
            let want = program_timing_at(*base, descs, &cfg, &dram()).unwrap_or_else(|e| panic!("{e}"));
            for (i, (l, t)) in stats.layers.iter().zip(&want.layers).enumerate() {
                assert_eq!(t.source, TimingSource::Exact, "run at {base:#x} layer {i}");
                assert_eq!(
                    (l.timing.cycles, l.timing.dma_stall_cycles),
                    (t.cycles, t.dma_stall_cycles),
                    "run at {base:#x} layer {i} ({:?}): perf record vs arch::timing",
                    l.opcode
                );
                post += usize::from(l.opcode != Opcode::Conv);
            }
            assert_eq!(stats.busy_cycles, want.busy_cycles, "run at {base:#x}: BUSY_CYCLES");
            assert_eq!(stats.dma_stall_cycles, want.dma_stall_cycles, "run at {base:#x}: DMA_STALL_CYCLES");
            layers += stats.layers.len();
        }
        assert_eq!(post, ops.iter().filter(|&&o| o != Opcode::Conv).count(), "post-op layers run");
        eprintln!(
            "resnet_tiny on the RTL: {} engine runs, {layers} layers ({post} post-op), all cycle counts exact",
            engine.runs.len()
        );
        let (n, first) = engine.dev.violations().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(n, 0, "AXI violations: {first}");
    }
}
