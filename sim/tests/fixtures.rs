//! Every fixture model, packed for several engines, read back from bytes and run by the
//! functional model, equals the reference executor byte for byte (whose outputs the root
//! crate's tests check against the tflite-micro / onnxruntime goldens).
//!
//! Models: `fixtures/{tflite,onnx}/*` of this repository, and when present
//! `$SYSTOLE_FIXTURES/tflite/*` and `$SYSTOLE_FIXTURES/onnx/digits_qdq` (default
//! `../shared/fixtures` beside the checkout; a loud SKIP line when absent).

mod common;

use common::{compare, configs, inputs_of, load, model_file, models, partition_counts};
use systole_host::lower::render_partition;
use systole_model::{load::load_model, npy};

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
