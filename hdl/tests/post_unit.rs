//! The post-op unit: lint-clean, latch-free Verilog, and Verilator co-simulation of random
//! layers of every implemented (opcode, requant) mode: final DRAM byte for byte against the
//! functional engine model (`sim::functional::run_post`, which applies the model crate's
//! kernels), start -> done cycles and stall cycles against `arch::timing::post` exactly.

mod common;

use std::path::PathBuf;
use systole_arch::descriptor::PostParams;
use systole_arch::descriptor::{decode, DESCRIPTOR_BYTES, DESCRIPTOR_WORDS};
use systole_arch::regmap::ErrorCode;
use systole_arch::timing::post::{implemented, post_cycles};
use systole_arch::{ArchConfig, LayerDescriptor, Opcode, PostOps, RequantMode, RequantModes};
use systole_hdl::axi_timing::dram::DramConfig;
use systole_hdl::axi_timing::stall::Stalls;
use systole_hdl::axi_timing::{BusWidth, DramTiming};
use systole_hdl::blocks::post::cosim::{PostCosim, PostOutcome, PostRun};
use systole_hdl::blocks::post::{top, PostTop};
use systole_hdl::check;
use systole_hdl::emit::{self, Design};
use systole_hdl::rng::Rng;
use systole_host::{pack, PackOptions};
use systole_model::kernels::elementwise::TfliteAddParams;
use systole_model::kernels::pool::TfliteMeanParams;
use systole_model::load::load_model;
use systole_model::npy;
use systole_sim::functional::{execute_layer, run_post, Dram};
use systole_sim::{EngineModel, FunctionalModel, RunFailure, RunStats};

/// Buffers of 2^WA 8-byte beats in the co-simulated unit (16 KB).
const WA: usize = 11;
const BUFFER_BYTES: u64 = (1 << WA) * 8;
/// Random layers stay small (their inputs and output spans at most this).
const RANDOM_BYTES: u64 = 2048;
const MEM: u64 = 1 << 16;
const PARAM: u64 = 0x40;
const IN1: u64 = 0x1000;
const IN2: u64 = 0x2000;
const OUT: u64 = 0x8000;

fn emit_top<const W: usize, const S: usize, const A: usize>(name: &str) -> (Design, PathBuf) {
    let mut uut = PostTop::<W, S, A>::default();
    let design = emit::emit_with_nested_waivers(&mut uut, name, &[], &top::nested_waivers())
        .unwrap_or_else(|e| panic!("emit {name}: {e}"));
    let dir = common::scratch().join("designs").join(format!("{name}-{}", std::process::id()));
    let path = design.write_to(&dir).unwrap_or_else(|e| panic!("write {name}: {e}"));
    (design, path)
}

#[test]
fn post_unit_lints_and_synthesises() {
    if !check::tools_or_skip(&["verilator", "yosys"], "post unit lint/synth") {
        return;
    }
    // Lint at the co-simulated size; synthesise a small buffer (generic synthesis turns
    // memories into flip-flops).
    let (design, path) = emit_top::<64, 8, WA>("systole_post64");
    check::lint(&path, &design.top).unwrap_or_else(|e| panic!("{e}"));
    let (design, path) = emit_top::<512, 64, 4>("systole_post512");
    check::lint(&path, &design.top).unwrap_or_else(|e| panic!("{e}"));
    let (design, path) = emit_top::<64, 8, 2>("systole_post64_small");
    let r = common::lint_and_synth(&design, &path);
    assert!(r.latches().is_empty(), "{:?}", r.latches());
}

/// A random layer of `op` that validates and fits the buffers, with its record.
fn random_layer(rng: &mut Rng, op: Opcode) -> (LayerDescriptor, Option<PostParams>) {
    loop {
        let signed = rng.chance(50);
        let (qmin, qmax) = if signed { (-128i64, 127i64) } else { (0, 255) };
        let c = rng.range(1, 12) as u16;
        let mut d = LayerDescriptor {
            opcode: Some(op),
            in_signed: signed,
            out_signed: signed,
            batch: rng.range(1, 2) as u16,
            in_h: rng.range(1, 7) as u16,
            in_w: rng.range(1, 7) as u16,
            in_c: c,
            out_c: c,
            in_zp: rng.range(qmin, qmax) as i16,
            out_zp: rng.range(qmin, qmax) as i16,
            input_addr: IN1,
            output_addr: OUT,
            ..LayerDescriptor::default()
        };
        let lo = if rng.chance(40) { rng.range(qmin, qmax) } else { qmin };
        let hi = if rng.chance(40) { rng.range(lo, qmax) } else { qmax };
        d.act_min = lo as i16;
        d.act_max = hi as i16;
        let extra = if rng.chance(50) { rng.range(1, 9) as u16 } else { 0 };
        d.out_ch_stride = c + extra;
        d.out_ch_offset = rng.range(0, extra as i64) as u16;
        let scale = |rng: &mut Rng| 0.01 + rng.below(1000) as f32 / 4000.0;
        let mut rec = None;
        match op {
            Opcode::Add => {
                d.requant = RequantMode::Fixed;
                d.in2_signed = signed;
                d.in2_zp = rng.range(qmin, qmax) as i16;
                d.input2_addr = IN2;
                d.out_h = d.in_h;
                d.out_w = d.in_w;
                let p = TfliteAddParams::new(
                    scale(rng),
                    d.in_zp as i32,
                    scale(rng),
                    d.in2_zp as i32,
                    scale(rng),
                    d.out_zp as i32,
                    lo as i32,
                    hi as i32,
                );
                rec = Some(PostParams::AddFixed {
                    left_shift: p.left_shift,
                    input1_multiplier: p.input1_multiplier,
                    input1_shift: p.input1_shift,
                    input2_multiplier: p.input2_multiplier,
                    input2_shift: p.input2_shift,
                    output_multiplier: p.output_multiplier,
                    output_shift: p.output_shift,
                });
            }
            Opcode::MaxPool | Opcode::AvgPool => {
                d.kernel_h = rng.range(1, 3) as u8;
                d.kernel_w = rng.range(1, 3) as u8;
                d.stride_h = rng.range(1, 3) as u8;
                d.stride_w = rng.range(1, 3) as u8;
                d.pad_top = rng.range(0, d.kernel_h as i64 - 1) as u8;
                d.pad_bottom = rng.range(0, d.kernel_h as i64 - 1) as u8;
                d.pad_left = rng.range(0, d.kernel_w as i64 - 1) as u8;
                d.pad_right = rng.range(0, d.kernel_w as i64 - 1) as u8;
                let out = |i: u16, k: u8, s: u8, a: u8, b: u8| {
                    let span = i as i64 + a as i64 + b as i64 - k as i64;
                    if span < 0 {
                        0
                    } else {
                        (span / s as i64 + 1) as u16
                    }
                };
                d.out_h = out(d.in_h, d.kernel_h, d.stride_h, d.pad_top, d.pad_bottom);
                d.out_w = out(d.in_w, d.kernel_w, d.stride_w, d.pad_left, d.pad_right);
                d.count_include_pad = op == Opcode::AvgPool && rng.chance(30);
            }
            Opcode::GlobalAvgPool => {
                d.out_h = 1;
                d.out_w = 1;
                if rng.chance(50) {
                    // MEAN with equal quantisation is the truncating mean; the rescale otherwise.
                    d.out_zp = d.in_zp;
                } else {
                    d.requant = RequantMode::Fixed;
                    if let TfliteMeanParams::Rescale { multiplier, shift, .. } =
                        TfliteMeanParams::new(scale(rng), d.in_zp as i32, scale(rng), d.out_zp as i32 + 1)
                    {
                        rec = Some(PostParams::MeanFixed { multiplier, shift });
                    }
                }
            }
            _ => unreachable!(),
        }
        let in_len = d.batch as u64 * d.in_h as u64 * d.in_w as u64 * c as u64;
        let span = d.batch as u64 * d.out_h as u64 * d.out_w as u64 * d.out_ch_stride as u64;
        if d.requant == RequantMode::Fixed {
            if rec.is_none() {
                continue;
            }
            d.param_addr = PARAM;
        }
        if d.validate().is_ok() && in_len <= RANDOM_BYTES && span <= RANDOM_BYTES {
            return (d, rec);
        }
    }
}

fn initial_memory(rng: &mut Rng, rec: Option<PostParams>) -> Vec<u8> {
    let mut mem: Vec<u8> = (0..MEM).map(|_| rng.below(256) as u8).collect();
    if let Some(p) = rec {
        for (k, w) in p.to_words().iter().enumerate() {
            mem[PARAM as usize + 4 * k..PARAM as usize + 4 * k + 4].copy_from_slice(&w.to_le_bytes());
        }
    }
    mem
}

fn cfg_bits(bits: u32) -> ArchConfig {
    ArchConfig { dma_data_bits: bits, ..ArchConfig::new("post", 8, 8) }
}

fn golden(d: &LayerDescriptor, mem: &[u8]) -> Vec<u8> {
    let mut dram = Dram::new(0, MEM).unwrap_or_else(|e| panic!("{e}"));
    dram.write(0, mem).unwrap_or_else(|e| panic!("{e}"));
    run_post(&mut dram, d).unwrap_or_else(|e| panic!("golden {d:?}: {e:?}"));
    dram.read(0, MEM as usize).unwrap_or_else(|e| panic!("{e}")).to_vec()
}

fn run(sim: &PostCosim, bits: u32, d: &LayerDescriptor, mem: Vec<u8>, timing: DramTiming) -> PostOutcome {
    let dram = DramConfig {
        timing,
        bus: BusWidth::new(bits).unwrap_or_else(|e| panic!("{e}")),
        mem_bytes: MEM,
        slverr: 0..0,
        stalls: Stalls::none(),
    };
    let o = sim
        .run(&PostRun { dram, descriptor: d.clone(), memory: mem, start_edge: 5, max_cycles: 400_000 })
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(o.violations.is_empty(), "{:?}", o.violations);
    assert!(o.finished && o.error.is_none(), "{d:?}: {o:?}");
    o
}

/// `per_op` random layers of each opcode on the unit of `sim` (`bits`-bit DMA).
fn random_layers(sim: &PostCosim, bits: u32, seed: u64, per_op: usize) {
    let mut rng = Rng(seed);
    let mut layers = 0;
    for op in [Opcode::MaxPool, Opcode::AvgPool, Opcode::GlobalAvgPool, Opcode::Add] {
        for i in 0..per_op {
            let (d, rec) = random_layer(&mut rng, op);
            let mem = initial_memory(&mut rng, rec);
            let want = golden(&d, &mem);
            let timing = DramTiming::new(1 + rng.below(12), 1 + rng.below(2)).unwrap_or_else(|e| panic!("{e}"));
            let o = run(sim, bits, &d, mem, timing);
            if let Some(k) = (0..MEM as usize).find(|&k| o.memory[k] != want[k]) {
                panic!(
                    "{op:?} layer {i}: byte {k:#x}: rtl {} golden {}\n{d:?}\n{rec:?}",
                    o.memory[k] as i8, want[k] as i8
                );
            }
            let t = post_cycles(&d, &cfg_bits(bits), &timing).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(o.cycles(), Some(t.cycles), "{op:?} layer {i} cycles, {timing:?}\n{d:?}");
            assert_eq!(o.stall_cycles, t.dma_stall_cycles, "{op:?} layer {i} stall cycles\n{d:?}");
            layers += 1;
        }
    }
    assert_eq!(layers, 4 * per_op);
}

#[test]
fn post_unit_matches_the_functional_model() {
    if !check::tools_or_skip(&["verilator"], "post unit co-simulation") {
        return;
    }
    let (design, _) = emit_top::<64, 8, WA>("systole_post64_sim");
    let sim = PostCosim::build(&design, &common::scratch()).unwrap_or_else(|e| panic!("{e}"));
    random_layers(&sim, 64, 0x9057, 12);
}

/// 256-bit beats: the record is one beat, a beat holds 32 output bytes.
#[test]
fn post_unit_matches_the_functional_model_at_256_bits() {
    if !check::tools_or_skip(&["verilator"], "post unit co-simulation (256 bits)") {
        return;
    }
    let (design, _) = emit_top::<256, 32, 6>("systole_post256_sim");
    let sim = PostCosim::build(&design, &common::scratch()).unwrap_or_else(|e| panic!("{e}"));
    random_layers(&sim, 256, 0x256, 5);
}

/// An engine whose post-op layers run on the RTL (relocated into the co-simulator's memory) and
/// whose CONV layers run on the functional model; every RTL layer is also checked byte for byte
/// against `run_post` and cycle for cycle against `post_cycles`.
struct RtlPostEngine<'a> {
    sim: &'a PostCosim,
    cfg: ArchConfig,
    timing: DramTiming,
    device_end: u64,
    /// (opcode, requant) of every layer the RTL ran.
    ran: Vec<(Opcode, RequantMode)>,
}

impl RtlPostEngine<'_> {
    fn rtl_layer(&mut self, dram: &mut Dram, d: &LayerDescriptor) -> Result<(), String> {
        let opcode = d.opcode.ok_or("no opcode")?;
        let c = d.in_c as u64;
        let in_len = d.batch as u64 * d.in_h as u64 * d.in_w as u64 * c;
        let out_px = match opcode {
            Opcode::Add => d.batch as u64 * d.in_h as u64 * d.in_w as u64,
            _ => d.batch as u64 * d.out_h as u64 * d.out_w as u64,
        };
        let span = (out_px * d.out_ch_stride as u64).div_ceil(8) * 8;
        let mut regions = vec![(d.input_addr, in_len), (d.output_addr, span)];
        if opcode == Opcode::Add {
            regions.push((d.input2_addr, in_len));
        }
        if d.requant == RequantMode::Fixed {
            regions.push((d.param_addr, 32));
        }
        // Relocate by a multiple of 4 KB: bursts split exactly as at the real addresses.
        let lo = regions.iter().map(|r| r.0).min().ok_or("no regions")? & !4095;
        let hi = regions.iter().map(|r| r.0 + r.1).max().ok_or("no regions")?;
        let size = (hi - lo).div_ceil(4096) * 4096;
        let avail = (self.device_end - lo).min(size) as usize;
        let mut mem = vec![0u8; size as usize];
        mem[..avail].copy_from_slice(dram.read(lo, avail).map_err(|e| e.to_string())?);
        let mut moved = d.clone();
        moved.input_addr -= lo;
        moved.output_addr -= lo;
        if opcode == Opcode::Add {
            moved.input2_addr -= lo;
        }
        if d.requant == RequantMode::Fixed {
            moved.param_addr -= lo;
        }
        let dram_cfg = DramConfig {
            timing: self.timing,
            bus: BusWidth::new(64).map_err(|e| e.to_string())?,
            mem_bytes: size,
            slverr: 0..0,
            stalls: Stalls::none(),
        };
        let run = PostRun { dram: dram_cfg, descriptor: moved, memory: mem, start_edge: 5, max_cycles: 4_000_000 };
        let o = self.sim.run(&run).map_err(|e| e.to_string())?;
        if !o.violations.is_empty() || !o.finished || o.error.is_some() {
            return Err(format!("RTL run failed: {o:?}"));
        }
        // The golden on the real DRAM, then the whole window compared (no stray writes).
        run_post(dram, d).map_err(|f| format!("golden: {f:?}"))?;
        let want = dram.read(lo, avail).map_err(|e| e.to_string())?;
        if let Some(k) = (0..avail).find(|&k| o.memory[k] != want[k]) {
            return Err(format!("byte {:#x}: rtl {} golden {}", lo + k as u64, o.memory[k], want[k]));
        }
        let t = post_cycles(d, &self.cfg, &self.timing).map_err(|e| e.to_string())?;
        if o.cycles() != Some(t.cycles) || o.stall_cycles != t.dma_stall_cycles {
            return Err(format!("cycles {:?} / stall {} vs formula {t:?}", o.cycles(), o.stall_cycles));
        }
        self.ran.push((opcode, d.requant));
        Ok(())
    }
}

impl EngineModel for RtlPostEngine<'_> {
    fn run_program(&mut self, dram: &mut Dram, base: u64, max: u32) -> Result<RunStats, RunFailure> {
        let fail = |layer: u32, reason: String| RunFailure { code: ErrorCode::Unsupported, layer, reason, cycles: 0 };
        for k in 0..max {
            let words = dram
                .read_words(base + k as u64 * DESCRIPTOR_BYTES as u64, DESCRIPTOR_WORDS)
                .map_err(|e| fail(k, e.to_string()))?;
            let d = decode(&words).map_err(|e| fail(k, e.to_string()))?;
            let opcode = d.opcode.unwrap_or(Opcode::End);
            if opcode == Opcode::End {
                return Ok(RunStats::default());
            }
            if opcode != Opcode::Conv && implemented(opcode, d.requant) {
                self.rtl_layer(dram, &d).map_err(|r| fail(k, format!("{opcode:?}: {r}")))?;
            } else {
                execute_layer(dram, &d, &self.cfg).map_err(|f| fail(k, format!("{f:?}")))?;
            }
        }
        Err(fail(max, "no END".into()))
    }
}

/// The post layers of the repository's TFLite fixture models (resnet_tiny: ADD, MEAN;
/// mobilenet_tiny: pools; uint8_legacy) run on the RTL inside whole inferences, whose outputs
/// must equal tflite-micro's goldens.
#[test]
fn fixture_models_post_layers_on_the_rtl() {
    if !check::tools_or_skip(&["verilator"], "post unit fixture co-simulation") {
        return;
    }
    let (design, _) = emit_top::<64, 8, WA>("systole_post64_sim");
    let sim = PostCosim::build(&design, &common::scratch()).unwrap_or_else(|e| panic!("{e}"));
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/tflite");
    let mut ran = Vec::new();
    for name in ["resnet_tiny", "mobilenet_tiny", "uint8_legacy"] {
        let dir = root.join(name);
        let graph = load_model(&dir.join("model.tflite")).unwrap_or_else(|e| panic!("{name}: {e}"));
        let cfg = ArchConfig {
            dma_data_bits: 64,
            act_buffer_bytes: BUFFER_BYTES as u32,
            requant: RequantModes { fixed: true, float: true },
            post_ops: PostOps { add: true, avg_pool: true, max_pool: true, global_avg_pool: true },
            ..ArchConfig::new("post_fixture", 8, 8)
        };
        let image = pack(&graph, &cfg, PackOptions::default()).unwrap_or_else(|e| panic!("{name}: pack: {e}"));
        let device_end = image.plan.dram.base + image.plan.dram.size;
        let model = FunctionalModel::new(image, &cfg, 1 << 30).unwrap_or_else(|e| panic!("{name}: {e}"));
        let input = npy::read_value(&dir.join("input_000.npy")).unwrap_or_else(|e| panic!("{e}"));
        let golden = npy::read_value(&dir.join("output_000.npy")).unwrap_or_else(|e| panic!("{e}"));
        let timing = DramTiming::new(8, 1).unwrap_or_else(|e| panic!("{e}"));
        let mut engine = RtlPostEngine { sim: &sim, cfg: cfg.clone(), timing, device_end, ran: Vec::new() };
        let out = model.run_with(&mut engine, &[input]).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(out.outputs[0], golden, "{name}: output differs from tflite-micro");
        println!("{name}: {} post layers on the RTL: {:?}", engine.ran.len(), engine.ran);
        ran.extend(engine.ran);
    }
    for op in [Opcode::Add, Opcode::GlobalAvgPool] {
        assert!(ran.iter().any(|r| r.0 == op), "no {op:?} layer of the fixtures ran on the RTL: {ran:?}");
    }
}

/// Xilinx 7-series resources of the unit at W = 64 with 16 KB buffers (the co-simulated size):
/// `cargo test -p systole-hdl --test post_unit -- --ignored` (~10 minutes: three requantisers,
/// the 64-bit divider, block RAM inference).
#[test]
#[ignore]
fn post_unit_xilinx_resources() {
    if !check::tools_or_skip(&["yosys"], "post unit resources") {
        return;
    }
    let mut uut = systole_hdl::blocks::post::PostUnit::<64, 8, WA>::default();
    let design = emit::emit_with_nested_waivers(
        &mut uut,
        "systole_post_unit64",
        &[],
        &systole_hdl::blocks::post::rtl::nested_waivers(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let dir = common::scratch().join("designs").join(format!("systole_post_unit64-{}", std::process::id()));
    let path = design.write_to(&dir).unwrap_or_else(|e| panic!("{e}"));
    let t = std::time::Instant::now();
    let r = common::synth_xilinx_with_brams(&path, &design.top);
    let bram: u64 = r.cells.iter().filter(|(k, _)| k.starts_with("RAMB")).map(|(_, v)| v).sum();
    println!(
        "post unit W 64, 4 x 16 KB: LUT {} FF {} RAMB {bram} CARRY4 {} SRL {} DSP {} ({:.1?}; {:?})",
        r.luts(),
        r.ffs(),
        r.carries(),
        r.srls(),
        r.dsps(),
        t.elapsed(),
        r.cells
    );
    assert!(bram > 0, "the buffers must be block RAM: {:?}", r.cells);
}

/// Modes the RTL does not implement are refused with UNSUPPORTED before any DMA traffic; an
/// input larger than the buffers with BAD_GEOMETRY after SETUP; memory is left untouched.
#[test]
fn post_unit_refuses_what_it_cannot_run() {
    if !check::tools_or_skip(&["verilator"], "post unit error paths") {
        return;
    }
    let (design, _) = emit_top::<64, 8, WA>("systole_post64_sim");
    let sim = PostCosim::build(&design, &common::scratch()).unwrap_or_else(|e| panic!("{e}"));
    let mut rng = Rng(0xe77);
    let (pool, _) = random_layer(&mut rng, Opcode::AvgPool);
    let float = LayerDescriptor { requant: RequantMode::Float, param_addr: PARAM, ..pool };
    let (add, rec) = random_layer(&mut rng, Opcode::Add);
    // 64 x 64 x 8 bytes: twice the 16 KB buffer.
    let big = LayerDescriptor { in_h: 64, in_w: 64, out_h: 64, out_w: 64, in_c: 8, out_c: 8, out_ch_stride: 8, ..add };
    for (d, code) in [(float, ErrorCode::Unsupported), (big, ErrorCode::BadGeometry)] {
        let mem = initial_memory(&mut rng, rec);
        let dram = DramConfig {
            timing: DramTiming::new(3, 1).unwrap_or_else(|e| panic!("{e}")),
            bus: BusWidth::new(64).unwrap_or_else(|e| panic!("{e}")),
            mem_bytes: MEM,
            slverr: 0..0,
            stalls: Stalls::none(),
        };
        let run = PostRun { dram, descriptor: d.clone(), memory: mem.clone(), start_edge: 5, max_cycles: 10_000 };
        let o = sim.run(&run).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(o.error.map(|e| e.1), Some(code as u8), "{d:?}: {o:?}");
        assert!(o.done.is_none() && o.finished, "{o:?}");
        assert!(o.memory == mem, "{code:?}: memory changed");
    }
}
