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
