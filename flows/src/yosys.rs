//! Yosys: the synthesis script of a target and the cell counts of its `stat -json` output.

use crate::error::FlowError;
use crate::target::{Capacity, Family};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The resources of a netlist, in the target's units (see `Target::bram_unit`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Resources {
    pub luts: u64,
    pub ffs: u64,
    pub dsps: u64,
    pub brams: f64,
}

impl Resources {
    /// What exceeds `cap`, as "LUT 6123 > 5280, ..." (empty when everything fits).
    pub fn overflow(&self, cap: &Capacity) -> Vec<String> {
        let mut over = Vec::new();
        if self.luts > cap.luts {
            over.push(format!("LUT {} > {}", self.luts, cap.luts));
        }
        if self.ffs > cap.ffs {
            over.push(format!("FF {} > {}", self.ffs, cap.ffs));
        }
        if self.dsps > cap.dsps {
            over.push(format!("DSP {} > {}", self.dsps, cap.dsps));
        }
        if self.brams > cap.brams {
            over.push(format!("BRAM {} > {}", self.brams, cap.brams));
        }
        over
    }
}

/// The cell histogram of the synthesised design from `stat -json` (the `design` totals, which
/// for a flattened top are the top's own cells).
pub fn parse_stat_json(text: &str, log: &Path) -> Result<BTreeMap<String, u64>, FlowError> {
    let missing = |what: &str| FlowError::Parse { tool: "yosys".into(), log: log.to_path_buf(), what: what.into() };
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| missing(&format!("a valid `stat -json` document ({e})")))?;
    let cells = json
        .get("design")
        .and_then(|d| d.get("num_cells_by_type"))
        .and_then(|c| c.as_object())
        .ok_or_else(|| missing("`design.num_cells_by_type` in the `stat -json` output"))?;
    let mut out = BTreeMap::new();
    for (kind, count) in cells {
        let n = count.as_u64().ok_or_else(|| missing(&format!("an integer count for cell type `{kind}`")))?;
        out.insert(kind.trim_start_matches('\\').to_string(), n);
    }
    Ok(out)
}

/// LUT-equivalents of a Xilinx LUT-RAM or shift-register primitive (Vivado counts them among
/// the slice LUTs), None for anything else.
fn xilinx_lutram_luts(kind: &str) -> Option<u64> {
    Some(match kind {
        "SRL16E" | "SRLC16E" | "SRLC32E" | "RAM32X1S" | "RAM64X1S" => 1,
        "RAM32X1D" | "RAM64X1D" | "RAM128X1S" => 2,
        "RAM32M" | "RAM64M" | "RAM128X1D" | "RAM256X1S" => 4,
        "RAM32M16" | "RAM64M8" => 8,
        _ => return None,
    })
}

/// Folds a cell histogram into the four headline numbers of `family`.
pub fn resources(family: Family, cells: &BTreeMap<String, u64>) -> Resources {
    let sum = |keep: &dyn Fn(&str) -> bool| cells.iter().filter(|(k, _)| keep(k)).map(|(_, n)| *n).sum::<u64>();
    match family {
        Family::Xilinx7 => Resources {
            // Slice LUTs as Vivado reports them: logic LUTs plus LUT-RAM and SRLs.
            luts: sum(&|k| k.starts_with("LUT") && k.len() == 4)
                + cells.iter().filter_map(|(k, n)| xilinx_lutram_luts(k).map(|l| l * n)).sum::<u64>(),
            ffs: sum(&|k| matches!(k, "FDRE" | "FDSE" | "FDCE" | "FDPE")),
            dsps: sum(&|k| k.starts_with("DSP48")),
            brams: sum(&|k| k.starts_with("RAMB36")) as f64 + 0.5 * sum(&|k| k.starts_with("RAMB18")) as f64,
        },
        Family::Ecp5 => Resources {
            // A CCU2C (2-bit carry) occupies two LUT4 sites, a 16x4 distributed RAM four.
            luts: sum(&|k| k == "LUT4") + 2 * sum(&|k| k == "CCU2C") + 4 * sum(&|k| k == "TRELLIS_DPR16X4"),
            ffs: sum(&|k| k == "TRELLIS_FF"),
            dsps: sum(&|k| k == "MULT18X18D"),
            brams: sum(&|k| k == "DP16KD") as f64,
        },
        Family::Ice40 => Resources {
            luts: sum(&|k| k == "SB_LUT4"),
            ffs: sum(&|k| k.starts_with("SB_DFF")),
            dsps: sum(&|k| k == "SB_MAC16"),
            brams: sum(&|k| k == "SB_RAM40_4K") as f64,
        },
    }
}

/// The Yosys script: read the sources (with `defines`), synthesise, check, write the stat JSON.
pub fn script(sources: &[&Path], defines: &[(String, String)], synth: &str, stat_json: &Path) -> String {
    let defines: String = defines.iter().map(|(k, v)| format!(" -D{k}={v}")).collect();
    let mut s = String::new();
    for src in sources {
        s.push_str(&format!("read_verilog{defines} {}\n", src.display()));
    }
    s.push_str(&format!("{synth}\n"));
    // `check -assert` stops the flow on undriven or multiply driven nets (see hdl/src/check.rs).
    s.push_str("check -assert\n");
    s.push_str(&format!("tee -q -o {} stat -json\n", stat_json.display()));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xilinx_bram_halves_and_lutram_counts() {
        let cells: BTreeMap<String, u64> =
            [("LUT6", 10), ("LUT2", 5), ("SRLC32E", 3), ("RAM64M", 2), ("FDRE", 7), ("RAMB18E1", 3), ("RAMB36E1", 1)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
        let r = resources(Family::Xilinx7, &cells);
        assert_eq!(r, Resources { luts: 10 + 5 + 3 + 8, ffs: 7, dsps: 0, brams: 2.5 });
    }
}
