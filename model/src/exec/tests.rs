//! Unit tests of the reference executor.

use super::*;
use crate::ir::{Activation, Conv2dAttrs, DType, Numerics, Op, Padding2d, Quantization, SourceFormat, Tensor};
use crate::kernels::conv::{conv2d_q, Conv2dGeometry, ConvQuant};
use crate::quant::output_stage_for;

fn q(scale: f32, zp: i32) -> Option<Quantization> {
    Some(Quantization::per_tensor(scale, zp))
}

/// input [1,4,4,2] int8 -> Conv 3x3 pad 1 (per-channel, relu) -> Add(self) -> Reshape [1, 48]
/// -> Softmax; also exposes the conv output as a second graph output.
fn small_tflite_graph() -> Graph {
    let mut g = Graph::new("t", SourceFormat::Synthetic, Numerics::Tflite);
    let x = g.add_tensor(Tensor::activation("x", vec![1, 4, 4, 2], DType::I8, q(0.05, -3)));
    let w_data: Vec<i8> = (0..3 * 3 * 3 * 2).map(|i| ((i * 37) % 255) as i8).collect();
    let w = g.add_tensor(Tensor::constant(
        "w",
        vec![3, 3, 3, 2],
        DType::I8,
        Some(Quantization::per_axis(vec![0.01, 0.02, 0.015], vec![0, 0, 0], 0)),
        TensorData::I8(w_data),
    ));
    let b = g.add_tensor(Tensor::constant(
        "b",
        vec![3],
        DType::I32,
        Some(Quantization::per_axis(vec![0.0005, 0.001, 0.00075], vec![0, 0, 0], 0)),
        TensorData::I32(vec![100, -200, 300]),
    ));
    let c = g.add_tensor(Tensor::activation("c", vec![1, 4, 4, 3], DType::I8, q(0.1, -128)));
    let s = g.add_tensor(Tensor::activation("s", vec![1, 4, 4, 3], DType::I8, q(0.2, -128)));
    let r = g.add_tensor(Tensor::activation("r", vec![1, 48], DType::I8, q(0.2, -128)));
    let y = g.add_tensor(Tensor::activation("y", vec![1, 48], DType::I8, q(1.0 / 256.0, -128)));
    let attrs = Conv2dAttrs {
        stride: [1, 1],
        dilation: [1, 1],
        padding: Padding2d { top: 1, left: 1, bottom: 1, right: 1 },
        groups: 1,
        activation: Activation::Relu,
    };
    g.add_node("conv", Op::Conv2d(attrs), vec![x, w, b], vec![c]);
    g.add_node("add", Op::Add { activation: Activation::None }, vec![c, c], vec![s]);
    g.add_node("reshape", Op::Reshape, vec![s], vec![r]);
    g.add_node("softmax", Op::Softmax { beta: 1.0 }, vec![r], vec![y]);
    g.inputs = vec![x];
    g.outputs = vec![y, c];
    g
}

fn input_value() -> Value {
    Value::new(vec![1, 4, 4, 2], TensorData::I8((0..32).map(|i| (i * 11 % 256) as u8 as i8).collect()))
}

#[test]
fn runs_pipeline_and_matches_direct_kernel_calls() {
    let g = small_tflite_graph();
    let ex = Executor::new(&g).unwrap();
    let mut seen = Vec::new();
    let outs = ex.run_observed(&[input_value()], &mut |id, v| seen.push((id, v.clone()))).unwrap();
    assert_eq!(seen.iter().map(|(id, _)| *id).collect::<Vec<_>>(), vec![3, 4, 5, 6]);
    assert_eq!(outs.len(), 2);
    assert_eq!(outs[0].shape, vec![1, 48]);
    assert_eq!(outs[1], seen[0].1, "second output is the conv tensor");

    // The conv output equals a direct kernel call with the stage quant derives.
    let stage =
        output_stage_for(Numerics::Tflite, &g.tensors[0], &g.tensors[1], &g.tensors[3], Activation::Relu).unwrap();
    let geom = Conv2dGeometry::new(
        &[1, 4, 4, 2],
        &[3, 3, 3, 2],
        match &g.nodes[0].op {
            Op::Conv2d(a) => a,
            _ => unreachable!(),
        },
    )
    .unwrap();
    let (TensorData::I8(x), Some(TensorData::I8(w))) = (&input_value().data, &g.tensors[1].data) else {
        unreachable!()
    };
    let mut want = vec![0i8; 48];
    conv2d_q(&geom, &ConvQuant::symmetric(-3), x, w, Some(&[100, -200, 300]), &stage, &mut want).unwrap();
    assert_eq!(seen[0].1.data, TensorData::I8(want.clone()));
    assert!(want.iter().all(|&v| v >= -128), "relu clamps at the zero point");

    // Softmax output sums to about 1 (256 steps of 1/256 above -128).
    let TensorData::I8(y) = &outs[0].data else { unreachable!() };
    let total: i32 = y.iter().map(|&v| v as i32 + 128).sum();
    assert!((total - 256).abs() <= 48, "softmax mass {total}");
    // Deterministic.
    assert_eq!(ex.run(&[input_value()]).unwrap(), outs);
}

#[test]
fn bad_inputs_are_named() {
    let g = small_tflite_graph();
    let ex = Executor::new(&g).unwrap();
    let err = ex.run(&[]).unwrap_err();
    assert!(matches!(&err, ModelError::BadInput { name, .. } if name == "x"), "{err}");
    let wrong_shape = Value::new(vec![1, 4, 2, 4], input_value().data);
    let err = ex.run(&[wrong_shape]).unwrap_err();
    assert!(matches!(&err, ModelError::BadInput { name, reason } if name == "x" && reason.contains("shape")));
    let wrong_type = Value::new(vec![1, 4, 4, 2], TensorData::U8(vec![0; 32]));
    assert!(matches!(ex.run(&[wrong_type]).unwrap_err(), ModelError::BadInput { .. }));
}

#[test]
fn unsupported_dtypes_name_the_node() {
    let mut g = Graph::new("t", SourceFormat::Synthetic, Numerics::Tflite);
    let a = g.add_tensor(Tensor::activation("a", vec![4], DType::I8, q(1.0, 0)));
    let b = g.add_tensor(Tensor::activation("b", vec![4], DType::U8, q(1.0, 0)));
    let y = g.add_tensor(Tensor::activation("y", vec![4], DType::I8, q(1.0, 0)));
    g.add_node("mixed_add", Op::Add { activation: Activation::None }, vec![a, b], vec![y]);
    g.inputs = vec![a, b];
    g.outputs = vec![y];
    let err = Executor::new(&g).err().expect("mixed types are rejected");
    assert!(matches!(&err, ModelError::UnsupportedOp { node, .. } if node == "mixed_add"), "{err}");
}

#[test]
fn onnx_qdq_style_graph_in_float_requant() {
    // float x -> Quantize (u8) -> ConvInteger-free QLinearConv 1x1 -> Dequantize.
    let mut g = Graph::new("o", SourceFormat::Synthetic, Numerics::Onnxruntime);
    let x = g.add_tensor(Tensor::activation("x", vec![1, 1, 2, 1], DType::F32, None));
    let xq = g.add_tensor(Tensor::activation("xq", vec![1, 1, 2, 1], DType::U8, q(0.5, 10)));
    let w = g.add_tensor(Tensor::constant("w", vec![1, 1, 1, 1], DType::I8, q(1.0, 0), TensorData::I8(vec![3])));
    let c = g.add_tensor(Tensor::activation("c", vec![1, 1, 2, 1], DType::U8, q(2.0, 0)));
    let y = g.add_tensor(Tensor::activation("y", vec![1, 1, 2, 1], DType::F32, None));
    let attrs = Conv2dAttrs {
        stride: [1, 1],
        dilation: [1, 1],
        padding: Padding2d::default(),
        groups: 1,
        activation: Activation::None,
    };
    g.add_node("q", Op::Quantize, vec![x], vec![xq]);
    g.add_node("conv", Op::Conv2d(attrs), vec![xq, w], vec![c]);
    g.add_node("dq", Op::Dequantize, vec![c], vec![y]);
    g.inputs = vec![x];
    g.outputs = vec![y];
    let ex = Executor::new(&g).unwrap();
    let out = ex.run(&[Value::new(vec![1, 1, 2, 1], TensorData::F32(vec![1.25, 0.75]))]).unwrap();
    // 1.25/0.5 = 2.5 -> 2 (half even) + 10 -> acc 2*3 = 6 -> 6*0.25 = 1.5 -> 2 -> 4.0
    // 0.75/0.5 = 1.5 -> 2 + 10 -> acc 6 -> same.
    assert_eq!(out[0].data, TensorData::F32(vec![4.0, 4.0]));
}
