//! Unit tests of the conversion rules on small hand-built models.

use super::proto::*;
use super::{import_onnx, import_onnx_with_constants};
use crate::error::ModelError;
use crate::ir::{Activation, DType, Graph, Op, TensorData, Value};
use prost::Message;

fn init(name: &str, dims: &[i64], data_type: i32, raw: Vec<u8>) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        dims: dims.to_vec(),
        data_type: Some(data_type),
        raw_data: Some(raw),
        ..Default::default()
    }
}

fn f32s(name: &str, dims: &[i64], v: &[f32]) -> TensorProto {
    init(name, dims, data_type::FLOAT, v.iter().flat_map(|x| x.to_le_bytes()).collect())
}

fn i8s(name: &str, dims: &[i64], v: &[i8]) -> TensorProto {
    init(name, dims, data_type::INT8, v.iter().map(|&x| x as u8).collect())
}

fn i32s(name: &str, dims: &[i64], v: &[i32]) -> TensorProto {
    init(name, dims, data_type::INT32, v.iter().flat_map(|x| x.to_le_bytes()).collect())
}

fn attr_ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(attribute_type::INTS),
        ints: v.to_vec(),
        ..Default::default()
    }
}

fn attr_int(name: &str, v: i64) -> AttributeProto {
    AttributeProto { name: Some(name.into()), r#type: Some(attribute_type::INT), i: Some(v), ..Default::default() }
}

fn attr_float(name: &str, v: f32) -> AttributeProto {
    AttributeProto { name: Some(name.into()), r#type: Some(attribute_type::FLOAT), f: Some(v), ..Default::default() }
}

fn attr_str(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(attribute_type::STRING),
        s: Some(v.as_bytes().to_vec()),
        ..Default::default()
    }
}

fn node(op: &str, name: &str, inputs: &[&str], outputs: &[&str], attrs: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        op_type: Some(op.into()),
        name: Some(name.into()),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        attribute: attrs,
        ..Default::default()
    }
}

fn value_info(name: &str, elem: i32, dims: &[i64]) -> ValueInfoProto {
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            tensor_type: Some(TypeProtoTensor {
                elem_type: Some(elem),
                shape: Some(TensorShapeProto {
                    dim: dims.iter().map(|&d| Dimension { dim_value: Some(d), dim_param: None }).collect(),
                }),
            }),
        }),
    }
}

fn model(
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: Vec<ValueInfoProto>,
) -> Vec<u8> {
    ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto { domain: Some(String::new()), version: Some(17) }],
        graph: Some(GraphProto {
            node: nodes,
            name: Some("g".into()),
            initializer: inits,
            input: inputs,
            output: outputs,
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

/// x (float [1,2,4,4]) -> Q -> DQ -> Conv(2->3, 3x3, pad 1) [-> act] -> Q(y_zp) -> DQ -> y.
fn qdq_conv(act: Option<NodeProto>, y_zp: i8) -> Vec<u8> {
    let mut nodes = vec![
        node("QuantizeLinear", "xq", &["x", "s", "zp"], &["xq"], vec![]),
        node("DequantizeLinear", "xdq", &["xq", "s", "zp"], &["xf"], vec![]),
        node("DequantizeLinear", "wdq", &["w", "ws", "wzp"], &["wf"], vec![attr_int("axis", 0)]),
        node("DequantizeLinear", "bdq", &["b", "bs", "bzp"], &["bf"], vec![attr_int("axis", 0)]),
        node("Conv", "conv", &["xf", "wf", "bf"], &["c"], vec![attr_ints("pads", &[1, 1, 1, 1])]),
    ];
    let q_in = if let Some(a) = act {
        nodes.push(a);
        "r"
    } else {
        "c"
    };
    nodes.push(node("QuantizeLinear", "yq", &[q_in, "ys", "yzp"], &["yq"], vec![]));
    nodes.push(node("DequantizeLinear", "ydq", &["yq", "ys", "yzp"], &["y"], vec![]));
    let inits = vec![
        f32s("s", &[], &[0.5]),
        i8s("zp", &[], &[-3]),
        i8s("w", &[3, 2, 3, 3], &(0..54).map(|i| (i % 7 - 3) as i8).collect::<Vec<_>>()),
        f32s("ws", &[3], &[0.1, 0.2, 0.3]),
        i8s("wzp", &[3], &[0, 0, 0]),
        i32s("b", &[3], &[10, -20, 30]),
        f32s("bs", &[3], &[0.05, 0.1, 0.15]),
        i32s("bzp", &[3], &[0, 0, 0]),
        f32s("ys", &[], &[0.25]),
        i8s("yzp", &[], &[y_zp]),
    ];
    model(
        nodes,
        inits,
        vec![value_info("x", data_type::FLOAT, &[1, 2, 4, 4])],
        vec![value_info("y", data_type::FLOAT, &[1, 3, 4, 4])],
    )
}

fn kinds(g: &Graph) -> Vec<&'static str> {
    g.nodes.iter().map(|n| n.op.kind()).collect()
}

#[test]
fn qdq_conv_fuses_into_one_integer_conv() {
    let g = import_onnx(&qdq_conv(None, 5), "m").unwrap();
    assert_eq!(kinds(&g), ["Quantize", "Transpose", "Conv2d", "Transpose", "Dequantize"]);
    let conv = &g.nodes[2];
    let w = g.tensor(conv.inputs[1]);
    assert_eq!(w.shape, vec![3, 3, 3, 2], "OHWI");
    // w[o=0, ky=0, kx=1, c=1] = onnx w[0, 1, 0, 1] = flat 10 -> 10 % 7 - 3
    let TensorData::I8(data) = w.data.as_ref().unwrap() else { panic!() };
    assert_eq!(data[3], (10 % 7 - 3) as i8);
    assert_eq!(w.quant.as_ref().unwrap().axis, Some(0));
    let b = g.tensor(conv.inputs[2]);
    assert_eq!(b.data, Some(TensorData::I32(vec![10, -20, 30])), "bias is the int32 initializer as given");
    let y = g.tensor(conv.outputs[0]);
    assert_eq!((y.dtype, y.quant.as_ref().unwrap().zero_point[0]), (DType::I8, 5));
    assert_eq!(g.tensor(g.outputs[0]).shape, vec![1, 3, 4, 4]);
}

#[test]
fn relu_before_q_is_fused_only_when_onnxruntime_drops_it() {
    let relu = || Some(node("Relu", "relu", &["c"], &["r"], vec![]));
    let g = import_onnx(&qdq_conv(relu(), -128), "m").unwrap();
    let conv = g.nodes.iter().find(|n| matches!(n.op, Op::Conv2d(_))).unwrap();
    assert_eq!(conv.op.activation(), Activation::Relu);
    let err = import_onnx(&qdq_conv(relu(), 5), "m").unwrap_err();
    match &err {
        ModelError::UnsupportedOp { op, node, reason } => {
            assert_eq!((op.as_str(), node.as_str()), ("Conv", "conv"));
            assert!(reason.contains("float Conv not surrounded by QuantizeLinear/DequantizeLinear"), "{reason}");
        }
        other => panic!("{other}"),
    }
    // A Clip covering the whole quantized range is dropped as well.
    let clip = Some(node("Clip", "clip", &["c"], &["r"], vec![attr_float("min", -1e9), attr_float("max", 1e9)]));
    let g = import_onnx(&qdq_conv(clip, 5), "m").unwrap();
    assert!(g.nodes.iter().any(|n| matches!(n.op, Op::Conv2d(_))));
}

#[test]
fn dq_q_pairs_collapse_or_requantize() {
    let build = |zp2: i8| {
        model(
            vec![
                node("DequantizeLinear", "dq", &["x", "s", "zp"], &["f"], vec![]),
                node("QuantizeLinear", "q", &["f", "s", "zp2"], &["y"], vec![]),
            ],
            vec![f32s("s", &[], &[0.5]), i8s("zp", &[], &[1]), i8s("zp2", &[], &[zp2])],
            vec![value_info("x", data_type::INT8, &[4])],
            vec![value_info("y", data_type::INT8, &[4])],
        )
    };
    let g = import_onnx(&build(1), "m").unwrap();
    assert!(g.nodes.is_empty() && g.outputs == g.inputs);
    let g = import_onnx(&build(2), "m").unwrap();
    assert_eq!(kinds(&g), ["Quantize"]);
}

#[test]
fn auto_pad_same_lower_puts_extra_padding_first() {
    let m = model(
        vec![node(
            "Conv",
            "conv",
            &["x", "w"],
            &["y"],
            vec![attr_str("auto_pad", "SAME_LOWER"), attr_ints("strides", &[2, 2])],
        )],
        vec![f32s("w", &[1, 1, 4, 4], &[1.0; 16])],
        vec![value_info("x", data_type::FLOAT, &[1, 1, 5, 5])],
        vec![value_info("y", data_type::FLOAT, &[1, 1, 3, 3])],
    );
    let g = import_onnx(&m, "m").unwrap();
    let Op::Conv2d(a) = &g.nodes[1].op else { panic!("{:?}", g.nodes[1].op) };
    // total = (3 - 1) * 2 + 4 - 5 = 3: SAME_LOWER puts 2 before, 1 after.
    assert_eq!((a.padding.top, a.padding.bottom, a.padding.left, a.padding.right), (2, 1, 2, 1));
}

#[test]
fn gemm_alpha_and_unknown_ops_are_named_errors() {
    let m = model(
        vec![node("Gemm", "fc", &["a", "b"], &["y"], vec![attr_float("alpha", 2.0)])],
        vec![f32s("b", &[2, 2], &[1.0; 4])],
        vec![value_info("a", data_type::FLOAT, &[1, 2])],
        vec![value_info("y", data_type::FLOAT, &[1, 2])],
    );
    let e = import_onnx(&m, "m").unwrap_err().to_string();
    assert!(e.contains("'fc'") && e.contains("alpha"), "{e}");
    let m = model(
        vec![node("Sin", "sine", &["a"], &["y"], vec![])],
        vec![],
        vec![value_info("a", data_type::FLOAT, &[1, 2])],
        vec![value_info("y", data_type::FLOAT, &[1, 2])],
    );
    let e = import_onnx(&m, "m").unwrap_err().to_string();
    assert!(e.contains("Sin") && e.contains("'sine'"), "{e}");
}

#[test]
fn external_data_and_symbolic_dims() {
    let mut w = f32s("w", &[1, 1, 1, 1], &[1.0]);
    w.raw_data = None;
    w.data_location = Some(1);
    w.external_data = vec![StringStringEntryProto { key: Some("location".into()), value: Some("w.bin".into()) }];
    let m = model(
        vec![node("Conv", "conv", &["x", "w"], &["y"], vec![])],
        vec![w],
        vec![value_info("x", data_type::FLOAT, &[1, 1, 2, 2])],
        vec![value_info("y", data_type::FLOAT, &[1, 1, 2, 2])],
    );
    let e = import_onnx(&m, "m").unwrap_err().to_string();
    assert!(e.contains("external") && e.contains("w.bin"), "{e}");

    let mut x = value_info("x", data_type::FLOAT, &[0, 1, 2, 2]);
    let dims = &mut x.r#type.as_mut().unwrap().tensor_type.as_mut().unwrap().shape.as_mut().unwrap().dim;
    dims[0] = Dimension { dim_value: None, dim_param: Some("N".into()) };
    let m = model(
        vec![node("Conv", "conv", &["x", "w"], &["y"], vec![])],
        vec![f32s("w", &[1, 1, 1, 1], &[1.0])],
        vec![x.clone()],
        vec![value_info("y", data_type::FLOAT, &[1, 1, 2, 2])],
    );
    let g = import_onnx(&m, "m").unwrap();
    assert_eq!(g.tensor(g.inputs[0]).shape, vec![1, 1, 2, 2], "symbolic batch -> 1");
    let dims = &mut x.r#type.as_mut().unwrap().tensor_type.as_mut().unwrap().shape.as_mut().unwrap().dim;
    dims[2] = Dimension { dim_value: None, dim_param: Some("H".into()) };
    let m = model(
        vec![node("Conv", "conv", &["x", "w"], &["y"], vec![])],
        vec![f32s("w", &[1, 1, 1, 1], &[1.0])],
        vec![x],
        vec![value_info("y", data_type::FLOAT, &[1, 1, 2, 2])],
    );
    assert!(import_onnx(&m, "m").unwrap_err().to_string().contains("symbolic"));
}

#[test]
fn bound_constants_replace_graph_inputs() {
    let m = model(
        vec![node("Conv", "conv", &["x", "w"], &["y"], vec![])],
        vec![],
        vec![value_info("x", data_type::FLOAT, &[1, 1, 2, 2]), value_info("w", data_type::FLOAT, &[1, 1, 1, 1])],
        vec![value_info("y", data_type::FLOAT, &[1, 1, 2, 2])],
    );
    assert!(import_onnx(&m, "m").is_err(), "weights must be constants");
    let w = Value::new(vec![1, 1, 1, 1], TensorData::F32(vec![2.0]));
    let g = import_onnx_with_constants(&m, "m", &[("w".into(), w.clone())]).unwrap();
    assert_eq!(g.inputs.len(), 1);
    let e = import_onnx_with_constants(&m, "m", &[("nope".into(), w)]).unwrap_err();
    assert!(matches!(e, ModelError::BadInput { .. }), "{e}");
}

#[test]
fn transposes_compose_with_the_storage_layout() {
    // QLinear-free float graph: Conv (NHWC inside) -> Transpose to NHWC -> output: the IR data is
    // already NHWC, so no second transpose appears.
    let m = model(
        vec![
            node("Conv", "conv", &["x", "w"], &["c"], vec![]),
            node("Transpose", "t", &["c"], &["y"], vec![attr_ints("perm", &[0, 2, 3, 1])]),
        ],
        vec![f32s("w", &[3, 1, 1, 1], &[1.0, 2.0, 3.0])],
        vec![value_info("x", data_type::FLOAT, &[1, 1, 2, 2])],
        vec![value_info("y", data_type::FLOAT, &[1, 2, 2, 3])],
    );
    let g = import_onnx(&m, "m").unwrap();
    assert_eq!(kinds(&g), ["Transpose", "Conv2d", "Reshape"]);
}

#[test]
fn pad_follows_the_storage_layout_and_float_bias_is_quantized() {
    // Conv output is stored NHWC: the ONNX pads [n, c, h, w] move to [n, h, w, c].
    let m = model(
        vec![node("Conv", "conv", &["x", "w"], &["c"], vec![]), node("Pad", "pad", &["c", "pads"], &["y"], vec![])],
        vec![
            f32s("w", &[2, 1, 1, 1], &[1.0, 2.0]),
            init(
                "pads",
                &[8],
                data_type::INT64,
                [0i64, 0, 1, 2, 0, 0, 3, 4].iter().flat_map(|v| v.to_le_bytes()).collect(),
            ),
        ],
        vec![value_info("x", data_type::FLOAT, &[1, 1, 2, 2])],
        vec![value_info("y", data_type::FLOAT, &[1, 2, 6, 8])],
    );
    let g = import_onnx(&m, "m").unwrap();
    let Op::Pad { pads, value } = &g.nodes[2].op else { panic!("{:?}", kinds(&g)) };
    assert_eq!(pads, &vec![(0, 0), (1, 3), (2, 4), (0, 0)]);
    assert_eq!(*value, Some(0));

    // A float bias next to DQ inputs becomes round_half_even(b / (s_x * s_w)).
    let mut bytes = qdq_conv(None, 5);
    let mut mp = ModelProto::decode(bytes.as_slice()).unwrap();
    let graph = mp.graph.as_mut().unwrap();
    graph.node.retain(|n| n.name.as_deref() != Some("bdq"));
    graph.initializer.push(f32s("bf", &[3], &[0.125, -0.3, 1.0]));
    bytes = mp.encode_to_vec();
    let g = import_onnx(&bytes, "m").unwrap();
    let conv = g.nodes.iter().find(|n| matches!(n.op, Op::Conv2d(_))).unwrap();
    // s_x = 0.5, s_w = [0.1, 0.2, 0.3] (float32): 0.125 / 0.05 = 2.4999999 -> 2, -0.3 / 0.1 = -3,
    // 1.0 / 0.15 = 6.67 -> 7.
    assert_eq!(g.tensor(conv.inputs[2]).data, Some(TensorData::I32(vec![2, -3, 7])));
}

/// Structured corruption: decoded models with attributes, dims, names and op types replaced by
/// hostile values must import to Ok or Err, never panic.
mod structured_fuzz {
    use super::*;
    use proptest::prelude::*;

    const VALUES: [i64; 10] = [-1, 0, 1, 2, 3, 7, 1 << 20, 1 << 40, i64::MAX, i64::MIN];
    const OPS: [&str; 12] = [
        "Conv",
        "QuantizeLinear",
        "DequantizeLinear",
        "Gemm",
        "MatMul",
        "Reshape",
        "Transpose",
        "Flatten",
        "Concat",
        "QLinearConv",
        "MaxPool",
        "Pad",
    ];

    fn base_models() -> Vec<ModelProto> {
        let mut v = vec![ModelProto::decode(qdq_conv(None, 5).as_slice()).unwrap()];
        let digits = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures/onnx/digits_qdq/model.onnx");
        if let Ok(b) = std::fs::read(digits) {
            v.extend(ModelProto::decode(b.as_slice()).ok());
        }
        v
    }

    fn edit(m: &mut ModelProto, kind: u8, a: usize, b: usize, value: i64) {
        let Some(g) = m.graph.as_mut() else { return };
        let names: Vec<String> = g
            .node
            .iter()
            .flat_map(|n| n.output.clone())
            .chain(g.initializer.iter().filter_map(|t| t.name.clone()))
            .collect();
        match kind % 7 {
            0 => {
                let n = a % g.node.len().max(1);
                if let Some(attr) = g.node.get_mut(n).and_then(|n| n.attribute.get_mut(b % 4)) {
                    attr.i = Some(value);
                    if let Some(x) = attr.ints.get_mut(b % 8) {
                        *x = value;
                    }
                }
            }
            1 => {
                let n = a % g.initializer.len().max(1);
                if let Some(t) = g.initializer.get_mut(n) {
                    if let Some(d) = t.dims.get_mut(b % 4) {
                        *d = value;
                    } else {
                        t.dims.push(value);
                    }
                }
            }
            2 => {
                let n = a % g.node.len().max(1);
                let name = names.get(b % names.len().max(1)).cloned().unwrap_or_default();
                if let Some(i) = g.node.get_mut(n).and_then(|n| n.input.get_mut(b % 3)) {
                    *i = if value < 0 { String::new() } else { name };
                }
            }
            3 => {
                let n = a % g.node.len().max(1);
                if let Some(node) = g.node.get_mut(n) {
                    node.op_type = Some(OPS[b % OPS.len()].into());
                }
            }
            4 => {
                if !g.node.is_empty() {
                    let n = a % g.node.len();
                    g.node.remove(n);
                }
            }
            5 => {
                let n = a % g.initializer.len().max(1);
                if let Some(t) = g.initializer.get_mut(n) {
                    t.data_type = Some((value.rem_euclid(24)) as i32);
                }
            }
            _ => {
                if let Some(d) = g
                    .input
                    .get_mut(0)
                    .and_then(|i| i.r#type.as_mut())
                    .and_then(|t| t.tensor_type.as_mut())
                    .and_then(|t| t.shape.as_mut())
                    .and_then(|s| s.dim.get_mut(b % 4))
                {
                    d.dim_value = Some(value);
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1500, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn structurally_corrupted_models_never_panic(
            which in any::<bool>(),
            edits in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<usize>(), 0usize..VALUES.len()), 1..5)
        ) {
            let models = base_models();
            let mut m = models[usize::from(which) % models.len()].clone();
            for (kind, a, b, v) in edits {
                edit(&mut m, kind, a, b, VALUES[v]);
            }
            let _ = import_onnx(&m.encode_to_vec(), "fuzz");
        }
    }
}
