//! The float ONNX graph the quantiser works on: nodes in file order with their float operator,
//! constants (initializers and `Constant` nodes), graph inputs and outputs.
//!
//! Only the float operators a CNN needs, and only the forms that the QDQ model written by
//! [`super::writer`] can carry and systole's importer can fuse, are accepted; anything else is an
//! [`QuantizeError::UnsupportedOp`] naming the operator and the node.

use super::error::{QResult, QuantizeError};
use crate::import::onnx::attrs::NodeCtx;
use crate::import::onnx::proto::{data_type, GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto};
use crate::import::onnx::tensor::{decode_tensor, ConstTensor};
use crate::ir::DType;
use prost::Message;
use std::collections::HashMap;

/// Float operators the quantiser executes and rewrites.
#[derive(Clone, Debug, PartialEq)]
pub enum FloatOp {
    /// 2-D convolution; `w` / `b` name float initializers (weights OIHW).
    Conv {
        w: String,
        b: Option<String>,
        group: usize,
    },
    /// `Y = A * B' + C` with constant B (`trans_b`: B is `[N, K]`), alpha = beta = 1, no transA.
    Gemm {
        w: String,
        b: Option<String>,
        trans_b: bool,
    },
    /// `Y = A * B` with a constant 2-D B `[K, N]`.
    MatMul {
        w: String,
    },
    Relu,
    Clip {
        min: f32,
        max: f32,
    },
    /// Elementwise sum of two activations of the same shape.
    Add,
    Concat {
        axis: i64,
    },
    MaxPool {
        kernel: [usize; 2],
    },
    AveragePool {
        kernel: [usize; 2],
        count_include_pad: bool,
    },
    GlobalAveragePool,
    Flatten {
        axis: i64,
    },
    /// Reshape to a constant shape (`0` copies a dimension, `-1` is inferred).
    Reshape {
        shape: Vec<i64>,
    },
}

impl FloatOp {
    /// Operators whose output onnxruntime quantises with the parameters of their input
    /// (`QDQDirect8BitOp`): pure data movement and pooling.
    pub fn shares_input_params(&self) -> bool {
        matches!(
            self,
            FloatOp::MaxPool { .. } | FloatOp::AveragePool { .. } | FloatOp::Flatten { .. } | FloatOp::Reshape { .. }
        )
    }
}

/// One node: the operator, its activation inputs (constants are named inside `op`) and output.
#[derive(Clone, Debug)]
pub struct FloatNode {
    pub name: String,
    pub op_type: String,
    pub op: FloatOp,
    /// Activation inputs in node order (constants excluded).
    pub inputs: Vec<String>,
    pub output: String,
    /// The source node, kept for its attributes (windows are resolved against input shapes).
    pub proto: NodeProto,
}

impl FloatNode {
    pub fn ctx(&self) -> NodeCtx<'_> {
        NodeCtx { node: &self.proto, name: self.name.clone() }
    }
}

/// The float model as the quantiser needs it.
#[derive(Clone, Debug)]
pub struct FloatGraph {
    pub name: String,
    pub ir_version: i64,
    pub opset: i64,
    pub inputs: Vec<ValueInfoProto>,
    pub outputs: Vec<ValueInfoProto>,
    pub nodes: Vec<FloatNode>,
    /// Initializers and `Constant` node values, decoded.
    pub consts: HashMap<String, ConstTensor>,
    /// Initializers as stored (re-emitted unchanged when a kept node still reads them).
    pub raw_inits: HashMap<String, TensorProto>,
}

/// Oldest default-domain operator set accepted: per-axis QuantizeLinear / DequantizeLinear
/// need 13, and Clip / Reshape take their constants as inputs from 11 on.
pub const MIN_OPSET: i64 = 13;

impl FloatGraph {
    pub fn input_names(&self) -> Vec<String> {
        self.inputs.iter().map(|v| v.name.clone().unwrap_or_default()).collect()
    }

    pub fn output_names(&self) -> Vec<String> {
        self.outputs.iter().map(|v| v.name.clone().unwrap_or_default()).collect()
    }

    /// Declared shape of graph input `i`; symbolic or missing dimensions are `None`.
    pub fn input_shape(&self, i: usize) -> Option<Vec<Option<usize>>> {
        let vi = self.inputs.get(i)?;
        let shape = vi.r#type.as_ref()?.tensor_type.as_ref()?.shape.as_ref()?;
        Some(shape.dim.iter().map(|d| d.dim_value.and_then(|v| usize::try_from(v).ok()).filter(|&v| v > 0)).collect())
    }

    /// Float constant by name (weights, biases).
    pub fn float_const(&self, name: &str) -> Option<(&[usize], &[f32])> {
        let c = self.consts.get(name)?;
        match &c.data {
            crate::ir::TensorData::F32(v) => Some((&c.shape, v)),
            _ => None,
        }
    }

    /// Number of nodes reading each tensor (graph outputs not counted).
    pub fn consumer_counts(&self) -> HashMap<&str, usize> {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for n in &self.nodes {
            for i in &n.inputs {
                *counts.entry(i.as_str()).or_default() += 1;
            }
        }
        counts
    }
}

/// Decodes a float ONNX model and checks every node against what the quantiser supports.
pub fn parse(bytes: &[u8], name: &str) -> QResult<FloatGraph> {
    let model = ModelProto::decode(bytes).map_err(|e| crate::ModelError::malformed("onnx", e.to_string()))?;
    let graph = model.graph.as_ref().ok_or_else(|| QuantizeError::BadModel("the model has no graph".into()))?;
    let mut opset = None;
    for o in &model.opset_import {
        match o.domain.as_deref().unwrap_or("") {
            "" | "ai.onnx" => opset = o.version,
            other => {
                return Err(QuantizeError::BadModel(format!(
                    "imports operator set domain '{other}'; a float model to quantise uses the default domain only"
                )))
            }
        }
    }
    let opset = opset.unwrap_or(0);
    if opset < MIN_OPSET {
        return Err(QuantizeError::BadModel(format!(
            "default operator set {opset}; quantisation needs {MIN_OPSET} or newer (per-axis DequantizeLinear): \
             re-export the model with opset_version >= {MIN_OPSET}"
        )));
    }
    if !graph.sparse_initializer.is_empty() {
        return Err(QuantizeError::BadModel("sparse initializers are not supported".into()));
    }
    let mut g = FloatGraph {
        name: graph.name.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| name.to_string()),
        ir_version: model.ir_version.unwrap_or(8),
        opset,
        inputs: Vec::new(),
        outputs: graph.output.clone(),
        nodes: Vec::new(),
        consts: HashMap::new(),
        raw_inits: HashMap::new(),
    };
    for t in &graph.initializer {
        let c = decode_tensor(t)?;
        g.raw_inits.insert(c.name.clone(), t.clone());
        g.consts.insert(c.name.clone(), c);
    }
    // Graph inputs that are initializers (old exporters list them) are constants, not inputs.
    g.inputs =
        graph.input.iter().filter(|v| !g.consts.contains_key(v.name.as_deref().unwrap_or(""))).cloned().collect();
    if g.inputs.is_empty() {
        return Err(QuantizeError::BadModel("the graph has no (non-constant) input".into()));
    }
    for vi in g.inputs.iter().chain(&g.outputs) {
        let elem = vi.r#type.as_ref().and_then(|t| t.tensor_type.as_ref()).and_then(|t| t.elem_type);
        if elem != Some(data_type::FLOAT) {
            return Err(QuantizeError::BadModel(format!(
                "graph input/output '{}' is {}, not float32: is the model already quantized?",
                vi.name.as_deref().unwrap_or(""),
                data_type::name(elem.unwrap_or(0))
            )));
        }
    }
    check_graph_names(graph)?;
    for (index, node) in graph.node.iter().enumerate() {
        let node_name = node.name.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| format!("{}_{index}", node.op()));
        let ctx = NodeCtx { node, name: node_name.clone() };
        if !matches!(node.domain.as_deref().unwrap_or(""), "" | "ai.onnx") {
            return Err(QuantizeError::unsupported(&ctx.op_label(), &node_name, "not a default-domain float operator"));
        }
        if node.op() == "Constant" {
            let out = ctx.single_output()?;
            let value = ctx.tensor("value")?.ok_or_else(|| {
                QuantizeError::unsupported("Constant", &node_name, "only the 'value' attribute is supported")
            })?;
            g.consts.insert(out.to_string(), ConstTensor { name: out.to_string(), ..value });
            continue;
        }
        let op = parse_op(&ctx, &g)?;
        let inputs: Vec<String> =
            node.input.iter().filter(|i| !i.is_empty() && !g.consts.contains_key(i.as_str())).cloned().collect();
        let expected = match op {
            FloatOp::Add => 2,
            FloatOp::Concat { .. } => node.input.iter().filter(|i| !i.is_empty()).count().max(1),
            _ => 1,
        };
        if inputs.len() != expected {
            return Err(QuantizeError::unsupported(
                node.op(),
                &node_name,
                format!(
                    "expects {expected} activation input(s) and constants elsewhere, found activations {inputs:?} \
                     (constant operands of elementwise ops are not supported)"
                ),
            ));
        }
        let output = ctx.single_output()?.to_string();
        g.nodes.push(FloatNode {
            name: node_name,
            op_type: node.op().to_string(),
            op,
            inputs,
            output,
            proto: node.clone(),
        });
    }
    Ok(g)
}

/// Tensor names must be unique producers (SSA); the writer derives names from them.
fn check_graph_names(graph: &GraphProto) -> QResult<()> {
    let mut seen = std::collections::HashSet::new();
    for n in &graph.node {
        for o in n.output.iter().filter(|o| !o.is_empty()) {
            if !seen.insert(o.as_str()) {
                return Err(QuantizeError::BadModel(format!("tensor '{o}' is produced by two nodes")));
            }
        }
    }
    Ok(())
}

fn float_init<'g>(ctx: &NodeCtx, g: &'g FloatGraph, i: usize, what: &str) -> QResult<&'g ConstTensor> {
    let name = ctx.require_input(i, what)?;
    let c = g.consts.get(name).ok_or_else(|| {
        QuantizeError::unsupported(
            ctx.op(),
            &ctx.name,
            format!("{what} '{name}' is computed at run time; only constant (initializer) {what}s are supported"),
        )
    })?;
    if c.dtype != DType::F32 {
        return Err(QuantizeError::unsupported(
            ctx.op(),
            &ctx.name,
            format!("{what} '{name}' is {}, not float32", c.dtype),
        ));
    }
    Ok(c)
}

fn kernel_of(ctx: &NodeCtx) -> QResult<[usize; 2]> {
    match ctx.ints("kernel_shape")? {
        Some(k) if k.len() == 2 && k.iter().all(|&v| (1..=1 << 16).contains(&v)) => Ok([k[0] as usize, k[1] as usize]),
        other => {
            Err(QuantizeError::unsupported(ctx.op(), &ctx.name, format!("kernel_shape {other:?} (2-D pools only)")))
        }
    }
}

fn scalar_const(ctx: &NodeCtx, g: &FloatGraph, i: usize) -> QResult<Option<f32>> {
    let Some(name) = ctx.input(i) else { return Ok(None) };
    let c = g
        .consts
        .get(name)
        .ok_or_else(|| QuantizeError::unsupported(ctx.op(), &ctx.name, format!("input '{name}' must be a constant")))?;
    match c.to_f32().as_deref() {
        Some([v]) => Ok(Some(*v)),
        _ => Err(QuantizeError::unsupported(ctx.op(), &ctx.name, format!("input '{name}' must be one float32 value"))),
    }
}

fn parse_op(ctx: &NodeCtx, g: &FloatGraph) -> QResult<FloatOp> {
    let unsupported = |reason: String| QuantizeError::unsupported(ctx.op(), &ctx.name, reason);
    Ok(match ctx.op() {
        "Conv" => {
            let w = float_init(ctx, g, 1, "weight")?;
            if w.shape.len() != 4 {
                return Err(unsupported(format!("weights of shape {:?}: only 2-D convolutions", w.shape)));
            }
            let b = match ctx.input(2) {
                Some(_) => Some(float_init(ctx, g, 2, "bias")?.name.clone()),
                None => None,
            };
            let group = ctx.int_or("group", 1)?;
            if !(1..=1 << 20).contains(&group) {
                return Err(unsupported(format!("group = {group}")));
            }
            FloatOp::Conv { w: w.name.clone(), b, group: group as usize }
        }
        "Gemm" => {
            ctx.expect_int("transA", 0, "A must not be transposed")?;
            for (attr, v) in [("alpha", ctx.float("alpha")?), ("beta", ctx.float("beta")?)] {
                if v.is_some_and(|v| v != 1.0) {
                    return Err(unsupported(format!("{attr} = {v:?} (only 1.0 is supported)")));
                }
            }
            let w = float_init(ctx, g, 1, "weight")?;
            if w.shape.len() != 2 {
                return Err(unsupported(format!("B of shape {:?} (2-D expected)", w.shape)));
            }
            let b = match ctx.input(2) {
                Some(_) => Some(float_init(ctx, g, 2, "bias")?.name.clone()),
                None => None,
            };
            FloatOp::Gemm { w: w.name.clone(), b, trans_b: ctx.int_or("transB", 0)? != 0 }
        }
        "MatMul" => {
            let w = float_init(ctx, g, 1, "weight")?;
            if w.shape.len() != 2 {
                return Err(unsupported(format!("B of shape {:?} (a constant 2-D B is supported)", w.shape)));
            }
            FloatOp::MatMul { w: w.name.clone() }
        }
        "Relu" => FloatOp::Relu,
        "Clip" => FloatOp::Clip {
            min: scalar_const(ctx, g, 1)?.unwrap_or(f32::NEG_INFINITY),
            max: scalar_const(ctx, g, 2)?.unwrap_or(f32::INFINITY),
        },
        "Add" => FloatOp::Add,
        "Concat" => FloatOp::Concat { axis: ctx.int("axis")?.ok_or_else(|| unsupported("axis is missing".into()))? },
        "MaxPool" => {
            ctx.expect_int("ceil_mode", 0, "ceil_mode = 1 is not supported")?;
            ctx.expect_int("storage_order", 0, "column-major indices are not supported")?;
            FloatOp::MaxPool { kernel: kernel_of(ctx)? }
        }
        "AveragePool" => {
            ctx.expect_int("ceil_mode", 0, "ceil_mode = 1 is not supported")?;
            FloatOp::AveragePool {
                kernel: kernel_of(ctx)?,
                count_include_pad: ctx.int_or("count_include_pad", 0)? != 0,
            }
        }
        "GlobalAveragePool" => FloatOp::GlobalAveragePool,
        "Flatten" => FloatOp::Flatten { axis: ctx.int_or("axis", 1)? },
        "Reshape" => {
            ctx.expect_int("allowzero", 0, "allowzero = 1 is not supported")?;
            let name = ctx.require_input(1, "shape")?;
            let shape = g
                .consts
                .get(name)
                .and_then(|c| c.to_i64())
                .ok_or_else(|| unsupported(format!("shape '{name}' must be a constant int64 tensor")))?;
            FloatOp::Reshape { shape }
        }
        other => {
            return Err(unsupported(format!(
                "'{other}' is not supported by `systole quantize` (supported: Conv, Gemm, MatMul, Relu, Clip, Add, \
                 Concat, MaxPool, AveragePool, GlobalAveragePool, Flatten, Reshape)"
            )))
        }
    })
}
