//! The R x C weight-stationary systolic array (docs/ENGINE.md, "Dataflow"), R and C chosen at
//! generation time.
//!
//! Interface: one pixel's R activation bytes in per enabled cycle, that pixel's C partial sums
//! out [`latency`]`(R, C) = R + C + 1` enabled cycles later, all in the same cycle. Inside: zero
//! points subtracted at the left and top edges (9-bit operands), row r skewed by r, column c
//! de-skewed by C - 1 - c, PEs with a load pipe, shadow and active weight ([`crate::blocks::pe`]).
//!
//! Timing rules for the sequencer (cycles are *enabled* cycles; `en` low freezes everything and
//! ignores every input):
//! * `w_shift` moves one row of C weight bytes (with their per-column zero points) into the
//!   load pipes. A tile's R rows are shifted bottom row first: the k-th of its R shifts carries
//!   row R-1-k.
//! * `tile_start` marks the first pixel of a tile. In that cycle the last R rows shifted in
//!   earlier cycles are committed, and the swap to them sweeps the array with that pixel. All R
//!   must have been shifted at or after the previous tile start's cycle (a shift in the tile
//!   start's own cycle already belongs to the next tile). So tile starts are at least R cycles
//!   apart: a tile shorter than R pixels is padded with invalid slots, which the weight
//!   bandwidth (C bytes per cycle, R cycles per tile) requires anyway.
//! * Tiles need no gap otherwise: the array never drains between tiles.
//!
//! [`model::ArrayModel`] enforces the rules (a [`model::TimingError`] names the cycle).

pub mod edge;
pub mod model;
pub mod rtl;
pub mod stimuli;

pub use model::{tile_reference, ArrayInputs, ArrayModel, ArrayOutputs, Tile, TimingError};
pub use rtl::{latency, SystolicArray};
