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
//! # Interface and timing (cycles are *enabled* cycles; `en` low freezes everything but the
//! DMA write port, and every other input is ignored)
//!
//! * Layer: the descriptor's geometry fields and the input's buffer address are applied and
//!   `setup` pulsed; `setup_busy` is then high for [`LAYER_SETUP_CYCLES`] (129) cycles while
//!   [`LayerSetup`] derives the byte strides with one shift-add multiplier (run it while the DMA
//!   loads the input). The fields must stay stable until the layer's last pixel has left, and no
//!   command may be given while `setup_busy`.
//! * Tile commands (`start` + k-tile fields `ky kx0 nx c0 nc` + `mode` + `count`) enter a
//!   one-entry queue when `ready`. The queued tile's products (`ky * dil_y`, `kx0 * dil_x`,
//!   `nx * nc`) take [`setup_cycles`]`(R) = min(R, 8)` cycles counting the accepting one; its
//!   first pixel issues in the first cycle after that in which the previous tile has no pixel
//!   left, the others in the next `count - 1` cycles. `ready` is high when the slot is free or
//!   empties in this cycle, so a sequencer that presents the next command as soon as `ready`
//!   gets tiles of at least `setup_cycles` pixels back to back with no bubble; shorter tiles
//!   take `setup_cycles` cycles each, which is never more than the array's own minimum tile
//!   period R. `idle` = nothing queued and nothing left to issue.
//! * `mode` ([`BlockMode`]) names the pixel range without dividing: `Restart` = pixel 0 (a layer's
//!   and every o-tile's first tile), `Next` = the pixel after the previous tile's last (a new
//!   pixel block; every tile of a block streams the same `count` pixels), `Same` = the previous
//!   tile's first pixel (the other tiles of a block).
//! * The R bytes of the pixel issued in cycle t are on `rows$r` with `row_valid` after the
//!   [`LATENCY`]-th (5th) enabled rising edge counting t's own: 3 generator stages, bank read,
//!   rotate + mask. `row_first`/`row_last` mark the tile's first and last pixel (`row_first` is
//!   the array's `tile_start`). A stall holds the outputs.
//! * Row r carries the input byte at `addr + r`, or the zero point for a padded position or a
//!   row beyond the run (`r >= nx * nc`): exactly [`systole_arch::plan::expand_rows`].
//! * DMA beats (`wr_en`, beat-aligned `wr_addr`, `wr_data`) are written whatever `en`, but not
//!   to a byte between the issue of a pixel that reads it and that pixel's exit.
//!
//! R must be a power of two (bank = address mod R by bit selection); addresses wrap modulo the
//! buffer size, so an input may straddle the buffer's end.

pub mod addrgen;
pub mod banks;
pub mod model;
pub mod read;
pub mod regs;
pub mod setup;
pub mod shift_add;
pub mod stimuli;
pub mod top;

pub use addrgen::{setup_cycles, Im2colAddrGen, GEN_LATENCY};
pub use banks::{ActBanks, BankGeometry};
pub use model::{
    golden_rows, request, BufferModel, CycleInputs, CycleOutputs, Im2colModel, Issue, IssueModel, Request,
};
pub use read::{ActRead, READ_LATENCY};
pub use regs::{BlockMode, Im2colError, LayerRegs, TileCmd};
pub use setup::{LayerSetup, LAYER_SETUP_CYCLES};
pub use top::Im2colReader;

/// Enabled rising edges from a pixel's issue cycle (counted) to its rows on the outputs.
pub const LATENCY: usize = GEN_LATENCY + READ_LATENCY;
