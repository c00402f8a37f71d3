//! FPGA parts and a HEURISTIC resource estimate of an `ArchConfig`.
//!
//! Every per-PE, per-lane and per-buffer number below is an engineering guess made before
//! synthesis, good enough to rank configurations and reject the clearly impossible. The real
//! numbers come from Yosys (`synth_xilinx`, `synth_ecp5`, `synth_ice40`) on the generated RTL;
//! when they exist, these constants should be refitted to them.

use crate::config::ArchConfig;
use crate::cycles::DramModel;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Family {
    /// 7-series: LUT6, DSP48E1 (25x18 multiply + 48-bit accumulate), BRAM36 (2 x BRAM18).
    Xilinx7,
    /// ECP5: LUT4, MULT18X18D (no accumulator in the multiplier), EBR 18 Kb.
    Ecp5,
    /// iCE40 UltraPlus: LUT4, SB_MAC16 (16x16 multiply-accumulate), EBR 4 Kb.
    Ice40,
}

/// An FPGA part: its resources and the memory system boards with it usually have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Part {
    pub name: &'static str,
    pub family: Family,
    pub dsp: u32,
    /// Block RAMs in the family's unit (BRAM36, EBR 18 Kb, EBR 4 Kb).
    pub ram_blocks: u32,
    pub lut: u32,
    /// Default DRAM model at the accelerator clock (assumed boards in the comments).
    pub dram: DramModel,
}

/// The parts the sizing knows.
pub static PARTS: [Part; 5] = [
    // Zynq-7020 (PYNQ-Z2): one 64-bit HP port at the fabric clock, ~40 cycles read latency.
    Part {
        name: "xc7z020",
        family: Family::Xilinx7,
        dsp: 220,
        ram_blocks: 140,
        lut: 53200,
        dram: DramModel { bytes_per_cycle: 8, latency_cycles: 40 },
    },
    // Artix-7 100T (Arty A7): MIG DDR3, 128-bit user interface, ~30 cycles.
    Part {
        name: "xc7a100t",
        family: Family::Xilinx7,
        dsp: 240,
        ram_blocks: 135,
        lut: 63400,
        dram: DramModel { bytes_per_cycle: 16, latency_cycles: 30 },
    },
    // ECP5-85 (ECP5 Versa / OrangeCrab class): 16-bit DDR3 through LiteDRAM, ~20 cycles.
    Part {
        name: "ecp5-85k",
        family: Family::Ecp5,
        dsp: 156,
        ram_blocks: 208,
        lut: 84000,
        dram: DramModel { bytes_per_cycle: 4, latency_cycles: 20 },
    },
    // ECP5-25 (ULX3S class): 16-bit SDRAM, ~12 cycles.
    Part {
        name: "ecp5-25k",
        family: Family::Ecp5,
        dsp: 28,
        ram_blocks: 56,
        lut: 24000,
        dram: DramModel { bytes_per_cycle: 2, latency_cycles: 12 },
    },
    // iCE40 UP5K: no DRAM; tensors in the 128 KiB SPRAM (16-bit ports), a few cycles away.
    Part {
        name: "ice40up5k",
        family: Family::Ice40,
        dsp: 8,
        ram_blocks: 30,
        lut: 5280,
        dram: DramModel { bytes_per_cycle: 2, latency_cycles: 4 },
    },
];

/// The part called `name` (case-insensitive).
pub fn part(name: &str) -> Option<&'static Part> {
    PARTS.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

/// Estimated use of a part's resources.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Resources {
    pub dsp: u32,
    pub ram_blocks: u32,
    pub lut: u32,
    /// Multipliers that did not get a DSP and were built from LUTs (counted in `lut`).
    pub fabric_multipliers: u32,
}

impl Resources {
    /// True when the estimate fits `part` with every multiplier on a DSP: the generated RTL
    /// has no fabric-multiplier PEs or lanes yet, and Yosys maps every multiplier it emits to
    /// a DSP (a 16 x 16 top takes 285 DSP48E1, more than an xc7z020's 220), so an estimate
    /// that needs multipliers in LUTs would be a design that does not fit.
    pub fn fits(&self, part: &Part) -> bool {
        self.fabric_multipliers == 0
            && self.dsp <= part.dsp
            && self.ram_blocks <= part.ram_blocks
            && self.lut <= part.lut
    }
}

/// Block shapes (width, depth) of one RAM unit of the family. Xilinx is counted in BRAM18
/// halves and rounded up to BRAM36 at the end.
fn ram_shapes(family: Family) -> &'static [(u64, u64)] {
    match family {
        Family::Xilinx7 | Family::Ecp5 => &[(36, 512), (18, 1024), (9, 2048), (4, 4096), (2, 8192), (1, 16384)],
        Family::Ice40 => &[(16, 256), (8, 512), (4, 1024), (2, 2048)],
    }
}

/// HEURISTIC: memories up to this many bits go to LUT RAM / registers instead of block RAM.
const SMALL_MEMORY_BITS: u64 = 1024;

/// Block RAM units (and LUTs for small memories) of a `width` x `depth` memory.
fn memory(family: Family, width: u64, depth: u64) -> (u64, u64) {
    if width * depth <= SMALL_MEMORY_BITS {
        // HEURISTIC: ~16 bits of distributed RAM per LUT, plus addressing.
        return (0, (width * depth).div_ceil(16) + 4);
    }
    let blocks = ram_shapes(family).iter().map(|&(w, d)| width.div_ceil(w) * depth.div_ceil(d)).min().unwrap_or(0);
    (blocks, 0)
}

/// DSPs of one requant lane per mode, by family: a 32 x 32 multiply (fixed point) or a
/// 24 x 24 mantissa multiply (float) tiled on the family's multipliers.
fn lane_dsps(family: Family, float: bool) -> u32 {
    match (family, float) {
        (Family::Xilinx7, false) => 4,
        (Family::Xilinx7, true) => 2,
        (_, _) => 4,
    }
}

/// HEURISTIC LUT costs, in LUT6 (Xilinx); LUT4 families multiply by [`LUT4_FACTOR`].
mod lut {
    /// Sequencer, register block, AXI4-Lite, address generators, DMA control.
    pub const BASE: u64 = 2500;
    /// DMA data path per bit of width (FIFOs, alignment muxes).
    pub const DMA_PER_BIT: u64 = 3;
    /// A PE on a DSP: weight shadow load and control.
    pub const PE_ON_DSP: u64 = 15;
    /// A PE without a DSP: 9 x 9 multiplier and accumulator adder in fabric.
    pub const PE_IN_FABRIC: u64 = 100;
    /// Skew/deskew and zero-point subtraction per array edge row or column.
    pub const EDGE: u64 = 30;
    /// Requant lane logic besides its multiplier (rounding, shift, zero point, clamp).
    pub const LANE: u64 = 250;
    /// A requant multiplier in fabric: 32 x 32 (fixed) / 24 x 24 (float).
    pub const LANE_MUL_FIXED: u64 = 1100;
    pub const LANE_MUL_FLOAT: u64 = 650;
    /// Post-op units per lane.
    pub const ADD: u64 = 120;
    pub const AVG_POOL: u64 = 80;
    pub const MAX_POOL: u64 = 30;
    pub const GLOBAL_AVG_POOL: u64 = 80;
    /// Divide-by-count multiplier of the averaging units, when it has no DSP.
    pub const AVG_MUL: u64 = 300;
}

/// LUT4 parts need roughly this many more LUTs for the same logic.
const LUT4_FACTOR: f64 = 1.4;

/// HEURISTIC resource estimate of `cfg` on a part of `family` with `dsp_available` DSPs.
/// DSPs go to the PEs first, then the requant lanes, then the averaging units; what does not
/// get one is built from LUTs.
pub fn estimate(cfg: &ArchConfig, family: Family, dsp_available: u32) -> Resources {
    let (r, c) = (cfg.rows as u64, cfg.cols as u64);
    let mut dsp_left = dsp_available as u64;
    let mut fabric_multipliers = 0u64;
    let mut luts = lut::BASE + lut::DMA_PER_BIT * cfg.dma_data_bits as u64 + lut::EDGE * (r + c);
    // The R-byte rotator in front of the array: log2(R) levels of 2:1 byte muxes.
    luts += r * 8 * (64 - (r.max(1) - 1).leading_zeros() as u64) / 2;
    let mut take = |count: u64, dsps_each: u64, fabric_luts_each: u64, luts: &mut u64| {
        let on_dsp = dsp_left.checked_div(dsps_each).map_or(count, |n| count.min(n));
        dsp_left -= on_dsp * dsps_each;
        fabric_multipliers += count - on_dsp;
        *luts += (count - on_dsp) * fabric_luts_each;
    };
    // PEs. ECP5's multiplier has no accumulator: add the adder per PE.
    let pe_extra = if family == Family::Ecp5 { cfg.acc_bits as u64 } else { 0 };
    luts += r * c * (lut::PE_ON_DSP + pe_extra);
    take(r * c, 1, lut::PE_IN_FABRIC, &mut luts);
    // Requant lanes.
    if cfg.requant.fixed {
        luts += c * lut::LANE;
        take(c, lane_dsps(family, false) as u64, lut::LANE_MUL_FIXED, &mut luts);
    }
    if cfg.requant.float {
        luts += c * lut::LANE;
        take(c, lane_dsps(family, true) as u64, lut::LANE_MUL_FLOAT, &mut luts);
    }
    let p = &cfg.post_ops;
    luts += c
        * (p.add as u64 * lut::ADD
            + p.avg_pool as u64 * lut::AVG_POOL
            + p.max_pool as u64 * lut::MAX_POOL
            + p.global_avg_pool as u64 * lut::GLOBAL_AVG_POOL);
    if p.avg_pool || p.global_avg_pool {
        take(c, 1, lut::AVG_MUL, &mut luts);
    }

    // Buffers: R activation byte banks; weight tiles read one row of C bytes per cycle; psums
    // C x acc_bits wide; parameters 128 bits per channel.
    let memories = [
        (8 * r, cfg.act_bank_bytes() as u64, r),
        (8 * c, r * cfg.weight_buffer_tiles as u64, 1),
        (c * cfg.acc_bits as u64, cfg.psum_depth as u64, 1),
        (128, cfg.param_buffer_channels as u64, 1),
    ];
    let mut blocks = 0;
    for (width, depth, copies) in memories {
        // Banks are separate memories (one byte each).
        let (b, l) = memory(family, width / copies, depth);
        blocks += b * copies;
        luts += l * copies;
    }
    if family == Family::Xilinx7 {
        blocks = blocks.div_ceil(2); // BRAM18 halves -> BRAM36
    }
    let luts = match family {
        Family::Xilinx7 => luts,
        Family::Ecp5 | Family::Ice40 => (luts as f64 * LUT4_FACTOR).ceil() as u64,
    };
    let sat = |v: u64| v.min(u32::MAX as u64) as u32;
    Resources {
        dsp: sat(dsp_available as u64 - dsp_left),
        ram_blocks: sat(blocks),
        lut: sat(luts),
        fabric_multipliers: sat(fabric_multipliers),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_known_by_name() {
        assert_eq!(part("XC7Z020").map(|p| p.dsp), Some(220));
        assert_eq!(part("ice40up5k").map(|p| p.ram_blocks), Some(30));
        assert!(part("xc9").is_none());
    }

    #[test]
    fn dsps_go_to_pes_first_then_lanes_then_fabric() {
        let cfg = ArchConfig::new("t", 16, 16);
        let r = estimate(&cfg, Family::Xilinx7, 1000);
        assert_eq!((r.dsp, r.fabric_multipliers), (256 + 16 * 4, 0));
        let tight = estimate(&cfg, Family::Xilinx7, 220);
        assert_eq!(tight.dsp, 220);
        assert_eq!(tight.fabric_multipliers, (256 - 220) + 16);
        assert!(tight.lut > r.lut + 16 * lut::LANE_MUL_FIXED as u32);
    }

    #[test]
    fn buffers_cost_blocks_per_bank() {
        // 16 banks of 2 KiB: one BRAM18 each = 8 BRAM36; psum 512 bits x 256 = 15 BRAM18.
        let cfg = ArchConfig { act_buffer_bytes: 16 * 2048, ..ArchConfig::new("t", 16, 16) };
        let r = estimate(&cfg, Family::Xilinx7, 1000);
        let bigger = estimate(&ArchConfig { act_buffer_bytes: 16 * 8192, ..cfg.clone() }, Family::Xilinx7, 1000);
        assert!(bigger.ram_blocks > r.ram_blocks);
        assert!(r.ram_blocks >= 8 + 7);
        let ice = estimate(&ArchConfig::new("t", 2, 2), Family::Ice40, 8);
        assert!(ice.lut > estimate(&ArchConfig::new("t", 2, 2), Family::Xilinx7, 8).lut);
    }
}
