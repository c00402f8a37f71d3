//! systole-sim: models of the generated accelerator.
//!
//! * [`functional`]: the functional engine model. It executes a packed image's schedule the way
//!   the hardware and its driver will: engine layers by reading descriptors, weight tiles and
//!   params out of a byte-addressed DRAM and running the ENGINE.md tile loop nest; host steps
//!   with the model crate's kernels. Its per-layer executors (`functional::execute_layer`) are
//!   the value path of every simulated engine.
//!
//! * [`cycle`]: the cycle model, [`CycleModel`]: the sequencer's checks and error codes
//!   ([`sequencer`]), values from the functional executors, cycle counts from `arch::timing`,
//!   per-layer reports and the SCALE-Sim comparison (docs/CYCLES.md).
//!
//! * [`workloads`]: synthetic benchmark networks (ResNet-8) for the benchmark and the tests.
//!
//! * [`engine`]: the [`EngineModel`] interface (one engine run on device memory) that the
//!   simulated device front end (registers, START/DONE/IRQ) hosts; the cycle model and the
//!   Verilator RTL implement it.
//!
//! * [`device`]: [`SimDevice`], the simulated device front end: a `systole_host::Device` with
//!   the register file's golden model for registers, a [`functional::Dram`] for memory, and any
//!   [`EngineModel`] behind START, so the host driver runs unchanged on a simulator.

pub mod cycle;
pub mod device;
pub mod engine;
pub mod functional;
pub mod sequencer;
pub mod workloads;

pub use engine::{EngineModel, LayerStats, RunFailure, RunStats};

pub use cycle::CycleModel;
pub use device::SimDevice;
pub use functional::{FunctionalModel, ScheduleRun, SimError};
