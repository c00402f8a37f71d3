//! Host steps: the IR node the image carries, run by the model crate's reference kernels on
//! tensors read from (and written back to) device memory, as the driver will.

use super::dram::Dram;
use super::SimError;
use systole_host::dram::DramLayout;
use systole_host::schedule::{BufferId, HostStep};
use systole_host::tensor_bytes::{from_bytes, to_bytes};
use systole_model::exec::Executor;
use systole_model::ir::{Graph, Numerics, SourceFormat, Tensor, TensorId};

/// One host step as a one-node graph whose inputs are its buffers.
pub struct HostRunner {
    node: String,
    graph: Graph,
    /// Buffer of each graph input, in `graph.inputs` order.
    inputs: Vec<BufferId>,
    output: BufferId,
}

impl HostRunner {
    pub fn new(step: &HostStep, numerics: Numerics) -> Result<HostRunner, SimError> {
        let err = |reason: String| SimError::Host { node: step.node.clone(), reason };
        let mut graph = Graph::new(step.node.clone(), SourceFormat::Synthetic, numerics);
        let mut by_buffer: Vec<(BufferId, TensorId)> = Vec::new();
        let mut node_inputs = Vec::with_capacity(step.inputs.len());
        for o in &step.inputs {
            let id = match o.buffer {
                // The same buffer read twice is one tensor (x + x).
                Some(b) => match by_buffer.iter().find(|(bb, _)| *bb == b) {
                    Some(&(_, id)) => id,
                    None => {
                        let id = graph.add_tensor(Tensor { data: None, ..o.tensor.clone() });
                        graph.inputs.push(id);
                        by_buffer.push((b, id));
                        id
                    }
                },
                None => graph.add_tensor(o.tensor.clone()),
            };
            node_inputs.push(id);
        }
        let output = step.output.buffer.ok_or_else(|| err("output has no buffer".into()))?;
        let out = graph.add_tensor(Tensor { data: None, ..step.output.tensor.clone() });
        graph.outputs.push(out);
        graph.add_node(step.node.clone(), step.op.clone(), node_inputs, vec![out]);
        Executor::new(&graph).map_err(|e| err(e.to_string()))?;
        Ok(HostRunner {
            node: step.node.clone(),
            graph,
            inputs: by_buffer.into_iter().map(|(b, _)| b).collect(),
            output,
        })
    }

    pub fn run(&self, dram: &mut Dram, layout: &DramLayout) -> Result<(), SimError> {
        let err = |reason: String| SimError::Host { node: self.node.clone(), reason };
        let addr = |b: BufferId| {
            layout.buffers.get(b as usize).map(|p| p.region.addr).ok_or_else(|| err(format!("buffer {b}")))
        };
        let mut values = Vec::with_capacity(self.inputs.len());
        for (&b, &t) in self.inputs.iter().zip(&self.graph.inputs) {
            let t = self.graph.tensor(t);
            let bytes = dram.read(addr(b)?, systole_host::tensor_bytes::tensor_bytes(t.dtype, &t.shape))?;
            values.push(from_bytes(&t.name, t.dtype, &t.shape, bytes).map_err(|e| err(e.to_string()))?);
        }
        let exec = Executor::new(&self.graph).map_err(|e| err(e.to_string()))?;
        let out = exec.run(&values).map_err(|e| err(e.to_string()))?;
        let t = self.graph.tensor(self.graph.outputs[0]);
        let v = out.first().ok_or_else(|| err("no output".into()))?;
        let bytes = to_bytes(&t.name, t.dtype, &v.data).map_err(|e| err(e.to_string()))?;
        dram.write(addr(self.output)?, &bytes)
    }
}
