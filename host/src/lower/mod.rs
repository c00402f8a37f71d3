//! Lowering: an IR graph and an `ArchConfig` become engine layers (descriptor, weight tiles,
//! params) and host steps over activation buffers, plus the per-node partition table.
//!
//! * `decide`: where each node runs (engine, folded into a neighbour, host) and why.
//! * `conv`, `post`: the engine layers (CONV / FC; ADD and the pools) built by the arch crate's
//!   rules and checked by its `validate` / `check_against_config`.
//! * `gather`: element orders of transposes (aliases and the folded NCHW flatten).
//! * this file: where every tensor lives (buffers, channel slices, aliases) and the step list.
//!
//! Buffers are dense and in the tensor's own layout; only concat slices have a channel stride.
//! Addresses are assigned later by [`crate::dram`].

mod conv;
mod decide;
mod gather;
pub mod partition;
mod post;
mod proto;

use crate::schedule::{BufferId, HostOperand, HostStep, IoBinding};
use crate::tensor_bytes::tensor_bytes;
use decide::{decide, Ctx, Decision};
use partition::{PartitionRow, Placement};
use systole_arch::{ArchConfig, ConfigError, LayerDescriptor};
use systole_model::exec::Executor;
use systole_model::ir::{DType, Graph, Op, Tensor, TensorId};
use systole_model::ModelError;
use thiserror::Error;

pub use partition::render as render_partition;

#[derive(Debug, Error)]
pub enum LowerError {
    #[error("architecture: {0}")]
    Config(#[from] ConfigError),
    #[error("the reference cannot run this graph, so neither can the host: {0}")]
    Graph(#[from] ModelError),
    #[error("node '{node}' ({op}): {reason}")]
    Node { node: String, op: String, reason: String },
    #[error("graph output '{tensor}': {reason}")]
    Output { tensor: String, reason: String },
}

/// An activation buffer to place in device memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BufferSpec {
    pub name: String,
    pub bytes: u64,
}

/// One engine layer with its buffers; addresses are filled in by the DRAM plan.
#[derive(Clone, Debug)]
pub struct EngineLayer {
    pub node: String,
    /// Complete but for the addresses and the layer index.
    pub desc: LayerDescriptor,
    pub input: BufferId,
    pub input2: Option<BufferId>,
    pub output: BufferId,
    pub weights: Vec<u8>,
    pub params: Vec<u8>,
}

#[derive(Clone, Debug)]
pub enum LoweredStep {
    Engine(EngineLayer),
    Host(HostStep),
}

/// The lowered model, in execution order.
#[derive(Clone, Debug)]
pub struct Lowered {
    pub buffers: Vec<BufferSpec>,
    pub steps: Vec<LoweredStep>,
    pub inputs: Vec<IoBinding>,
    pub outputs: Vec<IoBinding>,
    pub partition: Vec<PartitionRow>,
}

/// Where a tensor's elements are.
#[derive(Clone, Debug)]
enum Loc {
    /// In a buffer, `ch_stride` channels per pixel from channel `ch_offset` (dense: 0 and the
    /// tensor's own channel count).
    Buf {
        buf: BufferId,
        ch_offset: usize,
        ch_stride: usize,
    },
    /// In a buffer in another order (NCHW flatten path): only engine FCs read it, with the
    /// order folded into their weights.
    Gathered {
        buf: BufferId,
    },
    /// A folded Pad's output: readers read the pad's input.
    Padded {
        src: TensorId,
    },
    Constant,
}

struct Locator<'g> {
    graph: &'g Graph,
    locs: Vec<Option<Loc>>,
    buffers: Vec<BufferSpec>,
}

impl<'g> Locator<'g> {
    fn new(graph: &'g Graph) -> Self {
        let locs = graph.tensors.iter().map(|t| t.is_constant().then_some(Loc::Constant)).collect();
        Locator { graph, locs, buffers: Vec::new() }
    }

    /// The tensor's location, giving it a dense buffer of its own if it has none yet.
    fn ensure(&mut self, t: TensorId) -> Loc {
        if let Some(l) = &self.locs[t] {
            return l.clone();
        }
        let tensor = self.graph.tensor(t);
        self.buffers
            .push(BufferSpec { name: tensor.name.clone(), bytes: tensor_bytes(tensor.dtype, &tensor.shape) as u64 });
        let loc = Loc::Buf { buf: (self.buffers.len() - 1) as BufferId, ch_offset: 0, ch_stride: channels(tensor) };
        self.locs[t] = Some(loc.clone());
        loc
    }

    /// The buffer of a tensor read densely (follows folded pads).
    fn dense(&self, t: TensorId) -> Option<BufferId> {
        match self.locs[t].as_ref()? {
            Loc::Buf { buf, ch_offset: 0, ch_stride } if *ch_stride == channels(self.graph.tensor(t)) => Some(*buf),
            Loc::Padded { src } => self.dense(*src),
            _ => None,
        }
    }
}

/// Channels of a tensor as the engine sees them: its last dimension.
fn channels(t: &Tensor) -> usize {
    t.shape.last().copied().unwrap_or(1)
}

/// Lowers `graph` onto the engine `cfg` describes.
/// A 4-bit engine stores two weights per byte: every conv / FC weight must be int4 (an int8
/// model would silently lose its weights' high bits, so it is refused; the other way round, an
/// 8-bit engine takes int4 weights sign-extended to bytes).
fn refuse_wide_weights(graph: &Graph) -> Result<(), LowerError> {
    for node in &graph.nodes {
        if !matches!(node.op, Op::Conv2d(_) | Op::FullyConnected { .. }) {
            continue;
        }
        let Some(w) = node.inputs.get(1).map(|&id| graph.tensor(id)) else { continue };
        if w.dtype != DType::I4 {
            return Err(LowerError::Node {
                node: node.name.clone(),
                op: node.op.kind().to_string(),
                reason: format!(
                    "weights '{}' are {}, but this engine is built for int4 weights (weight_bits = 4): \
                     quantize the model with --weight-bits 4, or use an 8-bit engine",
                    w.name, w.dtype
                ),
            });
        }
    }
    Ok(())
}

pub fn lower(graph: &Graph, cfg: &ArchConfig) -> Result<Lowered, LowerError> {
    cfg.validate()?;
    // The host runs whatever the engine does not, with the reference kernels: the graph must be
    // one the reference accepts.
    Executor::new(graph)?;
    if cfg.int4_weights() {
        refuse_wide_weights(graph)?;
    }
    let ctx = Ctx::new(graph);
    let decided = decide(&ctx, cfg);
    let decisions = decided.decisions;
    let mut loc = Locator::new(graph);

    // Consumers first: concat outputs give their producers channel slices; folded clamps hand
    // their output buffer to the producer.
    for (i, node) in graph.nodes.iter().enumerate().rev() {
        match decisions[i] {
            Decision::ConcatFold => {
                let Loc::Buf { buf, .. } = loc.ensure(node.outputs[0]) else { continue };
                let stride = channels(graph.tensor(node.outputs[0]));
                let mut offset = 0;
                for &t in &node.inputs {
                    loc.locs[t] = Some(Loc::Buf { buf, ch_offset: offset, ch_stride: stride });
                    offset += channels(graph.tensor(t));
                }
            }
            Decision::ClampFold => {
                let l = loc.ensure(node.outputs[0]);
                loc.locs[node.inputs[0]] = Some(l);
            }
            _ => {}
        }
    }
    for &t in &graph.inputs {
        loc.ensure(t);
    }

    let internal = |i: usize, reason: &str| LowerError::Node {
        node: graph.nodes[i].name.clone(),
        op: graph.nodes[i].op.kind().to_string(),
        reason: reason.to_string(),
    };
    let mut steps = Vec::new();
    let mut partition = Vec::with_capacity(graph.nodes.len());
    for (i, (node, decision)) in graph.nodes.iter().zip(decisions).enumerate() {
        let (x, out) = (node.inputs.first().copied(), node.outputs[0]);
        let source_loc = x.and_then(|x| loc.locs[x].clone());
        let placement = match decision {
            Decision::Engine(proto) => {
                let Loc::Buf { buf: output, ch_offset, ch_stride } = loc.ensure(out) else {
                    return Err(internal(i, "engine output is not a buffer"));
                };
                let input = match (x, &source_loc) {
                    (_, Some(Loc::Gathered { buf })) => Some(*buf),
                    (Some(x), _) => loc.dense(x),
                    _ => None,
                };
                let input = input.ok_or_else(|| internal(i, "engine input is not a dense buffer"))?;
                let input2 = match (proto.desc.opcode, node.inputs.get(1)) {
                    (Some(systole_arch::Opcode::Add), Some(&b)) => {
                        Some(loc.dense(b).ok_or_else(|| internal(i, "second input is not a dense buffer"))?)
                    }
                    _ => None,
                };
                let mut desc = proto.desc;
                desc.out_ch_offset = ch_offset as u16;
                desc.out_ch_stride = ch_stride as u16;
                steps.push(LoweredStep::Engine(EngineLayer {
                    node: node.name.clone(),
                    desc,
                    input,
                    input2,
                    output,
                    weights: proto.weights,
                    params: proto.params,
                }));
                Placement::Engine
            }
            Decision::Host => {
                let mut inputs = Vec::with_capacity(node.inputs.len());
                for &t in &node.inputs {
                    let tensor = graph.tensor(t).clone();
                    let buffer = match loc.locs[t] {
                        Some(Loc::Constant) => None,
                        _ => Some(loc.dense(t).ok_or_else(|| internal(i, "host input is not a dense buffer"))?),
                    };
                    inputs.push(HostOperand { tensor, buffer });
                }
                let buffer = match loc.ensure(out) {
                    Loc::Buf { buf, ch_offset: 0, .. } => buf,
                    _ => return Err(internal(i, "host output is not a dense buffer")),
                };
                let output = HostOperand { tensor: graph.tensor(out).clone(), buffer: Some(buffer) };
                steps.push(LoweredStep::Host(HostStep {
                    node: node.name.clone(),
                    op: node.op.clone(),
                    inputs,
                    output,
                }));
                Placement::Host
            }
            Decision::Alias => {
                // The same bytes seen with the output's shape: dense stays dense.
                let dense = x.and_then(|x| loc.dense(x));
                loc.locs[out] = match (dense, source_loc) {
                    (Some(buf), _) => Some(Loc::Buf { buf, ch_offset: 0, ch_stride: channels(graph.tensor(out)) }),
                    (None, other) => other,
                };
                Placement::Folded
            }
            Decision::Flatten => {
                let buf = match &source_loc {
                    Some(Loc::Gathered { buf }) => Some(*buf),
                    _ => x.and_then(|x| loc.dense(x)),
                };
                let buf = buf.ok_or_else(|| internal(i, "flattened tensor is not a dense buffer"))?;
                loc.locs[out] = Some(Loc::Gathered { buf });
                Placement::Folded
            }
            Decision::PadFold => {
                loc.locs[out] = x.map(|src| Loc::Padded { src });
                Placement::Folded
            }
            Decision::ClampFold | Decision::ConcatFold => Placement::Folded,
        };
        partition.push(PartitionRow {
            node: node.name.clone(),
            op: node.op.kind().to_string(),
            placement,
            detail: decided.details[i].clone(),
        });
    }

    let bind = |t: TensorId, loc: &Locator| -> Result<IoBinding, LowerError> {
        let tensor = graph.tensor(t);
        let buffer = loc.dense(t).ok_or_else(|| LowerError::Output {
            tensor: tensor.name.clone(),
            reason: "is not a dense tensor in device memory (a constant?)".into(),
        })?;
        Ok(IoBinding { tensor: Tensor { data: None, ..tensor.clone() }, buffer })
    };
    let inputs = graph.inputs.iter().map(|&t| bind(t, &loc)).collect::<Result<Vec<_>, _>>()?;
    let outputs = graph.outputs.iter().map(|&t| bind(t, &loc)).collect::<Result<Vec<_>, _>>()?;
    Ok(Lowered { buffers: loc.buffers, steps, inputs, outputs, partition })
}

#[cfg(test)]
mod tests;
