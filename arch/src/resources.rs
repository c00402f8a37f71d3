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
    /// DSPs the design needs: every PE outside the fabric rows, and the CONV / post-op units'
    /// multipliers (those always map to DSPs).
    pub dsp: u32,
    pub ram_blocks: u32,
    pub lut: u32,
    /// PE multipliers built from LUTs (the `fabric_pe_rows`; counted in `lut`).
    pub fabric_multipliers: u32,
}

impl std::fmt::Display for Resources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} DSP, {} RAM blocks, {} LUT", self.dsp, self.ram_blocks, self.lut)?;
        if self.fabric_multipliers > 0 {
            write!(f, " ({} PE multipliers in LUTs)", self.fabric_multipliers)?;
        }
        Ok(())
    }
}

impl Resources {
    /// True when the estimate fits `part`: every DSP and RAM block may be used, LUTs only up to
    /// [`LUT_CEILING_PERCENT`] (placement and routing need slack, and the LUT estimate undershot
    /// the measured 16 x 16 top by about 20 %, docs/SYNTHESIS.md).
    pub fn fits(&self, part: &Part) -> bool {
        self.dsp <= part.dsp
            && self.ram_blocks <= part.ram_blocks
            && self.lut as u64 * 100 <= part.lut as u64 * LUT_CEILING_PERCENT
    }
}

/// The share of a part's LUTs a sized engine may take (fabric multipliers make LUTs the limit
/// on DSP-poor parts; 80 % is the usual ceiling for timing closure).
pub const LUT_CEILING_PERCENT: u64 = 80;

/// DSPs outside the array: the CONV unit (address arithmetic and the requant lane) and the
/// post-op unit. MEASURED (Yosys `synth_xilinx` of whole tops, docs/SYNTHESIS.md): 12 in the
/// CONV unit with the fixed-point requantiser and 17 in a post-op unit with every operation,
/// the same at 4 x 4 and 16 x 16 (the units are serial over the columns).
pub fn unit_dsps(cfg: &ArchConfig) -> u32 {
    const CONV_UNIT: u32 = 12;
    // HEURISTIC: a float lane beside the fixed one (24 x 24 mantissa multiply).
    const FLOAT_LANE: u32 = 4;
    const POST_UNIT: u32 = 17;
    let p = &cfg.post_ops;
    let any_post = p.add || p.avg_pool || p.max_pool || p.global_avg_pool;
    CONV_UNIT + if cfg.requant.float { FLOAT_LANE } else { 0 } + if any_post { POST_UNIT } else { 0 }
}

/// The fewest fabric PE rows (array rows whose multipliers are built from LUTs) with which
/// `cfg`'s DSPs fit `dsp_available`; `None` when even an all-fabric array does not.
pub fn fabric_rows_needed(cfg: &ArchConfig, dsp_available: u32) -> Option<u32> {
    let units = unit_dsps(cfg);
    let for_pes = dsp_available.checked_sub(units)?;
    let rows_on_dsp = (for_pes / cfg.cols.max(1)).min(cfg.rows);
    Some(cfg.rows - rows_on_dsp)
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

/// HEURISTIC LUT costs, in LUT6 (Xilinx); LUT4 families multiply by [`LUT4_FACTOR`].
mod lut {
    /// Sequencer, register block, AXI4-Lite, address generators, DMA control.
    pub const BASE: u64 = 2500;
    /// DMA data path per bit of width (FIFOs, alignment muxes).
    pub const DMA_PER_BIT: u64 = 3;
    /// A PE on a DSP: weight shadow load and control.
    pub const PE_ON_DSP: u64 = 15;
    /// A fabric PE: 9 x 9 shift-and-add multiplier on carry chains plus the accumulator adder
    /// (synth_xilinx of `Pe::fabric()`: 116 LUT, 32 CARRY4, 69 FF; hdl/tests/resources.rs).
    pub const PE_IN_FABRIC: u64 = 120;
    /// A fabric PE of a 4-bit engine: 9 x 5 (five carry-chain rows; synth_xilinx of
    /// `Pe::narrow()` in fabric: 80 LUT, 20 CARRY4, 61 FF; hdl/tests/resources.rs).
    pub const PE_IN_FABRIC_W4: u64 = 84;
    /// Skew/deskew and zero-point subtraction per array edge row or column.
    pub const EDGE: u64 = 30;
    /// Requant lane logic besides its multiplier (rounding, shift, zero point, clamp).
    pub const LANE: u64 = 250;
    /// Post-op units per lane.
    pub const ADD: u64 = 120;
    pub const AVG_POOL: u64 = 80;
    pub const MAX_POOL: u64 = 30;
    pub const GLOBAL_AVG_POOL: u64 = 80;
}

/// LUT4 parts need roughly this many more LUTs for the same logic.
const LUT4_FACTOR: f64 = 1.4;

/// HEURISTIC resource estimate of `cfg` on a part of `family`: PEs of the last
/// `cfg.fabric_pe_rows` rows are built from LUTs, every other multiplier takes a DSP.
pub fn estimate(cfg: &ArchConfig, family: Family) -> Resources {
    let (r, c) = (cfg.rows as u64, cfg.cols as u64);
    let fabric_pes = cfg.fabric_pe_rows.min(cfg.rows) as u64 * c;
    let mut luts = lut::BASE + lut::DMA_PER_BIT * cfg.dma_data_bits as u64 + lut::EDGE * (r + c);
    // The R-byte rotator in front of the array: log2(R) levels of 2:1 byte muxes.
    luts += r * 8 * (64 - (r.max(1) - 1).leading_zeros() as u64) / 2;
    // PEs. ECP5's multiplier has no accumulator: add the adder per DSP PE.
    let pe_extra = if family == Family::Ecp5 { cfg.acc_bits as u64 } else { 0 };
    let fabric_pe = if cfg.int4_weights() { lut::PE_IN_FABRIC_W4 } else { lut::PE_IN_FABRIC };
    luts += (r * c - fabric_pes) * (lut::PE_ON_DSP + pe_extra) + fabric_pes * fabric_pe;
    // The requant lane(s).
    luts += lut::LANE * (cfg.requant.fixed as u64 + cfg.requant.float as u64);
    let p = &cfg.post_ops;
    luts += c
        * (p.add as u64 * lut::ADD
            + p.avg_pool as u64 * lut::AVG_POOL
            + p.max_pool as u64 * lut::MAX_POOL
            + p.global_avg_pool as u64 * lut::GLOBAL_AVG_POOL);

    // Buffers: R activation byte banks; weight tiles read one row of C weights (8 or 4 bits) per
    // cycle; psums C x acc_bits wide; parameters 128 bits per channel.
    let memories = [
        (8 * r, cfg.act_bank_bytes() as u64, r),
        (cfg.weight_bits as u64 * c, r * cfg.weight_buffer_tiles as u64, 1),
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
        dsp: sat(r * c - fabric_pes + unit_dsps(cfg) as u64),
        ram_blocks: sat(blocks),
        lut: sat(luts),
        fabric_multipliers: sat(fabric_pes),
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
    fn fabric_rows_trade_dsps_for_luts() {
        let all_post = crate::PostOps { add: true, avg_pool: true, max_pool: true, global_avg_pool: true };
        let cfg = ArchConfig { post_ops: all_post, ..ArchConfig::new("t", 16, 16) };
        let r = estimate(&cfg, Family::Xilinx7);
        // The measured whole top: 256 PEs + 12 CONV unit + 17 post-op unit.
        assert_eq!((r.dsp, r.fabric_multipliers), (285, 0));
        let rows = fabric_rows_needed(&cfg, 220).unwrap();
        assert_eq!(rows, 5, "(285 - 220) / 16 rounded up");
        let tight = estimate(&ArchConfig { fabric_pe_rows: rows, ..cfg.clone() }, Family::Xilinx7);
        assert_eq!((tight.dsp, tight.fabric_multipliers), (285 - 80, 80));
        assert!(tight.fits(part("xc7z020").unwrap()) && !r.fits(part("xc7z020").unwrap()));
        assert!(tight.lut > r.lut + 80 * (lut::PE_IN_FABRIC - lut::PE_ON_DSP) as u32 - 1);
        // An ECP5-85F (156 multipliers) keeps 7 rows on DSPs; a part without room for the
        // units' own multipliers takes nothing.
        assert_eq!(fabric_rows_needed(&cfg, 156), Some(9));
        assert_eq!(fabric_rows_needed(&cfg, 20), None);
        // A 4-bit engine's fabric PEs are 9 x 5 (five carry-chain rows): fewer LUTs, same DSPs.
        let w4 = estimate(
            &ArchConfig { weight_bits: 4, ..ArchConfig { fabric_pe_rows: rows, ..cfg.clone() } },
            Family::Xilinx7,
        );
        assert_eq!(w4.dsp, tight.dsp);
        assert_eq!(tight.lut - w4.lut, 80 * (lut::PE_IN_FABRIC - lut::PE_IN_FABRIC_W4) as u32);
    }

    #[test]
    fn buffers_cost_blocks_per_bank() {
        // 16 banks of 2 KiB: one BRAM18 each = 8 BRAM36; psum 512 bits x 256 = 15 BRAM18.
        let cfg = ArchConfig { act_buffer_bytes: 16 * 2048, ..ArchConfig::new("t", 16, 16) };
        let r = estimate(&cfg, Family::Xilinx7);
        let bigger = estimate(&ArchConfig { act_buffer_bytes: 16 * 8192, ..cfg.clone() }, Family::Xilinx7);
        assert!(bigger.ram_blocks > r.ram_blocks);
        assert!(r.ram_blocks >= 8 + 7);
        let ice = estimate(&ArchConfig::new("t", 2, 2), Family::Ice40);
        assert!(ice.lut > estimate(&ArchConfig::new("t", 2, 2), Family::Xilinx7).lut);
    }
}
