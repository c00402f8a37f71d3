//! Host steps: the IR node an image carries, run by the model crate's reference kernels on
//! tensors read from (and written back to) device memory. The driver runs them between engine
//! runs; the functional simulator runs them the same way (it uses this module).
//!
//! The runner does no I/O itself: it says which bytes it needs ([`HostRunner::reads`]), computes
//! the output bytes from them ([`HostRunner::compute`]) and says where they go
//! ([`HostRunner::output`]), so a board, a simulated DRAM or a test buffer all plug in.

use crate::dram::DramLayout;
use crate::schedule::{BufferId, HostStep};
use crate::tensor_bytes::{checked_tensor_bytes, from_bytes, to_bytes};
use systole_model::exec::Executor;
use systole_model::ir::{Graph, Numerics, SourceFormat, Tensor, TensorId};
use thiserror::Error;

#[derive(Debug, Error)]
#[error("host step {node}: {reason}")]
pub struct HostStepError {
    pub node: String,
    pub reason: String,
}

/// Device memory as a host step sees it.
pub trait HostMemory {
    type Error: From<HostStepError>;
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Self::Error>;
    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), Self::Error>;
}

/// One host step as a one-node graph whose inputs are its buffers.
#[derive(Debug)]
pub struct HostRunner {
    node: String,
    graph: Graph,
    /// (device address, bytes) of each graph input, in `graph.inputs` order.
    reads: Vec<(u64, usize)>,
    /// (device address, bytes) of the output.
    output: (u64, usize),
}

impl HostRunner {
    /// Builds the one-node graph of `step` and resolves its buffers in `layout`.
    pub fn new(step: &HostStep, numerics: Numerics, layout: &DramLayout) -> Result<HostRunner, HostStepError> {
        let err = |reason: String| HostStepError { node: step.node.clone(), reason };
        let place = |b: BufferId, t: &Tensor| -> Result<(u64, usize), HostStepError> {
            let p = layout.buffers.get(b as usize).ok_or_else(|| err(format!("buffer {b} does not exist")))?;
            let bytes = checked_tensor_bytes(t.dtype, &t.shape)
                .filter(|&n| n as u64 <= p.region.bytes)
                .ok_or_else(|| err(format!("tensor '{}' does not fit buffer '{}'", t.name, p.name)))?;
            Ok((p.region.addr, bytes))
        };
        let mut graph = Graph::new(step.node.clone(), SourceFormat::Synthetic, numerics);
        let mut by_buffer: Vec<(BufferId, TensorId)> = Vec::new();
        let mut reads = Vec::new();
        let mut node_inputs = Vec::with_capacity(step.inputs.len());
        for o in &step.inputs {
            let id = match o.buffer {
                // The same buffer read twice is one tensor (x + x).
                Some(b) => match by_buffer.iter().find(|(bb, _)| *bb == b) {
                    Some(&(_, id)) => id,
                    None => {
                        reads.push(place(b, &o.tensor)?);
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
        let out_buffer = step.output.buffer.ok_or_else(|| err("output has no buffer".into()))?;
        let output = place(out_buffer, &step.output.tensor)?;
        let out = graph.add_tensor(Tensor { data: None, ..step.output.tensor.clone() });
        graph.outputs.push(out);
        graph.add_node(step.node.clone(), step.op.clone(), node_inputs, vec![out]);
        Executor::new(&graph).map_err(|e| err(e.to_string()))?;
        Ok(HostRunner { node: step.node.clone(), graph, reads, output })
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// (device address, bytes) of every input the step reads, in the order `compute` takes them.
    pub fn reads(&self) -> &[(u64, usize)] {
        &self.reads
    }

    /// (device address, bytes) the output goes to.
    pub fn output(&self) -> (u64, usize) {
        self.output
    }

    /// The output bytes from the input bytes (`inputs[i]` holds `reads()[i]`).
    pub fn compute(&self, inputs: &[Vec<u8>]) -> Result<Vec<u8>, HostStepError> {
        let err = |reason: String| HostStepError { node: self.node.clone(), reason };
        if inputs.len() != self.graph.inputs.len() {
            return Err(err(format!("{} inputs given, {} expected", inputs.len(), self.graph.inputs.len())));
        }
        let mut values = Vec::with_capacity(inputs.len());
        for (bytes, &t) in inputs.iter().zip(&self.graph.inputs) {
            let t = self.graph.tensor(t);
            values.push(from_bytes(&t.name, t.dtype, &t.shape, bytes).map_err(|e| err(e.to_string()))?);
        }
        let exec = Executor::new(&self.graph).map_err(|e| err(e.to_string()))?;
        let out = exec.run(&values).map_err(|e| err(e.to_string()))?;
        let t = self.graph.tensor(*self.graph.outputs.first().ok_or_else(|| err("no output tensor".into()))?);
        let v = out.first().ok_or_else(|| err("no output".into()))?;
        to_bytes(&t.name, t.dtype, &v.data).map_err(|e| err(e.to_string()))
    }

    /// Reads the inputs from `mem`, computes, writes the output to `mem`.
    pub fn run<M: HostMemory>(&self, mem: &mut M) -> Result<(), M::Error> {
        let mut inputs = Vec::with_capacity(self.reads.len());
        for &(addr, len) in &self.reads {
            let mut buf = vec![0; len];
            mem.read(addr, &mut buf)?;
            inputs.push(buf);
        }
        let out = self.compute(&inputs)?;
        mem.write(self.output.0, &out)
    }
}
