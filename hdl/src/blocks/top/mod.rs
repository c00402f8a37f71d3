//! The engine top: AXI4-Lite register file, sequencer, descriptor fields, DMA arbiter, AXI4
//! master DMA and the layer units (units.md). The module is named after the model
//! (`ArchConfig::name`). Ports: `clock`, `reset` (synchronous, active high), the AXI4-Lite slave
//! `s_axil_*`, the AXI4 master `m_axi_*` (ID / LOCK / CACHE / PROT / QOS tied off by the
//! integration), `irq` (level).
//!
//! This build has no layer unit yet: CONV and the post-ops are absent from [`EngineUnits`], so
//! the sequencer answers their descriptors with `ErrorCode::Unsupported` (its real behaviour
//! for a build without that unit); the arbiter's unit side is tied off. The `conv` branch's
//! ConvUnit plugs into the unit side (its start = `seq.conv_start`, its fields from `fields`).

use crate::blocks::dma::Dma;
use crate::blocks::regs::layout::ADDR_BITS;
use crate::blocks::regs::{LayoutError, RegFile, RegLayout, Unmapped};
use crate::blocks::seq::fields::FIELD_PORTS;
use crate::blocks::seq::fsm::ISOLATE;
use crate::blocks::seq::{DescFields, DmaArbiter, Sequencer};
use crate::emit::{self, Design, EmitError, Waiver};
use rust_hdl::prelude::*;
use systole_arch::timing::seq::EngineUnits;
use systole_arch::{ArchConfig, ConfigError};
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
}

#[derive(LogicBlock)]
pub struct EngineTop<const W: usize, const S: usize> {
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
    k0_8: Constant<Bits<8>>,
    k0_24: Constant<Bits<24>>,
    k0_32: Constant<Bits<32>>,
    k0_w: Constant<Bits<W>>,
    k0_s: Constant<Bits<S>>,
}

impl<const W: usize, const S: usize> EngineTop<W, S> {
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
            fields: Default::default(),
            arb: Default::default(),
            dma: Default::default(),
            k0_8: Constant::new(bits::<8>(0)),
            k0_24: Constant::new(bits::<24>(0)),
            k0_32: Constant::new(bits::<32>(0)),
            k0_w: Constant::new(Bits::default()),
            k0_s: Constant::new(Bits::default()),
        })
    }
}

impl<const W: usize, const S: usize> Logic for EngineTop<W, S> {
    #[hdl_gen]
    fn update(&mut self) {
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
        self.arb.unit_rd_cmd_valid.next = false;
        self.arb.unit_rd_cmd_addr.next = self.k0_32.val();
        self.arb.unit_rd_cmd_beats.next = self.k0_24.val();
        self.arb.unit_rd_ready.next = false;
        self.arb.unit_wr_cmd_valid.next = false;
        self.arb.unit_wr_cmd_addr.next = self.k0_32.val();
        self.arb.unit_wr_cmd_beats.next = self.k0_24.val();
        self.arb.unit_wr_valid.next = false;
        self.arb.unit_wr_data.next = self.k0_w.val();
        self.arb.unit_wr_strb.next = self.k0_s.val();
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
        self.seq.unit_done.next = false;
        self.seq.unit_error.next = false;
        self.seq.unit_error_code.next = self.k0_8.val();
        self.seq.unit_stall.next = false;
    }
}

const NO_UNIT: &str = "no layer unit in this build reads it (CONV and post-ops answer UNSUPPORTED)";
const NO_STRB: &str = "blocks::dma::DmaWrite has no WSTRB input yet (all-ones strobes)";

/// Waivers of the unit-less top: the unit side of the arbiter, the units' start / reset and the
/// descriptor fields go nowhere.
fn waivers() -> Vec<Waiver> {
    let mut w: Vec<Waiver> = [
        "arb$unit_rd_cmd_ready",
        "arb$unit_rd_valid",
        "arb$unit_wr_cmd_ready",
        "arb$unit_wr_ready",
        "arb$unit_wr_done",
        "arb$unit_rd_data",
        "arb$unit_rd_last",
        "arb$unit_rd_error",
        "arb$unit_wr_error",
        "seq$conv_start",
        "seq$post_start",
        "seq$unit_reset",
        "fields$reserved",
    ]
    .into_iter()
    .map(|s| Waiver { signal: s.into(), rule: "UNUSEDSIGNAL", reason: NO_UNIT })
    .collect();
    w.extend(FIELD_PORTS.iter().map(|(name, _)| Waiver {
        signal: format!("fields${name}").into(),
        rule: "UNUSEDSIGNAL",
        reason: NO_UNIT,
    }));
    w.push(Waiver { signal: "arb$dma_wr_strb".into(), rule: "UNUSEDSIGNAL", reason: NO_STRB });
    w
}

/// The layer units this generator can build for `cfg` (today: none; see the module docs).
pub fn available_units(_cfg: &ArchConfig) -> EngineUnits {
    EngineUnits::default()
}

fn emit_width<const W: usize, const S: usize>(cfg: &ArchConfig, units: &EngineUnits) -> Result<Design, TopError> {
    let mut top = EngineTop::<W, S>::new(cfg, units)?;
    let mut design = emit::emit_with_waivers(&mut top, &cfg.name, &waivers())?;
    emit::isolate::isolate_assignments(&mut design, "seq", ISOLATE)?;
    Ok(design)
}

/// Emits the engine top for `cfg`, module named `cfg.name`. Fails when `cfg` asks for a post-op
/// unit the generator cannot instantiate yet.
pub fn emit_top(cfg: &ArchConfig) -> Result<Design, TopError> {
    cfg.validate()?;
    let units = available_units(cfg);
    let p = cfg.post_ops;
    if p.add || p.avg_pool || p.max_pool || p.global_avg_pool {
        return Err(TopError::UnitMissing("post-op units (ADD / pools)"));
    }
    match cfg.dma_data_bits {
        64 => emit_width::<64, 8>(cfg, &units),
        128 => emit_width::<128, 16>(cfg, &units),
        256 => emit_width::<256, 32>(cfg, &units),
        _ => emit_width::<512, 64>(cfg, &units),
    }
}
