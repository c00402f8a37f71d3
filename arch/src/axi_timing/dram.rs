//! A cycle-stepped AXI4 slave with the timing of [`DramTiming`] (see the module docs of
//! [`super`]), a byte-addressable memory, injected back-pressure ([`Stalls`]) and protocol
//! checks. The C++ slave of the co-simulation harness (`blocks/dma/cosim.cpp`) is a line-by-line
//! copy; hdl/tests/dma.rs replays every simulated cycle through this model and requires the same
//! slave outputs on every cycle.
//!
//! Use: each cycle, [`DramModel::outputs`] gives what the slave drives before the next rising
//! edge (it depends on the slave's state only: every output is registered), then
//! [`DramModel::clock`] applies that edge with what the master drove.

use super::stall::{Channel, Stalls};
use super::{BusWidth, DramTiming, MAX_BURST_BEATS, PAGE_BYTES};
use std::collections::VecDeque;
use std::ops::Range;
use thiserror::Error;

/// AXI response codes.
pub const OKAY: u8 = 0;
pub const SLVERR: u8 = 2;
pub const DECERR: u8 = 3;
/// `AxBURST` INCR.
pub const INCR: u8 = 1;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DramConfig {
    pub timing: DramTiming,
    pub bus: BusWidth,
    /// Memory occupies addresses `0..mem_bytes`; a burst reaching beyond gets DECERR.
    pub mem_bytes: u64,
    /// A burst overlapping this range gets SLVERR (empty: never).
    pub slverr: Range<u64>,
    pub stalls: Stalls,
}

impl DramConfig {
    /// The response of every beat of a burst: DECERR if it reaches beyond the memory, SLVERR if
    /// it touches the `slverr` range, else OKAY. Error bursts read zeros and write nothing.
    pub fn response(&self, addr: u64, beats: u64) -> u8 {
        let end = addr + beats * self.bus.beat_bytes();
        if end > self.mem_bytes {
            DECERR
        } else if addr < self.slverr.end && self.slverr.start < end {
            SLVERR
        } else {
            OKAY
        }
    }
}

/// An AR or AW channel as the master drives it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddrSignals {
    pub valid: bool,
    pub addr: u64,
    /// `AxLEN`: beats - 1.
    pub len: u32,
    pub size: u32,
    pub burst: u8,
}

/// Everything the master drives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MasterSignals {
    pub ar: AddrSignals,
    pub rready: bool,
    pub aw: AddrSignals,
    pub wvalid: bool,
    pub wdata: Vec<u8>,
    /// WSTRB: bit i enables byte i of the beat (only strobed bytes are written).
    pub wstrb: u64,
    pub wlast: bool,
    pub bready: bool,
}

/// Everything the slave drives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SlaveSignals {
    pub arready: bool,
    pub rvalid: bool,
    /// The beat's bytes (empty while `rvalid` is low; zeros for an error response).
    pub rdata: Vec<u8>,
    pub rresp: u8,
    pub rlast: bool,
    pub awready: bool,
    pub wready: bool,
    pub bvalid: bool,
    pub bresp: u8,
}

/// A rule the master broke, found at rising edge `edge`. The messages are the C++ slave's, word
/// for word, so the two checkers' reports can be compared.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum Violation {
    #[error("edge {edge}: {channel} burst {addr:#x} + {beats} beats crosses a 4 KB boundary")]
    Crosses4k { edge: u64, channel: &'static str, addr: u64, beats: u64 },
    #[error("edge {edge}: {channel} burst of {beats} beats is longer than 256")]
    TooLong { edge: u64, channel: &'static str, beats: u64 },
    #[error("edge {edge}: {channel} AxBURST {burst} is not INCR")]
    NotIncr { edge: u64, channel: &'static str, burst: u8 },
    #[error("edge {edge}: {channel} AxSIZE {size} is not the bus width's {want}")]
    Size { edge: u64, channel: &'static str, size: u32, want: u32 },
    #[error("edge {edge}: {channel} address {addr:#x} is not beat aligned")]
    Unaligned { edge: u64, channel: &'static str, addr: u64 },
    #[error("edge {edge}: {channel} dropped VALID or changed its payload before READY")]
    Unstable { edge: u64, channel: &'static str },
    #[error("edge {edge}: {channel} burst issued while another is outstanding (one-outstanding rule)")]
    Outstanding { edge: u64, channel: &'static str },
    #[error("edge {edge}: WLAST={} on beat {beat} of a {beats}-beat burst", u8::from(*.wlast))]
    WlastPosition { edge: u64, wlast: bool, beat: u64, beats: u64 },
}

#[derive(Clone, Debug)]
struct Burst {
    addr: u64,
    beats: u64,
    taken: u64,
    /// First edge at which the next beat can be taken.
    next_edge: u64,
    resp: u8,
}

#[derive(Clone, Debug)]
struct Response {
    edge: u64,
    resp: u8,
}

#[derive(Clone, Debug)]
pub struct DramModel {
    config: DramConfig,
    mem: Vec<u8>,
    /// The upcoming rising edge (the first is 1).
    edge: u64,
    reads: VecDeque<Burst>,
    writes: VecDeque<Burst>,
    responses: VecDeque<Response>,
    /// Payloads offered but not taken at the previous edge: they must be offered again.
    held_ar: Option<AddrSignals>,
    held_aw: Option<AddrSignals>,
    held_w: Option<(Vec<u8>, bool, u64)>,
}

impl DramModel {
    /// A slave over `memory` (its length is `config.mem_bytes`).
    pub fn new(config: DramConfig, memory: Vec<u8>) -> DramModel {
        assert_eq!(memory.len() as u64, config.mem_bytes, "memory image size");
        DramModel {
            config,
            mem: memory,
            edge: 1,
            reads: VecDeque::new(),
            writes: VecDeque::new(),
            responses: VecDeque::new(),
            held_ar: None,
            held_aw: None,
            held_w: None,
        }
    }

    pub fn memory(&self) -> &[u8] {
        &self.mem
    }

    /// The rising edge [`DramModel::clock`] applies next.
    pub fn edge(&self) -> u64 {
        self.edge
    }

    /// No burst in flight and no response pending.
    pub fn idle(&self) -> bool {
        self.reads.is_empty() && self.writes.is_empty() && self.responses.is_empty()
    }

    /// What the slave drives before the upcoming edge.
    pub fn outputs(&self) -> SlaveSignals {
        let e = self.edge;
        let stalls = &self.config.stalls;
        let mut s = SlaveSignals {
            arready: !stalls.hit(Channel::Ar, e),
            awready: !stalls.hit(Channel::Aw, e),
            ..SlaveSignals::default()
        };
        if let Some(b) = self.reads.front().filter(|b| e >= b.next_edge) {
            let bytes = self.config.bus.beat_bytes();
            s.rvalid = true;
            s.rresp = b.resp;
            s.rlast = b.taken + 1 == b.beats;
            s.rdata = vec![0; bytes as usize];
            if b.resp == OKAY {
                let at = (b.addr + b.taken * bytes) as usize;
                s.rdata.copy_from_slice(&self.mem[at..at + bytes as usize]);
            }
        }
        s.wready = self.writes.front().is_some_and(|b| e >= b.next_edge) && !stalls.hit(Channel::W, e);
        if let Some(r) = self.responses.front().filter(|r| e >= r.edge) {
            s.bvalid = true;
            s.bresp = r.resp;
        }
        s
    }

    /// Applies the upcoming rising edge with the master's signals `m`; returns the rules `m`
    /// broke (the slave carries on regardless).
    pub fn clock(&mut self, m: &MasterSignals) -> Vec<Violation> {
        let s = self.outputs();
        let e = self.edge;
        let timing = self.config.timing;
        let bytes = self.config.bus.beat_bytes();
        let mut bad = Vec::new();

        // AR, then R: an AR taken at the edge of another burst's RLAST still overlapped it.
        if self.held_ar.as_ref().is_some_and(|held| !m.ar.valid || *held != m.ar) {
            bad.push(Violation::Unstable { edge: e, channel: "AR" });
        }
        self.held_ar = (m.ar.valid && !s.arready).then(|| m.ar.clone());
        if m.ar.valid && s.arready {
            self.check_addr(e, "AR", &m.ar, &mut bad);
            if !self.reads.is_empty() {
                bad.push(Violation::Outstanding { edge: e, channel: "AR" });
            }
            let beats = u64::from(m.ar.len) + 1;
            let resp = self.config.response(m.ar.addr, beats);
            self.reads.push_back(Burst { addr: m.ar.addr, beats, taken: 0, next_edge: e + timing.read_latency, resp });
        }
        if s.rvalid && m.rready {
            if let Some(b) = self.reads.front_mut() {
                b.taken += 1;
                b.next_edge = e + timing.interval;
                if b.taken == b.beats {
                    self.reads.pop_front();
                }
            }
        }

        // W before AW: `wready` already required an AW taken at an earlier edge.
        let w_payload = (m.wdata.clone(), m.wlast, m.wstrb);
        if self.held_w.as_ref().is_some_and(|held| !m.wvalid || *held != w_payload) {
            bad.push(Violation::Unstable { edge: e, channel: "W" });
        }
        self.held_w = (m.wvalid && !s.wready).then_some(w_payload);
        if m.wvalid && s.wready {
            if let Some(b) = self.writes.front_mut() {
                let last = b.taken + 1 == b.beats;
                if m.wlast != last {
                    bad.push(Violation::WlastPosition { edge: e, wlast: m.wlast, beat: b.taken, beats: b.beats });
                }
                if b.resp == OKAY {
                    let at = (b.addr + b.taken * bytes) as usize;
                    for (i, (cell, &byte)) in self.mem[at..at + bytes as usize].iter_mut().zip(&m.wdata).enumerate() {
                        if m.wstrb >> i & 1 == 1 {
                            *cell = byte;
                        }
                    }
                }
                b.taken += 1;
                b.next_edge = e + timing.interval;
                if last {
                    let resp = b.resp;
                    self.writes.pop_front();
                    self.responses.push_back(Response { edge: e + timing.write_latency, resp });
                }
            }
        }

        // AW, then B: an AW taken at the edge of the previous burst's B still overlapped it.
        if self.held_aw.as_ref().is_some_and(|held| !m.aw.valid || *held != m.aw) {
            bad.push(Violation::Unstable { edge: e, channel: "AW" });
        }
        self.held_aw = (m.aw.valid && !s.awready).then(|| m.aw.clone());
        if m.aw.valid && s.awready {
            self.check_addr(e, "AW", &m.aw, &mut bad);
            if !self.writes.is_empty() || !self.responses.is_empty() {
                bad.push(Violation::Outstanding { edge: e, channel: "AW" });
            }
            let beats = u64::from(m.aw.len) + 1;
            let resp = self.config.response(m.aw.addr, beats);
            self.writes.push_back(Burst { addr: m.aw.addr, beats, taken: 0, next_edge: e + 1, resp });
        }
        if s.bvalid && m.bready {
            self.responses.pop_front();
        }

        self.edge += 1;
        bad
    }

    fn check_addr(&self, edge: u64, channel: &'static str, a: &AddrSignals, bad: &mut Vec<Violation>) {
        let bus = self.config.bus;
        let beats = u64::from(a.len) + 1;
        if a.burst != INCR {
            bad.push(Violation::NotIncr { edge, channel, burst: a.burst });
        }
        if a.size != bus.size_log2() {
            bad.push(Violation::Size { edge, channel, size: a.size, want: bus.size_log2() });
        }
        if !a.addr.is_multiple_of(bus.beat_bytes()) {
            bad.push(Violation::Unaligned { edge, channel, addr: a.addr });
        }
        if beats > MAX_BURST_BEATS {
            bad.push(Violation::TooLong { edge, channel, beats });
        }
        if a.addr % PAGE_BYTES + beats * bus.beat_bytes() > PAGE_BYTES {
            bad.push(Violation::Crosses4k { edge, channel, addr: a.addr, beats });
        }
    }
}

/// XOR of a beat's little-endian 64-bit words: how co-simulation traces carry data compactly.
pub fn fold(data: &[u8]) -> u64 {
    data.chunks(8).fold(0, |acc, word| {
        let mut w = [0u8; 8];
        w[..word.len()].copy_from_slice(word);
        acc ^ u64::from_le_bytes(w)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(latency: u64, interval: u64) -> DramConfig {
        DramConfig {
            timing: DramTiming::new(latency, interval).unwrap(),
            bus: BusWidth::new(64).unwrap(),
            mem_bytes: 8192,
            slverr: 4096..4104,
            stalls: Stalls::none(),
        }
    }

    fn ar(addr: u64, len: u32) -> AddrSignals {
        AddrSignals { valid: true, addr, len, size: 3, burst: INCR }
    }

    #[test]
    fn read_burst_follows_latency_and_interval() {
        let mem: Vec<u8> = (0..8192).map(|i| i as u8).collect();
        let mut dram = DramModel::new(config(3, 2), mem);
        // Edge 1: AR taken; beats at 1 + 3 = 4, then 6.
        assert!(dram.clock(&MasterSignals { ar: ar(16, 1), rready: true, ..Default::default() }).is_empty());
        let mut taken = Vec::new();
        for _ in 0..8 {
            let s = dram.outputs();
            if s.rvalid {
                taken.push((dram.edge(), s.rdata[0], s.rlast));
            }
            assert!(dram.clock(&MasterSignals { rready: true, ..Default::default() }).is_empty());
        }
        assert_eq!(taken, [(4, 16, false), (6, 24, true)]);
        assert!(dram.idle());
    }

    #[test]
    fn write_strobes_select_bytes() {
        let mut dram = DramModel::new(config(1, 1), vec![9; 8192]);
        let aw = AddrSignals { valid: true, addr: 8, len: 0, size: 3, burst: INCR };
        let w = MasterSignals {
            wvalid: true,
            wdata: (1..=8).collect(),
            wstrb: 0b1010_0101,
            wlast: true,
            ..Default::default()
        };
        dram.clock(&MasterSignals { aw, ..w.clone() });
        assert!(dram.clock(&w).is_empty());
        assert_eq!(&dram.memory()[8..16], &[1, 9, 3, 9, 9, 6, 9, 8]);
        assert_eq!(&dram.memory()[..8], &[9; 8]);
    }

    #[test]
    fn write_burst_response_and_errors() {
        let mut dram = DramModel::new(config(2, 1), vec![0; 8192]);
        let aw = AddrSignals { valid: true, addr: 4096, len: 0, size: 3, burst: INCR };
        let w = MasterSignals { wvalid: true, wdata: vec![7; 8], wstrb: 0xff, wlast: true, ..Default::default() };
        let first = MasterSignals { aw, ..w.clone() };
        assert!(!dram.outputs().wready, "no W before its AW");
        dram.clock(&first);
        assert!(dram.outputs().wready);
        dram.clock(&w); // edge 2: W taken, B at 4
        assert!(!dram.outputs().bvalid);
        dram.clock(&MasterSignals::default());
        let s = dram.outputs();
        assert_eq!((s.bvalid, s.bresp), (true, SLVERR));
        assert_eq!(dram.memory()[4096], 0, "no write on an error response");
    }

    #[test]
    fn protocol_violations_are_reported() {
        let mut dram = DramModel::new(config(2, 1), vec![0; 8192]);
        let mut stalled = config(2, 1);
        stalled.stalls = Stalls::none().set(Channel::Ar, 100);
        let bad = dram.clock(&MasterSignals { ar: ar(4088, 1), ..Default::default() });
        assert!(matches!(bad[..], [Violation::Crosses4k { .. }]), "{bad:?}");
        let bad = dram.clock(&MasterSignals { ar: ar(0, 0), ..Default::default() });
        assert!(matches!(bad[..], [Violation::Outstanding { .. }]), "{bad:?}");
        let mut dram = DramModel::new(stalled, vec![0; 8192]);
        dram.clock(&MasterSignals { ar: ar(0, 3), ..Default::default() });
        let bad = dram.clock(&MasterSignals { ar: ar(8, 3), ..Default::default() });
        assert!(matches!(bad[..], [Violation::Unstable { .. }]), "{bad:?}");
        assert_eq!(fold(&[1, 0, 0, 0, 0, 0, 0, 0, 3]), 2);
    }
}
