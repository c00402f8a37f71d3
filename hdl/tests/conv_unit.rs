//! The CONV layer unit (`blocks::conv::ConvUnit`) behind a real `Dma` on the C++ AXI DRAM slave:
//! random conv layers (strides, dilations, asymmetric padding, grouped, depthwise, FC, C_in
//! below / above R, per-channel weight zero points, both requant modes, channel-slice outputs,
//! uint8 and int8) are laid out in DRAM as the packer does (arch's `plan_conv` /
//! `tile_weights`, 16-byte `ChannelParams`), the unit runs from one `start`, and
//! * every DRAM byte afterwards equals an independent direct convolution + `OutputStage::apply`
//!   (the bytes outside the layer's slice untouched);
//! * `start` -> `done` and the stall cycles equal `arch::timing::conv::conv_cycles` exactly;
//! * the unit's AXI traffic breaks no rule of the slave.

mod common;

use systole_arch::axi_timing::dram::DramConfig;
use systole_arch::axi_timing::stall::Stalls;
use systole_arch::axi_timing::{BusWidth, DramTiming};
use systole_arch::descriptor::{ChannelParams, PARAM_BYTES_PER_CHANNEL};
use systole_arch::plan::{plan_conv, tile_weights, ConvGeometry};
use systole_arch::timing::conv::conv_cycles_masked;
use systole_arch::zero_mask::ZeroMask;
use systole_arch::{ArchConfig, LayerDescriptor, Opcode, RequantMode};
use systole_hdl::blocks::conv::cosim::ConvCosimTop;
use systole_hdl::blocks::conv::{unit_fields, ConvCosim, ConvStimulus, ConvUnit};
use systole_hdl::check;
use systole_hdl::rng::Rng;
use systole_model::ir::int4::pack_i4;
use systole_model::ir::Padding2d;
use systole_model::quant::{OutputStage, Requant};

const MEM: u64 = 1 << 16;
const INPUT: u64 = 0x1000;
const WEIGHTS: u64 = 0x3000;
const PARAMS: u64 = 0x7000;
const OUTPUT: u64 = 0x9000;

fn config(rows: u32, cols: u32) -> ArchConfig {
    let mut cfg = ArchConfig::new("conv_test", rows, cols);
    cfg.psum_depth = 16;
    cfg.act_buffer_bytes = 4096;
    cfg.requant.float = true;
    // Every unit here skips zero tiles (a 100-bit mask: two records beats at 64 bits, one at
    // 128); random layers with and without `ZERO_SKIP` run on it.
    cfg.zero_skip_tiles = 100;
    cfg
}

/// One random layer: its descriptor, the DRAM image and the expected image.
struct Layer {
    d: LayerDescriptor,
    memory: Vec<u8>,
    expected: Vec<u8>,
    /// The zero-tile mask of a layer with `ZERO_SKIP`.
    mask: Option<ZeroMask>,
}

fn byte(signed: bool, b: u8) -> i32 {
    if signed {
        b as i8 as i32
    } else {
        b as i32
    }
}

/// `cfg.weight_bits` 4: int4 weights (signed, zero points in [-8, 7], per-tensor or per-channel),
/// the tiles packed two per byte, low nibble first (`model::ir::int4`, as the host packer does).
/// On an engine with zero-tile skipping, most layers get a random mask (per o-tile: none, random,
/// all but the first, or a trailing run skipped); the skipped tiles' weights are set to their
/// column's zero point, so the direct convolution below is the golden of the skipping run too.
fn random_layer(rng: &mut Rng, cfg: &ArchConfig) -> Layer {
    let int4 = cfg.int4_weights();
    let skip = cfg.zero_skip() && rng.chance(60);
    let fc = rng.chance(if skip { 25 } else { 10 });
    let depthwise = !fc && rng.chance(20);
    let grouped = !fc && !depthwise && rng.chance(15);
    let groups = if depthwise {
        1 + rng.below(6) as usize
    } else if grouped {
        2
    } else {
        1
    };
    let cg = if depthwise { 1 } else { 1 + rng.below(9) as usize };
    let in_c = groups * cg;
    let og = if depthwise { 1 + rng.below(2) as usize } else { 1 + rng.below(10 / groups as u64) as usize };
    let out_c = groups * og;
    let mut geom = if fc {
        // With skipping, up to 75 k-tiles per o-tile on 4 rows: a mask past its first word.
        let k = 1 + rng.below(if skip { 300 } else { 40 }) as usize;
        ConvGeometry::fully_connected(1 + rng.below(3) as usize, k, 1 + rng.below(10) as usize)
    } else {
        let k = [1 + rng.below(3) as usize, 1 + rng.below(3) as usize];
        ConvGeometry {
            batch: 1 + rng.below(2) as usize,
            in_h: 1 + rng.below(7) as usize,
            in_w: 1 + rng.below(7) as usize,
            in_c,
            out_c,
            kernel: k,
            stride: [1 + rng.below(2) as usize, 1 + rng.below(2) as usize],
            dilation: [1 + rng.below(2) as usize, 1 + rng.below(2) as usize],
            padding: Padding2d {
                top: rng.below(k[0] as u64) as usize,
                left: rng.below(k[1] as u64) as usize,
                bottom: rng.below(k[0] as u64) as usize,
                right: rng.below(k[1] as u64) as usize,
            },
            groups,
        }
    };
    // Keep the window inside the padded input.
    while geom.validate().is_err() || geom.out_h() == 0 || geom.out_w() == 0 {
        geom.in_h += 1;
        geom.in_w += 1;
    }
    let plan = plan_conv(&geom, cfg).unwrap_or_else(|e| panic!("{geom:?}: {e}"));
    let out_c = geom.out_c;
    let (in_signed, out_signed) = (rng.chance(50), rng.chance(50));
    let w_signed = int4 || rng.chance(50);
    let per_channel = (int4 || !w_signed) && rng.chance(50);
    let zp4 = |rng: &mut Rng| rng.below(16) as i16 - 8;
    let float = rng.chance(50);
    let in_zp: i16 = if in_signed { rng.below(21) as i16 - 10 } else { 100 + rng.below(41) as i16 };
    let out_zp: i16 = if out_signed { rng.below(11) as i16 - 5 } else { 120 + rng.below(11) as i16 };
    let w_zp: i16 = if per_channel {
        0
    } else if int4 {
        zp4(rng)
    } else if w_signed {
        0
    } else {
        120 + rng.below(16) as i16
    };
    let (qmin, qmax) = if out_signed { (-128, 127) } else { (0, 255) };
    let (act_min, act_max) = if rng.chance(30) { (out_zp as i32, qmax) } else { (qmin, qmax) };
    let slice = rng.chance(30);
    let out_ch_stride = if slice { out_c + 1 + rng.below(6) as usize } else { out_c };
    let out_ch_offset = if slice { rng.below((out_ch_stride - out_c + 1) as u64) as usize } else { 0 };

    let params: Vec<ChannelParams> = (0..out_c)
        .map(|_| ChannelParams {
            bias: rng.below(4001) as i32 - 2000,
            multiplier_or_scale: if float {
                (0.002 + 0.02 * (rng.below(1000) as f32 / 1000.0)).to_bits()
            } else {
                (1u32 << 30) + rng.below(1 << 30) as u32
            },
            shift: if float { 0 } else { -(4 + rng.below(6) as i32) },
            weight_zp: match (per_channel, int4) {
                (false, _) => 0,
                (true, true) => zp4(rng),
                (true, false) => 110 + rng.below(30) as i16,
            },
        })
        .collect();
    let zw: Vec<i32> = params.iter().map(|p| if per_channel { p.weight_zp as i32 } else { w_zp as i32 }).collect();
    let stage = OutputStage {
        requant: if float {
            Requant::Float { scale: params.iter().map(|p| f32::from_bits(p.multiplier_or_scale)).collect() }
        } else {
            Requant::Fixed {
                multiplier: params.iter().map(|p| p.multiplier_or_scale as i32).collect(),
                shift: params.iter().map(|p| p.shift).collect(),
            }
        },
        zero_point: out_zp as i32,
        qmin,
        qmax,
        act_min,
        act_max,
    };

    let mut memory: Vec<u8> = (0..MEM).map(|_| rng.below(256) as u8).collect();
    let input: Vec<u8> = (0..geom.input_bytes()).map(|_| rng.below(256) as u8).collect();
    memory[INPUT as usize..INPUT as usize + input.len()].copy_from_slice(&input);
    let [kh, kw] = geom.kernel;
    let wlen = out_c * kh * kw * geom.group_in();
    let mut weights: Vec<u8> =
        (0..wlen).map(|_| if int4 { (rng.below(16) as i8 - 8) as u8 } else { rng.below(256) as u8 }).collect();
    let w_index = |o: usize, ky: usize, kx: usize, ci: usize| ((o * kh + ky) * kw + kx) * geom.group_in() + ci;
    let mask = skip.then(|| {
        let mut mask = ZeroMask::dense(&plan);
        for (ot, zero) in plan.o_tiles.iter().zip(mask.o_tiles.iter_mut()) {
            let n = zero.len();
            let pattern = rng.below(4);
            let from = 1 + rng.below(n as u64) as usize;
            for (k, z) in zero.iter_mut().enumerate().skip(1) {
                *z = match pattern {
                    0 => false,
                    1 => rng.chance(50),
                    2 => true,
                    _ => k >= from,
                };
            }
            for (kt, _) in ot.k_tiles.iter().zip(zero.iter()).filter(|(_, &z)| z) {
                for wi in tile_weights(&plan, ot, kt).into_iter().flatten() {
                    weights[w_index(wi.o, wi.ky, wi.kx, wi.ci)] = zw[wi.o] as u8;
                }
            }
        }
        mask
    });
    let w_at = |o: usize, ky: usize, kx: usize, ci: usize| weights[w_index(o, ky, kx, ci)];
    // Packer order: o-tiles, their nonzero k-tiles (the kept ones with a mask), each R x C
    // row-major; structural zeros hold the column's weight zero point.
    let mut at = WEIGHTS as usize;
    for (o, ot) in plan.o_tiles.iter().enumerate() {
        for (k, kt) in ot.k_tiles.iter().enumerate() {
            if mask.as_ref().is_some_and(|m| m.o_tiles[o][k]) {
                continue;
            }
            let tile: Vec<u8> = tile_weights(&plan, ot, kt)
                .into_iter()
                .enumerate()
                .map(|(i, w)| match w {
                    Some(wi) => w_at(wi.o, wi.ky, wi.kx, wi.ci),
                    None => zw.get(ot.o0 + i % plan.cols).map_or(0, |&z| z as u8),
                })
                .collect();
            let stored = if int4 {
                pack_i4(&tile.iter().map(|&b| b as i8).collect::<Vec<i8>>()).unwrap_or_else(|e| panic!("{e}"))
            } else {
                tile
            };
            memory[at..at + stored.len()].copy_from_slice(&stored);
            at += stored.len();
        }
    }
    let kept = (at - WEIGHTS as usize) / cfg.weight_tile_bytes() as usize;
    if let Some(m) = &mask {
        let records = m.encode(cfg).unwrap_or_else(|e| panic!("{e}"));
        memory[at..at + records.len()].copy_from_slice(&records);
        at += records.len();
    }
    assert!(at as u64 <= PARAMS, "weights overflow their region");
    for (o, p) in params.iter().enumerate() {
        for (k, word) in p.to_words().iter().enumerate() {
            let a = PARAMS as usize + o * PARAM_BYTES_PER_CHANNEL + 4 * k;
            memory[a..a + 4].copy_from_slice(&word.to_le_bytes());
        }
    }

    // Independent golden: direct convolution over NHWC, then the output stage.
    let mut expected = memory.clone();
    let (oh, ow, cgi) = (geom.out_h(), geom.out_w(), geom.group_in());
    for n in 0..geom.batch {
        for oy in 0..oh {
            for ox in 0..ow {
                for o in 0..out_c {
                    let g = o / geom.group_out();
                    let mut acc = params[o].bias as i64;
                    for ky in 0..kh {
                        for kx in 0..kw {
                            let iy = (oy * geom.stride[0] + ky * geom.dilation[0]) as i64 - geom.padding.top as i64;
                            let ix = (ox * geom.stride[1] + kx * geom.dilation[1]) as i64 - geom.padding.left as i64;
                            if iy < 0 || ix < 0 || iy >= geom.in_h as i64 || ix >= geom.in_w as i64 {
                                continue;
                            }
                            for ci in 0..cgi {
                                let off = geom.input_offset(n as i64, iy, ix, (g * cgi + ci) as i64) as usize;
                                let x = byte(in_signed, input[off]) - in_zp as i32;
                                let w = byte(w_signed, w_at(o, ky, kx, ci)) - zw[o];
                                acc += (x * w) as i64;
                            }
                        }
                    }
                    let p = (n * oh + oy) * ow + ox;
                    let a = OUTPUT as usize + p * out_ch_stride + out_ch_offset + o;
                    expected[a] = stage.apply(acc as i32, o) as u8;
                }
            }
        }
    }

    let mut d = LayerDescriptor {
        opcode: Some(Opcode::Conv),
        requant: if float { RequantMode::Float } else { RequantMode::Fixed },
        in_signed,
        out_signed,
        weight_signed: w_signed,
        weight_zp_per_channel: per_channel,
        batch: geom.batch as u16,
        in_h: geom.in_h as u16,
        in_w: geom.in_w as u16,
        in_c: geom.in_c as u16,
        groups: geom.groups as u16,
        out_h: oh as u16,
        out_w: ow as u16,
        out_c: out_c as u16,
        kernel_h: kh as u8,
        kernel_w: kw as u8,
        stride_h: geom.stride[0] as u8,
        stride_w: geom.stride[1] as u8,
        dilation_h: geom.dilation[0] as u8,
        dilation_w: geom.dilation[1] as u8,
        pad_top: geom.padding.top as u8,
        pad_left: geom.padding.left as u8,
        pad_bottom: geom.padding.bottom as u8,
        pad_right: geom.padding.right as u8,
        in_zp,
        out_zp,
        weight_zp: w_zp,
        act_min: act_min as i16,
        act_max: act_max as i16,
        out_ch_stride: out_ch_stride as u16,
        out_ch_offset: out_ch_offset as u16,
        input_addr: INPUT,
        output_addr: OUTPUT,
        weight_addr: WEIGHTS,
        param_addr: PARAMS,
        ..LayerDescriptor::default()
    };
    d.set_conv_tiles(&plan);
    if mask.is_some() {
        d.zero_skip = true;
        d.k_tiles_stored = kept as u32;
    }
    Layer { d, memory, expected, mask }
}

fn cosim<const W: usize, const S: usize, const AW: usize, const PA: usize>(cfg: &ArchConfig) -> Option<ConvCosim> {
    if !check::tools_or_skip(&["verilator"], "CONV unit co-simulation") {
        return None;
    }
    let unit = ConvUnit::<W, S, AW, PA>::new(cfg).unwrap_or_else(|e| panic!("{e}"));
    let top =
        format!("systole_conv_cosim_{}x{}_w{W}{}", cfg.rows, cfg.cols, if cfg.int4_weights() { "_i4" } else { "" });
    let (design, _) = common::emit_to_dir(&mut ConvCosimTop::new(unit), &top, &[]);
    Some(ConvCosim::build(&design, &common::scratch()).unwrap_or_else(|e| panic!("{e}")))
}

fn run_layers(sim: &ConvCosim, cfg: &ArchConfig, seed: u64, count: usize) {
    let mut rng = Rng(seed);
    let bus = BusWidth::new(cfg.dma_data_bits).unwrap();
    for k in 0..count {
        let layer = random_layer(&mut rng, cfg);
        let (latency, interval) = [(1, 1), (9, 1), (4, 2)][k % 3];
        let timing = DramTiming::new(latency, interval).unwrap();
        let stim = ConvStimulus {
            dram: DramConfig { timing, bus, mem_bytes: MEM, slverr: 0..0, stalls: Stalls::none() },
            memory: layer.memory.clone(),
            fields: unit_fields(&layer.d),
            max_cycles: 2_000_000,
        };
        let label = format!("{}x{} layer {k}: {:?}", cfg.rows, cfg.cols, layer.d);
        let o = sim.run(&stim).unwrap_or_else(|e| panic!("{label}: {e}"));
        assert!(o.violations.is_empty(), "{label}: AXI violations {:#?}", o.violations);
        assert_eq!(o.error, None, "{label}: error pulse");
        let cycles = o.cycles.unwrap_or_else(|| panic!("{label}: no done"));
        if let Some(at) = o.memory.iter().zip(&layer.expected).position(|(a, b)| a != b) {
            panic!(
                "{label}: DRAM differs at {at:#x}: got {}, want {} (output offset {:?})",
                o.memory[at],
                layer.expected[at],
                (at as u64).checked_sub(OUTPUT)
            );
        }
        let written = layer.memory.iter().zip(&layer.expected).filter(|(a, b)| a != b).count();
        let want = conv_cycles_masked(&layer.d, cfg, &timing, layer.mask.as_ref()).unwrap();
        let skipped = layer
            .mask
            .as_ref()
            .map_or(String::new(), |m| format!(", {} of {} tiles skipped", m.skipped(), m.skipped() + m.kept()));
        println!(
            "layer {k}: {}x{}x{} -> {}x{}x{} k{}x{} g{} {:?}: {cycles} cycles ({} stall), {written} bytes changed{skipped}",
            layer.d.in_h,
            layer.d.in_w,
            layer.d.in_c,
            layer.d.out_h,
            layer.d.out_w,
            layer.d.out_c,
            layer.d.kernel_h,
            layer.d.kernel_w,
            layer.d.groups,
            layer.d.requant,
            o.stall_cycles
        );
        assert_eq!((cycles, o.stall_cycles), (want.cycles, want.stall_cycles), "{label}: (cycles, stall cycles)");
    }
}

#[test]
fn conv_unit_4x4_w64_matches_golden_and_timing() {
    let cfg = config(4, 4);
    let Some(sim) = cosim::<64, 8, 12, 4>(&cfg) else { return };
    run_layers(&sim, &cfg, 0xc044, 24);
}

/// Lint (`-Wall`, zero warnings with the documented waivers) and generic synthesis (no latches,
/// no undriven nets) of a 4x4 unit with a 256-byte activation buffer (memories become flip-flops
/// in generic synthesis, so the buffer is kept small here).
#[test]
fn conv_unit_lints_and_synthesises() {
    if !check::tools_or_skip(&["verilator", "yosys"], "CONV unit lint/synth") {
        return;
    }
    let mut ffs = Vec::new();
    for weight_bits in [8, 4] {
        let mut cfg = ArchConfig { weight_bits, ..config(4, 4) };
        cfg.act_buffer_bytes = 256;
        let mut unit = ConvUnit::<64, 8, 8, 4>::new(&cfg).unwrap_or_else(|e| panic!("{e}"));
        let waivers = unit.waivers();
        let top = format!("systole_conv_unit_4x4_w{weight_bits}");
        let (design, path) = common::emit_to_dir(&mut unit, &top, &waivers);
        let report = common::lint_and_synth(&design, &path);
        println!("{top}: {:?}", report.cells);
        ffs.push(report.ffs());
    }
    // The 4-bit engine's tile buffer holds nibbles: 16 x 4 flip-flops fewer at least.
    assert!(ffs[1] + 64 <= ffs[0], "flip-flops 8-bit {} vs 4-bit {}", ffs[0], ffs[1]);
}

/// A 4-bit engine (two weights per tile byte, nibbles unpacked on the load path): the same
/// random layers with int4 weights; bytes and cycles as the 8-bit engine's test checks them (the
/// timing fetches R x C / 2 bytes per tile).
#[test]
fn conv_unit_4x4_int4_w64_matches_golden_and_timing() {
    let cfg = ArchConfig { weight_bits: 4, ..config(4, 4) };
    let Some(sim) = cosim::<64, 8, 12, 4>(&cfg) else { return };
    run_layers(&sim, &cfg, 0xc444, 24);
}

#[test]
fn conv_unit_8x4_w64_matches_golden_and_timing() {
    let cfg = config(8, 4);
    let Some(sim) = cosim::<64, 8, 12, 4>(&cfg) else { return };
    run_layers(&sim, &cfg, 0xc084, 16);
}

#[test]
fn conv_unit_4x8_w128_matches_golden_and_timing() {
    let mut cfg = config(4, 8);
    cfg.dma_data_bits = 128;
    let Some(sim) = cosim::<128, 16, 12, 4>(&cfg) else { return };
    run_layers(&sim, &cfg, 0xc048, 16);
}

/// Yosys 0.23 prints this for every block RAM it infers (its own techmap); nothing of ours.
const BRAM_RESIZE_WARNING: &str = "Warning: Resizing cell port ";

/// `synth_xilinx` with `check -assert`, no warning but the block-RAM resize one, no latch
/// (as `tests/im2col.rs`).
fn synth_xilinx_with_brams(path: &std::path::Path, top: &str) -> check::SynthReport {
    let script = format!(
        "read_verilog {}; synth_xilinx -flatten -noiopad -noclkbuf -top {top}; check -assert; stat",
        path.to_string_lossy()
    );
    let out = std::process::Command::new("yosys").args(["-p", &script]).output().expect("run yosys");
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "yosys failed:\n{}", &log[log.len().saturating_sub(4000)..]);
    let warnings: Vec<&str> = log
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with("Warning:") && !l.starts_with(BRAM_RESIZE_WARNING))
        .collect();
    assert!(warnings.is_empty(), "yosys warned: {warnings:#?}");
    let stat = &log[log.rfind("Number of cells:").expect("stat output")..];
    let cells = stat
        .lines()
        .skip(1)
        .map_while(|l| match l.split_whitespace().collect::<Vec<_>>()[..] {
            [kind, n] => n.parse::<u64>().ok().map(|n| (kind.to_string(), n)),
            _ => None,
        })
        .collect();
    let report = check::SynthReport { cells };
    assert!(report.latches().is_empty(), "latches: {:?}", report.latches());
    report
}

/// Xilinx resources of a 16 x 16 unit (W = 64, PB = 256, 16 KB activation buffer): long
/// (several minutes), so `#[ignore]`d: `cargo test -p systole-hdl --test conv_unit -- --ignored`.
#[test]
#[ignore]
fn conv_unit_16x16_xilinx_resources() {
    if !check::tools_or_skip(&["yosys"], "CONV unit resources") {
        return;
    }
    let mut cfg = ArchConfig::new("conv16", 16, 16);
    cfg.requant.float = true;
    let mut unit = ConvUnit::<64, 8, 14, 8>::new(&cfg).unwrap_or_else(|e| panic!("{e}"));
    let waivers = unit.waivers();
    let (design, path) = common::emit_to_dir(&mut unit, "systole_conv_unit_16x16", &waivers);
    let r = synth_xilinx_with_brams(&path, &design.top);
    let bram: u64 = r.cells.iter().filter(|(k, _)| k.starts_with("RAMB")).map(|(_, n)| n).sum();
    println!(
        "{}: LUT {} FF {} DSP {} BRAM {bram} CARRY4 {} (all cells: {:?})",
        design.top,
        r.luts(),
        r.ffs(),
        r.dsps(),
        r.carries(),
        r.cells
    );
}

/// The CONV layers of a real model as `host::pack` lowers and places them (weights, params,
/// descriptors from the packer), each run on the 4x4 unit from the packed DRAM image with a
/// random input: every DRAM byte equal to `sim::functional::execute_layer`, cycles equal to
/// `conv_cycles`. Layers whose input exceeds the 4 KB test buffer are skipped (counted).
#[test]
fn conv_unit_runs_packed_fixture_layers() {
    let cfg = config(4, 4);
    let Some(sim) = cosim::<64, 8, 12, 4>(&cfg) else { return };
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/tflite/resnet_tiny/model.tflite");
    let graph = systole_model::load::load_model(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let image =
        systole_host::pack(&graph, &cfg, systole_host::PackOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let layout = &image.plan.dram;
    assert_eq!(layout.base, 0, "the test maps DRAM from address 0");
    let mut base_memory = vec![0u8; layout.size as usize];
    for (region, bytes) in image.constant_regions() {
        base_memory[region.addr as usize..region.addr as usize + bytes.len()].copy_from_slice(bytes);
    }
    let bus = BusWidth::new(cfg.dma_data_bits).unwrap();
    let timing = DramTiming::new(5, 1).unwrap();
    let mut rng = Rng(0xf17e);
    let (mut ran, mut skipped) = (0, 0);
    for d in image.descriptors().unwrap().iter().filter(|d| d.opcode == Some(Opcode::Conv)) {
        let geom = d.conv_geometry();
        if geom.input_bytes() > cfg.act_buffer_bytes as usize {
            skipped += 1;
            continue;
        }
        let mut memory = base_memory.clone();
        for b in &mut memory[d.input_addr as usize..d.input_addr as usize + geom.input_bytes()] {
            *b = rng.below(256) as u8;
        }
        let mut golden = systole_sim::functional::Dram::new(0, layout.size).unwrap();
        golden.write(0, &memory).unwrap();
        systole_sim::functional::execute_layer(&mut golden, d, &cfg).unwrap_or_else(|e| panic!("{e:?}"));
        let expected = golden.read(0, memory.len()).unwrap().to_vec();
        let stim = ConvStimulus {
            dram: DramConfig { timing, bus, mem_bytes: layout.size, slverr: 0..0, stalls: Stalls::none() },
            memory,
            fields: unit_fields(d),
            max_cycles: 5_000_000,
        };
        let label = format!("resnet_tiny layer {}: {d:?}", d.layer_index);
        let o = sim.run(&stim).unwrap_or_else(|e| panic!("{label}: {e}"));
        assert!(o.violations.is_empty(), "{label}: {:#?}", o.violations);
        let cycles = o.cycles.unwrap_or_else(|| panic!("{label}: no done"));
        if let Some(at) = o.memory.iter().zip(&expected).position(|(a, b)| a != b) {
            panic!("{label}: DRAM differs at {at:#x}: got {}, want {}", o.memory[at], expected[at]);
        }
        let mask = systole_sim::functional::read_zero_mask(&golden, d, &cfg).unwrap_or_else(|e| panic!("{e:?}"));
        let want = conv_cycles_masked(d, &cfg, &timing, mask.as_ref()).unwrap();
        assert_eq!((cycles, o.stall_cycles), (want.cycles, want.stall_cycles), "{label}");
        println!("resnet_tiny layer {}: {cycles} cycles ({} stall)", d.layer_index, o.stall_cycles);
        ran += 1;
    }
    println!("resnet_tiny: {ran} CONV layers co-simulated, {skipped} with inputs beyond the 4 KB test buffer");
    assert!(ran > 0, "no CONV layer of resnet_tiny fits the test buffer");
}
