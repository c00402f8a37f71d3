//! The layer descriptor: what the packer writes to DRAM and the engine's sequencer reads, one per
//! layer, back to back from `PROGRAM_BASE`, ending with an `END` descriptor.
//!
//! Format: [`DESCRIPTOR_WORDS`] little-endian u32 words (256 bytes). Word 0 is a magic, word 1
//! carries the version and opcode, word 59 a checksum (words 0..=59 sum to 0 mod 2^32: an adder
//! in the sequencer checks it as the words arrive). Words 60..63 are the per-layer performance
//! record the engine writes back when the layer completes ([`LayerPerf`]).
//!
//! Every field sits in [`DESCRIPTOR_FIELDS`] (word, lsb, width, signedness); `encode`, `decode`, the
//! C header and the Markdown layout are all driven by that table. Bits no field covers are
//! reserved and must be zero, and fields an opcode does not use must be zero too: both make a
//! descriptor read from the wrong address fail loudly instead of computing garbage.

use crate::config::ArchConfig;
use crate::plan::{plan_conv, ConvGeometry, ConvPlan};
use crate::regmap::DRAM_ALIGN;
use serde::{Deserialize, Serialize};
use systole_model::ir::Padding2d;
use thiserror::Error;

/// 64 words = 256 bytes: room to grow without a new DMA burst shape; 4 beats at 512 bits.
pub const DESCRIPTOR_WORDS: usize = 64;
pub const DESCRIPTOR_BYTES: usize = DESCRIPTOR_WORDS * 4;
/// Word 0 of every descriptor: ASCII "LDSC" read as a little-endian u32 ("CSDL" on the wire).
pub const DESCRIPTOR_MAGIC: u32 = 0x4C44_5343;
pub const DESCRIPTOR_VERSION: u32 = 1;
/// Words 0..=CHECKSUM_WORD are written by the host and covered by the checksum.
pub const CHECKSUM_WORD: usize = 59;
/// First word of the engine-written performance record.
pub const PERF_WORD: usize = 60;
/// Bytes of one output channel's parameters in the params area ([`ChannelParams`]).
pub const PARAM_BYTES_PER_CHANNEL: usize = 16;

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

    fn put(&self, words: &mut [u32], value: u32) {
        words[self.word] = (words[self.word] & !self.mask()) | ((value << self.lsb) & self.mask());
    }

    fn put_signed(&self, words: &mut [u32], value: i32) {
        self.put(words, value as u32);
    }

    fn get(&self, words: &[u32]) -> u32 {
        (words[self.word] & self.mask()) >> self.lsb
    }

    fn get_signed(&self, words: &[u32]) -> i32 {
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
    pub const LAYER_INDEX: DescField = DescField::u("LAYER_INDEX", 2, 0, 16, "position in the program (STATUS.LAYER)");
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
    pub const CHECKSUM: DescField =
        DescField::u("CHECKSUM", super::CHECKSUM_WORD, 0, 32, "makes words 0..=59 sum to 0 mod 2^32");
}

/// Every host-written field, in word order.
pub static DESCRIPTOR_FIELDS: [DescField; 52] = {
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
    ]
};

/// The engine-written words, for documentation and the C header.
pub static PERF_FIELDS: [DescField; 4] = [
    DescField::u("PERF_CYCLES_LO", PERF_WORD, 0, 32, "engine-written: cycles of the layer, bits 31..0"),
    DescField::u("PERF_CYCLES_HI", PERF_WORD + 1, 0, 32, "bits 63..32"),
    DescField::u("PERF_DMA_STALL_LO", PERF_WORD + 2, 0, 32, "engine-written: array cycles waiting for DMA, 31..0"),
    DescField::u("PERF_DMA_STALL_HI", PERF_WORD + 3, 0, 32, "bits 63..32"),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Opcode {
    /// Convolution of any grouping, and fully-connected as a 1x1 conv on a 1x1 image.
    Conv = 1,
    Add = 2,
    AvgPool = 3,
    MaxPool = 4,
    GlobalAvgPool = 5,
    End = 15,
}

impl Opcode {
    pub const ALL: [Opcode; 6] =
        [Opcode::Conv, Opcode::Add, Opcode::AvgPool, Opcode::MaxPool, Opcode::GlobalAvgPool, Opcode::End];

    pub fn from_code(code: u32) -> Option<Opcode> {
        Opcode::ALL.into_iter().find(|o| *o as u32 == code)
    }

    pub fn name(self) -> &'static str {
        match self {
            Opcode::Conv => "CONV",
            Opcode::Add => "ADD",
            Opcode::AvgPool => "AVG_POOL",
            Opcode::MaxPool => "MAX_POOL",
            Opcode::GlobalAvgPool => "GLOBAL_AVG_POOL",
            Opcode::End => "END",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RequantMode {
    /// No rescale (MAX_POOL, END, or a pool whose input and output share a scale).
    #[default]
    None = 0,
    /// TFLite fixed point: multiplier + shift per channel.
    Fixed = 1,
    /// onnxruntime float32 scale per channel.
    Float = 2,
}

impl RequantMode {
    pub fn from_code(code: u32) -> Option<RequantMode> {
        [RequantMode::None, RequantMode::Fixed, RequantMode::Float].into_iter().find(|m| *m as u32 == code)
    }
}

/// One layer descriptor. Field types have exactly the widths of the encoding, so `encode` is
/// total and lossless; [`LayerDescriptor::validate`] checks the meaning.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerDescriptor {
    pub opcode: Option<Opcode>,
    pub requant: RequantMode,
    pub in_signed: bool,
    pub in2_signed: bool,
    pub out_signed: bool,
    pub weight_signed: bool,
    pub weight_zp_per_channel: bool,
    pub count_include_pad: bool,
    pub layer_index: u16,
    pub batch: u16,
    pub in_h: u16,
    pub in_w: u16,
    pub in_c: u16,
    pub groups: u16,
    pub out_h: u16,
    pub out_w: u16,
    pub out_c: u16,
    pub kernel_h: u8,
    pub kernel_w: u8,
    pub stride_h: u8,
    pub stride_w: u8,
    pub dilation_h: u8,
    pub dilation_w: u8,
    pub pad_top: u8,
    pub pad_left: u8,
    pub pad_bottom: u8,
    pub pad_right: u8,
    pub in_zp: i16,
    pub in2_zp: i16,
    pub out_zp: i16,
    pub weight_zp: i16,
    pub act_min: i16,
    pub act_max: i16,
    pub out_ch_stride: u16,
    pub out_ch_offset: u16,
    pub input_addr: u64,
    pub input2_addr: u64,
    pub output_addr: u64,
    pub weight_addr: u64,
    pub param_addr: u64,
    pub o_tiles: u16,
    pub kt_nx: u16,
    pub kt_nc: u16,
    pub pixel_blocks: u32,
    pub k_tiles_total: u32,
}

/// The per-layer record the engine writes into words 60..63 of the layer's descriptor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerPerf {
    /// From the sequencer's first descriptor read to the layer's last write response.
    pub cycles: u64,
    /// Of those, cycles the array stood still waiting for DMA.
    pub dma_stall_cycles: u64,
}

impl LayerPerf {
    pub fn from_words(words: &[u32]) -> Result<LayerPerf, DescriptorError> {
        if words.len() != DESCRIPTOR_WORDS {
            return Err(DescriptorError::Length { found: words.len() });
        }
        let w = |i: usize| words[PERF_WORD + i] as u64;
        Ok(LayerPerf { cycles: w(0) | (w(1) << 32), dma_stall_cycles: w(2) | (w(3) << 32) })
    }
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DescriptorError {
    #[error("descriptor has {found} words, expected {DESCRIPTOR_WORDS}")]
    Length { found: usize },
    #[error("word 0 is {found:#010x}, not the descriptor magic {DESCRIPTOR_MAGIC:#010x}: wrong address, or not a descriptor")]
    BadMagic { found: u32 },
    #[error("descriptor version {found}; this build reads version {DESCRIPTOR_VERSION}")]
    BadVersion { found: u32 },
    #[error("unknown opcode {found} in word 1")]
    BadOpcode { found: u32 },
    #[error("word {word} has reserved bits {bits:#010x} set (must be zero)")]
    Reserved { word: usize, bits: u32 },
    #[error("{opcode} descriptor: field {field} (word {word}) = {value}: {reason}")]
    Field { opcode: &'static str, field: &'static str, word: usize, value: i64, reason: String },
    #[error("checksum mismatch: words 0..={CHECKSUM_WORD} sum to {sum:#010x}, not 0 (corrupted or partly written)")]
    Checksum { sum: u32 },
    #[error("{opcode} descriptor does not match the plan for this ArchConfig: {reason}")]
    Plan { opcode: &'static str, reason: String },
    #[error("{opcode} descriptor needs {what}, which this ArchConfig does not have")]
    Unsupported { opcode: &'static str, what: &'static str },
}

/// Words 0..=CHECKSUM_WORD summed mod 2^32.
fn word_sum(words: &[u32]) -> u32 {
    words[..=CHECKSUM_WORD].iter().fold(0u32, |s, &w| s.wrapping_add(w))
}

/// Bits of each word that some host-written field covers.
fn covered_bits() -> [u32; DESCRIPTOR_WORDS] {
    let mut m = [0u32; DESCRIPTOR_WORDS];
    for f in DESCRIPTOR_FIELDS.iter().chain([&field::CHECKSUM]) {
        m[f.word] |= f.mask();
    }
    for f in &PERF_FIELDS {
        m[f.word] |= f.mask();
    }
    m
}

fn split(addr: u64) -> (u32, u32) {
    (addr as u32, (addr >> 32) as u32)
}

/// Packs a descriptor, checksum included. Total: every field has the width of its encoding.
/// (Call [`LayerDescriptor::validate`] first to know the engine will accept it; [`try_encode`]
/// does both.)
pub fn encode(d: &LayerDescriptor) -> [u32; DESCRIPTOR_WORDS] {
    use field::*;
    let mut w = [0u32; DESCRIPTOR_WORDS];
    MAGIC.put(&mut w, DESCRIPTOR_MAGIC);
    VERSION.put(&mut w, DESCRIPTOR_VERSION);
    OPCODE.put(&mut w, d.opcode.map_or(0, |o| o as u32));
    REQUANT.put(&mut w, d.requant as u32);
    for (f, v) in [
        (IN_SIGNED, d.in_signed),
        (IN2_SIGNED, d.in2_signed),
        (OUT_SIGNED, d.out_signed),
        (WEIGHT_SIGNED, d.weight_signed),
        (WEIGHT_ZP_PER_CHANNEL, d.weight_zp_per_channel),
        (COUNT_INCLUDE_PAD, d.count_include_pad),
    ] {
        f.put(&mut w, v as u32);
    }
    for (f, v) in [
        (LAYER_INDEX, d.layer_index),
        (BATCH, d.batch),
        (IN_H, d.in_h),
        (IN_W, d.in_w),
        (IN_C, d.in_c),
        (GROUPS, d.groups),
        (OUT_H, d.out_h),
        (OUT_W, d.out_w),
        (OUT_C, d.out_c),
        (OUT_CH_STRIDE, d.out_ch_stride),
        (OUT_CH_OFFSET, d.out_ch_offset),
        (O_TILES, d.o_tiles),
        (KT_NX, d.kt_nx),
        (KT_NC, d.kt_nc),
    ] {
        f.put(&mut w, v as u32);
    }
    for (f, v) in [
        (KERNEL_H, d.kernel_h),
        (KERNEL_W, d.kernel_w),
        (STRIDE_H, d.stride_h),
        (STRIDE_W, d.stride_w),
        (DILATION_H, d.dilation_h),
        (DILATION_W, d.dilation_w),
        (PAD_TOP, d.pad_top),
        (PAD_LEFT, d.pad_left),
        (PAD_BOTTOM, d.pad_bottom),
        (PAD_RIGHT, d.pad_right),
    ] {
        f.put(&mut w, v as u32);
    }
    for (f, v) in [
        (IN_ZP, d.in_zp),
        (IN2_ZP, d.in2_zp),
        (OUT_ZP, d.out_zp),
        (WEIGHT_ZP, d.weight_zp),
        (ACT_MIN, d.act_min),
        (ACT_MAX, d.act_max),
    ] {
        f.put_signed(&mut w, v as i32);
    }
    for ((lo, hi), a) in [
        ((INPUT_ADDR_LO, INPUT_ADDR_HI), d.input_addr),
        ((INPUT2_ADDR_LO, INPUT2_ADDR_HI), d.input2_addr),
        ((OUTPUT_ADDR_LO, OUTPUT_ADDR_HI), d.output_addr),
        ((WEIGHT_ADDR_LO, WEIGHT_ADDR_HI), d.weight_addr),
        ((PARAM_ADDR_LO, PARAM_ADDR_HI), d.param_addr),
    ] {
        let (l, h) = split(a);
        lo.put(&mut w, l);
        hi.put(&mut w, h);
    }
    PIXEL_BLOCKS.put(&mut w, d.pixel_blocks);
    K_TILES_TOTAL.put(&mut w, d.k_tiles_total);
    w[CHECKSUM_WORD] = 0u32.wrapping_sub(word_sum(&w));
    w
}

/// Validates, then encodes.
pub fn try_encode(d: &LayerDescriptor) -> Result<[u32; DESCRIPTOR_WORDS], DescriptorError> {
    d.validate()?;
    Ok(encode(d))
}

/// Unpacks and validates a descriptor. Checks, in order: length, magic, version, opcode,
/// reserved bits, every field's range and the geometry's consistency, then the checksum (last,
/// so a corrupted field is named when it is out of range).
pub fn decode(words: &[u32]) -> Result<LayerDescriptor, DescriptorError> {
    use field::*;
    if words.len() != DESCRIPTOR_WORDS {
        return Err(DescriptorError::Length { found: words.len() });
    }
    if words[0] != DESCRIPTOR_MAGIC {
        return Err(DescriptorError::BadMagic { found: words[0] });
    }
    let version = VERSION.get(words);
    if version != DESCRIPTOR_VERSION {
        return Err(DescriptorError::BadVersion { found: version });
    }
    let opcode_code = OPCODE.get(words);
    let opcode = Opcode::from_code(opcode_code).ok_or(DescriptorError::BadOpcode { found: opcode_code })?;
    for (word, covered) in covered_bits().iter().enumerate() {
        let bits = words[word] & !covered;
        if bits != 0 {
            return Err(DescriptorError::Reserved { word, bits });
        }
    }
    let requant_code = REQUANT.get(words);
    let requant = RequantMode::from_code(requant_code).ok_or_else(|| DescriptorError::Field {
        opcode: opcode.name(),
        field: REQUANT.name,
        word: REQUANT.word,
        value: requant_code as i64,
        reason: "not a requant mode (0 none, 1 fixed, 2 float)".into(),
    })?;
    let b = |f: DescField| f.get(words) != 0;
    let u16_ = |f: DescField| f.get(words) as u16;
    let u8_ = |f: DescField| f.get(words) as u8;
    let i16_ = |f: DescField| f.get_signed(words) as i16;
    let addr = |lo: DescField, hi: DescField| lo.get(words) as u64 | ((hi.get(words) as u64) << 32);
    let d = LayerDescriptor {
        opcode: Some(opcode),
        requant,
        in_signed: b(IN_SIGNED),
        in2_signed: b(IN2_SIGNED),
        out_signed: b(OUT_SIGNED),
        weight_signed: b(WEIGHT_SIGNED),
        weight_zp_per_channel: b(WEIGHT_ZP_PER_CHANNEL),
        count_include_pad: b(COUNT_INCLUDE_PAD),
        layer_index: u16_(LAYER_INDEX),
        batch: u16_(BATCH),
        in_h: u16_(IN_H),
        in_w: u16_(IN_W),
        in_c: u16_(IN_C),
        groups: u16_(GROUPS),
        out_h: u16_(OUT_H),
        out_w: u16_(OUT_W),
        out_c: u16_(OUT_C),
        kernel_h: u8_(KERNEL_H),
        kernel_w: u8_(KERNEL_W),
        stride_h: u8_(STRIDE_H),
        stride_w: u8_(STRIDE_W),
        dilation_h: u8_(DILATION_H),
        dilation_w: u8_(DILATION_W),
        pad_top: u8_(PAD_TOP),
        pad_left: u8_(PAD_LEFT),
        pad_bottom: u8_(PAD_BOTTOM),
        pad_right: u8_(PAD_RIGHT),
        in_zp: i16_(IN_ZP),
        in2_zp: i16_(IN2_ZP),
        out_zp: i16_(OUT_ZP),
        weight_zp: i16_(WEIGHT_ZP),
        act_min: i16_(ACT_MIN),
        act_max: i16_(ACT_MAX),
        out_ch_stride: u16_(OUT_CH_STRIDE),
        out_ch_offset: u16_(OUT_CH_OFFSET),
        input_addr: addr(INPUT_ADDR_LO, INPUT_ADDR_HI),
        input2_addr: addr(INPUT2_ADDR_LO, INPUT2_ADDR_HI),
        output_addr: addr(OUTPUT_ADDR_LO, OUTPUT_ADDR_HI),
        weight_addr: addr(WEIGHT_ADDR_LO, WEIGHT_ADDR_HI),
        param_addr: addr(PARAM_ADDR_LO, PARAM_ADDR_HI),
        o_tiles: u16_(O_TILES),
        kt_nx: u16_(KT_NX),
        kt_nc: u16_(KT_NC),
        pixel_blocks: PIXEL_BLOCKS.get(words),
        k_tiles_total: K_TILES_TOTAL.get(words),
    };
    d.validate()?;
    let sum = word_sum(words);
    if sum != 0 {
        return Err(DescriptorError::Checksum { sum });
    }
    Ok(d)
}

/// Output size of a window operation along one axis, `None` when the window does not fit.
pub fn window_output(
    input: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    before: usize,
    after: usize,
) -> Option<usize> {
    let span = dilation.checked_mul(kernel.checked_sub(1)?)? + 1;
    let padded = input + before + after;
    if stride == 0 || padded < span {
        return None;
    }
    Some((padded - span) / stride + 1)
}

/// Collects the first failed check with its field.
struct Checker {
    opcode: &'static str,
    first: Option<DescriptorError>,
}

impl Checker {
    fn check(&mut self, f: DescField, value: i64, ok: bool, reason: impl Into<String>) {
        if !ok && self.first.is_none() {
            self.first = Some(DescriptorError::Field {
                opcode: self.opcode,
                field: f.name,
                word: f.word,
                value,
                reason: reason.into(),
            });
        }
    }
    fn zero(&mut self, f: DescField, value: i64) {
        self.check(f, value, value == 0, "unused by this opcode, must be 0");
    }
    fn at_least_1(&mut self, f: DescField, value: i64) {
        self.check(f, value, value >= 1, "must be at least 1");
    }
    fn aligned(&mut self, f: DescField, value: u64) {
        self.check(
            f,
            value as i64,
            value.is_multiple_of(DRAM_ALIGN),
            format!("DRAM address not {DRAM_ALIGN}-byte aligned"),
        );
    }
    fn zero_point(&mut self, f: DescField, value: i16, signed: bool) {
        let (lo, hi) = if signed { (-128, 127) } else { (0, 255) };
        let what = if signed { "int8" } else { "uint8" };
        self.check(f, value as i64, (lo..=hi).contains(&value), format!("not an {what} zero point ({lo}..={hi})"));
    }
    fn done(self) -> Result<(), DescriptorError> {
        self.first.map_or(Ok(()), Err)
    }
}

impl LayerDescriptor {
    /// The descriptor that ends a program.
    pub fn end(layer_index: u16) -> LayerDescriptor {
        LayerDescriptor { opcode: Some(Opcode::End), layer_index, ..LayerDescriptor::default() }
    }

    /// Padding as the IR spells it.
    pub fn padding(&self) -> Padding2d {
        Padding2d {
            top: self.pad_top as usize,
            left: self.pad_left as usize,
            bottom: self.pad_bottom as usize,
            right: self.pad_right as usize,
        }
    }

    /// The convolution geometry of a CONV descriptor (for the plan).
    pub fn conv_geometry(&self) -> ConvGeometry {
        ConvGeometry {
            batch: self.batch as usize,
            in_h: self.in_h as usize,
            in_w: self.in_w as usize,
            in_c: self.in_c as usize,
            out_c: self.out_c as usize,
            kernel: [self.kernel_h as usize, self.kernel_w as usize],
            stride: [self.stride_h as usize, self.stride_w as usize],
            dilation: [self.dilation_h as usize, self.dilation_w as usize],
            padding: self.padding(),
            groups: self.groups as usize,
        }
    }

    /// Checks every field's range and the geometry's consistency for the opcode; fields the
    /// opcode does not use must be zero.
    pub fn validate(&self) -> Result<(), DescriptorError> {
        use field::*;
        let Some(opcode) = self.opcode else {
            return Err(DescriptorError::BadOpcode { found: 0 });
        };
        let mut c = Checker { opcode: opcode.name(), first: None };
        let conv = opcode == Opcode::Conv;
        let add = opcode == Opcode::Add;
        let windowed = matches!(opcode, Opcode::Conv | Opcode::AvgPool | Opcode::MaxPool);

        if opcode == Opcode::End {
            // Only the header and the layer index may be set.
            let blank = LayerDescriptor::end(self.layer_index);
            if *self != blank {
                let words = encode(self);
                let blank_words = encode(&blank);
                let word = (0..CHECKSUM_WORD).find(|&i| words[i] != blank_words[i]).unwrap_or(1);
                let f = DESCRIPTOR_FIELDS
                    .iter()
                    .find(|f| f.word == word && (words[word] ^ blank_words[word]) & f.mask() != 0)
                    .copied()
                    .unwrap_or(REQUANT);
                c.check(f, f.get(&words) as i64, false, "END descriptors carry nothing but the layer index");
            }
            return c.done();
        }

        // Requant mode per opcode.
        let rq = self.requant as i64;
        match opcode {
            Opcode::Conv | Opcode::Add => {
                c.check(REQUANT, rq, self.requant != RequantMode::None, "CONV and ADD requantise (fixed or float)")
            }
            Opcode::MaxPool => c.check(REQUANT, rq, self.requant == RequantMode::None, "MAX_POOL does not rescale"),
            _ => {}
        }

        // Flags.
        c.check(IN2_SIGNED, self.in2_signed as i64, add || !self.in2_signed, "only ADD has a second input");
        c.check(WEIGHT_SIGNED, self.weight_signed as i64, conv || !self.weight_signed, "only CONV has weights");
        c.check(
            WEIGHT_ZP_PER_CHANNEL,
            self.weight_zp_per_channel as i64,
            conv || !self.weight_zp_per_channel,
            "only CONV has weights",
        );
        c.check(
            COUNT_INCLUDE_PAD,
            self.count_include_pad as i64,
            opcode == Opcode::AvgPool || !self.count_include_pad,
            "only AVG_POOL averages",
        );

        // Shapes.
        for (f, v) in [
            (BATCH, self.batch),
            (IN_H, self.in_h),
            (IN_W, self.in_w),
            (IN_C, self.in_c),
            (OUT_H, self.out_h),
            (OUT_W, self.out_w),
            (OUT_C, self.out_c),
        ] {
            c.at_least_1(f, v as i64);
        }
        let spatial = [
            (KERNEL_H, self.kernel_h),
            (KERNEL_W, self.kernel_w),
            (STRIDE_H, self.stride_h),
            (STRIDE_W, self.stride_w),
        ];
        let dilations = [(DILATION_H, self.dilation_h), (DILATION_W, self.dilation_w)];
        let pads = [
            (PAD_TOP, self.pad_top),
            (PAD_LEFT, self.pad_left),
            (PAD_BOTTOM, self.pad_bottom),
            (PAD_RIGHT, self.pad_right),
        ];
        if windowed {
            for (f, v) in spatial {
                c.at_least_1(f, v as i64);
            }
            for (f, v) in dilations {
                if conv {
                    c.at_least_1(f, v as i64);
                } else {
                    c.zero(f, v as i64);
                }
            }
            let dil = |v: u8| if conv { v as usize } else { 1 };
            let expect_h = window_output(
                self.in_h as usize,
                self.kernel_h as usize,
                self.stride_h as usize,
                dil(self.dilation_h),
                self.pad_top as usize,
                self.pad_bottom as usize,
            );
            let expect_w = window_output(
                self.in_w as usize,
                self.kernel_w as usize,
                self.stride_w as usize,
                dil(self.dilation_w),
                self.pad_left as usize,
                self.pad_right as usize,
            );
            let describe = |e: Option<usize>| {
                e.map_or("the window does not fit the padded input".to_string(), |e| format!("geometry gives {e}"))
            };
            c.check(OUT_H, self.out_h as i64, expect_h == Some(self.out_h as usize), describe(expect_h));
            c.check(OUT_W, self.out_w as i64, expect_w == Some(self.out_w as usize), describe(expect_w));
        } else {
            for (f, v) in spatial.into_iter().chain(dilations).chain(pads) {
                c.zero(f, v as i64);
            }
            if add {
                c.check(OUT_H, self.out_h as i64, self.out_h == self.in_h, "ADD keeps the shape (OUT_H = IN_H)");
                c.check(OUT_W, self.out_w as i64, self.out_w == self.in_w, "ADD keeps the shape (OUT_W = IN_W)");
            } else {
                c.check(OUT_H, self.out_h as i64, self.out_h == 1, "GLOBAL_AVG_POOL outputs 1x1");
                c.check(OUT_W, self.out_w as i64, self.out_w == 1, "GLOBAL_AVG_POOL outputs 1x1");
            }
        }
        if conv {
            let g = self.groups;
            c.at_least_1(GROUPS, g as i64);
            if g >= 1 {
                c.check(GROUPS, g as i64, self.in_c.is_multiple_of(g), format!("does not divide IN_C = {}", self.in_c));
                c.check(
                    GROUPS,
                    g as i64,
                    self.out_c.is_multiple_of(g),
                    format!("does not divide OUT_C = {}", self.out_c),
                );
            }
        } else {
            c.zero(GROUPS, self.groups as i64);
            c.check(
                OUT_C,
                self.out_c as i64,
                self.out_c == self.in_c,
                "pools and ADD keep the channels (OUT_C = IN_C)",
            );
        }

        // Zero points and clamp.
        c.zero_point(IN_ZP, self.in_zp, self.in_signed);
        if add {
            c.zero_point(IN2_ZP, self.in2_zp, self.in2_signed);
        } else {
            c.zero(IN2_ZP, self.in2_zp as i64);
        }
        c.zero_point(OUT_ZP, self.out_zp, self.out_signed);
        if conv && !self.weight_zp_per_channel {
            c.zero_point(WEIGHT_ZP, self.weight_zp, self.weight_signed);
        } else {
            c.check(
                WEIGHT_ZP,
                self.weight_zp as i64,
                self.weight_zp == 0,
                "must be 0 (no weights, or per-channel zero points in the params)",
            );
        }
        let (qlo, qhi) = if self.out_signed { (-128, 127) } else { (0, 255) };
        c.check(
            ACT_MIN,
            self.act_min as i64,
            (qlo..=qhi).contains(&self.act_min),
            format!("outside the output range {qlo}..={qhi}"),
        );
        c.check(
            ACT_MAX,
            self.act_max as i64,
            (qlo..=qhi).contains(&self.act_max),
            format!("outside the output range {qlo}..={qhi}"),
        );
        c.check(
            ACT_MAX,
            self.act_max as i64,
            self.act_min <= self.act_max,
            format!("below ACT_MIN = {}", self.act_min),
        );

        // Output slice (concat).
        c.check(
            OUT_CH_STRIDE,
            self.out_ch_stride as i64,
            self.out_ch_offset as usize + self.out_c as usize <= self.out_ch_stride as usize,
            format!("smaller than OUT_CH_OFFSET + OUT_C = {}", self.out_ch_offset as usize + self.out_c as usize),
        );

        // Addresses.
        c.aligned(INPUT_ADDR_LO, self.input_addr);
        c.aligned(OUTPUT_ADDR_LO, self.output_addr);
        if add {
            c.aligned(INPUT2_ADDR_LO, self.input2_addr);
        } else {
            c.zero(INPUT2_ADDR_LO, self.input2_addr as i64);
        }
        if conv {
            c.aligned(WEIGHT_ADDR_LO, self.weight_addr);
        } else {
            c.zero(WEIGHT_ADDR_LO, self.weight_addr as i64);
        }
        if self.requant != RequantMode::None || conv {
            c.aligned(PARAM_ADDR_LO, self.param_addr);
        } else {
            c.check(PARAM_ADDR_LO, self.param_addr as i64, self.param_addr == 0, "no requant, so no params: must be 0");
        }

        // Tile counts (their agreement with the plan needs the ArchConfig: `check_plan`).
        let tiles = [
            (O_TILES, self.o_tiles as i64),
            (KT_NX, self.kt_nx as i64),
            (KT_NC, self.kt_nc as i64),
            (PIXEL_BLOCKS, self.pixel_blocks as i64),
            (K_TILES_TOTAL, self.k_tiles_total as i64),
        ];
        for (f, v) in tiles {
            if conv {
                c.at_least_1(f, v);
            } else {
                c.zero(f, v);
            }
        }
        if conv {
            c.check(KT_NX, self.kt_nx as i64, self.kt_nx as usize <= self.kernel_w as usize, "longer than KERNEL_W");
            c.check(
                K_TILES_TOTAL,
                self.k_tiles_total as i64,
                self.k_tiles_total >= self.o_tiles as u32,
                "fewer k-tiles than o-tiles",
            );
        }
        c.done()
    }
}

/// Bias and requant parameters of one output channel, as the packer writes them at
/// `PARAM_ADDR + 16 * channel`: `[bias, multiplier or f32 scale bits, shift, weight zero point]`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelParams {
    pub bias: i32,
    /// Fixed: the Q31 multiplier; float: `f32::to_bits` of the scale.
    pub multiplier_or_scale: u32,
    /// Fixed: the shift (left positive, as `arith::multiply_by_quantized_multiplier`); float: 0.
    pub shift: i32,
    /// Per-channel weight zero point (WEIGHT_ZP_PER_CHANNEL), else 0.
    pub weight_zp: i16,
}

impl ChannelParams {
    pub fn to_words(&self) -> [u32; PARAM_BYTES_PER_CHANNEL / 4] {
        [self.bias as u32, self.multiplier_or_scale, self.shift as u32, self.weight_zp as u16 as u32]
    }

    pub fn from_words(w: [u32; PARAM_BYTES_PER_CHANNEL / 4]) -> ChannelParams {
        ChannelParams {
            bias: w[0] as i32,
            multiplier_or_scale: w[1],
            shift: w[2] as i32,
            weight_zp: w[3] as u16 as i16,
        }
    }
}

impl LayerDescriptor {
    /// Copies a plan's tile counts and run lengths into a CONV descriptor.
    pub fn set_conv_tiles(&mut self, plan: &ConvPlan) {
        self.o_tiles = plan.o_tiles.len() as u16;
        self.pixel_blocks = plan.pixel_blocks as u32;
        self.k_tiles_total = plan.k_tiles_total() as u32;
        self.kt_nx = plan.kt_nx as u16;
        self.kt_nc = plan.kt_nc as u16;
    }
}

/// Checks a (valid) descriptor against an engine: the requant mode and post-op unit it needs are
/// present, and a CONV's tile fields are those of [`plan_conv`] for `cfg`.
pub fn check_against_config(d: &LayerDescriptor, cfg: &ArchConfig) -> Result<(), DescriptorError> {
    let Some(opcode) = d.opcode else { return Err(DescriptorError::BadOpcode { found: 0 }) };
    let name = opcode.name();
    let unsupported = |what| Err(DescriptorError::Unsupported { opcode: name, what });
    match d.requant {
        RequantMode::Fixed if !cfg.requant.fixed => return unsupported("fixed-point requant lanes"),
        RequantMode::Float if !cfg.requant.float => return unsupported("float requant lanes"),
        _ => {}
    }
    let p = &cfg.post_ops;
    match opcode {
        Opcode::Add if !p.add => return unsupported("the add unit"),
        Opcode::AvgPool if !p.avg_pool => return unsupported("the average-pool unit"),
        Opcode::MaxPool if !p.max_pool => return unsupported("the max-pool unit"),
        Opcode::GlobalAvgPool if !p.global_avg_pool => return unsupported("the global average-pool unit"),
        _ => {}
    }
    if opcode != Opcode::Conv {
        return Ok(());
    }
    let plan = plan_conv(&d.conv_geometry(), cfg)
        .map_err(|e| DescriptorError::Plan { opcode: name, reason: e.to_string() })?;
    let expect = [
        ("O_TILES", d.o_tiles as usize, plan.o_tiles.len()),
        ("PIXEL_BLOCKS", d.pixel_blocks as usize, plan.pixel_blocks),
        ("K_TILES_TOTAL", d.k_tiles_total as usize, plan.k_tiles_total()),
        ("KT_NX", d.kt_nx as usize, plan.kt_nx),
        ("KT_NC", d.kt_nc as usize, plan.kt_nc),
    ];
    for (field, found, planned) in expect {
        if found != planned {
            return Err(DescriptorError::Plan {
                opcode: name,
                reason: format!(
                    "{field} = {found}, the plan for {}x{} PB {} has {planned}",
                    cfg.rows, cfg.cols, cfg.psum_depth
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    /// A valid 3x3 stride-2 CONV with its tile fields from the plan of a 16x16 engine.
    fn conv() -> LayerDescriptor {
        let mut d = LayerDescriptor {
            opcode: Some(Opcode::Conv),
            requant: RequantMode::Fixed,
            in_signed: true,
            out_signed: true,
            weight_signed: true,
            layer_index: 3,
            batch: 1,
            in_h: 32,
            in_w: 32,
            in_c: 16,
            groups: 1,
            out_h: 16,
            out_w: 16,
            out_c: 32,
            kernel_h: 3,
            kernel_w: 3,
            stride_h: 2,
            stride_w: 2,
            dilation_h: 1,
            dilation_w: 1,
            pad_top: 0,
            pad_left: 0,
            pad_bottom: 1,
            pad_right: 1,
            in_zp: -128,
            out_zp: -5,
            act_min: -5,
            act_max: 127,
            out_ch_stride: 64,
            out_ch_offset: 32,
            input_addr: 0x1000_0000,
            output_addr: 0x1_2000_0040,
            weight_addr: 0x3000_0000,
            param_addr: 0x3100_0000,
            ..LayerDescriptor::default()
        };
        let plan = plan_conv(&d.conv_geometry(), &ArchConfig::new("t", 16, 16)).unwrap();
        d.set_conv_tiles(&plan);
        d
    }

    #[test]
    fn field_table_is_consistent() {
        let mut used = [0u32; DESCRIPTOR_WORDS];
        let mut names = HashSet::new();
        for f in DESCRIPTOR_FIELDS.iter().chain([&field::CHECKSUM]).chain(PERF_FIELDS.iter()) {
            assert!(f.width >= 1 && f.lsb + f.width <= 32, "{} exceeds its word", f.name);
            assert_eq!(used[f.word] & f.mask(), 0, "{} overlaps", f.name);
            assert!(names.insert(f.name), "{} twice", f.name);
            used[f.word] |= f.mask();
        }
        assert!(DESCRIPTOR_FIELDS.iter().all(|f| f.word < CHECKSUM_WORD));
        assert!(DESCRIPTOR_FIELDS.windows(2).all(|w| (w[0].word, w[0].lsb) < (w[1].word, w[1].lsb)), "not in order");
    }

    #[test]
    fn conv_round_trips_and_matches_its_plan() {
        let d = conv();
        let words = try_encode(&d).unwrap();
        assert_eq!(words[0], DESCRIPTOR_MAGIC);
        assert_eq!(words[..=CHECKSUM_WORD].iter().fold(0u32, |s, &w| s.wrapping_add(w)), 0);
        assert_eq!(decode(&words).unwrap(), d);
        let mut cfg = ArchConfig::new("t", 16, 16);
        check_against_config(&d, &cfg).unwrap();
        cfg.psum_depth = 64;
        let e = check_against_config(&d, &cfg).unwrap_err();
        assert!(e.to_string().contains("PIXEL_BLOCKS = 1"), "{e}");
        cfg.requant = crate::config::RequantModes { fixed: false, float: true };
        assert!(matches!(check_against_config(&d, &cfg), Err(DescriptorError::Unsupported { .. })));
        let add = LayerDescriptor { opcode: Some(Opcode::Add), ..LayerDescriptor::default() };
        let e = check_against_config(&add, &ArchConfig::new("t", 4, 4)).unwrap_err();
        assert!(e.to_string().contains("add unit"), "{e}");
    }

    #[test]
    fn end_descriptor_carries_only_the_index() {
        let end = LayerDescriptor::end(7);
        assert_eq!(decode(&encode(&end)).unwrap(), end);
        let stray = LayerDescriptor { in_h: 3, ..end };
        let e = stray.validate().unwrap_err();
        assert!(e.to_string().contains("IN_H"), "{e}");
    }

    #[test]
    fn corrupted_words_give_clear_errors() {
        let good = encode(&conv());
        let corrupt = |f: &dyn Fn(&mut [u32; DESCRIPTOR_WORDS])| {
            let mut w = good;
            f(&mut w);
            decode(&w).unwrap_err()
        };
        assert_eq!(decode(&good[..10]).unwrap_err(), DescriptorError::Length { found: 10 });
        assert!(matches!(corrupt(&|w| w[0] = 0), DescriptorError::BadMagic { found: 0 }));
        assert!(matches!(corrupt(&|w| w[1] += 1), DescriptorError::BadVersion { found: 2 }));
        assert!(matches!(corrupt(&|w| w[1] = (w[1] & !0xff00) | (9 << 8)), DescriptorError::BadOpcode { found: 9 }));
        assert_eq!(corrupt(&|w| w[40] = 0x10), DescriptorError::Reserved { word: 40, bits: 0x10 });
        assert_eq!(corrupt(&|w| w[1] |= 1 << 31), DescriptorError::Reserved { word: 1, bits: 1 << 31 });
        let field_of = |e: DescriptorError| match e {
            DescriptorError::Field { field, .. } => field,
            other => panic!("expected a field error, got {other}"),
        };
        assert_eq!(field_of(corrupt(&|w| w[1] |= 3 << 16)), "REQUANT");
        assert_eq!(field_of(corrupt(&|w| w[7] &= !0x00ff_0000)), "STRIDE_H");
        let e = corrupt(&|w| w[5] += 1);
        assert!(e.to_string().contains("OUT_H") && e.to_string().contains("geometry gives 16"), "{e}");
        assert_eq!(field_of(corrupt(&|w| w[14] |= 4)), "INPUT_ADDR_LO");
        assert_eq!(field_of(corrupt(&|w| w[10] = 200)), "IN_ZP");
        assert_eq!(field_of(corrupt(&|w| w[16] = 64)), "INPUT2_ADDR_LO");
        assert_eq!(field_of(corrupt(&|w| w[13] = 16)), "OUT_CH_STRIDE");
        // An in-range change is only caught by the checksum.
        assert!(matches!(corrupt(&|w| w[2] ^= 1), DescriptorError::Checksum { .. }));
        let msg = corrupt(&|w| w[7] &= !0x00ff_0000).to_string();
        assert!(msg.starts_with("CONV descriptor: field STRIDE_H (word 7) = 0"), "{msg}");
    }

    #[test]
    fn perf_record_and_channel_params() {
        let mut w = encode(&conv());
        w[PERF_WORD] = 5;
        w[PERF_WORD + 1] = 1;
        w[PERF_WORD + 2] = 7;
        assert_eq!(decode(&w).unwrap(), conv(), "the engine-written words are not checked");
        assert_eq!(LayerPerf::from_words(&w).unwrap(), LayerPerf { cycles: (1 << 32) + 5, dma_stall_cycles: 7 });
        let p = ChannelParams { bias: -7, multiplier_or_scale: 0x4000_0000, shift: -3, weight_zp: -128 };
        assert_eq!(ChannelParams::from_words(p.to_words()), p);
    }

    fn zp(signed: bool) -> impl Strategy<Value = i16> {
        if signed {
            (-128i16..=127).boxed()
        } else {
            (0i16..=255).boxed()
        }
    }

    fn aligned() -> impl Strategy<Value = u64> {
        any::<u64>().prop_map(|a| a & !(DRAM_ALIGN - 1))
    }

    /// Valid descriptors of every opcode, with field values over their whole ranges.
    fn descriptor() -> impl Strategy<Value = LayerDescriptor> {
        let flags = (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>());
        let shape = (1u16..=u16::MAX, 1u16..=300, 1u16..=300, 1u16..=64, 1u16..=8);
        let window = (1u8..=7, 1u8..=7, 1u8..=4, 1u8..=4, 1u8..=3, 1u8..=3, [0u8..=3, 0u8..=3, 0u8..=3, 0u8..=3]);
        let addrs = [aligned(), aligned(), aligned(), aligned(), aligned()];
        let tiles = (1u16..=u16::MAX, 1u16..=255, 1u16..=256, 1u32..=u32::MAX, 0u32..=1000);
        let misc = (any::<u16>(), 0u16..=100, 0usize..6, any::<u8>(), any::<u8>());
        (flags, shape, window, addrs, tiles, misc)
            .prop_flat_map(|(flags, shape, window, addrs, tiles, misc)| {
                (Just((flags, shape, window, addrs, tiles, misc)), zp(flags.0), zp(flags.1), zp(flags.2), zp(flags.3))
            })
            .prop_map(|((flags, shape, window, addrs, tiles, misc), in_zp, in2_zp, out_zp, w_zp)| {
                let opcode = Opcode::ALL[misc.2];
                let (batch, in_h, in_w, cg, groups) = shape;
                let (kh, kw, sh, sw, dh, dw, pads) = window;
                let mut d = LayerDescriptor {
                    opcode: Some(opcode),
                    in_signed: flags.0,
                    out_signed: flags.2,
                    layer_index: misc.0,
                    batch,
                    in_h,
                    in_w,
                    in_c: cg * groups,
                    out_c: cg * groups,
                    in_zp,
                    out_zp,
                    input_addr: addrs[0],
                    output_addr: addrs[2],
                    ..LayerDescriptor::default()
                };
                let (qlo, qhi) = if flags.2 { (-128i16, 127i16) } else { (0, 255) };
                let (a, b) = (qlo + (misc.3 as i16 % (qhi - qlo + 1)), qlo + (misc.4 as i16 % (qhi - qlo + 1)));
                (d.act_min, d.act_max) = (a.min(b), a.max(b));
                d.out_ch_offset = misc.1;
                d.out_ch_stride = (d.out_c as u32 + misc.1 as u32).min(u16::MAX as u32) as u16;
                d.out_ch_offset = d.out_ch_stride - d.out_c;
                let set_window = |d: &mut LayerDescriptor, dil: bool| {
                    (d.kernel_h, d.kernel_w, d.stride_h, d.stride_w) = (kh, kw, sh, sw);
                    if dil {
                        (d.dilation_h, d.dilation_w) = (dh, dw);
                    }
                    [d.pad_top, d.pad_left, d.pad_bottom, d.pad_right] = pads;
                    let (dh, dw) = if dil { (dh as usize, dw as usize) } else { (1, 1) };
                    // Grow the input until the window fits.
                    let need_h = (dh * (kh as usize - 1) + 1).saturating_sub(pads[0] as usize + pads[2] as usize);
                    let need_w = (dw * (kw as usize - 1) + 1).saturating_sub(pads[1] as usize + pads[3] as usize);
                    d.in_h = d.in_h.max(need_h as u16);
                    d.in_w = d.in_w.max(need_w as u16);
                    let g = d.conv_geometry();
                    let dil_h = if dil { dh } else { 1 };
                    let dil_w = if dil { dw } else { 1 };
                    d.out_h = window_output(g.in_h, kh as usize, sh as usize, dil_h, g.padding.top, g.padding.bottom)
                        .unwrap() as u16;
                    d.out_w = window_output(g.in_w, kw as usize, sw as usize, dil_w, g.padding.left, g.padding.right)
                        .unwrap() as u16;
                };
                match opcode {
                    Opcode::Conv => {
                        set_window(&mut d, true);
                        d.requant = if flags.4 { RequantMode::Fixed } else { RequantMode::Float };
                        d.groups = groups;
                        d.weight_signed = flags.3;
                        d.weight_zp_per_channel = flags.5;
                        d.weight_zp = if flags.5 { 0 } else { w_zp };
                        d.weight_addr = addrs[3];
                        d.param_addr = addrs[4];
                        (d.o_tiles, d.kt_nc, d.pixel_blocks) = (tiles.0, tiles.2, tiles.3);
                        d.kt_nx = tiles.1.min(kw as u16);
                        d.k_tiles_total = tiles.0 as u32 + tiles.4;
                    }
                    Opcode::Add => {
                        d.requant = if flags.4 { RequantMode::Fixed } else { RequantMode::Float };
                        (d.out_h, d.out_w) = (d.in_h, d.in_w);
                        d.in2_signed = flags.1;
                        d.in2_zp = in2_zp;
                        d.input2_addr = addrs[1];
                        d.param_addr = addrs[4];
                    }
                    Opcode::AvgPool | Opcode::MaxPool => {
                        set_window(&mut d, false);
                        if opcode == Opcode::AvgPool {
                            d.count_include_pad = flags.5;
                            d.requant = if flags.4 { RequantMode::Float } else { RequantMode::None };
                            d.param_addr = if flags.4 { addrs[4] } else { 0 };
                        }
                    }
                    Opcode::GlobalAvgPool => {
                        (d.out_h, d.out_w) = (1, 1);
                        d.requant = if flags.4 { RequantMode::Fixed } else { RequantMode::None };
                        d.param_addr = if flags.4 { addrs[4] } else { 0 };
                    }
                    Opcode::End => d = LayerDescriptor::end(misc.0),
                }
                d
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn valid_descriptors_round_trip(d in descriptor()) {
            d.validate().map_err(|e| TestCaseError::fail(format!("generator made an invalid descriptor: {e}\n{d:?}")))?;
            let words = encode(&d);
            prop_assert_eq!(decode(&words), Ok(d));
        }

        /// The checksum catches any single flipped bit that the field checks let through.
        #[test]
        fn every_single_bit_flip_is_rejected(d in descriptor(), word in 0usize..=CHECKSUM_WORD, bit in 0u32..32) {
            let mut words = encode(&d);
            words[word] ^= 1 << bit;
            prop_assert!(decode(&words).is_err());
        }

        #[test]
        fn arbitrary_words_never_panic(words in prop::collection::vec(any::<u32>(), DESCRIPTOR_WORDS)) {
            let _ = decode(&words);
        }
    }
}
