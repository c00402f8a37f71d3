//! AXI4-Lite slave front end: the handshakes of `super::axil_model` (timing documented there).
//! It tells the register bank when to act, and the bank holds the response payloads:
//! * `wr_en` is high in the cycle whose edge commits a write of `wr_data`/`wr_strb` to
//!   `wr_addr`; at that edge the bank performs it and registers `BRESP`.
//! * `rd_en` is high in the cycle whose edge performs a read of `rd_addr` (the AR payload); at
//!   that edge the bank registers `RDATA`/`RRESP`.
//!
//! Why the payloads live in the bank: rust-hdl prints a block as one `always @(*)`, so a slave
//! that both drove `rd_en` and sampled the bank's read data would be a combinational loop to
//! Verilator (UNOPTFLAT), though no bit depends on itself. With payloads in the bank, signals
//! only flow slave -> bank.
//!
//! Every AXI output is a register (or the inverse of one): no combinational path from a master
//! input to a slave output, so the slave can sit on any interconnect without timing loops.

use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct AxilSlave<const A: usize> {
    pub clock: Signal<In, Clock>,
    /// Synchronous, active high: drops every VALID and empties both write buffers.
    pub reset: Signal<In, Bit>,
    pub awvalid: Signal<In, Bit>,
    pub awready: Signal<Out, Bit>,
    pub awaddr: Signal<In, Bits<A>>,
    pub wvalid: Signal<In, Bit>,
    pub wready: Signal<Out, Bit>,
    pub wdata: Signal<In, Bits<32>>,
    pub wstrb: Signal<In, Bits<4>>,
    pub bvalid: Signal<Out, Bit>,
    pub bready: Signal<In, Bit>,
    pub arvalid: Signal<In, Bit>,
    pub arready: Signal<Out, Bit>,
    pub araddr: Signal<In, Bits<A>>,
    pub rvalid: Signal<Out, Bit>,
    pub rready: Signal<In, Bit>,
    pub wr_en: Signal<Out, Bit>,
    pub wr_addr: Signal<Out, Bits<A>>,
    pub wr_data: Signal<Out, Bits<32>>,
    pub wr_strb: Signal<Out, Bits<4>>,
    pub rd_en: Signal<Out, Bit>,
    pub rd_addr: Signal<Out, Bits<A>>,
    aw_full: DFF<Bit>,
    aw_addr: DFF<Bits<A>>,
    w_full: DFF<Bit>,
    w_data: DFF<Bits<32>>,
    w_strb: DFF<Bits<4>>,
    b_valid: DFF<Bit>,
    r_valid: DFF<Bit>,
    commit: Signal<Local, Bit>,
    ar_take: Signal<Local, Bit>,
}

impl<const A: usize> Default for AxilSlave<A> {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            reset: Default::default(),
            awvalid: Default::default(),
            awready: Default::default(),
            awaddr: Default::default(),
            wvalid: Default::default(),
            wready: Default::default(),
            wdata: Default::default(),
            wstrb: Default::default(),
            bvalid: Default::default(),
            bready: Default::default(),
            arvalid: Default::default(),
            arready: Default::default(),
            araddr: Default::default(),
            rvalid: Default::default(),
            rready: Default::default(),
            wr_en: Default::default(),
            wr_addr: Default::default(),
            wr_data: Default::default(),
            wr_strb: Default::default(),
            rd_en: Default::default(),
            rd_addr: Default::default(),
            aw_full: Default::default(),
            aw_addr: Default::default(),
            w_full: Default::default(),
            w_data: Default::default(),
            w_strb: Default::default(),
            b_valid: Default::default(),
            r_valid: Default::default(),
            commit: Default::default(),
            ar_take: Default::default(),
        }
    }
}

impl<const A: usize> Logic for AxilSlave<A> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, aw_full, aw_addr, w_full, w_data, w_strb, b_valid, r_valid);
        // A write commits once both halves are buffered and the previous B has been taken: the
        // bank's BRESP register is the only place its response can wait.
        self.commit.next = self.aw_full.q.val() & self.w_full.q.val() & !self.b_valid.q.val();
        self.ar_take.next = self.arvalid.val() & !self.r_valid.q.val();

        // AW and W are captured independently (any order, or the same edge).
        if self.awvalid.val() & !self.aw_full.q.val() {
            self.aw_full.d.next = true;
            self.aw_addr.d.next = self.awaddr.val();
        }
        if self.wvalid.val() & !self.w_full.q.val() {
            self.w_full.d.next = true;
            self.w_data.d.next = self.wdata.val();
            self.w_strb.d.next = self.wstrb.val();
        }
        // Commit needs both buffers full, so it never coincides with a capture above.
        if self.commit.val() {
            self.aw_full.d.next = false;
            self.w_full.d.next = false;
            self.b_valid.d.next = true;
        } else if self.bready.val() {
            self.b_valid.d.next = false;
        }
        if self.ar_take.val() {
            self.r_valid.d.next = true;
        } else if self.rready.val() {
            self.r_valid.d.next = false;
        }
        if self.reset.val() {
            self.aw_full.d.next = false;
            self.w_full.d.next = false;
            self.b_valid.d.next = false;
            self.r_valid.d.next = false;
        }

        self.awready.next = !self.aw_full.q.val();
        self.wready.next = !self.w_full.q.val();
        self.bvalid.next = self.b_valid.q.val();
        self.arready.next = !self.r_valid.q.val();
        self.rvalid.next = self.r_valid.q.val();
        self.wr_en.next = self.commit.val();
        self.wr_addr.next = self.aw_addr.q.val();
        self.wr_data.next = self.w_data.q.val();
        self.wr_strb.next = self.w_strb.q.val();
        self.rd_en.next = self.ar_take.val();
        self.rd_addr.next = self.araddr.val();
    }
}
