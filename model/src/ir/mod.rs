//! The quantized intermediate representation shared by the importers, the reference executor,
//! the hardware generator, the packer and the simulators.

mod graph;
pub mod int4;
mod op;
mod tensor;

pub use graph::{Graph, Node, Numerics, SourceFormat, TensorId};
pub use op::{Activation, Conv2dAttrs, Op, Padding2d, Pool2dAttrs};
pub use tensor::{DType, Quantization, Tensor, TensorData, Value};
