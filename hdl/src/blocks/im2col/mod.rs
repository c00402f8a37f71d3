//! Implicit im2col (docs/ENGINE.md, "K tiling follows memory"): the address generator and the
//! activation buffer read path that feed the array one output pixel's k-tile per cycle.
//!
//! | module | job |
//! |---|---|
//! | [`regs`] | layer registers (byte strides) and tile commands from arch's geometry and plan |
//! | [`addrgen`] | [`Im2colAddrGen`]: counters and adders, one request (address, run length, row mask) per cycle |
//! | [`shift_add`] | the per-tile products of 8-bit kernel indices, by shift-and-add |
//! | [`banks`] | [`ActBanks`]: R byte banks (custom Verilog: block RAM with read enable) and the DMA write port |
//! | [`read`] | [`ActRead`]: banks, barrel rotator, zero-point substitution |
//! | [`top`] | [`Im2colReader`] = generator + read path |
//! | [`setup`] | [`LayerSetup`]: the layer registers from the descriptor's geometry, one shared shift-add multiplier |
//! | [`model`] | golden models: request formula, plan-expansion rows, cycle-level contract |
//! | [`stimuli`] | random layers and loop-nest streams with stalls and gaps for the tests |
//!
//! # Interface and timing (cycles are *enabled* cycles; `en` low freezes everything)
//!
//! * Layer registers ([`LayerRegs`]) must be stable from a layer's first issue until its last
//!   pixel has left (`LATENCY` enabled cycles after its issue).
//! * A tile command (`start` + k-tile fields + `mode` + `count`) is taken in an enabled cycle in
//!   which `idle` is high; its first pixel issues in that cycle and the others in the next
//!   `count - 1` enabled cycles. `idle` rises in the cycle after the last issue, so a command
//!   presented then follows with no bubble: tiles stream back to back whatever their length.
//! * `mode` ([`BlockMode`]) names the pixel range without dividing: `Restart` = pixel 0 (a layer's
//!   and every o-tile's first tile), `Next` = the pixel after the previous tile's last (a new
//!   pixel block; every tile of a block streams the same `count` pixels), `Same` = the previous
//!   tile's first pixel (the other tiles of a block).
//! * The R bytes of the pixel issued in cycle t appear on `rows$r` with `row_valid` right after
//!   the [`LATENCY`]-th enabled rising edge counting t's own, with `row_first`/`row_last`
//!   marking the tile's first and last pixel (`row_first` is the array's `tile_start`).
//! * Row r carries the input byte at `addr + r`, or the zero point for a padded position or a
//!   row beyond the run (`r >= nx * nc`), exactly [`systole_arch::plan::expand_rows`].
//! * DMA beats may be written at any time, but not to a byte between the cycle a pixel that
//!   reads it issues and the cycle it leaves (the model reads at exit, the RTL at the bank read).

pub mod addrgen;
pub mod banks;
pub mod model;
pub mod read;
pub mod regs;
// pub mod setup;
pub mod shift_add;
pub mod stimuli;
pub mod top;

pub use addrgen::{Im2colAddrGen, GEN_LATENCY};
pub use banks::{ActBanks, BankGeometry};
pub use model::{
    golden_rows, request, BufferModel, CycleInputs, CycleOutputs, Im2colModel, Issue, IssueModel, Request,
};
pub use read::{ActRead, READ_LATENCY};
pub use regs::{BlockMode, Im2colError, LayerRegs, TileCmd};
// pub use setup::LayerSetup;
pub use top::Im2colReader;

/// Enabled rising edges from a pixel's issue cycle (counted) to its rows on the outputs.
pub const LATENCY: usize = GEN_LATENCY + READ_LATENCY;
