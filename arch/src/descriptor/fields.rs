//! The descriptor's bit fields: one table drives encode, decode, the C header and the docs.

use super::{CHECKSUM_WORD, PERF_WORD};
use serde::Serialize;

/// A bit field of the descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DescField {
    pub name: &'static str,
    pub word: usize,
    pub lsb: u32,
    pub width: u32,
    /// Two's complement (sign-extended on decode).
    pub signed: bool,
    pub description: &'static str,
}

impl DescField {
    const fn u(name: &'static str, word: usize, lsb: u32, width: u32, description: &'static str) -> DescField {
        DescField { name, word, lsb, width, signed: false, description }
    }
    const fn s(name: &'static str, word: usize, lsb: u32, width: u32, description: &'static str) -> DescField {
        DescField { name, word, lsb, width, signed: true, description }
    }

    /// Mask of the field in its word (shifted into place).
    pub const fn mask(&self) -> u32 {
        if self.width >= 32 {
            u32::MAX
        } else {
            ((1u32 << self.width) - 1) << self.lsb
        }
    }

    pub(super) fn put(&self, words: &mut [u32], value: u32) {
        words[self.word] = (words[self.word] & !self.mask()) | ((value << self.lsb) & self.mask());
    }

    pub(super) fn put_signed(&self, words: &mut [u32], value: i32) {
        self.put(words, value as u32);
    }

    /// The field's raw value in `words`.
    pub fn get(&self, words: &[u32]) -> u32 {
        (words[self.word] & self.mask()) >> self.lsb
    }

    /// The field's value sign-extended from its width.
    pub fn get_signed(&self, words: &[u32]) -> i32 {
        let raw = self.get(words);
        let unused = 32 - self.width;
        ((raw << unused) as i32) >> unused
    }
}

pub mod field {
    use super::DescField;
    pub const MAGIC: DescField = DescField::u("MAGIC", 0, 0, 32, "DESCRIPTOR_MAGIC");
    pub const VERSION: DescField = DescField::u("VERSION", 1, 0, 8, "DESCRIPTOR_VERSION");
    pub const OPCODE: DescField = DescField::u("OPCODE", 1, 8, 8, "Opcode");
    pub const REQUANT: DescField = DescField::u("REQUANT", 1, 16, 2, "RequantMode: 0 none, 1 fixed, 2 float");
    pub const IN_SIGNED: DescField = DescField::u("IN_SIGNED", 1, 24, 1, "input is int8 (0: uint8)");
    pub const IN2_SIGNED: DescField = DescField::u("IN2_SIGNED", 1, 25, 1, "second input (ADD) is int8");
    pub const OUT_SIGNED: DescField = DescField::u("OUT_SIGNED", 1, 26, 1, "output is int8");
    pub const WEIGHT_SIGNED: DescField = DescField::u("WEIGHT_SIGNED", 1, 27, 1, "weights are int8 (CONV)");
    pub const WEIGHT_ZP_PER_CHANNEL: DescField = DescField::u(
        "WEIGHT_ZP_PER_CHANNEL",
        1,
        28,
        1,
        "weight zero points come from the params (CONV); WEIGHT_ZP is then 0",
    );
    pub const COUNT_INCLUDE_PAD: DescField =
        DescField::u("COUNT_INCLUDE_PAD", 1, 29, 1, "AVG_POOL divides by the full window (ONNX count_include_pad)");
    pub const ZERO_SKIP: DescField = DescField::u(
        "ZERO_SKIP",
        1,
        30,
        1,
        "CONV: zero weight tiles are not stored; the mask after the stored tiles says which (FEATURES.ZERO_SKIP)",
    );
    pub const LAYER_INDEX: DescField = DescField::u("LAYER_INDEX", 2, 0, 16, "position in the whole program (the image's PROGRAM section); STATUS.LAYER counts from the run's PROGRAM_BASE instead");
    pub const BATCH: DescField = DescField::u("BATCH", 2, 16, 16, "N");
    pub const IN_H: DescField = DescField::u("IN_H", 3, 0, 16, "input height");
    pub const IN_W: DescField = DescField::u("IN_W", 3, 16, 16, "input width");
    pub const IN_C: DescField = DescField::u("IN_C", 4, 0, 16, "input channels (= channels per input pixel in DRAM)");
    pub const GROUPS: DescField = DescField::u("GROUPS", 4, 16, 16, "CONV groups (IN_C = depthwise)");
    pub const OUT_H: DescField = DescField::u("OUT_H", 5, 0, 16, "output height");
    pub const OUT_W: DescField = DescField::u("OUT_W", 5, 16, 16, "output width");
    pub const OUT_C: DescField = DescField::u("OUT_C", 6, 0, 16, "output channels this layer computes");
    pub const KERNEL_H: DescField = DescField::u("KERNEL_H", 7, 0, 8, "kernel / pool window height");
    pub const KERNEL_W: DescField = DescField::u("KERNEL_W", 7, 8, 8, "kernel / pool window width");
    pub const STRIDE_H: DescField = DescField::u("STRIDE_H", 7, 16, 8, "vertical stride");
    pub const STRIDE_W: DescField = DescField::u("STRIDE_W", 7, 24, 8, "horizontal stride");
    pub const DILATION_H: DescField = DescField::u("DILATION_H", 8, 0, 8, "vertical dilation (CONV)");
    pub const DILATION_W: DescField = DescField::u("DILATION_W", 8, 8, 8, "horizontal dilation (CONV)");
    pub const PAD_TOP: DescField = DescField::u("PAD_TOP", 9, 0, 8, "rows of zero point above");
    pub const PAD_LEFT: DescField = DescField::u("PAD_LEFT", 9, 8, 8, "columns of zero point on the left");
    pub const PAD_BOTTOM: DescField = DescField::u("PAD_BOTTOM", 9, 16, 8, "rows of zero point below");
    pub const PAD_RIGHT: DescField = DescField::u("PAD_RIGHT", 9, 24, 8, "columns of zero point on the right");
    pub const IN_ZP: DescField = DescField::s("IN_ZP", 10, 0, 16, "input zero point");
    pub const IN2_ZP: DescField = DescField::s("IN2_ZP", 10, 16, 16, "second input zero point (ADD)");
    pub const OUT_ZP: DescField = DescField::s("OUT_ZP", 11, 0, 16, "output zero point");
    pub const WEIGHT_ZP: DescField = DescField::s("WEIGHT_ZP", 11, 16, 16, "per-tensor weight zero point (CONV)");
    pub const ACT_MIN: DescField = DescField::s("ACT_MIN", 12, 0, 16, "output clamp low (fused activation)");
    pub const ACT_MAX: DescField = DescField::s("ACT_MAX", 12, 16, 16, "output clamp high");
    pub const OUT_CH_STRIDE: DescField =
        DescField::u("OUT_CH_STRIDE", 13, 0, 16, "channels per output pixel in DRAM (> OUT_C for concat slices)");
    pub const OUT_CH_OFFSET: DescField =
        DescField::u("OUT_CH_OFFSET", 13, 16, 16, "first channel of this layer's slice in the output pixel");
    pub const INPUT_ADDR_LO: DescField = DescField::u("INPUT_ADDR_LO", 14, 0, 32, "input tensor (NHWC), bits 31..0");
    pub const INPUT_ADDR_HI: DescField = DescField::u("INPUT_ADDR_HI", 15, 0, 32, "bits 63..32");
    pub const INPUT2_ADDR_LO: DescField =
        DescField::u("INPUT2_ADDR_LO", 16, 0, 32, "second input (ADD, same shape), bits 31..0");
    pub const INPUT2_ADDR_HI: DescField = DescField::u("INPUT2_ADDR_HI", 17, 0, 32, "bits 63..32");
    pub const OUTPUT_ADDR_LO: DescField =
        DescField::u("OUTPUT_ADDR_LO", 18, 0, 32, "output tensor (NHWC, OUT_CH_STRIDE channels), bits 31..0");
    pub const OUTPUT_ADDR_HI: DescField = DescField::u("OUTPUT_ADDR_HI", 19, 0, 32, "bits 63..32");
    pub const WEIGHT_ADDR_LO: DescField =
        DescField::u("WEIGHT_ADDR_LO", 20, 0, 32, "weight tiles, R x C bytes each in plan order, bits 31..0");
    pub const WEIGHT_ADDR_HI: DescField = DescField::u("WEIGHT_ADDR_HI", 21, 0, 32, "bits 63..32");
    pub const PARAM_ADDR_LO: DescField =
        DescField::u("PARAM_ADDR_LO", 22, 0, 32, "bias / requant params (16 B per channel), bits 31..0");
    pub const PARAM_ADDR_HI: DescField = DescField::u("PARAM_ADDR_HI", 23, 0, 32, "bits 63..32");
    pub const O_TILES: DescField = DescField::u("O_TILES", 24, 0, 16, "CONV: ceil(OUT_C / C)");
    pub const KT_NX: DescField = DescField::u("KT_NX", 24, 16, 16, "CONV: kernel columns per k-tile (run length)");
    pub const KT_NC: DescField = DescField::u("KT_NC", 25, 0, 16, "CONV: channels per k-tile (chunk length)");
    pub const PIXEL_BLOCKS: DescField = DescField::u("PIXEL_BLOCKS", 26, 0, 32, "CONV: ceil(N*OUT_H*OUT_W / PB)");
    pub const K_TILES_TOTAL: DescField =
        DescField::u("K_TILES_TOTAL", 27, 0, 32, "CONV: nonzero k-tiles summed over o-tiles = weight tiles in DRAM");
    pub const K_TILES_STORED: DescField = DescField::u(
        "K_TILES_STORED",
        28,
        0,
        32,
        "CONV with ZERO_SKIP: weight tiles stored (not zero); the o-tiles' mask records follow them",
    );
    pub const CHECKSUM: DescField =
        DescField::u("CHECKSUM", super::CHECKSUM_WORD, 0, 32, "makes words 0..=59 sum to 0 mod 2^32");
}

/// Every host-written field, in word order.
pub static DESCRIPTOR_FIELDS: [DescField; 54] = {
    use field::*;
    [
        MAGIC,
        VERSION,
        OPCODE,
        REQUANT,
        IN_SIGNED,
        IN2_SIGNED,
        OUT_SIGNED,
        WEIGHT_SIGNED,
        WEIGHT_ZP_PER_CHANNEL,
        COUNT_INCLUDE_PAD,
        ZERO_SKIP,
        LAYER_INDEX,
        BATCH,
        IN_H,
        IN_W,
        IN_C,
        GROUPS,
        OUT_H,
        OUT_W,
        OUT_C,
        KERNEL_H,
        KERNEL_W,
        STRIDE_H,
        STRIDE_W,
        DILATION_H,
        DILATION_W,
        PAD_TOP,
        PAD_LEFT,
        PAD_BOTTOM,
        PAD_RIGHT,
        IN_ZP,
        IN2_ZP,
        OUT_ZP,
        WEIGHT_ZP,
        ACT_MIN,
        ACT_MAX,
        OUT_CH_STRIDE,
        OUT_CH_OFFSET,
        INPUT_ADDR_LO,
        INPUT_ADDR_HI,
        INPUT2_ADDR_LO,
        INPUT2_ADDR_HI,
        OUTPUT_ADDR_LO,
        OUTPUT_ADDR_HI,
        WEIGHT_ADDR_LO,
        WEIGHT_ADDR_HI,
        PARAM_ADDR_LO,
        PARAM_ADDR_HI,
        O_TILES,
        KT_NX,
        KT_NC,
        PIXEL_BLOCKS,
        K_TILES_TOTAL,
        K_TILES_STORED,
    ]
};

/// The engine-written words, for documentation and the C header.
pub static PERF_FIELDS: [DescField; 4] = [
    DescField::u("PERF_CYCLES_LO", PERF_WORD, 0, 32, "engine-written: cycles of the layer, bits 31..0"),
    DescField::u("PERF_CYCLES_HI", PERF_WORD + 1, 0, 32, "bits 63..32"),
    DescField::u("PERF_DMA_STALL_LO", PERF_WORD + 2, 0, 32, "engine-written: array cycles waiting for DMA, 31..0"),
    DescField::u("PERF_DMA_STALL_HI", PERF_WORD + 3, 0, 32, "bits 63..32"),
];
