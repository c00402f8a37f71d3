//! The AXI4-Lite slave and register file, generated from arch's register table
//! (`systole_arch::regmap::REGISTERS`) for one `ArchConfig`.
//!
//! | module | job |
//! |---|---|
//! | [`layout`] | (`systole_arch::regfile::layout`) binds every table register to a role (constant, core input, counter, RW, IRQ) and checks the binding against the table; widths (`ADDR_BITS`, `IRQ_BITS`) |
//! | [`model`] | (`systole_arch::regfile::model`) golden register semantics per edge, no bus timing (the cycle model's register front end) |
//! | [`axil_model`] | cycle-accurate golden model of the AXI4-Lite slave around [`model`] |
//! | [`master`] | random AXI4-Lite master for co-simulation |
//! | [`slave`] | RTL: AXI4-Lite handshakes, one write and one read buffer |
//! | [`bank`] | RTL: register storage, decode, pulses, IRQ, counter latches |
//! | [`rtl`] | RTL top: [`RegFile`] = slave + bank |
//!
//! `layout` and `model` live in `systole-arch` beside the register table (the cycle model uses
//! them without rust-hdl); `axil_model` and `master` do not use rust-hdl either.

pub mod axil_model;
pub mod bank;
pub mod master;
pub use systole_arch::regfile::{layout, model};
pub mod rtl;
pub mod slave;

pub use axil_model::{AxilIn, AxilOut, RegFileModel};
pub use layout::{LayoutError, RegLayout, Resp, Unmapped};
pub use model::{strobe_mask, BankModel, CoreInputs, CoreOutputs, WriteOp};
pub use rtl::RegFile;
