//! The register file's semantics, without bus timing: which role each register of
//! [`crate::regmap::REGISTERS`] has in hardware ([`layout`]) and what every read and write does
//! per clock edge ([`model`]). The RTL register bank (`systole_hdl::blocks::regs`) is checked
//! against [`model`] in Verilator, and the cycle model's register front end *is* [`model`], so
//! a driver sees the same register behaviour on a board, the RTL and the simulator.

pub mod layout;
pub mod model;

pub use layout::{LayoutError, RegLayout, Resp, Unmapped};
pub use model::{strobe_mask, BankModel, CoreInputs, CoreOutputs, WriteOp};
