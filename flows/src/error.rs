//! Why a flow failed. Every tool failure names the tool, its log file and what was missing.

use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum FlowError {
    #[error("unknown target `{given}` (known: {known})")]
    UnknownTarget { given: String, known: String },
    #[error("unknown board `{given}` (known: {known})")]
    UnknownBoard { given: String, known: String },
    #[error("{dir}: not a `systole generate` output ({what})")]
    NotAGeneratedDesign { dir: PathBuf, what: String },
    #[error("{file}: cannot find the ports of module `{top}` ({what})")]
    Ports { file: PathBuf, top: String, what: String },
    #[error("`{tool}` is not installed: {hint}")]
    ToolMissing { tool: String, hint: String },
    #[error("cannot install the FPGA tools into {venv}: {what}")]
    Install { venv: PathBuf, what: String },
    #[error("cannot run `{tool}`: {source}")]
    Spawn { tool: String, source: std::io::Error },
    #[error("`{tool}` failed (exit {code}); log: {log}\n{tail}")]
    ToolFailed { tool: String, code: String, log: PathBuf, tail: String },
    #[error("`{tool}` output is missing {what} (see {log})")]
    Parse { tool: String, log: PathBuf, what: String },
    #[error(
        "the design does not fit the {target}: {what} (synthesis numbers; choose a smaller array with \
         `systole generate --budget-macs`)"
    )]
    DoesNotFit { target: String, what: String },
    #[error("board `{board}` is an {part} board, but the target is {target}")]
    BoardTarget { board: String, part: String, target: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

impl FlowError {
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> FlowError {
        let path = path.into();
        move |source| FlowError::Io { path, source }
    }
}
