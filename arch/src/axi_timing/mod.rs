//! AXI4 burst rules and the exact cycle timing of the DMA engines (`blocks::dma`) against a
//! simple DRAM, for the cycle model. Nothing here depends on rust-hdl, so the module can move to
//! a crate the cycle model already uses (`arch/`) unchanged.
//!
//! # The DRAM ([`DramTiming`], simulated by [`dram::DramModel`] and the C++ co-simulation slave)
//!
//! Edges are numbered; "at edge e" means sampled by rising edge e.
//! * AR/AW are accepted whenever offered (unless back-pressure is injected).
//! * Read burst accepted (AR handshake) at edge `a`: its first beat can be taken at edge
//!   `a + read_latency`, each further beat `interval` edges after the previous beat was taken.
//! * Write burst accepted (AW handshake) at edge `a`: its first beat can be taken at edge
//!   `a + 1` (the slave never takes W beats before their AW), each further beat `interval`
//!   edges after the previous one; the B response can be taken `write_latency` edges after the
//!   WLAST beat.
//!
//! The interval applies within a burst only: each burst starts after its own address latency.
//!
//! # The engines (one burst outstanding, `B` bursts for `N` beats, see [`Transfer::bursts`])
//!
//! Read, command accepted at edge `c`: AR is offered from a register (handshake `c + 1`), R beats
//! go through a register slice to the stream output (delivered one edge after their R
//! handshake), the next AR is offered after the RLAST handshake. So each burst of `n` beats
//! costs `1 + read_latency + (n - 1) * interval` edges and the slice adds one:
//!
//! `read_cycles = B * (read_latency + 1) + (N - B) * interval + 1` (edge of the last delivered beat - c)
//!
//! Write, command accepted at edge `c`: AW offered from a register (handshake `c + 1`), the
//! first input beat enters the W register at `c + 1` and is taken at `c + 2`, the B response is
//! taken at `last W + write_latency`, the next burst starts after it. So each burst costs
//! `2 + (n - 1) * interval + write_latency`:
//!
//! `write_cycles = B * (write_latency + 2) + (N - B) * interval` (edge of the last B handshake - c; the
//! engine's `done` pulse is visible right after that edge)
//!
//! Both assume the consumer (read) is always ready, the producer (write) always valid and no
//! injected back-pressure; they are exact then (checked against the RTL under Verilator by
//! hdl/tests/dma.rs). A zero-beat command is accepted and does nothing (0 cycles; the write
//! engine still pulses `done`). An idle engine accepts a command at the edge it is offered; a
//! command already waiting is accepted [`read_next_gap`] / [`write_next_gap`] edges after the
//! previous command's end edge, so back-to-back commands take [`read_sequence_cycles`] /
//! [`write_sequence_cycles`].
//!
//! The read and write engines share the AXI port but no channel, and this DRAM serves reads and
//! writes independently: a read and a write running together take the same cycles as alone.

pub mod dram;
pub mod stall;

use thiserror::Error;

/// AXI4's 4 KB rule: no burst crosses an address boundary of this size.
pub const PAGE_BYTES: u64 = 4096;
/// Longest AXI4 INCR burst.
pub const MAX_BURST_BEATS: u64 = 256;
/// Width of the engines' byte address (`cmd_addr`, `AxADDR`).
pub const ADDR_BITS: u32 = 32;
/// Width of the engines' beat count (`cmd_beats`): up to 2^24 - 1 beats per command.
pub const BEATS_BITS: u32 = 24;

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum TimingError {
    #[error("AXI data width {0} bits is not one of 64, 128, 256, 512")]
    Width(u32),
    #[error("DRAM {what} must be at least 1 cycle")]
    ZeroCycles { what: &'static str },
    #[error("address {addr:#x} is not aligned to the {bytes}-byte beat")]
    Unaligned { addr: u64, bytes: u64 },
    #[error("{beats} beats exceed the command's {BEATS_BITS}-bit length field")]
    TooLong { beats: u64 },
    #[error("transfer {addr:#x} + {bytes} bytes leaves the {ADDR_BITS}-bit address space")]
    OutOfRange { addr: u64, bytes: u64 },
}

/// The AXI data width (a generation parameter of the engines).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BusWidth {
    bits: u32,
}

impl BusWidth {
    pub const ALL: [u32; 4] = [64, 128, 256, 512];

    pub fn new(bits: u32) -> Result<BusWidth, TimingError> {
        if Self::ALL.contains(&bits) {
            Ok(BusWidth { bits })
        } else {
            Err(TimingError::Width(bits))
        }
    }

    pub fn bits(self) -> u32 {
        self.bits
    }

    pub fn beat_bytes(self) -> u64 {
        u64::from(self.bits / 8)
    }

    /// `AxSIZE`: log2 of the beat bytes (every beat is full width).
    pub fn size_log2(self) -> u32 {
        (self.bits / 8).trailing_zeros()
    }
}

/// The DRAM as the DMA sees it (module docs), in cycles of the DMA clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DramTiming {
    /// AR handshake to the first R beat's handshake (>= 1).
    pub read_latency: u64,
    /// WLAST handshake to the B handshake (>= 1).
    pub write_latency: u64,
    /// Between beats of one burst (>= 1; 1 = a beat every cycle).
    pub interval: u64,
}

impl DramTiming {
    /// The same `latency` for reads and write responses.
    pub fn new(latency: u64, interval: u64) -> Result<DramTiming, TimingError> {
        DramTiming { read_latency: latency, write_latency: latency, interval }.validated()
    }

    pub fn validated(self) -> Result<DramTiming, TimingError> {
        // Zero would mean a combinational slave, which the model's registered channels exclude.
        for (what, v) in [("read latency", self.read_latency), ("write latency", self.write_latency)] {
            if v == 0 {
                return Err(TimingError::ZeroCycles { what });
            }
        }
        if self.interval == 0 {
            return Err(TimingError::ZeroCycles { what: "beat interval" });
        }
        Ok(self)
    }
}

/// One AXI burst: full-width INCR beats from a beat-aligned address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Burst {
    pub addr: u64,
    pub beats: u64,
}

/// One DMA command: `beats` full-width beats from the beat-aligned byte address `addr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transfer {
    pub addr: u64,
    pub beats: u64,
    pub bus: BusWidth,
}

impl Transfer {
    /// Checks what the engines assume: alignment, the length field, the address space.
    pub fn new(addr: u64, beats: u64, bus: BusWidth) -> Result<Transfer, TimingError> {
        let bytes = bus.beat_bytes();
        if !addr.is_multiple_of(bytes) {
            return Err(TimingError::Unaligned { addr, bytes });
        }
        if beats >= 1 << BEATS_BITS {
            return Err(TimingError::TooLong { beats });
        }
        if addr + beats * bytes > 1 << ADDR_BITS {
            return Err(TimingError::OutOfRange { addr, bytes: beats * bytes });
        }
        Ok(Transfer { addr, beats, bus })
    }

    /// The engines' bursts, in order: each as long as possible (256 beats), cut at 4 KB
    /// boundaries. This is the RTL's `BurstPlanner`: `len = min(left, 256, beats to the boundary)`.
    pub fn bursts(&self) -> impl Iterator<Item = Burst> {
        let bytes = self.bus.beat_bytes();
        let (mut addr, mut left) = (self.addr, self.beats);
        std::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            let to_page = (PAGE_BYTES - addr % PAGE_BYTES) / bytes;
            let beats = left.min(MAX_BURST_BEATS).min(to_page);
            let burst = Burst { addr, beats };
            addr += beats * bytes;
            left -= beats;
            Some(burst)
        })
    }

    /// How many bursts [`Transfer::bursts`] yields, in O(pages): a page segment of `s` beats is
    /// `ceil(s / 256)` bursts.
    pub fn burst_count(&self) -> u64 {
        let bytes = self.bus.beat_bytes();
        let page_beats = PAGE_BYTES / bytes;
        let first = ((PAGE_BYTES - self.addr % PAGE_BYTES) / bytes).min(self.beats);
        let rest = self.beats - first;
        let per_page = page_beats.div_ceil(MAX_BURST_BEATS);
        let tail = rest % page_beats;
        first.div_ceil(MAX_BURST_BEATS) + (rest / page_beats) * per_page + tail.div_ceil(MAX_BURST_BEATS)
    }
}

/// Edges from accepting read command `t` to delivering its last beat (module docs).
pub fn read_cycles(t: &Transfer, dram: &DramTiming) -> u64 {
    if t.beats == 0 {
        return 0;
    }
    let b = t.burst_count();
    b * (dram.read_latency + 1) + (t.beats - b) * dram.interval + 1
}

/// Edges from accepting write command `t` to its last B handshake (module docs).
pub fn write_cycles(t: &Transfer, dram: &DramTiming) -> u64 {
    if t.beats == 0 {
        return 0;
    }
    let b = t.burst_count();
    b * (dram.write_latency + 2) + (t.beats - b) * dram.interval
}

/// Edges from read command `t`'s end to accepting a command already waiting: the engine is idle
/// again right after the RLAST handshake, one edge before the last beat leaves its register
/// slice, so the next command is accepted at the same edge (a zero-beat command ends at its
/// accepting edge and the next one waits one edge).
pub fn read_next_gap(t: &Transfer) -> u64 {
    u64::from(t.beats == 0)
}

/// Edges from write command `t`'s end (last B handshake, or accepting a zero-beat command) to
/// accepting a command already waiting: the engine is idle from the edge after.
pub fn write_next_gap(_t: &Transfer) -> u64 {
    1
}

/// Edges from accepting the first of `ts` to the end of the last, each next command waiting at
/// the read engine's command port (the sum of [`read_cycles`] and [`read_next_gap`]s).
pub fn read_sequence_cycles(ts: &[Transfer], dram: &DramTiming) -> u64 {
    let gaps: u64 = ts.iter().rev().skip(1).map(read_next_gap).sum();
    ts.iter().map(|t| read_cycles(t, dram)).sum::<u64>() + gaps
}

/// As [`read_sequence_cycles`], for the write engine.
pub fn write_sequence_cycles(ts: &[Transfer], dram: &DramTiming) -> u64 {
    let gaps: u64 = ts.iter().rev().skip(1).map(write_next_gap).sum();
    ts.iter().map(|t| write_cycles(t, dram)).sum::<u64>() + gaps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn bus(bits: u32) -> BusWidth {
        BusWidth::new(bits).unwrap()
    }

    #[test]
    fn bursts_obey_axi_rules_and_count_matches() {
        let mut rng = Rng(0xb0);
        for _ in 0..20_000 {
            let w = bus(rng.pick(&BusWidth::ALL));
            let bytes = w.beat_bytes();
            let page = rng.below(64);
            let near = rng.below(3 * 256) * bytes;
            // Up to 767 beats (48 KB at 512 bits) below a page boundary.
            let addr = (page + 16) * PAGE_BYTES - near;
            let beats = if rng.chance(5) { rng.below(200_000) } else { rng.below(1200) };
            let t = Transfer::new(addr, beats, w).unwrap();
            let list: Vec<Burst> = t.bursts().collect();
            assert_eq!(list.len() as u64, t.burst_count(), "{t:?}");
            assert_eq!(list.iter().map(|b| b.beats).sum::<u64>(), beats);
            let mut next = addr;
            for b in &list {
                assert_eq!(b.addr, next);
                assert!((1..=MAX_BURST_BEATS).contains(&b.beats));
                assert_eq!(b.addr / PAGE_BYTES, (b.addr + b.beats * bytes - 1) / PAGE_BYTES, "crosses 4 KB");
                next += b.beats * bytes;
            }
        }
    }

    #[test]
    fn worked_examples() {
        let dram = DramTiming::new(10, 2).unwrap();
        // 64-bit bus, 300 beats from 8 bytes below a page: 1 + 256 + 43 beats = 3 bursts.
        let t = Transfer::new(0x1ff8, 300, bus(64)).unwrap();
        assert_eq!(t.bursts().map(|b| b.beats).collect::<Vec<_>>(), [1, 256, 43]);
        assert_eq!(read_cycles(&t, &dram), 3 * 11 + 297 * 2 + 1);
        assert_eq!(write_cycles(&t, &dram), 3 * 12 + 297 * 2);
        // 512-bit bus: 64 beats per page, one burst per page.
        let t = Transfer::new(0x3000, 130, bus(512)).unwrap();
        assert_eq!(t.burst_count(), 3);
        let single = Transfer::new(0, 1, bus(128)).unwrap();
        assert_eq!(read_cycles(&single, &DramTiming::new(1, 1).unwrap()), 3);
        assert_eq!(write_cycles(&single, &DramTiming::new(1, 1).unwrap()), 3);
        assert_eq!(read_cycles(&Transfer::new(64, 0, bus(512)).unwrap(), &dram), 0);
    }

    #[test]
    fn rejects_bad_parameters() {
        assert_eq!(BusWidth::new(32), Err(TimingError::Width(32)));
        assert!(matches!(DramTiming::new(0, 1), Err(TimingError::ZeroCycles { .. })));
        assert!(matches!(DramTiming::new(1, 0), Err(TimingError::ZeroCycles { .. })));
        assert!(matches!(Transfer::new(4, 1, bus(64)), Err(TimingError::Unaligned { .. })));
        assert!(matches!(Transfer::new(0, 1 << 24, bus(64)), Err(TimingError::TooLong { .. })));
        assert!(matches!(Transfer::new(0xffff_fff8, 2, bus(64)), Err(TimingError::OutOfRange { .. })));
    }
}
