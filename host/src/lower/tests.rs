//! Partition decisions and their reasons on hand-made graphs.

use super::partition::Placement;
use super::*;
use systole_arch::{PostOps, RequantModes};
use systole_model::ir::{
    Activation, Conv2dAttrs, DType, Numerics, Op, Padding2d, Pool2dAttrs, Quantization, SourceFormat, TensorData,
};

fn q(scale: f32, zp: i32) -> Option<Quantization> {
    Some(Quantization::per_tensor(scale, zp))
}

fn full() -> ArchConfig {
    ArchConfig {
        requant: RequantModes { fixed: true, float: true },
        post_ops: PostOps { add: true, avg_pool: true, max_pool: true, global_avg_pool: true },
        ..ArchConfig::new("t", 8, 8)
    }
}

/// x [1,4,4,2] -> conv 3x3 -> y; returns (graph, x, y).
fn conv_graph(numerics: Numerics) -> (Graph, TensorId, TensorId) {
    let mut g = Graph::new("t", SourceFormat::Synthetic, numerics);
    let x = g.add_tensor(Tensor::activation("x", vec![1, 4, 4, 2], DType::I8, q(0.1, 3)));
    let w = g.add_tensor(Tensor::constant("w", vec![4, 3, 3, 2], DType::I8, q(0.01, 0), TensorData::I8(vec![1; 72])));
    let y = g.add_tensor(Tensor::activation("y", vec![1, 4, 4, 4], DType::I8, q(0.2, -1)));
    let attrs = Conv2dAttrs {
        stride: [1, 1],
        dilation: [1, 1],
        padding: Padding2d { top: 1, left: 1, bottom: 1, right: 1 },
        groups: 1,
        activation: Activation::None,
    };
    g.add_node("conv", Op::Conv2d(attrs), vec![x, w], vec![y]);
    g.inputs.push(x);
    (g, x, y)
}

fn row<'a>(l: &'a Lowered, node: &str) -> &'a PartitionRow {
    l.partition.iter().find(|r| r.node == node).unwrap_or_else(|| panic!("no row {node}"))
}

#[test]
fn engine_features_decide_placement() {
    let (mut g, _, y) = conv_graph(Numerics::Onnxruntime);
    let s = g.add_tensor(Tensor::activation("s", vec![1, 4, 4, 4], DType::I8, q(0.3, 0)));
    g.add_node("add", Op::Add { activation: Activation::None }, vec![y, y], vec![s]);
    g.outputs.push(s);
    let l = lower(&g, &full()).unwrap();
    assert_eq!(row(&l, "conv").placement, Placement::Engine);
    assert_eq!(row(&l, "add").placement, Placement::Engine);
    // The default engine has fixed-point lanes only and no post-op units.
    let bare = ArchConfig::new("t", 8, 8);
    let l = lower(&g, &bare).unwrap();
    let conv = row(&l, "conv");
    assert_eq!(conv.placement, Placement::Host);
    assert!(conv.detail.contains("float requant lanes"), "{}", conv.detail);
    assert!(row(&l, "add").detail.contains("no add unit"), "{}", row(&l, "add").detail);
    assert!(render_partition(&l.partition).contains("2 nodes: 0 engine, 0 folded, 2 host"));
}

#[test]
fn host_ops_and_their_reasons() {
    let (mut g, _, y) = conv_graph(Numerics::Tflite);
    let sm = g.add_tensor(Tensor::activation("sm", vec![1, 4, 4, 4], DType::I8, q(1.0 / 256.0, -128)));
    g.add_node("softmax", Op::Softmax { beta: 1.0 }, vec![y], vec![sm]);
    let t = g.add_tensor(Tensor::activation("t", vec![1, 4, 4, 4], DType::I8, q(1.0 / 256.0, -128)));
    g.add_node("transpose", Op::Transpose { perm: vec![0, 2, 1, 3] }, vec![sm], vec![t]);
    let f = g.add_tensor(Tensor::activation("f", vec![1, 4, 4, 4], DType::F32, None));
    g.add_node("deq", Op::Dequantize, vec![t], vec![f]);
    g.outputs.push(f);
    let l = lower(&g, &full()).unwrap();
    assert_eq!(row(&l, "softmax").placement, Placement::Host);
    assert!(row(&l, "softmax").detail.contains("softmax"));
    assert!(row(&l, "transpose").detail.contains("layout"), "{}", row(&l, "transpose").detail);
    assert!(row(&l, "deq").detail.contains("graph edge"));
    let hosts = l.steps.iter().filter(|s| matches!(s, LoweredStep::Host(_))).count();
    assert_eq!(hosts, 3);
}

#[test]
fn pads_fold_only_with_the_zero_point_into_convs() {
    for (value, folds) in [(None, true), (Some(3), true), (Some(0), false)] {
        let mut g = Graph::new("t", SourceFormat::Synthetic, Numerics::Tflite);
        let x = g.add_tensor(Tensor::activation("x", vec![1, 2, 2, 2], DType::I8, q(0.1, 3)));
        let p = g.add_tensor(Tensor::activation("p", vec![1, 4, 4, 2], DType::I8, q(0.1, 3)));
        g.add_node("pad", Op::Pad { pads: vec![(0, 0), (1, 1), (1, 1), (0, 0)], value }, vec![x], vec![p]);
        let w =
            g.add_tensor(Tensor::constant("w", vec![4, 3, 3, 2], DType::I8, q(0.01, 0), TensorData::I8(vec![1; 72])));
        let y = g.add_tensor(Tensor::activation("y", vec![1, 2, 2, 4], DType::I8, q(0.2, -1)));
        let attrs = Conv2dAttrs {
            stride: [1, 1],
            dilation: [1, 1],
            padding: Padding2d::default(),
            groups: 1,
            activation: Activation::None,
        };
        g.add_node("conv", Op::Conv2d(attrs), vec![p, w], vec![y]);
        g.inputs.push(x);
        g.outputs.push(y);
        let l = lower(&g, &full()).unwrap();
        let pad = row(&l, "pad");
        assert_eq!(pad.placement == Placement::Folded, folds, "{value:?}: {}", pad.detail);
        let LoweredStep::Engine(conv) = l.steps.last().unwrap() else { panic!("conv not on the engine") };
        let want = if folds { 1 } else { 0 };
        assert_eq!((conv.desc.pad_top, conv.desc.in_h), (want, if folds { 2 } else { 4 }));
    }
}

#[test]
fn concat_needs_engine_producers_in_the_output_quantisation() {
    for same in [true, false] {
        let mut g = Graph::new("t", SourceFormat::Synthetic, Numerics::Tflite);
        let x = g.add_tensor(Tensor::activation("x", vec![1, 4, 4, 2], DType::I8, q(0.1, 3)));
        let pool = Pool2dAttrs {
            kernel: [1, 1],
            stride: [1, 1],
            padding: Padding2d::default(),
            activation: Activation::None,
            count_include_pad: false,
        };
        let a = g.add_tensor(Tensor::activation("a", vec![1, 4, 4, 2], DType::I8, q(0.1, 3)));
        g.add_node("pa", Op::MaxPool2d(pool.clone()), vec![x], vec![a]);
        let bq = if same { q(0.1, 3) } else { q(0.2, 3) };
        let b = g.add_tensor(Tensor::activation("b", vec![1, 4, 4, 2], DType::I8, bq));
        g.add_node("pb", Op::MaxPool2d(pool), vec![x], vec![b]);
        let c = g.add_tensor(Tensor::activation("c", vec![1, 4, 4, 4], DType::I8, q(0.1, 3)));
        g.add_node("cat", Op::Concat { axis: 3, activation: Activation::None }, vec![a, b], vec![c]);
        g.inputs.push(x);
        g.outputs.push(c);
        let l = lower(&g, &full()).unwrap();
        let cat = row(&l, "cat");
        assert_eq!(cat.placement == Placement::Folded, same, "{}", cat.detail);
        if same {
            let slices: Vec<(u16, u16)> = l
                .steps
                .iter()
                .filter_map(|s| match s {
                    LoweredStep::Engine(e) => Some((e.desc.out_ch_offset, e.desc.out_ch_stride)),
                    _ => None,
                })
                .collect();
            assert_eq!(slices, [(0, 4), (2, 4)]);
        } else {
            assert!(cat.detail.contains("requantising"), "{}", cat.detail);
        }
    }
}

#[test]
fn int16_and_float_layers_stay_on_the_host() {
    let mut g = Graph::new("t", SourceFormat::Synthetic, Numerics::Tflite);
    let x = g.add_tensor(Tensor::activation("x", vec![1, 2, 2, 2], DType::I16, q(0.1, 0)));
    let y = g.add_tensor(Tensor::activation("y", vec![1, 1, 1, 2], DType::I16, q(0.1, 0)));
    g.add_node("gap", Op::GlobalAveragePool, vec![x], vec![y]);
    g.inputs.push(x);
    g.outputs.push(y);
    let l = lower(&g, &full()).unwrap();
    let r = row(&l, "gap");
    assert_eq!(r.placement, Placement::Host);
    assert!(r.detail.contains("int16"), "{}", r.detail);
}

#[test]
fn graphs_the_reference_rejects_are_errors() {
    let (mut g, x, _) = conv_graph(Numerics::Tflite);
    g.tensors[x].shape = vec![1, 4, 4, 3];
    let e = lower(&g, &full()).unwrap_err();
    assert!(matches!(e, LowerError::Graph(_)), "{e}");
    let bad = ArchConfig { rows: 0, ..full() };
    assert!(matches!(lower(&conv_graph(Numerics::Tflite).0, &bad), Err(LowerError::Config(_))));
}

#[test]
fn inputs_larger_than_the_activation_buffer_run_on_the_host() {
    let (mut g, _, y) = conv_graph(Numerics::Tflite);
    g.outputs.push(y);
    // The input is 1 x 4 x 4 x 2 = 32 bytes: a 32-byte buffer holds it, a 24-byte one does not.
    let fits = ArchConfig { act_buffer_bytes: 32, ..full() };
    assert_eq!(row(&lower(&g, &fits).unwrap(), "conv").placement, Placement::Engine);
    let small = ArchConfig { act_buffer_bytes: 24, ..full() };
    let l = lower(&g, &small).unwrap();
    let conv = row(&l, "conv");
    assert_eq!(conv.placement, Placement::Host);
    assert!(conv.detail.contains("32 bytes does not fit the activation buffer (24 bytes)"), "{}", conv.detail);
}
