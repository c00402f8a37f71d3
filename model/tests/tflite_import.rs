//! TFLite importer against real models.
//!
//! * The third-party models in `../shared/fixtures/tflite` (`SYSTOLE_FIXTURES` overrides the
//!   location; skipped with a loud message when absent) and systole's own `fixtures/tflite`.
//! * Every tensor is cross-checked with `tensors/tNNN.npy` (NNN = flatbuffer index): shapes of
//!   all tensors, values of all constants (depthwise weights after undoing the OHWI transpose).
//! * Robustness: empty, random, wrong-magic, truncated and mutated files return `Err` or a
//!   consistent graph, never a panic.

use ndarray::ArrayD;
use ndarray_npy::read_npy;
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use systole_model::import::tflite::import_tflite;
use systole_model::ir::{Activation, DType, Graph, Op, Padding2d, TensorData};
use systole_model::ModelError;

fn shared_fixtures() -> Option<PathBuf> {
    let dir = std::env::var_os("SYSTOLE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures")));
    if dir.join("tflite").is_dir() {
        Some(dir.join("tflite"))
    } else {
        eprintln!("SKIP: fixtures not found at {} (set SYSTOLE_FIXTURES)", dir.display());
        None
    }
}

/// systole's own generated fixtures, committed in the repository.
fn repo_fixture(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/tflite")).join(name)
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn import_dir(dir: &Path) -> Graph {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    import_tflite(&read(&dir.join("model.tflite")), &name).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

/// Shape and (for integer/float data) the values of an npy file, read as the IR dtype says.
fn npy(path: &Path, dtype: DType) -> (Vec<usize>, Vec<f64>) {
    fn load<T: ndarray_npy::ReadableElement + Copy + Into<f64>>(p: &Path) -> (Vec<usize>, Vec<f64>) {
        let a: ArrayD<T> = read_npy(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        (a.shape().to_vec(), a.iter().map(|&v| v.into()).collect())
    }
    match dtype {
        DType::I8 | DType::I4 => load::<i8>(path),
        DType::U8 | DType::U4 => load::<u8>(path),
        DType::I16 => load::<i16>(path),
        DType::I32 => load::<i32>(path),
        DType::F32 => load::<f32>(path),
        DType::I64 => {
            let a: ArrayD<i64> = read_npy(path).unwrap();
            (a.shape().to_vec(), a.iter().map(|&v| v as f64).collect())
        }
    }
}

fn values(data: &TensorData) -> Vec<f64> {
    match data {
        TensorData::I8(v) => v.iter().map(|&x| x.into()).collect(),
        TensorData::U8(v) => v.iter().map(|&x| x.into()).collect(),
        TensorData::I16(v) => v.iter().map(|&x| x.into()).collect(),
        TensorData::I32(v) => v.iter().map(|&x| x.into()).collect(),
        TensorData::I64(v) => v.iter().map(|&x| x as f64).collect(),
        TensorData::F32(v) => v.iter().map(|&x| x.into()).collect(),
    }
}

/// Compares every flatbuffer tensor with its npy dump; returns how many depthwise weights were
/// found transposed to OHWI.
fn check_tensors(g: &Graph, dir: &Path) -> usize {
    let tensors_dir = dir.join("tensors");
    let mut transposed = 0;
    let mut checked = 0;
    for (id, t) in g.tensors.iter().enumerate() {
        let path = tensors_dir.join(format!("t{id:03}.npy"));
        if !path.exists() {
            continue;
        }
        checked += 1;
        let (shape, file_values) = npy(&path, t.dtype);
        if shape == t.shape {
            if let Some(data) = &t.data {
                assert_eq!(values(data), file_values, "{}: constant t{id:03} '{}' differs", dir.display(), t.name);
            }
            continue;
        }
        // Depthwise weights: file [1, KH, KW, C], IR [C, KH, KW, 1].
        let (kh, kw, c) = match (shape.as_slice(), t.shape.as_slice()) {
            ([1, kh, kw, c], [c2, kh2, kw2, 1]) if (c, kh, kw) == (c2, kh2, kw2) => (*kh, *kw, *c),
            _ => panic!("{}: t{id:03} '{}' has shape {:?}, file {:?}", dir.display(), t.name, t.shape, shape),
        };
        let data = t.data.as_ref().expect("transposed tensors are constants");
        let ohwi: Vec<f64> =
            (0..c).flat_map(|o| (0..kh * kw).map(move |yx| yx * c + o)).map(|i| file_values[i]).collect();
        assert_eq!(values(data), ohwi, "{}: depthwise weights t{id:03}", dir.display());
        let q = t.quant.as_ref().expect("quantized weights");
        if q.scale.len() > 1 {
            assert_eq!(q.axis, Some(0), "per-channel depthwise quantisation moves to axis 0");
        }
        transposed += 1;
    }
    assert!(checked > 0, "{}: no tensors/tNNN.npy files", dir.display());

    // Graph inputs and outputs match the fixture's input/output arrays.
    let (in_shape, _) = npy(&dir.join("input_000.npy"), g.tensors[g.inputs[0]].dtype);
    assert_eq!(in_shape, g.tensors[g.inputs[0]].shape);
    let (out_shape, _) = npy(&dir.join("output_000.npy"), g.tensors[g.outputs[0]].dtype);
    assert_eq!(out_shape, g.tensors[g.outputs[0]].shape);
    transposed
}

fn kinds(g: &Graph) -> Vec<&'static str> {
    g.nodes.iter().map(|n| n.op.kind()).collect()
}

/// Structural invariants every imported graph satisfies (also for fuzzed inputs that import).
fn check_invariants(g: &Graph) {
    let n = g.tensors.len();
    for node in &g.nodes {
        assert!(node.inputs.iter().chain(&node.outputs).all(|&i| i < n), "node {} index out of range", node.name);
    }
    assert!(g.inputs.iter().chain(&g.outputs).all(|&i| i < n));
    for t in &g.tensors {
        if let Some(d) = &t.data {
            assert_eq!(d.len(), t.shape.iter().product::<usize>(), "tensor {}", t.name);
            assert!(d.storage_matches(t.dtype), "tensor {}", t.name);
        }
        if let Some(q) = &t.quant {
            assert_eq!(q.scale.len(), q.zero_point.len());
            if let Some(axis) = q.axis {
                assert_eq!(t.shape.get(axis), Some(&q.scale.len()), "tensor {}", t.name);
            }
        }
    }
}

#[test]
fn person_detect() {
    let Some(root) = shared_fixtures() else { return };
    let dir = root.join("person_detect");
    let g = import_dir(&dir);
    check_invariants(&g);
    assert_eq!(g.tensors.len(), 89);
    assert_eq!(g.nodes.len(), 31);
    let mut expected = vec!["Conv2d"]; // first DEPTHWISE_CONV_2D has 1 input channel: groups = 1
    expected.push("Conv2d(grouped)");
    for _ in 0..12 {
        expected.extend(["Conv2d", "Conv2d(grouped)"]);
    }
    expected.extend(["Conv2d", "AveragePool2d", "Conv2d", "Reshape", "Softmax"]);
    assert_eq!(kinds(&g), expected);
    assert_eq!(check_tensors(&g, &dir), 14, "14 DEPTHWISE_CONV_2D weights");

    // Input 96x96x1, first layer: 3x3 stride 2 SAME depth multiplier 8 -> 48x48x8, pads 0 / 1.
    assert_eq!((g.inputs.as_slice(), g.outputs.as_slice()), ([88].as_slice(), [87].as_slice()));
    let first = &g.nodes[0];
    assert_eq!(first.name, "MobilenetV1/MobilenetV1/Conv2d_0/Relu6");
    let Op::Conv2d(a) = &first.op else { unreachable!() };
    assert_eq!((a.groups, a.stride, a.activation), (1, [2, 2], Activation::Relu6));
    assert_eq!(a.padding, Padding2d { top: 0, left: 0, bottom: 1, right: 1 });
    assert_eq!(g.tensors[0].shape, vec![8, 3, 3, 1]);
    // The quirk: depthwise biases carry quantized_dimension = 3 on a 1-D tensor.
    let quirky: Vec<_> = g
        .tensors
        .iter()
        .filter(|t| t.name.ends_with("depthwise_bias"))
        .map(|t| t.quant.as_ref().and_then(|q| q.axis))
        .collect();
    assert_eq!(quirky, vec![Some(0); 13]);
    assert_eq!(g.tensors[33].quant.as_ref().and_then(|q| q.axis), Some(0), "Conv2d_0 bias (qd 3 as well)");
    // RESHAPE keeps only its data input; SOFTMAX beta from the options.
    assert_eq!(g.nodes[29].inputs, vec![28]);
    assert_eq!(g.nodes[30].op, Op::Softmax { beta: 1.0 });
}

#[test]
fn vww_96_int8() {
    let Some(root) = shared_fixtures() else { return };
    let dir = root.join("vww_96_int8");
    let g = import_dir(&dir);
    check_invariants(&g);
    assert_eq!(g.nodes.len(), 31, "QUANTIZE/DEQUANTIZE are listed as op codes but never used");
    let mut expected = vec!["Conv2d"];
    for _ in 0..13 {
        expected.extend(["Conv2d(grouped)", "Conv2d"]);
    }
    expected.extend(["AveragePool2d", "Reshape", "FullyConnected", "Softmax"]);
    assert_eq!(kinds(&g), expected);
    assert_eq!(check_tensors(&g, &dir), 13);
    assert_eq!(g.tensors[g.inputs[0]].shape, vec![1, 96, 96, 3]);
    assert_eq!(g.nodes[29].op, Op::FullyConnected { activation: Activation::None });
    assert_eq!(g.nodes[29].inputs, vec![86, 43, 1]);
}

#[test]
fn ad01_int8() {
    let Some(root) = shared_fixtures() else { return };
    let dir = root.join("ad01_int8");
    let g = import_dir(&dir);
    check_invariants(&g);
    assert_eq!(kinds(&g), vec!["FullyConnected"; 10]);
    assert_eq!(check_tensors(&g, &dir), 0);
    let widths: Vec<usize> = g.nodes.iter().map(|n| g.tensors[n.outputs[0]].shape[1]).collect();
    assert_eq!(widths, [128, 128, 128, 128, 8, 128, 128, 128, 128, 640]);
    // Per-tensor weights, ReLU fused in all but the last layer.
    for n in &g.nodes {
        assert!(!g.tensors[n.inputs[1]].quant.as_ref().unwrap().is_per_axis());
    }
    let acts: Vec<Activation> = g.nodes.iter().map(|n| n.op.activation()).collect();
    assert_eq!(acts[..9], [Activation::Relu; 9]);
    assert_eq!(acts[9], Activation::None);
}

#[test]
fn own_mobilenet_tiny() {
    let dir = repo_fixture("mobilenet_tiny");
    let g = import_dir(&dir);
    check_invariants(&g);
    assert_eq!(
        kinds(&g),
        [
            "Conv2d",
            "Conv2d(grouped)",
            "Conv2d",
            "AveragePool2d",
            "Conv2d",
            "Conv2d",
            "Concat",
            "MaxPool2d",
            "Pad",
            "Conv2d(grouped)",
            "Conv2d",
            "AveragePool2d",
            "Reshape",
            "FullyConnected",
            "Softmax"
        ]
    );
    assert_eq!(check_tensors(&g, &dir), 2);
    let Op::Conv2d(dil) = &g.nodes[5].op else { unreachable!() };
    assert_eq!((dil.dilation, dil.padding), ([2, 2], Padding2d { top: 2, left: 2, bottom: 2, right: 2 }));
    let Op::Conv2d(dw) = &g.nodes[1].op else { unreachable!() };
    assert_eq!(dw.groups, 8, "8 input channels, depth multiplier 2");
    assert!(matches!(&g.nodes[8].op, Op::Pad { pads, value: None } if pads == &[(0, 0), (1, 1), (1, 1), (0, 0)]));
    assert!(matches!(g.nodes[6].op, Op::Concat { axis: 3, .. }));
}

#[test]
fn own_resnet_tiny() {
    let dir = repo_fixture("resnet_tiny");
    let g = import_dir(&dir);
    check_invariants(&g);
    assert_eq!(
        kinds(&g),
        [
            "Conv2d",
            "Conv2d",
            "Conv2d",
            "Add",
            "Conv2d",
            "Conv2d",
            "Conv2d",
            "Add",
            "GlobalAveragePool",
            "FullyConnected",
            "Softmax"
        ]
    );
    assert_eq!(check_tensors(&g, &dir), 0);
    assert_eq!(g.nodes[3].op, Op::Add { activation: Activation::Relu });
    assert_eq!(g.nodes[8].inputs, vec![23], "the MEAN axes input is dropped");
    assert_eq!(g.tensors[24].shape, vec![1, 16]);
}

#[test]
fn own_uint8_legacy_keeps_weight_zero_points() {
    let dir = repo_fixture("uint8_legacy");
    let g = import_dir(&dir);
    check_invariants(&g);
    assert_eq!(kinds(&g), ["Conv2d", "Conv2d(grouped)", "Add", "AveragePool2d"]);
    assert_eq!(check_tensors(&g, &dir), 1);
    assert_eq!(g.tensors[0].dtype, DType::U8);
    assert_eq!((g.tensors[4].dtype, g.tensors[4].zero_point()), (DType::U8, 132));
    assert_eq!((g.tensors[2].dtype, g.tensors[2].zero_point()), (DType::U8, 136));
}

// ---------------------------------------------------------------------------------------------
// Robustness

/// Deterministic xorshift64 so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Imports must return; a successful import must be consistent.
fn must_not_panic(bytes: &[u8]) {
    if let Ok(g) = import_tflite(bytes, "fuzz") {
        check_invariants(&g);
    }
}

/// Real models to fuzz: the small own fixtures always, person_detect when available.
fn fuzz_models() -> Vec<(String, Vec<u8>)> {
    let mut models: Vec<(String, Vec<u8>)> = ["mobilenet_tiny", "resnet_tiny", "uint8_legacy"]
        .iter()
        .map(|n| (n.to_string(), read(&repo_fixture(n).join("model.tflite"))))
        .collect();
    if let Some(root) = shared_fixtures() {
        models.push(("person_detect".into(), read(&root.join("person_detect/model.tflite"))));
    }
    models
}

#[test]
fn garbage_is_malformed() {
    assert!(matches!(import_tflite(&[], "empty"), Err(ModelError::Malformed { .. })));
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for len in [1usize, 7, 8, 16, 100, 4096] {
        for with_magic in [false, true] {
            let mut b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if with_magic && len >= 8 {
                b[4..8].copy_from_slice(b"TFL3");
            }
            assert!(import_tflite(&b, "random").is_err());
        }
    }
    let mut b = read(&repo_fixture("resnet_tiny").join("model.tflite"));
    b[4..8].copy_from_slice(b"ONNX");
    match import_tflite(&b, "magic") {
        Err(ModelError::Malformed { reason, .. }) => assert!(reason.contains("TFL3"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn truncations_never_panic() {
    for (name, bytes) in fuzz_models() {
        let step = (bytes.len() / 200).max(1);
        let mut lengths: Vec<usize> = (0..bytes.len()).step_by(step).collect();
        lengths.extend(bytes.len().saturating_sub(64)..bytes.len());
        let mut imported = 0;
        for len in lengths {
            // Trailing bytes the importer never reads (e.g. metadata) may be cut harmlessly, so
            // Ok is allowed; a panic or an inconsistent graph is not.
            if import_tflite(&bytes[..len], &name).is_ok() {
                imported += 1;
            }
            must_not_panic(&bytes[..len]);
        }
        eprintln!("{name}: {imported} truncations still imported");
    }
}

#[test]
fn mutations_never_panic() {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    // Values that hit edge cases when they land in offsets, counts, indices or enums.
    const SPECIAL: [u8; 8] = [0x00, 0x01, 0x02, 0x03, 0x7f, 0x80, 0xfe, 0xff];
    for (name, bytes) in fuzz_models() {
        let mut imported = 0;
        for i in 0..2500 {
            let mut b = bytes.clone();
            for _ in 0..1 + rng.below(4) {
                let pos = rng.below(b.len());
                b[pos] = if i % 2 == 0 { rng.next() as u8 } else { SPECIAL[rng.below(SPECIAL.len())] };
            }
            if i % 5 == 0 {
                // An aligned 32-bit overwrite: offsets, vector lengths, tensor indices.
                let pos = rng.below(b.len() / 4) * 4;
                let v = [0u32, 1, 0x7fff_ffff, 0xffff_ffff, rng.next() as u32][rng.below(5)];
                b[pos..pos + 4].copy_from_slice(&v.to_le_bytes());
            }
            if import_tflite(&b, &name).is_ok() {
                imported += 1;
            }
            must_not_panic(&b);
        }
        eprintln!("{name}: {imported} of 2500 mutants still imported");
    }
}

proptest! {
    // No failure persistence: integration tests have no lib.rs for proptest to sit beside.
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_with_identifier_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 8..2048)) {
        bytes[4..8].copy_from_slice(b"TFL3");
        must_not_panic(&bytes);
    }

    #[test]
    fn spliced_model_bytes_never_panic(start in 0usize..2376, junk in proptest::collection::vec(any::<u8>(), 1..64)) {
        let mut bytes = read(&repo_fixture("uint8_legacy").join("model.tflite"));
        let start = start.min(bytes.len() - 1);
        let end = (start + junk.len()).min(bytes.len());
        bytes[start..end].copy_from_slice(&junk[..end - start]);
        must_not_panic(&bytes);
    }
}
