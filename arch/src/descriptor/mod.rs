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

mod codes;
mod fields;
mod post_params;
mod validate;

pub use fields::{field, DescField, DESCRIPTOR_FIELDS, PERF_FIELDS};
pub use post_params::{param_kind, post_param_layouts, ParamKind, PostParams, POST_PARAM_BYTES, POST_PARAM_WORDS};
pub use validate::window_output;

use crate::config::ArchConfig;
use crate::plan::{plan_conv, ConvPlan};
use serde::{Deserialize, Serialize};
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
    /// CONV: zero tiles are skipped (not stored); see [`crate::zero_mask`].
    pub zero_skip: bool,
    /// CONV with `zero_skip`: tiles stored at `WEIGHT_ADDR`; 0 otherwise.
    pub k_tiles_stored: u32,
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
    #[error("{opcode} input of {bytes} bytes does not fit the activation buffer ({buffer} bytes): the layer must run on the host or the engine be generated with a larger buffer")]
    InputTooLarge { opcode: &'static str, bytes: u64, buffer: u32 },
    #[error("{opcode} parameter record: {reason}")]
    PostParams { opcode: &'static str, reason: String },
}

/// Words 0..=CHECKSUM_WORD summed mod 2^32.
fn word_sum(words: &[u32]) -> u32 {
    words[..=CHECKSUM_WORD].iter().fold(0u32, |s, &w| s.wrapping_add(w))
}

/// Bits of each word that some host-written field covers (the rest are reserved: must be zero).
pub fn covered_bits() -> [u32; DESCRIPTOR_WORDS] {
    covered_bits_for(true)
}

/// The fields of zero-tile skipping (FEATURES.ZERO_SKIP).
pub const ZERO_SKIP_FIELDS: [DescField; 2] = [field::ZERO_SKIP, field::K_TILES_STORED];

/// [`covered_bits`] of an engine with or without zero-tile skipping: an engine without it
/// treats [`ZERO_SKIP_FIELDS`] as reserved, so its sequencer refuses a skipping descriptor
/// (`RESERVED_BITS`) and its checks, hence its Verilog, are those of the engines before the
/// feature.
pub fn covered_bits_for(zero_skip: bool) -> [u32; DESCRIPTOR_WORDS] {
    let mut m = [0u32; DESCRIPTOR_WORDS];
    for f in DESCRIPTOR_FIELDS.iter().chain([&field::CHECKSUM]) {
        if zero_skip || !ZERO_SKIP_FIELDS.contains(f) {
            m[f.word] |= f.mask();
        }
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
        (ZERO_SKIP, d.zero_skip),
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
    K_TILES_STORED.put(&mut w, d.k_tiles_stored);
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
        zero_skip: b(ZERO_SKIP),
        k_tiles_stored: K_TILES_STORED.get(words),
    };
    d.validate()?;
    let sum = word_sum(words);
    if sum != 0 {
        return Err(DescriptorError::Checksum { sum });
    }
    Ok(d)
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
    /// Device address of the zero-tile mask of a `zero_skip` CONV layer: right after the
    /// stored tiles (`K_TILES_STORED` x the engine's tile bytes).
    pub fn mask_addr(&self, cfg: &ArchConfig) -> u64 {
        self.weight_addr + self.k_tiles_stored as u64 * cfg.weight_tile_bytes()
    }

    /// Weight tiles stored in DRAM: all of them, or `K_TILES_STORED` with skipping.
    pub fn stored_tiles(&self) -> u32 {
        if self.zero_skip {
            self.k_tiles_stored
        } else {
            self.k_tiles_total
        }
    }

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
/// Bytes a layer holds on chip while it runs, which must fit the activation buffer
/// (`act_buffer_bytes`; the post-op unit's buffers are at least that large):
/// * CONV, AVG_POOL, MAX_POOL: the whole input (windows read it in any order; row-band
///   streaming is not built yet);
/// * the post-op unit (ADD, the pools, GLOBAL_AVG_POOL) also buffers each input and its output
///   span (pixels x OUT_CH_STRIDE, channel-slice holes included) before one write.
///
/// `None` for END.
pub fn buffered_input_bytes(d: &LayerDescriptor) -> Option<u64> {
    let input = d.batch as u64 * d.in_h as u64 * d.in_w as u64 * d.in_c as u64;
    let out_pixels = d.batch as u64 * d.out_h as u64 * d.out_w as u64;
    let out_span = out_pixels * (d.out_ch_stride as u64).max(d.out_c as u64);
    match d.opcode? {
        Opcode::Conv => Some(input),
        Opcode::AvgPool | Opcode::MaxPool | Opcode::Add | Opcode::GlobalAvgPool => Some(input.max(out_span)),
        Opcode::End => None,
    }
}

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
    if let Some(bytes) = buffered_input_bytes(d) {
        if bytes > cfg.act_buffer_bytes as u64 {
            return Err(DescriptorError::InputTooLarge { opcode: name, bytes, buffer: cfg.act_buffer_bytes });
        }
    }
    if opcode != Opcode::Conv {
        return Ok(());
    }
    if d.zero_skip && !cfg.zero_skip() {
        return unsupported("zero-tile skipping (FEATURES.ZERO_SKIP)");
    }
    let plan = plan_conv(&d.conv_geometry(), cfg)
        .map_err(|e| DescriptorError::Plan { opcode: name, reason: e.to_string() })?;
    if d.zero_skip {
        let most = plan.o_tiles.iter().map(|o| o.k_tiles.len()).max().unwrap_or(0);
        if most > cfg.zero_skip_tiles as usize {
            return Err(DescriptorError::Plan {
                opcode: name,
                reason: format!(
                    "ZERO_SKIP with {most} k-tiles in an o-tile, the engine's mask holds {}",
                    cfg.zero_skip_tiles
                ),
            });
        }
    }
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
mod tests;
