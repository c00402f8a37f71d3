//! Unit tests on float models built here with the prost messages (no fixtures needed).

use super::*;
use crate::exec::Executor;
use crate::import::onnx::import_onnx;
use crate::import::onnx::proto::{
    attribute_type, data_type, AttributeProto, Dimension, GraphProto, ModelProto, NodeProto, OperatorSetIdProto,
    TensorProto, TensorShapeProto, TypeProto, TypeProtoTensor, ValueInfoProto,
};
use prost::Message;

/// Deterministic pseudo-random values in [-1, 1) (xorshift), independent of the code under test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    fn vec(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.next() * scale).collect()
    }
}

fn vi(name: &str, dims: &[i64]) -> ValueInfoProto {
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            tensor_type: Some(TypeProtoTensor {
                elem_type: Some(data_type::FLOAT),
                shape: Some(TensorShapeProto {
                    dim: dims.iter().map(|&d| Dimension { dim_value: Some(d), dim_param: None }).collect(),
                }),
            }),
        }),
    }
}

fn init(name: &str, dims: &[i64], v: &[f32]) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        dims: dims.to_vec(),
        data_type: Some(data_type::FLOAT),
        raw_data: Some(v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        ..Default::default()
    }
}

fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(attribute_type::INTS),
        ints: v.to_vec(),
        ..Default::default()
    }
}

fn node(op: &str, inputs: &[&str], output: &str, attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        name: Some(format!("{op}_{output}")),
        op_type: Some(op.into()),
        attribute,
        domain: None,
    }
}

/// x[1,2,6,6] -> Conv 3x3 pad 1 (4) -> Relu -> (MaxPool 2x2 | Conv 1x1 stride 2) -> Add -> Relu
/// -> Flatten -> Gemm (10).
fn residual_model(extra: Option<NodeProto>) -> Vec<u8> {
    let mut r = Rng(0x5eed);
    let mut nodes = vec![
        node("Conv", &["x", "w1", "b1"], "c1", vec![ints("pads", &[1, 1, 1, 1])]),
        node("Relu", &["c1"], "r1", vec![]),
        node("MaxPool", &["r1"], "p", vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])]),
        node("Conv", &["r1", "w2", "b2"], "c2", vec![ints("strides", &[2, 2])]),
        node("Add", &["p", "c2"], "s", vec![]),
        node("Relu", &["s"], "r2", vec![]),
        node("Flatten", &["r2"], "f", vec![]),
        node(
            "Gemm",
            &["f", "wf", "bf"],
            "y",
            vec![AttributeProto {
                name: Some("transB".into()),
                r#type: Some(attribute_type::INT),
                i: Some(1),
                ..Default::default()
            }],
        ),
    ];
    nodes.extend(extra);
    let graph = GraphProto {
        node: nodes,
        name: Some("residual".into()),
        initializer: vec![
            init("w1", &[4, 2, 3, 3], &r.vec(72, 0.5)),
            init("b1", &[4], &r.vec(4, 0.1)),
            init("w2", &[4, 4, 1, 1], &r.vec(16, 0.5)),
            init("b2", &[4], &r.vec(4, 0.1)),
            init("wf", &[10, 36], &r.vec(360, 0.3)),
            init("bf", &[10], &r.vec(10, 0.1)),
        ],
        input: vec![vi("x", &[1, 2, 6, 6])],
        output: vec![vi("y", &[1, 10])],
        value_info: vec![],
        sparse_initializer: vec![],
    };
    ModelProto {
        ir_version: Some(8),
        producer_name: Some("test".into()),
        producer_version: None,
        graph: Some(graph),
        opset_import: vec![OperatorSetIdProto { domain: Some(String::new()), version: Some(13) }],
    }
    .encode_to_vec()
}

fn calib(n: usize) -> Value {
    let mut r = Rng(42);
    Value::new(vec![n, 1, 2, 6, 6], TensorData::F32(r.vec(n * 72, 1.0)))
}

#[test]
fn quantized_model_imports_and_tracks_the_float_model() {
    let model = residual_model(None);
    for per_channel in [false, true] {
        let q = quantize_onnx(&model, "m", &calib(32), &Options { per_channel, ..Options::default() }).unwrap();
        assert_eq!(q.folded_activations, 2, "both Relus fold into their producers");
        let g = import_onnx(&q.model, "m").expect("imports");
        let exec = Executor::new(&g).unwrap();
        let mut r = Rng(7);
        let (mut worst, mut sum, mut count) = (0f32, 0f32, 0usize);
        for _ in 0..8 {
            let x = r.vec(72, 1.0);
            let f = run_float(&model, &FTensor::new(vec![1, 2, 6, 6], x.clone())).unwrap();
            let out = exec.run(&[Value::new(vec![1, 2, 6, 6], TensorData::F32(x))]).unwrap();
            let TensorData::F32(qv) = &out[0].data else { panic!("float output expected") };
            let span = f[0].data.iter().fold(0f32, |m, v| m.max(v.abs()));
            for (a, b) in qv.iter().zip(&f[0].data) {
                worst = worst.max((a - b).abs() / span);
                sum += (a - b).abs() / span;
                count += 1;
            }
        }
        // Errors relative to the largest output: int8 noise of a 3-layer net, not a wrong scale
        // (a wrong scale or layout is off by tens of percent).
        let mean = sum / count as f32;
        eprintln!("per_channel {per_channel}: mean {mean}, worst {worst}");
        assert!(mean < 0.02 && worst < 0.12, "int8 output strays from float: mean {mean}, worst {worst}");
    }
}

#[test]
fn placement_follows_onnxruntime_rules() {
    let model = residual_model(None);
    let q = quantize_onnx(&model, "m", &calib(8), &Options { per_channel: true, ..Options::default() }).unwrap();
    let names: Vec<&str> = q.tensors.iter().map(|t| t.name.as_str()).collect();
    // Relu outputs carry the ranges; the Conv outputs they replaced do not exist any more.
    assert!(names.contains(&"r1") && names.contains(&"r2") && !names.contains(&"c1") && !names.contains(&"s"));
    // MaxPool and Flatten outputs share their input's parameters: no own entry.
    assert!(!names.contains(&"p") && !names.contains(&"f"));
    // A folded Relu output never goes below zero: zero point at the type minimum.
    let r1 = q.tensors.iter().find(|t| t.name == "r1").unwrap();
    assert_eq!(r1.zero_point, vec![-128]);
    let w1 = q.tensors.iter().find(|t| t.name == "w1").unwrap();
    assert_eq!((w1.kind, w1.scale.len()), (TensorKind::Weight, 4));
    let m = ModelProto::decode(q.model.as_slice()).unwrap();
    let g = m.graph.unwrap();
    let ops: Vec<&str> = g.node.iter().map(|n| n.op()).collect();
    assert!(!ops.contains(&"Relu"));
    let flatten = g.node.iter().find(|n| n.op() == "Flatten").unwrap();
    assert_eq!(flatten.input, vec!["r2_DequantizeLinear_Output".to_string()]);
    let q_f = g.node.iter().find(|n| n.output == vec!["f_QuantizeLinear_Output".to_string()]).unwrap();
    assert_eq!(q_f.input[1], "r2_scale", "Flatten output quantized with its input's scale");
    // The graph output keeps its name on the last DequantizeLinear.
    let last = g.node.iter().find(|n| n.output == vec!["y".to_string()]).unwrap();
    assert_eq!(last.op(), "DequantizeLinear");
}

#[test]
fn unsupported_operators_are_named() {
    let extra = node("Sigmoid", &["y"], "z", vec![]);
    let model = residual_model(Some(extra));
    let e = quantize_onnx(&model, "m", &calib(2), &Options::default()).unwrap_err();
    assert!(
        matches!(&e, QuantizeError::UnsupportedOp { op, node, .. } if op == "Sigmoid" && node == "Sigmoid_z"),
        "{e}"
    );
}

#[test]
fn calibration_layouts_and_methods() {
    let model = residual_model(None);
    // [N, C, H, W] for a batch-1 input works as N samples of batch 1.
    let mut r = Rng(3);
    let flat = Value::new(vec![4, 2, 6, 6], TensorData::F32(r.vec(4 * 72, 1.0)));
    assert_eq!(quantize_onnx(&model, "m", &flat, &Options::default()).unwrap().samples, 4);
    for method in [Method::Percentile, Method::Entropy] {
        let q = quantize_onnx(&model, "m", &calib(8), &Options { method, ..Options::default() }).unwrap();
        import_onnx(&q.model, "m").expect("imports");
    }
    let e = quantize_onnx(&model, "m", &Value::new(vec![0, 1, 2, 6, 6], TensorData::F32(vec![])), &Options::default());
    assert!(matches!(e, Err(QuantizeError::CalibShape { .. })));
}
