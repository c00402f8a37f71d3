//! The meaning checks of a descriptor: ranges, geometry consistency, unused fields zero.

use super::{
    encode, field, DescField, DescriptorError, LayerDescriptor, Opcode, RequantMode, CHECKSUM_WORD, DESCRIPTOR_FIELDS,
};
use crate::plan::ConvGeometry;
use crate::regmap::DRAM_ALIGN;
use systole_model::ir::Padding2d;

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

/// The reason of every alignment failure (one text, so [`super::DescriptorError::error_code`]
/// can tell BAD_ALIGNMENT from the other field checks).
pub(crate) fn misaligned_reason() -> String {
    format!("DRAM address not {DRAM_ALIGN}-byte aligned")
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
        self.check(f, value as i64, value.is_multiple_of(DRAM_ALIGN), misaligned_reason());
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
        // Zero-tile skipping: every o-tile keeps its first tile (the bias is added there).
        if conv && self.zero_skip {
            c.check(
                K_TILES_STORED,
                self.k_tiles_stored as i64,
                self.k_tiles_stored >= self.o_tiles as u32 && self.k_tiles_stored <= self.k_tiles_total,
                "not between O_TILES (each o-tile keeps its first tile) and K_TILES_TOTAL",
            );
        } else {
            c.zero(ZERO_SKIP, self.zero_skip as i64);
            c.zero(K_TILES_STORED, self.k_tiles_stored as i64);
        }
        c.done()
    }
}
