//! The CONV layer unit (work in progress; see hdl/README.md "CONV layer unit interface").
//!
//! | module | job |
//! |---|---|
//! | [`model`] | golden channel-slice write: beat-aligned range, strobes, (pixel, channel) per byte slot |
//! | [`cosim`] | `ConvCosimTop` (unit + `Dma`) and its Verilator run on the C++ AXI DRAM slave |
//! | [`div`] | `Div16`: restoring divider for channels per group (layer setup) |
//! | [`unit`] | `ConvUnit`: the layer unit (phases, loop counters, buffers, write-back) |
//! | [`nibble`] | `SignExtend4`: a 4-bit engine's weight nibble -> the array's sign-extended weight byte |
//! | [`packer`] | `BeatPacker`: byte slots -> W-bit beats + byte strobes |
//! | [`walker`] | `SliceWalker`: the write-back's slot walker (counters only), RTL of [`model`] |

pub mod cosim;
pub mod div;
pub mod model;
pub mod nibble;
pub mod packer;
pub mod unit;
pub mod walker;

pub use cosim::{unit_fields, ConvCosim, ConvCosimTop, ConvOutcome, ConvStimulus};
pub use model::{SliceWrite, Slot};
pub use packer::BeatPacker;
pub use unit::{ConvUnit, ConvUnitError};
pub use walker::SliceWalker;
