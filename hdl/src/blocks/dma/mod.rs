//! The accelerator's memory interface: AXI4 master read and write DMA engines with exact,
//! documented timing (`crate::axi_timing`), and their Verilator co-simulation against a C++
//! DRAM model ([`cosim`]).
//!
//! | module | job |
//! |---|---|
//! | [`read`] | command -> AR bursts (one outstanding) -> R beats -> stream out |
//! | [`write`] | command + stream in -> AW + W bursts (one outstanding) -> B, `done`, `error` |
//! | [`top`] | both engines on one AXI4 master port (the co-simulated design) |
//! | [`planner`] | `min(left, 256, beats to 4 KB)`, shared by both engines |
//! | [`skid`] | two-entry register slice: registered data and ready on the 512-bit paths |
//! | [`cosim`] | C++ harness: DRAM slave (latency, interval, stalls, protocol checks), stimulus, trace |
//!
//! The data width `W` is a const generic in {64, 128, 256, 512}; the write side also takes the
//! WSTRB width `S = W / 8`. Use the aliases ([`Dma64`] ... [`Dma512`]).

pub mod cosim;
pub mod planner;
pub mod read;
pub mod skid;
pub mod top;
pub mod write;

use crate::axi_timing::BusWidth;

pub use read::DmaRead;
pub use top::Dma;
pub use write::DmaWrite;

pub type Dma64 = Dma<64, 8>;
pub type Dma128 = Dma<128, 16>;
pub type Dma256 = Dma<256, 32>;
pub type Dma512 = Dma<512, 64>;
pub type DmaWrite64 = DmaWrite<64, 8>;
pub type DmaWrite512 = DmaWrite<512, 64>;

/// The bus of a generic width; the engines refuse other widths when constructed.
fn bus_of(bits: usize) -> BusWidth {
    u32::try_from(bits)
        .ok()
        .and_then(|b| BusWidth::new(b).ok())
        .unwrap_or_else(|| panic!("DMA data width {bits} is not one of {:?}", BusWidth::ALL))
}

/// Width-dependent constants of the AXI channels.
struct AxiConsts {
    /// Clears the byte-in-beat address bits.
    align_mask: u64,
    /// log2(beat bytes): `AxSIZE` and the beats -> bytes shift.
    shift: u64,
    incr: u64,
}

fn axi_consts(bus: BusWidth) -> AxiConsts {
    AxiConsts {
        align_mask: 0xffff_ffff & !(bus.beat_bytes() - 1),
        shift: u64::from(bus.size_log2()),
        incr: u64::from(crate::axi_timing::dram::INCR),
    }
}
