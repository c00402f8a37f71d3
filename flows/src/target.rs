//! The FPGA parts `systole synth` knows: how each is synthesised, placed and routed, and what it
//! holds. Capacities come from the vendors' data sheets (7-series DS190, ECP5 DS1044, iCE40
//! UltraPlus DS1056); the ECP5 packages and speed grades are those of real boards, so the Fmax
//! is the one a user of that board would see.

use crate::error::FlowError;
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// A part `systole synth --target` accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// Zynq-7020 (ZedBoard, PYNQ-Z1/Z2): `synth_xilinx`, resources only.
    Xc7z020,
    /// Artix-7 100T (Arty A7-100, Nexys A7): `synth_xilinx`, resources only.
    Xc7a100t,
    /// ECP5 LFE5U-85F-6BG381C (ULX3S 85F): `synth_ecp5` + nextpnr-ecp5.
    Ecp5_85k,
    /// ECP5 LFE5U-25F-8MG285C (OrangeCrab r0.2 25F): `synth_ecp5` + nextpnr-ecp5.
    Ecp5_25k,
    /// iCE40 UltraPlus 5K, SG48 (iCEBreaker, UPduino 3): `synth_ice40`; nextpnr-ice40 when installed.
    Ice40Up5k,
}

/// Which synthesis script and which place-and-route tool a target uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Xilinx7,
    Ecp5,
    Ice40,
}

/// What a part holds, in the units its resources are reported in.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Capacity {
    pub luts: u64,
    pub ffs: u64,
    pub dsps: u64,
    /// In `Target::bram_unit` units.
    pub brams: f64,
}

pub const ALL_TARGETS: [Target; 5] =
    [Target::Xc7z020, Target::Xc7a100t, Target::Ecp5_85k, Target::Ecp5_25k, Target::Ice40Up5k];

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Xc7z020 => "xc7z020",
            Target::Xc7a100t => "xc7a100t",
            Target::Ecp5_85k => "ecp5-85k",
            Target::Ecp5_25k => "ecp5-25k",
            Target::Ice40Up5k => "ice40up5k",
        }
    }

    pub fn family(self) -> Family {
        match self {
            Target::Xc7z020 | Target::Xc7a100t => Family::Xilinx7,
            Target::Ecp5_85k | Target::Ecp5_25k => Family::Ecp5,
            Target::Ice40Up5k => Family::Ice40,
        }
    }

    /// The full part name (package and speed grade included).
    pub fn part(self) -> &'static str {
        match self {
            Target::Xc7z020 => "xc7z020clg400-1",
            Target::Xc7a100t => "xc7a100tcsg324-1",
            Target::Ecp5_85k => "LFE5U-85F-6BG381C",
            Target::Ecp5_25k => "LFE5U-25F-8MG285C",
            Target::Ice40Up5k => "iCE40UP5K-SG48",
        }
    }

    /// A board that carries this part (what the package / speed grade were chosen after).
    pub fn board(self) -> &'static str {
        match self {
            Target::Xc7z020 => "PYNQ-Z2 / ZedBoard",
            Target::Xc7a100t => "Arty A7-100T",
            Target::Ecp5_85k => "ULX3S 85F",
            Target::Ecp5_25k => "OrangeCrab r0.2 25F",
            Target::Ice40Up5k => "iCEBreaker / UPduino 3",
        }
    }

    pub fn capacity(self) -> Capacity {
        match self {
            // DS190: 53,200 LUTs, 106,400 FFs, 220 DSP48E1, 140 RAMB36 (4.9 Mb).
            Target::Xc7z020 => Capacity { luts: 53_200, ffs: 106_400, dsps: 220, brams: 140.0 },
            // DS180: 63,400 LUTs, 126,800 FFs, 240 DSP48E1, 135 RAMB36.
            Target::Xc7a100t => Capacity { luts: 63_400, ffs: 126_800, dsps: 240, brams: 135.0 },
            // DS1044: 83,640 LUT4 (one FF each), 156 18x18 multipliers, 208 EBR (DP16KD).
            Target::Ecp5_85k => Capacity { luts: 83_640, ffs: 83_640, dsps: 156, brams: 208.0 },
            // DS1044: 24,288 LUT4, 28 18x18 multipliers, 56 EBR.
            Target::Ecp5_25k => Capacity { luts: 24_288, ffs: 24_288, dsps: 28, brams: 56.0 },
            // DS1056: 5,280 LUT4, 8 SB_MAC16, 30 EBR (SB_RAM40_4K).
            Target::Ice40Up5k => Capacity { luts: 5_280, ffs: 5_280, dsps: 8, brams: 30.0 },
        }
    }

    /// The unit `brams` is counted in.
    pub fn bram_unit(self) -> &'static str {
        match self.family() {
            Family::Xilinx7 => "RAMB36 (a RAMB18 counts 0.5)",
            Family::Ecp5 => "DP16KD (18 Kbit EBR)",
            Family::Ice40 => "SB_RAM40_4K (4 Kbit EBR)",
        }
    }

    /// The unit `dsps` is counted in.
    pub fn dsp_unit(self) -> &'static str {
        match self.family() {
            Family::Xilinx7 => "DSP48E1",
            Family::Ecp5 => "MULT18X18D",
            Family::Ice40 => "SB_MAC16",
        }
    }

    /// The Yosys synthesis command for `top` writing the netlist to `json` (None: no netlist).
    pub fn synth_command(self, top: &str, json: Option<&str>) -> String {
        let json = json.map(|j| format!(" -json {j}")).unwrap_or_default();
        match self.family() {
            // Out of context: no I/O or clock buffers, the numbers are the core's own.
            Family::Xilinx7 => format!("synth_xilinx -flatten -noiopad -noclkbuf -top {top}{json}"),
            Family::Ecp5 => format!("synth_ecp5 -top {top}{json}"),
            Family::Ice40 => format!("synth_ice40 -dsp -top {top}{json}"),
        }
    }

    /// nextpnr's device arguments (`--85k --package CABGA381 --speed 6`), for targets placed and routed.
    pub fn nextpnr_device_args(self) -> &'static [&'static str] {
        match self {
            Target::Ecp5_85k => &["--85k", "--package", "CABGA381", "--speed", "6"],
            Target::Ecp5_25k => &["--25k", "--package", "CSFBGA285", "--speed", "8"],
            Target::Ice40Up5k => &["--up5k", "--package", "sg48"],
            Target::Xc7z020 | Target::Xc7a100t => &[],
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Target {
    type Err = FlowError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        ALL_TARGETS.into_iter().find(|t| t.name() == wanted).ok_or_else(|| FlowError::UnknownTarget {
            given: s.to_string(),
            known: ALL_TARGETS.iter().map(|t| t.name()).collect::<Vec<_>>().join(", "),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_known_ones() {
        for t in ALL_TARGETS {
            assert_eq!(t.name().parse::<Target>().ok(), Some(t));
        }
        let err = "xc7k325t".parse::<Target>().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("xc7k325t") && err.contains("ecp5-85k"), "{err}");
    }
}
