//! The register file as one block: the AXI4-Lite slave ([`AxilSlave`]) in front of the bank
//! ([`RegBank`]). AXI ports keep their standard names with an `s_axil_` prefix (AWPROT/ARPROT
//! are not ports: the slave ignores protection, so the integration leaves them open).

use super::bank::RegBank;
use super::layout::{RegLayout, ADDR_BITS, IRQ_BITS, PROGRAM_COUNT_BITS};
use super::slave::AxilSlave;
use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct RegFile {
    pub clock: Signal<In, Clock>,
    /// Synchronous, active high (invert ARESETn outside).
    pub reset: Signal<In, Bit>,
    pub s_axil_awvalid: Signal<In, Bit>,
    pub s_axil_awready: Signal<Out, Bit>,
    pub s_axil_awaddr: Signal<In, Bits<ADDR_BITS>>,
    pub s_axil_wvalid: Signal<In, Bit>,
    pub s_axil_wready: Signal<Out, Bit>,
    pub s_axil_wdata: Signal<In, Bits<32>>,
    pub s_axil_wstrb: Signal<In, Bits<4>>,
    pub s_axil_bvalid: Signal<Out, Bit>,
    pub s_axil_bready: Signal<In, Bit>,
    pub s_axil_bresp: Signal<Out, Bits<2>>,
    pub s_axil_arvalid: Signal<In, Bit>,
    pub s_axil_arready: Signal<Out, Bit>,
    pub s_axil_araddr: Signal<In, Bits<ADDR_BITS>>,
    pub s_axil_rvalid: Signal<Out, Bit>,
    pub s_axil_rready: Signal<In, Bit>,
    pub s_axil_rdata: Signal<Out, Bits<32>>,
    pub s_axil_rresp: Signal<Out, Bits<2>>,
    /// `STATUS` as the core composes it (bits outside its fields read 0).
    pub status: Signal<In, Bits<32>>,
    pub layers_done: Signal<In, Bits<32>>,
    pub total_cycles: Signal<In, Bits<64>>,
    pub busy_cycles: Signal<In, Bits<64>>,
    pub dma_stall_cycles: Signal<In, Bits<64>>,
    /// One bit per `IRQ_STATUS` field, high for the cycle of the event.
    pub irq_set: Signal<In, Bits<IRQ_BITS>>,
    /// `CONTROL.START` written 1: high for one cycle.
    pub start: Signal<Out, Bit>,
    /// `CONTROL.SOFT_RESET` written 1: high for one cycle.
    pub soft_reset: Signal<Out, Bit>,
    /// Level interrupt: `CONTROL.IRQ_ENABLE && IRQ_STATUS != 0`, from a register.
    pub irq: Signal<Out, Bit>,
    /// `{PROGRAM_BASE_HI, PROGRAM_BASE_LO}`.
    pub program_base: Signal<Out, Bits<64>>,
    /// `PROGRAM_COUNT.COUNT`.
    pub program_count: Signal<Out, Bits<PROGRAM_COUNT_BITS>>,
    slave: AxilSlave<ADDR_BITS>,
    bank: RegBank,
}

impl RegFile {
    pub fn new(layout: &RegLayout) -> RegFile {
        RegFile {
            clock: Default::default(),
            reset: Default::default(),
            s_axil_awvalid: Default::default(),
            s_axil_awready: Default::default(),
            s_axil_awaddr: Default::default(),
            s_axil_wvalid: Default::default(),
            s_axil_wready: Default::default(),
            s_axil_wdata: Default::default(),
            s_axil_wstrb: Default::default(),
            s_axil_bvalid: Default::default(),
            s_axil_bready: Default::default(),
            s_axil_bresp: Default::default(),
            s_axil_arvalid: Default::default(),
            s_axil_arready: Default::default(),
            s_axil_araddr: Default::default(),
            s_axil_rvalid: Default::default(),
            s_axil_rready: Default::default(),
            s_axil_rdata: Default::default(),
            s_axil_rresp: Default::default(),
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
            slave: Default::default(),
            bank: RegBank::new(layout),
        }
    }
}

impl Logic for RegFile {
    #[hdl_gen]
    fn update(&mut self) {
        self.slave.clock.next = self.clock.val();
        self.slave.reset.next = self.reset.val();
        self.bank.clock.next = self.clock.val();
        self.bank.reset.next = self.reset.val();

        self.slave.awvalid.next = self.s_axil_awvalid.val();
        self.slave.awaddr.next = self.s_axil_awaddr.val();
        self.slave.wvalid.next = self.s_axil_wvalid.val();
        self.slave.wdata.next = self.s_axil_wdata.val();
        self.slave.wstrb.next = self.s_axil_wstrb.val();
        self.slave.bready.next = self.s_axil_bready.val();
        self.slave.arvalid.next = self.s_axil_arvalid.val();
        self.slave.araddr.next = self.s_axil_araddr.val();
        self.slave.rready.next = self.s_axil_rready.val();
        self.s_axil_awready.next = self.slave.awready.val();
        self.s_axil_wready.next = self.slave.wready.val();
        self.s_axil_bvalid.next = self.slave.bvalid.val();
        self.s_axil_bresp.next = self.bank.bresp.val();
        self.s_axil_arready.next = self.slave.arready.val();
        self.s_axil_rvalid.next = self.slave.rvalid.val();
        self.s_axil_rdata.next = self.bank.rdata.val();
        self.s_axil_rresp.next = self.bank.rresp.val();

        self.bank.wr_en.next = self.slave.wr_en.val();
        self.bank.wr_addr.next = self.slave.wr_addr.val();
        self.bank.wr_data.next = self.slave.wr_data.val();
        self.bank.wr_strb.next = self.slave.wr_strb.val();
        self.bank.rd_en.next = self.slave.rd_en.val();
        self.bank.rd_addr.next = self.slave.rd_addr.val();

        self.bank.status.next = self.status.val();
        self.bank.layers_done.next = self.layers_done.val();
        self.bank.total_cycles.next = self.total_cycles.val();
        self.bank.busy_cycles.next = self.busy_cycles.val();
        self.bank.dma_stall_cycles.next = self.dma_stall_cycles.val();
        self.bank.irq_set.next = self.irq_set.val();
        self.start.next = self.bank.start.val();
        self.soft_reset.next = self.bank.soft_reset.val();
        self.irq.next = self.bank.irq.val();
        self.program_base.next = self.bank.program_base.val();
        self.program_count.next = self.bank.program_count.val();
    }
}
