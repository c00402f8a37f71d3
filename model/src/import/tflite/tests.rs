//! Unit tests on synthetic models written by [`super::test_model`].

use super::import_tflite;
use super::schema::builtin_op as B;
use super::test_model::{opts, tt, TQuant, TestModel};
use crate::ir::{Activation, DType, Op, Padding2d, Quantization, TensorData};
use crate::ModelError;

const RELU6: i8 = 3;

fn import(m: &TestModel) -> crate::Result<crate::ir::Graph> {
    import_tflite(&m.build(), "test")
}

/// Depthwise 3x3, 2 input channels, multiplier 2, per-channel weights (axis 3) and a 1-D bias
/// with the person_detect quirk `quantized_dimension = 3`.
fn depthwise_model() -> TestModel {
    let mut m = TestModel::new();
    let x = m.act_i8("x", &[1, 5, 5, 2]);
    // w[0, ky, kx, o] = 10 * (3 * ky + kx) + o
    let w_vals: Vec<i8> = (0..9).flat_map(|yx| (0..4).map(move |o| (10 * yx + o) as i8)).collect();
    let w = m.const_i8("w", &[1, 3, 3, 4], &w_vals, Some(TQuant::per_axis(vec![0.1, 0.2, 0.3, 0.4], 3)));
    let b = m.const_i32("b", &[4], &[1, 2, 3, 4], Some(TQuant::per_axis(vec![0.005, 0.01, 0.015, 0.02], 3)));
    let y = m.act_i8("y", &[1, 3, 3, 4]);
    m.op(B::DEPTHWISE_CONV_2D, &[x, w, b], &[y], Some(opts::depthwise(opts::SAME, [2, 2], 2, RELU6)));
    m.inputs = vec![x];
    m.outputs = vec![y];
    m
}

#[test]
fn depthwise_weights_become_ohwi_with_axis_0() {
    let g = import(&depthwise_model()).unwrap();
    assert_eq!(g.nodes.len(), 1);
    let n = &g.nodes[0];
    assert_eq!(n.name, "y");
    assert_eq!(n.inputs, vec![0, 1, 2]);
    let Op::Conv2d(a) = &n.op else { panic!("not a conv: {:?}", n.op) };
    assert_eq!(a.groups, 2);
    assert_eq!(a.stride, [2, 2]);
    assert_eq!(a.dilation, [1, 1]);
    assert_eq!(a.activation, Activation::Relu6);
    // 5 -> 3 with k=3, s=2: total padding 2 -> 1 / 1.
    assert_eq!(a.padding, Padding2d { top: 1, left: 1, bottom: 1, right: 1 });

    let w = &g.tensors[1];
    assert_eq!(w.shape, vec![4, 3, 3, 1]);
    let expected: Vec<i8> = (0..4).flat_map(|o| (0..9).map(move |yx| (10 * yx + o) as i8)).collect();
    assert_eq!(w.data, Some(TensorData::I8(expected)));
    assert_eq!(w.quant, Some(Quantization::per_axis(vec![0.1, 0.2, 0.3, 0.4], vec![0; 4], 0)));
    // The quirky bias: 4 scales on a 1-D tensor of 4 -> axis 0.
    assert_eq!(g.tensors[2].quant.as_ref().and_then(|q| q.axis), Some(0));
    assert_eq!(g.source, crate::ir::SourceFormat::Tflite);
    assert_eq!(g.numerics, crate::ir::Numerics::Tflite);
}

#[test]
fn depthwise_shape_mismatch_is_invalid_node() {
    let mut m = depthwise_model();
    m.tensors[0].shape = vec![1, 5, 5, 3]; // 4 output channels are not a multiple of 3
    match import(&m) {
        Err(ModelError::InvalidNode { node, op, reason }) => {
            assert_eq!(node, "y");
            assert_eq!(op, "DEPTHWISE_CONV_2D");
            assert!(reason.contains("'w'"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn conv_with_uint8_weight_zero_point_and_valid_dilation() {
    let mut m = TestModel::new();
    let x = m.act("x", &[1, 8, 8, 3], tt::UINT8, Some(TQuant::per_tensor(0.02, 128)));
    let w = m.constant("w", &[4, 3, 3, 3], tt::UINT8, vec![7; 108], Some(TQuant::per_tensor(0.01, 119)));
    let y = m.act("y", &[1, 4, 4, 4], tt::UINT8, Some(TQuant::per_tensor(0.1, 5)));
    // Dilation 2: effective kernel 5, VALID: 8 - 5 + 1 = 4.
    m.op(B::CONV_2D, &[x, w, -1], &[y], Some(opts::conv(opts::VALID, [1, 1], [2, 2], 0)));
    m.inputs = vec![x];
    m.outputs = vec![y];
    let g = import(&m).unwrap();
    let n = &g.nodes[0];
    assert_eq!(n.inputs, vec![0, 1], "the absent bias (-1) is left out");
    let Op::Conv2d(a) = &n.op else { panic!() };
    assert_eq!((a.groups, a.dilation, a.padding), (1, [2, 2], Padding2d::default()));
    let wt = &g.tensors[1];
    assert_eq!(wt.dtype, DType::U8);
    assert_eq!(wt.zero_point(), 119);
    assert_eq!(wt.quant, Some(Quantization::per_tensor(0.01, 119)));
}

#[test]
fn grouped_conv_and_channel_mismatch() {
    let mut m = TestModel::new();
    let x = m.act_i8("x", &[1, 4, 4, 8]);
    let w = m.const_i8("w", &[6, 1, 1, 4], &[1; 24], Some(TQuant::per_tensor(0.1, 0)));
    let y = m.act_i8("conv_out", &[1, 4, 4, 6]);
    m.op(B::CONV_2D, &[x, w], &[y], Some(opts::conv(opts::SAME, [1, 1], [1, 1], 0)));
    m.inputs = vec![x];
    m.outputs = vec![y];
    let g = import(&m).unwrap();
    let Op::Conv2d(a) = &g.nodes[0].op else { panic!() };
    assert_eq!(a.groups, 2);

    m.tensors[1].shape = vec![6, 1, 1, 3];
    m.tensors[1].data = vec![1; 18];
    match import(&m) {
        Err(ModelError::InvalidNode { node, reason, .. }) => {
            assert_eq!(node, "conv_out");
            assert!(reason.contains("'w'") && reason.contains("'x'"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn conv_output_shape_is_checked() {
    let mut m = TestModel::new();
    let x = m.act_i8("x", &[1, 8, 8, 1]);
    let w = m.const_i8("w", &[2, 3, 3, 1], &[1; 18], None);
    let y = m.act_i8("y", &[1, 8, 8, 2]);
    m.op(B::CONV_2D, &[x, w], &[y], Some(opts::conv(opts::SAME, [2, 2], [1, 1], 0)));
    m.inputs = vec![x];
    m.outputs = vec![y];
    assert!(matches!(import(&m), Err(ModelError::InvalidNode { .. })));
}

#[test]
fn fully_connected_flattens_4d_input() {
    let mut m = TestModel::new();
    let x = m.act_i8("pool", &[1, 2, 2, 4]);
    let w = m.const_i8("fc_w", &[3, 16], &[1; 48], Some(TQuant::per_axis(vec![0.1, 0.2, 0.3], 0)));
    let b = m.const_i32("fc_b", &[3], &[0, 1, 2], Some(TQuant::per_axis(vec![0.1, 0.2, 0.3], 0)));
    let y = m.act_i8("logits", &[1, 3]);
    m.op(B::FULLY_CONNECTED, &[x, w, b], &[y], Some(opts::fully_connected(1, false)));
    m.inputs = vec![x];
    m.outputs = vec![y];
    let g = import(&m).unwrap();
    assert_eq!(g.nodes.len(), 2);
    assert_eq!(g.nodes[0].op, Op::Reshape);
    assert_eq!(g.nodes[0].inputs, vec![0]);
    let flat = g.nodes[0].outputs[0];
    assert_eq!(flat, 4, "synthesised tensors come after the flatbuffer's");
    assert_eq!(g.tensors[flat].shape, vec![1, 16]);
    assert_eq!(g.tensors[flat].quant, g.tensors[0].quant);
    assert_eq!(g.nodes[1].op, Op::FullyConnected { activation: Activation::Relu });
    assert_eq!(g.nodes[1].inputs, vec![flat, 1, 2]);
    assert_eq!(g.nodes[1].name, "logits");

    // [1, 1, 1, K]: the last axis already is K, no Reshape needed.
    m.tensors[0].shape = vec![1, 1, 1, 16];
    let g = import(&m).unwrap();
    assert_eq!(g.nodes.len(), 1);
    assert_eq!(g.nodes[0].inputs, vec![0, 1, 2]);
}

#[test]
fn fully_connected_k_mismatch_and_keep_num_dims() {
    let mut m = TestModel::new();
    let x = m.act_i8("x", &[2, 5, 8]);
    let w = m.const_i8("w", &[3, 8], &[1; 24], None);
    let y = m.act_i8("y", &[2, 5, 3]);
    m.op(B::FULLY_CONNECTED, &[x, w], &[y], Some(opts::fully_connected(0, true)));
    m.inputs = vec![x];
    m.outputs = vec![y];
    let g = import(&m).unwrap();
    assert_eq!(g.nodes.len(), 1);

    m.tensors[1].shape = vec![2, 12];
    assert!(matches!(import(&m), Err(ModelError::InvalidNode { .. })));
    m.tensors[1].shape = vec![4, 7]; // 80 input values are not rows of 7
    m.tensors[1].data = vec![1; 28];
    match import(&m) {
        Err(ModelError::InvalidNode { node, reason, .. }) => {
            assert_eq!(node, "y");
            assert!(reason.contains("'x'") && reason.contains("'w'"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn pools_mean_and_softmax() {
    let mut m = TestModel::new();
    let x = m.act_i8("x", &[1, 7, 7, 4]);
    let p = m.act_i8("avg", &[1, 4, 4, 4]);
    let q = m.act_i8("max", &[1, 3, 3, 4]);
    let axes = m.const_i32("axes", &[2], &[1, -2], None);
    let g = m.act_i8("gap", &[1, 1, 1, 4]);
    let r = m.act_i8("flat", &[1, 4]);
    let s = m.act_i8("prob", &[1, 4]);
    m.op(B::AVERAGE_POOL_2D, &[x], &[p], Some(opts::pool(opts::SAME, [2, 2], [2, 2], 0)));
    m.op(B::MAX_POOL_2D, &[p], &[q], Some(opts::pool(opts::VALID, [1, 1], [2, 2], 1)));
    m.op(B::MEAN, &[q, axes], &[g], Some(opts::reducer(true)));
    m.op(B::SQUEEZE, &[g], &[r], None);
    m.op(B::SOFTMAX, &[r], &[s], Some(opts::softmax(1.0)));
    m.inputs = vec![x];
    m.outputs = vec![s];
    let graph = import(&m).unwrap();
    let kinds: Vec<_> = graph.nodes.iter().map(|n| n.op.kind()).collect();
    assert_eq!(kinds, ["AveragePool2d", "MaxPool2d", "GlobalAveragePool", "Reshape", "Softmax"]);
    let Op::AveragePool2d(a) = &graph.nodes[0].op else { panic!() };
    assert_eq!((a.kernel, a.stride, a.count_include_pad), ([2, 2], [2, 2], false));
    assert_eq!(a.padding, Padding2d { top: 0, left: 0, bottom: 1, right: 1 });
    assert_eq!(graph.nodes[1].op.activation(), Activation::Relu);
    assert_eq!(graph.nodes[2].inputs, vec![q as usize], "the axes input is dropped");
    assert_eq!(graph.nodes[4].op, Op::Softmax { beta: 1.0 });
}

#[test]
fn mean_over_channels_is_unsupported() {
    let mut m = TestModel::new();
    let x = m.act_i8("x", &[1, 4, 4, 8]);
    let axes = m.const_i32("axes", &[1], &[3], None);
    let y = m.act_i8("chan_mean", &[1, 4, 4, 1]);
    m.op(B::MEAN, &[x, axes], &[y], Some(opts::reducer(true)));
    m.inputs = vec![x];
    m.outputs = vec![y];
    match import(&m) {
        Err(ModelError::UnsupportedOp { op, node, .. }) => {
            assert_eq!((op.as_str(), node.as_str()), ("MEAN", "chan_mean"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn elementwise_pad_concat_transpose() {
    let mut m = TestModel::new();
    let a = m.act_i8("a", &[1, 2, 2, 3]);
    let bias = m.const_i8("c", &[3], &[1, 2, 3], Some(TQuant::per_tensor(0.1, 0)));
    let sum = m.act_i8("sum", &[1, 2, 2, 3]);
    let prod = m.act_i8("prod", &[1, 2, 2, 3]);
    let pads = m.const_i32("pads", &[4, 2], &[0, 0, 1, 2, 0, 1, 0, 0], None);
    let padded = m.act_i8("padded", &[1, 5, 3, 3]);
    let value = m.const_i8("value", &[1], &[-7], None);
    let padded2 = m.act_i8("padded2", &[1, 5, 3, 3]);
    let cat = m.act_i8("cat", &[1, 5, 3, 6]);
    let perm = m.const_i32("perm", &[4], &[0, 3, 1, 2], None);
    let tr = m.act_i8("tr", &[1, 6, 5, 3]);
    let relu = m.act_i8("relu", &[1, 6, 5, 3]);
    let q = m.act("deq", &[1, 6, 5, 3], tt::FLOAT32, None);
    let r = m.act_i8("req", &[1, 6, 5, 3]);
    m.op(B::ADD, &[a, bias], &[sum], Some(opts::add(1)));
    m.op(B::MUL, &[sum, a], &[prod], Some(opts::mul(0)));
    m.op(B::PAD, &[prod, pads], &[padded], None);
    m.op(B::PADV2, &[prod, pads, value], &[padded2], None);
    m.op(B::CONCATENATION, &[padded, padded2], &[cat], Some(opts::concat(-1, 0)));
    m.op(B::TRANSPOSE, &[cat, perm], &[tr], None);
    m.op(B::RELU6, &[tr], &[relu], None);
    m.op(B::DEQUANTIZE, &[relu], &[q], None);
    m.op(B::QUANTIZE, &[q], &[r], None);
    m.inputs = vec![a];
    m.outputs = vec![r];
    let g = import(&m).unwrap();
    let ops: Vec<Op> = g.nodes.iter().map(|n| n.op.clone()).collect();
    assert_eq!(
        ops,
        vec![
            Op::Add { activation: Activation::Relu },
            Op::Mul { activation: Activation::None },
            Op::Pad { pads: vec![(0, 0), (1, 2), (0, 1), (0, 0)], value: None },
            Op::Pad { pads: vec![(0, 0), (1, 2), (0, 1), (0, 0)], value: Some(-7) },
            Op::Concat { axis: 3, activation: Activation::None },
            Op::Transpose { perm: vec![0, 3, 1, 2] },
            Op::Clamp { activation: Activation::Relu6 },
            Op::Dequantize,
            Op::Quantize,
        ]
    );
    assert_eq!(g.nodes[2].inputs, vec![prod as usize]);
    assert_eq!(g.nodes[4].inputs, vec![padded as usize, padded2 as usize]);
}

#[test]
fn broadcast_and_concat_shape_errors() {
    let mut m = TestModel::new();
    let a = m.act_i8("a", &[1, 2, 2, 3]);
    let b = m.act_i8("b", &[1, 2, 2, 4]);
    let y = m.act_i8("y", &[1, 2, 2, 3]);
    m.op(B::ADD, &[a, b], &[y], None);
    m.inputs = vec![a, b];
    m.outputs = vec![y];
    assert!(matches!(import(&m), Err(ModelError::InvalidNode { .. })));

    m.ops[0].code = B::CONCATENATION;
    m.ops[0].options = Some(opts::concat(3, 0));
    m.tensors[2].shape = vec![1, 2, 2, 8];
    assert!(matches!(import(&m), Err(ModelError::InvalidNode { .. })));
    m.tensors[2].shape = vec![1, 2, 2, 7];
    assert_eq!(import(&m).unwrap().nodes[0].op, Op::Concat { axis: 3, activation: Activation::None });
}

#[test]
fn unsupported_op_names_op_index_and_output() {
    let mut m = TestModel::new();
    let x = m.act_i8("x", &[1, 4]);
    let y = m.act_i8("relu_out", &[1, 4]);
    let z = m.act_i8("lstm_out", &[1, 4]);
    m.op(B::RELU, &[x], &[y], None);
    m.op(16, &[y], &[z], None); // LSTM
    m.inputs = vec![x];
    m.outputs = vec![z];
    match import(&m) {
        Err(ModelError::UnsupportedOp { op, node, reason }) => {
            assert_eq!(op, "LSTM");
            assert_eq!(node, "lstm_out");
            assert!(reason.contains("#1"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // An unsupported op with two outputs (SPLIT) is still reported as unsupported.
    let z2 = m.act_i8("split_b", &[1, 2]);
    m.ops[1] = super::test_model::TOp { code: 49, inputs: vec![y], outputs: vec![z, z2], options: None };
    match import(&m) {
        Err(ModelError::UnsupportedOp { op, node, .. }) => {
            assert_eq!((op.as_str(), node.as_str()), ("SPLIT", "lstm_out"))
        }
        other => panic!("{other:?}"),
    }
    m.ops[1].outputs = vec![z];
    // Codes above 127 only live in the int32 field (the byte holds 127, the placeholder).
    m.ops[1].code = 150;
    match import(&m) {
        Err(ModelError::UnsupportedOp { op, .. }) => assert_eq!(op, "GELU"),
        other => panic!("{other:?}"),
    }
    m.ops[1].code = B::CUSTOM;
    m.custom_code = Some("TFLite_Detection_PostProcess".into());
    match import(&m) {
        Err(ModelError::UnsupportedOp { op, .. }) => assert_eq!(op, "CUSTOM(TFLite_Detection_PostProcess)"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn duplicate_tensor_names_give_unique_node_names() {
    let mut m = TestModel::new();
    let x = m.act_i8("x", &[1, 4]);
    let a = m.act_i8("same", &[1, 4]);
    let b = m.act_i8("same", &[1, 4]);
    m.op(B::RELU, &[x], &[a], None);
    m.op(B::RELU6, &[a], &[b], None);
    m.inputs = vec![x];
    m.outputs = vec![b];
    let g = import(&m).unwrap();
    let names: Vec<&str> = g.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["same", "same#2"]);
}

#[test]
fn legacy_opcodes_use_the_byte_field() {
    let mut m = depthwise_model();
    m.legacy_opcodes = true;
    let g = import(&m).unwrap();
    assert!(matches!(g.nodes[0].op, Op::Conv2d(_)));
}

#[test]
fn bad_indices_and_buffers() {
    // Input index out of range.
    let mut m = depthwise_model();
    m.ops[0].inputs[1] = 99;
    match import(&m) {
        Err(ModelError::InvalidNode { node, reason, .. }) => {
            assert_eq!(node, "y");
            assert!(reason.contains("99"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // Buffer index out of range.
    let mut m = depthwise_model();
    m.tensors[1].buffer_override = Some(1000);
    assert!(matches!(import(&m), Err(ModelError::InvalidTensor { tensor, .. }) if tensor == "w"));
    // Buffer size does not match the shape.
    let mut m = depthwise_model();
    m.tensors[1].data.pop();
    match import(&m) {
        Err(ModelError::InvalidTensor { tensor, reason }) => {
            assert_eq!(tensor, "w");
            assert!(reason.contains("35 bytes"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // Data outside the flatbuffer (>2 GB layout).
    let mut m = depthwise_model();
    m.tensors[1].external_offset = Some(1 << 31);
    match import(&m) {
        Err(ModelError::InvalidTensor { tensor, reason }) => {
            assert_eq!(tensor, "w");
            assert!(reason.contains("outside the flatbuffer"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // Graph output out of range.
    let mut m = depthwise_model();
    m.outputs = vec![42];
    assert!(matches!(import(&m), Err(ModelError::Malformed { .. })));
    // Reading a tensor nobody produces.
    let mut m = depthwise_model();
    m.inputs.clear();
    assert!(matches!(import(&m), Err(ModelError::InvalidNode { reason, .. }) if reason.contains("'x'")));
}

#[test]
fn shared_buffer_bomb_is_rejected() {
    let mut m = TestModel::new();
    m.const_i8("big", &[65536], &[1; 65536], None);
    for i in 0..200 {
        let t = m.act(&format!("alias{i}"), &[65536], tt::INT8, None);
        m.tensors[t as usize].buffer_override = Some(1);
    }
    match import(&m) {
        Err(ModelError::InvalidTensor { reason, .. }) => assert!(reason.contains("decode to more than"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn quantization_validation() {
    // Per-axis scale count matching no dimension.
    let mut m = depthwise_model();
    m.tensors[1].quant = Some(TQuant::per_axis(vec![0.1, 0.2, 0.3], 3));
    assert!(matches!(import(&m), Err(ModelError::InvalidTensor { tensor, .. }) if tensor == "w"));
    // Zero point outside int8.
    let mut m = depthwise_model();
    m.tensors[0].quant = Some(TQuant::per_tensor(0.1, 200));
    assert!(matches!(import(&m), Err(ModelError::InvalidTensor { tensor, .. }) if tensor == "x"));
    // Negative scale.
    let mut m = depthwise_model();
    m.tensors[0].quant = Some(TQuant::per_tensor(-0.1, 0));
    assert!(matches!(import(&m), Err(ModelError::InvalidTensor { .. })));
    // Per-tensor with a junk quantized_dimension is fine.
    let mut m = depthwise_model();
    m.tensors[2].quant = Some(TQuant { quantized_dimension: 3, ..TQuant::per_tensor(0.01, 0) });
    assert_eq!(import(&m).unwrap().tensors[2].quant, Some(Quantization::per_tensor(0.01, 0)));
}

#[test]
fn dtypes_and_int4_constants() {
    let mut m = TestModel::new();
    let x = m.act_i8("x", &[1, 3]);
    let w = m.constant("w4", &[2, 3], tt::INT4, vec![0x21, 0xf3, 0x87], Some(TQuant::per_tensor(0.5, 0)));
    let y = m.act_i8("y", &[1, 2]);
    m.op(B::FULLY_CONNECTED, &[x, w], &[y], None);
    m.inputs = vec![x];
    m.outputs = vec![y];
    let g = import(&m).unwrap();
    assert_eq!(g.tensors[1].dtype, DType::I4);
    assert_eq!(g.tensors[1].data, Some(TensorData::I8(vec![1, 2, 3, -1, 7, -8])));

    let i64c = m.constant("i64", &[2], tt::INT64, [5i64, -6].iter().flat_map(|v| v.to_le_bytes()).collect(), None);
    let g = import(&m).unwrap();
    assert_eq!(g.tensors[i64c as usize].data, Some(TensorData::I64(vec![5, -6])));

    m.act("flag", &[1], tt::BOOL, None);
    match import(&m) {
        Err(ModelError::UnsupportedDType { dtype, tensor, .. }) => {
            assert_eq!((dtype.as_str(), tensor.as_str()), ("BOOL", "flag"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn header_errors_are_malformed() {
    for bytes in [&b""[..], b"TFL3", b"\x10\0\0\0TFL", b"\x10\0\0\0ONNX\0\0\0\0\0\0\0\0"] {
        assert!(matches!(import_tflite(bytes, "x"), Err(ModelError::Malformed { .. })), "{bytes:?}");
    }
    let mut bytes = depthwise_model().build();
    bytes[4..8].copy_from_slice(b"TFL2");
    match import_tflite(&bytes, "x") {
        Err(ModelError::Malformed { reason, .. }) => assert!(reason.contains("TFL3"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let mut m = depthwise_model();
    m.version = 2;
    assert!(matches!(import(&m), Err(ModelError::Malformed { reason, .. }) if reason.contains("version")));
}

#[test]
fn missing_required_options_and_bad_attributes() {
    let mut m = depthwise_model();
    m.ops[0].options = None;
    assert!(
        matches!(import(&m), Err(ModelError::InvalidNode { reason, .. }) if reason.contains("DepthwiseConv2DOptions"))
    );
    let mut m = depthwise_model();
    m.ops[0].options = Some(opts::conv(opts::SAME, [1, 1], [1, 1], 0)); // wrong union type
    assert!(matches!(import(&m), Err(ModelError::InvalidNode { .. })));
    let mut m = depthwise_model();
    m.ops[0].options = Some(opts::depthwise(opts::SAME, [0, 2], 2, 0));
    assert!(matches!(import(&m), Err(ModelError::InvalidNode { reason, .. }) if reason.contains("stride_h")));
    let mut m = depthwise_model();
    m.ops[0].options = Some(opts::depthwise(opts::SAME, [2, 2], 2, 4)); // fused TANH
    assert!(matches!(import(&m), Err(ModelError::UnsupportedOp { .. })));
}

/// Mutated synthetic models must never panic (the fixture-based fuzzing lives in
/// `tests/tflite_import.rs`).
#[test]
fn mutations_of_a_synthetic_model_never_panic() {
    let bytes = depthwise_model().build();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..3000 {
        let mut b = bytes.clone();
        for _ in 0..1 + next() % 4 {
            let i = (next() as usize) % b.len();
            b[i] = next() as u8;
        }
        let _ = import_tflite(&b, "fuzz");
    }
    for len in 0..bytes.len() {
        let _ = import_tflite(&bytes[..len], "trunc");
    }
}
