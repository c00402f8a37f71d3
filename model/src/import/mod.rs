//! Model importers: each turns a source file into the quantized IR ([`crate::ir::Graph`]).

pub mod onnx;
pub mod tflite;
