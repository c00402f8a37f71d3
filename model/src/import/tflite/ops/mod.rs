//! TFLite operators -> IR nodes.
//!
//! Every converter validates the shapes it relies on against the tensors' declared shapes, so the
//! executor and the hardware generator can trust the graph: a contradiction becomes an
//! `InvalidNode` naming the node, never a panic later on.

mod layout;
mod mac;

use super::schema::{self, builtin_op as B, OptionsTable};
use crate::ir::{Activation, Graph, Op, Tensor, TensorData, TensorId};
use crate::{ModelError, Result};
use std::collections::HashSet;

/// One TFLite operator with its indices resolved and range-checked.
pub(super) struct OpInfo<'m> {
    /// Position in the subgraph's operator list.
    pub index: usize,
    pub code: i32,
    /// Builtin operator name (`CONV_2D`), or `CUSTOM(<code>)`.
    pub op_name: String,
    /// Node name: the first output tensor's name.
    pub node: String,
    /// Positional inputs; `None` where the file has -1 (absent optional input).
    pub inputs: Vec<Option<TensorId>>,
    pub outputs: Vec<TensorId>,
    pub op: schema::Operator<'m>,
}

impl<'m> OpInfo<'m> {
    pub fn invalid(&self, reason: impl Into<String>) -> ModelError {
        ModelError::invalid_node(&self.node, &self.op_name, reason)
    }

    fn unsupported(&self, reason: impl Into<String>) -> ModelError {
        ModelError::unsupported_op(&self.op_name, &self.node, reason)
    }

    /// The options table when present; an error when the union holds another options type.
    fn options<T: OptionsTable<'m>>(&self) -> Result<Option<T>> {
        match self.op.builtin_options_type() {
            0 => Ok(None),
            t if t == T::UNION_TYPE => Ok(self.op.options::<T>()),
            t => Err(self.invalid(format!(
                "builtin options of union type {t}, expected {} ({})",
                T::UNION_TYPE,
                T::NAME
            ))),
        }
    }

    /// Options the operator cannot be interpreted without (strides, padding, beta, axis).
    fn required_options<T: OptionsTable<'m>>(&self) -> Result<T> {
        self.options::<T>()?.ok_or_else(|| self.invalid(format!("missing {}", T::NAME)))
    }

    /// Required input `k`.
    fn input(&self, k: usize) -> Result<TensorId> {
        self.inputs
            .get(k)
            .copied()
            .flatten()
            .ok_or_else(|| self.invalid(format!("input {k} is missing ({} inputs given)", self.inputs.len())))
    }

    /// Optional input `k` (absent when beyond the list or -1).
    fn opt_input(&self, k: usize) -> Option<TensorId> {
        self.inputs.get(k).copied().flatten()
    }

    fn single_output(&self) -> Result<TensorId> {
        match self.outputs.as_slice() {
            [y] => Ok(*y),
            other => Err(self.invalid(format!("expected 1 output, found {}", other.len()))),
        }
    }
}

/// Builds the IR nodes of subgraph 0, operator by operator.
pub(super) struct Converter<'g> {
    pub graph: &'g mut Graph,
    /// Tensors readable at this point: graph inputs, constants and outputs of earlier nodes.
    available: Vec<bool>,
    /// Depthwise weights already reordered to OHWI (a weight shared by two depthwise
    /// operators must be transposed once).
    transposed: HashSet<TensorId>,
    names: HashSet<String>,
}

impl<'g> Converter<'g> {
    pub fn new(graph: &'g mut Graph) -> Self {
        let mut available: Vec<bool> = graph.tensors.iter().map(Tensor::is_constant).collect();
        for &i in &graph.inputs {
            if let Some(a) = available.get_mut(i) {
                *a = true;
            }
        }
        Converter { graph, available, transposed: HashSet::new(), names: HashSet::new() }
    }

    /// A node name unique in the graph (TFLite does not require unique tensor names): `base`, or
    /// `base#2`, `base#3`, ... when taken.
    pub fn unique_name(&mut self, base: &str) -> String {
        let mut name = base.to_string();
        let mut k = 1;
        while self.names.contains(&name) {
            k += 1;
            name = format!("{base}#{k}");
        }
        self.names.insert(name.clone());
        name
    }

    /// True when `id` is a graph input, a constant or the output of a node converted so far.
    fn is_available(&self, id: TensorId) -> bool {
        self.available.get(id).copied().unwrap_or(false)
    }

    fn t(&self, id: TensorId) -> &Tensor {
        &self.graph.tensors[id]
    }

    fn shape(&self, id: TensorId) -> &[usize] {
        &self.graph.tensors[id].shape
    }

    /// Converts one operator into one node (FULLY_CONNECTED may add a flattening Reshape first).
    pub fn convert(&mut self, info: &OpInfo<'_>) -> Result<()> {
        // Unsupported first: an unknown op with several outputs is unsupported, not invalid.
        if !SUPPORTED.contains(&info.code) {
            return Err(info.unsupported(unsupported_reason(info)));
        }
        let y = info.single_output()?;
        let (op, inputs) = match info.code {
            B::CONV_2D => self.conv2d(info, y)?,
            B::DEPTHWISE_CONV_2D => self.depthwise_conv2d(info, y)?,
            B::FULLY_CONNECTED => self.fully_connected(info, y)?,
            B::AVERAGE_POOL_2D => self.pool2d(info, y, false)?,
            B::MAX_POOL_2D => self.pool2d(info, y, true)?,
            B::MEAN => self.mean(info, y)?,
            B::ADD => {
                let act = info
                    .options::<schema::AddOptions>()?
                    .map_or(Ok(Activation::None), |o| activation(info, o.fused_activation_function()))?;
                (Op::Add { activation: act }, self.binary(info, y)?)
            }
            B::MUL => {
                let act = info
                    .options::<schema::MulOptions>()?
                    .map_or(Ok(Activation::None), |o| activation(info, o.fused_activation_function()))?;
                (Op::Mul { activation: act }, self.binary(info, y)?)
            }
            B::RESHAPE | B::SQUEEZE => self.reshape(info, y)?,
            B::PAD | B::PADV2 => self.pad(info, y)?,
            B::CONCATENATION => self.concat(info, y)?,
            B::SOFTMAX => {
                let beta = info.required_options::<schema::SoftmaxOptions>()?.beta();
                if !beta.is_finite() {
                    return Err(info.invalid(format!("softmax beta {beta} is not finite")));
                }
                (Op::Softmax { beta }, vec![self.same_shape_unary(info, y)?])
            }
            B::QUANTIZE => (Op::Quantize, vec![self.same_shape_unary(info, y)?]),
            B::DEQUANTIZE => (Op::Dequantize, vec![self.same_shape_unary(info, y)?]),
            B::RELU => (Op::Clamp { activation: Activation::Relu }, vec![self.same_shape_unary(info, y)?]),
            B::RELU6 => (Op::Clamp { activation: Activation::Relu6 }, vec![self.same_shape_unary(info, y)?]),
            B::RELU_N1_TO_1 => (Op::Clamp { activation: Activation::ReluN1To1 }, vec![self.same_shape_unary(info, y)?]),
            B::TRANSPOSE => self.transpose(info, y)?,
            // Not reached while SUPPORTED and this match agree.
            _ => return Err(info.unsupported(unsupported_reason(info))),
        };
        self.push_node(info, info.node.clone(), op, inputs, y)
    }

    /// Appends a node after checking that its inputs exist already and its output is fresh, so
    /// the node list stays topologically ordered and single-assignment.
    fn push_node(&mut self, info: &OpInfo<'_>, name: String, op: Op, inputs: Vec<TensorId>, y: TensorId) -> Result<()> {
        if let Some(&x) = inputs.iter().find(|&&x| !self.is_available(x)) {
            return Err(info.invalid(format!(
                "input tensor '{}' is read before any operator produces it (and it is neither a graph input nor a constant)",
                self.t(x).name
            )));
        }
        if self.is_available(y) {
            return Err(info.invalid(format!(
                "output tensor '{}' is already a constant, a graph input or another operator's output",
                self.t(y).name
            )));
        }
        if let Some(a) = self.available.get_mut(y) {
            *a = true;
        }
        self.graph.add_node(name, op, inputs, vec![y]);
        Ok(())
    }

    fn rank4(&self, info: &OpInfo<'_>, id: TensorId, what: &str) -> Result<[usize; 4]> {
        let t = self.t(id);
        <[usize; 4]>::try_from(t.shape.as_slice())
            .map_err(|_| info.invalid(format!("{what} '{}' has shape {:?}, expected rank 4", t.name, t.shape)))
    }

    fn expect_shape(&self, info: &OpInfo<'_>, y: TensorId, expected: &[usize]) -> Result<()> {
        let t = self.t(y);
        if t.shape != expected {
            return Err(info.invalid(format!("output '{}' has shape {:?}, expected {expected:?}", t.name, t.shape)));
        }
        Ok(())
    }

    /// Values of a constant integer tensor (axes, paddings, permutations).
    fn const_ints(&self, info: &OpInfo<'_>, id: TensorId, what: &str) -> Result<Vec<i64>> {
        let t = self.t(id);
        let values = match &t.data {
            Some(TensorData::I32(v)) => v.iter().map(|&x| i64::from(x)).collect(),
            Some(TensorData::I64(v)) => v.clone(),
            Some(TensorData::I16(v)) => v.iter().map(|&x| i64::from(x)).collect(),
            Some(TensorData::I8(v)) => v.iter().map(|&x| i64::from(x)).collect(),
            Some(TensorData::U8(v)) => v.iter().map(|&x| i64::from(x)).collect(),
            Some(TensorData::F32(_)) => {
                return Err(info.invalid(format!("{what} '{}' must be an integer tensor", t.name)));
            }
            None => {
                return Err(info.unsupported(format!("{what} '{}' is computed at run time, not a constant", t.name)));
            }
        };
        Ok(values)
    }
}

/// TFLite fused activation -> IR activation (TANH and SIGN_BIT cannot be fused into a clamp).
fn activation(info: &OpInfo<'_>, code: i8) -> Result<Activation> {
    use schema::activation as A;
    match code {
        A::NONE => Ok(Activation::None),
        A::RELU => Ok(Activation::Relu),
        A::RELU_N1_TO_1 => Ok(Activation::ReluN1To1),
        A::RELU6 => Ok(Activation::Relu6),
        A::TANH => Err(info.unsupported("fused TANH activation")),
        A::SIGN_BIT => Err(info.unsupported("fused SIGN_BIT activation")),
        c => Err(info.invalid(format!("unknown fused activation {c}"))),
    }
}

/// A strictly positive attribute (stride, dilation, filter size) as usize.
fn positive(info: &OpInfo<'_>, v: i32, what: &str) -> Result<usize> {
    usize::try_from(v).ok().filter(|&v| v > 0).ok_or_else(|| info.invalid(format!("{what} = {v}, must be >= 1")))
}

fn unsupported_reason(info: &OpInfo<'_>) -> String {
    let supported: Vec<String> = SUPPORTED.iter().map(|&c| schema::builtin_op::name(c)).collect();
    format!(
        "operator #{} of subgraph 0 has no IR equivalent (supported: {}; MEAN only over H and W)",
        info.index,
        supported.join(", ")
    )
}

/// The builtin operators [`Converter::convert`] handles.
const SUPPORTED: [i32; 20] = [
    B::CONV_2D,
    B::DEPTHWISE_CONV_2D,
    B::FULLY_CONNECTED,
    B::AVERAGE_POOL_2D,
    B::MAX_POOL_2D,
    B::MEAN,
    B::ADD,
    B::MUL,
    B::RESHAPE,
    B::SQUEEZE,
    B::PAD,
    B::PADV2,
    B::CONCATENATION,
    B::SOFTMAX,
    B::QUANTIZE,
    B::DEQUANTIZE,
    B::RELU,
    B::RELU6,
    B::RELU_N1_TO_1,
    B::TRANSPOSE,
];
