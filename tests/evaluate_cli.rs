//! `systole evaluate` end to end.
//!
//! * digits (third-party fixtures): the int8 model's top-1 on the 397 test images and the float
//!   baseline's equal onnxruntime's accuracies (fixtures/quantize/digits/accuracy.json); bit
//!   flips at rate 0 and zero noise give the clean accuracy.
//! * own fixtures: labels taken from onnxruntime's outputs for 8 digits images (top-1 must be
//!   100 %: the reference is bit-exact with onnxruntime); cycles equal `systole simulate`'s for
//!   the same model, input and budget; bad input ends in clear errors.

mod common;

use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use systole_model::ir::{TensorData, Value};
use systole_model::npy;

fn systole(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_systole")).args(args).output().expect("run systole")
}

fn ok(args: &[&str]) -> Output {
    let r = systole(args);
    assert!(r.status.success(), "systole {args:?} failed: {}", String::from_utf8_lossy(&r.stderr));
    r
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("systole-evaluate-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn json(out: &Output) -> Json {
    serde_json::from_slice(&out.stdout).expect("evaluate --json prints JSON")
}

fn f(j: &Json, path: &[&str]) -> f64 {
    path.iter().fold(j, |v, k| &v[*k]).as_f64().unwrap_or_else(|| panic!("no number at {path:?} in {j}"))
}

/// The 8 own digits inputs as one [8, 1, 1, 8, 8] batch, and onnxruntime's top-1 for each as
/// labels (argmax of its golden outputs, first index on ties as numpy).
fn own_digits_set(dir: &Path) -> (PathBuf, PathBuf) {
    let d = common::own_fixtures().join("quantize/digits");
    let (mut xs, mut labels) = (Vec::new(), Vec::new());
    for (x, y) in common::numbered(&d, "input_").iter().zip(common::numbered(&d, "output_")) {
        let TensorData::F32(v) = npy::read_value(x).unwrap().data else { panic!("float input") };
        xs.extend(v);
        let TensorData::F32(o) = npy::read_value(&y).unwrap().data else { panic!("float output") };
        let best = (0..o.len()).fold(0, |b, i| if o[i] > o[b] { i } else { b });
        labels.push(best as i64);
    }
    assert_eq!(labels.len(), 8);
    let (xp, yp) = (dir.join("x.npy"), dir.join("y.npy"));
    npy::write_value(&xp, &Value::new(vec![8, 1, 1, 8, 8], TensorData::F32(xs))).unwrap();
    npy::write_value(&yp, &Value::new(vec![8], TensorData::I64(labels))).unwrap();
    (xp, yp)
}

#[test]
fn digits_accuracies_equal_onnxruntime() {
    let Some(shared) = common::shared_fixtures("digits_accuracies_equal_onnxruntime") else { return };
    let d = shared.join("onnx/digits_qdq");
    let model = common::own_fixtures().join("quantize/digits/model.onnx");
    let golden: Json = serde_json::from_str(
        &std::fs::read_to_string(common::own_fixtures().join("quantize/digits/accuracy.json")).unwrap(),
    )
    .unwrap();
    let r = ok(&[
        "evaluate",
        s(&model),
        "--data",
        s(&d.join("test_inputs.npy")),
        "--labels",
        s(&d.join("test_labels.npy")),
        "--baseline",
        s(&d.join("model_fp32.onnx")),
        "--noise",
        "0",
        "--bit-flip-rates",
        "0",
        "--trials",
        "2",
        "--json",
    ]);
    let j = json(&r);
    assert_eq!(f(&j, &["data", "samples"]), 397.0);
    let int8 = f(&golden, &["int8_systole_quantize"]);
    assert_eq!(f(&j, &["accuracy", "top1"]), int8, "int8 top-1 vs onnxruntime");
    assert_eq!(f(&j, &["accuracy", "baseline_top1"]), f(&golden, &["fp32_onnxruntime"]), "fp32 top-1 vs onnxruntime");
    // Quantisation keeps the layers, so the MACs are the same; weights shrink about 4x (int32 biases).
    assert_eq!(f(&j, &["compression", "baseline", "macs"]), f(&j, &["compression", "model", "macs"]));
    let ratio = f(&j, &["compression", "weight_ratio"]);
    assert!(ratio > 3.5 && ratio <= 4.0, "weight ratio {ratio}");
    let flips = &j["robustness"]["bit_flips"][0];
    assert_eq!(f(flips, &["accuracy", "min"]), int8, "rate 0 flips nothing");
    assert_eq!(f(flips, &["accuracy", "max"]), int8);
    assert_eq!(f(flips, &["flipped_bits_mean"]), 0.0);
    assert_eq!(f(&j["robustness"]["noise"][0], &["accuracy", "mean"]), int8, "zero noise");
}

#[test]
fn own_digits_report_and_cycles_equal_simulate() {
    let dir = scratch("own");
    let (x, y) = own_digits_set(&dir);
    let model = common::own_fixtures().join("quantize/digits/model.onnx");
    let out = dir.join("report");
    let r = ok(&[
        "evaluate",
        s(&model),
        "--data",
        s(&x),
        "--labels",
        s(&y),
        "--budget-macs",
        "64",
        "--fmax",
        "125",
        "--trials",
        "2",
        "--bit-flip-rates",
        "0,0.05",
        "--noise",
        "0.1",
        "--out-dir",
        s(&out),
        "--json",
    ]);
    let j = json(&r);
    assert_eq!(f(&j, &["accuracy", "top1"]), 1.0, "onnxruntime's own predictions");
    let written: Json = serde_json::from_str(&std::fs::read_to_string(out.join("evaluate.json")).unwrap()).unwrap();
    assert_eq!(written, j, "evaluate.json is the printed report");
    let md = std::fs::read_to_string(out.join("evaluate.md")).unwrap();
    assert!(md.contains("## Robustness") && md.contains("charts/evaluate-bit-flips.svg"), "{md}");
    for c in j["charts"].as_array().unwrap() {
        let svg = std::fs::read_to_string(out.join(c.as_str().unwrap())).unwrap();
        assert!(svg.starts_with("<svg") || svg.contains("<svg"), "{c} is not SVG");
    }
    // Flipping 5 % of the bits changes weights, and the report counts them.
    let flips = &j["robustness"]["bit_flips"];
    assert_eq!(f(&flips[0], &["accuracy", "mean"]), 1.0);
    assert!(f(&flips[1], &["flipped_bits_mean"]) > 0.0);

    // The same engine (64-MAC budget) and the same first input through `systole simulate`.
    let input = common::own_fixtures().join("quantize/digits/input_000.npy");
    let sim = dir.join("sim.json");
    ok(&[
        "simulate",
        s(&model),
        "-i",
        s(&input),
        "-o",
        s(&dir.join("o.npy")),
        "--budget-macs",
        "64",
        "--report",
        s(&sim),
    ]);
    let sim: Json = serde_json::from_str(&std::fs::read_to_string(&sim).unwrap()).unwrap();
    let e = &j["efficiency"];
    assert_eq!(e["total_cycles"], sim["total_cycles"]);
    assert_eq!(e["array"], sim["array"]);
    assert_eq!(e["layers"], sim["layers"]);
    assert_eq!(f(e, &["latency_us"]), f(&sim, &["total_cycles"]) / 125.0);
    assert_eq!(e["fmax_source"], "--fmax");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn evaluate_fails_clearly() {
    let dir = scratch("bad");
    let (x, y) = own_digits_set(&dir);
    let model = common::own_fixtures().join("quantize/digits/model.onnx");
    let float = common::own_fixtures().join("onnx/resnet_tiny_qdq/model_fp32.onnx");
    let fails = |args: &[&str], needle: &str| {
        let r = systole(args);
        let err = String::from_utf8_lossy(&r.stderr);
        assert!(!r.status.success() && err.contains(needle), "{args:?}: expected {needle:?} in {err}");
        assert!(!err.contains("panicked"), "{err}");
    };
    let seven = dir.join("seven.npy");
    npy::write_value(&seven, &Value::new(vec![7], TensorData::I64(vec![0; 7]))).unwrap();
    fails(&["evaluate", s(&model), "--data", s(&x), "--labels", s(&seven)], "7 labels for 8 samples");
    let flat = dir.join("flat.npy");
    npy::write_value(&flat, &Value::new(vec![8, 64], TensorData::F32(vec![0.0; 512]))).unwrap();
    fails(&["evaluate", s(&model), "--data", s(&flat), "--labels", s(&y)], "flat.npy: shape [8, 64]");
    fails(&["evaluate", s(&float)], "not an int8/int4 model");
    fails(&["evaluate", s(&model), "--baseline", s(&float)], "model_fp32.onnx takes 1 input(s)");
    fails(&["evaluate", s(&model), "--bit-flip-rates", "2"], "not a probability");
    fails(&["evaluate", s(&model), "--noise", "0.1,x"], "\"x\"");
    // "none" skips an experiment; with both skipped the report has no robustness section.
    let j = json(&ok(&[
        "evaluate",
        s(&model),
        "--data",
        s(&x),
        "--labels",
        s(&y),
        "--noise",
        "none",
        "--bit-flip-rates",
        "none",
        "--json",
    ]));
    assert_eq!(f(&j, &["accuracy", "top1"]), 1.0);
    assert!(j["robustness"].is_null(), "{}", j["robustness"]);
    std::fs::remove_dir_all(&dir).ok();
}
