//! `systole synth`: the steps of a target's flow (Yosys, nextpnr, ecppack), each run as a
//! subprocess with its log in the work directory, and the report they add up to.

use crate::board::Board;
use crate::error::FlowError;
use crate::harness::{harness_ffs, harness_verilog, HARNESS_TOP};
use crate::nextpnr::{parse_report, PnrReport};
use crate::ports::{parse_ports, Port};
use crate::target::{Capacity, Family, Target};
use crate::tools::{version, Tool, Toolbox};
use crate::yosys::{parse_stat_json, resources, script, Resources};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

/// The clock input of every generated top (docs/ENGINE.md).
pub const ENGINE_CLOCK: &str = "clock";

/// Where a long flow reports its steps (the CLI shows a spinner; libraries and tests pass `()`).
pub trait Progress {
    /// A step starts.
    fn step(&self, _what: &str) {}
    /// A step finished after `seconds`.
    fn done(&self, _what: &str, _seconds: f64) {}
}

impl Progress for () {}

/// A `systole generate` output directory.
#[derive(Clone, Debug)]
pub struct Design {
    pub dir: PathBuf,
    /// The top module (the model's name, `arch.json`'s `name`).
    pub top: String,
    pub verilog: PathBuf,
    pub ports: Vec<Port>,
}

impl Design {
    /// Reads `DIR/arch.json` for the top's name and the ports from `DIR/<name>.v`.
    pub fn load(dir: &Path) -> Result<Design, FlowError> {
        let not_design = |what: String| FlowError::NotAGeneratedDesign { dir: dir.to_path_buf(), what };
        let arch_path = dir.join("arch.json");
        let arch = std::fs::read_to_string(&arch_path)
            .map_err(|e| not_design(format!("cannot read {}: {e}", arch_path.display())))?;
        let arch: serde_json::Value =
            serde_json::from_str(&arch).map_err(|e| not_design(format!("{} is not JSON: {e}", arch_path.display())))?;
        let top = arch
            .get("name")
            .and_then(|n| n.as_str())
            .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .ok_or_else(|| not_design(format!("{} has no valid `name` (the top module)", arch_path.display())))?
            .to_string();
        let verilog = dir.join(format!("{top}.v"));
        let text = std::fs::read_to_string(&verilog)
            .map_err(|e| not_design(format!("cannot read {}: {e}", verilog.display())))?;
        let ports = parse_ports(&text, &top, &verilog)?;
        if !ports.iter().any(|p| p.name == ENGINE_CLOCK) {
            return Err(FlowError::Ports {
                file: verilog,
                top,
                what: format!("no `{ENGINE_CLOCK}` input (every generated top has one)"),
            });
        }
        Ok(Design { dir: dir.to_path_buf(), top, verilog, ports })
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct SynthOptions {
    pub target: Target,
    /// Logs, netlists and the bitstream go here.
    pub work: PathBuf,
    pub toolbox: Toolbox,
    /// The clock constraint given to nextpnr, MHz (the achieved Fmax is reported either way).
    pub freq_mhz: f64,
    /// Build a bitstream for this board (ECP5 targets).
    pub board: Option<Board>,
}

/// One tool invocation of the flow.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub name: String,
    pub command: String,
    /// Wall-clock time.
    pub seconds: f64,
    /// CPU time (user + system) of the tool and its children: the machine-load-independent cost.
    pub cpu_seconds: f64,
    pub log: PathBuf,
}

/// Resources used as a percentage of the part.
#[derive(Clone, Debug, Serialize)]
pub struct Utilisation {
    pub luts: f64,
    pub ffs: f64,
    pub dsps: f64,
    pub brams: f64,
}

/// `R.json`: the headline numbers first, then how they were obtained.
#[derive(Clone, Debug, Serialize)]
pub struct SynthReport {
    pub target: Target,
    pub luts: u64,
    pub ffs: u64,
    pub dsps: u64,
    pub brams: f64,
    /// After place and route; null where the flow has no timing (Xilinx, iCE40 without nextpnr-ice40).
    pub fmax_mhz: Option<f64>,
    pub part: &'static str,
    pub part_board: &'static str,
    pub top: String,
    pub bram_unit: &'static str,
    pub dsp_unit: &'static str,
    pub capacity: Capacity,
    pub utilisation_percent: Utilisation,
    /// Where the headline numbers come from.
    pub resources_from: String,
    /// Yosys's numbers (before place and route; for ECP5 / iCE40 they include the harness or board wrapper).
    pub synth: Resources,
    /// Yosys's cell histogram.
    pub cells: BTreeMap<String, u64>,
    pub pnr: Option<PnrReport>,
    /// FFs the place-and-route harness adds (flows/src/harness.rs), included in the numbers.
    pub harness_ffs: Option<u64>,
    pub clock_constraint_mhz: Option<f64>,
    pub board: Option<&'static str>,
    pub bitstream: Option<PathBuf>,
    pub tools: BTreeMap<&'static str, String>,
    pub commands: Vec<String>,
    pub steps: Vec<Step>,
}

/// Runs the whole flow of `opts.target` on `design`.
pub fn synth(design: &Design, opts: &SynthOptions, progress: &dyn Progress) -> Result<SynthReport, FlowError> {
    let target = opts.target;
    let family = target.family();
    if let Some(board) = opts.board {
        if board.target() != target {
            return Err(FlowError::BoardTarget {
                board: board.name().into(),
                part: board.target().name().into(),
                target: target.name().into(),
            });
        }
    }
    std::fs::create_dir_all(&opts.work).map_err(FlowError::io(&opts.work))?;
    let work = opts.work.canonicalize().map_err(FlowError::io(&opts.work))?;
    let mut run = Runner { work: work.clone(), steps: Vec::new(), tools: BTreeMap::new(), progress };

    // Sources and the top Yosys synthesises: the bare engine (Xilinx, out of context), the
    // place-and-route harness, or a board wrapper.
    let engine = design.verilog.canonicalize().map_err(FlowError::io(&design.verilog))?;
    let mut sources = vec![engine];
    let mut defines = Vec::new();
    let mut harness = None;
    let top = match (family, opts.board) {
        (Family::Xilinx7, _) => design.top.clone(),
        (_, Some(board)) => {
            let (files, board_defines) = board.write_sources(&work, design)?;
            sources.extend(files);
            defines = board_defines;
            board.top_module().to_string()
        }
        (_, None) => {
            let path = work.join("harness.v");
            std::fs::write(&path, harness_verilog(&design.top, &design.ports, ENGINE_CLOCK))
                .map_err(FlowError::io(&path))?;
            sources.push(path);
            harness = Some(harness_ffs(&design.ports, ENGINE_CLOCK));
            HARNESS_TOP.to_string()
        }
    };

    // Synthesis.
    let yosys = opts.toolbox.yosys()?;
    let netlist = work.join("netlist.json");
    let stat_path = work.join("stat.json");
    let synth_cmd =
        target.synth_command(&top, (family != Family::Xilinx7).then(|| netlist.to_str().unwrap_or("netlist.json")));
    let source_refs: Vec<&Path> = sources.iter().map(PathBuf::as_path).collect();
    let ys = work.join("synth.ys");
    std::fs::write(&ys, script(&source_refs, &defines, &synth_cmd, &stat_path)).map_err(FlowError::io(&ys))?;
    let synth_step = format!("yosys {}", synth_cmd.split(' ').next().unwrap_or("synth"));
    let synth_log = run.tool(&synth_step, &yosys, &["-s".into(), ys.display().to_string()])?;
    let stat = std::fs::read_to_string(&stat_path).map_err(|_| FlowError::Parse {
        tool: "yosys".into(),
        log: synth_log.clone(),
        what: format!("the `stat -json` output {}", stat_path.display()),
    })?;
    let cells = parse_stat_json(&stat, &synth_log)?;
    let synth_res = resources(family, &cells);
    let cap = target.capacity();
    let over = synth_res.overflow(&cap);
    // Xilinx numbers are reported even when over capacity (they size a bigger part); P&R
    // targets refuse before spending minutes in nextpnr on a design that cannot fit.
    if family != Family::Xilinx7 && !over.is_empty() {
        return Err(FlowError::DoesNotFit { target: format!("{target} ({})", target.part()), what: over.join(", ") });
    }

    // Place and route (and the bitstream).
    let mut pnr = None;
    let mut bitstream = None;
    let pnr_tool = match family {
        Family::Xilinx7 => None,
        Family::Ecp5 => Some(opts.toolbox.nextpnr_ecp5()?),
        Family::Ice40 => opts.toolbox.nextpnr_ice40(),
    };
    if let Some(tool) = pnr_tool {
        // Paths relative to the work directory (the tools' cwd): the YoWASP builds run in a
        // WebAssembly sandbox that sees the current directory only, not absolute paths.
        let report = work.join("pnr.json");
        let mut args: Vec<String> = vec!["--json".into(), "netlist.json".into()];
        args.extend(target.nextpnr_device_args().iter().map(|s| s.to_string()));
        args.extend(["--report".into(), "pnr.json".into()]);
        let config = work.join("design.config");
        match opts.board {
            Some(board) => {
                // The board's clock constraint comes from its LPF (FREQUENCY PORT); timing must pass.
                args.extend(["--lpf".into(), board.lpf_name().into()]);
                args.extend(["--textcfg".into(), "design.config".into()]);
            }
            None => {
                args.extend(["--freq".into(), format!("{}", opts.freq_mhz), "--timing-allow-fail".into()]);
                if family == Family::Ice40 {
                    args.push("--pcf-allow-unconstrained".into());
                } else {
                    args.push("--lpf-allow-unconstrained".into());
                }
            }
        }
        let log = run.tool(&format!("{} place and route", tool.name), &tool, &args)?;
        let report_text = std::fs::read_to_string(&report).map_err(|_| FlowError::Parse {
            tool: tool.name.into(),
            log: log.clone(),
            what: format!("the --report JSON {}", report.display()),
        })?;
        let log_text = std::fs::read_to_string(&log).map_err(FlowError::io(&log))?;
        pnr = Some(parse_report(&report_text, &log_text, tool.name, &log)?);
        if let Some(board) = opts.board {
            let ecppack = opts.toolbox.ecppack()?;
            let bit_name = format!("{}_{}.bit", design.top, board.name());
            let bit = work.join(&bit_name);
            if !config.is_file() {
                return Err(FlowError::Parse {
                    tool: "nextpnr-ecp5".into(),
                    log: log.clone(),
                    what: format!("the Trellis configuration {}", config.display()),
                });
            }
            run.tool("ecppack bitstream", &ecppack, &["--compress".into(), "design.config".into(), bit_name])?;
            if !bit.is_file() {
                return Err(FlowError::Parse {
                    tool: "ecppack".into(),
                    log: work.join("ecppack.log"),
                    what: format!("the bitstream {}", bit.display()),
                });
            }
            bitstream = Some(bit);
        }
    }

    let (headline, resources_from) = match &pnr {
        Some(p) => (p.resources(family), format!("{} after place and route", pnr_tool_name(family))),
        None if family == Family::Xilinx7 => {
            (synth_res.clone(), "yosys synth_xilinx, out of context (no I/O or clock buffers)".to_string())
        }
        None => (synth_res.clone(), format!("yosys {} (nextpnr-ice40 not installed: no timing)", "synth_ice40")),
    };
    let pct = |used: f64, cap: f64| if cap > 0.0 { (1000.0 * used / cap).round() / 10.0 } else { 0.0 };
    let fmax_mhz = pnr.as_ref().and_then(PnrReport::fmax_mhz).map(|f| (f * 100.0).round() / 100.0);
    Ok(SynthReport {
        target,
        luts: headline.luts,
        ffs: headline.ffs,
        dsps: headline.dsps,
        brams: headline.brams,
        fmax_mhz,
        part: target.part(),
        part_board: target.board(),
        top: design.top.clone(),
        bram_unit: target.bram_unit(),
        dsp_unit: target.dsp_unit(),
        capacity: cap,
        utilisation_percent: Utilisation {
            luts: pct(headline.luts as f64, cap.luts as f64),
            ffs: pct(headline.ffs as f64, cap.ffs as f64),
            dsps: pct(headline.dsps as f64, cap.dsps as f64),
            brams: pct(headline.brams, cap.brams),
        },
        resources_from,
        synth: synth_res,
        cells,
        clock_constraint_mhz: pnr.as_ref().and_then(|p| p.fmax.values().next().map(|c| c.constraint_mhz)),
        pnr,
        harness_ffs: harness,
        board: opts.board.map(|b| b.name()),
        bitstream,
        commands: run.steps.iter().map(|s| s.command.clone()).collect(),
        tools: run.tools,
        steps: run.steps,
    })
}

fn pnr_tool_name(family: Family) -> &'static str {
    match family {
        Family::Ice40 => "nextpnr-ice40",
        _ => "nextpnr-ecp5",
    }
}

/// Runs tools in the work directory, one log per tool, and records each step.
struct Runner<'a> {
    work: PathBuf,
    steps: Vec<Step>,
    tools: BTreeMap<&'static str, String>,
    progress: &'a dyn Progress,
}

impl Runner<'_> {
    /// Runs `tool args` with stdout and stderr in `WORK/<tool>.log`; returns the log's path.
    fn tool(&mut self, step: &str, tool: &Tool, args: &[String]) -> Result<PathBuf, FlowError> {
        if !self.tools.contains_key(tool.name) {
            self.tools.insert(tool.name, version(tool));
        }
        let log = self.work.join(format!("{}.log", tool.name));
        let command = std::iter::once(tool.program.display().to_string())
            .chain(args.iter().map(|a| if a.contains(' ') { format!("'{a}'") } else { a.clone() }))
            .collect::<Vec<_>>()
            .join(" ");
        self.progress.step(step);
        let start = Instant::now();
        let cpu_before = children_cpu_seconds();
        let out = File::create(&log).map_err(FlowError::io(&log))?;
        let err = out.try_clone().map_err(FlowError::io(&log))?;
        let status = tool
            .command()
            .args(args)
            .current_dir(&self.work)
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .status()
            .map_err(|source| FlowError::Spawn { tool: tool.name.into(), source })?;
        let seconds = (start.elapsed().as_secs_f64() * 10.0).round() / 10.0;
        let cpu_seconds = ((children_cpu_seconds() - cpu_before) * 10.0).round() / 10.0;
        self.progress.done(step, seconds);
        self.steps.push(Step { name: step.to_string(), command, seconds, cpu_seconds, log: log.clone() });
        if !status.success() {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(FlowError::ToolFailed {
                tool: tool.name.into(),
                code: status.code().map_or("by a signal".into(), |c| c.to_string()),
                log,
                tail: tail(&text, 25),
            });
        }
        Ok(log)
    }
}

/// User + system CPU seconds of every waited-for child process so far (`getrusage`).
fn children_cpu_seconds() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a `rusage` into the pointer it is given and reads nothing else.
    let ok = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()) } == 0;
    if !ok {
        return 0.0;
    }
    // SAFETY: initialised by the successful call above (and zeroed before it).
    let usage = unsafe { usage.assume_init() };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// The last `n` lines of `text`, errors first if any line says ERROR.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let errors: Vec<&str> = lines.iter().copied().filter(|l| l.contains("ERROR")).take(5).collect();
    let last = lines.get(lines.len().saturating_sub(n)..).unwrap_or_default().join("\n");
    if errors.is_empty() {
        last
    } else {
        format!("{}\n...\n{last}", errors.join("\n"))
    }
}
