//! The R x C array: emitted Verilog lints clean and synthesises without latches; under
//! Verilator it equals the cycle model on every output of every cycle, and every pixel's sums
//! equal the pure tile function and appear exactly `latency` enabled cycles after the pixel.
//! Streams: back-to-back tiles of random length (some shorter than R, padded as the sequencer
//! must), random zero points and signedness, bubbles, stalls and garbage on ignored inputs.

mod common;

use systole_hdl::blocks::array::stimuli::{random_tiles, stream, Stream, StreamOptions};
use systole_hdl::blocks::array::{latency, tile_reference, ArrayInputs, ArrayModel, SystolicArray, Tile};
use systole_hdl::check;
use systole_hdl::emit::Design;
use systole_hdl::rng::Rng;
use systole_hdl::verilator::{sign_extend, Simulator};

fn emit<const ACC: usize>(rows: usize, cols: usize, fabric_rows: usize) -> (Design, std::path::PathBuf) {
    let mut array = SystolicArray::<ACC>::with_fabric_rows(rows, cols, fabric_rows);
    let waivers = array.waivers();
    let fabric = if fabric_rows > 0 { format!("_fabric{fabric_rows}") } else { String::new() };
    common::emit_to_dir(&mut array, &format!("systole_array_{rows}x{cols}_acc{ACC}{fabric}"), &waivers)
}

/// Input ports by name, resolved once.
struct Ports {
    en: usize,
    valid: usize,
    tile_start: usize,
    a_signed: usize,
    a_zp: usize,
    a: Vec<usize>,
    w_shift: usize,
    w_signed: usize,
    w: Vec<usize>,
    w_zp: Vec<usize>,
    out_valid: usize,
    out_tile_start: usize,
    psum: Vec<usize>,
}

impl Ports {
    fn new(sim: &Simulator, rows: usize, cols: usize) -> Ports {
        let i = |name: &str| sim.input_index(name).unwrap_or_else(|| panic!("input {name}"));
        let o = |name: &str| sim.output_index(name).unwrap_or_else(|| panic!("output {name}"));
        Ports {
            en: i("en"),
            valid: i("valid_in"),
            tile_start: i("tile_start"),
            a_signed: i("a_signed"),
            a_zp: i("a_zp"),
            a: (0..rows).map(|r| i(&format!("a_in${r}"))).collect(),
            w_shift: i("w_shift"),
            w_signed: i("w_signed"),
            w: (0..cols).map(|c| i(&format!("w_in${c}"))).collect(),
            w_zp: (0..cols).map(|c| i(&format!("w_zp${c}"))).collect(),
            out_valid: o("valid_out"),
            out_tile_start: o("tile_start_out"),
            psum: (0..cols).map(|c| o(&format!("psum_out${c}"))).collect(),
        }
    }

    fn vector(&self, width: usize, inputs: &ArrayInputs) -> Vec<u64> {
        let mut v = vec![0u64; width];
        v[self.en] = inputs.en.into();
        v[self.valid] = inputs.valid.into();
        v[self.tile_start] = inputs.tile_start.into();
        v[self.a_signed] = inputs.a_signed.into();
        v[self.a_zp] = inputs.a_zp as u64;
        v[self.w_shift] = inputs.w_shift.into();
        v[self.w_signed] = inputs.w_signed.into();
        for (port, &a) in self.a.iter().zip(&inputs.a) {
            v[*port] = a.into();
        }
        for ((port, zp_port), (&w, &zp)) in self.w.iter().zip(&self.w_zp).zip(inputs.w.iter().zip(&inputs.w_zp)) {
            v[*port] = w.into();
            v[*zp_port] = zp as u64;
        }
        v
    }
}

/// Simulates `stream` and checks it three ways; returns the number of pixels checked.
fn check_stream<const ACC: usize>(sim: &Simulator, rows: usize, cols: usize, tiles: &[Tile], stream: &Stream) -> usize {
    let ports = Ports::new(sim, rows, cols);
    let vectors: Vec<Vec<u64>> = stream.cycles.iter().map(|c| ports.vector(sim.inputs.len(), c)).collect();
    let outputs = sim.run(&vectors).expect("simulate");
    assert_eq!(outputs.len(), vectors.len());
    let psums = |out: &[u64]| -> Vec<i64> { ports.psum.iter().map(|&p| sign_extend(out[p], ACC)).collect() };

    // 1. Cycle model, every output of every cycle (stalled cycles and invalid slots included).
    let mut model = ArrayModel::new(rows, cols, ACC);
    for (cycle, (inputs, out)) in stream.cycles.iter().zip(&outputs).enumerate() {
        let want = model.step(inputs).unwrap_or_else(|e| panic!("stimulus breaks the timing rules: {e}"));
        let got = (out[ports.out_valid] != 0, out[ports.out_tile_start] != 0, psums(out));
        assert_eq!(got, (want.valid, want.tile_start, want.psum.clone()), "{rows}x{cols} cycle {cycle}");
    }

    // 2. Independently of the model: each pixel's sums are the tile function's, and they are on
    //    the outputs right after the (latency - 1)-th enabled edge following the pixel's.
    let references: Vec<Vec<Vec<i64>>> = tiles.iter().map(tile_reference).collect();
    let lat = latency(rows, cols);
    for &(t, p, cycle) in &stream.pixels {
        let mut at = cycle;
        let mut enabled = 0;
        while enabled < lat - 1 {
            at += 1;
            enabled += usize::from(stream.cycles[at].en);
        }
        let out = &outputs[at];
        assert!(out[ports.out_valid] != 0, "{rows}x{cols}: tile {t} pixel {p} not valid at cycle {at}");
        assert_eq!(out[ports.out_tile_start] != 0, p == 0, "tile start flag of tile {t} pixel {p}");
        assert_eq!(psums(out), references[t][p], "{rows}x{cols}: tile {t} pixel {p} (in at {cycle}, out at {at})");
    }
    let valid_outputs = outputs.iter().zip(&stream.cycles).filter(|(o, _)| o[ports.out_valid] != 0).count();
    assert!(valid_outputs >= stream.pixels.len());
    stream.pixels.len()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Synth {
    LintOnly,
    Generic,
}

fn cosim<const ACC: usize>(rows: usize, cols: usize, seed: u64, tiles: usize, synth: Synth) {
    cosim_fabric::<ACC>(rows, cols, 0, seed, tiles, synth)
}

fn cosim_fabric<const ACC: usize>(rows: usize, cols: usize, fabric_rows: usize, seed: u64, tiles: usize, synth: Synth) {
    let (design, path) = emit::<ACC>(rows, cols, fabric_rows);
    match synth {
        Synth::Generic => drop(common::lint_and_synth(&design, &path)),
        Synth::LintOnly => check::lint(&path, &design.top).unwrap_or_else(|e| panic!("{e}")),
    }
    let sim = common::simulator(&design);
    let mut rng = Rng(seed);
    let mut checked = 0;
    for options in [
        StreamOptions::default(),
        StreamOptions { stall_percent: 0, bubble_percent: 0 },
        StreamOptions { stall_percent: 40, bubble_percent: 40 },
    ] {
        let tiles = random_tiles(&mut rng, rows, cols, tiles);
        let stream = stream(&mut rng, rows, cols, &tiles, options);
        checked += check_stream::<ACC>(&sim, rows, cols, &tiles, &stream);
    }
    println!("{rows}x{cols} ({fabric_rows} fabric rows): {checked} pixels in {} tiles checked", 3 * tiles);
}

fn tools() -> bool {
    check::tools_or_skip(&["verilator", "yosys"], "array RTL test")
}

#[test]
fn array_2x2_matches_models() {
    if tools() {
        cosim::<32>(2, 2, 0xa2a2, 200, Synth::Generic);
    }
}

#[test]
fn array_4x3_matches_models() {
    if tools() {
        cosim::<32>(4, 3, 0x4_3, 150, Synth::Generic);
        // A wider accumulator changes only the partial-sum ports and registers.
        cosim::<40>(3, 2, 0x40, 60, Synth::Generic);
    }
}

#[test]
fn array_1x1_and_column_and_row_shapes() {
    if tools() {
        cosim::<32>(1, 1, 0x11, 100, Synth::Generic);
        cosim::<32>(5, 1, 0x51, 60, Synth::Generic);
        cosim::<32>(1, 4, 0x14, 60, Synth::Generic);
    }
}

#[test]
fn array_with_fabric_rows_matches_models() {
    if tools() {
        // The last two of four rows build their products from LUTs; the last row only; all.
        cosim_fabric::<32>(4, 3, 2, 0x000f_ab43, 120, Synth::Generic);
        cosim_fabric::<32>(3, 2, 1, 0x000f_ab32, 80, Synth::Generic);
        cosim_fabric::<32>(2, 2, 2, 0x000f_ab22, 80, Synth::Generic);
    }
}

#[test]
fn array_8x8_matches_models() {
    if tools() {
        // Generic synthesis of 64 multipliers in gates is slow (~30 s); Xilinx synthesis in
        // resources.rs checks the 8x8 for latches and undriven nets, so lint only here.
        cosim::<32>(8, 8, 0x88, 80, Synth::LintOnly);
    }
}

#[test]
fn array_16x16_lints_clean() {
    if check::tools_or_skip(&["verilator"], "16x16 lint") {
        let (design, path) = emit::<32>(16, 16, 0);
        check::lint(&path, &design.top).unwrap_or_else(|e| panic!("{e}"));
        // One PE module for 256 instances.
        let is_pe = |name: &str| {
            name.strip_prefix("systole_array_16x16_acc32__pes__").is_some_and(|i| i.bytes().all(|b| b.is_ascii_digit()))
        };
        let modules = systole_hdl::emit::netlist::split(&design.verilog).expect("re-parse");
        let pe_modules = modules.iter().filter(|m| is_pe(&m.name)).count();
        assert_eq!(pe_modules, 1);
    }
}
