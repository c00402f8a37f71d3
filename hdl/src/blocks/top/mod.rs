//! The engine top: AXI4-Lite register file, sequencer, descriptor fields, DMA arbiter, AXI4
//! master DMA and the layer units (units.md). The module is named after the model
//! (`ArchConfig::name`). Ports: `clock`, `reset` (synchronous, active high), the AXI4-Lite slave
//! `s_axil_*`, the AXI4 master `m_axi_*` (ID / LOCK / CACHE / PROT / QOS tied off by the
//! integration), `irq` (level).
//!
//! Units, each started by its own pulse of the sequencer, fields from `fields`, reset with the
//! design and while the sequencer drains:
//! * the CONV unit (`blocks::conv::ConvUnit`, start = `seq.conv_start`);
//! * the post-op unit (`blocks::post::PostUnit`, start = `seq.post_start`: ADD, MAX_POOL,
//!   AVG_POOL, GLOBAL_AVG_POOL in their TFLite modes; buffers of `2^PW` beats that hold the
//!   activation buffer, `blocks::post::buffer_beats_log2`). The sequencer answers a post-op
//!   descriptor whose op the configuration does not list with `ErrorCode::Unsupported`; the unit
//!   answers the onnxruntime float modes with `Unsupported` too (the lowering keeps them on the
//!   host for generated engines, `generator_sizing_options`).
//!
//! The arbiter's single unit-side DMA client goes to the unit the sequencer started last
//! (`post_sel`, a register set by `post_start` and cleared by `conv_start`: it changes in the
//! start cycle, before either unit can issue a command, so no unit's DMA timing changes). The
//! unit not selected sees no handshakes; `done` / `error` / `stall` are ORed (an idle unit holds
//! them low) and `error_code` is the selected unit's.

use crate::blocks::conv::unit::{ConvUnit, ConvUnitError};
use crate::blocks::dma::Dma;
use crate::blocks::post::{buffer_beats_log2, PostUnit};
use crate::blocks::regs::layout::ADDR_BITS;
use crate::blocks::regs::{LayoutError, RegFile, RegLayout, Unmapped};
use crate::blocks::seq::fields::FIELD_PORTS;
use crate::blocks::seq::fsm::ISOLATE;
use crate::blocks::seq::{DescFields, DmaArbiter, Sequencer};
use crate::emit::{self, Design, EmitError, Waiver};
use rust_hdl::prelude::*;
use systole_arch::timing::seq::EngineUnits;
use systole_arch::{ArchConfig, ConfigError, PostOps, SizingOptions};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum TopError {
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("register layout: {0}")]
    Layout(#[from] LayoutError),
    #[error("the configuration asks for {0}, which this generator cannot instantiate yet")]
    UnitMissing(&'static str),
    #[error(transparent)]
    Emit(#[from] EmitError),
    #[error("CONV unit: {0}")]
    Conv(#[from] ConvUnitError),
    #[error(
        "no monomorphised top for DMA {bits} bits, activation buffer {act} B, psum depth {pb} (use emit_top_sized)"
    )]
    Size { bits: u32, act: u32, pb: u32 },
    #[error("starting the thread that emits the top: {0}")]
    Thread(String),
    #[error("post-op unit buffers of 2^{got} beats, the configuration needs 2^{want} (PW of emit_top_sized)")]
    PostBuffer { got: usize, want: usize },
}

#[derive(LogicBlock)]
pub struct EngineTop<const W: usize, const S: usize, const AW: usize, const PA: usize, const PW: usize> {
    pub clock: Signal<In, Clock>,
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
    pub irq: Signal<Out, Bit>,
    regs: RegFile,
    seq: Sequencer<W, S>,
    fields: DescFields,
    arb: DmaArbiter<W, S>,
    dma: Dma<W, S>,
    conv: ConvUnit<W, S, AW, PA>,
    post: PostUnit<W, S, PW>,
    /// The post-op unit owns the unit-side DMA client (set by `post_start`, cleared by
    /// `conv_start`).
    post_sel: DFF<Bit>,
}

impl<const W: usize, const S: usize, const AW: usize, const PA: usize, const PW: usize> EngineTop<W, S, AW, PA, PW> {
    fn new(cfg: &ArchConfig, units: &EngineUnits) -> Result<Self, TopError> {
        let layout = RegLayout::new(cfg, Unmapped::ReadZero)?;
        Ok(Self {
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
            irq: Default::default(),
            regs: RegFile::new(&layout),
            seq: Sequencer::new(cfg.requant, units),
            fields: DescFields::new(units.zero_skip),
            arb: Default::default(),
            dma: Default::default(),
            conv: ConvUnit::new(cfg)?,
            post: Default::default(),
            post_sel: Default::default(),
        })
    }
}

impl<const W: usize, const S: usize, const AW: usize, const PA: usize, const PW: usize> Logic
    for EngineTop<W, S, AW, PA, PW>
{
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, post_sel);
        self.regs.clock.next = self.clock.val();
        self.regs.reset.next = self.reset.val();
        self.seq.clock.next = self.clock.val();
        self.seq.reset.next = self.reset.val();
        self.dma.clock.next = self.clock.val();
        self.dma.reset.next = self.reset.val();
        self.regs.s_axil_awvalid.next = self.s_axil_awvalid.val();
        self.s_axil_awready.next = self.regs.s_axil_awready.val();
        self.regs.s_axil_awaddr.next = self.s_axil_awaddr.val();
        self.regs.s_axil_wvalid.next = self.s_axil_wvalid.val();
        self.s_axil_wready.next = self.regs.s_axil_wready.val();
        self.regs.s_axil_wdata.next = self.s_axil_wdata.val();
        self.regs.s_axil_wstrb.next = self.s_axil_wstrb.val();
        self.s_axil_bvalid.next = self.regs.s_axil_bvalid.val();
        self.regs.s_axil_bready.next = self.s_axil_bready.val();
        self.s_axil_bresp.next = self.regs.s_axil_bresp.val();
        self.regs.s_axil_arvalid.next = self.s_axil_arvalid.val();
        self.s_axil_arready.next = self.regs.s_axil_arready.val();
        self.regs.s_axil_araddr.next = self.s_axil_araddr.val();
        self.s_axil_rvalid.next = self.regs.s_axil_rvalid.val();
        self.regs.s_axil_rready.next = self.s_axil_rready.val();
        self.s_axil_rdata.next = self.regs.s_axil_rdata.val();
        self.s_axil_rresp.next = self.regs.s_axil_rresp.val();
        self.m_axi_arvalid.next = self.dma.m_axi_arvalid.val();
        self.dma.m_axi_arready.next = self.m_axi_arready.val();
        self.m_axi_araddr.next = self.dma.m_axi_araddr.val();
        self.m_axi_arlen.next = self.dma.m_axi_arlen.val();
        self.m_axi_arsize.next = self.dma.m_axi_arsize.val();
        self.m_axi_arburst.next = self.dma.m_axi_arburst.val();
        self.dma.m_axi_rvalid.next = self.m_axi_rvalid.val();
        self.m_axi_rready.next = self.dma.m_axi_rready.val();
        self.dma.m_axi_rdata.next = self.m_axi_rdata.val();
        self.dma.m_axi_rresp.next = self.m_axi_rresp.val();
        self.dma.m_axi_rlast.next = self.m_axi_rlast.val();
        self.m_axi_awvalid.next = self.dma.m_axi_awvalid.val();
        self.dma.m_axi_awready.next = self.m_axi_awready.val();
        self.m_axi_awaddr.next = self.dma.m_axi_awaddr.val();
        self.m_axi_awlen.next = self.dma.m_axi_awlen.val();
        self.m_axi_awsize.next = self.dma.m_axi_awsize.val();
        self.m_axi_awburst.next = self.dma.m_axi_awburst.val();
        self.m_axi_wvalid.next = self.dma.m_axi_wvalid.val();
        self.dma.m_axi_wready.next = self.m_axi_wready.val();
        self.m_axi_wdata.next = self.dma.m_axi_wdata.val();
        self.m_axi_wstrb.next = self.dma.m_axi_wstrb.val();
        self.m_axi_wlast.next = self.dma.m_axi_wlast.val();
        self.dma.m_axi_bvalid.next = self.m_axi_bvalid.val();
        self.m_axi_bready.next = self.dma.m_axi_bready.val();
        self.dma.m_axi_bresp.next = self.m_axi_bresp.val();
        self.arb.seq_rd_cmd_valid.next = self.seq.rd_cmd_valid.val();
        self.dma.rd_cmd_valid.next = self.arb.dma_rd_cmd_valid.val();
        self.arb.seq_rd_cmd_addr.next = self.seq.rd_cmd_addr.val();
        self.dma.rd_cmd_addr.next = self.arb.dma_rd_cmd_addr.val();
        self.arb.seq_rd_cmd_beats.next = self.seq.rd_cmd_beats.val();
        self.dma.rd_cmd_beats.next = self.arb.dma_rd_cmd_beats.val();
        self.arb.seq_rd_ready.next = self.seq.rd_ready.val();
        self.dma.rd_out_ready.next = self.arb.dma_rd_out_ready.val();
        self.arb.seq_wr_cmd_valid.next = self.seq.wr_cmd_valid.val();
        self.dma.wr_cmd_valid.next = self.arb.dma_wr_cmd_valid.val();
        self.arb.seq_wr_cmd_addr.next = self.seq.wr_cmd_addr.val();
        self.dma.wr_cmd_addr.next = self.arb.dma_wr_cmd_addr.val();
        self.arb.seq_wr_cmd_beats.next = self.seq.wr_cmd_beats.val();
        self.dma.wr_cmd_beats.next = self.arb.dma_wr_cmd_beats.val();
        self.arb.seq_wr_valid.next = self.seq.wr_valid.val();
        self.dma.wr_in_valid.next = self.arb.dma_wr_in_valid.val();
        self.arb.seq_wr_data.next = self.seq.wr_data.val();
        self.dma.wr_in_data.next = self.arb.dma_wr_in_data.val();
        self.arb.seq_wr_strb.next = self.seq.wr_strb.val();
        self.dma.wr_in_strb.next = self.arb.dma_wr_strb.val();
        self.seq.rd_cmd_ready.next = self.arb.seq_rd_cmd_ready.val();
        self.arb.dma_rd_cmd_ready.next = self.dma.rd_cmd_ready.val();
        self.seq.rd_valid.next = self.arb.seq_rd_valid.val();
        self.arb.dma_rd_out_valid.next = self.dma.rd_out_valid.val();
        self.seq.wr_cmd_ready.next = self.arb.seq_wr_cmd_ready.val();
        self.arb.dma_wr_cmd_ready.next = self.dma.wr_cmd_ready.val();
        self.seq.wr_ready.next = self.arb.seq_wr_ready.val();
        self.arb.dma_wr_in_ready.next = self.dma.wr_in_ready.val();
        self.seq.wr_done.next = self.arb.seq_wr_done.val();
        self.arb.dma_wr_done.next = self.dma.wr_done.val();
        self.seq.rd_data.next = self.arb.seq_rd_data.val();
        self.arb.dma_rd_out_data.next = self.dma.rd_out_data.val();
        self.seq.rd_last.next = self.arb.seq_rd_last.val();
        self.arb.dma_rd_out_last.next = self.dma.rd_out_last.val();
        self.seq.rd_error.next = self.arb.seq_rd_error.val();
        self.arb.dma_rd_error.next = self.dma.rd_error.val();
        self.seq.wr_error.next = self.arb.seq_wr_error.val();
        self.arb.dma_wr_error.next = self.dma.wr_error.val();
        self.irq.next = self.regs.irq.val();

        // Register file <-> sequencer.
        self.seq.start.next = self.regs.start.val();
        self.seq.soft_reset.next = self.regs.soft_reset.val();
        self.seq.program_base.next = self.regs.program_base.val();
        self.seq.program_count.next = self.regs.program_count.val();
        self.regs.status.next = self.seq.status.val();
        self.regs.layers_done.next = self.seq.layers_done.val();
        self.regs.total_cycles.next = self.seq.total_cycles.val();
        self.regs.busy_cycles.next = self.seq.busy_cycles.val();
        self.regs.dma_stall_cycles.next = self.seq.dma_stall_cycles.val();
        self.regs.irq_set.next = self.seq.irq_set.val();

        // Sequencer <-> DMA and units.
        self.seq.dma_rd_busy.next = self.dma.rd_busy.val();
        self.seq.dma_wr_busy.next = self.dma.wr_busy.val();
        self.arb.unit_owns.next = self.seq.unit_owns_dma.val();
        self.fields.words.next = self.seq.desc.val();
        // Only one unit runs; an idle unit holds done / error / stall low.
        self.seq.unit_done.next = self.conv.done.val() | self.post.done.val();
        self.seq.unit_error.next = self.conv.error.val() | self.post.error.val();
        self.seq.unit_stall.next = self.conv.stall.val() | self.post.stall.val();
        self.seq.unit_error_code.next = self.conv.error_code.val();
        if self.post_sel.q.val() {
            self.seq.unit_error_code.next = self.post.error_code.val();
        }
        if self.seq.post_start.val() {
            self.post_sel.d.next = true;
        }
        if self.seq.conv_start.val() | self.reset.val() {
            self.post_sel.d.next = false;
        }

        // The CONV unit: start, fields, DMA client (through the arbiter).
        self.conv.clock.next = self.clock.val();
        self.conv.reset.next = self.reset.val() | self.seq.unit_reset.val();
        self.conv.start.next = self.seq.conv_start.val();
        self.conv.requant.next = self.fields.requant.val();
        self.conv.in_signed.next = self.fields.in_signed.val().any();
        self.conv.weight_signed.next = self.fields.weight_signed.val().any();
        self.conv.weight_zp_per_channel.next = self.fields.weight_zp_per_channel.val().any();
        self.conv.batch.next = self.fields.batch.val();
        self.conv.in_h.next = self.fields.in_h.val();
        self.conv.in_w.next = self.fields.in_w.val();
        self.conv.in_c.next = self.fields.in_c.val();
        self.conv.groups.next = self.fields.groups.val();
        self.conv.out_h.next = self.fields.out_h.val();
        self.conv.out_w.next = self.fields.out_w.val();
        self.conv.out_c.next = self.fields.out_c.val();
        self.conv.kernel_h.next = self.fields.kernel_h.val();
        self.conv.kernel_w.next = self.fields.kernel_w.val();
        self.conv.stride_h.next = self.fields.stride_h.val();
        self.conv.stride_w.next = self.fields.stride_w.val();
        self.conv.dilation_h.next = self.fields.dilation_h.val();
        self.conv.dilation_w.next = self.fields.dilation_w.val();
        self.conv.pad_top.next = self.fields.pad_top.val();
        self.conv.pad_left.next = self.fields.pad_left.val();
        self.conv.in_zp.next = self.fields.in_zp.val();
        self.conv.out_zp.next = self.fields.out_zp.val();
        self.conv.weight_zp.next = self.fields.weight_zp.val();
        self.conv.act_min.next = self.fields.act_min.val();
        self.conv.act_max.next = self.fields.act_max.val();
        self.conv.out_ch_stride.next = self.fields.out_ch_stride.val();
        self.conv.out_ch_offset.next = self.fields.out_ch_offset.val();
        self.conv.input_addr_lo.next = self.fields.input_addr_lo.val();
        self.conv.output_addr_lo.next = self.fields.output_addr_lo.val();
        self.conv.weight_addr_lo.next = self.fields.weight_addr_lo.val();
        self.conv.param_addr_lo.next = self.fields.param_addr_lo.val();
        self.conv.o_tiles.next = self.fields.o_tiles.val();
        self.conv.kt_nx.next = self.fields.kt_nx.val();
        self.conv.zero_skip.next = self.fields.zero_skip.val().any();
        self.conv.k_tiles_stored.next = self.fields.k_tiles_stored.val();

        // The post-op unit: start, fields, DMA client (through the arbiter).
        self.post.clock.next = self.clock.val();
        self.post.reset.next = self.reset.val() | self.seq.unit_reset.val();
        self.post.start.next = self.seq.post_start.val();
        self.post.opcode.next = self.fields.opcode.val();
        self.post.requant.next = self.fields.requant.val();
        self.post.in_signed.next = self.fields.in_signed.val().any();
        self.post.count_include_pad.next = self.fields.count_include_pad.val().any();
        self.post.batch.next = self.fields.batch.val();
        self.post.in_h.next = self.fields.in_h.val();
        self.post.in_w.next = self.fields.in_w.val();
        self.post.in_c.next = self.fields.in_c.val();
        self.post.out_h.next = self.fields.out_h.val();
        self.post.out_w.next = self.fields.out_w.val();
        self.post.kernel_h.next = self.fields.kernel_h.val();
        self.post.kernel_w.next = self.fields.kernel_w.val();
        self.post.stride_h.next = self.fields.stride_h.val();
        self.post.stride_w.next = self.fields.stride_w.val();
        self.post.pad_top.next = self.fields.pad_top.val();
        self.post.pad_left.next = self.fields.pad_left.val();
        self.post.in_zp.next = self.fields.in_zp.val();
        self.post.in2_zp.next = self.fields.in2_zp.val();
        self.post.out_zp.next = self.fields.out_zp.val();
        self.post.act_min.next = self.fields.act_min.val();
        self.post.act_max.next = self.fields.act_max.val();
        self.post.out_ch_stride.next = self.fields.out_ch_stride.val();
        self.post.out_ch_offset.next = self.fields.out_ch_offset.val();
        self.post.input_addr_lo.next = self.fields.input_addr_lo.val();
        self.post.input2_addr_lo.next = self.fields.input2_addr_lo.val();
        self.post.output_addr_lo.next = self.fields.output_addr_lo.val();
        self.post.param_addr_lo.next = self.fields.param_addr_lo.val();

        // The unit-side DMA client: data to both units, handshakes to the selected one.
        self.conv.rd_data.next = self.arb.unit_rd_data.val();
        self.conv.rd_last.next = self.arb.unit_rd_last.val();
        self.post.rd_data.next = self.arb.unit_rd_data.val();
        self.post.rd_last.next = self.arb.unit_rd_last.val();
        self.conv.rd_cmd_ready.next = false;
        self.conv.rd_valid.next = false;
        self.conv.wr_cmd_ready.next = false;
        self.conv.wr_ready.next = false;
        self.conv.wr_done.next = false;
        self.conv.wr_error.next = false;
        self.post.rd_cmd_ready.next = false;
        self.post.rd_valid.next = false;
        self.post.wr_cmd_ready.next = false;
        self.post.wr_ready.next = false;
        self.post.wr_done.next = false;
        self.post.wr_error.next = false;
        if self.post_sel.q.val() {
            self.arb.unit_rd_cmd_valid.next = self.post.rd_cmd_valid.val();
            self.arb.unit_rd_cmd_addr.next = self.post.rd_cmd_addr.val();
            self.arb.unit_rd_cmd_beats.next = self.post.rd_cmd_beats.val();
            self.arb.unit_rd_ready.next = self.post.rd_ready.val();
            self.arb.unit_wr_cmd_valid.next = self.post.wr_cmd_valid.val();
            self.arb.unit_wr_cmd_addr.next = self.post.wr_cmd_addr.val();
            self.arb.unit_wr_cmd_beats.next = self.post.wr_cmd_beats.val();
            self.arb.unit_wr_valid.next = self.post.wr_valid.val();
            self.arb.unit_wr_data.next = self.post.wr_data.val();
            self.arb.unit_wr_strb.next = self.post.wr_strb.val();
            self.post.rd_cmd_ready.next = self.arb.unit_rd_cmd_ready.val();
            self.post.rd_valid.next = self.arb.unit_rd_valid.val();
            self.post.wr_cmd_ready.next = self.arb.unit_wr_cmd_ready.val();
            self.post.wr_ready.next = self.arb.unit_wr_ready.val();
            self.post.wr_done.next = self.arb.unit_wr_done.val();
            self.post.wr_error.next = self.arb.unit_wr_error.val();
        } else {
            self.arb.unit_rd_cmd_valid.next = self.conv.rd_cmd_valid.val();
            self.arb.unit_rd_cmd_addr.next = self.conv.rd_cmd_addr.val();
            self.arb.unit_rd_cmd_beats.next = self.conv.rd_cmd_beats.val();
            self.arb.unit_rd_ready.next = self.conv.rd_ready.val();
            self.arb.unit_wr_cmd_valid.next = self.conv.wr_cmd_valid.val();
            self.arb.unit_wr_cmd_addr.next = self.conv.wr_cmd_addr.val();
            self.arb.unit_wr_cmd_beats.next = self.conv.wr_cmd_beats.val();
            self.arb.unit_wr_valid.next = self.conv.wr_valid.val();
            self.arb.unit_wr_data.next = self.conv.wr_data.val();
            self.arb.unit_wr_strb.next = self.conv.wr_strb.val();
            self.conv.rd_cmd_ready.next = self.arb.unit_rd_cmd_ready.val();
            self.conv.rd_valid.next = self.arb.unit_rd_valid.val();
            self.conv.wr_cmd_ready.next = self.arb.unit_wr_cmd_ready.val();
            self.conv.wr_ready.next = self.arb.unit_wr_ready.val();
            self.conv.wr_done.next = self.arb.unit_wr_done.val();
            self.conv.wr_error.next = self.arb.unit_wr_error.val();
        }
    }
}

/// Descriptor fields the CONV unit reads (the rest go nowhere in this build).
const CONV_FIELDS: &[&str] = &[
    "requant",
    "in_signed",
    "weight_signed",
    "weight_zp_per_channel",
    "batch",
    "in_h",
    "in_w",
    "in_c",
    "groups",
    "out_h",
    "out_w",
    "out_c",
    "kernel_h",
    "kernel_w",
    "stride_h",
    "stride_w",
    "dilation_h",
    "dilation_w",
    "pad_top",
    "pad_left",
    "in_zp",
    "out_zp",
    "weight_zp",
    "act_min",
    "act_max",
    "out_ch_stride",
    "out_ch_offset",
    "input_addr_lo",
    "output_addr_lo",
    "weight_addr_lo",
    "param_addr_lo",
    "o_tiles",
    "kt_nx",
    "zero_skip",
    "k_tiles_stored",
];

/// Descriptor fields the post-op unit reads.
const POST_FIELDS: &[&str] = &[
    "opcode",
    "requant",
    "in_signed",
    "count_include_pad",
    "batch",
    "in_h",
    "in_w",
    "in_c",
    "out_h",
    "out_w",
    "kernel_h",
    "kernel_w",
    "stride_h",
    "stride_w",
    "pad_top",
    "pad_left",
    "in_zp",
    "in2_zp",
    "out_zp",
    "act_min",
    "act_max",
    "out_ch_stride",
    "out_ch_offset",
    "input_addr_lo",
    "input2_addr_lo",
    "output_addr_lo",
    "param_addr_lo",
];

const NO_UNIT: &str = "no layer unit reads it: the sequencer checked it (magic, version, high address words, \
     reserved bits) or the unit derives it (plan fields, OUT_C of a post op, signedness of the output)";

/// Waivers of the top: what no unit reads (descriptor fields neither unit uses, the read error
/// level: a read error reaches the sequencer, which aborts the layer). The CONV unit's own
/// waivers go to its module (`emit::isolate::waive_in`), the post-op unit's follow it as nested
/// waivers.
fn waivers() -> Vec<Waiver> {
    let mut w: Vec<Waiver> = ["arb$unit_rd_error", "fields$reserved"]
        .into_iter()
        .map(|s| Waiver { signal: s.into(), rule: "UNUSEDSIGNAL", reason: NO_UNIT })
        .collect();
    w.extend(
        FIELD_PORTS
            .iter()
            .filter(|(name, _)| !CONV_FIELDS.contains(name) && !POST_FIELDS.contains(name))
            .map(|(name, _)| Waiver { signal: format!("fields${name}").into(), rule: "UNUSEDSIGNAL", reason: NO_UNIT }),
    );
    // rust-hdl prints one `always @(*)` per module: the post-op unit's (reads `cmd_ready`,
    // drives `cmd_valid` from its state register) and the top's (the select multiplexer) form a
    // loop for Verilator's scheduler that no signal takes (as in `blocks::post::top`).
    w.extend(["post$rd_cmd_ready", "post$wr_cmd_ready"].into_iter().map(|s| Waiver {
        signal: s.into(),
        rule: "UNOPTFLAT",
        reason: "false loop through single-always modules: the unit's cmd_valid depends on its state only",
    }));
    w
}

/// The layer units this generator builds for `cfg`: the CONV unit and the post-op modes the
/// configuration asks for (the sequencer refuses the others with `Unsupported`).
pub fn available_units(cfg: &ArchConfig) -> EngineUnits {
    let g = generator_post_ops();
    let p = cfg.post_ops;
    EngineUnits {
        conv: true,
        post: PostOps {
            add: p.add && g.add,
            avg_pool: p.avg_pool && g.avg_pool,
            max_pool: p.max_pool && g.max_pool,
            global_avg_pool: p.global_avg_pool && g.global_avg_pool,
        },
        zero_skip: cfg.zero_skip(),
    }
}

/// Activation buffer sizes `emit_top` instantiates at 64-bit DMA (each size is one const-generic
/// instance of the whole top, so the list is short; `emit_top_sized` builds any other).
pub const GENERATOR_ACT_BUFFERS: [u32; 3] = [4096, 16384, 65536];
/// The psum depth `emit_top` instantiates.
pub const GENERATOR_PSUM_DEPTH: u32 = 256;

/// The sizing grid of the shapes `emit_top` builds: arrays of 4..32 per side (a weight tile and
/// an o-tile's params are whole 64-bit beats), 64-bit DMA, PB 256, the post-op unit's modes
/// (TFLite fixed point; the onnxruntime float modes of ADD / AVG_POOL / GLOBAL_AVG_POOL stay on
/// the host).
pub fn generator_sizing_options() -> SizingOptions {
    SizingOptions {
        dims: vec![4, 8, 16, 32],
        psum_depths: vec![GENERATOR_PSUM_DEPTH],
        dma_bits: vec![64],
        post_ops_available: generator_post_ops(),
        post_ops_float: PostOps::default(),
        ..SizingOptions::default()
    }
}

/// Post-op units `emit_top` instantiates: all four ops, in the modes
/// `systole_arch::timing::post::implemented` lists (TFLite's; MAX_POOL in every model).
pub fn generator_post_ops() -> PostOps {
    PostOps { add: true, avg_pool: true, max_pool: true, global_avg_pool: true }
}

/// `cfg` with its activation buffer rounded up to the next size `emit_top` builds (the largest
/// when none is big enough: layers with larger inputs then run on the host).
pub fn fit_to_generator(cfg: &ArchConfig) -> ArchConfig {
    let act = GENERATOR_ACT_BUFFERS.iter().copied().find(|&b| b >= cfg.act_buffer_bytes);
    ArchConfig { act_buffer_bytes: act.unwrap_or(GENERATOR_ACT_BUFFERS[2]), ..cfg.clone() }
}

/// Emits the engine top for `cfg` with the sizes as const generics: `W` = DMA bits, `S` = W / 8,
/// `AW` = log2(act_buffer_bytes), `PA` = log2(psum_depth), `PW` = the post-op unit's buffers
/// (`blocks::post::buffer_beats_log2`).
pub fn emit_top_sized<const W: usize, const S: usize, const AW: usize, const PA: usize, const PW: usize>(
    cfg: &ArchConfig,
) -> Result<Design, TopError> {
    cfg.validate()?;
    let (p, g) = (cfg.post_ops, generator_post_ops());
    if (p.add && !g.add)
        || (p.avg_pool && !g.avg_pool)
        || (p.max_pool && !g.max_pool)
        || (p.global_avg_pool && !g.global_avg_pool)
    {
        return Err(TopError::UnitMissing("a post-op unit this generator does not build"));
    }
    // The unit has TFLite's modes only: an onnxruntime engine's ADD / average pools would be
    // float mode (`timing::post::implemented`), which it answers with UNSUPPORTED.
    if cfg.requant.float && (p.add || p.avg_pool || p.global_avg_pool) {
        return Err(TopError::UnitMissing("float-mode (onnxruntime) ADD / AVG_POOL / GLOBAL_AVG_POOL"));
    }
    let want = buffer_beats_log2(cfg);
    if want != PW {
        return Err(TopError::PostBuffer { got: PW, want });
    }
    let units = available_units(cfg);
    let mut top = EngineTop::<W, S, AW, PA, PW>::new(cfg, &units)?;
    let conv_waivers = top.conv.waivers();
    let mut design =
        emit::emit_with_nested_waivers(&mut top, &cfg.name, &waivers(), &crate::blocks::post::rtl::nested_waivers())?;
    // The unit's waivers name declarations of its own module or of its sub-blocks' modules
    // (as it is emitted alone); each goes to the module that declares it: `a$b$x` is `x` of
    // module `conv__a__b`, or `b$x` of `conv__a`, or `a$b$x` of `conv`. A waiver no module takes
    // (a module merged away by de-duplication) is left out; the lint check then decides.
    for w in conv_waivers {
        // `path::signal` (the unit's own notation for a sub-block's declaration): module
        // `conv__path`.
        if let Some((path, signal)) = w.signal.rsplit_once("::") {
            let module = format!("conv__{}", path.replace("::", "__"));
            let one = Waiver { signal: signal.to_string().into(), ..w.clone() };
            if emit::isolate::waive_in(&mut design, &module, std::slice::from_ref(&one)).is_ok() {
                continue;
            }
        }
        // A plain name is the unit's own declaration (its wires to sub-blocks are `block$port`).
        if !w.signal.contains("::") && emit::isolate::waive_in(&mut design, "conv", std::slice::from_ref(&w)).is_ok() {
            continue;
        }
        let parts: Vec<&str> = w.signal.split('$').collect();
        for k in (0..parts.len()).rev() {
            let module = std::iter::once("conv").chain(parts[..k].iter().copied()).collect::<Vec<_>>().join("__");
            let one = Waiver { signal: parts[k..].join("$").into(), ..w.clone() };
            if emit::isolate::waive_in(&mut design, &module, std::slice::from_ref(&one)).is_ok() {
                break;
            }
        }
    }
    emit::isolate::isolate_assignments(&mut design, "seq", ISOLATE)?;
    Ok(design)
}

/// Emits the engine top for `cfg`, module named `cfg.name`, for the sizes monomorphised here
/// (64-bit DMA with the `GENERATOR_ACT_BUFFERS`, any DMA width with a 4 KB activation buffer;
/// 256-pixel psum blocks; other sizes through [`emit_top_sized`]). Every size includes the
/// post-op unit, its buffers holding the activation buffer.
pub fn emit_top(cfg: &ArchConfig) -> Result<Design, TopError> {
    // rust-hdl builds the whole top as one value on the stack (every block's signals inline):
    // with the post-op unit that frame outgrows a 2 MB thread stack (cargo's test threads), so
    // the emission runs on a thread of its own with room to spare.
    let cfg = cfg.clone();
    std::thread::Builder::new()
        .name("emit_top".into())
        .stack_size(EMIT_STACK_BYTES)
        .spawn(move || emit_top_on_this_thread(&cfg))
        .map_err(|e| TopError::Thread(e.to_string()))?
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Stack of the thread `emit_top` emits on (virtual memory: only the pages used are touched).
const EMIT_STACK_BYTES: usize = 256 << 20;

fn emit_top_on_this_thread(cfg: &ArchConfig) -> Result<Design, TopError> {
    match (cfg.dma_data_bits, cfg.act_buffer_bytes, cfg.psum_depth) {
        (64, 4096, 256) => emit_top_sized::<64, 8, 12, 8, 9>(cfg),
        (64, 16384, 256) => emit_top_sized::<64, 8, 14, 8, 11>(cfg),
        (64, 65536, 256) => emit_top_sized::<64, 8, 16, 8, 13>(cfg),
        (128, 4096, 256) => emit_top_sized::<128, 16, 12, 8, 8>(cfg),
        (256, 4096, 256) => emit_top_sized::<256, 32, 12, 8, 7>(cfg),
        (512, 4096, 256) => emit_top_sized::<512, 64, 12, 8, 6>(cfg),
        (bits, act, pb) => Err(TopError::Size { bits, act, pb }),
    }
}
