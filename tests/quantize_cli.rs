//! `systole quantize` end to end: the binary writes the committed QDQ model of
//! `fixtures/quantize/resnet_tiny` byte for byte, `systole reference` on it reproduces
//! onnxruntime's golden, and bad input ends in a clear error (non-zero exit, no output file).

use std::path::PathBuf;
use std::process::{Command, Output};

fn systole(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_systole")).args(args).output().expect("run systole")
}

fn fixture(p: &str) -> String {
    format!("{}/fixtures/{p}", env!("CARGO_MANIFEST_DIR"))
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("systole-quantize-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

#[test]
fn quantize_then_reference_matches_onnxruntime() {
    let dir = scratch();
    let out = dir.join("q.onnx");
    let out_s = out.to_str().unwrap();
    let fp32 = fixture("onnx/resnet_tiny_qdq/model_fp32.onnx");
    let calib = fixture("quantize/resnet_tiny/calib.npy");
    let r = systole(&["quantize", &fp32, "--calib", &calib, "--out", out_s, "--per-channel"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let written = std::fs::read(&out).unwrap();
    assert!(written == std::fs::read(fixture("quantize/resnet_tiny/model.onnx")).unwrap(), "differs from the fixture");
    let y = dir.join("y.npy");
    let r =
        systole(&["reference", out_s, "-i", &fixture("quantize/resnet_tiny/input_003.npy"), "-o", y.to_str().unwrap()]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let r = systole(&["compare", y.to_str().unwrap(), &fixture("quantize/resnet_tiny/output_003.npy")]);
    assert!(r.status.success(), "reference differs from onnxruntime: {}", String::from_utf8_lossy(&r.stdout));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn quantize_fails_clearly() {
    let dir = scratch().join("bad");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("q.onnx");
    let out_s = out.to_str().unwrap();
    let fp32 = fixture("onnx/resnet_tiny_qdq/model_fp32.onnx");
    let cases = [
        // calibration arrays of another model (digits-sized inputs do not fit 3x16x16)
        (fp32.clone(), fixture("quantize/digits/input_000.npy"), "does not fit model input"),
        // an already quantized model
        (fixture("onnx/resnet_tiny_qdq/model.onnx"), fixture("quantize/resnet_tiny/calib.npy"), "DequantizeLinear"),
        // a missing calibration file
        (fp32.clone(), dir.join("missing.npy").to_str().unwrap().to_string(), "missing.npy"),
    ];
    for (model, calib, expect) in cases {
        let r = systole(&["quantize", &model, "--calib", &calib, "--out", out_s]);
        let err = String::from_utf8_lossy(&r.stderr);
        assert!(!r.status.success(), "{model} with {calib} should fail");
        assert!(err.contains(expect) && !err.contains("panicked"), "{model}: {err}");
        assert!(!out.exists(), "no output file on failure");
    }
    std::fs::remove_dir_all(&dir).ok();
}
