//! Third-party TFLite models against tflite-micro goldens: every output exactly, and for input
//! 000 every intermediate activation tensor (tensors/tNNN.npy, NNN = flatbuffer tensor index).

mod common;

use systole_model::exec::Executor;
use systole_model::ir::TensorData;
use systole_model::{load::load_model, npy};

fn run_family(name: &str, min_tensors: usize) {
    let Some(root) = common::shared_fixtures(name) else { return };
    let outcome = common::check_model_dir(&root.join("tflite").join(name), "model.tflite");
    eprintln!(
        "{name}: {}/{} outputs exact, {} intermediate tensors exact",
        outcome.outputs_exact, outcome.outputs_total, outcome.tensors_compared
    );
    assert!(outcome.tensors_compared >= min_tensors, "{name}: only {} tensors compared", outcome.tensors_compared);
}

#[test]
fn person_detect_matches_tflite_micro() {
    run_family("person_detect", 20);
    let Some(root) = common::shared_fixtures("person_detect scores") else { return };
    // tflite-micro's own test expectations for the two bundled images ([no_person, person]).
    let dir = root.join("tflite/person_detect");
    let graph = load_model(&dir.join("model.tflite")).expect("load");
    let exec = Executor::new(&graph).expect("executor");
    let scores = |file: &str| -> Vec<i8> {
        let input = npy::read_value(&dir.join(file)).expect("input");
        match exec.run(&[input]).expect("run").remove(0).data {
            TensorData::I8(v) => v,
            other => panic!("unexpected output type {other:?}"),
        }
    };
    let mut got = [scores("input_000.npy"), scores("input_001.npy")];
    got.sort();
    assert_eq!(got, [vec![-113, 113], vec![57, -57]]);
}

#[test]
fn vww_96_int8_matches_tflite_micro() {
    run_family("vww_96_int8", 20);
}

#[test]
fn ad01_int8_matches_tflite_micro() {
    run_family("ad01_int8", 10);
}
