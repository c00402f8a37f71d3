//! A random AXI4-Lite master for co-simulation against the golden model.
//!
//! The Verilator harness applies a precomputed input vector per cycle, so the master reacts to
//! the *golden model's* outputs while the vectors are generated; the RTL is then compared with
//! the model cycle by cycle, and the first divergence is reported before the master's view could
//! drift. The master obeys AXI4-Lite: a VALID, once raised, stays up with its payload stable
//! until the handshake; AW and W of a write each wait an independent random delay (so AW first,
//! W first and both at once all happen); BREADY and RREADY are random, with occasional long
//! stalls; addresses mix every mapped register, unmapped words and misaligned bytes.

use super::axil_model::{AxilIn, AxilOut};
use super::layout::{Counter, Pulse, RegLayout};
use super::model::WriteOp;
use crate::rng::Rng;
use std::collections::VecDeque;
use systole_arch::regmap::REG_WINDOW_BYTES;

/// How busy the master is (percentages per cycle).
#[derive(Clone, Copy, Debug)]
pub struct Knobs {
    /// Chance of queueing a new write (when fewer than 3 are queued).
    pub write: u64,
    /// Chance of queueing a new read.
    pub read: u64,
    /// Largest random VALID delay, in cycles (half the delays are 0).
    pub max_delay: u64,
    /// BREADY / RREADY chance per cycle outside stalls.
    pub ready: u64,
    /// Chance per cycle of starting a 5..40-cycle BREADY or RREADY stall.
    pub stall: u64,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs { write: 30, read: 30, max_delay: 4, ready: 70, stall: 2 }
    }
}

#[derive(Clone, Debug)]
struct Channel<T> {
    queue: VecDeque<T>,
    delay: u64,
}

impl<T: Copy> Channel<T> {
    fn new() -> Self {
        Channel { queue: VecDeque::new(), delay: 0 }
    }

    /// The payload offered this cycle (the delay reached 0).
    fn offer(&self) -> Option<T> {
        if self.delay == 0 {
            self.queue.front().copied()
        } else {
            None
        }
    }

    /// After an edge: pop on handshake and draw the next delay; else count the delay down.
    fn advance(&mut self, taken: bool, rng: &mut Rng, max_delay: u64) {
        if taken {
            self.queue.pop_front();
            self.delay = if rng.chance(50) { 0 } else { 1 + rng.below(max_delay.max(1)) };
        } else {
            self.delay = self.delay.saturating_sub(1);
        }
    }
}

/// The random master.
#[derive(Clone, Debug)]
pub struct RandomMaster {
    rng: Rng,
    knobs: Knobs,
    offsets: Vec<u32>,
    control: u32,
    control_pulses: u32,
    irq_clear: u32,
    counters: Vec<(u32, u32)>,
    aw: Channel<u32>,
    w: Channel<(u32, u8)>,
    ar: Channel<u32>,
    bready: bool,
    rready: bool,
    b_stall: u64,
    r_stall: u64,
}

impl RandomMaster {
    pub fn new(layout: &RegLayout, seed: u64, knobs: Knobs) -> RandomMaster {
        let pulses = Pulse::ALL.iter().fold(0, |m, p| m | layout.pulse_mask(*p));
        RandomMaster {
            rng: Rng(seed),
            knobs,
            offsets: layout.entries.iter().map(|e| e.offset()).collect(),
            control: layout.pulse_offset(Pulse::Start),
            control_pulses: pulses,
            irq_clear: layout.irq_clear().offset(),
            counters: Counter::ALL
                .iter()
                .map(|c| (layout.counter_lo(*c).offset(), layout.counter_hi(*c).offset()))
                .collect(),
            aw: Channel::new(),
            w: Channel::new(),
            ar: Channel::new(),
            bready: false,
            rready: false,
            b_stall: 0,
            r_stall: 0,
        }
    }

    fn address(&mut self) -> u32 {
        let window = u64::from(REG_WINDOW_BYTES);
        match self.rng.below(20) {
            0..=13 => self.rng.pick(&self.offsets),
            14 => self.control,
            15 => self.irq_clear,
            16 | 17 => 4 * self.rng.below(window / 4) as u32,
            _ => self.rng.below(window) as u32,
        }
    }

    fn write_op(&mut self) -> WriteOp {
        let addr = self.address();
        let mut data = self.rng.next_u64() as u32;
        if addr == self.control && self.rng.chance(60) {
            // Mostly quiet CONTROL writes: pulses a third of the time, IRQ_ENABLE random.
            data &= !self.control_pulses | if self.rng.chance(35) { u32::MAX } else { 0 };
        }
        let strb = if self.rng.chance(50) { 0xf } else { self.rng.below(16) as u8 };
        WriteOp { addr, data, strb }
    }

    fn queue_read(&mut self) {
        // Counters as LO then HI pairs half the time (the documented 64-bit read).
        if self.rng.chance(25) {
            let (lo, hi) = self.rng.pick(&self.counters);
            self.ar.queue.push_back(lo);
            self.ar.queue.push_back(hi);
        } else {
            let addr = self.address();
            self.ar.queue.push_back(addr);
        }
    }

    /// The master's signals for this cycle.
    pub fn drive(&self) -> AxilIn {
        let aw = self.aw.offer();
        let w = self.w.offer();
        let ar = self.ar.offer();
        AxilIn {
            awvalid: aw.is_some(),
            awaddr: aw.unwrap_or(0),
            wvalid: w.is_some(),
            wdata: w.map_or(0, |w| w.0),
            wstrb: w.map_or(0, |w| w.1),
            bready: self.bready,
            arvalid: ar.is_some(),
            araddr: ar.unwrap_or(0),
            rready: self.rready,
        }
    }

    /// After the edge that applied `driven` while the slave showed `seen` (its outputs before
    /// that edge): retire handshakes, queue new work, draw the next cycle's readies.
    pub fn advance(&mut self, driven: &AxilIn, seen: &AxilOut) {
        let max = self.knobs.max_delay;
        self.aw.advance(driven.awvalid && seen.awready, &mut self.rng, max);
        self.w.advance(driven.wvalid && seen.wready, &mut self.rng, max);
        self.ar.advance(driven.arvalid && seen.arready, &mut self.rng, max);
        if self.aw.queue.len().max(self.w.queue.len()) < 3 && self.rng.chance(self.knobs.write) {
            let op = self.write_op();
            self.aw.queue.push_back(op.addr);
            self.w.queue.push_back((op.data, op.strb));
        }
        if self.ar.queue.len() < 3 && self.rng.chance(self.knobs.read) {
            self.queue_read();
        }
        let stall = |rng: &mut Rng, left: &mut u64, knobs: &Knobs| {
            if *left == 0 && rng.chance(knobs.stall) {
                *left = 5 + rng.below(36);
            }
            *left = left.saturating_sub(1);
            *left == 0 && rng.chance(knobs.ready)
        };
        self.bready = stall(&mut self.rng, &mut self.b_stall, &self.knobs);
        self.rready = stall(&mut self.rng, &mut self.r_stall, &self.knobs);
    }

    /// No transfer queued or in flight on the master side.
    pub fn idle(&self) -> bool {
        self.aw.queue.is_empty() && self.w.queue.is_empty() && self.ar.queue.is_empty()
    }
}
