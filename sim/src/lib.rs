//! systole-sim: models of the generated accelerator.
//!
//! * [`functional`]: the functional engine model. It executes a packed image's schedule the way
//!   the hardware and its driver will: engine layers by reading descriptors, weight tiles and
//!   params out of a byte-addressed DRAM and running the ENGINE.md tile loop nest; host steps
//!   with the model crate's kernels. It is the value path the cycle model will reuse.
//!
//! * [`engine`]: the [`EngineModel`] interface (one engine run on device memory) that the
//!   simulated device front end (registers, START/DONE/IRQ) hosts; the cycle model and the
//!   Verilator RTL implement it.

pub mod cycle;
pub mod engine;
pub mod functional;
pub mod sequencer;
pub mod workloads;

pub use engine::{EngineModel, LayerStats, RunFailure, RunStats};

pub use cycle::CycleModel;
pub use functional::{FunctionalModel, ScheduleRun, SimError};
