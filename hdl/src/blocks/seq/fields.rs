//! One signal per `arch::descriptor::DESCRIPTOR_FIELDS` entry, named after the field in lower
//! case with the table's width, sliced from the sequencer's kept descriptor words (raw bits:
//! signed fields are two's complement). The field list below is checked against the table by
//! `hdl/tests/top.rs` (names, widths, order) and the slices come from the table's word / lsb, so
//! the two cannot drift apart.

use super::consts::{wide, DESC_BITS, KEPT_WORDS};
use rust_hdl::prelude::*;
use systole_arch::descriptor::covered_bits_for;
use systole_arch::descriptor::field;

/// Bit offset of `f` in the kept words.
const fn off(f: systole_arch::descriptor::DescField) -> usize {
    f.word * 32 + f.lsb as usize
}

macro_rules! desc_fields {
    ($($name:ident, $width:literal, $field:ident;)*) => {
        /// The descriptor's fields as ports (combinational slices of `words`).
        #[derive(LogicBlock)]
        pub struct DescFields {
            /// `Sequencer::desc`: descriptor words 0..31.
            pub words: Signal<In, Bits<DESC_BITS>>,
            $(pub $name: Signal<Out, Bits<$width>>,)*
            /// A reserved bit of the kept words is set (never, after the sequencer's checks;
            /// units may assert on it). Also reads every bit of `words`.
            pub reserved: Signal<Out, Bit>,
            k_res: Constant<Bits<DESC_BITS>>,
            k_zero: Constant<Bits<DESC_BITS>>,
        }

        impl DescFields {
            /// The fields of an engine with (`zero_skip`) or without zero-tile skipping: its
            /// two fields are reserved bits on the latter.
            pub fn new(zero_skip: bool) -> Self {
                let covered = covered_bits_for(zero_skip);
                let res: Vec<u32> = (0..KEPT_WORDS).map(|w| !covered[w]).collect();
                DescFields {
                    words: Default::default(),
                    $($name: Default::default(),)*
                    reserved: Default::default(),
                    k_res: Constant::new(wide::<DESC_BITS>(&res)),
                    k_zero: Constant::new(Bits::default()),
                }
            }
        }

        impl Logic for DescFields {
            #[hdl_gen]
            fn update(&mut self) {
                $(
                    for o in (off(field::$field))..(off(field::$field) + 1) {
                        self.$name.next = self.words.val().get_bits::<$width>(o);
                    }
                )*
                self.reserved.next = (self.words.val() & self.k_res.val()) != self.k_zero.val();
            }
        }

        /// (port name, width) in table order, for the consistency test.
        pub const FIELD_PORTS: &[(&str, usize)] = &[$((stringify!($name), $width),)*];
    };
}

desc_fields! {
    magic, 32, MAGIC;
    version, 8, VERSION;
    opcode, 8, OPCODE;
    requant, 2, REQUANT;
    in_signed, 1, IN_SIGNED;
    in2_signed, 1, IN2_SIGNED;
    out_signed, 1, OUT_SIGNED;
    weight_signed, 1, WEIGHT_SIGNED;
    weight_zp_per_channel, 1, WEIGHT_ZP_PER_CHANNEL;
    count_include_pad, 1, COUNT_INCLUDE_PAD;
    zero_skip, 1, ZERO_SKIP;
    layer_index, 16, LAYER_INDEX;
    batch, 16, BATCH;
    in_h, 16, IN_H;
    in_w, 16, IN_W;
    in_c, 16, IN_C;
    groups, 16, GROUPS;
    out_h, 16, OUT_H;
    out_w, 16, OUT_W;
    out_c, 16, OUT_C;
    kernel_h, 8, KERNEL_H;
    kernel_w, 8, KERNEL_W;
    stride_h, 8, STRIDE_H;
    stride_w, 8, STRIDE_W;
    dilation_h, 8, DILATION_H;
    dilation_w, 8, DILATION_W;
    pad_top, 8, PAD_TOP;
    pad_left, 8, PAD_LEFT;
    pad_bottom, 8, PAD_BOTTOM;
    pad_right, 8, PAD_RIGHT;
    in_zp, 16, IN_ZP;
    in2_zp, 16, IN2_ZP;
    out_zp, 16, OUT_ZP;
    weight_zp, 16, WEIGHT_ZP;
    act_min, 16, ACT_MIN;
    act_max, 16, ACT_MAX;
    out_ch_stride, 16, OUT_CH_STRIDE;
    out_ch_offset, 16, OUT_CH_OFFSET;
    input_addr_lo, 32, INPUT_ADDR_LO;
    input_addr_hi, 32, INPUT_ADDR_HI;
    input2_addr_lo, 32, INPUT2_ADDR_LO;
    input2_addr_hi, 32, INPUT2_ADDR_HI;
    output_addr_lo, 32, OUTPUT_ADDR_LO;
    output_addr_hi, 32, OUTPUT_ADDR_HI;
    weight_addr_lo, 32, WEIGHT_ADDR_LO;
    weight_addr_hi, 32, WEIGHT_ADDR_HI;
    param_addr_lo, 32, PARAM_ADDR_LO;
    param_addr_hi, 32, PARAM_ADDR_HI;
    o_tiles, 16, O_TILES;
    kt_nx, 16, KT_NX;
    kt_nc, 16, KT_NC;
    pixel_blocks, 32, PIXEL_BLOCKS;
    k_tiles_total, 32, K_TILES_TOTAL;
    k_tiles_stored, 32, K_TILES_STORED;
}
