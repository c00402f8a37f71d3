//! Pack then read gives back the same image, and the tensors read out of it are the model's:
//! every conv's weights (reassembled from its tiles), biases and requant parameters, and the
//! post-op records derived by the model crate.

mod common;

use common::{full, random_model};
use proptest::prelude::*;
use systole_arch::descriptor::PostParams;
use systole_host::lower::partition::Placement;
use systole_host::{pack, Image, PackOptions};
use systole_model::ir::{Numerics, Op};
use systole_model::kernels::elementwise::TfliteAddParams;
use systole_model::quant::{output_stage_for, Requant};

fn check(seed: u64, convs: usize, numerics: Numerics, rows: u32, cols: u32, pb: u32) -> Result<(), TestCaseError> {
    let graph = random_model(seed, convs, numerics);
    let cfg = full("rt", rows, cols, pb);
    let image =
        pack(&graph, &cfg, PackOptions { dram_base: 0x1000 }).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let bytes = image.to_bytes();
    let back = Image::from_bytes(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&back, &image);
    prop_assert_eq!(back.to_bytes(), bytes, "re-encoding is byte-identical");
    back.check_device(&cfg, 1 << 32).map_err(|e| TestCaseError::fail(e.to_string()))?;

    // Engine convs in program order against the graph's constants.
    let engine: Vec<&str> =
        back.metadata.partition.iter().filter(|r| r.placement == Placement::Engine).map(|r| r.node.as_str()).collect();
    let convs: Vec<_> = graph
        .nodes
        .iter()
        .filter(|n| matches!(n.op, Op::Conv2d(_) | Op::FullyConnected { .. }) && engine.contains(&n.name.as_str()))
        .collect();
    let tensors = back.conv_tensors().map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(tensors.len(), convs.len());
    for (node, t) in convs.iter().zip(&tensors) {
        let (x, w, out) = (graph.tensor(node.inputs[0]), graph.tensor(node.inputs[1]), graph.tensor(node.outputs[0]));
        let want_w = w.data.as_ref().and_then(|d| d.to_i32()).unwrap_or_default();
        prop_assert_eq!(&t.weights, &want_w, "weights of {}", node.name);
        let bias = node.inputs.get(2).and_then(|&b| graph.tensor(b).data.as_ref()).and_then(|d| d.to_i32());
        let stage = output_stage_for(graph.numerics, x, w, out, node.op.activation()).expect("quantised");
        for (o, p) in t.params.iter().enumerate() {
            prop_assert_eq!(p.bias, bias.as_ref().map_or(0, |b| b[o]));
            match &stage.requant {
                Requant::Fixed { multiplier, shift } => {
                    let i = if multiplier.len() == 1 { 0 } else { o };
                    prop_assert_eq!((p.multiplier_or_scale as i32, p.shift), (multiplier[i], shift[i]));
                }
                Requant::Float { scale } => {
                    let i = if scale.len() == 1 { 0 } else { o };
                    prop_assert_eq!(p.multiplier_or_scale, scale[i].to_bits());
                }
            }
        }
    }

    // Post-op records: ADDs as the model crate derives them.
    let adds: Vec<_> =
        graph.nodes.iter().filter(|n| matches!(n.op, Op::Add { .. }) && engine.contains(&n.name.as_str())).collect();
    let records = back.post_params().map_err(|e| TestCaseError::fail(e.to_string()))?;
    let add_records: Vec<&PostParams> = records
        .iter()
        .map(|(_, p)| p)
        .filter(|p| matches!(p, PostParams::AddFixed { .. } | PostParams::AddFloat { .. }))
        .collect();
    prop_assert_eq!(add_records.len(), adds.len());
    for (node, rec) in adds.iter().zip(add_records) {
        let t = |i: usize| graph.tensor(node.inputs[i]).quant.clone().expect("quantised");
        let (a, b, y) = (t(0), t(1), graph.tensor(node.outputs[0]).quant.clone().expect("quantised"));
        match *rec {
            PostParams::AddFixed { input1_multiplier, output_multiplier, output_shift, .. } => {
                let p = TfliteAddParams::new(
                    a.scale[0],
                    a.zero_point[0],
                    b.scale[0],
                    b.zero_point[0],
                    y.scale[0],
                    y.zero_point[0],
                    -128,
                    127,
                );
                prop_assert_eq!(
                    (input1_multiplier, output_multiplier, output_shift),
                    (p.input1_multiplier, p.output_multiplier, p.output_shift)
                );
            }
            PostParams::AddFloat { a_scale, b_scale, y_scale } => {
                prop_assert_eq!((a_scale, b_scale, y_scale), (a.scale[0], b.scale[0], y.scale[0]));
            }
            _ => prop_assert!(false),
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn pack_then_read_gives_back_the_model(
        seed in any::<u64>(),
        convs in 1usize..=4,
        tflite in any::<bool>(),
        rows in prop::sample::select(vec![1u32, 3, 4, 8, 16]),
        cols in prop::sample::select(vec![1u32, 2, 5, 8, 16]),
        pb in 1u32..=64,
    ) {
        let numerics = if tflite { Numerics::Tflite } else { Numerics::Onnxruntime };
        check(seed, convs, numerics, rows, cols, pb)?;
    }
}
