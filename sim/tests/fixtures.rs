//! Every fixture model, packed for several engines, read back from bytes and run by the
//! functional model, equals the reference executor byte for byte (whose outputs the root
//! crate's tests check against the tflite-micro / onnxruntime goldens).
//!
//! Models: `fixtures/{tflite,onnx}/*` of this repository, and when present
//! `$SYSTOLE_FIXTURES/tflite/*` and `$SYSTOLE_FIXTURES/onnx/digits_qdq` (default
//! `../shared/fixtures` beside the checkout; a loud SKIP line when absent).

mod common;

use common::{compare, configs, load, partition_counts};
use std::path::{Path, PathBuf};
use systole_host::lower::render_partition;
use systole_model::{load::load_model, npy};

fn own() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

fn shared() -> PathBuf {
    std::env::var_os("SYSTOLE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures"))
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn inputs_of(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> =
        std::fs::read_dir(dir).map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
    v.retain(|p| {
        p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("input_") && n.ends_with(".npy"))
    });
    v.sort();
    v
}

fn model_file(dir: &Path) -> Option<PathBuf> {
    ["model.tflite", "model.onnx"].iter().map(|f| dir.join(f)).find(|p| p.is_file())
}

/// (model dir) for every model under test, with loud skips.
fn models() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = ["tflite", "onnx"].iter().flat_map(|k| subdirs(&own().join(k))).collect();
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

#[test]
fn every_fixture_model_matches_the_reference_on_every_config() {
    let mut failures = Vec::new();
    let mut table = String::new();
    for dir in models() {
        let Some(file) = model_file(&dir) else { continue };
        let graph = load_model(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let inputs: Vec<_> = inputs_of(&dir)
            .iter()
            .map(|p| npy::read_value(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
            .collect();
        assert!(!inputs.is_empty(), "{}: no inputs", dir.display());
        for cfg in configs() {
            let model = load(&graph, &cfg);
            if cfg.name == "a16x16" {
                println!(
                    "== {} partition on {}:\n{}",
                    graph.name,
                    cfg.name,
                    render_partition(&model.image().metadata.partition)
                );
            }
            let mut exact = 0;
            for (i, x) in inputs.iter().enumerate() {
                match compare(&graph, &model, std::slice::from_ref(x)) {
                    Ok(()) => exact += 1,
                    Err(e) => failures.push(format!("{} on {} input {i}: {e}", graph.name, cfg.name)),
                }
            }
            table.push_str(&format!(
                "{:<22} {:<10} {:>3}/{:<3} exact   {}\n",
                graph.name,
                cfg.name,
                exact,
                inputs.len(),
                partition_counts(&model)
            ));
        }
    }
    println!("model                  config     outputs       partition\n{table}");
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}
