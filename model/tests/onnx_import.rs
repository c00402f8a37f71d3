//! ONNX importer conformance: the ONNX backend node tests, onnxruntime-quantized models with
//! onnxruntime goldens (`../shared/fixtures`, `fixtures/onnx`), and robustness against corrupt
//! files.

use std::path::{Path, PathBuf};
use systole_model::import::onnx::{import_onnx, import_onnx_with_constants, read_tensor_proto};
use systole_model::ir::{DType, Graph, Value};

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

/// Imports a node test with every input except the first bound as a constant (the IR needs
/// weights, scales and zero points as constants), optionally keeping more inputs as data.
fn import_node_test(t: &NodeTest, data_inputs: usize) -> Graph {
    let constants: Vec<(String, Value)> =
        t.inputs.iter().skip(data_inputs).map(|(n, _, v)| (n.clone(), v.clone())).collect();
    import_onnx_with_constants(&t.model, &t.name, &constants).unwrap_or_else(|e| panic!("{}: {e}", t.name))
}

#[test]
fn node_tests_import_with_expected_output_shapes() {
    let Some(root) = shared_fixtures() else { return };
    let tests = node_tests(&root);
    assert!(!tests.is_empty(), "no onnx-node tests found");
    for t in &tests {
        let g = import_node_test(t, 1);
        assert_eq!(g.inputs.len(), 1, "{}", t.name);
        assert_eq!(g.outputs.len(), 1, "{}", t.name);
        let out = g.tensor(g.outputs[0]);
        assert_eq!(out.shape, t.expected.2.shape, "{}: output shape", t.name);
        assert_eq!(out.dtype, t.expected.1, "{}: output dtype", t.name);
        eprintln!("{}: {} nodes: {:?}", t.name, g.nodes.len(), g.nodes.iter().map(|n| n.op.kind()).collect::<Vec<_>>());
    }
}

#[test]
fn digits_qdq_imports_as_integer_graph() {
    let Some(root) = shared_fixtures() else { return };
    let bytes = std::fs::read(root.join("onnx/digits_qdq/model.onnx")).expect("model.onnx");
    let g = import_onnx(&bytes, "digits_qdq").unwrap();
    let kinds: Vec<_> = g.nodes.iter().map(|n| n.op.kind()).collect();
    eprintln!("{kinds:?}");
    for n in &g.nodes {
        eprintln!(
            "  {} {:?} {:?} -> {:?}",
            n.name,
            n.op,
            n.inputs.iter().map(|&i| (&g.tensor(i).name, &g.tensor(i).shape)).collect::<Vec<_>>(),
            g.tensor(n.outputs[0]).shape
        );
    }
    assert_eq!(g.tensor(g.inputs[0]).shape, vec![1, 1, 8, 8]);
    assert_eq!(g.tensor(g.outputs[0]).shape, vec![1, 10]);
}

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
