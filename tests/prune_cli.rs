//! `systole prune` end to end: the binary writes the committed pruned model byte for byte,
//! `systole generate` sizes an engine for a pruned quantized model (fewer MACs and cycles than
//! for the unpruned one), and bad input ends in a clear error with no output file left behind.

use std::path::PathBuf;
use std::process::{Command, Output};

fn systole(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_systole")).args(args).output().expect("run systole")
}

fn fixture(p: &str) -> String {
    format!("{}/fixtures/{p}", env!("CARGO_MANIFEST_DIR"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("systole-prune-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Sum of MACs and cycles over the engine layers `generate` recorded.
fn engine_totals(dir: &std::path::Path) -> (u64, u64) {
    let facts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("generate.json")).expect("generate.json")).unwrap();
    let layers = facts["layers"].as_array().expect("layers");
    let sum = |k: &str| layers.iter().map(|l| l[k].as_u64().unwrap()).sum::<u64>();
    (sum("macs"), sum("cycles"))
}

#[test]
fn prune_then_generate_sizes_for_the_pruned_model() {
    let dir = scratch("gen");
    let out = dir.join("pruned.onnx");
    let report = dir.join("prune.json");
    let r = systole(&[
        "prune",
        &fixture("quantize/digits/model.onnx"),
        "--ratio",
        "0.5",
        "--out",
        out.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let stdout = text(&r.stdout);
    assert!(stdout.contains("16 -> 8") && stdout.contains("32 -> 16"), "{stdout}");
    assert!(stdout.contains("kept: its channels reach graph output 'y'"), "{stdout}");
    assert!(stdout.contains("model::summary"), "{stdout}");
    let written = std::fs::read(&out).unwrap();
    assert!(written == std::fs::read(fixture("prune/digits_int8_50/model.onnx")).unwrap(), "differs from the fixture");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert!(json["after"]["macs"].as_u64() < json["before"]["macs"].as_u64(), "{json}");

    let mut totals = Vec::new();
    for (name, model) in [("full", fixture("quantize/digits/model.onnx")), ("pruned", out.to_str().unwrap().into())] {
        let g_dir = dir.join(name);
        let g = systole(&["generate", &model, "--out", g_dir.to_str().unwrap(), "--no-lint"]);
        assert!(g.status.success(), "generate {name}: {}", text(&g.stderr));
        totals.push(engine_totals(&g_dir));
    }
    let ((macs_full, cycles_full), (macs_pruned, cycles_pruned)) = (totals[0], totals[1]);
    eprintln!("digits int8 engine: MACs {macs_full} -> {macs_pruned}, cycles {cycles_full} -> {cycles_pruned}");
    assert!(macs_pruned < macs_full && cycles_pruned < cycles_full);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn prune_fails_clearly() {
    let dir = scratch("bad");
    let out = dir.join("p.onnx");
    let out_s = out.to_str().unwrap();
    let onnx = fixture("onnx/resnet_tiny_qdq/model.onnx");
    let tflite = fixture("tflite/resnet_tiny/model.tflite");
    let missing = dir.join("missing.onnx");
    let cases: [(&str, &str, &str); 4] = [
        (&onnx, "1.0", "out of range"),
        (&onnx, "-0.5", "out of range"),
        (&tflite, "0.5", "prune supports ONNX models"),
        (missing.to_str().unwrap(), "0.5", "missing.onnx"),
    ];
    for (model, ratio, expect) in cases {
        let r = systole(&["prune", model, "--ratio", ratio, "--out", out_s]);
        let err = text(&r.stderr);
        assert!(!r.status.success(), "{model} --ratio {ratio} should fail");
        assert!(err.contains(expect) && !err.contains("panicked"), "{model}: {err}");
        assert!(!out.exists(), "no output file on failure");
    }
    // An ONNX file that is not a model.
    let junk = dir.join("junk.onnx");
    std::fs::write(&junk, b"\x08\x07\x3a\xff\xff").unwrap();
    let r = systole(&["prune", junk.to_str().unwrap(), "--ratio", "0.5", "--out", out_s]);
    assert!(!r.status.success() && !text(&r.stderr).contains("panicked"), "{}", text(&r.stderr));
    assert!(!out.exists());
    std::fs::remove_dir_all(&dir).ok();
}
