//! systole-sim: models of the generated accelerator.
//!
//! * [`functional`]: the functional engine model. It executes a packed image's schedule the way
//!   the hardware and its driver will: engine layers by reading descriptors, weight tiles and
//!   params out of a byte-addressed DRAM and running the ENGINE.md tile loop nest; host steps
//!   with the model crate's kernels. It is the value path the cycle model will reuse.
//!
//! The cycle-level model and the Verilator harness (issue 4) will implement
//! `systole_host::Device` on top of it.

pub mod functional;

pub use functional::{FunctionalModel, SimError};
