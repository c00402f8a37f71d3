//! `ConvUnit`: one CONV layer (standard, grouped, depthwise, FC) from `start` to `done`, the
//! layer-unit interface of units.md. Sequencing (every overlap is a closed recurrence, so
//! `arch::timing::conv` is exact):
//!
//! 1. `SETUP` (fixed [`SETUP_CYCLES`]): products of the geometry (input bytes, pixels, block
//!    stride), channels per group by [`Div16`]; the im2col reader's own layer setup starts too.
//! 2. `LOAD`: the whole input by one DMA read into the reader's banks (buffer address 0), then
//!    wait for the reader's setup.
//! 3. Per o-tile: `GROUP` walks its `no` channels through the groups (input channel window
//!    `c_lo..c_hi` without division), `PARAM` reads its `no` x 16 bytes of channel params into
//!    per-column registers.
//! 4. Per pixel block, per k-tile (ky, kx-run, c-run, arch's `plan_conv` order): `WEIGHTS` reads
//!    the R x C tile (packer order, row-major) into the tile buffer, `SHIFT` shifts its rows into
//!    the array bottom row first (R cycles), `ISSUE` gives the reader the tile command. The
//!    tiles of a block overlap: the next tile's weights are fetched as soon as this tile is
//!    issued (the tile buffer is free once its rows are shifted), and shifted as soon as this
//!    tile's first row enters the array (the array's loading rule), so the reader streams the
//!    block's tiles back to back whenever a tile has more pixels than its fetch + shift take.
//!    The accumulator adds each tile's column sums into the psum memories (bias on the block's
//!    first tile); `STREAM` waits for the block's last sum.
//! 5. Write-back per block: the `SliceWalker` walks the block's masked contiguous range; each
//!    strobed slot reads its (pixel, channel) sum, one requant lane turns it into a byte, the
//!    `BeatPacker` makes beats; each beat is written by its own one-beat DMA command (v1: the
//!    walker pauses while the beat is written, so nothing needs a FIFO).
//!
//! One requant lane: the write-back produces one byte slot per cycle (the walker's order is the
//! DRAM byte order), so more lanes would wait on the packer; see hdl/README.md for the cost.

use super::div::{Div16, STEPS as DIV_STEPS};
use super::nibble::SignExtend4;
use super::packer::BeatPacker;
use super::walker::SliceWalker;
use crate::blocks::array::SystolicArray;
use crate::blocks::delay::Delay;
use crate::blocks::im2col::regs::{COUNT_BITS, ROW_BITS};
use crate::blocks::im2col::Im2colReader;
use crate::blocks::requant::{RequantUnit, LATENCY as RQ_LATENCY};
use crate::emit::Waiver;
use rust_hdl::prelude::*;
use systole_arch::ArchConfig;
use thiserror::Error;

/// Cycles of the `SETUP` phase (the dividers' steps, then two cycles of products).
pub const SETUP_CYCLES: usize = DIV_STEPS + 2;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConvUnitError {
    #[error("ConvUnit<W = {w}>: {what}")]
    Shape { w: usize, what: String },
}

/// Phase codes (`state`).
mod st {
    pub const IDLE: u64 = 0;
    pub const SETUP: u64 = 1;
    pub const LOAD: u64 = 2;
    pub const OT_BEGIN: u64 = 3;
    pub const GROUP: u64 = 4;
    pub const NXNC: u64 = 5;
    pub const PCMD: u64 = 6;
    pub const PDATA: u64 = 7;
    pub const BLK_BEGIN: u64 = 8;
    pub const WCMD: u64 = 9;
    pub const WDATA: u64 = 10;
    pub const SHIFT: u64 = 11;
    pub const ISSUE: u64 = 12;
    pub const STREAM: u64 = 13;
    pub const KT_NEXT: u64 = 14;
    pub const WB_BEGIN: u64 = 15;
    pub const WB_FILL: u64 = 16;
    pub const WB_BEAT: u64 = 17;
    pub const WB_CMD: u64 = 18;
    pub const WB_RESP: u64 = 19;
    pub const BLK_END: u64 = 20;
    pub const OT_END: u64 = 21;
    pub const DONE: u64 = 22;
    pub const MCMD: u64 = 23;
    pub const MDATA: u64 = 24;
}

#[derive(LogicBlock)]
pub struct ConvUnit<const W: usize, const S: usize, const AW: usize, const PA: usize> {
    pub clock: Signal<In, Clock>,
    pub reset: Signal<In, Bit>,
    pub start: Signal<In, Bit>,
    // Descriptor fields (raw bits, units.md).
    pub requant: Signal<In, Bits<2>>,
    pub in_signed: Signal<In, Bit>,
    pub weight_signed: Signal<In, Bit>,
    pub weight_zp_per_channel: Signal<In, Bit>,
    pub batch: Signal<In, Bits<16>>,
    pub in_h: Signal<In, Bits<16>>,
    pub in_w: Signal<In, Bits<16>>,
    pub in_c: Signal<In, Bits<16>>,
    pub groups: Signal<In, Bits<16>>,
    pub out_h: Signal<In, Bits<16>>,
    pub out_w: Signal<In, Bits<16>>,
    pub out_c: Signal<In, Bits<16>>,
    pub kernel_h: Signal<In, Bits<8>>,
    pub kernel_w: Signal<In, Bits<8>>,
    pub stride_h: Signal<In, Bits<8>>,
    pub stride_w: Signal<In, Bits<8>>,
    pub dilation_h: Signal<In, Bits<8>>,
    pub dilation_w: Signal<In, Bits<8>>,
    pub pad_top: Signal<In, Bits<8>>,
    pub pad_left: Signal<In, Bits<8>>,
    pub in_zp: Signal<In, Bits<16>>,
    pub out_zp: Signal<In, Bits<16>>,
    pub weight_zp: Signal<In, Bits<16>>,
    pub act_min: Signal<In, Bits<16>>,
    pub act_max: Signal<In, Bits<16>>,
    pub out_ch_stride: Signal<In, Bits<16>>,
    pub out_ch_offset: Signal<In, Bits<16>>,
    pub input_addr_lo: Signal<In, Bits<32>>,
    pub output_addr_lo: Signal<In, Bits<32>>,
    pub weight_addr_lo: Signal<In, Bits<32>>,
    pub param_addr_lo: Signal<In, Bits<32>>,
    pub o_tiles: Signal<In, Bits<16>>,
    pub kt_nx: Signal<In, Bits<16>>,
    /// Zero-tile skipping (an engine with `zero_skip_tiles` > 0; the sequencer refuses the
    /// fields elsewhere): the layer's kept tiles, then one mask record per o-tile.
    pub zero_skip: Signal<In, Bit>,
    pub k_tiles_stored: Signal<In, Bits<32>>,
    // DMA read client.
    pub rd_cmd_valid: Signal<Out, Bit>,
    pub rd_cmd_ready: Signal<In, Bit>,
    pub rd_cmd_addr: Signal<Out, Bits<32>>,
    pub rd_cmd_beats: Signal<Out, Bits<24>>,
    pub rd_valid: Signal<In, Bit>,
    pub rd_ready: Signal<Out, Bit>,
    pub rd_data: Signal<In, Bits<W>>,
    pub rd_last: Signal<In, Bit>,
    // DMA write client.
    pub wr_cmd_valid: Signal<Out, Bit>,
    pub wr_cmd_ready: Signal<In, Bit>,
    pub wr_cmd_addr: Signal<Out, Bits<32>>,
    pub wr_cmd_beats: Signal<Out, Bits<24>>,
    pub wr_valid: Signal<Out, Bit>,
    pub wr_ready: Signal<In, Bit>,
    pub wr_data: Signal<Out, Bits<W>>,
    pub wr_strb: Signal<Out, Bits<S>>,
    pub wr_done: Signal<In, Bit>,
    pub wr_error: Signal<In, Bit>,
    pub done: Signal<Out, Bit>,
    pub error: Signal<Out, Bit>,
    pub error_code: Signal<Out, Bits<8>>,
    pub stall: Signal<Out, Bit>,
    // ---- Blocks.
    reader: Im2colReader<W, AW>,
    array: SystolicArray<32>,
    requant_lane: RequantUnit,
    strobe_line: Delay<1, RQ_LATENCY>,
    walker: SliceWalker,
    packer: BeatPacker<W, S>,
    div_og: Div16,
    div_cg: Div16,
    psum: Vec<RAM<Bits<32>, PA>>,
    // ---- Control state.
    state: DFF<Bits<5>>,
    count: DFF<Bits<16>>,
    cmd_sent: DFF<Bit>,
    beat_idx: DFF<Bits<24>>,
    // Layer products (SETUP).
    hw: DFF<Bits<32>>,
    ohw: DFF<Bits<32>>,
    hwc: DFF<Bits<32>>,
    pixels: DFF<Bits<32>>,
    in_beats: DFF<Bits<32>>,
    blk_step: DFF<Bits<32>>,
    // O-tile.
    ot_left: DFF<Bits<16>>,
    o0: DFF<Bits<16>>,
    no: DFF<Bits<16>>,
    g_rem: DFF<Bits<16>>,
    g_base: DFF<Bits<16>>,
    c_lo: DFF<Bits<16>>,
    c_hi: DFF<Bits<16>>,
    nx: DFF<Bits<8>>,
    nc: DFF<Bits<16>>,
    ot_first: DFF<Bits<32>>,
    // Block and k-tile.
    blk_first: DFF<Bit>,
    px_left: DFF<Bits<32>>,
    np: DFF<Bits<16>>,
    blk_addr: DFF<Bits<32>>,
    wt_addr: DFF<Bits<32>>,
    kt_first: DFF<Bit>,
    ky: DFF<Bits<8>>,
    kx0: DFF<Bits<8>>,
    c0: DFF<Bits<16>>,
    // Zero-tile skipping: the next o-tile's mask record address, the k-tile the walk is at
    // (plan order, kept or skipped), and the o-tile's record (bit t: k-tile t skipped).
    mask_addr: DFF<Bits<32>>,
    kt_pos: DFF<Bits<16>>,
    mask: Vec<DFF<Bits<W>>>,
    // Accumulation pipeline.
    acc_pix: DFF<Bits<16>>,
    acc_done: DFF<Bits<16>>,
    acc_v: DFF<Bit>,
    acc_addr: DFF<Bits<PA>>,
    acc_sum: Vec<DFF<Bits<32>>>,
    acc_first: DFF<Bit>,
    acc_first_w: DFF<Bit>,
    // Overlap: tiles issued to the reader and not yet accumulated; the last issued tile's
    // first row has reached the array (the next tile's rows may be shifted).
    in_flight: DFF<Bits<16>>,
    started: DFF<Bit>,
    // Write-back.
    wb_last: DFF<Bit>,
    wb_addr: DFF<Bits<32>>,
    rq_v: DFF<Bit>,
    rq_s: DFF<Bit>,
    rq_ch: DFF<Bits<16>>,
    beat_data: DFF<Bits<W>>,
    beat_strb: DFF<Bits<S>>,
    beat_pending: DFF<Bit>,
    done_pulse: DFF<Bit>,
    err_pulse: DFF<Bit>,
    // Buffers.
    /// 8-bit engine: one weight byte per PE (empty on a 4-bit engine).
    tile: Vec<DFF<Bits<8>>>,
    /// 4-bit engine: one weight nibble per PE (empty on an 8-bit engine): half the flip-flops.
    tile4: Vec<DFF<Bits<4>>>,
    params: Vec<DFF<Bits<32>>>,
    // ---- Constants.
    s_idle: Constant<Bits<5>>,
    s_setup: Constant<Bits<5>>,
    s_load: Constant<Bits<5>>,
    s_ot_begin: Constant<Bits<5>>,
    s_group: Constant<Bits<5>>,
    s_nxnc: Constant<Bits<5>>,
    s_pcmd: Constant<Bits<5>>,
    s_pdata: Constant<Bits<5>>,
    s_blk_begin: Constant<Bits<5>>,
    s_wcmd: Constant<Bits<5>>,
    s_wdata: Constant<Bits<5>>,
    s_shift: Constant<Bits<5>>,
    s_issue: Constant<Bits<5>>,
    s_stream: Constant<Bits<5>>,
    s_kt_next: Constant<Bits<5>>,
    s_wb_begin: Constant<Bits<5>>,
    s_wb_fill: Constant<Bits<5>>,
    s_wb_beat: Constant<Bits<5>>,
    s_wb_cmd: Constant<Bits<5>>,
    s_wb_resp: Constant<Bits<5>>,
    s_blk_end: Constant<Bits<5>>,
    s_ot_end: Constant<Bits<5>>,
    s_done: Constant<Bits<5>>,
    s_mcmd: Constant<Bits<5>>,
    s_mdata: Constant<Bits<5>>,
    /// Record beat b (= mask word b) and its word id (k-tile index / W).
    mask_beat: Vec<Constant<Bits<24>>>,
    mask_word_id: Vec<Constant<Bits<16>>>,
    k_mask_beats: Constant<Bits<24>>,
    k_mask_record: Constant<Bits<32>>,
    k_tile_bytes_16: Constant<Bits<16>>,
    k_log2_w_16: Constant<Bits<16>>,
    k_w_m1_16: Constant<Bits<16>>,
    k0_w: Constant<Bits<W>>,
    tile_beat: Vec<Constant<Bits<24>>>,
    tile_off: Vec<Constant<Bits<W>>>,
    param_beat: Vec<Constant<Bits<24>>>,
    param_off: Vec<Constant<Bits<W>>>,
    row_id: Vec<Constant<Bits<16>>>,
    col_id: Vec<Constant<Bits<16>>>,
    k_rows_16: Constant<Bits<16>>,
    k_rows_m1: Constant<Bits<16>>,
    k_cols_16: Constant<Bits<16>>,
    k_pb_32: Constant<Bits<32>>,
    k_pb_16: Constant<Bits<16>>,
    k_tile_bytes: Constant<Bits<32>>,
    k_tile_beats: Constant<Bits<24>>,
    k_beat_bytes: Constant<Bits<32>>,
    k_beat_m1: Constant<Bits<32>>,
    k_log2_beat: Constant<Bits<32>>,
    k_setup_last: Constant<Bits<16>>,
    k_param_shift: Constant<Bits<32>>,
    k_dma_error: Constant<Bits<8>>,
    k0_16: Constant<Bits<16>>,
    k1_16: Constant<Bits<16>>,
    k0_32: Constant<Bits<32>>,
    k16_32: Constant<Bits<32>>,
    k0_24: Constant<Bits<24>>,
    k1_24: Constant<Bits<24>>,
    k1_8: Constant<Bits<8>>,
    k0_8: Constant<Bits<8>>,
    k_float: Constant<Bits<2>>,
    k_mode_restart: Constant<Bits<2>>,
    k_mode_next: Constant<Bits<2>>,
    k_mode_same: Constant<Bits<2>>,
    k0_aw: Constant<Bits<AW>>,
    k_log2_beat_aw: Constant<Bits<AW>>,
    k0_1: Constant<Bits<1>>,
    k1_1: Constant<Bits<1>>,
    // ---- Combinational helpers.
    hw_lo: Signal<Local, Bits<16>>,
    hw_hi: Signal<Local, Bits<16>>,
    ohw_lo: Signal<Local, Bits<16>>,
    ohw_hi: Signal<Local, Bits<16>>,
    hwc_lo: Signal<Local, Bits<16>>,
    hwc_hi: Signal<Local, Bits<16>>,
    prod_a: Signal<Local, Bits<32>>,
    prod_b: Signal<Local, Bits<32>>,
    prod_c: Signal<Local, Bits<32>>,
    prod_d: Signal<Local, Bits<32>>,
    prod_e: Signal<Local, Bits<32>>,
    prod_f: Signal<Local, Bits<32>>,
    in_bytes: Signal<Local, Bits<32>>,
    kts_lo: Signal<Local, Bits<16>>,
    kts_hi: Signal<Local, Bits<16>>,
    prod_g: Signal<Local, Bits<32>>,
    prod_h: Signal<Local, Bits<32>>,
    kt_pos_next: Signal<Local, Bits<16>>,
    mask_word_idx: Signal<Local, Bits<16>>,
    mask_bit_idx: Signal<Local, Bits<16>>,
    mask_bit_w: Signal<Local, Bits<W>>,
    mask_sel: Signal<Local, Bits<W>>,
    mask_shifted: Signal<Local, Bits<W>>,
    skip_next: Signal<Local, Bit>,
    /// The skipping ports as the unit reads them: tied to 0 on an engine without the feature,
    /// so synthesis removes the mask path there.
    skip_on: Signal<Local, Bit>,
    kts: Signal<Local, Bits<32>>,
    rd_take: Signal<Local, Bit>,
    rd_beat_last: Signal<Local, Bit>,
    no_next: Signal<Local, Bits<16>>,
    window: Signal<Local, Bits<16>>,
    wzp_16: Signal<Local, Bits<16>>,
    kt_nx_16: Signal<Local, Bits<16>>,
    nx_eff: Signal<Local, Bits<8>>,
    nc_eff: Signal<Local, Bits<16>>,
    kx_room: Signal<Local, Bits<8>>,
    c_room: Signal<Local, Bits<16>>,
    c_next: Signal<Local, Bits<16>>,
    kx_next: Signal<Local, Bits<8>>,
    kt_last: Signal<Local, Bit>,
    o0_32: Signal<Local, Bits<32>>,
    no_32: Signal<Local, Bits<32>>,
    param_bytes: Signal<Local, Bits<32>>,
    param_beats: Signal<Local, Bits<32>>,
    off_32: Signal<Local, Bits<32>>,
    beat_shift: Vec<Signal<Local, Bits<W>>>,
    /// 4-bit engine: column c's nibble of the row being shifted, and its unpacker to the
    /// array's weight byte (the packer's int4 is two's complement, sign-extended as the cycle
    /// model unpacks it, `sim::functional::conv`).
    w_nib: Vec<Signal<Local, Bits<4>>>,
    w_ext: Vec<SignExtend4>,
    param_shift: Vec<Signal<Local, Bits<W>>>,
    row_sel: Signal<Local, Bits<16>>,
    zp_a16: Signal<Local, Bits<16>>,
    w_zp_bits: Vec<Signal<Local, Bits<9>>>,
    a_zp_bits: Signal<Local, Bits<9>>,
    psum_bits: Vec<Signal<Local, Bits<32>>>,
    acc_in: Signal<Local, Bits<32>>,
    rq_mult: Signal<Local, Bits<32>>,
    rq_shift: Signal<Local, Bits<32>>,
    rq_shift8: Signal<Local, Bits<8>>,
    out_zp_s: Signal<Local, Signed<16>>,
    act_min_s: Signal<Local, Signed<16>>,
    act_max_s: Signal<Local, Signed<16>>,
    y_bits: Signal<Local, Bits<32>>,
    y_byte: Signal<Local, Bits<8>>,
    walker_take: Signal<Local, Bit>,
    read_pix: Signal<Local, Bits<16>>,
    wr_beat: Signal<Local, Bits<AW>>,
    np_32: Signal<Local, Bits<32>>,
    beat_32: Signal<Local, Bits<32>>,
    shift_go: Signal<Local, Bit>,
    acc_tile_end: Signal<Local, Bit>,
    _rows: usize,
    _cols: usize,
    /// C on an 8-bit engine, 0 on a 4-bit one (loop bounds of the byte tile path), and the
    /// other way round.
    _cols8: usize,
    _cols4: usize,
    /// 1 on an engine with zero-tile skipping, else 0 (the loop bound that wires its ports).
    _zs: usize,
}

fn consts<T: Synth>(n: usize, f: impl Fn(usize) -> T) -> Vec<Constant<T>> {
    (0..n).map(|i| Constant::new(f(i))).collect()
}

fn sigs<T: Synth>(n: usize) -> Vec<Signal<Local, T>> {
    (0..n).map(|_| Default::default()).collect()
}

impl<const W: usize, const S: usize, const AW: usize, const PA: usize> ConvUnit<W, S, AW, PA> {
    /// The unit of engine `cfg` (R, C, PB = 2^PA, activation buffer 2^AW bytes).
    pub fn new(cfg: &ArchConfig) -> Result<Self, ConvUnitError> {
        let err = |what: String| ConvUnitError::Shape { w: W, what };
        let (rows, cols) = (cfg.rows as usize, cfg.cols as usize);
        let beat = W / 8;
        if S * 8 != W || !matches!(W, 64 | 128 | 256 | 512) {
            return Err(err(format!("S = {S} must be W / 8 and W one of 64..512")));
        }
        if cfg.dma_data_bits as usize != W {
            return Err(err(format!("the config's DMA width is {}", cfg.dma_data_bits)));
        }
        if cfg.acc_bits != 32 {
            return Err(err(format!("acc_bits {} (the requantiser takes 32)", cfg.acc_bits)));
        }
        if !matches!(cfg.weight_bits, 8 | 4) {
            return Err(err(format!("weight_bits {} (8 or 4)", cfg.weight_bits)));
        }
        if cfg.psum_depth as usize != 1 << PA || PA > 15 {
            return Err(err(format!("psum_depth {} is not 2^PA = 2^{PA} (PA <= 15)", cfg.psum_depth)));
        }
        if cfg.act_buffer_bytes as usize != 1 << AW {
            return Err(err(format!("act_buffer_bytes {} is not 2^AW = 2^{AW}", cfg.act_buffer_bytes)));
        }
        // A 4-bit engine's tile is R x C / 2 bytes in DRAM (two weights per byte, low nibble
        // first) and R x C nibbles in the tile buffer.
        let int4 = cfg.weight_bits == 4;
        let tile_bytes = cfg.weight_tile_bytes() as usize;
        if !tile_bytes.is_multiple_of(beat) || !(cols * 16).is_multiple_of(beat) {
            return Err(err(format!(
                "a {rows}x{cols} tile ({tile_bytes} bytes) or {cols} x 16 param bytes is not whole {beat}-byte beats"
            )));
        }
        let pes = rows * cols;
        // Tile buffer entry i (PE i, row-major) is DRAM tile byte i (8-bit) or nibble i (4-bit):
        // its beat and its bit offset in the beat.
        let (entry_bits, per_beat) = if int4 { (4, 2 * beat) } else { (8, beat) };
        let reader = Im2colReader::new(rows).map_err(|e| err(e.to_string()))?;
        // Zero-tile skipping: the mask base is K_TILES_STORED x the tile's bytes, a 16 x 16
        // product per half of the count.
        let mask_beats = (cfg.mask_record_bytes() / beat as u64) as usize;
        if cfg.zero_skip() && tile_bytes >= 1 << 16 {
            return Err(err(format!("zero-tile skipping with {tile_bytes}-byte tiles (below 64 KB)")));
        }
        Ok(Self {
            clock: Default::default(),
            reset: Default::default(),
            start: Default::default(),
            requant: Default::default(),
            in_signed: Default::default(),
            weight_signed: Default::default(),
            weight_zp_per_channel: Default::default(),
            batch: Default::default(),
            in_h: Default::default(),
            in_w: Default::default(),
            in_c: Default::default(),
            groups: Default::default(),
            out_h: Default::default(),
            out_w: Default::default(),
            out_c: Default::default(),
            kernel_h: Default::default(),
            kernel_w: Default::default(),
            stride_h: Default::default(),
            stride_w: Default::default(),
            dilation_h: Default::default(),
            dilation_w: Default::default(),
            pad_top: Default::default(),
            pad_left: Default::default(),
            in_zp: Default::default(),
            out_zp: Default::default(),
            weight_zp: Default::default(),
            act_min: Default::default(),
            act_max: Default::default(),
            out_ch_stride: Default::default(),
            out_ch_offset: Default::default(),
            input_addr_lo: Default::default(),
            output_addr_lo: Default::default(),
            weight_addr_lo: Default::default(),
            param_addr_lo: Default::default(),
            o_tiles: Default::default(),
            kt_nx: Default::default(),
            zero_skip: Default::default(),
            k_tiles_stored: Default::default(),
            rd_cmd_valid: Default::default(),
            rd_cmd_ready: Default::default(),
            rd_cmd_addr: Default::default(),
            rd_cmd_beats: Default::default(),
            rd_valid: Default::default(),
            rd_ready: Default::default(),
            rd_data: Default::default(),
            rd_last: Default::default(),
            wr_cmd_valid: Default::default(),
            wr_cmd_ready: Default::default(),
            wr_cmd_addr: Default::default(),
            wr_cmd_beats: Default::default(),
            wr_valid: Default::default(),
            wr_ready: Default::default(),
            wr_data: Default::default(),
            wr_strb: Default::default(),
            wr_done: Default::default(),
            wr_error: Default::default(),
            done: Default::default(),
            error: Default::default(),
            error_code: Default::default(),
            stall: Default::default(),
            reader,
            array: SystolicArray::with_weight_bits(rows, cols, cfg.fabric_pe_rows as usize, cfg.weight_bits),
            requant_lane: Default::default(),
            strobe_line: Default::default(),
            walker: SliceWalker::new(beat),
            packer: Default::default(),
            div_og: Default::default(),
            div_cg: Default::default(),
            psum: (0..cols).map(|_| Default::default()).collect(),
            state: Default::default(),
            count: Default::default(),
            cmd_sent: Default::default(),
            beat_idx: Default::default(),
            hw: Default::default(),
            ohw: Default::default(),
            hwc: Default::default(),
            pixels: Default::default(),
            in_beats: Default::default(),
            blk_step: Default::default(),
            ot_left: Default::default(),
            o0: Default::default(),
            no: Default::default(),
            g_rem: Default::default(),
            g_base: Default::default(),
            c_lo: Default::default(),
            c_hi: Default::default(),
            nx: Default::default(),
            nc: Default::default(),
            ot_first: Default::default(),
            blk_first: Default::default(),
            px_left: Default::default(),
            np: Default::default(),
            blk_addr: Default::default(),
            wt_addr: Default::default(),
            kt_first: Default::default(),
            ky: Default::default(),
            kx0: Default::default(),
            c0: Default::default(),
            mask_addr: Default::default(),
            kt_pos: Default::default(),
            mask: (0..mask_beats).map(|_| Default::default()).collect(),
            acc_pix: Default::default(),
            acc_done: Default::default(),
            acc_v: Default::default(),
            acc_addr: Default::default(),
            acc_sum: (0..cols).map(|_| Default::default()).collect(),
            acc_first: Default::default(),
            acc_first_w: Default::default(),
            in_flight: Default::default(),
            started: Default::default(),
            wb_last: Default::default(),
            wb_addr: Default::default(),
            rq_v: Default::default(),
            rq_s: Default::default(),
            rq_ch: Default::default(),
            beat_data: Default::default(),
            beat_strb: Default::default(),
            beat_pending: Default::default(),
            done_pulse: Default::default(),
            err_pulse: Default::default(),
            tile: (0..if int4 { 0 } else { pes }).map(|_| Default::default()).collect(),
            tile4: (0..if int4 { pes } else { 0 }).map(|_| Default::default()).collect(),
            params: (0..cols * 4).map(|_| Default::default()).collect(),
            s_idle: Constant::new(bits::<5>(st::IDLE)),
            s_setup: Constant::new(bits::<5>(st::SETUP)),
            s_load: Constant::new(bits::<5>(st::LOAD)),
            s_ot_begin: Constant::new(bits::<5>(st::OT_BEGIN)),
            s_group: Constant::new(bits::<5>(st::GROUP)),
            s_nxnc: Constant::new(bits::<5>(st::NXNC)),
            s_pcmd: Constant::new(bits::<5>(st::PCMD)),
            s_pdata: Constant::new(bits::<5>(st::PDATA)),
            s_blk_begin: Constant::new(bits::<5>(st::BLK_BEGIN)),
            s_wcmd: Constant::new(bits::<5>(st::WCMD)),
            s_wdata: Constant::new(bits::<5>(st::WDATA)),
            s_shift: Constant::new(bits::<5>(st::SHIFT)),
            s_issue: Constant::new(bits::<5>(st::ISSUE)),
            s_stream: Constant::new(bits::<5>(st::STREAM)),
            s_kt_next: Constant::new(bits::<5>(st::KT_NEXT)),
            s_wb_begin: Constant::new(bits::<5>(st::WB_BEGIN)),
            s_wb_fill: Constant::new(bits::<5>(st::WB_FILL)),
            s_wb_beat: Constant::new(bits::<5>(st::WB_BEAT)),
            s_wb_cmd: Constant::new(bits::<5>(st::WB_CMD)),
            s_wb_resp: Constant::new(bits::<5>(st::WB_RESP)),
            s_blk_end: Constant::new(bits::<5>(st::BLK_END)),
            s_ot_end: Constant::new(bits::<5>(st::OT_END)),
            s_done: Constant::new(bits::<5>(st::DONE)),
            s_mcmd: Constant::new(bits::<5>(st::MCMD)),
            s_mdata: Constant::new(bits::<5>(st::MDATA)),
            mask_beat: consts(mask_beats, |b| bits::<24>(b as u64)),
            mask_word_id: consts(mask_beats, |b| bits::<16>(b as u64)),
            k_mask_beats: Constant::new(bits::<24>(mask_beats as u64)),
            k_mask_record: Constant::new(bits::<32>(cfg.mask_record_bytes())),
            k_tile_bytes_16: Constant::new(bits::<16>(tile_bytes as u64 & 0xffff)),
            k_log2_w_16: Constant::new(bits::<16>(u64::from(W.trailing_zeros()))),
            k_w_m1_16: Constant::new(bits::<16>(W as u64 - 1)),
            k0_w: Constant::new(Bits::default()),
            tile_beat: consts(pes, |i| bits::<24>((i / per_beat) as u64)),
            tile_off: consts(pes, |i| bits::<W>((entry_bits * (i % per_beat)) as u64)),
            param_beat: consts(cols * 4, |i| bits::<24>((4 * i / beat) as u64)),
            param_off: consts(cols * 4, |i| bits::<W>((32 * (i % (beat / 4))) as u64)),
            row_id: consts(rows, |i| bits::<16>(i as u64)),
            col_id: consts(cols, |i| bits::<16>(i as u64)),
            k_rows_16: Constant::new(bits::<16>(rows as u64)),
            k_rows_m1: Constant::new(bits::<16>(rows as u64 - 1)),
            k_cols_16: Constant::new(bits::<16>(cols as u64)),
            k_pb_32: Constant::new(bits::<32>(1 << PA)),
            k_pb_16: Constant::new(bits::<16>(1 << PA)),
            k_tile_bytes: Constant::new(bits::<32>(tile_bytes as u64)),
            k_tile_beats: Constant::new(bits::<24>((tile_bytes / beat) as u64)),
            k_beat_bytes: Constant::new(bits::<32>(beat as u64)),
            k_beat_m1: Constant::new(bits::<32>(beat as u64 - 1)),
            k_log2_beat: Constant::new(bits::<32>(u64::from(beat.trailing_zeros()))),
            k_setup_last: Constant::new(bits::<16>(SETUP_CYCLES as u64 - 1)),
            k_param_shift: Constant::new(bits::<32>(4)),
            k_dma_error: Constant::new(bits::<8>(systole_arch::regmap::ErrorCode::DmaError as u64)),
            k0_16: Constant::new(bits::<16>(0)),
            k1_16: Constant::new(bits::<16>(1)),
            k0_32: Constant::new(bits::<32>(0)),
            k16_32: Constant::new(bits::<32>(16)),
            k0_24: Constant::new(bits::<24>(0)),
            k1_24: Constant::new(bits::<24>(1)),
            k1_8: Constant::new(bits::<8>(1)),
            k0_8: Constant::new(bits::<8>(0)),
            k_float: Constant::new(bits::<2>(2)),
            k_mode_restart: Constant::new(bits::<2>(2)),
            k_mode_next: Constant::new(bits::<2>(1)),
            k_mode_same: Constant::new(bits::<2>(0)),
            k0_aw: Constant::new(bits::<AW>(0)),
            k_log2_beat_aw: Constant::new(bits::<AW>(u64::from(beat.trailing_zeros()))),
            k0_1: Constant::new(bits::<1>(0)),
            k1_1: Constant::new(bits::<1>(1)),
            hw_lo: Default::default(),
            hw_hi: Default::default(),
            ohw_lo: Default::default(),
            ohw_hi: Default::default(),
            hwc_lo: Default::default(),
            hwc_hi: Default::default(),
            prod_a: Default::default(),
            prod_b: Default::default(),
            prod_c: Default::default(),
            prod_d: Default::default(),
            prod_e: Default::default(),
            prod_f: Default::default(),
            in_bytes: Default::default(),
            kts_lo: Default::default(),
            kts_hi: Default::default(),
            prod_g: Default::default(),
            prod_h: Default::default(),
            kt_pos_next: Default::default(),
            mask_word_idx: Default::default(),
            mask_bit_idx: Default::default(),
            mask_bit_w: Default::default(),
            mask_sel: Default::default(),
            mask_shifted: Default::default(),
            skip_next: Default::default(),
            skip_on: Default::default(),
            kts: Default::default(),
            rd_take: Default::default(),
            rd_beat_last: Default::default(),
            no_next: Default::default(),
            window: Default::default(),
            wzp_16: Default::default(),
            kt_nx_16: Default::default(),
            nx_eff: Default::default(),
            nc_eff: Default::default(),
            kx_room: Default::default(),
            c_room: Default::default(),
            c_next: Default::default(),
            kx_next: Default::default(),
            kt_last: Default::default(),
            o0_32: Default::default(),
            no_32: Default::default(),
            param_bytes: Default::default(),
            param_beats: Default::default(),
            off_32: Default::default(),
            beat_shift: sigs(pes),
            w_nib: sigs(if int4 { cols } else { 0 }),
            w_ext: (0..if int4 { cols } else { 0 }).map(|_| Default::default()).collect(),
            param_shift: sigs(cols * 4),
            row_sel: Default::default(),
            zp_a16: Default::default(),
            w_zp_bits: sigs(cols),
            a_zp_bits: Default::default(),
            psum_bits: sigs(cols),
            acc_in: Default::default(),
            rq_mult: Default::default(),
            rq_shift: Default::default(),
            rq_shift8: Default::default(),
            out_zp_s: Default::default(),
            act_min_s: Default::default(),
            act_max_s: Default::default(),
            y_bits: Default::default(),
            y_byte: Default::default(),
            walker_take: Default::default(),
            read_pix: Default::default(),
            wr_beat: Default::default(),
            np_32: Default::default(),
            beat_32: Default::default(),
            shift_go: Default::default(),
            acc_tile_end: Default::default(),
            _rows: rows,
            _cols: cols,
            _cols8: if int4 { 0 } else { cols },
            _cols4: if int4 { cols } else { 0 },
            _zs: usize::from(cfg.zero_skip()),
        })
    }

    /// Lint waivers of the emitted unit (its blocks' own, plus the unused outputs here).
    pub fn waivers(&self) -> Vec<Waiver> {
        let at = |path: &str, list: Vec<Waiver>| -> Vec<Waiver> {
            list.into_iter().map(|w| Waiver { signal: format!("{path}::{}", w.signal).into(), ..w }).collect()
        };
        let mut w = at("reader", self.reader.waivers());
        w.extend(at("array", self.array.waivers()));
        w.extend(at("requant_lane", crate::blocks::requant::WAIVERS.to_vec()));
        w.extend(at("walker", SliceWalker::waivers()));
        let own = |signal: String, reason: &'static str| Waiver { signal: signal.into(), rule: "UNUSEDSIGNAL", reason };
        const BYTE: &str =
            "each shifted beat's low byte or nibble (tile) or low word (params) is the one this register takes";
        w.extend((0..self.beat_shift.len()).map(|i| own(format!("beat_shift${i}"), BYTE)));
        w.extend((0..self.params.len()).map(|i| own(format!("param_shift${i}"), BYTE)));
        for (signal, reason) in [
            ("wzp_16", "weight zero points are 9-bit signed edge operands (-128..=255)"),
            ("zp_a16", "the input zero point is a 9-bit signed edge operand (-128..=255)"),
            ("kt_nx_16", "a k-tile's kernel-column run is at most KERNEL_W (8 bits)"),
            ("nc_eff", "a k-tile's channel run is at most R (<= 256, the reader's 9-bit run length)"),
            ("param_beats", "an o-tile's params are C x 16 bytes, far below 2^24 beats"),
            ("rq_shift", "the Fixed-mode shift is an int8 (ChannelParams::from_stage checks it)"),
            ("y_bits", "the requantised value is clamped to [act_min, act_max], an 8-bit range"),
            ("reader$ready", "a tile is issued after the previous one's first row left the reader: the queue is free"),
            ("reader$idle", "the unit tracks tiles in flight at the accumulator (in_flight)"),
            ("reader$row_last", "the unit tracks tiles in flight at the accumulator (acc_done)"),
            ("array$tile_start_out", "the accumulator counts pixels; the tag is not needed after the array"),
            ("walker$cmd_beats", "v1 writes each beat with its own one-beat command"),
        ] {
            w.push(own(signal.into(), reason));
        }
        if PA < 16 {
            w.push(own("read_pix".into(), "a block's pixel index is below PB = 2^PA"));
        }
        w.push(own("mask_shifted".into(), "bit 0 of the shifted mask record is the next k-tile's skip bit"));
        if self.mask.is_empty() {
            const OFF: &str = "no zero-tile skipping on this engine: its ports are tied off and the mask has no words";
            for signal in ["mask_word_idx", "zero_skip", "k_tiles_stored"] {
                w.push(own(signal.into(), OFF));
            }
        }
        w
    }
}

impl<const W: usize, const S: usize, const AW: usize, const PA: usize> Logic for ConvUnit<W, S, AW, PA> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            state,
            count,
            cmd_sent,
            beat_idx,
            hw,
            ohw,
            hwc,
            pixels,
            in_beats,
            blk_step,
            ot_left,
            o0,
            no,
            g_rem,
            g_base,
            c_lo,
            c_hi,
            nx,
            nc,
            ot_first,
            blk_first,
            px_left,
            np,
            blk_addr,
            wt_addr,
            kt_first,
            ky,
            kx0,
            c0,
            mask_addr,
            kt_pos,
            acc_pix,
            acc_done,
            acc_v,
            acc_addr,
            acc_first,
            acc_first_w,
            in_flight,
            started,
            wb_last,
            wb_addr,
            rq_v,
            rq_s,
            rq_ch,
            beat_data,
            beat_strb,
            beat_pending,
            done_pulse,
            err_pulse
        );
        for i in 0..(self.tile.len()) {
            self.tile[i].clock.next = self.clock.val();
            self.tile[i].d.next = self.tile[i].q.val();
        }
        for i in 0..(self.tile4.len()) {
            self.tile4[i].clock.next = self.clock.val();
            self.tile4[i].d.next = self.tile4[i].q.val();
        }
        for i in 0..(self.params.len()) {
            self.params[i].clock.next = self.clock.val();
            self.params[i].d.next = self.params[i].q.val();
        }
        for i in 0..(self.mask.len()) {
            self.mask[i].clock.next = self.clock.val();
            self.mask[i].d.next = self.mask[i].q.val();
        }
        for c in 0..(self._cols) {
            self.acc_sum[c].clock.next = self.clock.val();
            self.acc_sum[c].d.next = self.acc_sum[c].q.val();
        }

        // ---- Sub-block clocks and the fixed wiring.
        self.reader.clock.next = self.clock.val();
        self.reader.en.next = true;
        self.array.clock.next = self.clock.val();
        self.array.en.next = true;
        self.requant_lane.clock.next = self.clock.val();
        self.strobe_line.clock.next = self.clock.val();
        self.walker.clock.next = self.clock.val();
        self.walker.reset.next = self.reset.val();
        self.packer.clock.next = self.clock.val();
        self.packer.reset.next = self.reset.val();
        self.div_og.clock.next = self.clock.val();
        self.div_cg.clock.next = self.clock.val();
        for c in 0..(self._cols) {
            self.psum[c].read_clock.next = self.clock.val();
            self.psum[c].write_clock.next = self.clock.val();
        }

        // Layer geometry to the im2col reader (buffer address 0 holds the input's first byte).
        self.reader.act_base.next = self.k0_aw.val();
        self.reader.in_h.next = self.in_h.val();
        self.reader.in_w.next = self.in_w.val();
        self.reader.in_c.next = self.in_c.val();
        self.reader.out_h.next = self.out_h.val();
        self.reader.out_w.next = self.out_w.val();
        self.reader.stride_h.next = self.stride_h.val();
        self.reader.stride_w.next = self.stride_w.val();
        self.reader.dilation_h.next = self.dilation_h.val();
        self.reader.dilation_w.next = self.dilation_w.val();
        self.reader.pad_top.next = self.pad_top.val();
        self.reader.pad_left.next = self.pad_left.val();
        self.reader.zero_point.next = self.in_zp.val().get_bits::<8>(0);
        self.reader.setup.next = false;
        self.reader.start.next = false;
        self.reader.mode.next = self.k_mode_same.val();
        self.reader.count.next = bit_cast::<COUNT_BITS, 16>(self.np.q.val());
        self.reader.ky.next = self.ky.q.val();
        self.reader.kx0.next = self.kx0.q.val();
        self.reader.c0.next = self.c0.q.val();
        self.reader.wr_en.next = false;
        self.wr_beat.next = bit_cast::<AW, 24>(self.beat_idx.q.val());
        self.reader.wr_addr.next = self.wr_beat.val() << self.k_log2_beat_aw.val();
        self.reader.wr_data.next = self.rd_data.val();

        // Array: activations from the reader, weights from the tile buffer.
        self.array.valid_in.next = self.reader.row_valid.val();
        self.array.tile_start.next = self.reader.row_first.val();
        for r in 0..(self._rows) {
            self.array.a_in[r].next = self.reader.rows[r].val();
        }
        self.array.a_signed.next = self.in_signed.val();
        self.zp_a16.next = self.in_zp.val();
        self.a_zp_bits.next = bit_cast::<9, 16>(self.zp_a16.val());
        self.array.a_zp.next = signed_cast(self.a_zp_bits.val());
        self.array.w_signed.next = self.weight_signed.val();
        self.array.w_shift.next = false;
        self.row_sel.next = self.count.q.val();
        self.wzp_16.next = self.weight_zp.val();
        for c in 0..(self._cols) {
            self.w_zp_bits[c].next = bit_cast::<9, 16>(self.wzp_16.val());
            if self.weight_zp_per_channel.val() {
                self.w_zp_bits[c].next = self.params[4 * c + 3].q.val().get_bits::<9>(0);
            }
            self.array.w_zp[c].next = signed_cast(self.w_zp_bits[c].val());
        }
        // Row `row_sel` of the tile buffer to the array's top edge.
        for c in 0..(self._cols8) {
            self.array.w_in[c].next = self.tile[c].q.val();
        }
        for cc in (self._cols8)..(self._cols8 + 1) {
            for r in 0..(self._rows) {
                if self.row_sel.val() == self.row_id[r].val() {
                    for c in 0..(self._cols8) {
                        self.array.w_in[c].next = self.tile[r * cc + c].q.val();
                    }
                }
            }
        }
        // 4-bit engine: the row's nibbles, sign-extended to bytes.
        for c in 0..(self._cols4) {
            self.w_nib[c].next = self.tile4[c].q.val();
        }
        for cc in (self._cols4)..(self._cols4 + 1) {
            for r in 0..(self._rows) {
                if self.row_sel.val() == self.row_id[r].val() {
                    for c in 0..(self._cols4) {
                        self.w_nib[c].next = self.tile4[r * cc + c].q.val();
                    }
                }
            }
        }
        for c in 0..(self._cols4) {
            self.w_ext[c].x.next = self.w_nib[c].val();
            self.array.w_in[c].next = self.w_ext[c].y.val();
        }

        // ---- DMA read beats: input -> reader banks, params -> registers, weights -> tile.
        self.rd_ready.next = true;
        self.rd_take.next = self.rd_valid.val();
        self.rd_beat_last.next = self.rd_valid.val() & self.rd_last.val();
        for i in 0..(self.beat_shift.len()) {
            self.beat_shift[i].next = self.rd_data.val() >> self.tile_off[i].val();
        }
        for i in 0..(self.tile.len()) {
            if self.rd_take.val()
                & (self.state.q.val() == self.s_wdata.val())
                & (self.beat_idx.q.val() == self.tile_beat[i].val())
            {
                self.tile[i].d.next = self.beat_shift[i].val().get_bits::<8>(0);
            }
        }
        // 4-bit engine: nibble i of the tile (PE i) is bits 4 (i mod 2B) .. + 3 of its beat.
        for i in 0..(self.tile4.len()) {
            if self.rd_take.val()
                & (self.state.q.val() == self.s_wdata.val())
                & (self.beat_idx.q.val() == self.tile_beat[i].val())
            {
                self.tile4[i].d.next = self.beat_shift[i].val().get_bits::<4>(0);
            }
        }
        for i in 0..(self.params.len()) {
            self.param_shift[i].next = self.rd_data.val() >> self.param_off[i].val();
            if self.rd_take.val()
                & (self.state.q.val() == self.s_pdata.val())
                & (self.beat_idx.q.val() == self.param_beat[i].val())
            {
                self.params[i].d.next = self.param_shift[i].val().get_bits::<32>(0);
            }
        }
        for i in 0..(self.mask.len()) {
            if self.rd_take.val()
                & (self.state.q.val() == self.s_mdata.val())
                & (self.beat_idx.q.val() == self.mask_beat[i].val())
            {
                self.mask[i].d.next = self.rd_data.val();
            }
        }
        if self.rd_take.val() & (self.state.q.val() == self.s_load.val()) {
            self.reader.wr_en.next = true;
        }
        if self.rd_take.val() {
            self.beat_idx.d.next = self.beat_idx.q.val() + self.k1_24.val();
        }

        // ---- Geometry products (SETUP, fixed schedule by `count`).
        self.hw_lo.next = self.hw.q.val().get_bits::<16>(0);
        self.hw_hi.next = self.hw.q.val().get_bits::<16>(16);
        self.ohw_lo.next = self.ohw.q.val().get_bits::<16>(0);
        self.ohw_hi.next = self.ohw.q.val().get_bits::<16>(16);
        self.hwc_lo.next = self.hwc.q.val().get_bits::<16>(0);
        self.hwc_hi.next = self.hwc.q.val().get_bits::<16>(16);
        self.prod_a.next = self.hw_lo.val() * self.in_c.val();
        self.prod_b.next = self.hw_hi.val() * self.in_c.val();
        self.prod_c.next = self.ohw_lo.val() * self.batch.val();
        self.prod_d.next = self.ohw_hi.val() * self.batch.val();
        self.prod_e.next = self.hwc_lo.val() * self.batch.val();
        self.prod_f.next = self.hwc_hi.val() * self.batch.val();
        self.in_bytes.next = self.prod_e.val() + (self.prod_f.val() << self.k16_32.val());
        self.skip_on.next = false;
        self.kts.next = self.k0_32.val();
        for _z in 0..(self._zs) {
            self.skip_on.next = self.zero_skip.val();
            self.kts.next = self.k_tiles_stored.val();
        }
        self.kts_lo.next = self.kts.val().get_bits::<16>(0);
        self.kts_hi.next = self.kts.val().get_bits::<16>(16);
        self.prod_g.next = self.kts_lo.val() * self.k_tile_bytes_16.val();
        self.prod_h.next = self.kts_hi.val() * self.k_tile_bytes_16.val();

        // ---- Zero-tile skipping: is the k-tile after `kt_pos` skipped? (bit kt_pos + 1 of the
        // o-tile's record: word (kt_pos + 1) / W, bit (kt_pos + 1) mod W).
        self.kt_pos_next.next = self.kt_pos.q.val() + self.k1_16.val();
        self.mask_word_idx.next = self.kt_pos_next.val() >> self.k_log2_w_16.val();
        self.mask_bit_idx.next = self.kt_pos_next.val() & self.k_w_m1_16.val();
        self.mask_bit_w.next = bit_cast::<W, 16>(self.mask_bit_idx.val());
        self.mask_sel.next = self.k0_w.val();
        for i in 0..(self.mask.len()) {
            if self.mask_word_idx.val() == self.mask_word_id[i].val() {
                self.mask_sel.next = self.mask[i].q.val();
            }
        }
        self.mask_shifted.next = self.mask_sel.val() >> self.mask_bit_w.val();
        self.skip_next.next = self.skip_on.val() & self.mask_shifted.val().get_bit(0);

        // ---- O-tile helpers.
        self.no_next.next = self.out_c.val() - self.o0.q.val();
        self.window.next = self.c_hi.q.val() - self.c_lo.q.val();
        self.kt_nx_16.next = self.kt_nx.val();
        self.kx_room.next = self.kernel_w.val() - self.kx0.q.val();
        self.nx_eff.next = self.nx.q.val();
        if self.kx_room.val() < self.nx.q.val() {
            self.nx_eff.next = self.kx_room.val();
        }
        self.c_room.next = self.c_hi.q.val() - self.c0.q.val();
        self.nc_eff.next = self.nc.q.val();
        if self.c_room.val() < self.nc.q.val() {
            self.nc_eff.next = self.c_room.val();
        }
        self.reader.nx.next = self.nx_eff.val();
        self.reader.nc.next = bit_cast::<ROW_BITS, 16>(self.nc_eff.val());
        self.c_next.next = self.c0.q.val() + self.nc.q.val();
        self.kx_next.next = self.kx0.q.val() + self.nx.q.val();
        self.kt_last.next = (self.c_next.val() >= self.c_hi.q.val())
            & (self.kx_next.val() >= self.kernel_w.val())
            & ((self.ky.q.val() + self.k1_8.val()) == self.kernel_h.val());
        self.o0_32.next = bit_cast::<32, 16>(self.o0.q.val());
        self.no_32.next = bit_cast::<32, 16>(self.no.q.val());
        self.param_bytes.next = self.no_32.val() << self.k_param_shift.val();
        self.param_beats.next = (self.param_bytes.val() + self.k_beat_m1.val()) >> self.k_log2_beat.val();
        self.off_32.next = bit_cast::<32, 16>(self.out_ch_offset.val());
        self.np_32.next = bit_cast::<32, 16>(self.np.q.val());
        self.beat_32.next = bit_cast::<32, 24>(self.beat_idx.q.val());

        // ---- Accumulation: the array's sums of pixel `acc_pix`, plus the psum memory's (or
        // the bias on a block's first k-tile), written back one edge later. Tiles of a block
        // arrive back to back, each with the block's `np` pixels in order, so the pixel index
        // wraps at `np` and the first tile's end clears `acc_first` (a tile's pixel p is read at
        // least R + K + 5 cycles after the previous tile's pixel p was written: no RMW hazard).
        self.read_pix.next = self.acc_pix.q.val();
        if self.state.q.val() >= self.s_wb_begin.val() {
            self.read_pix.next = self.walker.pixel.val();
        }
        self.acc_v.d.next = self.array.valid_out.val();
        self.acc_addr.d.next = bit_cast::<PA, 16>(self.acc_pix.q.val());
        self.acc_first_w.d.next = self.acc_first.q.val();
        if self.array.valid_out.val() {
            if (self.acc_pix.q.val() + self.k1_16.val()) == self.np.q.val() {
                self.acc_pix.d.next = self.k0_16.val();
                self.acc_first.d.next = false;
            } else {
                self.acc_pix.d.next = self.acc_pix.q.val() + self.k1_16.val();
            }
        }
        self.acc_tile_end.next = self.acc_v.q.val() & ((self.acc_done.q.val() + self.k1_16.val()) == self.np.q.val());
        if self.acc_v.q.val() {
            self.acc_done.d.next = self.acc_done.q.val() + self.k1_16.val();
            if self.acc_tile_end.val() {
                self.acc_done.d.next = self.k0_16.val();
            }
        }
        // Tiles in flight: + 1 at `ISSUE`, - 1 when a tile's last sum is written.
        if self.state.q.val() == self.s_issue.val() {
            if !self.acc_tile_end.val() {
                self.in_flight.d.next = self.in_flight.q.val() + self.k1_16.val();
            }
        } else if self.acc_tile_end.val() {
            self.in_flight.d.next = self.in_flight.q.val() - self.k1_16.val();
        }
        // The last issued tile's first row enters the array (`tile_start`): from this cycle on
        // the next tile's rows may be shifted (hdl/README.md "Array interface").
        self.shift_go.next = self.started.q.val() | (self.reader.row_valid.val() & self.reader.row_first.val());
        if self.reader.row_valid.val() & self.reader.row_first.val() {
            self.started.d.next = true;
        }
        for c in 0..(self._cols) {
            self.psum_bits[c].next = unsigned_cast(self.array.psum_out[c].val());
            self.acc_sum[c].d.next = self.psum_bits[c].val();
            self.psum[c].read_address.next = bit_cast::<PA, 16>(self.read_pix.val());
            self.psum[c].write_address.next = self.acc_addr.q.val();
            self.psum[c].write_enable.next = self.acc_v.q.val();
            self.psum[c].write_data.next = self.psum[c].read_data.val() + self.acc_sum[c].q.val();
            if self.acc_first_w.q.val() {
                self.psum[c].write_data.next = self.params[4 * c].q.val() + self.acc_sum[c].q.val();
            }
        }

        // ---- Write-back: walker -> psum read -> requant lane -> packer.
        self.walker.start.next = false;
        self.walker.addr.next = self.blk_addr.q.val() + self.o0_32.val();
        self.walker.pixels.next = self.np.q.val();
        self.walker.channels.next = self.no.q.val();
        self.walker.stride.next = self.out_ch_stride.val();
        // `take` from the state alone: the walker ignores it while not valid, and a walker input
        // computed from a walker output would be a false combinational loop (one always block).
        self.walker.take.next = self.state.q.val() == self.s_wb_fill.val();
        self.walker_take.next = (self.state.q.val() == self.s_wb_fill.val()) & self.walker.valid.val();
        self.rq_v.d.next = self.walker_take.val();
        self.rq_s.d.next = self.walker.strobe.val();
        self.rq_ch.d.next = self.walker.channel.val();
        self.acc_in.next = self.k0_32.val();
        self.rq_mult.next = self.k0_32.val();
        self.rq_shift.next = self.k0_32.val();
        for c in 0..(self._cols) {
            if self.rq_ch.q.val() == self.col_id[c].val() {
                self.acc_in.next = self.psum[c].read_data.val();
                self.rq_mult.next = self.params[4 * c + 1].q.val();
                self.rq_shift.next = self.params[4 * c + 2].q.val();
            }
        }
        self.rq_shift8.next = bit_cast::<8, 32>(self.rq_shift.val());
        self.out_zp_s.next = signed_cast(self.out_zp.val());
        self.act_min_s.next = signed_cast(self.act_min.val());
        self.act_max_s.next = signed_cast(self.act_max.val());
        self.requant_lane.valid_in.next = self.rq_v.q.val();
        self.requant_lane.mode.next = self.requant.val() == self.k_float.val();
        self.requant_lane.acc.next = signed_cast(self.acc_in.val());
        self.requant_lane.mult.next = self.rq_mult.val();
        self.requant_lane.shift.next = signed_cast(self.rq_shift8.val());
        self.requant_lane.zero_point.next = signed_bit_cast::<32, 16>(self.out_zp_s.val());
        self.requant_lane.act_min.next = signed_bit_cast::<32, 16>(self.act_min_s.val());
        self.requant_lane.act_max.next = signed_bit_cast::<32, 16>(self.act_max_s.val());
        self.strobe_line.d.next = self.k0_1.val();
        if self.rq_s.q.val() {
            self.strobe_line.d.next = self.k1_1.val();
        }
        self.y_bits.next = unsigned_cast(self.requant_lane.y.val());
        self.y_byte.next = bit_cast::<8, 32>(self.y_bits.val());
        self.packer.in_valid.next = self.requant_lane.valid_out.val();
        self.packer.in_strobe.next = self.strobe_line.q.val() == self.k1_1.val();
        self.packer.in_byte.next = self.y_byte.val();

        // ---- Dividers: channels per group.
        self.div_og.load.next = false;
        self.div_og.n.next = self.out_c.val();
        self.div_og.d.next = self.groups.val();
        self.div_cg.load.next = false;
        self.div_cg.n.next = self.in_c.val();
        self.div_cg.d.next = self.groups.val();

        // ---- DMA command defaults.
        self.rd_cmd_valid.next = false;
        self.rd_cmd_addr.next = self.input_addr_lo.val();
        self.rd_cmd_beats.next = self.in_beats.q.val().get_bits::<24>(0);
        self.wr_cmd_valid.next = false;
        self.wr_cmd_addr.next = self.wb_addr.q.val();
        self.wr_cmd_beats.next = self.k1_24.val();
        self.wr_valid.next = self.beat_pending.q.val();
        self.wr_data.next = self.beat_data.q.val();
        self.wr_strb.next = self.beat_strb.q.val();
        if self.beat_pending.q.val() & self.wr_ready.val() {
            self.beat_pending.d.next = false;
        }
        self.stall.next = false;
        self.done_pulse.d.next = false;
        self.err_pulse.d.next = false;

        // ---- The phases.
        if self.state.q.val() == self.s_idle.val() {
            // IDLE
            if self.start.val() {
                self.state.d.next = self.s_setup.val();
                self.count.d.next = self.k0_16.val();
                self.reader.setup.next = true;
                self.div_og.load.next = true;
                self.div_cg.load.next = true;
                self.hw.d.next = self.in_h.val() * self.in_w.val();
                self.ohw.d.next = self.out_h.val() * self.out_w.val();
                self.in_flight.d.next = self.k0_16.val();
            }
        } else if self.state.q.val() == self.s_setup.val() {
            // SETUP: count 0: hw * c and ohw * n; count 1: bytes and beats; then the dividers.
            self.count.d.next = self.count.q.val() + self.k1_16.val();
            if self.count.q.val() == self.k0_16.val() {
                self.hwc.d.next = self.prod_a.val() + (self.prod_b.val() << self.k16_32.val());
                self.pixels.d.next = self.prod_c.val() + (self.prod_d.val() << self.k16_32.val());
                self.blk_step.d.next = self.k_pb_16.val() * self.out_ch_stride.val();
                self.mask_addr.d.next =
                    self.weight_addr_lo.val() + self.prod_g.val() + (self.prod_h.val() << self.k16_32.val());
            }
            if self.count.q.val() == self.k1_16.val() {
                self.in_beats.d.next = (self.in_bytes.val() + self.k_beat_m1.val()) >> self.k_log2_beat.val();
            }
            if self.count.q.val() == self.k_setup_last.val() {
                self.state.d.next = self.s_load.val();
                self.cmd_sent.d.next = false;
                self.beat_idx.d.next = self.k0_24.val();
                self.ot_left.d.next = self.o_tiles.val();
                self.o0.d.next = self.k0_16.val();
                self.g_rem.d.next = self.k0_16.val();
                self.g_base.d.next = self.k0_16.val();
                self.ot_first.d.next = self.weight_addr_lo.val();
            }
        } else if self.state.q.val() == self.s_load.val() {
            // LOAD: the input into the banks, then wait for the reader's setup.
            self.stall.next = true;
            self.rd_cmd_valid.next = !self.cmd_sent.q.val();
            if self.rd_cmd_ready.val() & !self.cmd_sent.q.val() {
                self.cmd_sent.d.next = true;
            }
            if (self.beat_32.val() == self.in_beats.q.val()) & !self.reader.setup_busy.val() {
                self.state.d.next = self.s_ot_begin.val();
            }
        } else if self.state.q.val() == self.s_ot_begin.val() {
            // OT_BEGIN
            self.no.d.next = self.no_next.val();
            if self.no_next.val() > self.k_cols_16.val() {
                self.no.d.next = self.k_cols_16.val();
            }
            self.c_lo.d.next = self.g_base.q.val();
            self.count.d.next = self.k0_16.val();
            self.state.d.next = self.s_group.val();
        } else if self.state.q.val() == self.s_group.val() {
            // GROUP: one channel per cycle; the last one's group bounds the window.
            self.count.d.next = self.count.q.val() + self.k1_16.val();
            if (self.g_rem.q.val() + self.k1_16.val()) == self.div_og.q.val() {
                self.g_rem.d.next = self.k0_16.val();
                self.g_base.d.next = self.g_base.q.val() + self.div_cg.q.val();
            } else {
                self.g_rem.d.next = self.g_rem.q.val() + self.k1_16.val();
            }
            if (self.count.q.val() + self.k1_16.val()) == self.no.q.val() {
                self.c_hi.d.next = self.g_base.q.val() + self.div_cg.q.val();
                self.state.d.next = self.s_nxnc.val();
            }
        } else if self.state.q.val() == self.s_nxnc.val() {
            // NXNC: run shape (arch `run_shape`, with the descriptor's KT_NX for whole pixels).
            self.nx.d.next = self.k1_8.val();
            if self.window.val() == self.in_c.val() {
                self.nx.d.next = self.kt_nx_16.val().get_bits::<8>(0);
            }
            self.nc.d.next = self.window.val();
            if self.window.val() > self.k_rows_16.val() {
                self.nc.d.next = self.k_rows_16.val();
            }
            self.px_left.d.next = self.pixels.q.val();
            self.blk_addr.d.next = self.output_addr_lo.val() + self.off_32.val();
            self.blk_first.d.next = true;
            self.cmd_sent.d.next = false;
            self.beat_idx.d.next = self.k0_24.val();
            self.state.d.next = self.s_pcmd.val();
        } else if self.state.q.val() == self.s_pcmd.val() {
            // PCMD
            self.stall.next = true;
            self.rd_cmd_valid.next = true;
            self.rd_cmd_addr.next = self.param_addr_lo.val() + (self.o0_32.val() << self.k_param_shift.val());
            self.rd_cmd_beats.next = self.param_beats.val().get_bits::<24>(0);
            if self.rd_cmd_ready.val() {
                self.state.d.next = self.s_pdata.val();
            }
        } else if self.state.q.val() == self.s_pdata.val() {
            // PDATA; then the o-tile's mask record when the layer skips zero tiles.
            self.stall.next = true;
            if self.rd_beat_last.val() {
                self.state.d.next = self.s_blk_begin.val();
                if self.skip_on.val() {
                    self.beat_idx.d.next = self.k0_24.val();
                    self.state.d.next = self.s_mcmd.val();
                }
            }
        } else if self.state.q.val() == self.s_mcmd.val() {
            // MCMD: the o-tile's mask record (whole beats).
            self.stall.next = true;
            self.rd_cmd_valid.next = true;
            self.rd_cmd_addr.next = self.mask_addr.q.val();
            self.rd_cmd_beats.next = self.k_mask_beats.val();
            if self.rd_cmd_ready.val() {
                self.state.d.next = self.s_mdata.val();
            }
        } else if self.state.q.val() == self.s_mdata.val() {
            // MDATA
            self.stall.next = true;
            if self.rd_beat_last.val() {
                self.state.d.next = self.s_blk_begin.val();
            }
        } else if self.state.q.val() == self.s_blk_begin.val() {
            // BLK_BEGIN
            self.np.d.next = self.px_left.q.val().get_bits::<16>(0);
            if self.px_left.q.val() > self.k_pb_32.val() {
                self.np.d.next = self.k_pb_16.val();
            }
            self.wt_addr.d.next = self.ot_first.q.val();
            self.kt_first.d.next = true;
            self.ky.d.next = self.k0_8.val();
            self.kx0.d.next = self.k0_8.val();
            self.c0.d.next = self.c_lo.q.val();
            self.kt_pos.d.next = self.k0_16.val();
            // Nothing in flight (the previous block drained before its write-back).
            self.started.d.next = true;
            self.acc_first.d.next = true;
            self.acc_pix.d.next = self.k0_16.val();
            self.acc_done.d.next = self.k0_16.val();
            self.state.d.next = self.s_wcmd.val();
        } else if self.state.q.val() == self.s_wcmd.val() {
            // WCMD: the next tile's weights, fetched while the issued tiles stream; a stall only
            // once nothing is left in flight.
            self.stall.next = self.in_flight.q.val() == self.k0_16.val();
            self.rd_cmd_valid.next = true;
            self.rd_cmd_addr.next = self.wt_addr.q.val();
            self.rd_cmd_beats.next = self.k_tile_beats.val();
            self.beat_idx.d.next = self.k0_24.val();
            if self.rd_cmd_ready.val() {
                self.wt_addr.d.next = self.wt_addr.q.val() + self.k_tile_bytes.val();
                self.state.d.next = self.s_wdata.val();
            }
        } else if self.state.q.val() == self.s_wdata.val() {
            // WDATA
            self.stall.next = self.in_flight.q.val() == self.k0_16.val();
            if self.rd_beat_last.val() {
                self.count.d.next = self.k_rows_m1.val();
                self.state.d.next = self.s_shift.val();
            }
        } else if self.state.q.val() == self.s_shift.val() {
            // SHIFT: row `count` (R - 1 down to 0) into the array, once the previous tile has
            // entered it (its weights are committed).
            if self.shift_go.val() {
                self.array.w_shift.next = true;
                self.count.d.next = self.count.q.val() - self.k1_16.val();
                if self.count.q.val() == self.k0_16.val() {
                    self.state.d.next = self.s_issue.val();
                }
            }
        } else if self.state.q.val() == self.s_issue.val() {
            // ISSUE: the tile command. The reader's queue is free: the previous tile's first row
            // has left the reader, so that tile was taken from the queue.
            self.reader.start.next = true;
            self.started.d.next = false;
            self.reader.mode.next = self.k_mode_same.val();
            if self.kt_first.q.val() {
                self.reader.mode.next = self.k_mode_next.val();
                if self.blk_first.q.val() {
                    self.reader.mode.next = self.k_mode_restart.val();
                }
            }
            self.state.d.next = self.s_kt_next.val();
        } else if self.state.q.val() == self.s_stream.val() {
            // STREAM: after the block's last tile, until its last sum is written.
            if self.in_flight.q.val() == self.k0_16.val() {
                self.state.d.next = self.s_wb_begin.val();
            }
        } else if self.state.q.val() == self.s_kt_next.val() {
            // KT_NEXT: c-run, then kx-run, then ky; the next tile's fetch starts at once, unless
            // the mask skips it: then one cycle here per skipped tile (and per trailing one).
            self.kt_first.d.next = false;
            if self.kt_last.val() {
                self.state.d.next = self.s_stream.val();
            } else {
                self.kt_pos.d.next = self.kt_pos_next.val();
                self.state.d.next = self.s_wcmd.val();
                if self.skip_next.val() {
                    self.state.d.next = self.s_kt_next.val();
                }
                if self.c_next.val() >= self.c_hi.q.val() {
                    self.c0.d.next = self.c_lo.q.val();
                    if self.kx_next.val() >= self.kernel_w.val() {
                        self.kx0.d.next = self.k0_8.val();
                        self.ky.d.next = self.ky.q.val() + self.k1_8.val();
                    } else {
                        self.kx0.d.next = self.kx_next.val();
                    }
                } else {
                    self.c0.d.next = self.c_next.val();
                }
            }
        } else if self.state.q.val() == self.s_wb_begin.val() {
            // WB_BEGIN
            self.walker.start.next = true;
            self.count.d.next = self.k0_16.val();
            self.state.d.next = self.s_wb_fill.val();
        } else if self.state.q.val() == self.s_wb_fill.val() {
            // WB_FILL: one beat's slots (the walker's command is valid from now on).
            if self.walker.beat_last.val() & self.walker_take.val() {
                self.wb_last.d.next = self.walker.last.val();
                self.state.d.next = self.s_wb_beat.val();
            }
            if self.walker.valid.val() & (self.count.q.val() == self.k0_16.val()) {
                self.wb_addr.d.next = self.walker.cmd_addr.val();
                self.count.d.next = self.k1_16.val();
            }
        } else if self.state.q.val() == self.s_wb_beat.val() {
            // WB_BEAT: the beat leaves the requant lane and the packer.
            if self.packer.out_valid.val() {
                self.beat_data.d.next = self.packer.out_data.val();
                self.beat_strb.d.next = self.packer.out_strb.val();
                self.beat_pending.d.next = true;
                self.state.d.next = self.s_wb_cmd.val();
            }
        } else if self.state.q.val() == self.s_wb_cmd.val() {
            // WB_CMD
            self.stall.next = true;
            self.wr_cmd_valid.next = true;
            if self.wr_cmd_ready.val() {
                self.state.d.next = self.s_wb_resp.val();
            }
        } else if self.state.q.val() == self.s_wb_resp.val() {
            // WB_RESP
            self.stall.next = true;
            if self.wr_done.val() {
                self.wb_addr.d.next = self.wb_addr.q.val() + self.k_beat_bytes.val();
                if self.wr_error.val() {
                    self.err_pulse.d.next = true;
                    self.state.d.next = self.s_idle.val();
                } else if self.wb_last.q.val() {
                    self.state.d.next = self.s_blk_end.val();
                } else {
                    self.state.d.next = self.s_wb_fill.val();
                }
            }
        } else if self.state.q.val() == self.s_blk_end.val() {
            // BLK_END
            self.count.d.next = self.k0_16.val();
            self.blk_first.d.next = false;
            self.blk_addr.d.next = self.blk_addr.q.val() + self.blk_step.q.val();
            self.px_left.d.next = self.px_left.q.val() - self.np_32.val();
            if self.px_left.q.val() == self.np_32.val() {
                self.state.d.next = self.s_ot_end.val();
            } else {
                self.state.d.next = self.s_blk_begin.val();
            }
        } else if self.state.q.val() == self.s_ot_end.val() {
            // OT_END
            self.ot_first.d.next = self.wt_addr.q.val();
            self.mask_addr.d.next = self.mask_addr.q.val() + self.k_mask_record.val();
            self.o0.d.next = self.o0.q.val() + self.k_cols_16.val();
            self.ot_left.d.next = self.ot_left.q.val() - self.k1_16.val();
            if self.ot_left.q.val() == self.k1_16.val() {
                self.state.d.next = self.s_done.val();
            } else {
                self.state.d.next = self.s_ot_begin.val();
            }
        } else {
            // DONE
            self.done_pulse.d.next = true;
            self.state.d.next = self.s_idle.val();
        }
        if self.reset.val() {
            self.state.d.next = self.s_idle.val();
            self.in_flight.d.next = self.k0_16.val();
            self.beat_pending.d.next = false;
            self.done_pulse.d.next = false;
            self.err_pulse.d.next = false;
        }
        self.done.next = self.done_pulse.q.val();
        self.error.next = self.err_pulse.q.val();
        self.error_code.next = self.k0_8.val();
        if self.err_pulse.q.val() {
            self.error_code.next = self.k_dma_error.val();
        }
    }
}
