//! Verilator co-simulation of a [`ConvUnit`] behind a real `Dma` on the C++ AXI DRAM slave of
//! `blocks/dma/cosim.cpp` (the same slave, statement for statement, as
//! `axi_timing::dram::DramModel`): the DRAM image in, the descriptor fields applied, `start`
//! pulsed once, and out come the final DRAM image, the cycles from `start` to `done`, the
//! stall cycles in between and any AXI rule the unit's traffic broke.

use super::unit::ConvUnit;
use crate::axi_timing::dram::DramConfig;
use crate::axi_timing::BusWidth;
use crate::blocks::dma::cosim::{dut_header, HARNESS};
use crate::blocks::dma::Dma;
use crate::emit::{Design, Direction};
use crate::verilator::{build_cached, verilator_version, SimError};
use rust_hdl::prelude::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use thiserror::Error;

/// Ports of the wrapper that are not descriptor fields.
const CONTROL_PORTS: [&str; 7] = ["clock", "reset", "start", "done", "error", "error_code", "stall"];

/// The co-simulated design: the unit's DMA clients wired to one `Dma`, whose AXI master port
/// and the unit's control and descriptor ports are the wrapper's.
#[derive(LogicBlock)]
pub struct ConvCosimTop<const W: usize, const S: usize, const AW: usize, const PA: usize> {
    pub clock: Signal<In, Clock>,
    pub reset: Signal<In, Bit>,
    pub start: Signal<In, Bit>,
    pub done: Signal<Out, Bit>,
    pub error: Signal<Out, Bit>,
    pub error_code: Signal<Out, Bits<8>>,
    pub stall: Signal<Out, Bit>,
    pub requant: Signal<In, Bits<2>>,
    pub in_signed: Signal<In, Bit>,
    pub weight_signed: Signal<In, Bit>,
    pub weight_zp_per_channel: Signal<In, Bit>,
    pub batch: Signal<In, Bits<16>>,
    pub in_h: Signal<In, Bits<16>>,
    pub in_w: Signal<In, Bits<16>>,
    pub in_c: Signal<In, Bits<16>>,
    pub groups: Signal<In, Bits<16>>,
    pub out_h: Signal<In, Bits<16>>,
    pub out_w: Signal<In, Bits<16>>,
    pub out_c: Signal<In, Bits<16>>,
    pub kernel_h: Signal<In, Bits<8>>,
    pub kernel_w: Signal<In, Bits<8>>,
    pub stride_h: Signal<In, Bits<8>>,
    pub stride_w: Signal<In, Bits<8>>,
    pub dilation_h: Signal<In, Bits<8>>,
    pub dilation_w: Signal<In, Bits<8>>,
    pub pad_top: Signal<In, Bits<8>>,
    pub pad_left: Signal<In, Bits<8>>,
    pub in_zp: Signal<In, Bits<16>>,
    pub out_zp: Signal<In, Bits<16>>,
    pub weight_zp: Signal<In, Bits<16>>,
    pub act_min: Signal<In, Bits<16>>,
    pub act_max: Signal<In, Bits<16>>,
    pub out_ch_stride: Signal<In, Bits<16>>,
    pub out_ch_offset: Signal<In, Bits<16>>,
    pub input_addr_lo: Signal<In, Bits<32>>,
    pub output_addr_lo: Signal<In, Bits<32>>,
    pub weight_addr_lo: Signal<In, Bits<32>>,
    pub param_addr_lo: Signal<In, Bits<32>>,
    pub o_tiles: Signal<In, Bits<16>>,
    pub kt_nx: Signal<In, Bits<16>>,
    pub zero_skip: Signal<In, Bit>,
    pub k_tiles_stored: Signal<In, Bits<32>>,
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
    unit: ConvUnit<W, S, AW, PA>,
    dma: Dma<W, S>,
}

impl<const W: usize, const S: usize, const AW: usize, const PA: usize> ConvCosimTop<W, S, AW, PA> {
    pub fn new(unit: ConvUnit<W, S, AW, PA>) -> Self {
        Self {
            clock: Default::default(),
            reset: Default::default(),
            start: Default::default(),
            done: Default::default(),
            error: Default::default(),
            error_code: Default::default(),
            stall: Default::default(),
            requant: Default::default(),
            in_signed: Default::default(),
            weight_signed: Default::default(),
            weight_zp_per_channel: Default::default(),
            batch: Default::default(),
            in_h: Default::default(),
            in_w: Default::default(),
            in_c: Default::default(),
            groups: Default::default(),
            out_h: Default::default(),
            out_w: Default::default(),
            out_c: Default::default(),
            kernel_h: Default::default(),
            kernel_w: Default::default(),
            stride_h: Default::default(),
            stride_w: Default::default(),
            dilation_h: Default::default(),
            dilation_w: Default::default(),
            pad_top: Default::default(),
            pad_left: Default::default(),
            in_zp: Default::default(),
            out_zp: Default::default(),
            weight_zp: Default::default(),
            act_min: Default::default(),
            act_max: Default::default(),
            out_ch_stride: Default::default(),
            out_ch_offset: Default::default(),
            input_addr_lo: Default::default(),
            output_addr_lo: Default::default(),
            weight_addr_lo: Default::default(),
            param_addr_lo: Default::default(),
            o_tiles: Default::default(),
            kt_nx: Default::default(),
            zero_skip: Default::default(),
            k_tiles_stored: Default::default(),
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
            unit,
            dma: Default::default(),
        }
    }
}

impl<const W: usize, const S: usize, const AW: usize, const PA: usize> Logic for ConvCosimTop<W, S, AW, PA> {
    #[hdl_gen]
    fn update(&mut self) {
        self.unit.clock.next = self.clock.val();
        self.unit.reset.next = self.reset.val();
        self.dma.clock.next = self.clock.val();
        self.dma.reset.next = self.reset.val();
        self.dma.rd_cmd_valid.next = self.unit.rd_cmd_valid.val();
        self.dma.rd_cmd_addr.next = self.unit.rd_cmd_addr.val();
        self.dma.rd_cmd_beats.next = self.unit.rd_cmd_beats.val();
        self.unit.rd_cmd_ready.next = self.dma.rd_cmd_ready.val();
        self.unit.rd_valid.next = self.dma.rd_out_valid.val();
        self.unit.rd_data.next = self.dma.rd_out_data.val();
        self.unit.rd_last.next = self.dma.rd_out_last.val();
        self.dma.rd_out_ready.next = self.unit.rd_ready.val();
        self.dma.wr_cmd_valid.next = self.unit.wr_cmd_valid.val();
        self.dma.wr_cmd_addr.next = self.unit.wr_cmd_addr.val();
        self.dma.wr_cmd_beats.next = self.unit.wr_cmd_beats.val();
        self.unit.wr_cmd_ready.next = self.dma.wr_cmd_ready.val();
        self.dma.wr_in_valid.next = self.unit.wr_valid.val();
        self.dma.wr_in_data.next = self.unit.wr_data.val();
        self.dma.wr_in_strb.next = self.unit.wr_strb.val();
        self.unit.wr_ready.next = self.dma.wr_in_ready.val();
        self.unit.wr_done.next = self.dma.wr_done.val();
        self.unit.wr_error.next = self.dma.wr_error.val();
        self.unit.start.next = self.start.val();
        self.done.next = self.unit.done.val();
        self.error.next = self.unit.error.val();
        self.error_code.next = self.unit.error_code.val();
        self.stall.next = self.unit.stall.val();
        self.unit.requant.next = self.requant.val();
        self.unit.in_signed.next = self.in_signed.val();
        self.unit.weight_signed.next = self.weight_signed.val();
        self.unit.weight_zp_per_channel.next = self.weight_zp_per_channel.val();
        self.unit.batch.next = self.batch.val();
        self.unit.in_h.next = self.in_h.val();
        self.unit.in_w.next = self.in_w.val();
        self.unit.in_c.next = self.in_c.val();
        self.unit.groups.next = self.groups.val();
        self.unit.out_h.next = self.out_h.val();
        self.unit.out_w.next = self.out_w.val();
        self.unit.out_c.next = self.out_c.val();
        self.unit.kernel_h.next = self.kernel_h.val();
        self.unit.kernel_w.next = self.kernel_w.val();
        self.unit.stride_h.next = self.stride_h.val();
        self.unit.stride_w.next = self.stride_w.val();
        self.unit.dilation_h.next = self.dilation_h.val();
        self.unit.dilation_w.next = self.dilation_w.val();
        self.unit.pad_top.next = self.pad_top.val();
        self.unit.pad_left.next = self.pad_left.val();
        self.unit.in_zp.next = self.in_zp.val();
        self.unit.out_zp.next = self.out_zp.val();
        self.unit.weight_zp.next = self.weight_zp.val();
        self.unit.act_min.next = self.act_min.val();
        self.unit.act_max.next = self.act_max.val();
        self.unit.out_ch_stride.next = self.out_ch_stride.val();
        self.unit.out_ch_offset.next = self.out_ch_offset.val();
        self.unit.input_addr_lo.next = self.input_addr_lo.val();
        self.unit.output_addr_lo.next = self.output_addr_lo.val();
        self.unit.weight_addr_lo.next = self.weight_addr_lo.val();
        self.unit.param_addr_lo.next = self.param_addr_lo.val();
        self.unit.o_tiles.next = self.o_tiles.val();
        self.unit.kt_nx.next = self.kt_nx.val();
        self.unit.zero_skip.next = self.zero_skip.val();
        self.unit.k_tiles_stored.next = self.k_tiles_stored.val();
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
    }
}

#[derive(Debug, Error)]
pub enum ConvCosimError {
    #[error("`verilator` is not installed; cannot co-simulate")]
    ToolMissing,
    #[error("verilator build failed in {dir}:\n{log}")]
    Build { dir: PathBuf, log: String },
    #[error("co-simulation failed: {0}")]
    Run(String),
    #[error("design {0} has no port {1}")]
    Port(String, String),
    #[error("bad harness output line {line}: `{text}`")]
    Output { line: usize, text: String },
    #[error("I/O on {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

impl From<SimError> for ConvCosimError {
    fn from(e: SimError) -> Self {
        match e {
            SimError::ToolMissing => ConvCosimError::ToolMissing,
            SimError::Build { dir, log } => ConvCosimError::Build { dir, log },
            SimError::Io { path, source } => ConvCosimError::Io { path, source },
            other => ConvCosimError::Run(other.to_string()),
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ConvCosimError + '_ {
    move |source| ConvCosimError::Io { path: path.to_path_buf(), source }
}

/// One layer run.
#[derive(Clone, Debug)]
pub struct ConvStimulus {
    /// DRAM timing and size (stalls must be off for exact timing).
    pub dram: DramConfig,
    pub memory: Vec<u8>,
    /// Descriptor field ports (lower-case names) and their raw values.
    pub fields: Vec<(String, u64)>,
    pub max_cycles: u64,
}

#[derive(Clone, Debug, Default)]
pub struct ConvOutcome {
    /// Cycles from the one with `start` high to the one with `done` high.
    pub cycles: Option<u64>,
    /// Cycles in that span with `stall` high.
    pub stall_cycles: u64,
    /// `error_code` of an `error` pulse, if any.
    pub error: Option<u64>,
    pub violations: Vec<String>,
    pub memory: Vec<u8>,
}

/// A built co-simulator.
#[derive(Clone, Debug)]
pub struct ConvCosim {
    exe: PathBuf,
    pub cached: bool,
}

/// The `main` appended to the DRAM slave part of the DMA harness.
fn main_source(design: &Design) -> String {
    let mut setters = String::new();
    for p in design.ports.iter().filter(|p| p.direction == Direction::Input) {
        if CONTROL_PORTS.contains(&p.name.as_str()) || p.name.starts_with("m_axi_") {
            continue;
        }
        let _ = writeln!(setters, "    if (n == \"{0}\") {{ dut.{0} = v; return true; }}", p.name);
    }
    format!(
        r#"
bool set_field(Dut& dut, const std::string& n, uint64_t v) {{
{setters}    return false;
}}

}}  // namespace

// usage: sim CONFIG FIELDS MEM_IN MEM_OUT EVENTS
int main(int argc, char** argv) {{
    if (argc != 6) {{ std::fprintf(stderr, "usage: sim CONFIG FIELDS MEM_IN MEM_OUT EVENTS\n"); return 2; }}
    Config cfg;
    if (!read_config(argv[1], cfg)) {{ std::fprintf(stderr, "bad config\n"); return 2; }}
    std::vector<uint8_t> mem;
    if (!read_file(argv[3], mem) || mem.size() != cfg.mem_bytes) {{ std::fprintf(stderr, "bad memory image\n"); return 2; }}
    FILE* events = std::fopen(argv[5], "w");
    if (!events) {{ std::perror(argv[5]); return 2; }}
    VerilatedContext ctx;
    Dut dut{{&ctx}};
    {{
        FILE* f = std::fopen(argv[2], "r");
        if (!f) {{ std::perror(argv[2]); return 2; }}
        char name[64];
        uint64_t v;
        while (std::fscanf(f, "%63s %" SCNu64, name, &v) == 2) {{
            if (!set_field(dut, name, v)) {{ std::fprintf(stderr, "no field port %s\n", name); return 2; }}
        }}
        std::fclose(f);
    }}
    Dram dram(cfg, std::move(mem), events);
    const uint64_t start_edge = cfg.reset_cycles + 1;
    uint64_t stall = 0;
    bool ended = false;
    dut.clock = 0;
    dut.eval();
    uint64_t e = 1;
    for (; e <= cfg.max_cycles && !ended; ++e) {{
        dut.reset = e <= cfg.reset_cycles;
        dut.start = e == start_edge;
        Slave s = dram.outputs();
        dut.m_axi_arready = s.arready;
        dut.m_axi_rvalid = s.rvalid;
        if (s.rvalid) put(dut.m_axi_rdata, s.rdata.data());
        dut.m_axi_rresp = s.rresp;
        dut.m_axi_rlast = s.rlast;
        dut.m_axi_awready = s.awready;
        dut.m_axi_wready = s.wready;
        dut.m_axi_bvalid = s.bvalid;
        dut.m_axi_bresp = s.bresp;
        dut.clock = 0;
        dut.eval();
        Master m;
        m.ar = Addr{{dut.m_axi_arvalid != 0, dut.m_axi_araddr, dut.m_axi_arlen, dut.m_axi_arsize, dut.m_axi_arburst}};
        m.rready = dut.m_axi_rready;
        m.aw = Addr{{dut.m_axi_awvalid != 0, dut.m_axi_awaddr, dut.m_axi_awlen, dut.m_axi_awsize, dut.m_axi_awburst}};
        m.wvalid = dut.m_axi_wvalid;
        m.wdata.assign(BEAT_BYTES, 0);
        get(dut.m_axi_wdata, m.wdata.data());
        m.wlast = dut.m_axi_wlast;
        m.wstrb = static_cast<uint64_t>(dut.m_axi_wstrb);
        m.bready = dut.m_axi_bready;
        if (!m.ar.valid) m.ar = Addr{{}};
        if (!m.aw.valid) m.aw = Addr{{}};
        if (!m.wvalid) {{ m.wdata.assign(BEAT_BYTES, 0); m.wlast = false; m.wstrb = 0; }}
        if (e >= start_edge && dut.stall) stall += 1;
        if (e > start_edge && dut.done) {{
            std::fprintf(events, "DONE %" PRIu64 " %" PRIu64 "\n", e - start_edge, stall);
            ended = true;
        }}
        if (e > start_edge && dut.error) {{
            std::fprintf(events, "ERROR %u\n", static_cast<unsigned>(dut.error_code));
            ended = true;
        }}
        dut.clock = 1;
        dut.eval();
        dram.clock(m);
    }}
    if (!ended) std::fprintf(events, "TIMEOUT %" PRIu64 "\n", e);
    dut.final();
    std::fclose(events);
    FILE* out = std::fopen(argv[4], "wb");
    if (!out) {{ std::perror(argv[4]); return 2; }}
    std::fwrite(dram.memory().data(), 1, dram.memory().size(), out);
    std::fclose(out);
    return 0;
}}
"#
    )
}

impl ConvCosim {
    pub fn build(design: &Design, cache_root: &Path) -> Result<ConvCosim, ConvCosimError> {
        let data =
            design.port("m_axi_rdata").ok_or_else(|| ConvCosimError::Port(design.top.clone(), "m_axi_rdata".into()))?;
        let bus = u32::try_from(data.width)
            .ok()
            .and_then(|w| BusWidth::new(w).ok())
            .ok_or_else(|| ConvCosimError::Port(design.top.clone(), "m_axi_rdata of 64..512 bits".into()))?;
        let slave = HARNESS.split("// ---- Files.").next().unwrap_or_default();
        let files = HARNESS
            .split("// ---- Files.")
            .nth(1)
            .and_then(|rest| rest.split("struct Command").next())
            .unwrap_or_default();
        let harness = format!("{slave}// ---- Files.{files}{}", main_source(design));
        let header = dut_header(&design.top, bus);
        let version = verilator_version()?;
        let sources = [("harness.cpp", harness.as_str()), ("dut.h", header.as_str())];
        let (exe, cached) = build_cached(design, cache_root, "conv-", &sources, &version)?;
        Ok(ConvCosim { exe, cached })
    }

    pub fn run(&self, stim: &ConvStimulus) -> Result<ConvOutcome, ConvCosimError> {
        static RUN: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "systole-conv-{}-{}",
            std::process::id(),
            RUN.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let result = self.run_in(stim, &dir);
        let _ = std::fs::remove_dir_all(&dir);
        result
    }

    fn run_in(&self, stim: &ConvStimulus, dir: &Path) -> Result<ConvOutcome, ConvCosimError> {
        let file = |name: &str| dir.join(name);
        let write = |name: &str, bytes: &[u8]| std::fs::write(file(name), bytes).map_err(io_err(&file(name)));
        let d = &stim.dram;
        let mut config = String::new();
        for (key, value) in [
            ("read_latency", d.timing.read_latency),
            ("write_latency", d.timing.write_latency),
            ("interval", d.timing.interval),
            ("mem_bytes", d.mem_bytes),
            ("slverr_lo", d.slverr.start),
            ("slverr_hi", d.slverr.end),
            ("seed", d.stalls.seed),
            ("max_cycles", stim.max_cycles),
            ("reset_cycles", 2),
            ("trace", 0),
        ] {
            let _ = writeln!(config, "{key} {value}");
        }
        write("config", config.as_bytes())?;
        let fields: String = stim.fields.iter().map(|(n, v)| format!("{n} {v}\n")).collect();
        write("fields", fields.as_bytes())?;
        write("mem_in", &stim.memory)?;
        let names = ["config", "fields", "mem_in", "mem_out", "events"];
        let out = Command::new(&self.exe).args(names.map(file)).output().map_err(io_err(&self.exe))?;
        if !out.status.success() {
            return Err(ConvCosimError::Run(String::from_utf8_lossy(&out.stderr).into_owned()));
        }
        let events = std::fs::read_to_string(file("events")).map_err(io_err(&file("events")))?;
        let mut o = ConvOutcome {
            memory: std::fs::read(file("mem_out")).map_err(io_err(&file("mem_out")))?,
            ..Default::default()
        };
        for (index, line) in events.lines().enumerate() {
            let bad = || ConvCosimError::Output { line: index + 1, text: line.to_string() };
            let f: Vec<&str> = line.split_whitespace().collect();
            let num = |i: usize| f.get(i).and_then(|t| t.parse::<u64>().ok()).ok_or_else(bad);
            match f.first().copied() {
                Some("DONE") => {
                    o.cycles = Some(num(1)?);
                    o.stall_cycles = num(2)?;
                }
                Some("ERROR") => o.error = Some(num(1)?),
                Some("V") => o.violations.push(line[2..].to_string()),
                Some("TIMEOUT") => {}
                _ => return Err(bad()),
            }
        }
        Ok(o)
    }
}

/// The unit's descriptor field ports and their raw values for layer `d` (signed fields as their
/// two's complement bits; addresses' low 32 bits): what the sequencer drives.
pub fn unit_fields(d: &systole_arch::LayerDescriptor) -> Vec<(String, u64)> {
    let s16 = |v: i16| u64::from(v as u16);
    let fields: [(&str, u64); 35] = [
        ("requant", d.requant as u64),
        ("in_signed", u64::from(d.in_signed)),
        ("weight_signed", u64::from(d.weight_signed)),
        ("weight_zp_per_channel", u64::from(d.weight_zp_per_channel)),
        ("batch", u64::from(d.batch)),
        ("in_h", u64::from(d.in_h)),
        ("in_w", u64::from(d.in_w)),
        ("in_c", u64::from(d.in_c)),
        ("groups", u64::from(d.groups)),
        ("out_h", u64::from(d.out_h)),
        ("out_w", u64::from(d.out_w)),
        ("out_c", u64::from(d.out_c)),
        ("kernel_h", u64::from(d.kernel_h)),
        ("kernel_w", u64::from(d.kernel_w)),
        ("stride_h", u64::from(d.stride_h)),
        ("stride_w", u64::from(d.stride_w)),
        ("dilation_h", u64::from(d.dilation_h)),
        ("dilation_w", u64::from(d.dilation_w)),
        ("pad_top", u64::from(d.pad_top)),
        ("pad_left", u64::from(d.pad_left)),
        ("in_zp", s16(d.in_zp)),
        ("out_zp", s16(d.out_zp)),
        ("weight_zp", s16(d.weight_zp)),
        ("act_min", s16(d.act_min)),
        ("act_max", s16(d.act_max)),
        ("out_ch_stride", u64::from(d.out_ch_stride)),
        ("out_ch_offset", u64::from(d.out_ch_offset)),
        ("input_addr_lo", d.input_addr & 0xffff_ffff),
        ("output_addr_lo", d.output_addr & 0xffff_ffff),
        ("weight_addr_lo", d.weight_addr & 0xffff_ffff),
        ("param_addr_lo", d.param_addr & 0xffff_ffff),
        ("o_tiles", u64::from(d.o_tiles)),
        ("kt_nx", u64::from(d.kt_nx)),
        ("zero_skip", u64::from(d.zero_skip)),
        ("k_tiles_stored", u64::from(d.k_tiles_stored)),
    ];
    fields.iter().map(|(n, v)| (n.to_string(), *v)).collect()
}
