//! The AXI4 write DMA: a command (byte address, beats) and an input stream become INCR bursts
//! on AW + W (WSTRB = the input beat's `in_strb`, WLAST on the burst's last beat), one burst outstanding: the next
//! AW waits for the previous burst's B response. `S` = `W / 8` is the WSTRB width (a second
//! const parameter because rust-hdl port widths cannot be computed from `W`).
//!
//! States: `IDLE` (`cmd_ready`), `BURST` (AWVALID until taken; input beats flow through a
//! register slice onto W until the burst's last one), `RESP` (`BREADY`; the next burst is planned
//! meanwhile). `AWLEN` is the planner's registered output (see `planner`); it moves on to the
//! next burst's plan one edge after the AW handshake, so the AW handshake copies it into `len_m1`
//! for counting the rest of the burst's input beats. The W beats of a burst are offered without waiting for AWREADY, as AXI requires
//! of a master. Timing: `axi_timing::write_cycles`.
//!
//! * The low `log2(W / 8)` address bits are ignored.
//! * `done` pulses for one cycle after the command's last B handshake (or after accepting a
//!   zero-beat command). `error` is cleared when a command is accepted and set by any B
//!   response other than OKAY; the remaining bursts are still written.
//! * The engine takes exactly `beats` input beats per command.

use super::planner::BurstPlanner;
use super::skid::Skid;
use super::{axi_consts, bus_of};
use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct DmaWrite<const W: usize, const S: usize> {
    pub clock: Signal<In, Clock>,
    /// Synchronous, active high; only with the AXI slave reset too.
    pub reset: Signal<In, Bit>,
    pub cmd_valid: Signal<In, Bit>,
    pub cmd_ready: Signal<Out, Bit>,
    pub cmd_addr: Signal<In, Bits<32>>,
    pub cmd_beats: Signal<In, Bits<24>>,
    pub busy: Signal<Out, Bit>,
    pub done: Signal<Out, Bit>,
    pub error: Signal<Out, Bit>,
    pub in_valid: Signal<In, Bit>,
    pub in_ready: Signal<Out, Bit>,
    pub in_data: Signal<In, Bits<W>>,
    /// Byte strobes of the input beat (bit i = byte i), carried to WSTRB with the data.
    pub in_strb: Signal<In, Bits<S>>,
    pub m_axi_awvalid: Signal<Out, Bit>,
    pub m_axi_awready: Signal<In, Bit>,
    pub m_axi_awaddr: Signal<Out, Bits<32>>,
    pub m_axi_awlen: Signal<Out, Bits<8>>,
    pub m_axi_awsize: Signal<Out, Bits<3>>,
    pub m_axi_awburst: Signal<Out, Bits<2>>,
    pub m_axi_wvalid: Signal<Out, Bit>,
    pub m_axi_wready: Signal<In, Bit>,
    pub m_axi_wdata: Signal<Out, Bits<W>>,
    pub m_axi_wstrb: Signal<Out, Bits<S>>,
    pub m_axi_wlast: Signal<Out, Bit>,
    pub m_axi_bvalid: Signal<In, Bit>,
    pub m_axi_bready: Signal<Out, Bit>,
    pub m_axi_bresp: Signal<In, Bits<2>>,
    planner: BurstPlanner,
    slice: Skid<W>,
    /// The strobes' register slice: same inputs as `slice`, so it moves in lockstep with it.
    strb_slice: Skid<S>,
    state: DFF<Bits<2>>,
    addr: DFF<Bits<32>>,
    left: DFF<Bits<24>>,
    len_m1: DFF<Bits<8>>,
    /// AWVALID: the burst's AW is not taken yet.
    aw_pending: DFF<Bit>,
    /// The burst's WLAST beat is not taken yet.
    wlast_pending: DFF<Bit>,
    /// Input beats of this burst are still to be taken into the slice.
    feed: DFF<Bit>,
    taken: DFF<Bits<8>>,
    done_pulse: DFF<Bit>,
    err: DFF<Bit>,
    s_idle: Constant<Bits<2>>,
    s_burst: Constant<Bits<2>>,
    s_resp: Constant<Bits<2>>,
    align_32: Constant<Bits<32>>,
    shift_32: Constant<Bits<32>>,
    size_3: Constant<Bits<3>>,
    incr_2: Constant<Bits<2>>,
    okay_2: Constant<Bits<2>>,
    k0_24: Constant<Bits<24>>,
    k1_24: Constant<Bits<24>>,
    k1_32: Constant<Bits<32>>,
    k0_8: Constant<Bits<8>>,
    k1_8: Constant<Bits<8>>,
    is_idle: Signal<Local, Bit>,
    is_burst: Signal<Local, Bit>,
    is_resp: Signal<Local, Bit>,
    aw_take: Signal<Local, Bit>,
    wlast_take: Signal<Local, Bit>,
    in_take: Signal<Local, Bit>,
    in_last: Signal<Local, Bit>,
    burst_m1: Signal<Local, Bits<8>>,
    len_32: Signal<Local, Bits<32>>,
    step: Signal<Local, Bits<32>>,
    len_24: Signal<Local, Bits<24>>,
}

impl<const W: usize, const S: usize> Default for DmaWrite<W, S> {
    fn default() -> Self {
        assert_eq!(S * 8, W, "WSTRB has one bit per data byte");
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
            done: Default::default(),
            error: Default::default(),
            in_valid: Default::default(),
            in_ready: Default::default(),
            in_data: Default::default(),
            in_strb: Default::default(),
            m_axi_awvalid: Default::default(),
            m_axi_awready: Default::default(),
            m_axi_awaddr: Default::default(),
            m_axi_awlen: Default::default(),
            m_axi_awsize: Default::default(),
            m_axi_awburst: Default::default(),
            m_axi_wvalid: Default::default(),
            m_axi_wready: Default::default(),
            m_axi_wdata: Default::default(),
            m_axi_wstrb: Default::default(),
            m_axi_wlast: Default::default(),
            m_axi_bvalid: Default::default(),
            m_axi_bready: Default::default(),
            m_axi_bresp: Default::default(),
            planner: BurstPlanner::new(bus),
            slice: Default::default(),
            strb_slice: Default::default(),
            state: Default::default(),
            addr: Default::default(),
            left: Default::default(),
            len_m1: Default::default(),
            aw_pending: Default::default(),
            wlast_pending: Default::default(),
            feed: Default::default(),
            taken: Default::default(),
            done_pulse: Default::default(),
            err: Default::default(),
            s_idle: Constant::new(bits::<2>(0)),
            s_burst: Constant::new(bits::<2>(1)),
            s_resp: Constant::new(bits::<2>(2)),
            align_32: Constant::new(bits::<32>(k.align_mask)),
            shift_32: Constant::new(bits::<32>(k.shift)),
            size_3: Constant::new(bits::<3>(k.shift)),
            incr_2: Constant::new(bits::<2>(k.incr)),
            okay_2: Constant::new(bits::<2>(0)),
            k0_24: Constant::new(bits::<24>(0)),
            k1_24: Constant::new(bits::<24>(1)),
            k1_32: Constant::new(bits::<32>(1)),
            k0_8: Constant::new(bits::<8>(0)),
            k1_8: Constant::new(bits::<8>(1)),
            is_idle: Default::default(),
            is_burst: Default::default(),
            is_resp: Default::default(),
            aw_take: Default::default(),
            wlast_take: Default::default(),
            in_take: Default::default(),
            in_last: Default::default(),
            burst_m1: Default::default(),
            len_32: Default::default(),
            step: Default::default(),
            len_24: Default::default(),
        }
    }
}

impl<const W: usize, const S: usize> Logic for DmaWrite<W, S> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, state, addr, left, len_m1, aw_pending, wlast_pending, feed, taken, done_pulse, err);
        self.planner.clock.next = self.clock.val();
        self.slice.clock.next = self.clock.val();
        self.slice.reset.next = self.reset.val();
        self.strb_slice.clock.next = self.clock.val();
        self.strb_slice.reset.next = self.reset.val();
        self.is_idle.next = self.state.q.val() == self.s_idle.val();
        self.is_burst.next = self.state.q.val() == self.s_burst.val();
        self.is_resp.next = self.state.q.val() == self.s_resp.val();

        self.planner.use_cmd.next = self.is_idle.val();
        self.planner.cmd_offset.next = self.cmd_addr.val().get_bits::<12>(0);
        self.planner.cmd_beats.next = self.cmd_beats.val();
        self.planner.offset.next = self.addr.q.val().get_bits::<12>(0);
        self.planner.left.next = self.left.q.val();
        // The burst's length: the plan until its AW is taken, then the copy.
        self.burst_m1.next = self.len_m1.q.val();
        if self.aw_pending.q.val() {
            self.burst_m1.next = self.planner.len_m1.val();
        }
        self.len_32.next = bit_cast::<32, 8>(self.burst_m1.val());
        self.step.next = (self.len_32.val() + self.k1_32.val()) << self.shift_32.val();
        self.len_24.next = bit_cast::<24, 8>(self.burst_m1.val());

        // Input -> slice -> W. The slice is fed only the burst's own beats.
        self.slice.in_valid.next = self.in_valid.val() & self.feed.q.val();
        self.slice.in_data.next = self.in_data.val();
        self.in_last.next = self.taken.q.val() == self.burst_m1.val();
        self.slice.in_last.next = self.in_last.val();
        self.in_take.next =
            self.in_valid.val() & self.feed.q.val() & self.slice.in_ready.val() & self.strb_slice.in_ready.val();
        self.slice.out_ready.next = self.m_axi_wready.val();
        self.strb_slice.in_valid.next = self.in_valid.val() & self.feed.q.val();
        self.strb_slice.in_data.next = self.in_strb.val();
        self.strb_slice.in_last.next = self.in_last.val();
        self.strb_slice.out_ready.next = self.m_axi_wready.val();
        self.aw_take.next = self.aw_pending.q.val() & self.m_axi_awready.val();
        self.wlast_take.next = self.slice.out_valid.val()
            & self.strb_slice.out_valid.val()
            & self.slice.out_last.val()
            & self.strb_slice.out_last.val()
            & self.m_axi_wready.val();

        if self.in_take.val() {
            self.taken.d.next = self.taken.q.val() + self.k1_8.val();
            if self.in_last.val() {
                self.feed.d.next = false;
            }
        }
        self.done_pulse.d.next = false;
        if self.is_idle.val() {
            if self.cmd_valid.val() {
                self.err.d.next = false;
                if self.cmd_beats.val() == self.k0_24.val() {
                    self.done_pulse.d.next = true;
                } else {
                    self.addr.d.next = self.cmd_addr.val() & self.align_32.val();
                    self.left.d.next = self.cmd_beats.val();
                    self.state.d.next = self.s_burst.val();
                    self.aw_pending.d.next = true;
                    self.wlast_pending.d.next = true;
                    self.feed.d.next = true;
                    self.taken.d.next = self.k0_8.val();
                }
            }
        } else if self.is_burst.val() {
            if self.aw_take.val() {
                self.aw_pending.d.next = false;
                self.len_m1.d.next = self.planner.len_m1.val();
                self.addr.d.next = self.addr.q.val() + self.step.val();
                self.left.d.next = (self.left.q.val() - self.len_24.val()) - self.k1_24.val();
            }
            if self.wlast_take.val() {
                self.wlast_pending.d.next = false;
            }
            if (!self.aw_pending.q.val() | self.aw_take.val()) & (!self.wlast_pending.q.val() | self.wlast_take.val()) {
                self.state.d.next = self.s_resp.val();
            }
        } else if self.is_resp.val() & self.m_axi_bvalid.val() {
            if self.m_axi_bresp.val() != self.okay_2.val() {
                self.err.d.next = true;
            }
            if self.left.q.val() == self.k0_24.val() {
                self.state.d.next = self.s_idle.val();
                self.done_pulse.d.next = true;
            } else {
                self.state.d.next = self.s_burst.val();
                self.aw_pending.d.next = true;
                self.wlast_pending.d.next = true;
                self.feed.d.next = true;
                self.taken.d.next = self.k0_8.val();
            }
        }
        if self.reset.val() {
            self.state.d.next = self.s_idle.val();
            self.aw_pending.d.next = false;
            self.wlast_pending.d.next = false;
            self.feed.d.next = false;
            self.done_pulse.d.next = false;
            self.err.d.next = false;
        }

        self.cmd_ready.next = self.is_idle.val();
        self.busy.next = !self.is_idle.val();
        self.done.next = self.done_pulse.q.val();
        self.error.next = self.err.q.val();
        self.in_ready.next = self.slice.in_ready.val() & self.strb_slice.in_ready.val() & self.feed.q.val();
        self.m_axi_awvalid.next = self.aw_pending.q.val();
        self.m_axi_awaddr.next = self.addr.q.val();
        self.m_axi_awlen.next = self.planner.len_m1.val();
        self.m_axi_awsize.next = self.size_3.val();
        self.m_axi_awburst.next = self.incr_2.val();
        // The two slices hold the same beats (same inputs every cycle): the ANDs are identities
        // that keep both slices' handshake outputs in use.
        self.m_axi_wvalid.next = self.slice.out_valid.val() & self.strb_slice.out_valid.val();
        self.m_axi_wdata.next = self.slice.out_data.val();
        self.m_axi_wstrb.next = self.strb_slice.out_data.val();
        self.m_axi_wlast.next = self.slice.out_last.val() & self.strb_slice.out_last.val();
        self.m_axi_bready.next = self.is_resp.val();
    }
}
