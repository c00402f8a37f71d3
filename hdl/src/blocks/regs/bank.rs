//! The register bank behind the AXI4-Lite slave (`super::slave`), built from a [`RegLayout`]: every address,
//! mask, reset value and constant is a `Constant` taken from arch's table when the block is
//! constructed; the logic is the semantics of `super::model` (documented there).
//!
//! Read data is a priority chain of `if (word == ADDR)` over the mapped registers (the
//! addresses are distinct, so the order does not matter) and the unmapped/misaligned cases give
//! 0; the response comes from a bitmap of mapped words. Writes use the byte mask of WSTRB.

use super::layout::{CoreWord, Counter, Pulse, RegLayout, Role, RwReg, ADDR_BITS, IRQ_BITS, PROGRAM_COUNT_BITS};
use super::layout::{Resp, Unmapped, WINDOW_WORDS};
use rust_hdl::prelude::*;
use systole_arch::regmap::PROGRAM_COUNT_COUNT;

/// Word-address bits (the byte address without its 2 low bits).
pub const WORD_BITS: usize = ADDR_BITS - 2;

// `program_count` is the low bits of the stored register (a part-select, not a shift: a
// shifted copy would leave unused bits that Verilator -Wall reports).
const _: () = assert!(PROGRAM_COUNT_COUNT.lsb == 0, "PROGRAM_COUNT.COUNT moved off bit 0: shift it in RegBank");

fn k<const N: usize>(v: u64) -> Constant<Bits<N>> {
    Constant::new(Bits::<N>::from(v))
}

#[derive(LogicBlock)]
pub struct RegBank {
    pub clock: Signal<In, Clock>,
    pub reset: Signal<In, Bit>,
    pub wr_en: Signal<In, Bit>,
    pub wr_addr: Signal<In, Bits<ADDR_BITS>>,
    pub wr_data: Signal<In, Bits<32>>,
    pub wr_strb: Signal<In, Bits<4>>,
    /// BRESP, registered at the commit edge.
    pub bresp: Signal<Out, Bits<2>>,
    pub rd_en: Signal<In, Bit>,
    pub rd_addr: Signal<In, Bits<ADDR_BITS>>,
    /// RDATA / RRESP, registered at the read edge.
    pub rdata: Signal<Out, Bits<32>>,
    pub rresp: Signal<Out, Bits<2>>,
    pub status: Signal<In, Bits<32>>,
    pub layers_done: Signal<In, Bits<32>>,
    pub total_cycles: Signal<In, Bits<64>>,
    pub busy_cycles: Signal<In, Bits<64>>,
    pub dma_stall_cycles: Signal<In, Bits<64>>,
    pub irq_set: Signal<In, Bits<IRQ_BITS>>,
    pub start: Signal<Out, Bit>,
    pub soft_reset: Signal<Out, Bit>,
    pub irq: Signal<Out, Bit>,
    pub program_base: Signal<Out, Bits<64>>,
    pub program_count: Signal<Out, Bits<PROGRAM_COUNT_BITS>>,
    // ---- state
    b_resp: DFF<Bits<2>>,
    r_data: DFF<Bits<32>>,
    r_resp: DFF<Bits<2>>,
    control: DFF<Bits<32>>,
    base_lo: DFF<Bits<32>>,
    base_hi: DFF<Bits<32>>,
    count: DFF<Bits<32>>,
    pending: DFF<Bits<32>>,
    total_hi: DFF<Bits<32>>,
    busy_hi: DFF<Bits<32>>,
    stall_hi: DFF<Bits<32>>,
    start_q: DFF<Bit>,
    soft_q: DFF<Bit>,
    irq_q: DFF<Bit>,
    // ---- from the layout
    const_word: Vec<Constant<Bits<WORD_BITS>>>,
    const_value: Vec<Constant<Bits<32>>>,
    mapped: Constant<Bits<WINDOW_WORDS>>,
    unmapped_resp: Constant<Bits<2>>,
    a_status: Constant<Bits<WORD_BITS>>,
    a_layers: Constant<Bits<WORD_BITS>>,
    a_total_lo: Constant<Bits<WORD_BITS>>,
    a_total_hi: Constant<Bits<WORD_BITS>>,
    a_busy_lo: Constant<Bits<WORD_BITS>>,
    a_busy_hi: Constant<Bits<WORD_BITS>>,
    a_stall_lo: Constant<Bits<WORD_BITS>>,
    a_stall_hi: Constant<Bits<WORD_BITS>>,
    a_control: Constant<Bits<WORD_BITS>>,
    a_base_lo: Constant<Bits<WORD_BITS>>,
    a_base_hi: Constant<Bits<WORD_BITS>>,
    a_count: Constant<Bits<WORD_BITS>>,
    a_pending: Constant<Bits<WORD_BITS>>,
    a_clear: Constant<Bits<WORD_BITS>>,
    a_start: Constant<Bits<WORD_BITS>>,
    a_soft: Constant<Bits<WORD_BITS>>,
    m_status: Constant<Bits<32>>,
    m_layers: Constant<Bits<32>>,
    m_pending: Constant<Bits<32>>,
    m_start: Constant<Bits<32>>,
    m_soft: Constant<Bits<32>>,
    m_irq_enable: Constant<Bits<32>>,
    keep_control: Constant<Bits<32>>,
    keep_base_lo: Constant<Bits<32>>,
    keep_base_hi: Constant<Bits<32>>,
    keep_count: Constant<Bits<32>>,
    reset_control: Constant<Bits<32>>,
    reset_base_lo: Constant<Bits<32>>,
    reset_base_hi: Constant<Bits<32>>,
    reset_count: Constant<Bits<32>>,
    byte_lane: Vec<Constant<Bits<32>>>,
    okay: Constant<Bits<2>>,
    slverr: Constant<Bits<2>>,
    zero_2: Constant<Bits<2>>,
    zero_32: Constant<Bits<32>>,
    shift_32: Constant<Bits<64>>,
    // ---- combinational
    rd_word: Signal<Local, Bits<WORD_BITS>>,
    rd_aligned: Signal<Local, Bit>,
    rd_value: Signal<Local, Bits<32>>,
    rd_data: Signal<Local, Bits<32>>,
    rd_resp: Signal<Local, Bits<2>>,
    wr_resp: Signal<Local, Bits<2>>,
    wr_word: Signal<Local, Bits<WORD_BITS>>,
    we: Signal<Local, Bit>,
    lane_mask: Vec<Signal<Local, Bits<32>>>,
    wmask: Signal<Local, Bits<32>>,
    wbits: Signal<Local, Bits<32>>,
    control_next: Signal<Local, Bits<32>>,
    clear: Signal<Local, Bits<32>>,
    irq_set_32: Signal<Local, Bits<32>>,
    pending_next: Signal<Local, Bits<32>>,
    base_lo_32: Signal<Local, Bits<32>>,
    base_hi_32: Signal<Local, Bits<32>>,
    base_lo_64: Signal<Local, Bits<64>>,
    base_hi_64: Signal<Local, Bits<64>>,
    count_32: Signal<Local, Bits<32>>,
}

/// Word address of `offset` as a constant.
fn word(offset: u32) -> Constant<Bits<WORD_BITS>> {
    k(u64::from(offset / 4))
}

impl RegBank {
    pub fn new(layout: &RegLayout) -> RegBank {
        let consts = layout.constants();
        let rw = |reg: RwReg| match layout.rw(reg).role {
            Role::Rw { keep, reset, .. } => (word(layout.rw(reg).offset()), k(u64::from(keep)), k(u64::from(reset))),
            _ => unreachable!("RegLayout::rw returns Rw entries"),
        };
        let core_mask = |w: CoreWord| match layout.core_word(w).role {
            Role::Core { mask, .. } => k(u64::from(mask)),
            _ => unreachable!("RegLayout::core_word returns Core entries"),
        };
        let pending_mask = match layout.irq_pending().role {
            Role::IrqPending { mask } => mask,
            _ => unreachable!("RegLayout::irq_pending returns the pending entry"),
        };
        let (a_control, keep_control, reset_control) = rw(RwReg::Control);
        let (a_base_lo, keep_base_lo, reset_base_lo) = rw(RwReg::ProgramBaseLo);
        let (a_base_hi, keep_base_hi, reset_base_hi) = rw(RwReg::ProgramBaseHi);
        let (a_count, keep_count, reset_count) = rw(RwReg::ProgramCount);
        let unmapped = match layout.unmapped {
            Unmapped::ReadZero => Resp::Okay,
            Unmapped::SlvErr => Resp::SlvErr,
        };
        RegBank {
            clock: Default::default(),
            reset: Default::default(),
            wr_en: Default::default(),
            wr_addr: Default::default(),
            wr_data: Default::default(),
            wr_strb: Default::default(),
            bresp: Default::default(),
            rd_en: Default::default(),
            rd_addr: Default::default(),
            rdata: Default::default(),
            rresp: Default::default(),
            status: Default::default(),
            layers_done: Default::default(),
            total_cycles: Default::default(),
            busy_cycles: Default::default(),
            dma_stall_cycles: Default::default(),
            irq_set: Default::default(),
            start: Default::default(),
            soft_reset: Default::default(),
            irq: Default::default(),
            program_base: Default::default(),
            program_count: Default::default(),
            b_resp: Default::default(),
            r_data: Default::default(),
            r_resp: Default::default(),
            control: Default::default(),
            base_lo: Default::default(),
            base_hi: Default::default(),
            count: Default::default(),
            pending: Default::default(),
            total_hi: Default::default(),
            busy_hi: Default::default(),
            stall_hi: Default::default(),
            start_q: Default::default(),
            soft_q: Default::default(),
            irq_q: Default::default(),
            const_word: consts.iter().map(|(offset, _)| word(*offset)).collect(),
            const_value: consts.iter().map(|(_, value)| k(u64::from(*value))).collect(),
            mapped: k(layout.mapped_words()),
            unmapped_resp: k(unmapped.code()),
            a_status: word(layout.core_word(CoreWord::Status).offset()),
            a_layers: word(layout.core_word(CoreWord::LayersDone).offset()),
            a_total_lo: word(layout.counter_lo(Counter::TotalCycles).offset()),
            a_total_hi: word(layout.counter_hi(Counter::TotalCycles).offset()),
            a_busy_lo: word(layout.counter_lo(Counter::BusyCycles).offset()),
            a_busy_hi: word(layout.counter_hi(Counter::BusyCycles).offset()),
            a_stall_lo: word(layout.counter_lo(Counter::DmaStallCycles).offset()),
            a_stall_hi: word(layout.counter_hi(Counter::DmaStallCycles).offset()),
            a_control,
            a_base_lo,
            a_base_hi,
            a_count,
            a_pending: word(layout.irq_pending().offset()),
            a_clear: word(layout.irq_clear().offset()),
            a_start: word(layout.pulse_offset(Pulse::Start)),
            a_soft: word(layout.pulse_offset(Pulse::SoftReset)),
            m_status: core_mask(CoreWord::Status),
            m_layers: core_mask(CoreWord::LayersDone),
            m_pending: k(u64::from(pending_mask)),
            m_start: k(u64::from(layout.pulse_mask(Pulse::Start))),
            m_soft: k(u64::from(layout.pulse_mask(Pulse::SoftReset))),
            m_irq_enable: k(u64::from(layout.irq_enable)),
            keep_control,
            keep_base_lo,
            keep_base_hi,
            keep_count,
            reset_control,
            reset_base_lo,
            reset_base_hi,
            reset_count,
            byte_lane: (0..4).map(|i| k(0xffu64 << (8 * i))).collect(),
            okay: k(Resp::Okay.code()),
            slverr: k(Resp::SlvErr.code()),
            zero_2: k(0),
            zero_32: k(0),
            shift_32: k(32),
            rd_word: Default::default(),
            rd_aligned: Default::default(),
            rd_value: Default::default(),
            rd_data: Default::default(),
            rd_resp: Default::default(),
            wr_resp: Default::default(),
            wr_word: Default::default(),
            we: Default::default(),
            lane_mask: (0..4).map(|_| Default::default()).collect(),
            wmask: Default::default(),
            wbits: Default::default(),
            control_next: Default::default(),
            clear: Default::default(),
            irq_set_32: Default::default(),
            pending_next: Default::default(),
            base_lo_32: Default::default(),
            base_hi_32: Default::default(),
            base_lo_64: Default::default(),
            base_hi_64: Default::default(),
            count_32: Default::default(),
        }
    }
}

impl Logic for RegBank {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, b_resp, r_data, r_resp, control, base_lo, base_hi, count, pending, total_hi, busy_hi,
            stall_hi, start_q, soft_q, irq_q
        );

        // ---- Read: data from the registers before the edge, response from the address.
        self.rd_word.next = self.rd_addr.val().get_bits::<WORD_BITS>(2);
        self.rd_aligned.next = self.rd_addr.val().get_bits::<2>(0) == self.zero_2.val();
        self.rd_value.next = self.zero_32.val();
        for i in 0..(self.const_word.len()) {
            if self.rd_word.val() == self.const_word[i].val() {
                self.rd_value.next = self.const_value[i].val();
            }
        }
        if self.rd_word.val() == self.a_status.val() {
            self.rd_value.next = self.status.val() & self.m_status.val();
        }
        if self.rd_word.val() == self.a_layers.val() {
            self.rd_value.next = self.layers_done.val() & self.m_layers.val();
        }
        if self.rd_word.val() == self.a_total_lo.val() {
            self.rd_value.next = self.total_cycles.val().get_bits::<32>(0);
        }
        if self.rd_word.val() == self.a_total_hi.val() {
            self.rd_value.next = self.total_hi.q.val();
        }
        if self.rd_word.val() == self.a_busy_lo.val() {
            self.rd_value.next = self.busy_cycles.val().get_bits::<32>(0);
        }
        if self.rd_word.val() == self.a_busy_hi.val() {
            self.rd_value.next = self.busy_hi.q.val();
        }
        if self.rd_word.val() == self.a_stall_lo.val() {
            self.rd_value.next = self.dma_stall_cycles.val().get_bits::<32>(0);
        }
        if self.rd_word.val() == self.a_stall_hi.val() {
            self.rd_value.next = self.stall_hi.q.val();
        }
        if self.rd_word.val() == self.a_control.val() {
            self.rd_value.next = self.control.q.val();
        }
        if self.rd_word.val() == self.a_base_lo.val() {
            self.rd_value.next = self.base_lo.q.val();
        }
        if self.rd_word.val() == self.a_base_hi.val() {
            self.rd_value.next = self.base_hi.q.val();
        }
        self.count_32.next = self.count.q.val();
        if self.rd_word.val() == self.a_count.val() {
            self.rd_value.next = self.count_32.val();
        }
        if self.rd_word.val() == self.a_pending.val() {
            self.rd_value.next = self.pending.q.val();
        }
        self.rd_resp.next = self.slverr.val();
        self.rd_data.next = self.zero_32.val();
        if self.rd_aligned.val() {
            self.rd_data.next = self.rd_value.val();
            self.rd_resp.next = self.unmapped_resp.val();
            if self.mapped.val().get_bit(self.rd_word.val().index()) {
                self.rd_resp.next = self.okay.val();
            }
        }
        if self.rd_en.val() {
            self.r_data.d.next = self.rd_data.val();
            self.r_resp.d.next = self.rd_resp.val();
        }
        // Reading a counter's LO latches its HI from the same input sample.
        if self.rd_en.val() & self.rd_aligned.val() {
            if self.rd_word.val() == self.a_total_lo.val() {
                self.total_hi.d.next = self.total_cycles.val().get_bits::<32>(32);
            }
            if self.rd_word.val() == self.a_busy_lo.val() {
                self.busy_hi.d.next = self.busy_cycles.val().get_bits::<32>(32);
            }
            if self.rd_word.val() == self.a_stall_lo.val() {
                self.stall_hi.d.next = self.dma_stall_cycles.val().get_bits::<32>(32);
            }
        }

        // ---- Write: byte mask from WSTRB, then per-register updates.
        self.wr_word.next = self.wr_addr.val().get_bits::<WORD_BITS>(2);
        self.we.next = self.wr_en.val() & (self.wr_addr.val().get_bits::<2>(0) == self.zero_2.val());
        self.wr_resp.next = self.slverr.val();
        if self.wr_addr.val().get_bits::<2>(0) == self.zero_2.val() {
            self.wr_resp.next = self.unmapped_resp.val();
            if self.mapped.val().get_bit(self.wr_word.val().index()) {
                self.wr_resp.next = self.okay.val();
            }
        }
        if self.wr_en.val() {
            self.b_resp.d.next = self.wr_resp.val();
        }
        for i in 0..4 {
            self.lane_mask[i].next = self.zero_32.val();
            if self.wr_strb.val().get_bit(i) {
                self.lane_mask[i].next = self.byte_lane[i].val();
            }
        }
        self.wmask.next =
            ((self.lane_mask[0].val() | self.lane_mask[1].val()) | self.lane_mask[2].val()) | self.lane_mask[3].val();
        self.wbits.next = self.wr_data.val() & self.wmask.val();

        self.control_next.next = self.control.q.val();
        if self.we.val() & (self.wr_word.val() == self.a_control.val()) {
            self.control_next.next =
                ((self.control.q.val() & !self.wmask.val()) | self.wbits.val()) & self.keep_control.val();
        }
        self.control.d.next = self.control_next.val();
        if self.we.val() & (self.wr_word.val() == self.a_base_lo.val()) {
            self.base_lo.d.next =
                ((self.base_lo.q.val() & !self.wmask.val()) | self.wbits.val()) & self.keep_base_lo.val();
        }
        if self.we.val() & (self.wr_word.val() == self.a_base_hi.val()) {
            self.base_hi.d.next =
                ((self.base_hi.q.val() & !self.wmask.val()) | self.wbits.val()) & self.keep_base_hi.val();
        }
        if self.we.val() & (self.wr_word.val() == self.a_count.val()) {
            self.count.d.next = ((self.count.q.val() & !self.wmask.val()) | self.wbits.val()) & self.keep_count.val();
        }
        // Pulses: one cycle after the commit edge (they are never stored).
        self.start_q.d.next = (self.we.val() & (self.wr_word.val() == self.a_start.val()))
            & (self.wbits.val() & self.m_start.val()).any();
        self.soft_q.d.next =
            (self.we.val() & (self.wr_word.val() == self.a_soft.val())) & (self.wbits.val() & self.m_soft.val()).any();

        // ---- Interrupts: set beats clear; the soft reset the core is seeing wipes everything.
        self.clear.next = self.zero_32.val();
        if self.we.val() & (self.wr_word.val() == self.a_clear.val()) {
            self.clear.next = self.wbits.val() & self.m_pending.val();
        }
        self.irq_set_32.next = bit_cast::<32, IRQ_BITS>(self.irq_set.val());
        self.pending_next.next =
            ((self.pending.q.val() & !self.clear.val()) | self.irq_set_32.val()) & self.m_pending.val();
        if self.soft_q.q.val() {
            self.pending_next.next = self.zero_32.val();
        }
        self.pending.d.next = self.pending_next.val();
        // Registered from the next-state values: a glitch-free line, no extra cycle.
        self.irq_q.d.next = (self.control_next.val() & self.m_irq_enable.val()).any() & self.pending_next.val().any();

        if self.reset.val() {
            self.b_resp.d.next = self.zero_2.val();
            self.r_data.d.next = self.zero_32.val();
            self.r_resp.d.next = self.zero_2.val();
            self.control.d.next = self.reset_control.val();
            self.base_lo.d.next = self.reset_base_lo.val();
            self.base_hi.d.next = self.reset_base_hi.val();
            self.count.d.next = self.reset_count.val();
            self.pending.d.next = self.zero_32.val();
            self.total_hi.d.next = self.zero_32.val();
            self.busy_hi.d.next = self.zero_32.val();
            self.stall_hi.d.next = self.zero_32.val();
            self.start_q.d.next = false;
            self.soft_q.d.next = false;
            self.irq_q.d.next = false;
        }

        // ---- Outputs.
        self.bresp.next = self.b_resp.q.val();
        self.rdata.next = self.r_data.q.val();
        self.rresp.next = self.r_resp.q.val();
        self.start.next = self.start_q.q.val();
        self.soft_reset.next = self.soft_q.q.val();
        self.irq.next = self.irq_q.q.val();
        self.base_lo_32.next = self.base_lo.q.val();
        self.base_hi_32.next = self.base_hi.q.val();
        self.base_lo_64.next = bit_cast::<64, 32>(self.base_lo_32.val());
        self.base_hi_64.next = bit_cast::<64, 32>(self.base_hi_32.val());
        self.program_base.next = self.base_lo_64.val() | (self.base_hi_64.val() << self.shift_32.val());
        self.program_count.next = bit_cast::<PROGRAM_COUNT_BITS, 32>(self.count_32.val());
    }
}
