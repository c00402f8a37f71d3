//! What an image runs, in order: engine runs (a stretch of descriptors ending with END) and host
//! steps, over activation buffers the DRAM plan places in device memory.
//!
//! A host step carries the IR node (op and the full description of its tensors, constants with
//! their data), so the host derives its parameters with the model crate exactly as the reference
//! executor does (softmax multipliers, input quantisation, requantising concat ...): nothing is
//! re-derived, and any op the reference runs can run on the host.

use systole_model::ir::{Op, Tensor};

/// Index of an activation buffer in [`crate::dram::DramLayout::buffers`].
pub type BufferId = u32;

#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Start the engine at descriptor `first` (address `program + 256 * first`): it runs `count`
    /// layers and stops at the END descriptor `first + count`.
    Engine {
        first: u32,
        count: u32,
    },
    Host(Box<HostStep>),
}

/// One IR node the host runs with the model crate's kernels.
#[derive(Clone, Debug, PartialEq)]
pub struct HostStep {
    pub node: String,
    pub op: Op,
    /// The node's inputs in order.
    pub inputs: Vec<HostOperand>,
    pub output: HostOperand,
}

/// A tensor of a host step: its description (shape, type, quantisation) and where it lives.
#[derive(Clone, Debug, PartialEq)]
pub struct HostOperand {
    /// Constants carry their data here and have no buffer.
    pub tensor: Tensor,
    pub buffer: Option<BufferId>,
}

/// A graph input or output: the tensor the user feeds or reads, and its buffer (dense, in the
/// tensor's own layout and element type, little-endian).
#[derive(Clone, Debug, PartialEq)]
pub struct IoBinding {
    pub tensor: Tensor,
    pub buffer: BufferId,
}
