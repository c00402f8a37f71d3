//! The im2col reader: layer setup + address generator + activation buffer read path, the
//! activation source of the array (its `rows$r` feed the array's `a_in$r`, `row_first` its
//! `tile_start`). Its layer inputs are the descriptor's geometry fields.

use super::addrgen::Im2colAddrGen;
use super::read::ActRead;
use super::regs::{Im2colError, COUNT_BITS, ROW_BITS};
use super::setup::LayerSetup;
use crate::emit::Waiver;
use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct Im2colReader<const W: usize, const AW: usize> {
    pub clock: Signal<In, Clock>,
    pub en: Signal<In, Bit>,
    // Layer fields (descriptor), stable from `setup` until the layer's last pixel has left.
    pub act_base: Signal<In, Bits<AW>>,
    pub in_h: Signal<In, Bits<16>>,
    pub in_w: Signal<In, Bits<16>>,
    pub in_c: Signal<In, Bits<16>>,
    pub out_h: Signal<In, Bits<16>>,
    pub out_w: Signal<In, Bits<16>>,
    pub stride_h: Signal<In, Bits<8>>,
    pub stride_w: Signal<In, Bits<8>>,
    pub dilation_h: Signal<In, Bits<8>>,
    pub dilation_w: Signal<In, Bits<8>>,
    pub pad_top: Signal<In, Bits<8>>,
    pub pad_left: Signal<In, Bits<8>>,
    pub zero_point: Signal<In, Bits<8>>,
    /// Derive the layer's strides (`LayerSetup`); no command may be given while `setup_busy`.
    pub setup: Signal<In, Bit>,
    pub setup_busy: Signal<Out, Bit>,
    // Tile command.
    pub start: Signal<In, Bit>,
    pub mode: Signal<In, Bits<2>>,
    pub count: Signal<In, Bits<COUNT_BITS>>,
    pub ky: Signal<In, Bits<8>>,
    pub kx0: Signal<In, Bits<8>>,
    pub nx: Signal<In, Bits<8>>,
    pub c0: Signal<In, Bits<16>>,
    pub nc: Signal<In, Bits<ROW_BITS>>,
    pub ready: Signal<Out, Bit>,
    pub idle: Signal<Out, Bit>,
    // DMA write port.
    pub wr_en: Signal<In, Bit>,
    pub wr_addr: Signal<In, Bits<AW>>,
    pub wr_data: Signal<In, Bits<W>>,
    // Rows.
    pub row_valid: Signal<Out, Bit>,
    pub row_first: Signal<Out, Bit>,
    pub row_last: Signal<Out, Bit>,
    pub rows: Vec<Signal<Out, Bits<8>>>,
    layer: LayerSetup,
    gen: Im2colAddrGen<AW>,
    read: ActRead<W, AW>,
    _rows: usize,
}

impl<const W: usize, const AW: usize> Im2colReader<W, AW> {
    /// A reader for an R-row array, W-bit DMA beats and a `2^AW`-byte activation buffer.
    pub fn new(rows: usize) -> Result<Self, Im2colError> {
        let read = ActRead::new(rows)?;
        Ok(Self {
            clock: Default::default(),
            en: Default::default(),
            act_base: Default::default(),
            in_h: Default::default(),
            in_w: Default::default(),
            in_c: Default::default(),
            out_h: Default::default(),
            out_w: Default::default(),
            stride_h: Default::default(),
            stride_w: Default::default(),
            dilation_h: Default::default(),
            dilation_w: Default::default(),
            pad_top: Default::default(),
            pad_left: Default::default(),
            zero_point: Default::default(),
            setup: Default::default(),
            setup_busy: Default::default(),
            start: Default::default(),
            mode: Default::default(),
            count: Default::default(),
            ky: Default::default(),
            kx0: Default::default(),
            nx: Default::default(),
            c0: Default::default(),
            nc: Default::default(),
            ready: Default::default(),
            idle: Default::default(),
            wr_en: Default::default(),
            wr_addr: Default::default(),
            wr_data: Default::default(),
            row_valid: Default::default(),
            row_first: Default::default(),
            row_last: Default::default(),
            rows: (0..rows).map(|_| Default::default()).collect(),
            layer: LayerSetup::default(),
            gen: Im2colAddrGen::new(rows),
            read,
            _rows: rows,
        })
    }

    pub fn rows(&self) -> usize {
        self._rows
    }

    /// Lint waivers of the emitted top (pass to `emit::emit_with_waivers`).
    pub fn waivers(&self) -> Vec<Waiver> {
        vec![Waiver {
            signal: "gen$req_len".into(),
            rule: "UNUSEDSIGNAL",
            reason: "the run length is for the sequencer; the read path works from the mask",
        }]
    }
}

impl<const W: usize, const AW: usize> Logic for Im2colReader<W, AW> {
    #[hdl_gen]
    fn update(&mut self) {
        self.gen.clock.next = self.clock.val();
        self.gen.en.next = self.en.val();
        self.gen.act_base.next = self.act_base.val();
        self.gen.out_w.next = self.out_w.val();
        self.gen.out_h.next = self.out_h.val();
        self.layer.clock.next = self.clock.val();
        self.layer.en.next = self.en.val();
        self.layer.start.next = self.setup.val();
        self.layer.in_h.next = self.in_h.val();
        self.layer.in_w.next = self.in_w.val();
        self.layer.in_c.next = self.in_c.val();
        self.layer.stride_h.next = self.stride_h.val();
        self.layer.stride_w.next = self.stride_w.val();
        self.layer.dilation_h.next = self.dilation_h.val();
        self.layer.dilation_w.next = self.dilation_w.val();
        self.layer.pad_top.next = self.pad_top.val();
        self.layer.pad_left.next = self.pad_left.val();
        self.setup_busy.next = self.layer.busy.val();
        self.gen.row_bytes.next = self.layer.row_bytes.val();
        self.gen.image_bytes.next = self.layer.image_bytes.val();
        self.gen.step_x.next = self.layer.step_x.val();
        self.gen.step_y.next = self.layer.step_y.val();
        self.gen.dil_x.next = self.layer.dil_x.val();
        self.gen.dil_y.next = self.layer.dil_y.val();
        self.gen.org_x.next = self.layer.org_x.val();
        self.gen.org_y.next = self.layer.org_y.val();
        self.gen.start.next = self.start.val();
        self.gen.mode.next = self.mode.val();
        self.gen.count.next = self.count.val();
        self.gen.ky.next = self.ky.val();
        self.gen.kx0.next = self.kx0.val();
        self.gen.nx.next = self.nx.val();
        self.gen.c0.next = self.c0.val();
        self.gen.nc.next = self.nc.val();
        self.ready.next = self.gen.ready.val();
        self.idle.next = self.gen.idle.val();
        self.read.clock.next = self.clock.val();
        self.read.en.next = self.en.val();
        self.read.zero_point.next = self.zero_point.val();
        self.read.req_valid.next = self.gen.req_valid.val();
        self.read.req_first.next = self.gen.req_first.val();
        self.read.req_last.next = self.gen.req_last.val();
        self.read.req_addr.next = self.gen.req_addr.val();
        for r in 0..(self._rows) {
            self.read.req_mask[r].next = self.gen.req_mask[r].val();
            self.rows[r].next = self.read.rows[r].val();
        }
        self.read.wr_en.next = self.wr_en.val();
        self.read.wr_addr.next = self.wr_addr.val();
        self.read.wr_data.next = self.wr_data.val();
        self.row_valid.next = self.read.row_valid.val();
        self.row_first.next = self.read.row_first.val();
        self.row_last.next = self.read.row_last.val();
    }
}
