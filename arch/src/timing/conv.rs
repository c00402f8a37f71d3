//! Exact cycles of the CONV layer unit (`hdl::blocks::conv::ConvUnit`, v1 sequencing: one
//! phase after another), from the cycle its `start` is high to the cycle its `done` is high,
//! and the cycles in between with `stall` high, for a DRAM without back-pressure
//! (`axi_timing`). Checked against Verilator on every co-simulated layer (`hdl/tests/conv_unit.rs`).
//! `layer_timing` uses it (`TimingSource::Exact`) for every config [`supported`] accepts; the
//! sequencer's own overhead around the unit is added by `seq.rs`.
//!
//! Phases (cycles each; `rd(n)` / `wr(n)` = `axi_timing::read_cycles` / `write_cycles` of an
//! n-beat command):
//! * setup + input load: `max(SETUP + 2 + rd(input), IM2COL_READY)`; all load cycles stall;
//! * per o-tile of `no` channels: `no + 3 + (rd(params) + 1)`;
//! * per pixel block of `np` pixels: `3`, plus per k-tile `(rd(tile) + 1) + R + 2 + stream(np)`,
//!   plus per written beat `B + REQUANT_TO_BEAT + (wr(1) + 2)`;
//! * `2` at the end (the DONE edge and the registered `done`).
//!
//! DMA phases (`rd(..) + 1`, `wr(1) + 2` and the load) are the stall cycles.

use crate::axi_timing::{read_cycles, write_cycles, BusWidth, DramTiming, TimingError, Transfer};
use crate::config::ArchConfig;
use crate::descriptor::{LayerDescriptor, PARAM_BYTES_PER_CHANNEL};
use crate::plan::{plan_conv, PlanError};
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
}

/// Cycles and stall cycles of one CONV layer on the unit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConvCycles {
    pub cycles: u64,
    pub stall_cycles: u64,
}

/// `ISSUE` edge to the edge leaving `STREAM`: the reader's tile products, 5 stages to the rows,
/// the array, the accumulate write, the counter check.
fn stream_cycles(np: u64, rows: u64, cols: u64) -> u64 {
    np + rows.min(8) + rows + cols + 7
}

/// Whether `hdl::blocks::conv::ConvUnit::new` builds a unit for `cfg` (its constraints, mirrored
/// here without rust-hdl): 32-bit accumulators, a power-of-two psum depth up to 2^15, a
/// power-of-two activation buffer, and whole beats per weight tile and per o-tile's params.
pub fn supported(cfg: &ArchConfig) -> bool {
    let beat = cfg.dma_data_bits / 8;
    beat > 0
        && cfg.acc_bits == 32
        && cfg.psum_depth.is_power_of_two()
        && cfg.psum_depth <= 1 << 15
        && cfg.act_buffer_bytes.is_power_of_two()
        && (cfg.rows * cfg.cols).is_multiple_of(beat)
        && (cfg.cols * PARAM_BYTES_PER_CHANNEL as u32).is_multiple_of(beat)
}

/// Exact cycles of CONV layer `d` on engine `cfg` with DRAM `dram`.
pub fn conv_cycles(d: &LayerDescriptor, cfg: &ArchConfig, dram: &DramTiming) -> Result<ConvCycles, ConvTimingError> {
    let geom = d.conv_geometry();
    let plan = plan_conv(&geom, cfg)?;
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
    let tile_bytes = rows * cols;
    let mut tile_addr = d.weight_addr;
    let stride = d.out_ch_stride as u64;
    for ot in &plan.o_tiles {
        let (o0, no) = (ot.o0 as u64, ot.no as u64);
        let params = rd(d.param_addr + o0 * PARAM_BYTES_PER_CHANNEL as u64, no * PARAM_BYTES_PER_CHANNEL as u64)? + 1;
        cycles += no + 3 + params;
        stall += params;
        let first_tile = tile_addr;
        for block in 0..plan.pixel_blocks {
            let np = plan.block_pixels(block) as u64;
            cycles += 3;
            let mut ta = first_tile;
            for _ in &ot.k_tiles {
                let weights = rd(ta, tile_bytes)? + 1;
                ta += tile_bytes;
                cycles += weights + rows + 2 + stream_cycles(np, rows, cols);
                stall += weights;
            }
            tile_addr = ta;
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
    /// 4 + 4 + rd(8 beats = 10); one block: 3 + k-tile (rd(2 beats) = 4, + 1 + 4 + 2 + 1 + 4 + 4 + 4 + 7)
    /// + one beat (8 + 12 + 3 + 2); + 2.
    #[test]
    fn one_pixel_fc_by_hand() {
        let mut cfg = ArchConfig::new("t", 4, 4);
        cfg.psum_depth = 16;
        let d = fc_layer(&cfg, 4, 4);
        let t = conv_cycles(&d, &cfg, &DramTiming::new(1, 1).unwrap()).unwrap();
        assert_eq!(t.cycles, 130 + (4 + 4 + 10) + 3 + (4 + 1 + 4 + 2 + (1 + 4 + 4 + 4 + 7)) + (8 + 12 + 3 + 2) + 2);
        assert_eq!(t.stall_cycles, 130 - SETUP_CYCLES + 11 + 5 + 5);
    }
}
