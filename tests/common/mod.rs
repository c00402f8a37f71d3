//! Shared helpers of the end-to-end tests: fixture locations and exact comparison.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use systole_model::exec::Executor;
use systole_model::ir::{Graph, TensorData, TensorId, Value};
use systole_model::{load::load_model, npy};

/// The third-party fixtures folder (`SYSTOLE_FIXTURES`, default `../shared/fixtures` beside the
/// checkout). `None`, with a loud line on stderr, when it is absent.
pub fn shared_fixtures(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("SYSTOLE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("!!! SKIP {test}: third-party fixtures not found at {} (set SYSTOLE_FIXTURES) !!!", dir.display());
        None
    }
}

/// The repository's own fixtures (always present).
pub fn own_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Number of elements that differ; panics with a description when shape or type differ.
pub fn count_mismatches(what: &str, actual: &Value, expected: &Value) -> usize {
    assert_eq!(actual.shape, expected.shape, "{what}: shape");
    match (&actual.data, &expected.data) {
        (TensorData::I8(a), TensorData::I8(b)) => a.iter().zip(b).filter(|(x, y)| x != y).count(),
        (TensorData::U8(a), TensorData::U8(b)) => a.iter().zip(b).filter(|(x, y)| x != y).count(),
        (TensorData::I16(a), TensorData::I16(b)) => a.iter().zip(b).filter(|(x, y)| x != y).count(),
        (TensorData::I32(a), TensorData::I32(b)) => a.iter().zip(b).filter(|(x, y)| x != y).count(),
        (TensorData::I64(a), TensorData::I64(b)) => a.iter().zip(b).filter(|(x, y)| x != y).count(),
        // Bit-exact float comparison: the goldens are what onnxruntime computed.
        (TensorData::F32(a), TensorData::F32(b)) => a.iter().zip(b).filter(|(x, y)| x.to_bits() != y.to_bits()).count(),
        (a, b) => panic!("{what}: element type differs: {a:?} vs {b:?}"),
    }
}

/// Sorted `input_NNN.npy` files of a fixture model folder.
pub fn numbered(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(dir).map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
    files.retain(|p| {
        p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(prefix) && n.ends_with(".npy"))
    });
    files.sort();
    files
}

pub struct Outcome {
    pub model: PathBuf,
    pub outputs_exact: usize,
    pub outputs_total: usize,
    pub tensors_compared: usize,
}

/// The golden for input `i`. onnxruntime on x86 runs int8 QDQ groups whose input has several
/// consumers in float (it does not fuse them); `output_qdqint8_NNN.npy` holds its outputs with
/// `session.qdqisint8allowed=1`, where every group runs as the integer QLinear op systole
/// implements (see fixtures/README.md). Prefer it where the fixture has it.
pub fn golden_output(dir: &Path, i: usize) -> PathBuf {
    let fused = dir.join(format!("output_qdqint8_{i:03}.npy"));
    if fused.is_file() {
        fused
    } else {
        dir.join(format!("output_{i:03}.npy"))
    }
}

/// Runs every `input_NNN.npy` of a fixture folder through the reference and requires the
/// matching `output_NNN.npy` exactly; for input 000 also every dumped intermediate tensor.
pub fn check_model_dir(dir: &Path, model_file: &str) -> Outcome {
    let graph = load_model(&dir.join(model_file)).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let exec = Executor::new(&graph).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let inputs = numbered(dir, "input_");
    assert!(!inputs.is_empty(), "{}: no inputs", dir.display());
    let mut outcome = Outcome { model: dir.to_path_buf(), outputs_exact: 0, outputs_total: 0, tensors_compared: 0 };
    for (i, input_path) in inputs.iter().enumerate() {
        let input = npy::read_value(input_path).expect("input npy");
        let expected = npy::read_value(&golden_output(dir, i)).expect("output npy");
        let mut seen: HashMap<TensorId, Value> = HashMap::new();
        let outputs = exec
            .run_observed(std::slice::from_ref(&input), &mut |id, v| {
                if i == 0 {
                    seen.insert(id, v.clone());
                }
            })
            .unwrap_or_else(|e| panic!("{}: {e}", input_path.display()));
        let bad = count_mismatches(&format!("{} output {i}", dir.display()), &outputs[0], &expected);
        assert_eq!(bad, 0, "{}: output for {} differs in {bad} elements", dir.display(), input_path.display());
        outcome.outputs_exact += 1;
        outcome.outputs_total += 1;
        if i == 0 && dir.join("tensors").is_dir() {
            seen.insert(graph.inputs[0], input.clone());
            outcome.tensors_compared = check_intermediates(dir, &graph, &seen);
        }
    }
    outcome
}

/// Compares every activation tensor tflite-micro dumped for input 000. Constants are skipped
/// (the IR stores depthwise weights transposed to OHWI, so their layout differs by design).
fn check_intermediates(dir: &Path, graph: &Graph, seen: &HashMap<TensorId, Value>) -> usize {
    let mut compared = 0;
    for file in numbered(&dir.join("tensors"), "t") {
        let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        let id: TensorId = stem[1..].parse().unwrap_or_else(|_| panic!("bad tensor file name {}", file.display()));
        let tensor = graph.tensors.get(id).unwrap_or_else(|| panic!("{}: no tensor #{id}", dir.display()));
        if tensor.is_constant() {
            continue;
        }
        let Some(actual) = seen.get(&id) else {
            panic!("{}: tensor #{id} '{}' was never produced by the reference", dir.display(), tensor.name);
        };
        let golden = npy::read_value(&file).expect("tensor npy");
        let bad = count_mismatches(&format!("tensor #{id} '{}'", tensor.name), actual, &golden);
        assert_eq!(bad, 0, "{}: tensor #{id} '{}' differs in {bad} elements", dir.display(), tensor.name);
        compared += 1;
    }
    compared
}
