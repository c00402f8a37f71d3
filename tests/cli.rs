//! The `systole` binary on every fixture model: `inspect` prints a table with totals,
//! `reference` writes outputs equal to the goldens, `--dump-dir` writes the tensors, and bad
//! input ends in a clear error, never a panic.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn systole(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_systole")).args(args).output().expect("run systole")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("systole-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Every fixture model folder: own fixtures plus, when present, the shared tflite/onnx models.
fn fixture_models() -> Vec<PathBuf> {
    let mut roots = vec![common::own_fixtures()];
    if let Some(shared) = common::shared_fixtures("cli on shared models") {
        roots.push(shared);
    }
    let mut models = Vec::new();
    for root in roots {
        for (format, file) in [("tflite", "model.tflite"), ("onnx", "model.onnx")] {
            let Ok(entries) = std::fs::read_dir(root.join(format)) else { continue };
            for e in entries.flatten() {
                let m = e.path().join(file);
                if m.is_file() {
                    models.push(m);
                }
            }
        }
    }
    models.sort();
    models
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn inspect_and_reference_work_on_every_fixture_model() {
    let models = fixture_models();
    assert!(models.len() >= 5, "found only {} fixture models", models.len());
    let out_dir = scratch("models");
    for (i, model) in models.iter().enumerate() {
        let inspect = systole(&["inspect", path_str(model)]);
        assert!(inspect.status.success(), "inspect {}: {}", model.display(), text(&inspect.stderr));
        let table = text(&inspect.stdout);
        assert!(table.contains("total:") && table.contains("MACs"), "inspect {}: {table}", model.display());

        let dir = model.parent().expect("model dir");
        let output = out_dir.join(format!("out_{i}.npy"));
        let dump = out_dir.join(format!("dump_{i}"));
        let run = systole(&[
            "reference",
            path_str(model),
            "--input",
            path_str(&dir.join("input_000.npy")),
            "--output",
            path_str(&output),
            "--dump-dir",
            path_str(&dump),
        ]);
        assert!(run.status.success(), "reference {}: {}", model.display(), text(&run.stderr));
        let cmp = systole(&["compare", path_str(&output), path_str(&common::golden_output(dir, 0))]);
        assert!(cmp.status.success(), "compare {}: {}{}", model.display(), text(&cmp.stdout), text(&cmp.stderr));
        assert!(dump.join("index.json").is_file(), "no index.json for {}", model.display());
    }
    std::fs::remove_dir_all(&out_dir).ok();
}

#[test]
fn inspect_json_has_totals() {
    let model = common::own_fixtures().join("tflite/resnet_tiny/model.tflite");
    let out = systole(&["inspect", path_str(&model), "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(v["total_macs"].as_u64().unwrap_or(0) > 0);
    assert!(v["layers"].as_array().is_some_and(|l| !l.is_empty()));
}

#[test]
fn bad_inputs_fail_cleanly() {
    let dir = scratch("bad");
    let junk = dir.join("junk.tflite");
    std::fs::write(&junk, b"this is not a model at all").expect("write");
    let truncated = dir.join("truncated.tflite");
    let real = std::fs::read(common::own_fixtures().join("tflite/resnet_tiny/model.tflite")).expect("read model");
    std::fs::write(&truncated, &real[..real.len() / 3]).expect("write");
    let model = common::own_fixtures().join("tflite/resnet_tiny/model.tflite");
    let wrong_input = dir.join("wrong.npy");
    std::fs::write(&wrong_input, b"\x93NUMPY garbage").expect("write");
    let out = dir.join("out.npy");

    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["inspect", path_str(&junk)], "junk.tflite"),
        (vec!["inspect", path_str(&truncated)], "truncated.tflite"),
        (vec!["inspect", "/nonexistent/model.onnx"], "/nonexistent/model.onnx"),
        (
            vec!["reference", path_str(&model), "--input", path_str(&wrong_input), "--output", path_str(&out)],
            "wrong.npy",
        ),
    ];
    for (args, must_name) in cases {
        let o = systole(&args);
        let err = text(&o.stderr);
        assert!(!o.status.success(), "{args:?} should fail");
        assert!(err.contains("error:") && err.contains(must_name), "{args:?}: unclear error: {err}");
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    }
    assert!(!out.exists(), "a failed run must not leave an output file");
    std::fs::remove_dir_all(&dir).ok();
}

/// The engine configuration the pack tests use: 16 x 16 with every unit.
const ARCH_JSON: &str = r#"{
  "version": 1, "name": "cli", "rows": 16, "cols": 16, "acc_bits": 32, "dma_data_bits": 64,
  "act_buffer_bytes": 16384, "weight_buffer_tiles": 2, "psum_depth": 256, "param_buffer_channels": 32,
  "requant": {"fixed": true, "float": true},
  "post_ops": {"add": true, "avg_pool": true, "max_pool": true, "global_avg_pool": true}
}"#;

#[test]
fn pack_writes_an_image_that_inspect_decodes() {
    let dir = scratch("pack");
    let arch = dir.join("arch.json");
    std::fs::write(&arch, ARCH_JSON).expect("write arch.json");
    for model in fixture_models() {
        let out = dir.join("model.bin");
        let p = systole(&["pack", path_str(&model), "--arch", path_str(&arch), "--out", path_str(&out)]);
        assert!(p.status.success(), "pack {}: {}", model.display(), text(&p.stderr));
        assert!(text(&p.stdout).contains("engine,") && text(&p.stdout).contains("wrote"), "{}", text(&p.stdout));
        let i = systole(&["inspect", path_str(&out)]);
        assert!(i.status.success(), "inspect image of {}: {}", model.display(), text(&i.stderr));
        let desc = text(&i.stdout);
        for part in ["systole image", "sections:", "DRAM plan", "schedule:", "partition:"] {
            assert!(desc.contains(part), "{}: no {part} in\n{desc}", model.display());
        }
    }
}

#[test]
fn pack_and_inspect_fail_clearly() {
    let dir = scratch("pack-errors");
    let model = common::own_fixtures().join("tflite/resnet_tiny/model.tflite");
    let arch = dir.join("arch.json");
    std::fs::write(&arch, ARCH_JSON.replace("\"rows\": 16", "\"rows\": 0")).expect("write");
    let out = dir.join("m.bin");
    let p = systole(&["pack", path_str(&model), "--arch", path_str(&arch), "--out", path_str(&out)]);
    assert!(!p.status.success());
    assert!(text(&p.stderr).contains("rows = 0"), "{}", text(&p.stderr));

    std::fs::write(&arch, ARCH_JSON).expect("write");
    let p = systole(&["pack", path_str(&model), "--arch", path_str(&arch), "--out", path_str(&out)]);
    assert!(p.status.success(), "{}", text(&p.stderr));
    let mut bytes = std::fs::read(&out).expect("read image");
    let n = bytes.len();
    bytes[n - 10] ^= 0xff;
    let bad = dir.join("bad.bin");
    std::fs::write(&bad, &bytes).expect("write");
    let i = systole(&["inspect", path_str(&bad)]);
    assert!(!i.status.success());
    assert!(text(&i.stderr).contains("METADATA: CRC32 mismatch"), "{}", text(&i.stderr));
    std::fs::write(&bad, &bytes[..100]).expect("write");
    let i = systole(&["inspect", path_str(&bad)]);
    assert!(text(&i.stderr).contains("truncated"), "{}", text(&i.stderr));
}

/// `systole pack` then `systole run --device sim:cycle` (or its alias sim:functional) reproduces the golden output of
/// every input of every own fixture model, and prints a cycle line per engine layer.
#[test]
fn run_on_the_simulated_device_reproduces_every_own_fixture_output() {
    let dir = scratch("run");
    let arch = dir.join("arch.json");
    std::fs::write(&arch, ARCH_JSON).expect("write arch.json");
    let root = common::own_fixtures();
    let mut models = 0;
    for (format, file) in [("tflite", "model.tflite"), ("onnx", "model.onnx")] {
        let mut dirs: Vec<PathBuf> =
            std::fs::read_dir(root.join(format)).expect("fixtures").flatten().map(|e| e.path()).collect();
        dirs.sort();
        for model_dir in dirs {
            let model = model_dir.join(file);
            let image = dir.join("m.bin");
            let p = systole(&[
                "pack",
                path_str(&model),
                "--arch",
                path_str(&arch),
                "--out",
                path_str(&image),
                "--dram-base",
                "0x80000000",
            ]);
            assert!(p.status.success(), "pack {}: {}", model.display(), text(&p.stderr));
            for (i, input) in common::numbered(&model_dir, "input_").iter().enumerate() {
                let out = dir.join("y.npy");
                let device = if i % 2 == 0 { "sim:cycle" } else { "sim:functional" };
                let r = systole(&[
                    "run",
                    "--device",
                    device,
                    "--image",
                    path_str(&image),
                    "--input",
                    path_str(input),
                    "--output",
                    path_str(&out),
                ]);
                assert!(r.status.success(), "run {} input {i}: {}", model.display(), text(&r.stderr));
                let table = text(&r.stdout);
                assert!(table.contains("cycles") && table.contains("engine layers in"), "{table}");
                let golden = common::golden_output(&model_dir, i);
                let c = systole(&["compare", path_str(&out), path_str(&golden)]);
                assert!(c.status.success(), "{} input {i}: {}{}", model.display(), text(&c.stdout), text(&c.stderr));
            }
            models += 1;
        }
    }
    assert!(models >= 5, "ran {models} models");
    std::fs::remove_dir_all(&dir).ok();
}

/// Bad images, specs and inputs end in clear errors; files the user named are never touched.
#[test]
fn run_fails_clearly_and_leaves_the_users_files_alone() {
    let dir = scratch("run-errors");
    let arch = dir.join("arch.json");
    std::fs::write(&arch, ARCH_JSON).expect("write arch.json");
    let fixture = common::own_fixtures().join("tflite/resnet_tiny");
    let model = fixture.join("model.tflite");
    let input = fixture.join("input_000.npy");
    let image = dir.join("m.bin");
    let p = systole(&["pack", path_str(&model), "--arch", path_str(&arch), "--out", path_str(&image)]);
    assert!(p.status.success(), "{}", text(&p.stderr));
    let bytes = std::fs::read(&image).expect("image");
    let truncated = dir.join("truncated.bin");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("write");
    let corrupted = dir.join("corrupted.bin");
    let mut c = bytes.clone();
    let n = c.len();
    c[n / 2] ^= 0x01;
    std::fs::write(&corrupted, &c).expect("write");
    let wrong_shape = dir.join("wrong.npy");
    let r = systole(&["reference", path_str(&model), "--input", path_str(&input), "--output", path_str(&wrong_shape)]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    // An existing output must survive a failed run byte for byte.
    let out = dir.join("y.npy");
    std::fs::write(&out, b"keep me").expect("write");
    let input_before = std::fs::read(&input).expect("input");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--device", "sim:functional", "--image", path_str(&truncated)], "truncated"),
        (vec!["--device", "sim:functional", "--image", path_str(&corrupted)], "CRC32 mismatch"),
        (vec!["--device", "sim:nope", "--image", path_str(&image)], "sim:cycle"),
        (vec!["--device", "pcie:3:0.0", "--image", path_str(&image)], "DDDD:BB:DD.F"),
        (vec!["--device", "sim:functional", "--image", path_str(&image), "--timeout", "0"], "--timeout"),
    ];
    for (mut args, needle) in cases {
        args.splice(0..0, ["run"]);
        args.extend(["--input", path_str(&input), "--output", path_str(&out)]);
        let o = systole(&args);
        let err = text(&o.stderr);
        assert!(!o.status.success(), "{args:?} should fail");
        assert!(err.contains("error:") && err.contains(needle), "{args:?}: unclear error: {err}");
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    }
    // The model's output as input: the shape is wrong.
    let o = systole(&[
        "run",
        "--device",
        "sim:functional",
        "--image",
        path_str(&image),
        "--input",
        path_str(&wrong_shape),
        "--output",
        path_str(&out),
    ]);
    assert!(!o.status.success() && text(&o.stderr).contains("shape"), "{}", text(&o.stderr));
    assert_eq!(std::fs::read(&out).expect("output"), b"keep me", "a failed run leaves the output file alone");
    assert_eq!(std::fs::read(&input).expect("input"), input_before, "inputs are never written");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
    std::fs::remove_dir_all(&dir).ok();
}

/// The third-party models (when present): `systole run --device sim:cycle` reproduces the
/// runtime's golden for the first input of each.
#[test]
fn run_on_the_simulated_device_reproduces_the_shared_model_goldens() {
    let Some(shared) = common::shared_fixtures("run on shared models") else { return };
    let dir = scratch("run-shared");
    let arch = dir.join("arch.json");
    std::fs::write(&arch, ARCH_JSON).expect("write arch.json");
    let mut models: Vec<PathBuf> = Vec::new();
    for (format, file) in [("tflite", "model.tflite"), ("onnx", "model.onnx")] {
        let Ok(entries) = std::fs::read_dir(shared.join(format)) else { continue };
        models.extend(entries.flatten().map(|e| e.path().join(file)).filter(|m| m.is_file()));
    }
    models.sort();
    for model in &models {
        let model_dir = model.parent().expect("model dir");
        let input = model_dir.join("input_000.npy");
        if !input.is_file() {
            continue;
        }
        let image = dir.join("m.bin");
        let p = systole(&["pack", path_str(model), "--arch", path_str(&arch), "--out", path_str(&image)]);
        assert!(p.status.success(), "pack {}: {}", model.display(), text(&p.stderr));
        let out = dir.join("y.npy");
        let r = systole(&[
            "run",
            "--device",
            "sim:cycle",
            "--image",
            path_str(&image),
            "--input",
            path_str(&input),
            "--output",
            path_str(&out),
        ]);
        assert!(r.status.success(), "run {}: {}", model.display(), text(&r.stderr));
        let golden = common::golden_output(model_dir, 0);
        let c = systole(&["compare", path_str(&out), path_str(&golden)]);
        assert!(c.status.success(), "{}: {}{}", model.display(), text(&c.stdout), text(&c.stderr));
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// `generate` writes the Verilog (top named after the model, linted when Verilator is here) and
/// every file that must agree with it; `simulate` on the cycle model reproduces the goldens of
/// the own fixtures and writes the per-layer JSON report of issue 4.
#[test]
fn generate_and_simulate() {
    let root = common::own_fixtures();
    let model = root.join("tflite/resnet_tiny");
    let out = scratch("generate");
    let g =
        systole(&["generate", path_str(&model.join("model.tflite")), "--out", path_str(&out), "--budget-macs", "64"]);
    assert!(g.status.success(), "generate: {}", text(&g.stderr));
    let verilog = std::fs::read_to_string(out.join("resnet_tiny.v")).expect("resnet_tiny.v");
    assert!(verilog.contains("module resnet_tiny("), "top module named after the model");
    for f in ["arch.json", "resnet_tiny_regs.h", "REGISTERS.md", "DESCRIPTOR.md", "report.md"] {
        assert!(out.join(f).is_file(), "generate wrote no {f}");
    }
    let arch = std::fs::read_to_string(out.join("arch.json")).expect("arch.json");
    let cfg = systole_arch::ArchConfig::from_json(&arch).expect("arch.json reads back");
    assert!(cfg.rows * cfg.cols <= 64, "budget of 64 MACs exceeded: {} x {}", cfg.rows, cfg.cols);
    let report = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    assert!(report.contains("## Partition") && report.contains("| CONV |"), "{report}");
    for chart in ["charts/cycles.svg", "charts/utilization.svg"] {
        assert!(report.contains(&format!("![{chart}]({chart})")), "report.md does not show {chart}");
        let svg = std::fs::read_to_string(out.join(chart)).expect("chart written");
        assert!(svg.starts_with("<svg") && svg.contains("<rect"), "{chart} is not an SVG bar chart");
    }

    for dir in ["tflite/resnet_tiny", "tflite/mobilenet_tiny", "onnx/resnet_tiny_qdq"] {
        let dir = root.join(dir);
        let file = if dir.join("model.tflite").is_file() { "model.tflite" } else { "model.onnx" };
        let y = out.join("y.npy");
        // The TFLite runs use the generated engine: their reports go into its directory, where
        // `systole report` reads them.
        let tflite = file == "model.tflite";
        let json = if tflite {
            out.join(format!("simulate-{}.json", dir.file_name().map(|f| f.to_string_lossy()).unwrap_or_default()))
        } else {
            out.join("r.json")
        };
        let arch = out.join("arch.json");
        let (model_file, input) = (dir.join(file), dir.join("input_000.npy"));
        let mut args = vec![
            "simulate",
            path_str(&model_file),
            "-i",
            path_str(&input),
            "-o",
            path_str(&y),
            "--report",
            path_str(&json),
        ];
        // The generated engine has TFLite's fixed-point lanes: the ONNX model gets its own sizing.
        if tflite {
            args.extend(["--arch", path_str(&arch)]);
        }
        let s = systole(&args);
        assert!(s.status.success(), "simulate {}: {}", dir.display(), text(&s.stderr));
        let golden =
            if dir.join("output_qdqint8_000.npy").is_file() { "output_qdqint8_000.npy" } else { "output_000.npy" };
        let c = systole(&["compare", path_str(&y), path_str(&dir.join(golden))]);
        assert!(c.status.success(), "simulate {} differs from {golden}: {}", dir.display(), text(&c.stdout));
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).expect("report")).expect("json");
        assert_eq!(r["engine"], "cycle");
        if tflite {
            assert_eq!(r["array"], serde_json::json!([cfg.rows, cfg.cols]));
        }
        let layers = r["layers"].as_array().expect("layers");
        assert!(!layers.is_empty() && r["total_cycles"].as_u64().is_some_and(|t| t > 0));
        for l in layers {
            for key in ["name", "op", "cycles", "macs", "utilization", "stall_cycles"] {
                assert!(!l[key].is_null(), "layer without {key}: {l}");
            }
            assert!(l["utilization"].as_f64().is_some_and(|u| (0.0..=1.0).contains(&u)), "{l}");
        }
    }

    // The report puts the simulated runs beside the generator's exact per-layer counts: the cycle
    // model's run of the model the engine was generated for must equal them layer by layer.
    let rep = systole(&["report", path_str(&out)]);
    assert!(rep.status.success(), "report: {}", text(&rep.stderr));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).expect("report.json")).expect("json");
    let sims = r["simulations"].as_array().expect("simulations");
    assert_eq!(sims.len(), 2, "{r}");
    let own = sims.iter().find(|s| s["file"].as_str().is_some_and(|f| f.contains("resnet_tiny"))).expect("resnet run");
    assert_eq!(own["matches_generate"], true, "cycle model vs generate's exact counts: {own}");
    assert_eq!(own["layer_cycles"], r["engine_cycles"], "{r}");
    let layer_sum: u64 = r["layers"].as_array().expect("layers").iter().filter_map(|l| l["cycles"].as_u64()).sum();
    assert_eq!(r["engine_cycles"].as_u64(), Some(layer_sum));
    let missing = systole(&["report", path_str(&out.join("nowhere"))]);
    assert!(
        !missing.status.success() && text(&missing.stderr).contains("systole generate"),
        "{}",
        text(&missing.stderr)
    );

    let bad =
        systole(&["generate", path_str(&model.join("model.tflite")), "--out", path_str(&out), "--part", "xc9z999"]);
    assert!(!bad.status.success() && text(&bad.stderr).contains("unknown part"), "{}", text(&bad.stderr));
    // ECP5-25F: 28 multipliers, fewer than the CONV and post-op units alone need (12 + 17), so
    // no array size helps; the refusal says so once, in words (no Debug struct, no repeats).
    let small =
        systole(&["generate", path_str(&model.join("model.tflite")), "--out", path_str(&out), "--part", "ecp5-25k"]);
    let why = text(&small.stderr);
    assert!(!small.status.success() && why.contains("no candidate fits ecp5-25k"), "{why}");
    assert!(
        why.contains("29 DSP") && why.matches("no candidate fits").count() == 1 && !why.contains("Resources {"),
        "{why}"
    );
    let rtl_vcd =
        systole(&["simulate", path_str(&model.join("model.tflite")), "-i", "x.npy", "-o", "y.npy", "--vcd", "w.vcd"]);
    assert!(
        !rtl_vcd.status.success() && text(&rtl_vcd.stderr).contains("--vcd needs --engine rtl"),
        "{}",
        text(&rtl_vcd.stderr)
    );
}

/// Issue 3's "generate works for every fixture model": `systole generate` on every own and
/// shared TFLite / ONNX model with the default budget writes the Verilog (top named after the
/// model, never `top`), `arch.json`, the C header, both Markdown maps and `report.md`; every
/// distinct hardware among them (the config hash leaves the name out) is linted with
/// `verilator -Wall`, zero warnings.
#[test]
fn generate_works_on_every_fixture_model() {
    let models = fixture_models();
    let out = scratch("generate-all");
    let mut linted = std::collections::BTreeMap::new();
    for (i, model) in models.iter().enumerate() {
        let dir = out.join(format!("m{i}"));
        let g = systole(&["generate", path_str(model), "--out", path_str(&dir), "--no-lint"]);
        assert!(g.status.success(), "generate {}: {}", model.display(), text(&g.stderr));
        let arch = std::fs::read_to_string(dir.join("arch.json")).expect("arch.json");
        let cfg = systole_arch::ArchConfig::from_json(&arch).expect("arch.json reads back");
        assert_ne!(cfg.name, "top", "{}: top module named after the model", model.display());
        let verilog_file = dir.join(format!("{}.v", cfg.name));
        let verilog = std::fs::read_to_string(&verilog_file).expect("the Verilog");
        assert!(verilog.contains(&format!("module {}(", cfg.name)), "{}: no top module {}", model.display(), cfg.name);
        for f in [format!("{}_regs.h", cfg.name), "REGISTERS.md".into(), "DESCRIPTOR.md".into(), "report.md".into()] {
            assert!(dir.join(&f).is_file(), "{}: generate wrote no {f}", model.display());
        }
        let report = std::fs::read_to_string(dir.join("report.md")).expect("report.md");
        assert!(report.contains("## Partition"), "{}: {report}", model.display());
        linted.entry(cfg.config_hash()).or_insert((verilog_file, cfg.name.clone()));
    }
    if systole_hdl::check::tools_or_skip(&["verilator"], "lint of every generated engine") {
        for (hash, (file, top)) in &linted {
            systole_hdl::check::lint(file, top).unwrap_or_else(|e| panic!("engine {hash:08x} ({top}): {e}"));
        }
    }
    eprintln!("generate: {} models, {} distinct engines linted", models.len(), linted.len());
    std::fs::remove_dir_all(&out).ok();
}

/// `systole simulate` and `systole run --device sim:cycle` model the same DRAM by default, so the
/// same engine reports the same cycles either way; `--dram-latency` changes both alike.
#[test]
fn simulate_and_run_on_the_cycle_model_report_the_same_cycles() {
    let dir = scratch("simulate-vs-run");
    let arch = dir.join("arch.json");
    std::fs::write(&arch, ARCH_JSON).expect("write arch.json");
    let fixture = common::own_fixtures().join("tflite/resnet_tiny");
    let (model, input) = (fixture.join("model.tflite"), fixture.join("input_000.npy"));
    let image = dir.join("m.bin");
    let p = systole(&["pack", path_str(&model), "--arch", path_str(&arch), "--out", path_str(&image)]);
    assert!(p.status.success(), "pack: {}", text(&p.stderr));
    let y = dir.join("y.npy");
    let simulated = |extra: &[&str]| -> u64 {
        let json = dir.join("r.json");
        let mut args =
            vec!["simulate", path_str(&model), "--arch", path_str(&arch), "-i", path_str(&input), "-o", path_str(&y)];
        args.extend(["--report", path_str(&json)]);
        args.extend(extra);
        let s = systole(&args);
        assert!(s.status.success(), "simulate: {}", text(&s.stderr));
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).expect("report")).expect("json");
        r["total_cycles"].as_u64().expect("total_cycles")
    };
    let ran = |extra: &[&str]| -> u64 {
        let mut args = vec!["run", "--device", "sim:cycle", "--image", path_str(&image), "-i", path_str(&input)];
        args.extend(["-o", path_str(&y)]);
        args.extend(extra);
        let r = systole(&args);
        assert!(r.status.success(), "run: {}", text(&r.stderr));
        // "... runs, N host steps; C engine cycles; host wall time ..."
        let out = text(&r.stdout);
        let line = out.lines().find(|l| l.contains(" engine cycles;")).unwrap_or_else(|| panic!("{out}"));
        let before = line.split(" engine cycles;").next().unwrap_or_default();
        before.rsplit(' ').next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{line}"))
    };
    let (s40, r40) = (simulated(&[]), ran(&[]));
    eprintln!("cycles: latency 40 {s40} / {r40}");
    assert_eq!(s40, r40, "default DRAM timing: simulate {s40} vs run {r40}");
    let slow = ["--dram-latency", "80", "--dram-interval", "2"];
    let (s80, r80) = (simulated(&slow), ran(&slow));
    assert_eq!(s80, r80, "latency 80, interval 2: simulate {s80} vs run {r80}");
    assert!(r80 > r40, "a slower DRAM must cost cycles: {r80} vs {r40}");
    let zero = systole(&[
        "run",
        "--device",
        "sim:cycle",
        "--image",
        path_str(&image),
        "-i",
        path_str(&input),
        "-o",
        path_str(&y),
        "--dram-interval",
        "0",
    ]);
    assert!(!zero.status.success() && text(&zero.stderr).contains("--dram-interval"), "{}", text(&zero.stderr));
    std::fs::remove_dir_all(&dir).ok();
}
