//! `systole quantize` end to end: the binary writes the committed QDQ model of
//! `fixtures/quantize/resnet_tiny` byte for byte, `systole reference` on it reproduces
//! onnxruntime's golden, and bad input ends in a clear error (non-zero exit, no output file).
//! `--weight-bits 4` on digits writes `fixtures/quantize/digits_int4/model.onnx` byte for byte,
//! and that model packed for a 4-bit-weight engine runs on `sim:cycle` to onnxruntime's golden.

use std::path::PathBuf;
use std::process::{Command, Output};

fn systole(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_systole")).args(args).output().expect("run systole")
}

fn fixture(p: &str) -> String {
    format!("{}/fixtures/{p}", env!("CARGO_MANIFEST_DIR"))
}

/// A scratch directory per test: tests run in parallel and each removes its own at the end.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("systole-quantize-cli-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

#[test]
fn quantize_then_reference_matches_onnxruntime() {
    let dir = scratch("reference");
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
fn int4_quantize_pack_and_run_on_a_4bit_engine() {
    let shared = std::env::var_os("SYSTOLE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures")))
        .join("onnx/digits_qdq");
    if !shared.is_dir() {
        eprintln!("SKIP: {} not found (set SYSTOLE_FIXTURES)", shared.display());
        return;
    }
    let dir = scratch("int4");
    let (model, arch, image, y) = (dir.join("m.onnx"), dir.join("arch.json"), dir.join("m.bin"), dir.join("y.npy"));
    let s = |p: &PathBuf| p.to_str().unwrap().to_string();
    let (fp32, calib) = (shared.join("model_fp32.onnx"), shared.join("calib.npy"));
    let r = systole(&[
        "quantize",
        &s(&fp32),
        "--calib",
        &s(&calib),
        "--out",
        &s(&model),
        "--per-channel",
        "--weight-bits",
        "4",
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(
        std::fs::read(&model).unwrap() == std::fs::read(fixture("quantize/digits_int4/model.onnx")).unwrap(),
        "differs from the fixture"
    );
    // A 16 x 16 engine with float requant (an onnxruntime model) and 4-bit weights.
    let mut cfg = systole_arch::ArchConfig::new("digits_int4", 16, 16);
    cfg.requant.float = true;
    cfg.weight_bits = 4;
    std::fs::write(&arch, cfg.to_json()).unwrap();
    let r = systole(&["pack", &s(&model), "--arch", &s(&arch), "--out", &s(&image)]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let x = fixture("quantize/digits_int4/input_000.npy");
    let r = systole(&["run", "--device", "sim:cycle", "--image", &s(&image), "-i", &x, "-o", &s(&y)]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let r = systole(&["compare", &s(&y), &fixture("quantize/digits_int4/output_000.npy")]);
    assert!(r.status.success(), "sim:cycle differs from onnxruntime: {}", String::from_utf8_lossy(&r.stdout));
    // The int8 model on the same engine: refused with the reason.
    let r = systole(&["pack", &fixture("quantize/digits/model.onnx"), "--arch", &s(&arch), "--out", &s(&image)]);
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("--weight-bits 4"), "{}", String::from_utf8_lossy(&r.stderr));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn quantize_fails_clearly() {
    let dir = scratch("bad");
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

/// `systole generate` sizes an int4 model onto the 4-bit weight path by itself (and an int8 model
/// onto the 8-bit one), and turns zero-tile skipping on for a model with zero weight tiles
/// (fixtures/zero_tiles) but not for the dense int8 one; the emitted Verilog passes generate's
/// own `verilator --lint-only -Wall`. (The int4 model has zero 4 x 4 tiles of its own: int4
/// rounds many small weights to the zero point, so it is not asserted either way.)
#[test]
fn generate_sizes_the_weight_path_and_zero_skipping_from_the_model() {
    let dir = scratch("generate-int4");
    for (model, bits, skips) in [
        ("quantize/digits_int4/model.onnx", 4, None),
        ("quantize/digits/model.onnx", 8, Some(false)),
        ("zero_tiles/digits_tiles50/model.onnx", 8, Some(true)),
    ] {
        let out = dir.join(model.replace('/', "_"));
        let r = systole(&["generate", &fixture(model), "--out", out.to_str().unwrap(), "--budget-macs", "16"]);
        assert!(r.status.success(), "{model}: {}", String::from_utf8_lossy(&r.stderr));
        let stdout = String::from_utf8_lossy(&r.stdout);
        assert!(stdout.contains("lint-only -Wall: clean"), "{model}");
        let arch = std::fs::read_to_string(out.join("arch.json")).unwrap();
        let cfg = systole_arch::ArchConfig::from_json(&arch).unwrap();
        assert_eq!(cfg.weight_bits, bits, "{model}: {arch}");
        if let Some(skips) = skips {
            assert_eq!(cfg.zero_skip(), skips, "{model}: {arch}");
        }
        assert_eq!(stdout.contains("zero-tile skipping: masks of"), cfg.zero_skip(), "{model}: {stdout}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
