//! Exact cycles of the CONV layer unit (`hdl::blocks::conv::ConvUnit`: phases one after another,
//! except that the k-tiles of a pixel block overlap), from the cycle its `start` is high to the
//! cycle its `done` is high,
//! and the cycles in between with `stall` high, for a DRAM without back-pressure
//! (`axi_timing`). Checked against Verilator on every co-simulated layer (`hdl/tests/conv_unit.rs`).
//! `layer_timing` uses it (`TimingSource::Exact`) for every config [`supported`] accepts; the
//! sequencer's own overhead around the unit is added by `seq.rs`.
//!
//! Phases (cycles each; `rd(n)` / `wr(n)` = `axi_timing::read_cycles` / `write_cycles` of an
//! n-beat command):
//! * setup + input load: `max(SETUP + 2 + rd(input), IM2COL_READY)`; all load cycles stall;
//! * per o-tile of `no` channels: `no + 3 + (rd(params) + 1)`;
//! * per pixel block of `np` pixels: `3`, plus its k-tiles ([`block_tiles`]: the recurrence of
//!   the overlapped fetch / shift / issue / stream), plus per written beat
//!   `B + REQUANT_TO_BEAT + (wr(1) + 2)`;
//! * `2` at the end (the DONE edge and the registered `done`).
//!
//! Zero-tile skipping (`ZERO_SKIP`, [`crate::zero_mask`]): each o-tile also reads its mask
//! record after its params (`rd(record) + 1`, stalled); in a block, the kept tiles follow the
//! recurrence of [`block_tiles_skipping`], each skipped tile costing one `KT_NEXT` cycle.
//!
//! Stall cycles: the load, the params' `rd(..) + 1`, every `wr(1) + 2`, and the weight fetch
//! cycles in which no tile is in flight (a block's first tile: all `rd(tile) + 1`).

use crate::axi_timing::{read_cycles, write_cycles, BusWidth, DramTiming, TimingError, Transfer};
use crate::config::ArchConfig;
use crate::descriptor::{LayerDescriptor, PARAM_BYTES_PER_CHANNEL};
use crate::plan::{plan_conv, PlanError};
use crate::zero_mask::ZeroMask;
use thiserror::Error;

/// The unit's fixed `SETUP` phase (dividers, geometry products).
pub const SETUP_CYCLES: u64 = 18;
/// First cycle after `start` in which the im2col reader's layer setup is done.
pub const IM2COL_READY: u64 = 130;
/// From the edge taking a beat's last byte slot to the cycle its beat leaves the packer
/// (psum read, requant lane, packer).
pub const REQUANT_TO_BEAT: u64 = 12;

#[derive(Debug, Error, PartialEq)]
pub enum ConvTimingError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Dma(#[from] TimingError),
    #[error("CONV layer with ZERO_SKIP: {0}")]
    Mask(String),
}

/// Cycles and stall cycles of one CONV layer on the unit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConvCycles {
    pub cycles: u64,
    pub stall_cycles: u64,
}

/// Edges from the reader's issue of a pixel to its row at the array's input.
const READER_LATENCY: u64 = 5;

/// The k-tiles of one pixel block of `np` pixels, `reads[k]` = `rd(tile k)`: cycles from the
/// first `WCMD` cycle to the `WB_BEGIN` cycle, and the stall cycles among them. Per tile k
/// (cycles relative to tile 0's `WCMD`; K = `min(R, 8)` the reader's tile setup):
/// * `W_k` `WCMD` (`W_0 = 0`, `W_k = I_{k-1} + 2` after `ISSUE` and `KT_NEXT`), the tile
///   register buffer full at `S_k = W_k + rd_k + 1`;
/// * shifts from `G_k = max(S_k, T_{k-1})` (the previous tile's first row at the array input
///   commits its weights; the unit sees it in that cycle), R of them, `ISSUE` at `I_k = G_k + R`;
/// * the reader issues the tile's first pixel at `P_k = max(I_k + K, P_{k-1} + np)`, its row
///   reaches the array at `T_k = P_k + 5`, the last pixel's sums are written at
///   `D_k = T_k + np + R + C + 1` (array latency R + C + 1, accumulate register);
/// * `WB_BEGIN` at `D_last + 2` (the in-flight count seen empty, the state edge).
///
/// A fetch cycle stalls when nothing is in flight: tile 0 throughout, tile k from `D_{k-1} + 1`.
pub fn block_tiles(reads: &[u64], np: u64, rows: u64, cols: u64) -> ConvCycles {
    let tiles: Vec<(u64, u64)> = reads.iter().map(|&rd| (rd, 0)).collect();
    block_tiles_skipping(&tiles, 0, np, rows, cols)
}

/// [`block_tiles`] with skipped tiles: `tiles[k] = (rd_k, s_k)` for the kept tiles, `s_k` the
/// skipped tiles just before kept tile k (`s_0 = 0`: the first tile is always kept), `trailing`
/// those after the last kept tile. `KT_NEXT` walks one tile per cycle and fetches only kept
/// ones, so `W_k = I_{k-1} + 2 + s_k`; after the last kept tile it walks the `trailing` ones
/// before `STREAM`, so `WB_BEGIN` is at `max(D_last + 2, I_last + 3 + trailing)`.
pub fn block_tiles_skipping(tiles: &[(u64, u64)], trailing: u64, np: u64, rows: u64, cols: u64) -> ConvCycles {
    let setup = rows.min(8);
    let mut w = 0;
    let mut stall = 0;
    let mut issue = 0;
    // The previous tile's T and P.
    let mut prev: Option<(u64, u64)> = None;
    for &(rd, skips) in tiles {
        if prev.is_some() {
            w += skips;
        }
        let s = w + rd + 1;
        let (g, p_min) = match prev {
            None => {
                stall += rd + 1;
                (s, 0)
            }
            Some((t, p)) => {
                let free = t + np + rows + cols + 2;
                stall += s.saturating_sub(free.max(w));
                (s.max(t), p + np)
            }
        };
        let i = g + rows;
        let p = (i + setup).max(p_min);
        prev = Some((p + READER_LATENCY, p));
        issue = i;
        w = i + 2;
    }
    let end = prev.map_or(0, |(t, _)| (t + np + rows + cols + 3).max(issue + 3 + trailing));
    ConvCycles { cycles: end, stall_cycles: stall }
}

/// Whether `hdl::blocks::conv::ConvUnit::new` builds a unit for `cfg` (its constraints, mirrored
/// here without rust-hdl): 32-bit accumulators, a power-of-two psum depth up to 2^15, a
/// power-of-two activation buffer, and whole beats per weight tile (R x C bytes, or R x C / 2 on
/// a 4-bit engine) and per o-tile's params.
pub fn supported(cfg: &ArchConfig) -> bool {
    let beat = cfg.dma_data_bits / 8;
    beat > 0
        && cfg.acc_bits == 32
        && cfg.psum_depth.is_power_of_two()
        && cfg.psum_depth <= 1 << 15
        && cfg.act_buffer_bytes.is_power_of_two()
        && cfg.weight_tile_bytes().is_multiple_of(beat as u64)
        && (cfg.cols * PARAM_BYTES_PER_CHANNEL as u32).is_multiple_of(beat)
}

/// Exact cycles of CONV layer `d` on engine `cfg` with DRAM `dram` (a layer without
/// `ZERO_SKIP`; one with it needs its mask: [`conv_cycles_masked`]).
pub fn conv_cycles(d: &LayerDescriptor, cfg: &ArchConfig, dram: &DramTiming) -> Result<ConvCycles, ConvTimingError> {
    conv_cycles_masked(d, cfg, dram, None)
}

/// [`conv_cycles`] of a layer with or without `ZERO_SKIP`: `mask` must be given exactly when
/// the descriptor sets `ZERO_SKIP` (its shape that of the plan, its kept count `K_TILES_STORED`).
pub fn conv_cycles_masked(
    d: &LayerDescriptor,
    cfg: &ArchConfig,
    dram: &DramTiming,
    mask: Option<&ZeroMask>,
) -> Result<ConvCycles, ConvTimingError> {
    let geom = d.conv_geometry();
    let plan = plan_conv(&geom, cfg)?;
    let mask = match (d.zero_skip, mask) {
        (false, None) => None,
        (true, Some(m)) => {
            let shape_ok = m.o_tiles.len() == plan.o_tiles.len()
                && m.o_tiles
                    .iter()
                    .zip(&plan.o_tiles)
                    .all(|(z, o)| z.len() == o.k_tiles.len() && z.first() != Some(&true));
            if !shape_ok || m.kept() != d.k_tiles_stored as usize {
                return Err(ConvTimingError::Mask("the mask does not match the plan and K_TILES_STORED".into()));
            }
            Some(m)
        }
        (true, None) => return Err(ConvTimingError::Mask("its zero-tile mask is needed for its timing".into())),
        (false, Some(_)) => return Err(ConvTimingError::Mask("a mask was given but ZERO_SKIP is 0".into())),
    };
    let bus = BusWidth::new(cfg.dma_data_bits)?;
    let beat = bus.beat_bytes();
    let (rows, cols, pb) = (plan.rows as u64, plan.cols as u64, plan.psum_depth as u64);
    let rd = |addr: u64, bytes: u64| -> Result<u64, TimingError> {
        Ok(read_cycles(&Transfer::new(addr, bytes.div_ceil(beat), bus)?, dram))
    };
    let wr1 = write_cycles(&Transfer::new(d.output_addr, 1, bus)?, dram);

    let load = rd(d.input_addr, geom.input_bytes() as u64)?;
    let load_cycles = (SETUP_CYCLES + 2 + load).max(IM2COL_READY) - SETUP_CYCLES;
    let mut cycles = SETUP_CYCLES + load_cycles;
    let mut stall = load_cycles;
    // A 4-bit engine fetches R x C / 2 bytes per tile (two weights per byte, unpacked on the
    // load path): the weight DMA moves half the bytes.
    let tile_bytes = cfg.weight_tile_bytes();
    let mut tile_addr = d.weight_addr;
    let stride = d.out_ch_stride as u64;
    let record = cfg.mask_record_bytes();
    for (o, ot) in plan.o_tiles.iter().enumerate() {
        let (o0, no) = (ot.o0 as u64, ot.no as u64);
        let params = rd(d.param_addr + o0 * PARAM_BYTES_PER_CHANNEL as u64, no * PARAM_BYTES_PER_CHANNEL as u64)? + 1;
        cycles += no + 3 + params;
        stall += params;
        let skipped: Vec<bool> = match mask {
            Some(m) => {
                let masks = rd(d.mask_addr(cfg) + o as u64 * record, record)? + 1;
                cycles += masks;
                stall += masks;
                m.o_tiles[o].clone()
            }
            None => vec![false; ot.k_tiles.len()],
        };
        let first_tile = tile_addr;
        for block in 0..plan.pixel_blocks {
            let np = plan.block_pixels(block) as u64;
            cycles += 3;
            let mut ta = first_tile;
            let mut tiles = Vec::with_capacity(ot.k_tiles.len());
            let mut skips = 0;
            for &zero in &skipped {
                if zero {
                    skips += 1;
                } else {
                    tiles.push((rd(ta, tile_bytes)?, skips));
                    skips = 0;
                    ta += tile_bytes;
                }
            }
            tile_addr = ta;
            let tiles = block_tiles_skipping(&tiles, skips, np, rows, cols);
            cycles += tiles.cycles;
            stall += tiles.stall_cycles;
            // The block's masked contiguous write: lead bytes, (np - 1) strides and `no` bytes.
            let first = d.output_addr + (block as u64) * pb * stride + d.out_ch_offset as u64 + o0;
            let span = (np - 1) * stride + no;
            let beats = (first % beat + span).div_ceil(beat);
            cycles += beats * (beat + REQUANT_TO_BEAT + wr1 + 2);
            stall += beats * (wr1 + 2);
        }
    }
    Ok(ConvCycles { cycles: cycles + 2, stall_cycles: stall })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::ConvGeometry;
    use crate::zero_mask::ZeroMask;
    use crate::{Opcode, RequantMode};

    fn fc_layer(cfg: &ArchConfig, k: usize, o: usize) -> LayerDescriptor {
        let geom = ConvGeometry::fully_connected(1, k, o);
        let mut d = LayerDescriptor {
            opcode: Some(Opcode::Conv),
            requant: RequantMode::Fixed,
            batch: 1,
            in_h: 1,
            in_w: 1,
            in_c: k as u16,
            groups: 1,
            out_h: 1,
            out_w: 1,
            out_c: o as u16,
            kernel_h: 1,
            kernel_w: 1,
            stride_h: 1,
            stride_w: 1,
            dilation_h: 1,
            dilation_w: 1,
            out_ch_stride: o as u16,
            input_addr: 0x1000,
            output_addr: 0x2000,
            weight_addr: 0x3000,
            param_addr: 0x4000,
            ..LayerDescriptor::default()
        };
        d.set_conv_tiles(&plan_conv(&geom, cfg).unwrap());
        d
    }

    #[test]
    fn supported_configs_follow_the_unit_rules() {
        let cfg = ArchConfig::new("t", 16, 16);
        assert!(supported(&cfg));
        assert!(!supported(&ArchConfig { acc_bits: 40, ..cfg.clone() }));
        assert!(!supported(&ArchConfig { psum_depth: 100, ..cfg.clone() }));
        // A 2 x 2 tile is 4 bytes: not a whole 8-byte beat.
        assert!(!supported(&ArchConfig::new("t", 2, 2)));
    }

    /// Hand count of a 1-pixel FC on a 4x4 unit, DRAM latency 1, interval 1 (read = L + 2 + beats - 1
    /// per single burst, write of one beat = L + 2): load max(20 + 3, 130) = 130; o-tile
    /// 4 + 4 + rd(8 beats = 10); one block: 3 + k-tile (rd(2 beats) = 4, + 1, shifts 4, K 4,
    /// reader 5 to the first row, which is the last (np - 1 = 0 more), array 4 + 4 + 1, write 1,
    /// + 2) + one beat (8 + 12 + 3 + 2); + 2.
    #[test]
    fn one_pixel_fc_by_hand() {
        let mut cfg = ArchConfig::new("t", 4, 4);
        cfg.psum_depth = 16;
        let d = fc_layer(&cfg, 4, 4);
        let t = conv_cycles(&d, &cfg, &DramTiming::new(1, 1).unwrap()).unwrap();
        assert_eq!(t.cycles, 130 + (4 + 4 + 10) + 3 + (4 + 1 + 4 + 4 + 5 + 9 + 1 + 2) + (8 + 12 + 3 + 2) + 2);
        assert_eq!(t.stall_cycles, 130 - SETUP_CYCLES + 11 + 5 + 5);
    }

    /// Long tiles stream back to back: each later tile costs exactly its `np` pixels (its fetch
    /// and shift hide behind the previous tile), with no stall; short tiles are paced by the
    /// fetch + shift (`rd + 1 + R + 2` per tile after the first tile's start).
    #[test]
    fn block_tiles_overlap() {
        let (r, c) = (4, 4);
        let one = block_tiles(&[10], 200, r, c);
        let three = block_tiles(&[10, 10, 10], 200, r, c);
        assert_eq!(three.cycles - one.cycles, 2 * 200);
        assert_eq!((one.stall_cycles, three.stall_cycles), (11, 11));
        // 1-pixel tiles: tile k's fetch starts at I_{k-1} + 2 and its shifts need T_{k-1} = I_{k-1} + 9.
        let short = block_tiles(&[30, 30], 1, r, c);
        // The fetch bound, 2 + 30 + 1 cycles after I_{k-1}, is later than the start bound K + 5 = 9.
        let period = 2 + 30 + 1 + r;
        assert_eq!(short.cycles - block_tiles(&[30], 1, r, c).cycles, period);
        // The second fetch ends at I_0 + 33, the first tile's last sum is written at
        // I_0 + 4 + 5 + 1 + 9 = D_0, so from D_0 + 1 = I_0 + 20 the fetch stalls.
        assert_eq!(short.stall_cycles, 31 + (33 - 20));
    }

    /// Zero-tile skipping on streaming-bound tiles (200 pixels each, fetch + shift hidden):
    /// each skipped tile saves exactly its 200 streaming cycles (its `KT_NEXT` cycle hides
    /// behind the previous tile's stream), and each o-tile pays one mask read, `rd(1 beat) + 1`
    /// = L + 2 + 1 = 4 cycles of stall at latency 1.
    #[test]
    fn skipped_tiles_save_their_stream() {
        let mut cfg = ArchConfig::new("t", 4, 4);
        cfg.zero_skip_tiles = 8;
        let dram = DramTiming::new(1, 1).unwrap();
        // 200 pixels x K = 16 on 4 rows: 4 k-tiles per o-tile; 8 channels: 2 o-tiles.
        let geom = ConvGeometry::fully_connected(200, 16, 8);
        let plan = plan_conv(&geom, &cfg).unwrap();
        let mut d = fc_layer(&cfg, 16, 8);
        d.batch = 200;
        d.set_conv_tiles(&plan);
        let dense = conv_cycles(&d, &cfg, &dram).unwrap();
        for (skip, n) in [(vec![(0, 2)], 1), (vec![(0, 3)], 1), (vec![(0, 1), (0, 2), (1, 3)], 3)] {
            let mut mask = ZeroMask::dense(&plan);
            for &(o, t) in &skip {
                mask.o_tiles[o][t] = true;
            }
            let sparse = LayerDescriptor { zero_skip: true, k_tiles_stored: mask.kept() as u32, ..d.clone() };
            let t = conv_cycles_masked(&sparse, &cfg, &dram, Some(&mask)).unwrap();
            let masks = 2 * 4;
            assert_eq!(dense.cycles - t.cycles, n * 200 - masks, "skipping {skip:?}");
            assert_eq!(t.stall_cycles, dense.stall_cycles + masks);
        }
        // The mask must come with ZERO_SKIP and match K_TILES_STORED.
        let sparse = LayerDescriptor { zero_skip: true, k_tiles_stored: 7, ..d.clone() };
        assert!(conv_cycles(&sparse, &cfg, &dram).is_err());
        assert!(conv_cycles_masked(&sparse, &cfg, &dram, Some(&ZeroMask::dense(&plan))).is_err());
        assert!(conv_cycles_masked(&d, &cfg, &dram, Some(&ZeroMask::dense(&plan))).is_err());
    }

    /// On fetch-bound 1-pixel tiles a skipped middle tile saves its fetch + shift + issue
    /// (`rd + 1 + R + 2` after the previous issue) less its one `KT_NEXT` cycle; trailing skipped
    /// tiles cost one cycle each only once they outlast the last tile's drain.
    #[test]
    fn skip_cost_on_short_tiles() {
        let (r, c) = (4, 4);
        let three = block_tiles(&[30, 30, 30], 1, r, c);
        let two = block_tiles_skipping(&[(30, 0), (30, 1)], 0, 1, r, c);
        assert_eq!(three.cycles - two.cycles, (2 + 30 + 1 + r) - 1);
        let one = block_tiles(&[30], 1, r, c);
        // I_0 = 31 + 4 = 35, WB_BEGIN at D_0 + 2 = I_0 + 4 + 5 + 1 + 9 + 2 = I_0 + 21: after
        // I_0 + 3 + 18 trailing tiles it is still the drain's, one more costs a cycle.
        assert_eq!(block_tiles_skipping(&[(30, 0)], 18, 1, r, c), one);
        assert_eq!(block_tiles_skipping(&[(30, 0)], 19, 1, r, c).cycles, one.cycles + 1);
        assert_eq!(block_tiles_skipping(&[(30, 0), (30, 0)], 0, 1, r, c), block_tiles(&[30, 30], 1, r, c));
    }
}
