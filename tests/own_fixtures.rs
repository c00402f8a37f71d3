//! The repository's own fixture models (fixtures/, made by tools/fixtures/make_fixtures.py with
//! pip-installed TensorFlow, tflite-micro and onnxruntime): every output exact against the
//! runtime's golden, so the suite is meaningful without ../shared.

mod common;

use std::path::PathBuf;

fn model_dirs(format: &str) -> Vec<PathBuf> {
    let root = common::own_fixtures().join(format);
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn check_all(format: &str, model_file: &str, min_models: usize) {
    let dirs = model_dirs(format);
    assert!(dirs.len() >= min_models, "expected at least {min_models} {format} fixture models, found {}", dirs.len());
    for dir in dirs {
        let o = common::check_model_dir(&dir, model_file);
        eprintln!(
            "{}: {}/{} outputs exact, {} intermediate tensors exact",
            dir.display(),
            o.outputs_exact,
            o.outputs_total,
            o.tensors_compared
        );
    }
}

#[test]
fn own_tflite_models_match_tflite_micro() {
    check_all("tflite", "model.tflite", 2);
}

#[test]
fn own_onnx_models_match_onnxruntime() {
    check_all("onnx", "model.onnx", 3);
}
