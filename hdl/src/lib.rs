//! systole-hdl: the rust-hdl generator of the INT8 weight-stationary systolic convolution engine.
//!
//! Foundation (issue 3): the emission wrapper around rust-hdl 0.46 ([`emit`]), the checks with
//! real tools ([`check`]), a Verilator harness for comparing RTL with Rust golden models
//! ([`verilator`]), and the blocks ([`blocks`]): the processing element, the R x C systolic
//! array, the per-channel requantiser and the AXI4-Lite register file (generated from arch's
//! register table), each with a pure Rust golden model beside it.

/// Moved to `systole-arch` (the cycle model uses it without rust-hdl); re-exported for the blocks.
pub use systole_arch::axi_timing;
pub mod blocks;
pub mod check;
pub mod cosim;
pub mod emit;
pub use systole_arch::rng;
pub mod sizing;
pub mod verilator;
