//! systole-hdl: the rust-hdl generator of the INT8 weight-stationary systolic convolution engine.
//!
//! Sized from a model's layer shapes (`systole_model::summary`) under a resource budget; emits
//! lint-clean Verilog, the C register header and the register map. The generator is tracked in
//! issue 3; this crate is the home of that work and currently exports nothing.
