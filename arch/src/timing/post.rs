//! Exact cycles of the post-op unit (`hdl/src/blocks/post`), from its `start` to its `done`,
//! against the fixed-latency DRAM of `axi_timing` (checked on every co-simulated layer by
//! hdl/tests/post_unit.rs, zero tolerance).
//!
//! The unit's phases run one after the other (hdl/src/blocks/post/rtl.rs):
//!
//! ```text
//! cycles = [FIXED: 1 + read(record)]              PARAM: 32-byte record at PARAM_ADDR
//!        + 36                                     SETUP: products and shift-add steps
//!        + [MEAN rescale: 65]                     1 / count folded into the multiplier
//!        + 1 + read(input) [ADD: + 1 + read(input2)]
//!        + compute + tail + 1                     COMPUTE, holes to the end of the last beat
//!        + drain + 1                              ADD: 2 * requant latency + 2; pools: 1
//!        + 1 + write(output) + 2                  one write command, `done` after the last B
//! compute = ADD: P * S
//!           pools: P_out * ((S - C) + C * (window + finish))
//! ```
//!
//! with `P` = N * H * W input pixels, `P_out` = N * OUT_H * OUT_W, `S` = OUT_CH_STRIDE, `C` the
//! channels, `window` = KERNEL_H * KERNEL_W (IN_H * IN_W for GLOBAL_AVG_POOL: every position
//! costs a cycle, inside the input or not), `finish` = 3 (MAX), 3 + 1 + DIV_STEPS (average /
//! truncating mean: a restoring division), 3 + requant latency (MEAN with a rescale), `tail` =
//! the holes padding `P_out * S` to whole beats, and read / write = `axi_timing::read_cycles` /
//! `write_cycles` of one command each. `stall` (DMA phases) is high for
//! `[FIXED: 1 + read(record)] + 1 + read(input) [+ 1 + read(input2)] + write(output) + 2` of them.

use crate::axi_timing::{read_cycles, write_cycles, BusWidth, DramTiming, TimingError, Transfer};
use crate::config::ArchConfig;
use crate::descriptor::{LayerDescriptor, POST_PARAM_BYTES};
use crate::{Opcode, RequantMode};
use thiserror::Error;

/// Restoring-division steps per averaged byte (the RTL's `DIV_STEPS`).
pub const DIV_STEPS: u64 = 32;
/// The requantiser's latency (hdl `blocks::requant::LATENCY`).
pub const REQUANT_LATENCY: u64 = 10;
/// SETUP's cycles.
pub const SETUP_CYCLES: u64 = 36;
/// The MEAN multiplier fold: 64 division steps and the result.
pub const FOLD_CYCLES: u64 = 65;

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum PostTimingError {
    #[error("{opcode} with requant {requant:?} is not a mode of the post-op unit's RTL")]
    Mode { opcode: &'static str, requant: RequantMode },
    #[error(transparent)]
    Bus(#[from] TimingError),
}

/// One post-op layer on the unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PostTiming {
    /// `start` to `done`.
    pub cycles: u64,
    /// Of those, cycles in DMA phases (`stall` high).
    pub dma_stall_cycles: u64,
}

/// The (opcode, requant) pairs the RTL implements (the onnxruntime float modes are not yet).
pub fn implemented(opcode: Opcode, requant: RequantMode) -> bool {
    matches!(
        (opcode, requant),
        (Opcode::Add, RequantMode::Fixed)
            | (Opcode::MaxPool | Opcode::AvgPool, RequantMode::None)
            | (Opcode::GlobalAvgPool, RequantMode::None | RequantMode::Fixed)
    )
}

/// Exact cycles of layer `d` (a valid post-op descriptor) on the engine `cfg` with DRAM `dram`.
pub fn post_cycles(d: &LayerDescriptor, cfg: &ArchConfig, dram: &DramTiming) -> Result<PostTiming, PostTimingError> {
    let opcode = d.opcode.unwrap_or(Opcode::End);
    if !implemented(opcode, d.requant) {
        return Err(PostTimingError::Mode { opcode: opcode.name(), requant: d.requant });
    }
    let bus = BusWidth::new(cfg.dma_data_bits)?;
    let bb = bus.beat_bytes();
    let beats = |bytes: u64| bytes.div_ceil(bb);
    let (n, c) = (d.batch as u64, d.in_c as u64);
    let in_len = n * d.in_h as u64 * d.in_w as u64 * c;
    let read = |addr: u64, bytes: u64| -> Result<u64, TimingError> {
        Ok(read_cycles(&Transfer::new(addr & 0xffff_ffff, beats(bytes), bus)?, dram))
    };
    let fixed = d.requant == RequantMode::Fixed;
    let mut dma = 0;
    if fixed {
        dma += 1 + read(d.param_addr, POST_PARAM_BYTES as u64)?;
    }
    dma += 1 + read(d.input_addr, in_len)?;
    if opcode == Opcode::Add {
        dma += 1 + read(d.input2_addr, in_len)?;
    }
    let stride = d.out_ch_stride as u64;
    let (out_pixels, compute, drain) = match opcode {
        Opcode::Add => {
            let p = n * d.in_h as u64 * d.in_w as u64;
            (p, p * stride, 2 * REQUANT_LATENCY + 2)
        }
        _ => {
            let (window, out_px) = if opcode == Opcode::GlobalAvgPool {
                (d.in_h as u64 * d.in_w as u64, n)
            } else {
                (d.kernel_h as u64 * d.kernel_w as u64, n * d.out_h as u64 * d.out_w as u64)
            };
            let finish = match (opcode, fixed) {
                (Opcode::MaxPool, _) => 3,
                (Opcode::GlobalAvgPool, true) => 3 + REQUANT_LATENCY,
                _ => 4 + DIV_STEPS,
            };
            (out_px, out_px * ((stride - c) + c * (window + finish)), 1)
        }
    };
    let span = out_pixels * stride;
    let tail = (bb - span % bb) % bb;
    let write = write_cycles(&Transfer::new(d.output_addr & 0xffff_ffff, beats(span), bus)?, dram);
    dma += write + 2;
    let fold = if opcode == Opcode::GlobalAvgPool && fixed { FOLD_CYCLES } else { 0 };
    let cycles = dma + SETUP_CYCLES + fold + compute + tail + 1 + drain + 1 + 1;
    Ok(PostTiming { cycles, dma_stall_cycles: dma })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn max_pool(stride: u16) -> LayerDescriptor {
        LayerDescriptor {
            opcode: Some(Opcode::MaxPool),
            batch: 1,
            in_h: 4,
            in_w: 4,
            in_c: 3,
            out_h: 2,
            out_w: 2,
            out_c: 3,
            kernel_h: 2,
            kernel_w: 2,
            stride_h: 2,
            stride_w: 2,
            act_min: -128,
            act_max: 127,
            in_signed: true,
            out_signed: true,
            out_ch_stride: stride,
            input_addr: 0x1000,
            output_addr: 0x2000,
            ..LayerDescriptor::default()
        }
    }

    #[test]
    fn modes_of_the_rtl() {
        assert!(implemented(Opcode::Add, RequantMode::Fixed));
        assert!(implemented(Opcode::GlobalAvgPool, RequantMode::Fixed));
        assert!(!implemented(Opcode::Add, RequantMode::Float));
        assert!(!implemented(Opcode::AvgPool, RequantMode::Float));
        let cfg = ArchConfig { dma_data_bits: 64, ..ArchConfig::new("t", 4, 4) };
        let dram = DramTiming::new(4, 1).unwrap();
        let d = LayerDescriptor { requant: RequantMode::Float, opcode: Some(Opcode::AvgPool), ..max_pool(3) };
        assert!(matches!(post_cycles(&d, &cfg, &dram), Err(PostTimingError::Mode { .. })));
    }

    /// Each extra byte slot of a channel slice costs one compute cycle plus the write of the
    /// wider span (holes to the end of the beat included).
    #[test]
    fn holes_cost_a_cycle_each() {
        let cfg = ArchConfig { dma_data_bits: 64, ..ArchConfig::new("t", 4, 4) };
        let dram = DramTiming::new(4, 1).unwrap();
        let t = |stride: u16| post_cycles(&max_pool(stride), &cfg, &dram).unwrap();
        let write = |bytes: u64| {
            write_cycles(&Transfer::new(0x2000, bytes.div_ceil(8), BusWidth::new(64).unwrap()).unwrap(), &dram)
        };
        for stride in 3..12u16 {
            let (a, b) = (t(stride), t(stride + 1));
            let span = |s: u64| 4 * s;
            let pad = |s: u64| (8 - span(s) % 8) % 8;
            let extra = 4 + pad(stride as u64 + 1) - pad(stride as u64) + write(span(stride as u64 + 1))
                - write(span(stride as u64));
            assert_eq!(b.cycles - a.cycles, extra, "stride {stride}");
            assert_eq!(
                b.dma_stall_cycles - a.dma_stall_cycles,
                write(span(stride as u64 + 1)) - write(span(stride as u64))
            );
        }
    }
}
