//! The DMA arbiter: the `Dma`'s client side goes to the sequencer or to the running unit
//! (`unit_owns`, from the sequencer, which switches only while the DMA is idle: after a
//! descriptor's last beat and after the unit's `done`). Purely combinational, so a unit sees
//! exactly the DMA's timing (`axi_timing`). Handshake inputs (`*_ready`, `*_valid`, `wr_done`)
//! reach only the owner; data, `rd_last` and the error levels go to both.
//! Port names: `seq_*` / `unit_*` are the units.md client names, `dma_*` the `Dma`'s own.

use rust_hdl::prelude::*;

#[derive(LogicBlock, Default)]
pub struct DmaArbiter<const W: usize, const S: usize> {
    pub unit_owns: Signal<In, Bit>,
    pub seq_rd_cmd_valid: Signal<In, Bit>,
    pub seq_rd_cmd_addr: Signal<In, Bits<32>>,
    pub seq_rd_cmd_beats: Signal<In, Bits<24>>,
    pub seq_rd_ready: Signal<In, Bit>,
    pub seq_wr_cmd_valid: Signal<In, Bit>,
    pub seq_wr_cmd_addr: Signal<In, Bits<32>>,
    pub seq_wr_cmd_beats: Signal<In, Bits<24>>,
    pub seq_wr_valid: Signal<In, Bit>,
    pub seq_wr_data: Signal<In, Bits<W>>,
    pub seq_wr_strb: Signal<In, Bits<S>>,
    pub seq_rd_cmd_ready: Signal<Out, Bit>,
    pub seq_rd_valid: Signal<Out, Bit>,
    pub seq_wr_cmd_ready: Signal<Out, Bit>,
    pub seq_wr_ready: Signal<Out, Bit>,
    pub seq_wr_done: Signal<Out, Bit>,
    pub seq_rd_data: Signal<Out, Bits<W>>,
    pub seq_rd_last: Signal<Out, Bit>,
    pub seq_rd_error: Signal<Out, Bit>,
    pub seq_wr_error: Signal<Out, Bit>,
    pub unit_rd_cmd_valid: Signal<In, Bit>,
    pub unit_rd_cmd_addr: Signal<In, Bits<32>>,
    pub unit_rd_cmd_beats: Signal<In, Bits<24>>,
    pub unit_rd_ready: Signal<In, Bit>,
    pub unit_wr_cmd_valid: Signal<In, Bit>,
    pub unit_wr_cmd_addr: Signal<In, Bits<32>>,
    pub unit_wr_cmd_beats: Signal<In, Bits<24>>,
    pub unit_wr_valid: Signal<In, Bit>,
    pub unit_wr_data: Signal<In, Bits<W>>,
    pub unit_wr_strb: Signal<In, Bits<S>>,
    pub unit_rd_cmd_ready: Signal<Out, Bit>,
    pub unit_rd_valid: Signal<Out, Bit>,
    pub unit_wr_cmd_ready: Signal<Out, Bit>,
    pub unit_wr_ready: Signal<Out, Bit>,
    pub unit_wr_done: Signal<Out, Bit>,
    pub unit_rd_data: Signal<Out, Bits<W>>,
    pub unit_rd_last: Signal<Out, Bit>,
    pub unit_rd_error: Signal<Out, Bit>,
    pub unit_wr_error: Signal<Out, Bit>,
    pub dma_rd_cmd_valid: Signal<Out, Bit>,
    pub dma_rd_cmd_addr: Signal<Out, Bits<32>>,
    pub dma_rd_cmd_beats: Signal<Out, Bits<24>>,
    pub dma_rd_out_ready: Signal<Out, Bit>,
    pub dma_wr_cmd_valid: Signal<Out, Bit>,
    pub dma_wr_cmd_addr: Signal<Out, Bits<32>>,
    pub dma_wr_cmd_beats: Signal<Out, Bits<24>>,
    pub dma_wr_in_valid: Signal<Out, Bit>,
    pub dma_wr_in_data: Signal<Out, Bits<W>>,
    pub dma_wr_strb: Signal<Out, Bits<S>>,
    pub dma_rd_cmd_ready: Signal<In, Bit>,
    pub dma_rd_out_valid: Signal<In, Bit>,
    pub dma_wr_cmd_ready: Signal<In, Bit>,
    pub dma_wr_in_ready: Signal<In, Bit>,
    pub dma_wr_done: Signal<In, Bit>,
    pub dma_rd_out_data: Signal<In, Bits<W>>,
    pub dma_rd_out_last: Signal<In, Bit>,
    pub dma_rd_error: Signal<In, Bit>,
    pub dma_wr_error: Signal<In, Bit>,
}

impl<const W: usize, const S: usize> Logic for DmaArbiter<W, S> {
    #[hdl_gen]
    fn update(&mut self) {
        self.dma_rd_cmd_valid.next = self.seq_rd_cmd_valid.val();
        self.dma_rd_cmd_addr.next = self.seq_rd_cmd_addr.val();
        self.dma_rd_cmd_beats.next = self.seq_rd_cmd_beats.val();
        self.dma_rd_out_ready.next = self.seq_rd_ready.val();
        self.dma_wr_cmd_valid.next = self.seq_wr_cmd_valid.val();
        self.dma_wr_cmd_addr.next = self.seq_wr_cmd_addr.val();
        self.dma_wr_cmd_beats.next = self.seq_wr_cmd_beats.val();
        self.dma_wr_in_valid.next = self.seq_wr_valid.val();
        self.dma_wr_in_data.next = self.seq_wr_data.val();
        self.dma_wr_strb.next = self.seq_wr_strb.val();
        if self.unit_owns.val() {
            self.dma_rd_cmd_valid.next = self.unit_rd_cmd_valid.val();
            self.dma_rd_cmd_addr.next = self.unit_rd_cmd_addr.val();
            self.dma_rd_cmd_beats.next = self.unit_rd_cmd_beats.val();
            self.dma_rd_out_ready.next = self.unit_rd_ready.val();
            self.dma_wr_cmd_valid.next = self.unit_wr_cmd_valid.val();
            self.dma_wr_cmd_addr.next = self.unit_wr_cmd_addr.val();
            self.dma_wr_cmd_beats.next = self.unit_wr_cmd_beats.val();
            self.dma_wr_in_valid.next = self.unit_wr_valid.val();
            self.dma_wr_in_data.next = self.unit_wr_data.val();
            self.dma_wr_strb.next = self.unit_wr_strb.val();
        }
        self.seq_rd_cmd_ready.next = self.dma_rd_cmd_ready.val() & !self.unit_owns.val();
        self.unit_rd_cmd_ready.next = self.dma_rd_cmd_ready.val() & self.unit_owns.val();
        self.seq_rd_valid.next = self.dma_rd_out_valid.val() & !self.unit_owns.val();
        self.unit_rd_valid.next = self.dma_rd_out_valid.val() & self.unit_owns.val();
        self.seq_wr_cmd_ready.next = self.dma_wr_cmd_ready.val() & !self.unit_owns.val();
        self.unit_wr_cmd_ready.next = self.dma_wr_cmd_ready.val() & self.unit_owns.val();
        self.seq_wr_ready.next = self.dma_wr_in_ready.val() & !self.unit_owns.val();
        self.unit_wr_ready.next = self.dma_wr_in_ready.val() & self.unit_owns.val();
        self.seq_wr_done.next = self.dma_wr_done.val() & !self.unit_owns.val();
        self.unit_wr_done.next = self.dma_wr_done.val() & self.unit_owns.val();
        self.seq_rd_data.next = self.dma_rd_out_data.val();
        self.unit_rd_data.next = self.dma_rd_out_data.val();
        self.seq_rd_last.next = self.dma_rd_out_last.val();
        self.unit_rd_last.next = self.dma_rd_out_last.val();
        self.seq_rd_error.next = self.dma_rd_error.val();
        self.unit_rd_error.next = self.dma_rd_error.val();
        self.seq_wr_error.next = self.dma_wr_error.val();
        self.unit_wr_error.next = self.dma_wr_error.val();
    }
}
