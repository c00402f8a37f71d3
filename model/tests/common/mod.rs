//! Helpers shared by the model crate's ONNX fixture tests (quantize, prune).

use std::path::{Path, PathBuf};
use systole_model::exec::Executor;
use systole_model::import::onnx::import_onnx;
use systole_model::ir::{TensorData, Value};
use systole_model::npy;

/// `$SYSTOLE_FIXTURES/onnx/digits_qdq` (default `../shared/fixtures` beside the checkout), or a
/// loud SKIP line naming `what` when the shared fixtures are absent.
pub fn shared_digits(what: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("SYSTOLE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures")));
    let digits = dir.join("onnx/digits_qdq");
    if digits.is_dir() {
        Some(digits)
    } else {
        eprintln!("!!! SKIP {what}: shared fixtures not found at {} (set SYSTOLE_FIXTURES) !!!", digits.display());
        None
    }
}

/// A path under the repository's own `fixtures/`.
pub fn own(path: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures")).join(path)
}

pub fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

pub fn f32s(v: &Value) -> &[f32] {
    match &v.data {
        TensorData::F32(d) => d,
        other => panic!("expected float32, got {other:?}"),
    }
}

/// Index of the largest value (the first on ties, as numpy's argmax).
pub fn argmax(v: &[f32]) -> usize {
    v.iter().enumerate().fold((0, f32::NEG_INFINITY), |b, (i, &x)| if x > b.1 { (i, x) } else { b }).0
}

/// Our integer reference on `model` equals onnxruntime's goldens `{prefix}NNN.npy` (for every
/// `input_NNN.npy` in `dir`) bit for bit; returns how many were compared.
pub fn assert_matches_goldens(model: &[u8], dir: &Path, prefix: &str) -> usize {
    let g = import_onnx(model, "under_test").expect("the model under test imports");
    let exec = Executor::new(&g).unwrap();
    let mut n = 0;
    while dir.join(format!("input_{n:03}.npy")).exists() {
        let x = npy::read_value(&dir.join(format!("input_{n:03}.npy"))).unwrap();
        let want = npy::read_value(&dir.join(format!("{prefix}{n:03}.npy"))).unwrap();
        let got = exec.run(&[x]).unwrap().remove(0);
        assert_eq!(got.shape, want.shape, "{} {prefix}{n:03}", dir.display());
        let (a, b) = (f32s(&got), f32s(&want));
        let differ = a.iter().zip(b).filter(|(x, y)| x.to_bits() != y.to_bits()).count();
        assert_eq!(
            differ,
            0,
            "{} {prefix}{n:03}: {differ} of {} values differ from onnxruntime\n{a:?}\n{b:?}",
            dir.display(),
            a.len()
        );
        n += 1;
    }
    assert!(n > 0, "no goldens in {}", dir.display());
    n
}
