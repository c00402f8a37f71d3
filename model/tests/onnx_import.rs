//! ONNX importer conformance: the ONNX backend node tests, onnxruntime-quantized models with
//! onnxruntime goldens (`../shared/fixtures`, `fixtures/onnx`), and robustness against corrupt
//! files.

use std::path::{Path, PathBuf};
use systole_model::exec::Executor;
use systole_model::import::onnx::{import_onnx, import_onnx_with_constants, read_tensor_proto};
use systole_model::ir::{DType, Graph, TensorData, Value};
use systole_model::npy::read_value;

fn shared_fixtures() -> Option<PathBuf> {
    let dir = std::env::var_os("SYSTOLE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures")));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIP: shared fixtures not found at {} (set SYSTOLE_FIXTURES)", dir.display());
        None
    }
}

fn own_fixtures() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/onnx"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIP: own ONNX fixtures not found at {}", dir.display());
        None
    }
}

/// One ONNX node test: model bytes, inputs (name, dtype, value) and the expected output.
struct NodeTest {
    name: String,
    model: Vec<u8>,
    inputs: Vec<(String, DType, Value)>,
    expected: (String, DType, Value),
}

fn read_pb(path: &Path) -> (String, DType, Value) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    read_tensor_proto(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn load_node_test(dir: &Path) -> NodeTest {
    let model = std::fs::read(dir.join("model.onnx")).expect("model.onnx");
    let data = dir.join("test_data_set_0");
    let mut inputs = Vec::new();
    for i in 0.. {
        let p = data.join(format!("input_{i}.pb"));
        if !p.exists() {
            break;
        }
        inputs.push(read_pb(&p));
    }
    let expected = read_pb(&data.join("output_0.pb"));
    NodeTest { name: dir.file_name().unwrap().to_string_lossy().into_owned(), model, inputs, expected }
}

fn node_tests(root: &Path) -> Vec<NodeTest> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("onnx-node"))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect())
        .unwrap_or_default();
    dirs.sort();
    dirs.iter().map(|d| load_node_test(d)).collect()
}

/// Imports a node test with every input not listed in `data` bound as a constant (the IR needs
/// weights, scales and zero points as constants).
fn import_node_test(t: &NodeTest, data: &[usize]) -> Graph {
    let constants: Vec<(String, Value)> = t
        .inputs
        .iter()
        .enumerate()
        .filter(|(i, _)| !data.contains(i))
        .map(|(_, (n, _, v))| (n.clone(), v.clone()))
        .collect();
    import_onnx_with_constants(&t.model, &t.name, &constants).unwrap_or_else(|e| panic!("{}: {e}", t.name))
}

/// Runs `g` and returns the number of output elements differing from `expected` (floats compare
/// bit for bit after normalising -0.0; the goldens are integer-valued).
fn mismatches(got: &Value, expected: &Value) -> usize {
    assert_eq!(got.shape, expected.shape, "output shape");
    match (&got.data, &expected.data) {
        (TensorData::F32(a), TensorData::F32(b)) => a.iter().zip(b).filter(|(x, y)| x != y).count(),
        (a, b) => {
            let (a, b) = (a.to_i32().expect("integer output"), b.to_i32().expect("integer golden"));
            assert_eq!(a.len(), b.len());
            a.iter().zip(&b).filter(|(x, y)| x != y).count()
        }
    }
}

fn run(g: &Graph, inputs: &[Value]) -> Vec<Value> {
    Executor::new(g).and_then(|e| e.run(inputs)).unwrap_or_else(|e| panic!("{}: {e}", g.name))
}

/// Family of a node test, for the per-family tally.
fn family(name: &str) -> &'static str {
    let n = name.to_ascii_lowercase();
    for (prefix, fam) in [
        ("test_qlinearconv", "QLinearConv"),
        ("test_convinteger", "ConvInteger"),
        ("test_qlinearmatmul", "QLinearMatMul"),
        ("test_matmulinteger", "MatMulInteger"),
        ("test_quantizelinear", "QuantizeLinear"),
        ("test_dequantizelinear", "DequantizeLinear"),
    ] {
        if n.starts_with(prefix) {
            return fam;
        }
    }
    "Conv (float)"
}

#[test]
fn node_tests_match_onnx_reference_outputs_exactly() {
    let Some(root) = shared_fixtures() else { return };
    let tests = node_tests(&root);
    let mut tally: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    let mut failures = Vec::new();
    for t in &tests {
        // Every test runs with only input 0 as data; the MatMul-type tests also with both
        // matrices as data (IR MatMul of two activations).
        let mut variants = vec![vec![0]];
        match family(&t.name) {
            "QLinearMatMul" => variants.push(vec![0, 3]),
            "MatMulInteger" => variants.push(vec![0, 1]),
            _ => {}
        }
        for data in variants {
            let g = import_node_test(t, &data);
            let inputs: Vec<Value> = data.iter().map(|&i| t.inputs[i].2.clone()).collect();
            let out = run(&g, &inputs);
            let bad = mismatches(&out[0], &t.expected.2);
            let e = tally.entry(family(&t.name)).or_default();
            e.0 += 1;
            if bad == 0 {
                e.1 += 1;
            } else {
                failures.push(format!(
                    "{} (data inputs {data:?}): {bad} mismatches: got {:?}, want {:?}",
                    t.name, out[0].data, t.expected.2.data
                ));
            }
        }
    }
    for (fam, (n, ok)) in &tally {
        eprintln!("onnx-node {fam}: {ok}/{n} exact");
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn node_tests_import_with_expected_output_shapes() {
    let Some(root) = shared_fixtures() else { return };
    let tests = node_tests(&root);
    assert!(!tests.is_empty(), "no onnx-node tests found");
    for t in &tests {
        let g = import_node_test(t, &[0]);
        assert_eq!(g.inputs.len(), 1, "{}", t.name);
        assert_eq!(g.outputs.len(), 1, "{}", t.name);
        let out = g.tensor(g.outputs[0]);
        assert_eq!(out.shape, t.expected.2.shape, "{}: output shape", t.name);
        assert_eq!(out.dtype, t.expected.1, "{}: output dtype", t.name);
    }
}

#[test]
fn digits_qdq_imports_as_integer_graph() {
    let Some(root) = shared_fixtures() else { return };
    let bytes = std::fs::read(root.join("onnx/digits_qdq/model.onnx")).expect("model.onnx");
    let g = import_onnx(&bytes, "digits_qdq").unwrap();
    let kinds: Vec<_> = g.nodes.iter().map(|n| n.op.kind()).collect();
    // Q, transpose to NHWC, two integer convs, transpose back for the NCHW flatten, FC, and the
    // output DequantizeLinear: no float compute op is left.
    assert_eq!(
        kinds,
        ["Quantize", "Transpose", "Conv2d", "Conv2d", "Transpose", "Reshape", "FullyConnected", "Dequantize"]
    );
    assert_eq!(g.tensor(g.inputs[0]).shape, vec![1, 1, 8, 8]);
    assert_eq!(g.tensor(g.outputs[0]).shape, vec![1, 10]);
}

/// Runs every `input_NNN.npy` of a fixture folder and counts output elements that differ from
/// `output_NNN.npy`. Returns (inputs run, inputs exact, element mismatches).
fn run_npy_fixture(dir: &Path, g: &Graph) -> (usize, usize, usize) {
    let exec = Executor::new(g).unwrap_or_else(|e| panic!("{}: {e}", g.name));
    let (mut n, mut exact, mut total_bad) = (0, 0, 0);
    for i in 0.. {
        let input = dir.join(format!("input_{i:03}.npy"));
        if !input.exists() {
            break;
        }
        let x = read_value(&input).unwrap();
        let want = read_value(&dir.join(format!("output_{i:03}.npy"))).unwrap();
        let got = exec.run(&[x]).unwrap_or_else(|e| panic!("{} input {i}: {e}", g.name));
        let bad = mismatches(&got[0], &want);
        if bad > 0 {
            eprintln!(
                "{} input {i:03}: {bad} mismatching elements\n  got  {:?}\n  want {:?}",
                g.name, got[0].data, want.data
            );
        }
        n += 1;
        exact += usize::from(bad == 0);
        total_bad += bad;
    }
    (n, exact, total_bad)
}

#[test]
fn digits_qdq_matches_onnxruntime_exactly() {
    let Some(root) = shared_fixtures() else { return };
    let dir = root.join("onnx/digits_qdq");
    let g = import_onnx(&std::fs::read(dir.join("model.onnx")).unwrap(), "digits_qdq").unwrap();
    let (n, exact, bad) = run_npy_fixture(&dir, &g);
    eprintln!("digits_qdq: {exact}/{n} inputs exact ({bad} mismatching logits)");
    assert_eq!(n, 32);
    assert_eq!(exact, n);
}

// The own fixtures' outputs are checked end to end (against the goldens fixtures/README.md
// names as exact, incl. `output_qdqint8_NNN.npy`) by tests/own_fixtures.rs at the workspace root;
// here they only have to import.

#[test]
fn own_fixtures_import() {
    let Some(root) = own_fixtures() else { return };
    for entry in std::fs::read_dir(&root).unwrap().filter_map(|e| e.ok()) {
        let p = entry.path().join("model.onnx");
        if !p.exists() {
            continue;
        }
        let bytes = std::fs::read(&p).unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let g = import_onnx(&bytes, &name).unwrap_or_else(|e| panic!("{name}: {e}"));
        eprintln!("{name}: {:?}", g.nodes.iter().map(|n| n.op.kind()).collect::<Vec<_>>());
    }
}

// ------------------------------------------------------------------------------------------------
// Robustness: arbitrary bytes must give Ok or Err, never a panic.
// ------------------------------------------------------------------------------------------------

/// Real models to corrupt: the digits QDQ model and our own QDQ / QOperator fixtures.
fn corpus() -> &'static [Vec<u8>] {
    static CORPUS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut models = Vec::new();
        if let Some(root) = shared_fixtures() {
            models.extend(std::fs::read(root.join("onnx/digits_qdq/model.onnx")).ok());
        }
        if let Some(root) = own_fixtures() {
            for name in ["resnet_tiny_qop", "mobilenet_tiny_qdq"] {
                models.extend(std::fs::read(root.join(name).join("model.onnx")).ok());
            }
        }
        models
    })
}

#[test]
fn truncated_models_never_panic() {
    if corpus().is_empty() {
        eprintln!("SKIP: no ONNX models to truncate");
        return;
    }
    for model in corpus() {
        let mut errors = 0;
        for len in (0..model.len()).filter(|l| *l < 2048 || l % 7 == 0) {
            if import_onnx(&model[..len], "t").is_err() {
                errors += 1;
            }
        }
        assert!(errors > 0);
        assert!(import_onnx(model, "t").is_ok());
    }
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let _ = import_onnx(&bytes, "fuzz");
            let _ = read_tensor_proto(&bytes);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn mutated_models_never_panic(
            which in any::<prop::sample::Index>(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)
        ) {
            if corpus().is_empty() {
                return Ok(());
            }
            let mut model = corpus()[which.index(corpus().len())].clone();
            for (at, byte) in edits {
                let i = at.index(model.len());
                model[i] = byte;
            }
            let _ = import_onnx(&model, "fuzz");
        }
    }
}
