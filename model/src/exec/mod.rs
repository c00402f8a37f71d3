//! The reference executor: runs a validated [`Graph`] node by node with the bit-exact kernels of
//! [`crate::kernels`], in the arithmetic of `graph.numerics`.
//!
//! [`Executor::new`] validates the graph ([`shape::validate`]) and derives every per-node
//! parameter once (geometry, [`OutputStage`](crate::quant::OutputStage), Add / Mul / Softmax /
//! Mean multipliers, zero points, bias vectors), so [`Executor::run`] only moves data through
//! kernels. Shapes used by the kernels come from the validated graph; the kernels still check
//! their slice lengths.
//!
//! * `mod.rs` (this file): the public [`Executor`] API: construction, input checks, the run loop.
//! * `plan`: the per-node `Plan`s and their derivation from the graph.
//! * `dispatch`: running one plan through its kernels.
//! * `tests`: unit tests.

mod dispatch;
mod plan;
#[cfg(test)]
mod tests;

use crate::error::{ModelError, Result};
use crate::ir::{Graph, TensorData, TensorId, Value};
use crate::kernels::KernelError;
use crate::shape;
use plan::Plan;

/// Errors inside one node; the caller adds the node name and op.
type NodeResult<T> = std::result::Result<T, String>;

impl From<KernelError> for String {
    fn from(e: KernelError) -> String {
        e.0
    }
}

/// The reference executor of one graph.
pub struct Executor<'g> {
    graph: &'g Graph,
    plans: Vec<Plan>,
    /// Index of the last node reading each tensor (None: never read, or a graph output).
    last_use: Vec<Option<usize>>,
}

impl<'g> Executor<'g> {
    /// Validates `graph` and derives every node's run-time parameters.
    pub fn new(graph: &'g Graph) -> Result<Self> {
        shape::validate(graph)?;
        let mut plans = Vec::with_capacity(graph.nodes.len());
        for node in &graph.nodes {
            let plan = Self::plan(graph, node).map_err(|reason| ModelError::UnsupportedOp {
                op: node.op.kind().to_string(),
                node: node.name.clone(),
                reason,
            })?;
            plans.push(plan);
        }
        let mut last_use = vec![None; graph.tensors.len()];
        for (i, node) in graph.nodes.iter().enumerate() {
            for &id in &node.inputs {
                last_use[id] = Some(i);
            }
        }
        for &id in &graph.outputs {
            last_use[id] = None;
        }
        Ok(Executor { graph, plans, last_use })
    }

    pub fn graph(&self) -> &'g Graph {
        self.graph
    }

    /// Runs the graph on `inputs` (in `graph.inputs` order); returns the graph outputs in
    /// `graph.outputs` order.
    pub fn run(&self, inputs: &[Value]) -> Result<Vec<Value>> {
        self.run_observed(inputs, &mut |_, _| {})
    }

    /// As [`Executor::run`], calling `observer` with every tensor a node produces.
    pub fn run_observed(&self, inputs: &[Value], observer: &mut dyn FnMut(TensorId, &Value)) -> Result<Vec<Value>> {
        let g = self.graph;
        self.check_inputs(inputs)?;
        let mut slots: Vec<Option<Value>> = vec![None; g.tensors.len()];
        for (&id, v) in g.inputs.iter().zip(inputs) {
            slots[id] = Some(v.clone());
        }
        for (i, (node, plan)) in g.nodes.iter().zip(&self.plans).enumerate() {
            let data = {
                let mut ins = Vec::with_capacity(node.inputs.len());
                for &id in &node.inputs {
                    ins.push(self.data(&slots, id).ok_or_else(|| {
                        ModelError::invalid_node(&node.name, node.op.kind(), format!("input #{id} is not available"))
                    })?);
                }
                Self::exec(g.numerics, plan, &ins, g.tensor(node.outputs[0]))
                    .map_err(|r| ModelError::invalid_node(&node.name, node.op.kind(), r))?
            };
            let out_id = node.outputs[0];
            let value = Value::new(g.tensors[out_id].shape.clone(), data);
            observer(out_id, &value);
            slots[out_id] = Some(value);
            for &id in &node.inputs {
                if self.last_use[id] == Some(i) && !g.inputs.contains(&id) {
                    slots[id] = None;
                }
            }
        }
        g.outputs
            .iter()
            .map(|&id| {
                if let Some(v) = &slots[id] {
                    return Ok(v.clone());
                }
                let t = g.tensor(id);
                t.data
                    .as_ref()
                    .map(|d| Value::new(t.shape.clone(), d.clone()))
                    .ok_or_else(|| ModelError::invalid_tensor(&t.name, "graph output was not produced"))
            })
            .collect()
    }

    fn check_inputs(&self, inputs: &[Value]) -> Result<()> {
        let g = self.graph;
        if inputs.len() != g.inputs.len() {
            let name = g
                .inputs
                .get(inputs.len())
                .map_or_else(|| format!("#{}", inputs.len()), |&id| g.tensor(id).name.clone());
            return Err(ModelError::BadInput {
                name,
                reason: format!("the graph has {} inputs, {} were given", g.inputs.len(), inputs.len()),
            });
        }
        for (&id, v) in g.inputs.iter().zip(inputs) {
            let t = g.tensor(id);
            let bad = |reason: String| Err(ModelError::BadInput { name: t.name.clone(), reason });
            if v.shape != t.shape {
                return bad(format!("shape {:?} given, {:?} expected", v.shape, t.shape));
            }
            if !v.data.storage_matches(t.dtype) {
                return bad(format!("data is not of type {}", t.dtype));
            }
            if v.data.len() != t.element_count() {
                return bad(format!("{} values for shape {:?}", v.data.len(), t.shape));
            }
        }
        Ok(())
    }

    fn data<'a>(&'a self, slots: &'a [Option<Value>], id: TensorId) -> Option<&'a TensorData> {
        slots[id].as_ref().map(|v| &v.data).or(self.graph.tensor(id).data.as_ref())
    }
}
