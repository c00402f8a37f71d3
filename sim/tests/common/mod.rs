//! Shared helpers of the functional-model tests: engine configurations, pack -> bytes -> load ->
//! run, and the exact comparison with the reference executor.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use systole_arch::{ArchConfig, PostOps, RequantModes};
use systole_host::lower::partition::Placement;
use systole_host::{pack, Image, PackOptions};
use systole_model::exec::Executor;
use systole_model::ir::{Graph, TensorData, Value};
use systole_sim::FunctionalModel;

/// Device memory the tests give the engine.
pub const DEVICE_BYTES: u64 = 1 << 30;

/// An engine with every requant mode and post-op unit.
pub fn full(name: &str, rows: u32, cols: u32, pb: u32) -> ArchConfig {
    ArchConfig {
        psum_depth: pb,
        param_buffer_channels: 2 * cols,
        // Room for every synthetic layer's input: the buffer-overflow rule has its own test.
        act_buffer_bytes: rows * 65536,
        requant: RequantModes { fixed: true, float: true },
        post_ops: PostOps { add: true, avg_pool: true, max_pool: true, global_avg_pool: true },
        ..ArchConfig::new(name, rows, cols)
    }
}

/// The configurations every model runs on: the 16 x 16 default shape, odd small arrays with
/// short pixel blocks, and a bare engine (fixed requant only, no post-op units).
pub fn configs() -> Vec<ArchConfig> {
    vec![
        full("a16x16", 16, 16, 256),
        full("a8x4_pb7", 8, 4, 7),
        full("a3x5_pb5", 3, 5, 5),
        ArchConfig::new("bare16x16", 16, 16),
    ]
}

/// Packs, serialises, reads back (validating) and loads `graph` for `cfg`.
pub fn load(graph: &Graph, cfg: &ArchConfig) -> FunctionalModel {
    let image = pack(graph, cfg, PackOptions::default()).unwrap_or_else(|e| panic!("{}: pack: {e}", graph.name));
    let bytes = image.to_bytes();
    let back = Image::from_bytes(&bytes).unwrap_or_else(|e| panic!("{}: read: {e}", graph.name));
    assert_eq!(back, image, "{}: image does not round-trip", graph.name);
    FunctionalModel::new(back, cfg, DEVICE_BYTES).unwrap_or_else(|e| panic!("{}: load: {e}", graph.name))
}

/// Values equal bit for bit (floats by their bits).
pub fn same(a: &Value, b: &Value) -> bool {
    a.shape == b.shape
        && match (&a.data, &b.data) {
            (TensorData::F32(x), TensorData::F32(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits())
            }
            (x, y) => x == y,
        }
}

/// Runs `inputs` through the reference and the functional model; returns the number of outputs
/// that differ, describing the first difference.
pub fn compare(graph: &Graph, model: &FunctionalModel, inputs: &[Value]) -> Result<(), String> {
    let exec = Executor::new(graph).map_err(|e| e.to_string())?;
    let want = exec.run(inputs).map_err(|e| format!("reference: {e}"))?;
    let got = model.run(inputs).map_err(|e| format!("functional: {e}"))?;
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        if !same(g, w) {
            return Err(format!("output {i} differs: functional {:?} vs reference {:?}", g.data, w.data));
        }
    }
    Ok(())
}

/// "E engine, F folded, H host".
pub fn partition_counts(model: &FunctionalModel) -> String {
    let p = &model.image().metadata.partition;
    let n = |k: Placement| p.iter().filter(|r| r.placement == k).count();
    format!("{} engine, {} folded, {} host", n(Placement::Engine), n(Placement::Folded), n(Placement::Host))
}

// Fixture discovery: `fixtures/{tflite,onnx}/*` of this repository, and when present
// `$SYSTOLE_FIXTURES/tflite/*` and `$SYSTOLE_FIXTURES/onnx/digits_qdq`.

pub fn own() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

pub fn shared() -> PathBuf {
    std::env::var_os("SYSTOLE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures"))
}

pub fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

pub fn inputs_of(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> =
        std::fs::read_dir(dir).map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
    v.retain(|p| {
        p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("input_") && n.ends_with(".npy"))
    });
    v.sort();
    v
}

pub fn model_file(dir: &Path) -> Option<PathBuf> {
    ["model.tflite", "model.onnx"].iter().map(|f| dir.join(f)).find(|p| p.is_file())
}

/// (model dir) for every model under test, with loud skips.
pub fn models() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = ["tflite", "onnx"].iter().flat_map(|k| subdirs(&own().join(k))).collect();
    // The digits model with int4 weights (`systole quantize --weight-bits 4`): on an 8-bit
    // engine lowering sign-extends its weights to bytes.
    dirs.push(own().join("quantize/digits_int4"));
    let shared = shared();
    for (sub, what) in [("tflite", None), ("onnx", Some("digits_qdq"))] {
        let d = shared.join(sub);
        let found: Vec<PathBuf> =
            subdirs(&d).into_iter().filter(|p| what.is_none_or(|w| p.file_name().is_some_and(|n| n == w))).collect();
        if found.is_empty() {
            eprintln!("!!! SKIP: no third-party models at {} (set SYSTOLE_FIXTURES) !!!", d.display());
        }
        dirs.extend(found);
    }
    dirs.retain(|d| model_file(d).is_some());
    dirs
}
