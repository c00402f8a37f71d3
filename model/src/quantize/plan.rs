//! Which tensors get QuantizeLinear / DequantizeLinear, decided node by node as onnxruntime's
//! `QDQQuantizer.quantize_model` decides it (op quantizers of `operators/*.py`):
//!
//! * Conv, Gemm, MatMul: input and output activations; weights per channel (Conv axis 0, Gemm
//!   axis 0 with transB else 1, MatMul axis 1) or per tensor; bias to int32.
//! * Relu / Clip: removed when their input is a quantized tensor with this single consumer that
//!   is neither a graph input nor output (the producer then writes the activation's output, whose
//!   range already excludes negatives); kept and quantized on both sides otherwise.
//! * MaxPool, AveragePool, Flatten, Reshape: the output shares the input's scale / zero point.
//! * Add, Concat, GlobalAveragePool: every input and the output with their own parameters.

use super::error::{QResult, QuantizeError};
use super::graph::{FloatGraph, FloatOp};
use std::collections::{HashMap, HashSet};

/// How an activation tensor gets its scale and zero point.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamSource {
    /// From its own calibrated range.
    Own,
    /// The parameters of another tensor (the input of a data-movement op).
    Shared(String),
}

/// A weight to quantize: initializer name and per-channel axis (`None`: per tensor).
#[derive(Clone, Debug, PartialEq)]
pub struct WeightUse {
    pub name: String,
    pub axis: Option<usize>,
}

/// A bias to quantize to int32 with scale `s_input * s_weight`.
#[derive(Clone, Debug, PartialEq)]
pub struct BiasUse {
    pub name: String,
    pub input: String,
    pub weight: String,
}

#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Activation tensors with a Q/DQ pair, in marking order.
    pub activations: Vec<(String, ParamSource)>,
    pub weights: Vec<WeightUse>,
    pub biases: Vec<BiasUse>,
    /// Indices of removed (folded) Relu / Clip nodes.
    pub removed: HashSet<usize>,
    /// Node index -> replacement output name (the producer of a removed activation).
    pub output_of: HashMap<usize, String>,
}

impl Plan {
    pub fn is_activation(&self, name: &str) -> bool {
        self.activations.iter().any(|(n, _)| n == name)
    }

    /// The tensor whose scale / zero-point initializers `name` uses.
    pub fn param_owner<'a>(&'a self, mut name: &'a str) -> &'a str {
        for _ in 0..=self.activations.len() {
            match self.activations.iter().find(|(n, _)| n == name) {
                Some((_, ParamSource::Shared(from))) => name = from,
                _ => break,
            }
        }
        name
    }
}

/// Marks tensors node by node. `per_channel` selects per-axis weights.
pub fn plan(g: &FloatGraph, per_channel: bool) -> QResult<Plan> {
    let mut p = Plan::default();
    let consumers = g.consumer_counts();
    let graph_inputs: HashSet<String> = g.input_names().into_iter().collect();
    let graph_outputs: HashSet<String> = g.output_names().into_iter().collect();
    // Current output name of each node (Relu folding renames producers' outputs).
    let mut outputs: Vec<String> = g.nodes.iter().map(|n| n.output.clone()).collect();
    let mut producer: HashMap<String, usize> = outputs.iter().enumerate().map(|(i, o)| (o.clone(), i)).collect();

    fn mark(p: &mut Plan, name: &str, source: ParamSource) {
        match p.activations.iter_mut().find(|(n, _)| n == name) {
            // A later explicit share overrides (as onnxruntime's dict assignment does).
            Some(entry) if matches!(source, ParamSource::Shared(_)) => entry.1 = source,
            Some(_) => {}
            None => p.activations.push((name.to_string(), source)),
        }
    }
    let weight = |p: &mut Plan, name: &str, axis: usize| {
        if !p.weights.iter().any(|w| w.name == name) {
            p.weights.push(WeightUse { name: name.to_string(), axis: per_channel.then_some(axis) });
        }
    };

    for (i, node) in g.nodes.iter().enumerate() {
        let input = node.inputs.first().cloned().unwrap_or_default();
        let output = outputs[i].clone();
        match &node.op {
            FloatOp::Conv { w, b, .. } | FloatOp::Gemm { w, b, .. } => {
                mark(&mut p, &input, ParamSource::Own);
                mark(&mut p, &output, ParamSource::Own);
                let axis = match node.op {
                    FloatOp::Gemm { trans_b: false, .. } => 1,
                    _ => 0,
                };
                weight(&mut p, w, axis);
                if let Some(b) = b {
                    if p.biases.iter().any(|x| &x.name == b) {
                        return Err(QuantizeError::unsupported(
                            &node.op_type,
                            &node.name,
                            format!("bias '{b}' is shared with another node (give each node its own bias)"),
                        ));
                    }
                    p.biases.push(BiasUse { name: b.clone(), input: input.clone(), weight: w.clone() });
                }
            }
            FloatOp::MatMul { w } => {
                mark(&mut p, &input, ParamSource::Own);
                mark(&mut p, &output, ParamSource::Own);
                weight(&mut p, w, 1);
            }
            FloatOp::Relu | FloatOp::Clip { .. } => {
                if !p.is_activation(&input) {
                    return Err(QuantizeError::unsupported(
                        &node.op_type,
                        &node.name,
                        format!(
                            "its input '{input}' is not quantized by any earlier operator, so onnxruntime would \
                             leave it in float; put it after a Conv, Gemm, MatMul, Add or pool"
                        ),
                    ));
                }
                let single = consumers.get(input.as_str()).copied().unwrap_or(0) == 1;
                let foldable = single
                    && !graph_outputs.contains(&input)
                    && !graph_inputs.contains(&input)
                    && producer.contains_key(&input);
                if foldable {
                    let src = producer[&input];
                    outputs[src] = output.clone();
                    producer.remove(&input);
                    producer.insert(output.clone(), src);
                    p.output_of.insert(src, output.clone());
                    p.activations.retain(|(n, _)| n != &input);
                    p.removed.insert(i);
                } else {
                    mark(&mut p, &input, ParamSource::Own);
                }
                mark(&mut p, &output, ParamSource::Own);
            }
            op if op.shares_input_params() => {
                if p.is_activation(&input) {
                    mark(&mut p, &output, ParamSource::Shared(input.clone()));
                } else {
                    return Err(QuantizeError::unsupported(
                        &node.op_type,
                        &node.name,
                        format!("its input '{input}' is not quantized (onnxruntime would leave this node in float)"),
                    ));
                }
            }
            FloatOp::Add | FloatOp::Concat { .. } | FloatOp::GlobalAveragePool => {
                for x in &node.inputs {
                    mark(&mut p, x, ParamSource::Own);
                }
                mark(&mut p, &output, ParamSource::Own);
            }
            _ => return Err(QuantizeError::unsupported(&node.op_type, &node.name, "no quantisation rule")),
        }
    }
    Ok(p)
}
