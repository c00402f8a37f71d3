//! Both engines behind one AXI4 master port: reads use AR/R, writes AW/W/B, so they run
//! concurrently and independently. Ports are the engines' with `rd_` / `wr_` prefixes; the AXI
//! signals keep their standard `m_axi_*` names (ID, LOCK, CACHE, PROT, QOS are left to the
//! integration: all zero / defaults for a single-ID master).

use super::read::DmaRead;
use super::write::DmaWrite;
use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct Dma<const W: usize, const S: usize> {
    pub clock: Signal<In, Clock>,
    pub reset: Signal<In, Bit>,
    pub rd_cmd_valid: Signal<In, Bit>,
    pub rd_cmd_ready: Signal<Out, Bit>,
    pub rd_cmd_addr: Signal<In, Bits<32>>,
    pub rd_cmd_beats: Signal<In, Bits<24>>,
    pub rd_busy: Signal<Out, Bit>,
    pub rd_error: Signal<Out, Bit>,
    pub rd_out_valid: Signal<Out, Bit>,
    pub rd_out_ready: Signal<In, Bit>,
    pub rd_out_data: Signal<Out, Bits<W>>,
    pub rd_out_last: Signal<Out, Bit>,
    pub wr_cmd_valid: Signal<In, Bit>,
    pub wr_cmd_ready: Signal<Out, Bit>,
    pub wr_cmd_addr: Signal<In, Bits<32>>,
    pub wr_cmd_beats: Signal<In, Bits<24>>,
    pub wr_busy: Signal<Out, Bit>,
    pub wr_done: Signal<Out, Bit>,
    pub wr_error: Signal<Out, Bit>,
    pub wr_in_valid: Signal<In, Bit>,
    pub wr_in_ready: Signal<Out, Bit>,
    pub wr_in_data: Signal<In, Bits<W>>,
    pub wr_in_strb: Signal<In, Bits<S>>,
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
    read: DmaRead<W>,
    write: DmaWrite<W, S>,
}

impl<const W: usize, const S: usize> Default for Dma<W, S> {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            reset: Default::default(),
            rd_cmd_valid: Default::default(),
            rd_cmd_ready: Default::default(),
            rd_cmd_addr: Default::default(),
            rd_cmd_beats: Default::default(),
            rd_busy: Default::default(),
            rd_error: Default::default(),
            rd_out_valid: Default::default(),
            rd_out_ready: Default::default(),
            rd_out_data: Default::default(),
            rd_out_last: Default::default(),
            wr_cmd_valid: Default::default(),
            wr_cmd_ready: Default::default(),
            wr_cmd_addr: Default::default(),
            wr_cmd_beats: Default::default(),
            wr_busy: Default::default(),
            wr_done: Default::default(),
            wr_error: Default::default(),
            wr_in_valid: Default::default(),
            wr_in_ready: Default::default(),
            wr_in_data: Default::default(),
            wr_in_strb: Default::default(),
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
            read: Default::default(),
            write: Default::default(),
        }
    }
}

impl<const W: usize, const S: usize> Logic for Dma<W, S> {
    #[hdl_gen]
    fn update(&mut self) {
        self.read.clock.next = self.clock.val();
        self.read.reset.next = self.reset.val();
        self.read.cmd_valid.next = self.rd_cmd_valid.val();
        self.read.cmd_addr.next = self.rd_cmd_addr.val();
        self.read.cmd_beats.next = self.rd_cmd_beats.val();
        self.read.out_ready.next = self.rd_out_ready.val();
        self.read.m_axi_arready.next = self.m_axi_arready.val();
        self.read.m_axi_rvalid.next = self.m_axi_rvalid.val();
        self.read.m_axi_rdata.next = self.m_axi_rdata.val();
        self.read.m_axi_rresp.next = self.m_axi_rresp.val();
        self.read.m_axi_rlast.next = self.m_axi_rlast.val();
        self.rd_cmd_ready.next = self.read.cmd_ready.val();
        self.rd_busy.next = self.read.busy.val();
        self.rd_error.next = self.read.error.val();
        self.rd_out_valid.next = self.read.out_valid.val();
        self.rd_out_data.next = self.read.out_data.val();
        self.rd_out_last.next = self.read.out_last.val();
        self.m_axi_arvalid.next = self.read.m_axi_arvalid.val();
        self.m_axi_araddr.next = self.read.m_axi_araddr.val();
        self.m_axi_arlen.next = self.read.m_axi_arlen.val();
        self.m_axi_arsize.next = self.read.m_axi_arsize.val();
        self.m_axi_arburst.next = self.read.m_axi_arburst.val();
        self.m_axi_rready.next = self.read.m_axi_rready.val();

        self.write.clock.next = self.clock.val();
        self.write.reset.next = self.reset.val();
        self.write.cmd_valid.next = self.wr_cmd_valid.val();
        self.write.cmd_addr.next = self.wr_cmd_addr.val();
        self.write.cmd_beats.next = self.wr_cmd_beats.val();
        self.write.in_valid.next = self.wr_in_valid.val();
        self.write.in_data.next = self.wr_in_data.val();
        self.write.in_strb.next = self.wr_in_strb.val();
        self.write.m_axi_awready.next = self.m_axi_awready.val();
        self.write.m_axi_wready.next = self.m_axi_wready.val();
        self.write.m_axi_bvalid.next = self.m_axi_bvalid.val();
        self.write.m_axi_bresp.next = self.m_axi_bresp.val();
        self.wr_cmd_ready.next = self.write.cmd_ready.val();
        self.wr_busy.next = self.write.busy.val();
        self.wr_done.next = self.write.done.val();
        self.wr_error.next = self.write.error.val();
        self.wr_in_ready.next = self.write.in_ready.val();
        self.m_axi_awvalid.next = self.write.m_axi_awvalid.val();
        self.m_axi_awaddr.next = self.write.m_axi_awaddr.val();
        self.m_axi_awlen.next = self.write.m_axi_awlen.val();
        self.m_axi_awsize.next = self.write.m_axi_awsize.val();
        self.m_axi_awburst.next = self.write.m_axi_awburst.val();
        self.m_axi_wvalid.next = self.write.m_axi_wvalid.val();
        self.m_axi_wdata.next = self.write.m_axi_wdata.val();
        self.m_axi_wstrb.next = self.write.m_axi_wstrb.val();
        self.m_axi_wlast.next = self.write.m_axi_wlast.val();
        self.m_axi_bready.next = self.write.m_axi_bready.val();
    }
}
