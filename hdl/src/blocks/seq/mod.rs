//! The layer sequencer and the DMA arbiter (contract: `systole_arch::timing::seq`, docs/ENGINE.md
//! "Sequencer", hdl/README.md "Sequencer interface").
//!
//! | module | job |
//! |---|---|
//! | [`fsm`] | [`Sequencer`]: START, descriptor fetch + checks, unit start/done, perf record, END, counters, SOFT_RESET |
//! | [`fields`] | [`DescFields`]: the kept descriptor words -> one signal per `DESCRIPTOR_FIELDS` entry |
//! | [`arbiter`] | [`DmaArbiter`]: the DMA port to the sequencer or to the running unit (combinational) |
//! | [`consts`] | width-dependent constants (beats, per-beat reserved / checksum masks) from arch's table |

pub mod arbiter;
pub mod consts;
pub mod fields;
pub mod fsm;

pub use arbiter::DmaArbiter;
pub use fields::DescFields;
pub use fsm::Sequencer;
