//! The RTL as a device: a persistent Verilator process of the whole engine top
//! (`blocks::top`), with the DMA harness's C++ AXI4 DRAM slave (fixed latency / interval from
//! `DramTiming`) and an AXI4-Lite master, driven over a pipe by a line protocol (`harness.cpp`
//! lists the commands). [`RtlDevice`] implements `systole_host::Device`, so the host driver runs
//! on the RTL exactly as on a board. Builds are cached by design hash
//! (`verilator::build_cached_with`); an optional VCD trace uses a `--trace` build.

use crate::axi_timing::{BusWidth, DramTiming};
use crate::blocks::dma::cosim::{dut_header, HARNESS as DRAM_HARNESS};
use crate::emit::Design;
use crate::verilator::{build_cached_with, verilator_version, SimError};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};
use systole_arch::regmap::REG_WINDOW_BYTES;
use systole_host::{Device, DeviceError};
use thiserror::Error;

/// The harness around the top (compiled with the DMA harness as `dma_cosim.cpp`).
pub const HARNESS: &str = include_str!("harness.cpp");

#[derive(Debug, Error)]
pub enum RtlError {
    #[error("`verilator` is not installed; cannot co-simulate")]
    ToolMissing,
    #[error("design {top} lacks port {port} (not an engine top)")]
    NotTop { top: String, port: &'static str },
    #[error("verilator build failed in {dir}:\n{log}")]
    Build { dir: PathBuf, log: String },
    #[error("co-simulation: {0}")]
    Run(String),
    #[error("I/O with the simulator: {0}")]
    Io(#[from] std::io::Error),
}

impl From<SimError> for RtlError {
    fn from(e: SimError) -> Self {
        match e {
            SimError::ToolMissing => RtlError::ToolMissing,
            SimError::Build { dir, log } => RtlError::Build { dir, log },
            other => RtlError::Run(other.to_string()),
        }
    }
}

impl From<RtlError> for DeviceError {
    fn from(e: RtlError) -> Self {
        match e {
            RtlError::Io(io) => DeviceError::Io(io),
            other => DeviceError::Io(std::io::Error::other(other.to_string())),
        }
    }
}

/// How to run the RTL.
#[derive(Clone, Debug)]
pub struct RtlOptions {
    pub dram: DramTiming,
    /// Device memory: addresses `0..mem_bytes`.
    pub mem_bytes: u64,
    /// Where the Verilator builds are cached.
    pub cache_root: PathBuf,
    /// Write a VCD of the whole run here (slower: a `--trace` build).
    pub vcd: Option<PathBuf>,
    /// Cycles simulated per wall-clock check while waiting for the interrupt.
    pub chunk_cycles: u64,
}

impl RtlOptions {
    pub fn new(dram: DramTiming, mem_bytes: u64, cache_root: &Path) -> RtlOptions {
        RtlOptions { dram, mem_bytes, cache_root: cache_root.to_path_buf(), vcd: None, chunk_cycles: 100_000 }
    }
}

/// The engine RTL behind the host's device interface.
pub struct RtlDevice {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    mem_bytes: u64,
    chunk: u64,
    /// True when the simulator came from the build cache.
    pub cached: bool,
}

impl RtlDevice {
    /// Builds (or reuses) the simulator of `design` (an engine top, `blocks::top::emit_top`) and
    /// starts it with the design held in reset for 4 cycles.
    pub fn start(design: &Design, opts: &RtlOptions) -> Result<RtlDevice, RtlError> {
        let data =
            design.port("m_axi_rdata").ok_or(RtlError::NotTop { top: design.top.clone(), port: "m_axi_rdata" })?;
        for port in ["s_axil_awaddr", "irq", "reset"] {
            design.port(port).ok_or(RtlError::NotTop { top: design.top.clone(), port })?;
        }
        let bus = u32::try_from(data.width)
            .ok()
            .and_then(|w| BusWidth::new(w).ok())
            .ok_or(RtlError::NotTop { top: design.top.clone(), port: "m_axi_rdata (64..512 bits)" })?;
        let version = verilator_version()?;
        let header = dut_header(&design.top, bus);
        let sources = [("harness.cpp", HARNESS), ("dma_cosim.cpp", DRAM_HARNESS), ("dut.h", header.as_str())];
        let trace: &[&str] = if opts.vcd.is_some() { &["--trace"] } else { &[] };
        let (exe, cached) = build_cached_with(design, &opts.cache_root, "engine-", &sources, &version, trace)?;
        let d = &opts.dram;
        let mut cmd = Command::new(&exe);
        cmd.args([opts.mem_bytes, d.read_latency, d.write_latency, d.interval].map(|v| v.to_string()));
        if let Some(vcd) = &opts.vcd {
            cmd.arg(vcd);
        }
        let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn()?;
        let stdin = child.stdin.take().ok_or_else(|| RtlError::Run("no stdin pipe".into()))?;
        let stdout = BufReader::new(child.stdout.take().ok_or_else(|| RtlError::Run("no stdout pipe".into()))?);
        Ok(RtlDevice { child, stdin, stdout, mem_bytes: opts.mem_bytes, chunk: opts.chunk_cycles.max(1), cached })
    }

    /// Sends one command and returns the words after `OK`.
    fn call(&mut self, command: &str) -> Result<Vec<String>, RtlError> {
        writeln!(self.stdin, "{command}")?;
        self.stdin.flush()?;
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            return Err(RtlError::Run(format!("the simulator exited during `{}`", short(command))));
        }
        let mut words = line.split_whitespace().map(str::to_string);
        match words.next().as_deref() {
            Some("OK") => Ok(words.collect()),
            _ => Err(RtlError::Run(format!("`{}`: {}", short(command), line.trim()))),
        }
    }

    fn number(words: &[String], i: usize, radix: u32) -> Result<u64, RtlError> {
        words
            .get(i)
            .and_then(|w| u64::from_str_radix(w, radix).ok())
            .ok_or_else(|| RtlError::Run(format!("bad reply {words:?}")))
    }

    /// Rising edges since the simulator started (reset included).
    pub fn cycle(&mut self) -> Result<u64, RtlError> {
        let w = self.call("CYC")?;
        Self::number(&w, 0, 10)
    }

    /// Runs up to `n` cycles, stopping once `irq` is high; returns (irq, cycles run).
    pub fn run(&mut self, n: u64) -> Result<(bool, u64), RtlError> {
        let w = self.call(&format!("RUN {n}"))?;
        Ok((Self::number(&w, 0, 10)? == 1, Self::number(&w, 1, 10)?))
    }

    /// AXI rule violations the DRAM slave saw, and the first one's text.
    pub fn violations(&mut self) -> Result<(u64, String), RtlError> {
        let w = self.call("VIOL")?;
        Ok((Self::number(&w, 0, 10)?, w[1..].join(" ")))
    }

    /// AXI4-Lite write with its response code (0 OKAY, 2 SLVERR).
    pub fn write_reg_resp(&mut self, offset: u32, value: u32) -> Result<u32, RtlError> {
        let w = self.call(&format!("W {offset:x} {value:x}"))?;
        Ok(Self::number(&w, 0, 10)? as u32)
    }

    fn check_reg(offset: u64) -> Result<u32, DeviceError> {
        if offset >= u64::from(REG_WINDOW_BYTES) {
            return Err(DeviceError::RegisterOutOfRange { offset, len: u64::from(REG_WINDOW_BYTES) });
        }
        if !offset.is_multiple_of(4) {
            return Err(DeviceError::Unaligned { offset });
        }
        Ok(offset as u32)
    }

    fn check_mem(&self, addr: u64, len: usize) -> Result<(), DeviceError> {
        let len = len as u64;
        if addr.checked_add(len).is_none_or(|end| end > self.mem_bytes) {
            return Err(DeviceError::MemoryOutOfRange { addr, len, size: self.mem_bytes });
        }
        Ok(())
    }
}

fn short(command: &str) -> &str {
    command.get(..40).unwrap_or(command)
}

/// Bytes per memory command (keeps pipe lines reasonable).
const MEM_CHUNK: usize = 1 << 16;

impl Device for RtlDevice {
    fn read_reg(&mut self, offset: u64) -> Result<u32, DeviceError> {
        let offset = Self::check_reg(offset)?;
        let w = self.call(&format!("R {offset:x}"))?;
        Ok(Self::number(&w, 0, 16)? as u32)
    }

    fn write_reg(&mut self, offset: u64, value: u32) -> Result<(), DeviceError> {
        let offset = Self::check_reg(offset)?;
        self.write_reg_resp(offset, value)?;
        Ok(())
    }

    fn write_mem(&mut self, addr: u64, data: &[u8]) -> Result<(), DeviceError> {
        self.check_mem(addr, data.len())?;
        for (i, chunk) in data.chunks(MEM_CHUNK).enumerate() {
            let hex: String = chunk.iter().map(|b| format!("{b:02x}")).collect();
            self.call(&format!("MW {:x} {hex}", addr + (i * MEM_CHUNK) as u64))?;
        }
        Ok(())
    }

    fn read_mem(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        self.check_mem(addr, buf.len())?;
        for (i, chunk) in buf.chunks_mut(MEM_CHUNK).enumerate() {
            let w = self.call(&format!("MR {:x} {}", addr + (i * MEM_CHUNK) as u64, chunk.len()))?;
            let hex = w.first().map_or("", String::as_str);
            if hex.len() != 2 * chunk.len() {
                return Err(
                    RtlError::Run(format!("MR returned {} hex digits for {} bytes", hex.len(), chunk.len())).into()
                );
            }
            for (j, byte) in chunk.iter_mut().enumerate() {
                *byte = u8::from_str_radix(&hex[2 * j..2 * j + 2], 16)
                    .map_err(|_| RtlError::Run("MR returned a non-hex byte".into()))?;
            }
        }
        Ok(())
    }

    fn wait_irq(&mut self, timeout: Duration) -> Result<(), DeviceError> {
        let start = Instant::now();
        loop {
            let (irq, _) = self.run(self.chunk)?;
            if irq {
                return Ok(());
            }
            if start.elapsed() >= timeout {
                return Err(DeviceError::InterruptTimeout(timeout));
            }
        }
    }
}

impl Drop for RtlDevice {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "QUIT");
        let _ = self.stdin.flush();
        let _ = self.child.wait();
    }
}
