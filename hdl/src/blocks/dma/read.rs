//! The AXI4 read DMA: a command (byte address, beats) becomes INCR bursts on AR (one
//! outstanding), and the R beats leave on a valid/ready stream through a register slice.
//!
//! States: `IDLE` (`cmd_ready`), `ADDR` (`ARVALID` from registers), `DATA` (R beats, `RREADY` =
//! the slice's spare entry is empty). `ARLEN` is the planner's registered output: the command's
//! plan from the accepting edge on, the next burst's from one edge after each AR handshake (every
//! burst spends at least that edge in `DATA`), so the next AR is offered right after the RLAST
//! handshake. Timing: `axi_timing::read_cycles`.
//!
//! * The low `log2(W / 8)` address bits are ignored (beats are full width, `ARSIZE` constant).
//! * A zero-beat command is accepted and does nothing.
//! * `out_last` marks the command's last beat. `error` is cleared when a command is accepted
//!   and set by any R beat whose response is not OKAY (SLVERR, DECERR, or EXOKAY, which a
//!   non-exclusive read never legally gets); the beats still flow, so the consumer's count
//!   stays right.
//! * `busy`: a command is in progress or beats wait in the slice.

use super::planner::BurstPlanner;
use super::skid::Skid;
use super::{axi_consts, bus_of};
use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct DmaRead<const W: usize> {
    pub clock: Signal<In, Clock>,
    /// Synchronous, active high; only with the AXI slave reset too (it drops bursts in flight).
    pub reset: Signal<In, Bit>,
    pub cmd_valid: Signal<In, Bit>,
    pub cmd_ready: Signal<Out, Bit>,
    pub cmd_addr: Signal<In, Bits<32>>,
    pub cmd_beats: Signal<In, Bits<24>>,
    pub busy: Signal<Out, Bit>,
    pub error: Signal<Out, Bit>,
    pub out_valid: Signal<Out, Bit>,
    pub out_ready: Signal<In, Bit>,
    pub out_data: Signal<Out, Bits<W>>,
    pub out_last: Signal<Out, Bit>,
    pub m_axi_arvalid: Signal<Out, Bit>,
    pub m_axi_arready: Signal<In, Bit>,
    pub m_axi_araddr: Signal<Out, Bits<32>>,
    pub m_axi_arlen: Signal<Out, Bits<8>>,
    pub m_axi_arsize: Signal<Out, Bits<3>>,
    pub m_axi_arburst: Signal<Out, Bits<2>>,
    pub m_axi_rvalid: Signal<In, Bit>,
    pub m_axi_rready: Signal<Out, Bit>,
    pub m_axi_rdata: Signal<In, Bits<W>>,
    pub m_axi_rresp: Signal<In, Bits<2>>,
    pub m_axi_rlast: Signal<In, Bit>,
    planner: BurstPlanner,
    slice: Skid<W>,
    state: DFF<Bits<2>>,
    addr: DFF<Bits<32>>,
    left: DFF<Bits<24>>,
    err: DFF<Bit>,
    s_idle: Constant<Bits<2>>,
    s_addr: Constant<Bits<2>>,
    s_data: Constant<Bits<2>>,
    align_32: Constant<Bits<32>>,
    shift_32: Constant<Bits<32>>,
    size_3: Constant<Bits<3>>,
    incr_2: Constant<Bits<2>>,
    okay_2: Constant<Bits<2>>,
    k0_24: Constant<Bits<24>>,
    k1_24: Constant<Bits<24>>,
    k1_32: Constant<Bits<32>>,
    is_idle: Signal<Local, Bit>,
    is_addr: Signal<Local, Bit>,
    is_data: Signal<Local, Bit>,
    r_take: Signal<Local, Bit>,
    bad_resp: Signal<Local, Bit>,
    len_32: Signal<Local, Bits<32>>,
    step: Signal<Local, Bits<32>>,
    len_24: Signal<Local, Bits<24>>,
}

impl<const W: usize> Default for DmaRead<W> {
    fn default() -> Self {
        let bus = bus_of(W);
        let k = axi_consts(bus);
        Self {
            clock: Default::default(),
            reset: Default::default(),
            cmd_valid: Default::default(),
            cmd_ready: Default::default(),
            cmd_addr: Default::default(),
            cmd_beats: Default::default(),
            busy: Default::default(),
            error: Default::default(),
            out_valid: Default::default(),
            out_ready: Default::default(),
            out_data: Default::default(),
            out_last: Default::default(),
            m_axi_arvalid: Default::default(),
            m_axi_arready: Default::default(),
            m_axi_araddr: Default::default(),
            m_axi_arlen: Default::default(),
            m_axi_arsize: Default::default(),
            m_axi_arburst: Default::default(),
            m_axi_rvalid: Default::default(),
            m_axi_rready: Default::default(),
            m_axi_rdata: Default::default(),
            m_axi_rresp: Default::default(),
            m_axi_rlast: Default::default(),
            planner: BurstPlanner::new(bus),
            slice: Default::default(),
            state: Default::default(),
            addr: Default::default(),
            left: Default::default(),
            err: Default::default(),
            s_idle: Constant::new(bits::<2>(0)),
            s_addr: Constant::new(bits::<2>(1)),
            s_data: Constant::new(bits::<2>(2)),
            align_32: Constant::new(bits::<32>(k.align_mask)),
            shift_32: Constant::new(bits::<32>(k.shift)),
            size_3: Constant::new(bits::<3>(k.shift)),
            incr_2: Constant::new(bits::<2>(k.incr)),
            okay_2: Constant::new(bits::<2>(0)),
            k0_24: Constant::new(bits::<24>(0)),
            k1_24: Constant::new(bits::<24>(1)),
            k1_32: Constant::new(bits::<32>(1)),
            is_idle: Default::default(),
            is_addr: Default::default(),
            is_data: Default::default(),
            r_take: Default::default(),
            bad_resp: Default::default(),
            len_32: Default::default(),
            step: Default::default(),
            len_24: Default::default(),
        }
    }
}

impl<const W: usize> Logic for DmaRead<W> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, state, addr, left, err);
        self.planner.clock.next = self.clock.val();
        self.slice.clock.next = self.clock.val();
        self.slice.reset.next = self.reset.val();
        self.is_idle.next = self.state.q.val() == self.s_idle.val();
        self.is_addr.next = self.state.q.val() == self.s_addr.val();
        self.is_data.next = self.state.q.val() == self.s_data.val();

        // Plan from the command while idle, else from the registers (advanced at each AR).
        self.planner.use_cmd.next = self.is_idle.val();
        self.planner.cmd_offset.next = self.cmd_addr.val().get_bits::<12>(0);
        self.planner.cmd_beats.next = self.cmd_beats.val();
        self.planner.offset.next = self.addr.q.val().get_bits::<12>(0);
        self.planner.left.next = self.left.q.val();

        // Beats of the burst on AR: len_m1 + 1, in address bytes and in beats.
        self.len_32.next = bit_cast::<32, 8>(self.planner.len_m1.val());
        self.step.next = (self.len_32.val() + self.k1_32.val()) << self.shift_32.val();
        self.len_24.next = bit_cast::<24, 8>(self.planner.len_m1.val());

        // R into the slice; RREADY is the slice's registered ready, only while a burst is open.
        self.slice.in_valid.next = self.m_axi_rvalid.val() & self.is_data.val();
        self.slice.in_data.next = self.m_axi_rdata.val();
        self.slice.in_last.next = self.m_axi_rlast.val() & (self.left.q.val() == self.k0_24.val());
        self.r_take.next = self.m_axi_rvalid.val() & self.is_data.val() & self.slice.in_ready.val();
        self.bad_resp.next = self.m_axi_rresp.val() != self.okay_2.val();

        if self.is_idle.val() {
            if self.cmd_valid.val() {
                self.err.d.next = false;
                if self.cmd_beats.val() != self.k0_24.val() {
                    self.addr.d.next = self.cmd_addr.val() & self.align_32.val();
                    self.left.d.next = self.cmd_beats.val();
                    self.state.d.next = self.s_addr.val();
                }
            }
        } else if self.is_addr.val() {
            if self.m_axi_arready.val() {
                self.addr.d.next = self.addr.q.val() + self.step.val();
                self.left.d.next = (self.left.q.val() - self.len_24.val()) - self.k1_24.val();
                self.state.d.next = self.s_data.val();
            }
        } else if self.is_data.val() & self.r_take.val() {
            if self.bad_resp.val() {
                self.err.d.next = true;
            }
            if self.m_axi_rlast.val() {
                self.state.d.next = self.s_addr.val();
                if self.left.q.val() == self.k0_24.val() {
                    self.state.d.next = self.s_idle.val();
                }
            }
        }
        if self.reset.val() {
            self.state.d.next = self.s_idle.val();
            self.err.d.next = false;
        }

        self.cmd_ready.next = self.is_idle.val();
        self.busy.next = !self.is_idle.val() | self.slice.out_valid.val();
        self.error.next = self.err.q.val();
        self.out_valid.next = self.slice.out_valid.val();
        self.out_data.next = self.slice.out_data.val();
        self.out_last.next = self.slice.out_last.val();
        self.slice.out_ready.next = self.out_ready.val();
        self.m_axi_arvalid.next = self.is_addr.val();
        self.m_axi_araddr.next = self.addr.q.val();
        self.m_axi_arlen.next = self.planner.len_m1.val();
        self.m_axi_arsize.next = self.size_3.val();
        self.m_axi_arburst.next = self.incr_2.val();
        self.m_axi_rready.next = self.slice.in_ready.val() & self.is_data.val();
    }
}
