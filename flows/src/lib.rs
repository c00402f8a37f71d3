//! Open FPGA flows for a generated systole engine (`systole synth`): Yosys synthesis for
//! Xilinx 7-series, ECP5 and iCE40 parts, nextpnr place and route with the achieved Fmax, and
//! ECP5 bitstreams for a named board (a wrapper with a UART-to-AXI-Lite bridge and on-chip
//! device memory, `bitstreams/`).
//!
//! A crate of its own rather than part of `systole-hdl`: it drives external tools on the files
//! `systole generate` wrote (`arch.json`, `<name>.v`) and needs nothing of the generator
//! (rust-hdl), so it builds in seconds and cannot drift with the generator's internals.

pub mod board;
pub mod error;
pub mod flow;
pub mod harness;
pub mod nextpnr;
pub mod ports;
pub mod target;
pub mod tools;
pub mod yosys;

pub use board::Board;
pub use error::FlowError;
pub use flow::{synth, Design, Progress, SynthOptions, SynthReport};
pub use target::Target;
pub use tools::Toolbox;
