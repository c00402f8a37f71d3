//! Golden model of the register bank: what one rising edge does to the registers, given the
//! (at most one) write and (at most one) read the AXI4-Lite slave performs at that edge.
//!
//! This is the register semantics without bus timing, so the cycle model's register front end
//! can use it directly (call [`BankModel::edge`] with a write or read at the edge the driver's
//! access lands). It depends only on `systole-arch` (via [`super::layout`]).
//!
//! Semantics (also the RTL's, `super::rtl::RegBank`):
//! * Reads return the state *before* the edge; misaligned or unmapped reads return 0.
//! * `_LO` reads return bits 31..0 of the counter input at that edge and latch its bits 63..32,
//!   which `_HI` reads return (LO then HI is one 64-bit sample; HI alone returns the last latch).
//! * Writes honour WSTRB per byte. RW registers store only their non-pulse field bits; pulse
//!   bits written 1 (with their byte strobed) raise the pulse output for the one cycle after the
//!   edge. `IRQ_CLEAR` clears the strobed 1 bits of `IRQ_STATUS`. Writes to RO registers,
//!   unmapped or misaligned addresses change nothing.
//! * `IRQ_STATUS` bits are set by `irq_set` at every edge; a set and a clear of the same bit at
//!   one edge leave it set (the event is newer than the driver's view). At the edge where the
//!   `soft_reset` pulse is visible (the one the core resets at), `IRQ_STATUS` clears and the
//!   aborted run's `irq_set` is ignored.
//! * `irq` (registered) = `CONTROL.IRQ_ENABLE && IRQ_STATUS != 0`, both after the edge.

use super::layout::{CoreWord, Counter, Pulse, RegLayout, Resp, Role, RwReg};
use crate::regmap::{PROGRAM_COUNT_COUNT, REG_WINDOW_BYTES};

/// Core-side inputs during one cycle (sampled at its rising edge).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CoreInputs {
    pub status: u32,
    pub layers_done: u32,
    pub total_cycles: u64,
    pub busy_cycles: u64,
    pub dma_stall_cycles: u64,
    /// One bit per `IRQ_STATUS` field: the event happened this cycle.
    pub irq_set: u32,
}

impl CoreInputs {
    pub fn word(&self, word: CoreWord) -> u32 {
        match word {
            CoreWord::Status => self.status,
            CoreWord::LayersDone => self.layers_done,
        }
    }

    pub fn counter(&self, counter: Counter) -> u64 {
        match counter {
            Counter::TotalCycles => self.total_cycles,
            Counter::BusyCycles => self.busy_cycles,
            Counter::DmaStallCycles => self.dma_stall_cycles,
        }
    }
}

/// Core-side outputs after a rising edge (all registered).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CoreOutputs {
    pub start: bool,
    pub soft_reset: bool,
    pub irq: bool,
    pub program_base: u64,
    pub program_count: u32,
}

/// One AXI4-Lite write: byte address, data, byte strobes (bit i = byte i).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteOp {
    pub addr: u32,
    pub data: u32,
    pub strb: u8,
}

/// The 32-bit mask of the bytes `strb` enables.
pub fn strobe_mask(strb: u8) -> u32 {
    (0..4).filter(|i| strb >> i & 1 == 1).fold(0, |m, i| m | 0xff << (8 * i))
}

/// Register state of the bank.
#[derive(Clone, Debug)]
pub struct BankModel {
    layout: RegLayout,
    rw: [u32; RwReg::ALL.len()],
    hi_latch: [u32; Counter::ALL.len()],
    pending: u32,
    pulses: [bool; Pulse::ALL.len()],
    irq: bool,
}

// The enums' `ALL` arrays list the variants in declaration order, so `as usize` indexes them.
fn rw_index(reg: RwReg) -> usize {
    reg as usize
}

fn counter_index(c: Counter) -> usize {
    c as usize
}

fn pulse_index(p: Pulse) -> usize {
    p as usize
}

impl BankModel {
    /// The bank in its reset state.
    pub fn new(layout: RegLayout) -> BankModel {
        let mut bank = BankModel {
            layout,
            rw: [0; RwReg::ALL.len()],
            hi_latch: [0; Counter::ALL.len()],
            pending: 0,
            pulses: [false; Pulse::ALL.len()],
            irq: false,
        };
        bank.reset();
        bank
    }

    pub fn layout(&self) -> &RegLayout {
        &self.layout
    }

    /// Synchronous reset: every register to its reset value, no pulse, no interrupt.
    pub fn reset(&mut self) {
        for reg in RwReg::ALL {
            if let Role::Rw { reset, .. } = self.layout.rw(reg).role {
                self.rw[rw_index(reg)] = reset;
            }
        }
        self.hi_latch = [0; Counter::ALL.len()];
        self.pending = 0;
        self.pulses = [false; Pulse::ALL.len()];
        self.irq = false;
    }

    /// What a read of `addr` would return now, with `core` on the inputs (no side effect).
    pub fn peek(&self, addr: u32, core: &CoreInputs) -> (u32, Resp) {
        let addr = addr % REG_WINDOW_BYTES;
        let resp = self.layout.response(addr);
        let Some(entry) = self.layout.at(addr) else { return (0, resp) };
        let value = match entry.role {
            Role::Const(v) => v,
            Role::Core { word, mask } => core.word(word) & mask,
            Role::CounterLo(c) => core.counter(c) as u32,
            Role::CounterHi(c) => self.hi_latch[counter_index(c)],
            Role::Rw { reg, .. } => self.rw[rw_index(reg)],
            Role::IrqPending { .. } => self.pending,
            Role::IrqClear { .. } => 0,
        };
        (value, resp)
    }

    /// One rising edge with the slave's write and read at it; returns their responses (the read
    /// with its data).
    pub fn edge(
        &mut self,
        write: Option<WriteOp>,
        read: Option<u32>,
        core: &CoreInputs,
    ) -> (Option<Resp>, Option<(u32, Resp)>) {
        let read_result = read.map(|addr| self.peek(addr, core));
        if let Some(Role::CounterLo(c)) = read.and_then(|a| self.layout.at(a % REG_WINDOW_BYTES)).map(|e| e.role) {
            self.hi_latch[counter_index(c)] = (core.counter(c) >> 32) as u32;
        }

        let mut clear = 0;
        let mut pulses = [false; Pulse::ALL.len()];
        let write_resp = write.map(|w| {
            let addr = w.addr % REG_WINDOW_BYTES;
            let bytes = strobe_mask(w.strb);
            match self.layout.at(addr).map(|e| e.role) {
                Some(Role::Rw { reg, keep, .. }) => {
                    let m = bytes & keep;
                    let old = &mut self.rw[rw_index(reg)];
                    *old = (*old & !m) | (w.data & m);
                    for p in Pulse::ALL {
                        let hit = self.layout.pulse_offset(p) == addr;
                        pulses[pulse_index(p)] = hit && w.data & bytes & self.layout.pulse_mask(p) != 0;
                    }
                }
                Some(Role::IrqClear { mask }) => clear = w.data & bytes & mask,
                _ => {}
            }
            self.layout.response(addr)
        });

        let pending_mask = match self.layout.irq_pending().role {
            Role::IrqPending { mask } => mask,
            _ => 0,
        };
        self.pending = if self.pulses[pulse_index(Pulse::SoftReset)] {
            0
        } else {
            (self.pending & !clear) | (core.irq_set & pending_mask)
        };
        self.pulses = pulses;
        self.irq = self.rw[rw_index(RwReg::Control)] & self.layout.irq_enable != 0 && self.pending != 0;
        (write_resp, read_result)
    }

    /// The core-side outputs (after the last edge).
    pub fn outputs(&self) -> CoreOutputs {
        let lo = self.rw[rw_index(RwReg::ProgramBaseLo)];
        let hi = self.rw[rw_index(RwReg::ProgramBaseHi)];
        CoreOutputs {
            start: self.pulses[pulse_index(Pulse::Start)],
            soft_reset: self.pulses[pulse_index(Pulse::SoftReset)],
            irq: self.irq,
            program_base: u64::from(hi) << 32 | u64::from(lo),
            program_count: PROGRAM_COUNT_COUNT.get(self.rw[rw_index(RwReg::ProgramCount)]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::layout::Unmapped;
    use super::*;
    use crate::regmap;
    use crate::ArchConfig;

    fn bank() -> BankModel {
        BankModel::new(RegLayout::new(&ArchConfig::new("t", 16, 8), Unmapped::ReadZero).unwrap())
    }

    fn write(b: &mut BankModel, addr: u32, data: u32, strb: u8) -> Resp {
        b.edge(Some(WriteOp { addr, data, strb }), None, &CoreInputs::default()).0.unwrap()
    }

    fn read(b: &mut BankModel, addr: u32, core: &CoreInputs) -> (u32, Resp) {
        b.edge(None, Some(addr), core).1.unwrap()
    }

    #[test]
    fn enum_indices_follow_all() {
        assert!(RwReg::ALL.iter().enumerate().all(|(i, r)| rw_index(*r) == i));
        assert!(Counter::ALL.iter().enumerate().all(|(i, c)| counter_index(*c) == i));
        assert!(Pulse::ALL.iter().enumerate().all(|(i, p)| pulse_index(*p) == i));
    }

    #[test]
    fn strobes_write_only_their_bytes_and_only_field_bits() {
        let mut b = bank();
        let idle = CoreInputs::default();
        assert_eq!(write(&mut b, regmap::PROGRAM_BASE_LO.offset, 0x1122_3344, 0b0101), Resp::Okay);
        assert_eq!(read(&mut b, regmap::PROGRAM_BASE_LO.offset, &idle), (0x0022_0044, Resp::Okay));
        write(&mut b, regmap::PROGRAM_BASE_HI.offset, 0xaabb_ccdd, 0b1000);
        assert_eq!(b.outputs().program_base, 0xaa00_0000_0022_0044);
        write(&mut b, regmap::PROGRAM_COUNT.offset, 0xffff_ffff, 0xf);
        assert_eq!(read(&mut b, regmap::PROGRAM_COUNT.offset, &idle).0, 0xffff, "bits outside COUNT read 0");
        assert_eq!(b.outputs().program_count, 0xffff);
        assert_eq!(write(&mut b, regmap::ID.offset, 0, 0xf), Resp::Okay, "RO write: ignored, OKAY");
        assert_eq!(read(&mut b, regmap::ID.offset, &idle).0, regmap::ID_MAGIC);
    }

    #[test]
    fn pulses_last_one_cycle_and_read_zero() {
        let mut b = bank();
        let ctl = regmap::CONTROL.offset;
        let all = regmap::CONTROL_START.mask() | regmap::CONTROL_IRQ_ENABLE.mask();
        write(&mut b, ctl, all, 0b0001);
        assert!(b.outputs().start);
        assert_eq!(read(&mut b, ctl, &CoreInputs::default()).0, regmap::CONTROL_IRQ_ENABLE.mask());
        assert!(!b.outputs().start, "one cycle only");
        write(&mut b, ctl, all, 0b0010);
        assert!(!b.outputs().start, "byte 0 not strobed: no pulse");
    }

    #[test]
    fn irq_status_sets_clears_and_drives_the_line() {
        let mut b = bank();
        let done = regmap::IRQ_DONE.mask();
        let event = CoreInputs { irq_set: done, ..Default::default() };
        b.edge(None, None, &event);
        assert!(!b.outputs().irq, "IRQ_ENABLE is 0");
        write(&mut b, regmap::CONTROL.offset, regmap::CONTROL_IRQ_ENABLE.mask(), 0xf);
        assert!(b.outputs().irq);
        assert_eq!(read(&mut b, regmap::IRQ_STATUS.offset, &CoreInputs::default()).0, done);
        assert_eq!(read(&mut b, regmap::IRQ_CLEAR.offset, &CoreInputs::default()).0, 0, "W1C reads 0");
        // Set and clear at one edge: set wins.
        let clear = Some(WriteOp { addr: regmap::IRQ_CLEAR.offset, data: done, strb: 0xf });
        b.edge(clear, None, &event);
        assert!(b.outputs().irq);
        b.edge(clear, None, &CoreInputs::default());
        assert!(!b.outputs().irq);
        // Soft reset: clears at the edge its pulse is visible, events there included.
        b.edge(None, None, &event);
        let soft = regmap::CONTROL_SOFT_RESET.mask() | regmap::CONTROL_IRQ_ENABLE.mask();
        write(&mut b, regmap::CONTROL.offset, soft, 0xf);
        assert!(b.outputs().soft_reset && b.outputs().irq, "pending until the core sees the pulse");
        b.edge(None, None, &event);
        assert!(!b.outputs().irq && !b.outputs().soft_reset);
        assert_eq!(read(&mut b, regmap::IRQ_STATUS.offset, &CoreInputs::default()).0, 0);
    }

    #[test]
    fn reading_lo_latches_hi() {
        let mut b = bank();
        let lo = regmap::TOTAL_CYCLES_LO.offset;
        let hi = regmap::TOTAL_CYCLES_HI.offset;
        let at = |v: u64| CoreInputs { total_cycles: v, ..Default::default() };
        assert_eq!(read(&mut b, hi, &at(0x5_0000_0000)).0, 0, "nothing latched yet");
        assert_eq!(read(&mut b, lo, &at(0x1_ffff_ffff)).0, 0xffff_ffff);
        assert_eq!(read(&mut b, hi, &at(0x2_0000_0000)).0, 1, "HI is the latched half, not the live one");
    }

    #[test]
    fn unmapped_and_misaligned_accesses() {
        let mut b = bank();
        let idle = CoreInputs::default();
        assert_eq!(read(&mut b, 0x0fc, &idle), (0, Resp::Okay));
        assert_eq!(read(&mut b, regmap::ID.offset + 2, &idle), (0, Resp::SlvErr));
        assert_eq!(write(&mut b, regmap::PROGRAM_BASE_LO.offset + 1, !0, 0xf), Resp::SlvErr);
        assert_eq!(b.outputs().program_base, 0, "misaligned write ignored");
        let strict = RegLayout { unmapped: Unmapped::SlvErr, ..b.layout().clone() };
        let mut s = BankModel::new(strict);
        assert_eq!(read(&mut s, 0x0fc, &idle), (0, Resp::SlvErr));
        assert_eq!(strobe_mask(0b1010), 0xff00_ff00);
    }
}
