//! nextpnr: its `--report` JSON (device utilisation and the achieved Fmax per clock) and, where
//! the report has no Fmax, the `Max frequency for clock` lines of its log.

use crate::error::FlowError;
use crate::target::Family;
use crate::yosys::Resources;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// One device resource after place and route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Used {
    pub used: u64,
    pub available: u64,
}

/// Achieved and constrained frequency of one clock, MHz.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ClockFmax {
    pub achieved_mhz: f64,
    pub constraint_mhz: f64,
}

/// What a place-and-route run reports.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PnrReport {
    pub utilisation: BTreeMap<String, Used>,
    pub fmax: BTreeMap<String, ClockFmax>,
}

impl PnrReport {
    /// The design's Fmax: the slowest clock's achieved frequency.
    pub fn fmax_mhz(&self) -> Option<f64> {
        self.fmax.values().map(|c| c.achieved_mhz).min_by(f64::total_cmp)
    }

    /// The headline numbers in the target's units: ECP5 `TRELLIS_COMB` (a LUT4 site: logic, carry
    /// halves and LUT-RAM), `TRELLIS_FF`, `MULT18X18D`, `DP16KD`; iCE40 `ICESTORM_LC` / `_DSP` / `_RAM`.
    pub fn resources(&self, family: Family) -> Resources {
        let used = |k: &str| self.utilisation.get(k).map_or(0, |u| u.used);
        match family {
            Family::Ecp5 => Resources {
                luts: used("TRELLIS_COMB"),
                ffs: used("TRELLIS_FF"),
                dsps: used("MULT18X18D"),
                brams: used("DP16KD") as f64,
            },
            // An iCE40 logic cell is one LUT4 + one FF; nextpnr reports cells, not their halves.
            Family::Ice40 => Resources {
                luts: used("ICESTORM_LC"),
                ffs: used("ICESTORM_LC"),
                dsps: used("ICESTORM_DSP"),
                brams: used("ICESTORM_RAM") as f64,
            },
            Family::Xilinx7 => Resources::default(),
        }
    }
}

/// Reads nextpnr's `--report` JSON; the Fmax falls back to the log's last `Max frequency` lines.
pub fn parse_report(report: &str, log_text: &str, tool: &str, log: &Path) -> Result<PnrReport, FlowError> {
    let missing = |what: String| FlowError::Parse { tool: tool.to_string(), log: log.to_path_buf(), what };
    let json: serde_json::Value =
        serde_json::from_str(report).map_err(|e| missing(format!("a valid --report JSON ({e})")))?;
    let util = json
        .get("utilization")
        .and_then(|u| u.as_object())
        .ok_or_else(|| missing("`utilization` in the --report JSON".into()))?;
    let mut out = PnrReport::default();
    for (kind, v) in util {
        let field = |f: &str| v.get(f).and_then(|x| x.as_u64());
        let (Some(used), Some(available)) = (field("used"), field("available")) else {
            return Err(missing(format!("`used` / `available` of `{kind}` in the --report JSON")));
        };
        out.utilisation.insert(kind.clone(), Used { used, available });
    }
    if let Some(fmax) = json.get("fmax").and_then(|f| f.as_object()) {
        for (clock, v) in fmax {
            let field = |f: &str| v.get(f).and_then(|x| x.as_f64());
            if let (Some(achieved_mhz), Some(constraint_mhz)) = (field("achieved"), field("constraint")) {
                out.fmax.insert(clock.clone(), ClockFmax { achieved_mhz, constraint_mhz });
            }
        }
    }
    if out.fmax.is_empty() {
        out.fmax = parse_log_fmax(log_text);
    }
    Ok(out)
}

/// The last `Max frequency for clock 'NAME': X MHz (PASS|FAIL at Y MHz)` line of each clock.
pub fn parse_log_fmax(log: &str) -> BTreeMap<String, ClockFmax> {
    let mut out = BTreeMap::new();
    for line in log.lines() {
        let Some(rest) = line.split("Max frequency for clock").nth(1) else { continue };
        let Some((name, rest)) = rest.split_once("':") else { continue };
        let name = name.trim().trim_start_matches('\'').to_string();
        let mut words = rest.split_whitespace();
        let achieved = words.next().and_then(|w| w.parse::<f64>().ok());
        let constraint = rest.split(" at ").nth(1).and_then(|w| w.split_whitespace().next()?.parse::<f64>().ok());
        if let (Some(achieved_mhz), Some(constraint_mhz)) = (achieved, constraint) {
            out.insert(name, ClockFmax { achieved_mhz, constraint_mhz });
        }
    }
    out
}
