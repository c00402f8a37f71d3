//! The graph: tensors, nodes in topological order, inputs, outputs and the numerics contract.

use super::{Op, Tensor};
use serde::{Deserialize, Serialize};
use std::fmt;

pub type TensorId = usize;

/// Which runtime's integer arithmetic the model must reproduce bit for bit
/// (see `../shared/NUMERICS.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Numerics {
    /// tflite-micro / CMSIS-NN: fixed-point multiplier + shift with double rounding,
    /// quantize rounds half away from zero.
    Tflite,
    /// onnxruntime CPU provider: float32 requantisation rounded half to even.
    Onnxruntime,
}

impl fmt::Display for Numerics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Numerics::Tflite => "tflite (fixed-point double rounding)",
            Numerics::Onnxruntime => "onnxruntime (float32 requant, round half to even)",
        })
    }
}

/// Source model format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SourceFormat {
    Tflite,
    Onnx,
    /// Built in code (tests, synthetic layers).
    Synthetic,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Unique, human-meaningful name (the source node name, or `<op>_<index>`).
    pub name: String,
    pub op: Op,
    /// Tensor ids; optional inputs that are absent are simply left out (e.g. no bias).
    pub inputs: Vec<TensorId>,
    pub outputs: Vec<TensorId>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Graph {
    pub name: String,
    pub source: SourceFormat,
    pub numerics: Numerics,
    pub tensors: Vec<Tensor>,
    /// Topologically ordered.
    pub nodes: Vec<Node>,
    pub inputs: Vec<TensorId>,
    pub outputs: Vec<TensorId>,
}

impl Graph {
    pub fn new(name: impl Into<String>, source: SourceFormat, numerics: Numerics) -> Self {
        Graph {
            name: name.into(),
            source,
            numerics,
            tensors: Vec::new(),
            nodes: Vec::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
        }
    }

    pub fn add_tensor(&mut self, tensor: Tensor) -> TensorId {
        self.tensors.push(tensor);
        self.tensors.len() - 1
    }

    pub fn add_node(&mut self, name: impl Into<String>, op: Op, inputs: Vec<TensorId>, outputs: Vec<TensorId>) {
        self.nodes.push(Node { name: name.into(), op, inputs, outputs });
    }

    pub fn tensor(&self, id: TensorId) -> &Tensor {
        &self.tensors[id]
    }

    pub fn tensor_by_name(&self, name: &str) -> Option<TensorId> {
        self.tensors.iter().position(|t| t.name == name)
    }

    /// Index of the node that produces `id`, if any.
    pub fn producer(&self, id: TensorId) -> Option<usize> {
        self.nodes.iter().position(|n| n.outputs.contains(&id))
    }

    /// Indices of the nodes that read `id`.
    pub fn consumers(&self, id: TensorId) -> Vec<usize> {
        self.nodes.iter().enumerate().filter(|(_, n)| n.inputs.contains(&id)).map(|(i, _)| i).collect()
    }
}
