//! Verilator co-simulation of [`super::Dma`] against the C++ DRAM slave of `cosim.cpp`.
//!
//! The generic harness of [`crate::verilator`] applies one input vector per cycle, which cannot
//! answer AXI handshakes as they happen and carries at most 64-bit ports; the DMA needs a slave
//! that reacts every cycle, so it gets its own C++ main (a line-by-line copy of
//! [`crate::axi_timing::dram::DramModel`] plus command sources, a stream producer and consumer).
//! Files in (config, commands, memory image, write stream), files out (final memory, read
//! stream, events, optional per-cycle trace); builds are cached like the generic harness's.
//! [`replay`] drives the Rust DRAM model with a trace's master signals and requires the same
//! slave outputs on every cycle.

use crate::axi_timing::dram::{fold, AddrSignals, DramConfig, DramModel, MasterSignals, SlaveSignals, Violation};
use crate::axi_timing::stall::CHANNELS;
use crate::axi_timing::BusWidth;
use crate::emit::Design;
use crate::verilator::{build_cached, verilator_version, SimError};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use thiserror::Error;

/// The C++ harness (compiled with a generated `dut.h` naming the model and the beat width).
pub const HARNESS: &str = include_str!("cosim.cpp");

#[derive(Debug, Error)]
pub enum CosimError {
    #[error("`verilator` is not installed; cannot co-simulate")]
    ToolMissing,
    #[error("design {top} lacks port {port} (not a blocks::dma::Dma)")]
    NotDma { top: String, port: &'static str },
    #[error("verilator build failed in {dir}:\n{log}")]
    Build { dir: PathBuf, log: String },
    #[error("co-simulation failed: {0}")]
    Run(String),
    #[error("bad harness output, {file} line {line}: `{text}`")]
    Output { file: &'static str, line: usize, text: String },
    #[error("the memory image has {got} bytes, the configuration {want}")]
    MemorySize { got: usize, want: u64 },
    #[error("I/O on {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// The shared Verilator build reports in its own error type; the co-simulator keeps its own.
impl From<SimError> for CosimError {
    fn from(e: SimError) -> Self {
        match e {
            SimError::ToolMissing => CosimError::ToolMissing,
            SimError::Build { dir, log } => CosimError::Build { dir, log },
            SimError::Io { path, source } => CosimError::Io { path, source },
            other => CosimError::Run(other.to_string()),
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> CosimError + '_ {
    move |source| CosimError::Io { path: path.to_path_buf(), source }
}

/// One command: `beats` beats from byte address `addr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cmd {
    pub addr: u64,
    pub beats: u64,
}

/// Everything one run needs.
#[derive(Clone, Debug)]
pub struct Stimulus {
    pub dram: DramConfig,
    /// Read commands, offered in order to the read engine.
    pub reads: Vec<Cmd>,
    /// Write commands, offered in order to the write engine.
    pub writes: Vec<Cmd>,
    /// Initial memory (`dram.mem_bytes` long).
    pub memory: Vec<u8>,
    /// The write engine's input stream: the beats of all writes, in order.
    pub stream: Vec<u8>,
    /// WSTRB of each stream beat (bit i = byte i); empty = all ones.
    pub strobes: Vec<u64>,
    pub max_cycles: u64,
    /// Edges with `reset` high before the sources start.
    pub reset_cycles: u64,
    /// Record the per-cycle trace for [`replay`].
    pub trace: bool,
}

/// One edge of the trace: what master and slave drove before it. Data buses are not recorded
/// (`wdata` is empty, `rdata` empty); `rdata_fold` is [`fold`] of the R beat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceLine {
    pub edge: u64,
    pub master: MasterSignals,
    pub slave: SlaveSignals,
    pub rdata_fold: u64,
}

/// When a command was accepted and finished, and the error flag at its end.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CmdTiming {
    pub accepted: Option<u64>,
    /// Read: edge of the last delivered beat; write: edge of the last B handshake.
    pub ended: Option<u64>,
    pub error: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub reads: Vec<CmdTiming>,
    pub writes: Vec<CmdTiming>,
    /// AXI rule violations the C++ slave saw.
    pub violations: Vec<String>,
    /// Harness-level errors (stray beats, wrong `out_last`, unconsumed stream).
    pub errors: Vec<String>,
    /// All commands completed before `max_cycles`.
    pub finished: bool,
    pub last_edge: u64,
    /// Every beat the read engine delivered, in order.
    pub read_data: Vec<u8>,
    /// The DRAM contents at the end.
    pub memory: Vec<u8>,
    pub trace: Vec<TraceLine>,
}

/// A built co-simulator of one `Dma` design.
#[derive(Clone, Debug)]
pub struct Cosim {
    exe: PathBuf,
    pub bus: BusWidth,
    /// True when this call reused a cached build.
    pub cached: bool,
}

/// The generated `dut.h`: the Verilated model's class and the beat width (shared with the engine
/// harness, `crate::cosim`).
pub(crate) fn dut_header(top: &str, bus: BusWidth) -> String {
    let bytes = bus.beat_bytes();
    let strb = if bytes >= 64 { u64::MAX } else { (1u64 << bytes) - 1 };
    format!(
        "// Generated by systole-hdl: the model under test and its beat width.\n#pragma once\n#include <cstdint>\n\
         #include \"V{top}.h\"\nusing Dut = V{top};\nconstexpr unsigned BEAT_BYTES = {bytes};\n\
         constexpr unsigned SIZE_LOG2 = {};\nconstexpr uint64_t STRB_ALL = 0x{strb:x}ULL;\n",
        bus.size_log2()
    )
}

impl Cosim {
    /// Builds (or reuses from `cache_root`) the co-simulator of `design`, a `Dma<W, S>`.
    pub fn build(design: &Design, cache_root: &Path) -> Result<Cosim, CosimError> {
        let data =
            design.port("rd_out_data").ok_or(CosimError::NotDma { top: design.top.clone(), port: "rd_out_data" })?;
        for port in ["m_axi_araddr", "m_axi_wstrb", "wr_in_data", "reset"] {
            design.port(port).ok_or(CosimError::NotDma { top: design.top.clone(), port })?;
        }
        let bus = u32::try_from(data.width)
            .ok()
            .and_then(|w| BusWidth::new(w).ok())
            .ok_or(CosimError::NotDma { top: design.top.clone(), port: "rd_out_data (64..512 bits)" })?;
        let version = verilator_version()?;
        let header = dut_header(&design.top, bus);
        let sources = [("harness.cpp", HARNESS), ("dut.h", header.as_str())];
        let (exe, cached) = build_cached(design, cache_root, "cosim-", &sources, &version)?;
        Ok(Cosim { exe, bus, cached })
    }

    /// Runs one stimulus to completion (or `max_cycles`).
    pub fn run(&self, stim: &Stimulus) -> Result<Outcome, CosimError> {
        if stim.memory.len() as u64 != stim.dram.mem_bytes {
            return Err(CosimError::MemorySize { got: stim.memory.len(), want: stim.dram.mem_bytes });
        }
        static RUN: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "systole-dma-{}-{}",
            std::process::id(),
            RUN.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let result = self.run_in(stim, &dir);
        let _ = std::fs::remove_dir_all(&dir);
        result
    }

    fn run_in(&self, stim: &Stimulus, dir: &Path) -> Result<Outcome, CosimError> {
        let file = |name: &str| dir.join(name);
        let write = |name: &str, bytes: &[u8]| std::fs::write(file(name), bytes).map_err(io_err(&file(name)));
        write("config", config_text(stim).as_bytes())?;
        let mut commands = String::new();
        for (kind, list) in [("R", &stim.reads), ("W", &stim.writes)] {
            for c in list {
                let _ = writeln!(commands, "{kind} {:x} {}", c.addr, c.beats);
            }
        }
        write("commands", commands.as_bytes())?;
        write("mem_in", &stim.memory)?;
        write("stream", &stim.stream)?;
        let strobes: Vec<u8> = stim.strobes.iter().flat_map(|s| s.to_le_bytes()).collect();
        write("strobes", &strobes)?;
        let names = ["config", "commands", "mem_in", "stream", "strobes", "mem_out", "rdata", "events", "trace"];
        let out = Command::new(&self.exe).args(names.map(file)).output().map_err(io_err(&self.exe))?;
        if !out.status.success() {
            return Err(CosimError::Run(String::from_utf8_lossy(&out.stderr).into_owned()));
        }
        let read = |name: &str| std::fs::read(file(name)).map_err(io_err(&file(name)));
        let mut outcome = parse_events(&String::from_utf8_lossy(&read("events")?), stim)?;
        outcome.read_data = read("rdata")?;
        outcome.memory = read("mem_out")?;
        outcome.trace = parse_trace(&String::from_utf8_lossy(&read("trace")?))?;
        Ok(outcome)
    }
}

fn config_text(stim: &Stimulus) -> String {
    let d = &stim.dram;
    let mut s = String::new();
    for (key, value) in [
        ("read_latency", d.timing.read_latency),
        ("write_latency", d.timing.write_latency),
        ("interval", d.timing.interval),
        ("mem_bytes", d.mem_bytes),
        ("slverr_lo", d.slverr.start),
        ("slverr_hi", d.slverr.end),
        ("seed", d.stalls.seed),
        ("max_cycles", stim.max_cycles),
        ("reset_cycles", stim.reset_cycles),
        ("trace", u64::from(stim.trace)),
    ] {
        let _ = writeln!(s, "{key} {value}");
    }
    for channel in 0..CHANNELS {
        let _ = writeln!(s, "stall{channel} {}", d.stalls.percent[channel]);
    }
    s
}

fn parse_events(text: &str, stim: &Stimulus) -> Result<Outcome, CosimError> {
    let mut o = Outcome {
        reads: vec![CmdTiming::default(); stim.reads.len()],
        writes: vec![CmdTiming::default(); stim.writes.len()],
        ..Outcome::default()
    };
    for (index, line) in text.lines().enumerate() {
        let bad = || CosimError::Output { file: "events", line: index + 1, text: line.to_string() };
        let fields: Vec<&str> = line.split_whitespace().collect();
        let num = |i: usize| fields.get(i).and_then(|t| t.parse::<u64>().ok()).ok_or_else(bad);
        match fields.first().copied() {
            Some("RA") | Some("WA") | Some("RE") | Some("WE") => {
                let list = if fields[0].starts_with('R') { &mut o.reads } else { &mut o.writes };
                let (k, edge) = (num(1)?, num(2)?);
                let entry = list.get_mut(k as usize).ok_or_else(bad)?;
                if fields[0].ends_with('A') {
                    entry.accepted = Some(edge);
                } else {
                    entry.ended = Some(edge);
                    entry.error = num(3)? != 0;
                }
            }
            Some("V") => o.violations.push(line[2..].to_string()),
            Some("X") => o.errors.push(line[2..].to_string()),
            Some("END") => {
                o.finished = true;
                o.last_edge = num(1)?;
            }
            Some("TIMEOUT") => o.last_edge = num(1)?,
            _ => return Err(bad()),
        }
    }
    Ok(o)
}

fn parse_trace(text: &str) -> Result<Vec<TraceLine>, CosimError> {
    text.lines()
        .enumerate()
        .map(|(index, line)| {
            let bad = || CosimError::Output { file: "trace", line: index + 1, text: line.to_string() };
            let (m, s) = line.split_once(" | ").ok_or_else(bad)?;
            let hex = |t: &str| u64::from_str_radix(t, 16).map_err(|_| bad());
            let m: Vec<u64> = m.split_whitespace().map(hex).collect::<Result<_, _>>()?;
            let s: Vec<u64> = s.split_whitespace().map(hex).collect::<Result<_, _>>()?;
            if m.len() != 16 || s.len() != 9 {
                return Err(bad());
            }
            let addr = |at: usize| AddrSignals {
                valid: m[at] != 0,
                addr: m[at + 1],
                len: m[at + 2] as u32,
                size: m[at + 3] as u32,
                burst: m[at + 4] as u8,
            };
            // The edge number is printed in decimal; every other field in hex.
            let edge = line.split_whitespace().next().and_then(|t| t.parse().ok()).ok_or_else(bad)?;
            Ok(TraceLine {
                edge,
                master: MasterSignals {
                    ar: addr(1),
                    rready: m[6] != 0,
                    aw: addr(7),
                    wvalid: m[12] != 0,
                    wdata: Vec::new(),
                    wlast: m[13] != 0,
                    wstrb: m[14],
                    bready: m[15] != 0,
                },
                slave: SlaveSignals {
                    arready: s[0] != 0,
                    rvalid: s[1] != 0,
                    rdata: Vec::new(),
                    rlast: s[2] != 0,
                    rresp: s[3] as u8,
                    awready: s[5] != 0,
                    wready: s[6] != 0,
                    bvalid: s[7] != 0,
                    bresp: s[8] as u8,
                },
                rdata_fold: s[4],
            })
        })
        .collect()
}

/// Where the Rust DRAM model and the C++ slave disagreed.
#[derive(Debug, Error)]
#[error(
    "edge {edge}: C++ slave drove {cpp:?} (rdata fold {cpp_fold:#x}), the Rust model {rust:?} (fold {rust_fold:#x})"
)]
pub struct ReplayMismatch {
    pub edge: u64,
    pub cpp: Box<SlaveSignals>,
    pub cpp_fold: u64,
    pub rust: Box<SlaveSignals>,
    pub rust_fold: u64,
}

/// Replays `trace` (from a run of `stim` with `trace` on) through [`DramModel`]: the Rust model
/// must drive exactly what the C++ slave drove on every edge. W data is taken from the write
/// stream in order (WSTRB from the trace) (the engine forwards it unchanged; the final memory comparison checks that).
/// Returns the model's final memory and the violations it found.
pub fn replay(stim: &Stimulus, trace: &[TraceLine]) -> Result<(Vec<u8>, Vec<Violation>), ReplayMismatch> {
    let bytes = stim.dram.bus.beat_bytes() as usize;
    let mut dram = DramModel::new(stim.dram.clone(), stim.memory.clone());
    let mut violations = Vec::new();
    let mut w_beats = 0usize;
    for line in trace {
        let mut rust = dram.outputs();
        let rust_fold = if rust.rvalid { fold(&rust.rdata) } else { 0 };
        rust.rdata.clear();
        if dram.edge() != line.edge || rust != line.slave || rust_fold != line.rdata_fold {
            return Err(ReplayMismatch {
                edge: line.edge,
                cpp: Box::new(line.slave.clone()),
                cpp_fold: line.rdata_fold,
                rust: Box::new(rust),
                rust_fold,
            });
        }
        let mut master = line.master.clone();
        if master.wvalid {
            // Beyond the stream (the harness reports that separately): zeros.
            let beat = stim.stream.get(w_beats * bytes..(w_beats + 1) * bytes);
            master.wdata = beat.map_or_else(|| vec![0; bytes], <[u8]>::to_vec);
            if line.slave.wready {
                w_beats += 1;
            }
        }
        violations.extend(dram.clock(&master));
    }
    Ok((dram.memory().to_vec(), violations))
}
