//! Zero-tile skipping (arch `zero_mask`): a conv whose weights hold zero tiles (a zero first
//! tile, a zero middle tile, an all-zero o-tile, zero trailing tiles), packed for a 4x4 engine
//! with and without skipping:
//! * the packer marks exactly the tiles the test expects (plan order: ky, kx-run, c-run) and
//!   keeps each o-tile's first tile; the image's weights read back equal the model's;
//! * the functional and the cycle model equal the reference executor byte for byte on both
//!   engines (the all-zero o-tile writes requant(bias));
//! * the cycle model's layer cycles are `arch::timing` with the test's own mask, and fewer than
//!   the dense engine's.

mod common;

use common::{full, load, same};
use std::path::Path;
use systole_arch::axi_timing::DramTiming;
use systole_arch::timing::layer_timing_masked;
use systole_arch::zero_mask::ZeroMask;
use systole_arch::{ArchConfig, Opcode};
use systole_model::exec::Executor;
use systole_model::ir::{
    Activation, Conv2dAttrs, DType, Graph, Numerics, Op, Padding2d, Quantization, SourceFormat, Tensor, TensorData,
    Value,
};
use systole_model::{load::load_model, npy};
use systole_sim::{CycleModel, FunctionalModel};

const O: usize = 12;
const C: usize = 8;

/// OHWI index of weight (o, ky, kx, c) of the 3x3 kernel.
fn wi(o: usize, ky: usize, kx: usize, c: usize) -> usize {
    ((o * 3 + ky) * 3 + kx) * C + c
}

/// x [1,6,6,8] -> conv 3x3 pad 1 -> y [1,6,6,12]; pseudo-random weights with zero regions.
fn sparse_conv() -> Graph {
    let mut w: Vec<i8> = (0..O * 9 * C).map(|i| ((i * 37 + 11) % 61) as i8 - 30).collect();
    for o in 0..4 {
        // O-tile 0: its first tile (ky 0, kx 0, channels 0..4) and tile 3 (ky 0, kx 1, 4..8).
        for c in 0..4 {
            w[wi(o, 0, 0, c)] = 0;
            w[wi(o, 0, 1, c + 4)] = 0;
        }
    }
    for o in 4..8 {
        // O-tile 1: every weight.
        for ky in 0..3 {
            for kx in 0..3 {
                for c in 0..C {
                    w[wi(o, ky, kx, c)] = 0;
                }
            }
        }
    }
    for o in 8..12 {
        // O-tile 2: its last two tiles (ky 2, kx 2, both channel runs).
        for c in 0..C {
            w[wi(o, 2, 2, c)] = 0;
        }
    }
    let q = |s: f32, z: i32| Some(Quantization::per_tensor(s, z));
    let mut g = Graph::new("sparse", SourceFormat::Synthetic, Numerics::Tflite);
    let x = g.add_tensor(Tensor::activation("x", vec![1, 6, 6, C], DType::I8, q(0.05, 3)));
    let wt = g.add_tensor(Tensor::constant("w", vec![O, 3, 3, C], DType::I8, q(0.01, 0), TensorData::I8(w)));
    let bias: Vec<i32> = (0..O as i32).map(|o| 400 * o - 2000).collect();
    let b = g.add_tensor(Tensor::constant("b", vec![O], DType::I32, q(0.0005, 0), TensorData::I32(bias)));
    let y = g.add_tensor(Tensor::activation("y", vec![1, 6, 6, O], DType::I8, q(0.1, -2)));
    let attrs = Conv2dAttrs {
        stride: [1, 1],
        dilation: [1, 1],
        padding: Padding2d { top: 1, left: 1, bottom: 1, right: 1 },
        groups: 1,
        activation: Activation::None,
    };
    g.add_node("conv", Op::Conv2d(attrs), vec![x, wt, b], vec![y]);
    g.inputs.push(x);
    g.outputs.push(y);
    g
}

/// The mask the packer must produce: 18 k-tiles per o-tile (3 x 3 positions x 2 runs of 4
/// channels), tile index `(ky * 3 + kx) * 2 + run`.
fn expected_mask() -> ZeroMask {
    let mut o_tiles = vec![vec![false; 18]; 3];
    o_tiles[0][3] = true;
    o_tiles[1][1..].iter_mut().for_each(|z| *z = true);
    o_tiles[2][16] = true;
    o_tiles[2][17] = true;
    ZeroMask { o_tiles }
}

fn engine(skip: u32) -> ArchConfig {
    ArchConfig { zero_skip_tiles: skip, ..full("z4x4", 4, 4, 16) }
}

fn dram() -> DramTiming {
    DramTiming::new(40, 1).expect("valid DRAM timing")
}

/// Runs the input on the cycle model; returns the conv layer's cycles after checking the
/// outputs of both models against the reference.
fn run(graph: &Graph, model: &FunctionalModel, cfg: &ArchConfig, input: &Value) -> u64 {
    let want = Executor::new(graph).and_then(|e| e.run(std::slice::from_ref(input))).expect("reference runs");
    let functional = model.run(std::slice::from_ref(input)).expect("functional model runs");
    let mut cycle = CycleModel::new(cfg, dram()).expect("valid config");
    let timed = model.run_with(&mut cycle, std::slice::from_ref(input)).expect("cycle model runs");
    assert!(same(&functional[0], &want[0]), "{}: functional output differs from the reference", cfg.name);
    assert!(same(&timed.outputs[0], &want[0]), "{}: cycle model output differs from the reference", cfg.name);
    let layers: Vec<_> = timed.runs.iter().flat_map(|r| &r.layers).filter(|l| l.opcode == Opcode::Conv).collect();
    assert_eq!(layers.len(), 1);
    layers[0].timing.cycles
}

#[test]
fn zero_tiles_are_skipped_with_the_same_outputs_and_fewer_cycles() {
    let graph = sparse_conv();
    let input_bytes: Vec<i8> = (0..6 * 6 * C).map(|i| ((i * 53 + 7) % 255) as i8).collect();
    let input = Value { shape: vec![1, 6, 6, C], data: TensorData::I8(input_bytes) };
    let (skip_cfg, dense_cfg) = (engine(32), engine(0));

    let skip_model = load(&graph, &skip_cfg);
    let dense_model = load(&graph, &dense_cfg);
    let conv = |m: &FunctionalModel| {
        m.image().descriptors().unwrap().into_iter().find(|d| d.opcode == Some(Opcode::Conv)).expect("a CONV layer")
    };
    let (d, dense_d) = (conv(&skip_model), conv(&dense_model));
    let mask = expected_mask();
    assert!(d.zero_skip && !dense_d.zero_skip);
    assert_eq!((d.k_tiles_total, d.k_tiles_stored, dense_d.k_tiles_stored), (54, 54 - 20, 0));
    assert_eq!(skip_model.image().zero_mask(d.layer_index as usize, &d).unwrap(), Some(mask.clone()));
    // The weights read back (zero tiles from the zero points) are the model's.
    let w: Vec<i32> = match &graph.tensors[1].data {
        Some(TensorData::I8(v)) => v.iter().map(|&b| b as i32).collect(),
        other => panic!("weights are {other:?}"),
    };
    assert_eq!(skip_model.image().conv_tensors().unwrap()[0].weights, w);

    let skipped = run(&graph, &skip_model, &skip_cfg, &input);
    let dense = run(&graph, &dense_model, &dense_cfg, &input);
    let want = layer_timing_masked(&d, &skip_cfg, &dram(), Some(&mask)).unwrap();
    assert_eq!(skipped, want.cycles);
    assert!(skipped < dense, "skipping {skipped} cycles, dense {dense}");
    println!("4x4, 3 pixel blocks, 20 of 54 tiles zero: {dense} -> {skipped} cycles");
}

/// An engine whose mask is shorter than an o-tile's k-tiles packs the layer dense.
#[test]
fn a_short_mask_packs_dense() {
    let graph = sparse_conv();
    let model = load(&graph, &engine(16));
    let d = model.image().descriptors().unwrap().into_iter().find(|d| d.opcode == Some(Opcode::Conv)).unwrap();
    assert!(!d.zero_skip);
}

/// The tile-pruned digits models of `fixtures/zero_tiles` (tools/fixtures/zero_tiles_goldens.py):
/// on the 16x16 engine and on a 4x4 one, with and without skipping, the cycle model's outputs
/// equal onnxruntime's goldens, and skipping takes fewer cycles. Prints the numbers
/// docs/CYCLES.md quotes.
#[test]
fn tile_pruned_digits_skip_on_16x16_and_4x4() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/zero_tiles");
    let mut cases = 0;
    for case in ["digits_tiles25", "digits_tiles50"] {
        let d = dir.join(case);
        let graph = load_model(&d.join("model.onnx")).unwrap_or_else(|e| panic!("{case}: {e}"));
        let read = |f: &str| npy::read_value(&d.join(f)).unwrap_or_else(|e| panic!("{case}/{f}: {e}"));
        let (x, golden) = (read("input_000.npy"), read("output_000.npy"));
        for (rows, cols, pb) in [(16, 16, 256), (4, 4, 64)] {
            let dense_cfg = full(&format!("a{rows}x{cols}"), rows, cols, pb);
            let skip_cfg = ArchConfig { zero_skip_tiles: 128, ..dense_cfg.clone() };
            let mut totals = Vec::new();
            for cfg in [&dense_cfg, &skip_cfg] {
                let model = load(&graph, cfg);
                let mut engine = CycleModel::new(cfg, dram()).expect("valid config");
                let run = model.run_with(&mut engine, std::slice::from_ref(&x)).expect("cycle model runs");
                assert!(same(&run.outputs[0], &golden), "{case} on {rows}x{cols}: output differs from onnxruntime");
                let descs = model.image().descriptors().unwrap();
                let convs = descs.iter().filter(|d| d.opcode == Some(Opcode::Conv));
                let (total, stored) = convs.fold((0, 0), |(t, s), d| (t + d.k_tiles_total, s + d.stored_tiles()));
                let cycles: u64 = run.runs.iter().map(|r| r.total_cycles).sum();
                totals.push(cycles);
                println!(
                    "{case:<15} {rows:>2}x{cols:<2} skip {:<5} {stored:>4} of {total:>4} tiles stored {cycles:>8} cycles",
                    cfg.zero_skip()
                );
            }
            assert!(totals[1] < totals[0], "{case} on {rows}x{cols}: skipping {} vs dense {}", totals[1], totals[0]);
            cases += 1;
        }
    }
    assert_eq!(cases, 4);
}
