//! Checks every emitted file with the real tools, never rust-hdl's own simulator alone:
//! Verilator `--lint-only -Wall` (zero warnings) and Yosys synthesis (no latches, no undriven or
//! multiply-driven nets via `check -assert`, no Yosys warnings), plus the resource statistics.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use thiserror::Error;

/// Why a tool check failed. Each variant carries the tool's own words.
#[derive(Debug, Error)]
pub enum CheckError {
    #[error("`{0}` is not installed (apt-get install {0}); cannot check the generated Verilog")]
    ToolMissing(&'static str),
    #[error("cannot run `{tool}`: {source}")]
    Spawn { tool: &'static str, source: std::io::Error },
    #[error("verilator --lint-only -Wall reported problems:\n{0}")]
    Lint(String),
    #[error("yosys failed:\n{0}")]
    Synth(String),
    #[error("yosys warned (treated as an error):\n{0}")]
    SynthWarnings(String),
    #[error("synthesis inferred latches: {0:?}")]
    Latches(BTreeMap<String, u64>),
}

/// Whether `tool` can be run (`tool -V`/`--version` succeeds).
pub fn tool_available(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success())
}

/// For tests: true if every tool is present, else prints a loud skip notice.
pub fn tools_or_skip(tools: &[&'static str], what: &str) -> bool {
    let missing: Vec<_> = tools.iter().filter(|t| !tool_available(t)).collect();
    if missing.is_empty() {
        return true;
    }
    eprintln!("!!! SKIPPED {what}: missing tools {missing:?} (run tools/ensure-deps.sh) !!!");
    false
}

fn run(tool: &'static str, args: &[&str], dir: Option<&Path>) -> Result<(bool, String), CheckError> {
    if !tool_available(tool) {
        return Err(CheckError::ToolMissing(tool));
    }
    let mut command = Command::new(tool);
    command.args(args);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let out = command.output().map_err(|source| CheckError::Spawn { tool, source })?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    Ok((out.status.success(), text))
}

/// `verilator --lint-only -Wall`: succeeds only with zero warnings.
pub fn lint(file: &Path, top: &str) -> Result<(), CheckError> {
    let file = file.to_string_lossy();
    let (ok, text) = run("verilator", &["--lint-only", "-Wall", "--top-module", top, &file], None)?;
    if !ok || text.contains("%Warning") || text.contains("%Error") {
        return Err(CheckError::Lint(text));
    }
    Ok(())
}

/// Which Yosys synthesis script to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SynthTarget {
    /// `synth`: technology-independent gates; fast, for latch and connectivity checks.
    Generic,
    /// `synth_xilinx` (7-series, out of context: no I/O or clock buffers): LUT/FF/DSP/CARRY numbers.
    Xilinx,
}

/// Cell counts of the flattened top after synthesis.
#[derive(Clone, Debug, Default)]
pub struct SynthReport {
    pub cells: BTreeMap<String, u64>,
}

impl SynthReport {
    fn sum(&self, keep: impl Fn(&str) -> bool) -> u64 {
        self.cells.iter().filter(|(k, _)| keep(k)).map(|(_, v)| v).sum()
    }
    /// LUT1..LUT6 (Xilinx).
    pub fn luts(&self) -> u64 {
        self.sum(|k| k.starts_with("LUT"))
    }
    /// Flip-flops: Xilinx FD* primitives, or Yosys internal `$_DFF*`/`$_SDFF*` gates.
    pub fn ffs(&self) -> u64 {
        self.sum(|k| {
            k.starts_with("FD") || k.starts_with("$_DFF") || k.starts_with("$_SDFF") || k.starts_with("$_DFFE")
        })
    }
    pub fn dsps(&self) -> u64 {
        self.sum(|k| k.starts_with("DSP"))
    }
    /// LUT-based shift registers (SRL16E/SRLC32E): delay lines packed into LUTs.
    pub fn srls(&self) -> u64 {
        self.sum(|k| k.starts_with("SRL"))
    }
    pub fn carries(&self) -> u64 {
        self.sum(|k| k.starts_with("CARRY"))
    }
    /// Every latch-like cell (generic `$dlatch`/`$_DLATCH_*`/`$_SR_*`, Xilinx `LD*`).
    pub fn latches(&self) -> BTreeMap<String, u64> {
        self.cells
            .iter()
            .filter(|(k, _)| {
                let k = k.to_ascii_uppercase();
                k.contains("DLATCH") || k.starts_with("LD") || k.starts_with("$_SR_") || k == "$SR"
            })
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }
}

/// Synthesises `top` from `file` (flattened), runs `check -assert` and returns the cell counts.
/// Fails on Yosys errors or warnings, undriven/conflicting nets and any latch.
pub fn synth(file: &Path, top: &str, target: SynthTarget) -> Result<SynthReport, CheckError> {
    let script = match target {
        SynthTarget::Generic => format!("synth -flatten -top {top}"),
        SynthTarget::Xilinx => format!("synth_xilinx -flatten -noiopad -noclkbuf -top {top}"),
    };
    let script = format!("read_verilog {}; {script}; check -assert; stat", file.to_string_lossy());
    let (ok, log) = run("yosys", &["-p", &script], None)?;
    if !ok {
        return Err(CheckError::Synth(tail(&log, 60)));
    }
    let warnings: Vec<&str> = log.lines().filter(|l| l.trim_start().starts_with("Warning:")).collect();
    if !warnings.is_empty() {
        return Err(CheckError::SynthWarnings(warnings.join("\n")));
    }
    let report = SynthReport { cells: parse_stat(&log) };
    let latches = report.latches();
    if !latches.is_empty() {
        return Err(CheckError::Latches(latches));
    }
    Ok(report)
}

/// Cell counts from the last `stat` block: the lines after `Number of cells:`.
fn parse_stat(log: &str) -> BTreeMap<String, u64> {
    let Some(start) = log.rfind("Number of cells:") else { return BTreeMap::new() };
    let mut cells = BTreeMap::new();
    for line in log[start..].lines().skip(1) {
        let mut tokens = line.split_whitespace();
        match (tokens.next(), tokens.next(), tokens.next()) {
            (Some(kind), Some(count), None) => match count.parse::<u64>() {
                Ok(n) => {
                    cells.insert(kind.to_string(), n);
                }
                Err(_) => break,
            },
            _ => break,
        }
    }
    cells
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cell_counts_and_finds_latches() {
        let log = "=== pe ===\n\n   Number of cells:                 4\n     DSP48E1        1\n     \
                   FDRE           40\n     LUT2   3\n     $_DLATCH_P_ 2\n\nEnd of script.";
        let report = SynthReport { cells: parse_stat(log) };
        assert_eq!((report.dsps(), report.ffs(), report.luts()), (1, 40, 3));
        assert_eq!(report.latches().get("$_DLATCH_P_"), Some(&2));
    }
}
