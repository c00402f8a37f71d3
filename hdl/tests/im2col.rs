//! The im2col reader (address generator + activation buffer read path): emitted Verilog lints
//! clean and synthesises without latches for R = 4, 8, 16; under Verilator, for random conv
//! layers streamed through arch's loop nest with stalls, gaps and ignored starts, every cycle's
//! outputs equal the cycle model, and every pixel's R rows equal arch's plan expansion of the
//! input tensor (`golden_rows`), exactly `LATENCY` enabled edges after the pixel's issue.

mod common;

use std::path::PathBuf;
use systole_arch::plan::{expand_rows, pixel_coords, tile_base_offset, RowInput};
use systole_hdl::blocks::im2col::stimuli::{random_layer_bounded, stream, Layer, Stream, StreamOptions, StreamPixel};
use systole_hdl::blocks::im2col::{golden_rows, BufferModel, Im2colModel, Im2colReader, LATENCY};
use systole_hdl::check;
use systole_hdl::emit::Design;
use systole_hdl::rng::Rng;
use systole_hdl::verilator::Simulator;

/// DMA beat of the co-simulated designs (the harness takes ports of up to 64 bits).
const W: usize = 64;
/// A 4 KB buffer: small enough for generic synthesis, large enough for the test layers.
const AW: usize = 12;

fn emit<const WB: usize, const A: usize>(rows: usize) -> (Design, PathBuf) {
    let mut reader = Im2colReader::<WB, A>::new(rows).expect("reader");
    let waivers = reader.waivers();
    common::emit_to_dir(&mut reader, &format!("systole_im2col_r{rows}_w{WB}_a{A}"), &waivers)
}

/// Input and output port indices, resolved once.
struct Ports {
    inputs: Vec<(&'static str, usize)>,
    rows: Vec<usize>,
    setup_busy: usize,
    ready: usize,
    idle: usize,
    valid: usize,
    first: usize,
    last: usize,
}

const INPUTS: [&str; 26] = [
    "en",
    "act_base",
    "in_h",
    "in_w",
    "in_c",
    "out_h",
    "out_w",
    "stride_h",
    "stride_w",
    "dilation_h",
    "dilation_w",
    "pad_top",
    "pad_left",
    "zero_point",
    "setup",
    "start",
    "mode",
    "count",
    "ky",
    "kx0",
    "nx",
    "c0",
    "nc",
    "wr_en",
    "wr_addr",
    "wr_data",
];

impl Ports {
    fn new(sim: &Simulator, rows: usize) -> Ports {
        let i = |name: &str| sim.input_index(name).unwrap_or_else(|| panic!("input {name}"));
        let o = |name: &str| sim.output_index(name).unwrap_or_else(|| panic!("output {name}"));
        assert_eq!(sim.inputs.len(), INPUTS.len(), "inputs: {:?}", sim.inputs);
        Ports {
            inputs: INPUTS.iter().map(|&n| (n, i(n))).collect(),
            rows: (0..rows).map(|r| o(&format!("rows${r}"))).collect(),
            setup_busy: o("setup_busy"),
            ready: o("ready"),
            idle: o("idle"),
            valid: o("row_valid"),
            first: o("row_first"),
            last: o("row_last"),
        }
    }

    fn vectors(&self, stream: &Stream) -> Vec<Vec<u64>> {
        stream
            .cycles
            .iter()
            .map(|c| {
                let layer = &stream.layers[c.layer];
                let (l, g) = (&layer.regs, &layer.geom);
                let cmd = &c.inputs.cmd;
                let mut v = vec![0u64; self.inputs.len()];
                for &(name, port) in &self.inputs {
                    v[port] = match name {
                        "en" => c.inputs.en.into(),
                        "act_base" => l.act_base.into(),
                        "in_h" => g.in_h as u64,
                        "in_w" => g.in_w as u64,
                        "in_c" => g.in_c as u64,
                        "out_h" => l.out_h.into(),
                        "out_w" => l.out_w.into(),
                        "stride_h" => g.stride[0] as u64,
                        "stride_w" => g.stride[1] as u64,
                        "dilation_h" => g.dilation[0] as u64,
                        "dilation_w" => g.dilation[1] as u64,
                        "pad_top" => g.padding.top as u64,
                        "pad_left" => g.padding.left as u64,
                        "setup" => c.inputs.setup.into(),
                        "zero_point" => l.zero_point.into(),
                        "start" => c.inputs.start.into(),
                        "mode" => cmd.mode as u64,
                        "count" => cmd.count.into(),
                        "ky" => cmd.ky.into(),
                        "kx0" => cmd.kx0.into(),
                        "nx" => cmd.nx.into(),
                        "c0" => cmd.c0.into(),
                        "nc" => cmd.nc.into(),
                        "wr_en" => c.write.is_some().into(),
                        "wr_addr" => c.write.as_ref().map_or(0, |w| w.0.into()),
                        "wr_data" => c
                            .write
                            .as_ref()
                            .map_or(0, |w| w.1.iter().rev().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))),
                        _ => unreachable!("{name}"),
                    };
                }
                v
            })
            .collect()
    }
}

/// What the checked pixels exercised (from arch's expansion, not from the RTL).
#[derive(Debug, Default)]
struct Coverage {
    pixels: usize,
    /// Some rows padding, some input.
    partial_padding: usize,
    /// Every used row padding.
    all_padding: usize,
    /// Rows beyond the run (`r >= nx * nc`).
    idle_rows: usize,
    /// Whole-pixel runs of several kernel columns (`nx > 1`).
    multi_column: usize,
    /// Runs starting off a bank boundary / crossing the buffer's end.
    unaligned: usize,
    wrapping: usize,
    /// Pixels of the second image of a batch, first pixels of a later pixel block.
    second_image: usize,
    later_block_starts: usize,
    /// One-pixel tiles (shorter than the tile setup: the queue's bubbles).
    one_pixel_tiles: usize,
}

impl Coverage {
    fn add(&mut self, rows: usize, l: &Layer, px: &StreamPixel) {
        let expanded = expand_rows(&l.geom, &px.tile, rows, px.p);
        let input = expanded.iter().filter(|r| matches!(r, RowInput::Pixel { .. })).count();
        let padding = expanded.iter().filter(|r| matches!(r, RowInput::Padding)).count();
        let base = (i64::from(l.regs.act_base) + tile_base_offset(&l.geom, &px.tile, px.p)).rem_euclid(1 << AW);
        self.pixels += 1;
        self.partial_padding += usize::from(input > 0 && padding > 0);
        self.all_padding += usize::from(input == 0 && padding > 0);
        self.idle_rows += usize::from(px.tile.used_rows() < rows);
        self.multi_column += usize::from(px.tile.nx > 1);
        self.unaligned += usize::from(input > 0 && base % rows as i64 != 0);
        self.wrapping += usize::from(input > 0 && base + px.tile.used_rows() as i64 > 1 << AW);
        self.second_image += usize::from(pixel_coords(&l.geom, px.p).0 > 0);
        self.later_block_starts += usize::from(px.first && px.p > 0);
        self.one_pixel_tiles += usize::from(px.first && px.last);
    }

    /// Every case at least `floor` times.
    fn assert_floor(&self, floor: usize) {
        let cases = [
            self.partial_padding,
            self.all_padding,
            self.idle_rows,
            self.multi_column,
            self.unaligned,
            self.wrapping,
            self.second_image,
            self.later_block_starts,
            self.one_pixel_tiles,
        ];
        assert!(cases.iter().all(|&n| n >= floor), "coverage below {floor}: {self:?}");
    }
}

/// Simulates `stream` and checks it two ways; returns the number of pixels checked.
fn check_stream(sim: &Simulator, rows: usize, stream: &Stream, coverage: &mut Coverage) -> usize {
    let ports = Ports::new(sim, rows);
    let outputs = sim.run(&ports.vectors(stream)).expect("simulate");
    assert_eq!(outputs.len(), stream.cycles.len());
    let rows_of = |out: &[u64]| -> Vec<u8> { ports.rows.iter().map(|&p| out[p] as u8).collect() };

    // 1. The cycle model, every cycle: idle and the flags always, the rows when valid.
    let first = &stream.layers[0];
    let mut model = Im2colModel::new(&first.geom, first.regs, rows, AW);
    let mut buffer = BufferModel::new(AW);
    let mut layer = 0;
    for (cycle, (c, out)) in stream.cycles.iter().zip(&outputs).enumerate() {
        if c.layer != layer {
            layer = c.layer;
            model.set_layer(&stream.layers[layer].geom, stream.layers[layer].regs);
        }
        let (_, want) = model.step(&c.inputs, &buffer);
        if let Some((addr, beat)) = &c.write {
            buffer.write_beat(*addr, beat);
        }
        let flags = |o: &[u64]| {
            [ports.setup_busy, ports.ready, ports.idle, ports.valid, ports.first, ports.last].map(|p| o[p] != 0)
        };
        assert_eq!(
            flags(out),
            [want.setup_busy, want.ready, want.idle, want.valid, want.first, want.last],
            "R {rows} cycle {cycle} (layer {layer}): setup_busy, ready, idle, valid, first, last"
        );
        if want.valid {
            assert_eq!(rows_of(out), want.rows, "R {rows} cycle {cycle} (layer {layer})");
        }
    }

    // 2. Independently of the model: each pixel's rows are the plan expansion of the input, on
    //    the outputs right after the LATENCY-th enabled edge counting the issue cycle's.
    for px in &stream.pixels {
        let (mut at, mut enabled) = (px.cycle, 1);
        while enabled < LATENCY {
            at += 1;
            enabled += usize::from(stream.cycles[at].inputs.en);
        }
        let out = &outputs[at];
        let l = &stream.layers[px.layer];
        let what = format!(
            "R {rows} layer {} {:?} tile {:?} pixel {} (in {}, out {at})",
            px.layer, l.geom, px.tile, px.p, px.cycle
        );
        assert!(out[ports.valid] != 0, "{what}: not valid");
        assert_eq!((out[ports.first] != 0, out[ports.last] != 0), (px.first, px.last), "{what}: flags");
        let golden = golden_rows(&l.geom, &px.tile, rows, px.p, &l.input, l.regs.zero_point);
        assert_eq!(rows_of(out), golden, "{what}");
        coverage.add(rows, l, px);
    }
    // A stalled cycle holds the outputs: count the edges that loaded a valid pixel.
    let valid = outputs.iter().zip(&stream.cycles).filter(|(o, c)| c.inputs.en && o[ports.valid] != 0).count();
    assert_eq!(valid, stream.pixels.len(), "R {rows}: outputs without a pixel");
    stream.pixels.len()
}

fn cosim(rows: usize, seed: u64, layers: usize) {
    let t = std::time::Instant::now();
    let (design, path) = emit::<W, AW>(rows);
    check::lint(&path, &design.top).unwrap_or_else(|e| panic!("{e}"));
    // Generic synthesis maps every buffer byte to flip-flops: it checks a 256-byte buffer of
    // the same design instead (the buffer size only changes the memories' depth).
    let (small, small_path) = emit::<W, 8>(rows);
    common::lint_and_synth(&small, &small_path);
    println!("R {rows}: emit, lint, synth {:.1?}", t.elapsed());
    let sim = common::simulator(&design);
    println!("R {rows}: simulator {:.1?} (cached: {})", t.elapsed(), sim.cached);
    let mut rng = Rng(seed);
    let mut coverage = Coverage::default();
    for options in [
        StreamOptions::default(),
        StreamOptions { stall_percent: 0, gap_percent: 0, busy_start_percent: 0 },
        StreamOptions { stall_percent: 40, gap_percent: 30, busy_start_percent: 50 },
    ] {
        let layers = (0..layers).map(|_| random_layer_bounded(&mut rng, rows, AW, 3000)).collect();
        let stream = stream(&mut rng, layers, rows, W / 8, AW, options);
        check_stream(&sim, rows, &stream, &mut coverage);
        println!("R {rows}: {} cycles simulated and checked at {:.1?}", stream.cycles.len(), t.elapsed());
    }
    println!("R {rows}: {} layers, {coverage:?}", 3 * layers);
    coverage.assert_floor(10);
}

fn tools() -> bool {
    check::tools_or_skip(&["verilator", "yosys"], "im2col RTL test")
}

#[test]
fn reader_r4_matches_plan_expansion() {
    if tools() {
        cosim(4, 0x1c4, 25);
    }
}

#[test]
fn reader_r8_matches_plan_expansion() {
    if tools() {
        cosim(8, 0x1c8, 25);
    }
}

#[test]
fn reader_r16_matches_plan_expansion() {
    if tools() {
        cosim(16, 0x1c16, 25);
    }
}

/// Synthesises the R = 16 reader for Xilinx 7-series (which also checks it for latches and
/// undriven nets) with the default buffer of `ArchConfig::new` (R x 1 KB) and prints LUT / FF /
/// BRAM; the banks must be block RAM (16 x 1 KB: one RAMB18 each) and nothing a DSP.
#[test]
fn reader_r16_xilinx_resources() {
    if !check::tools_or_skip(&["yosys"], "im2col resources") {
        return;
    }
    let (design, path) = emit::<64, 14>(16);
    let t = std::time::Instant::now();
    let r = common::synth_xilinx_with_brams(&path, &design.top);
    let bram: u64 = r.cells.iter().filter(|(k, _)| k.starts_with("RAMB")).map(|(_, v)| v).sum();
    println!(
        "im2col reader R 16, W 64, 16 KB: LUT {} FF {} RAMB18 {bram} CARRY4 {} SRL {} DSP {} ({:.1?}; {:?})",
        r.luts(),
        r.ffs(),
        r.carries(),
        r.srls(),
        r.dsps(),
        t.elapsed(),
        r.cells
    );
    assert_eq!(r.dsps(), 0, "no multiplier anywhere");
    assert_eq!(bram, 16, "one RAMB18 per 1 KB bank: {:?}", r.cells);
    // Today about 1.8k LUTs (generator ~0.95k, rotator + mask ~0.64k, bank addressing ~0.15k);
    // a jump means logic crept in.
    assert!(r.luts() <= 2500, "{:?}", r.cells);
}

/// The widest DMA beat (512 bits: 64 bytes, four per bank word at R = 16) and the narrowest
/// array (R = 2: a tile's products in two 4-bit steps) lint clean and synthesise.
#[test]
fn reader_wide_beat_and_small_array_synthesise() {
    if !tools() {
        return;
    }
    let (design, path) = emit::<512, 8>(16);
    common::lint_and_synth(&design, &path);
    let (design, path) = emit::<64, 8>(2);
    common::lint_and_synth(&design, &path);
}
