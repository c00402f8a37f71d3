//! systole-model: the quantized IR, the TFLite and ONNX importers and the bit-exact integer
//! reference executor.
//!
//! Numerics follow `../shared/NUMERICS.md`: [`arith`] holds the primitives, [`quant`] derives the
//! per-layer requantisation once, and every engine (reference, cycle model, RTL) applies it.

pub mod arith;
pub mod error;
pub mod evaluate;
pub mod exec;
pub mod import;
pub mod ir;
pub mod kernels;
pub mod load;
pub mod npy;
pub mod prune;
pub mod quant;
pub mod quantize;
pub mod shape;
pub mod summary;

pub use error::{ModelError, Result};
