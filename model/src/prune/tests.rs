//! The independent property: channels whose weights (and bias) are exactly zero output exactly
//! zero, so every consumer sees an exactly zero contribution from them. Zeroing some channels
//! by hand, then pruning (the criterion ranks zero-norm channels lowest, so exactly those go)
//! must leave the model's outputs unchanged:
//! * float (our float executor, `crate::quantize::run_float`): bit for bit, because every dot
//!   product of these models fits in one MLAS K block (K <= 128), so dropping `0 * x` terms from
//!   the fused multiply-add chain changes nothing;
//! * int8 (the integer reference on QDQ / QOperator models): bit for bit, integer sums are exact
//!   and a zero channel's quantized value is its zero point, which consumers subtract.

use super::*;
use crate::exec::Executor;
use crate::import::onnx::import_onnx;
use crate::import::onnx::proto::{ModelProto, TensorProto};
use crate::ir::{TensorData, Value};
use crate::quantize::{run_float, FTensor};
use std::path::PathBuf;

fn fixture(path: &str) -> Vec<u8> {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures")).join(path);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn input(path: &str) -> Value {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures")).join(path);
    crate::npy::read_value(&p).unwrap()
}

/// Sets positions `channels` of axis 0 of each named initializer to zero (stored as raw data).
fn zero_channels(model: &[u8], zero: &[(&str, &[usize])]) -> Vec<u8> {
    let mut m = ModelProto::decode(model).unwrap();
    let g = m.graph.as_mut().unwrap();
    for (name, channels) in zero {
        let t: &mut TensorProto = g.initializer.iter_mut().find(|t| t.name.as_deref() == Some(name)).unwrap();
        let mut c = decode_tensor(t).unwrap();
        let per: usize = c.shape[1..].iter().product();
        let hit = |i: usize| channels.contains(&(i / per.max(1)));
        match &mut c.data {
            TensorData::F32(v) => v.iter_mut().enumerate().filter(|(i, _)| hit(*i)).for_each(|(_, x)| *x = 0.0),
            TensorData::I8(v) => v.iter_mut().enumerate().filter(|(i, _)| hit(*i)).for_each(|(_, x)| *x = 0),
            TensorData::I32(v) => v.iter_mut().enumerate().filter(|(i, _)| hit(*i)).for_each(|(_, x)| *x = 0),
            other => panic!("{name}: {other:?}"),
        }
        let raw: Vec<u8> = match &c.data {
            TensorData::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::I8(v) => v.iter().map(|&x| x as u8).collect(),
            TensorData::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            _ => unreachable!(),
        };
        t.float_data.clear();
        t.int32_data.clear();
        t.raw_data = Some(raw);
    }
    m.encode_to_vec()
}

fn opts(ratio: f64) -> Options {
    Options { ratio, criterion: Criterion::L1 }
}

fn channels(p: &Pruned) -> Vec<(String, usize, usize)> {
    p.layers.iter().map(|l| (l.name.clone(), l.channels_before, l.channels_after)).collect()
}

fn float_outputs(model: &[u8], x: &Value) -> Vec<u32> {
    let TensorData::F32(data) = &x.data else { panic!("float input") };
    let out = run_float(model, &FTensor::new(x.shape.clone(), data.clone())).unwrap();
    out.iter().flat_map(|t| t.data.iter().map(|v| v.to_bits())).collect()
}

fn int_outputs(model: &[u8], x: &Value) -> Vec<u32> {
    let g = import_onnx(model, "m").unwrap();
    let out = Executor::new(&g).unwrap().run(std::slice::from_ref(x)).unwrap();
    out.iter()
        .flat_map(|v| match &v.data {
            TensorData::F32(d) => d.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            other => other.to_i32().unwrap().into_iter().map(|x| x as u32).collect(),
        })
        .collect()
}

#[test]
fn float_mobilenet_with_zeroed_channels_prunes_to_identical_outputs() {
    // conv w_1 -> Relu -> depthwise w_4 -> Relu -> 1x1 w_7 -> {MaxPool, AveragePool} -> Concat
    // -> depthwise w_13 -> 1x1 w_16 -> GAP -> Flatten -> Gemm. A zeroed w_1 channel stays zero
    // through the depthwise conv only if that depthwise channel's bias is zero too; the Concat
    // holds each w_7 channel twice, so the second depthwise sees channels c and c + 16.
    let a: &[usize] = &[0, 3, 4, 6];
    let b: &[usize] = &[1, 2, 5, 8, 9, 11, 12, 15];
    let b2: Vec<usize> = b.iter().flat_map(|&c| [c, c + 16]).collect();
    let c: &[usize] = &[0, 2, 3, 5, 7, 10, 13, 14, 16, 18, 21, 23];
    let model = fixture("onnx/mobilenet_tiny_qdq/model_fp32.onnx");
    let zeroed = zero_channels(
        &model,
        &[
            ("w_1", a),
            ("w_1_b", a),
            ("w_4_b", a),
            ("w_7", b),
            ("w_7_b", b),
            ("w_13_b", &b2),
            ("w_16", c),
            ("w_16_b", c),
        ],
    );
    // Both criteria rank the zeroed channels lowest.
    let l2 = prune_onnx(&zeroed, &Options { ratio: 0.5, criterion: Criterion::L2 }).unwrap();
    let p = prune_onnx(&zeroed, &opts(0.5)).unwrap();
    assert!(l2.model == p.model, "L1 and L2 remove the same (zeroed) channels");
    assert_eq!(
        channels(&p),
        [("conv_2", 8, 4), ("conv_8", 16, 8), ("conv_17", 24, 12), ("gemm_22", 10, 10)].map(|(n, a, b)| (
            n.to_string(),
            a,
            b
        ))
    );
    assert!(p.after.macs < p.before.macs && p.after.weight_bytes < p.before.weight_bytes);
    for i in 0..4 {
        let x = input(&format!("onnx/mobilenet_tiny_qdq/input_{i:03}.npy"));
        assert_eq!(float_outputs(&p.model, &x), float_outputs(&zeroed, &x), "input {i}");
    }
    // Without the zeroing, pruning changes the outputs (the comparison above can fail).
    let plain = prune_onnx(&model, &opts(0.5)).unwrap();
    let x = input("onnx/mobilenet_tiny_qdq/input_000.npy");
    assert_ne!(float_outputs(&plain.model, &x), float_outputs(&model, &x));
}

#[test]
fn int8_resnet_with_zeroed_channels_prunes_to_identical_outputs() {
    // Residual Adds tie (w_1, w_7) and (w_16, w_14): their channels are zeroed together.
    let a: &[usize] = &[0, 2, 5, 7];
    let b: &[usize] = &[1, 3, 4, 6];
    let c: &[usize] = &[0, 1, 4, 6, 9, 10, 13, 15];
    let d: &[usize] = &[2, 3, 5, 7, 8, 11, 12, 14];
    let mut zero: Vec<(String, &[usize])> = Vec::new();
    for (w, ch) in [("w_1", a), ("w_7", a), ("w_4", b), ("w_11", c), ("w_16", d), ("w_14", d)] {
        zero.push((format!("{w}_quantized"), ch));
        zero.push((format!("{w}_b_quantized"), ch));
    }
    let zero: Vec<(&str, &[usize])> = zero.iter().map(|(n, c)| (n.as_str(), *c)).collect();
    for name in ["resnet_tiny_qdq", "resnet_tiny_qop"] {
        let model = fixture(&format!("onnx/{name}/model.onnx"));
        let zeroed = zero_channels(&model, &zero);
        let p = prune_onnx(&zeroed, &opts(0.5)).unwrap();
        let got = channels(&p);
        assert_eq!(got.len(), 7, "{name}: {got:?}");
        assert!(got.iter().take(6).all(|(_, b, a)| a * 2 == *b), "{name}: {got:?}");
        assert_eq!(got[6].2, 10, "{name}: the classifier feeds the graph output");
        let plain = prune_onnx(&model, &opts(0.5)).unwrap();
        for i in 0..4 {
            let x = input(&format!("onnx/{name}/input_{i:03}.npy"));
            let want = int_outputs(&zeroed, &x);
            assert_eq!(int_outputs(&p.model, &x), want, "{name} input {i}");
            if i == 0 {
                // Pruning the unmodified model removes nonzero channels: the check can fail.
                assert_ne!(int_outputs(&plain.model, &x), int_outputs(&model, &x), "{name}");
            }
        }
    }
}

#[test]
fn ratio_zero_is_the_identity_and_bad_ratios_are_refused() {
    let model = fixture("onnx/resnet_tiny_qdq/model.onnx");
    let p = prune_onnx(&model, &opts(0.0)).unwrap();
    assert!(p.model == model, "ratio 0 must copy the file byte for byte");
    assert_eq!(p.before, p.after);
    for r in [1.0, -0.1, f64::NAN, 1.5] {
        let e = prune_onnx(&model, &opts(r)).unwrap_err();
        assert!(matches!(e, PruneError::Ratio(_)), "{r}: {e}");
    }
    let e = prune_onnx(b"\x08\x07\x3a\xff", &opts(0.5)).unwrap_err();
    assert!(e.to_string().contains("onnx") || e.to_string().contains("protobuf"), "{e}");
}

#[test]
fn unprunable_layers_say_why() {
    // An Add of a conv output with the graph input: the conv's channels cannot be removed.
    let model = fixture("onnx/resnet_tiny_qdq/model_fp32.onnx");
    let mut m = ModelProto::decode(model.as_slice()).unwrap();
    let g = m.graph.as_mut().unwrap();
    // Make conv_8 (8 channels) the graph output instead of the classifier.
    g.output[0].name = Some("conv_8".into());
    if let Some(shape) = g.output[0].r#type.as_mut().and_then(|t| t.tensor_type.as_mut()).and_then(|t| t.shape.as_mut())
    {
        shape.dim.clear();
    }
    let p = prune_onnx(&m.encode_to_vec(), &opts(0.5)).unwrap();
    let conv_2 = p.layers.iter().find(|l| l.name == "conv_2").unwrap();
    assert_eq!(conv_2.channels_after, 8, "tied to conv_8 by the residual Add");
    assert!(conv_2.kept_because.as_deref().unwrap().contains("graph output 'conv_8'"), "{conv_2:?}");
    let conv_5 = p.layers.iter().find(|l| l.name == "conv_5").unwrap();
    assert_eq!(conv_5.channels_after, 4);
}

#[test]
fn unprunable_layers_are_reported_in_graph_order_even_without_node_names() {
    // A second consumer of conv_2's weight makes that conv unprunable (its weight cannot be
    // sliced for one consumer only); with every node name cleared the report must still list it
    // at its place in the graph, not after the prunable layers.
    let model = fixture("onnx/resnet_tiny_qdq/model_fp32.onnx");
    let mut m = ModelProto::decode(model.as_slice()).unwrap();
    let g = m.graph.as_mut().unwrap();
    let mut alias = g.node[1].clone();
    alias.op_type = Some("Identity".into());
    alias.input = vec!["w_1".into()];
    alias.output = vec!["w_1_alias".into()];
    g.node.push(alias);
    for n in &mut g.node {
        n.name = None;
    }
    let p = prune_onnx(&m.encode_to_vec(), &opts(0.5)).unwrap();
    let first = p.layers.first().unwrap();
    assert_eq!((first.name.as_str(), first.group), ("Conv_0", None), "{:?}", p.layers);
    assert_eq!((first.channels_before, first.channels_after), (8, 8));
    assert!(first.kept_because.as_deref().unwrap().contains("shared by 2"), "{first:?}");
    let names: Vec<&str> = p.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["Conv_0", "Conv_2", "Conv_4", "Conv_7", "Conv_9", "Conv_10", "Gemm_15"]);
}
