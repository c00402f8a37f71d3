//! Verilog emission: rust-hdl generates, systole post-processes and writes.
//!
//! Pipeline (each step its own module):
//! 1. [`rust_hdl::core::check_error::check_all`] (open inputs, logic loops, writes to inputs),
//!    turned into an error instead of rust-hdl's `unwrap` panic in `generate_verilog`;
//! 2. [`guard`]: refuse operator nestings that Verilog would regroup;
//! 3. rust-hdl's `generate_verilog_unchecked`;
//! 4. [`netlist::split`] into modules, [`dedup`] identical ones, [`names::rename`] the top to the
//!    caller's name, [`fixups`] for constructs that lint badly;
//! 5. render one file named after the top, with the lint waivers the layout needs.

pub mod dedup;
pub mod fixups;
pub mod guard;
pub mod isolate;
pub mod names;
pub mod netlist;
pub mod waivers;

use rust_hdl::core::check_error::{check_all, CheckError};
use rust_hdl::core::prelude::{generate_verilog_unchecked, Block};
use std::path::{Path, PathBuf};
use thiserror::Error;

pub use netlist::{Direction, Port};
pub use waivers::Waiver;

/// Why a design could not be emitted.
#[derive(Debug, Error)]
pub enum EmitError {
    #[error("invalid top module name `{0}` (a Verilog identifier other than `top` is required)")]
    BadTopName(String),
    #[error("rust-hdl design check failed: {0}")]
    DesignCheck(String),
    #[error("operator precedence differs between Rust and Verilog, add parentheses: {0}")]
    Precedence(String),
    #[error("cannot read rust-hdl output at line {line}: {message}")]
    Parse { line: usize, message: String },
    #[error("rust-hdl output has no `top` module")]
    NoTop,
    #[error("two modules would both be named `{0}`")]
    NameClash(String),
    #[error("lint waiver for `{signal}` matches no declaration in the top module")]
    StaleWaiver { signal: String },
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// Counts of what post-processing did, for logs and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EmitStats {
    pub modules_emitted: usize,
    pub modules_merged: usize,
    pub lines_fixed: usize,
}

/// A post-processed design: one Verilog source whose top module is `top`.
#[derive(Clone, Debug)]
pub struct Design {
    pub top: String,
    pub verilog: String,
    pub ports: Vec<Port>,
    pub stats: EmitStats,
}

/// Waiver put at the head of every file, with its reason (see module docs: one file per design).
const FILE_WAIVER: &str = "// All modules of one design live in one file named after its top module, so Verilator's\n\
// DECLFILENAME (file name == module name) can only hold for the top.\n\
/* verilator lint_off DECLFILENAME */\n";

/// Emits `uut` (already `connect_all`ed or not: it is connected here) as a design named `top`.
pub fn emit<B: Block>(uut: &mut B, top: &str) -> Result<Design, EmitError> {
    emit_with_waivers(uut, top, &[])
}

/// As [`emit`], with lint waivers for declarations of the top module (each with its reason).
pub fn emit_with_waivers<B: Block>(uut: &mut B, top: &str, waivers: &[Waiver]) -> Result<Design, EmitError> {
    emit_with_nested_waivers(uut, top, waivers, &[])
}

/// As [`emit_with_waivers`], plus `nested` waivers that follow a block wherever it sits: each
/// applies to every module (the top included) that declares its signal, so a block keeps the
/// waivers it needs whether it is the top or instantiated inside another; stale if none does.
pub fn emit_with_nested_waivers<B: Block>(
    uut: &mut B,
    top: &str,
    waivers: &[Waiver],
    nested: &[Waiver],
) -> Result<Design, EmitError> {
    names::validate_top_name(top)?;
    uut.connect_all();
    check_all(uut).map_err(|e| EmitError::DesignCheck(describe_check_error(&e)))?;
    guard::check_precedence(uut)?;
    let raw = generate_verilog_unchecked(uut);
    postprocess_nested(&raw, top, waivers, nested)
}

/// Steps 4 and 5 on rust-hdl's text (public so any rust-hdl output can be cleaned the same way).
pub fn postprocess(raw: &str, top: &str, waivers: &[Waiver]) -> Result<Design, EmitError> {
    postprocess_nested(raw, top, waivers, &[])
}

/// [`postprocess`] with waivers for modules below the top (see [`emit_with_nested_waivers`]).
pub fn postprocess_nested(raw: &str, top: &str, waivers: &[Waiver], nested: &[Waiver]) -> Result<Design, EmitError> {
    names::validate_top_name(top)?;
    let mut modules = netlist::split(raw)?;
    let mut stats = EmitStats { modules_emitted: modules.len(), ..EmitStats::default() };
    stats.modules_merged = dedup::dedup(&mut modules, names::RUST_HDL_TOP);
    names::rename(&mut modules, top)?;
    // A waiver names a declaration of the top, or `path::signal` one of the sub-module at
    // `path` (rust-hdl's instance path, `$`-separated, e.g. `reader$gen::req_len`).
    let mut placed = vec![false; waivers.len()];
    for module in &mut modules {
        stats.lines_fixed += fixups::apply(module);
        let mut own = Vec::new();
        for (k, w) in waivers.iter().enumerate() {
            let here = match w.signal.split_once("::") {
                None => (module.name == top).then(|| w.clone()),
                Some((path, signal)) => (module.name == format!("{top}__{}", path.replace('$', "__")))
                    .then(|| Waiver { signal: signal.to_string().into(), ..w.clone() }),
            };
            if let Some(w) = here {
                placed[k] = true;
                own.push(w);
            }
        }
        waivers::apply(module, &own)?;
    }
    if let Some(k) = placed.iter().position(|p| !p) {
        return Err(EmitError::StaleWaiver { signal: waivers[k].signal.to_string() });
    }
    for waiver in nested {
        let mut used = false;
        for module in modules.iter_mut() {
            if waivers::declares(module, &waiver.signal) {
                waivers::apply(module, std::slice::from_ref(waiver))?;
                used = true;
            }
        }
        if !used {
            return Err(EmitError::StaleWaiver { signal: waiver.signal.to_string() });
        }
    }
    // The top first: tools that take the first module as the default top then agree with us.
    modules.sort_by_key(|m| m.name != top);
    let ports = modules.first().map(netlist::Module::ports).transpose()?.unwrap_or_default();
    let mut verilog =
        format!("// {top}: generated by systole-hdl (rust-hdl {}); do not edit.\n{FILE_WAIVER}\n", RUST_HDL_VERSION);
    for module in &modules {
        verilog.push_str(&module.render());
        verilog.push('\n');
    }
    Ok(Design { top: top.to_string(), verilog, ports, stats })
}

/// The rust-hdl release this wrapper was written against (its sharp edges are version specific).
pub const RUST_HDL_VERSION: &str = "0.46";

impl Design {
    /// Writes `<dir>/<top>.v` and returns its path.
    pub fn write_to(&self, dir: &Path) -> Result<PathBuf, EmitError> {
        let io = |source| EmitError::Io { path: dir.to_path_buf(), source };
        std::fs::create_dir_all(dir).map_err(io)?;
        let path = dir.join(format!("{}.v", self.top));
        std::fs::write(&path, &self.verilog).map_err(|source| EmitError::Io { path: path.clone(), source })?;
        Ok(path)
    }

    pub fn port(&self, name: &str) -> Option<&Port> {
        self.ports.iter().find(|p| p.name == name)
    }
}

fn describe_check_error(e: &CheckError) -> String {
    let list = |names: &[rust_hdl::core::check_error::PathedName]| {
        names.iter().map(|n| format!("{}.{}", n.path, n.name)).collect::<Vec<_>>().join(", ")
    };
    match e {
        CheckError::OpenSignal(map) => {
            let mut names: Vec<_> = map.values().cloned().collect();
            names.sort_by(|a, b| (&a.path, &a.name).cmp(&(&b.path, &b.name)));
            format!("undriven signals: {}", list(&names))
        }
        CheckError::LogicLoops(names) => format!("combinational loops through: {}", list(names)),
        CheckError::WritesToInputs(names) => format!("writes to inputs: {}", list(names)),
    }
}
