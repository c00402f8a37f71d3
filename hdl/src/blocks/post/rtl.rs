//! The post-op layer unit in rust-hdl: ADD (TFLite fixed point), MAX_POOL, AVG_POOL (TFLite
//! integer average) and GLOBAL_AVG_POOL (TFLite MEAN: truncating, or `MeanFixed` rescale).
//!
//! Phases, strictly one after the other so that every phase's cycles are a closed formula
//! (`systole_arch::timing::post`):
//! 1. `PARAM`: FIXED layers read their 32-byte record at PARAM_ADDR (one read command).
//! 2. `SETUP`: byte strides of the layer: five 16x16 products (one cycle), then two rounds of
//!    16 shift-add steps (`stride_h * row`, `pad_top * row`, `in_h * row`, then
//!    `batch * image`); MEAN with a rescale then folds 1 / count into the multiplier with one
//!    64-step restoring division, as tflite-micro's `QuantizedMeanOrSum` does.
//! 3. `LOAD`: the input (and ADD's second input) into on-chip buffers, one read command each.
//! 4. `COMPUTE`: output bytes in DRAM address order from OUTPUT_ADDR: every pixel has
//!    OUT_CH_STRIDE byte slots, those outside [OUT_CH_OFFSET, OUT_CH_OFFSET + C) are holes
//!    (strobe 0), and holes pad the last beat. Bytes are packed into beats (data + strobes) in
//!    the output buffer. ADD issues one slot per cycle into a pipeline of three requantisers
//!    (`blocks::requant`, fixed mode); a pool slot scans the whole kernel window (one position
//!    per cycle, positions outside the input skipped) and then finishes the value (MAX: clamp;
//!    average: a restoring division rounding half away from zero, or truncating for MEAN;
//!    MEAN with a rescale: the requantiser).
//! 5. `WRITE`: one write command of the packed beats, WSTRB from the strobes.
//!
//! `stall` is high in every DMA phase (1, 3, 5): the unit computes nothing then.
//!
//! Coding rules of rust-hdl 0.46 (see `crate::emit` and hdl/README.md): operands of one width,
//! literals as `Constant`s, width changes as whole-statement casts, parentheses everywhere,
//! signed compares by flipping the sign bit.

use super::super::delay::Delay;
use super::super::requant::RequantUnit;
use rust_hdl::prelude::*;

/// Restoring-division steps of a per-byte average: the sum is an int32 (as in tflite-micro) and
/// |sum| + count / 2 < 2^32.
pub const DIV_STEPS: usize = 32;
/// Steps of the MEAN multiplier fold `(M << s) / count` (a 63-bit dividend).
pub const FOLD_STEPS: usize = 64;
/// Requantiser latency (`blocks::requant::LATENCY`).
pub const RQ_LATENCY: usize = super::super::requant::LATENCY;

// FSM states.
const S_IDLE: u64 = 0;
const S_PCMD: u64 = 1;
const S_PRX: u64 = 2;
const S_SETUP: u64 = 3;
const S_FOLD: u64 = 4;
const S_LCMD: u64 = 5;
const S_LRX: u64 = 6;
const S_COMP: u64 = 7;
const S_TAIL: u64 = 8;
const S_DRAIN: u64 = 9;
const S_WCMD: u64 = 10;
const S_WDATA: u64 = 11;

// Pool slot phases.
const P_SLOT: u64 = 0;
const P_SCAN: u64 = 1;
const P_ACC: u64 = 2;
const P_FIN: u64 = 3;
const P_DIV: u64 = 4;
const P_RQ: u64 = 5;
const P_DQ: u64 = 6;

fn k<const N: usize>(v: u64) -> Constant<Bits<N>> {
    Constant::new(v.into())
}

/// Lint waivers of the unit's module and its sub-blocks (pass as nested waivers to
/// `emit::emit_with_nested_waivers`, or as top waivers when the unit is the top): the
/// requantisers' own, and two narrowings whose upper bits are zero by construction.
pub fn nested_waivers() -> Vec<crate::emit::Waiver> {
    let mut w = super::super::requant::WAIVERS.to_vec();
    w.push(crate::emit::Waiver {
        signal: "rq3$y".into(),
        rule: "UNUSEDSIGNAL",
        reason: "the third requantiser clamps to [ACT_MIN, ACT_MAX], an 8-bit range: the low byte is the value",
    });
    w.push(crate::emit::Waiver {
        signal: "in_len_beats".into(),
        rule: "UNUSEDSIGNAL",
        reason: "inputs longer than the buffer (2^28 bytes at most) are refused in SETUP: the beat count fits 24 bits",
    });
    w
}

/// The post-op unit for `W`-bit DMA beats (`S = W / 8` strobes) and buffers of `2^WA` beats.
#[derive(LogicBlock)]
pub struct PostUnit<const W: usize, const S: usize, const WA: usize> {
    pub clock: Signal<In, Clock>,
    /// Synchronous, active high.
    pub reset: Signal<In, Bit>,
    pub start: Signal<In, Bit>,
    // Descriptor fields (held from `start` to `done`).
    pub opcode: Signal<In, Bits<8>>,
    pub requant: Signal<In, Bits<2>>,
    pub in_signed: Signal<In, Bit>,
    pub count_include_pad: Signal<In, Bit>,
    pub batch: Signal<In, Bits<16>>,
    pub in_h: Signal<In, Bits<16>>,
    pub in_w: Signal<In, Bits<16>>,
    pub in_c: Signal<In, Bits<16>>,
    pub out_h: Signal<In, Bits<16>>,
    pub out_w: Signal<In, Bits<16>>,
    pub kernel_h: Signal<In, Bits<8>>,
    pub kernel_w: Signal<In, Bits<8>>,
    pub stride_h: Signal<In, Bits<8>>,
    pub stride_w: Signal<In, Bits<8>>,
    pub pad_top: Signal<In, Bits<8>>,
    pub pad_left: Signal<In, Bits<8>>,
    pub in_zp: Signal<In, Bits<16>>,
    pub in2_zp: Signal<In, Bits<16>>,
    pub out_zp: Signal<In, Bits<16>>,
    pub act_min: Signal<In, Bits<16>>,
    pub act_max: Signal<In, Bits<16>>,
    pub out_ch_stride: Signal<In, Bits<16>>,
    pub out_ch_offset: Signal<In, Bits<16>>,
    pub input_addr_lo: Signal<In, Bits<32>>,
    pub input2_addr_lo: Signal<In, Bits<32>>,
    pub output_addr_lo: Signal<In, Bits<32>>,
    pub param_addr_lo: Signal<In, Bits<32>>,
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
    // Status.
    pub done: Signal<Out, Bit>,
    pub error: Signal<Out, Bit>,
    pub error_code: Signal<Out, Bits<8>>,
    pub stall: Signal<Out, Bit>,

    // Storage.
    in1: RAM<Bits<W>, WA>,
    in2: RAM<Bits<W>, WA>,
    out_data: RAM<Bits<W>, WA>,
    out_strb: RAM<Bits<S>, WA>,
    rq1: RequantUnit,
    rq2: RequantUnit,
    rq3: RequantUnit,
    /// ADD: a token's strobe from the buffer read to the third requantiser's output.
    strb_pipe: Delay<1, 20>,

    // Control.
    state: DFF<Bits<4>>,
    ph: DFF<Bits<3>>,
    is_add: DFF<Bit>,
    is_max: DFF<Bit>,
    is_gap: DFF<Bit>,
    fixed: DFF<Bit>,
    second: DFF<Bit>,
    step: DFF<Bits<8>>,
    done_r: DFF<Bit>,
    err_r: DFF<Bit>,
    code_r: DFF<Bits<8>>,
    // Parameter record (8 words).
    rec: DFF<Bits<256>>,
    // Layer geometry (internal: a global pool is an in_h x in_w window).
    kh: DFF<Bits<16>>,
    kw: DFF<Bits<16>>,
    sh: DFF<Bits<16>>,
    sw: DFF<Bits<16>>,
    pt: DFF<Bits<16>>,
    pl: DFF<Bits<16>>,
    oh: DFF<Bits<16>>,
    ow: DFF<Bits<16>>,
    rb: DFF<Bits<32>>,
    kwc: DFF<Bits<32>>,
    swc: DFF<Bits<32>>,
    plc: DFF<Bits<32>>,
    cfull: DFF<Bits<32>>,
    // Shift-add products.
    mc: DFF<Bits<32>>,
    m_sh: DFF<Bits<16>>,
    m_pt: DFF<Bits<16>>,
    m_h: DFF<Bits<16>>,
    p_sh: DFF<Bits<32>>,
    p_pt: DFF<Bits<32>>,
    p_img: DFF<Bits<32>>,
    in_len: DFF<Bits<32>>,
    // MEAN fold.
    fold_m: DFF<Bits<32>>,
    fold_s: DFF<Bits<8>>,
    fold_neg: DFF<Bit>,
    // Restoring divider.
    dq: DFF<Bits<64>>,
    dr: DFF<Bits<64>>,
    dd: DFF<Bits<64>>,
    dneg: DFF<Bit>,
    // Load.
    lptr: DFF<Bits<32>>,
    // Compute: slots and pixels.
    j: DFF<Bits<16>>,
    cch: DFF<Bits<16>>,
    e: DFF<Bits<32>>,
    b: DFF<Bits<16>>,
    oy: DFF<Bits<16>>,
    ox: DFF<Bits<16>>,
    base_b: DFF<Bits<32>>,
    row_base: DFF<Bits<32>>,
    pix: DFF<Bits<32>>,
    orig_y: DFF<Bits<32>>,
    orig_x: DFF<Bits<32>>,
    // Window scan.
    ky: DFF<Bits<16>>,
    kx: DFF<Bits<16>>,
    y: DFF<Bits<32>>,
    x: DFF<Bits<32>>,
    a: DFF<Bits<32>>,
    cnt: DFF<Bits<32>>,
    acc: DFF<Bits<32>>,
    rd_in: DFF<Bit>,
    lane_sel: DFF<Bits<8>>,
    lane8: Signal<Local, Bits<8>>,
    y3s: Signal<Local, Signed<8>>,
    k0_wa: Constant<Bits<WA>>,
    k1_wa: Constant<Bits<WA>>,
    _log2bb: usize,
    // Emission.
    iss: DFF<Bits<8>>,
    t1_v: DFF<Bit>,
    t1_s: DFF<Bit>,
    p_emit: DFF<Bit>,
    p_byte: DFF<Bits<8>>,
    p_strb: DFF<Bit>,
    beat: DFF<Bits<W>>,
    bstrb: DFF<Bits<S>>,
    lane: DFF<Bits<8>>,
    wptr: DFF<Bits<32>>,
    rptr: DFF<Bits<32>>,
    drain: DFF<Bits<8>>,

    // Constants.
    ks_idle: Constant<Bits<4>>,
    ks_pcmd: Constant<Bits<4>>,
    ks_prx: Constant<Bits<4>>,
    ks_setup: Constant<Bits<4>>,
    ks_fold: Constant<Bits<4>>,
    ks_lcmd: Constant<Bits<4>>,
    ks_lrx: Constant<Bits<4>>,
    ks_comp: Constant<Bits<4>>,
    ks_tail: Constant<Bits<4>>,
    ks_drain: Constant<Bits<4>>,
    ks_wcmd: Constant<Bits<4>>,
    ks_wdata: Constant<Bits<4>>,
    kp_slot: Constant<Bits<3>>,
    kp_scan: Constant<Bits<3>>,
    kp_acc: Constant<Bits<3>>,
    kp_fin: Constant<Bits<3>>,
    kp_div: Constant<Bits<3>>,
    kp_rq: Constant<Bits<3>>,
    kp_dq: Constant<Bits<3>>,
    k_idx_8: Vec<Constant<Bits<8>>>,
    k18_8: Constant<Bits<8>>,
    k35_8: Constant<Bits<8>>,
    k0_24: Constant<Bits<24>>,
    k_hi16_32: Constant<Bits<32>>,
    k_hi24_32: Constant<Bits<32>>,
    k_int_min_32: Constant<Bits<32>>,
    k_int_max_32: Constant<Bits<32>>,
    k8_w: Constant<Bits<W>>,
    k_top_byte_w: Constant<Bits<W>>,
    k2_2: Constant<Bits<2>>,
    k_divsteps_m1_8: Constant<Bits<8>>,
    cch32: Signal<Local, Bits<32>>,
    iss_inc: Signal<Local, Bits<8>>,
    k1_s: Constant<Bits<S>>,
    k0_s: Constant<Bits<S>>,
    k_top_s: Constant<Bits<S>>,
    k63_64: Constant<Bits<64>>,
    k0_8: Constant<Bits<8>>,
    k1_8: Constant<Bits<8>>,
    k31_8: Constant<Bits<8>>,
    k_foldsteps_8: Constant<Bits<8>>,
    k_drain_add_8: Constant<Bits<8>>,
    k_code_unsup_8: Constant<Bits<8>>,
    k_code_geom_8: Constant<Bits<8>>,
    k_code_dma_8: Constant<Bits<8>>,
    k_op_add_8: Constant<Bits<8>>,
    k_op_avg_8: Constant<Bits<8>>,
    k_op_max_8: Constant<Bits<8>>,
    k_op_gap_8: Constant<Bits<8>>,
    k0_2: Constant<Bits<2>>,
    k1_2: Constant<Bits<2>>,
    k0_16: Constant<Bits<16>>,
    k1_16: Constant<Bits<16>>,
    k0_32: Constant<Bits<32>>,
    k1_32: Constant<Bits<32>>,
    k31_32: Constant<Bits<32>>,
    k_sign_32: Constant<Bits<32>>,
    k_bb_m1_32: Constant<Bits<32>>,
    k_log2bb_32: Constant<Bits<32>>,
    k_cap_32: Constant<Bits<32>>,
    k_capw_32: Constant<Bits<32>>,
    k_rec_beats_24: Constant<Bits<24>>,
    k_bb_m1_8: Constant<Bits<8>>,
    k0_64: Constant<Bits<64>>,
    k1_64: Constant<Bits<64>>,
    k_divpre_64: Constant<Bits<64>>,
    k_rec_shift_16: Constant<Bits<16>>,
    k_rec_place_16: Constant<Bits<16>>,

    // Combinational helpers.
    st_idle: Signal<Local, Bit>,
    st_pcmd: Signal<Local, Bit>,
    st_prx: Signal<Local, Bit>,
    st_setup: Signal<Local, Bit>,
    st_fold: Signal<Local, Bit>,
    st_lcmd: Signal<Local, Bit>,
    st_lrx: Signal<Local, Bit>,
    st_comp: Signal<Local, Bit>,
    st_tail: Signal<Local, Bit>,
    st_drain: Signal<Local, Bit>,
    st_wcmd: Signal<Local, Bit>,
    st_wdata: Signal<Local, Bit>,
    zin_u: Signal<Local, Bits<32>>,
    zin2_u: Signal<Local, Bits<32>>,
    zout_u: Signal<Local, Bits<32>>,
    lo_u: Signal<Local, Bits<32>>,
    hi_u: Signal<Local, Bits<32>>,
    b1_u: Signal<Local, Bits<32>>,
    b2_u: Signal<Local, Bits<32>>,
    c32: Signal<Local, Bits<32>>,
    stride_m1: Signal<Local, Bits<16>>,
    emit_bw: Signal<Local, Bits<W>>,
    ls32: Signal<Local, Bits<32>>,
    y1u: Signal<Local, Bits<32>>,
    y2u: Signal<Local, Bits<32>>,
    y3b: Signal<Local, Bits<8>>,
    res_b: Signal<Local, Bits<8>>,
    q_b: Signal<Local, Bits<32>>,
    div_top: Signal<Local, Bits<64>>,
    ge64: Signal<Local, Bits<64>>,
    fold_s64: Signal<Local, Bits<64>>,
    divisor32: Signal<Local, Bits<32>>,
    dividend32: Signal<Local, Bits<32>>,
    dividend64: Signal<Local, Bits<64>>,
    dq32: Signal<Local, Bits<32>>,
    wptr24: Signal<Local, Bits<24>>,
    beats24: Signal<Local, Bits<24>>,
    w1_8: Signal<Local, Bits<8>>,
    inc_e: Signal<Local, Bits<32>>,
    e_next: Signal<Local, Bits<32>>,
    adv_slot: Signal<Local, Bit>,
    pix_end: Signal<Local, Bit>,
    layer_end: Signal<Local, Bit>,
    in_c32: Signal<Local, Bits<32>>,
    in_h32: Signal<Local, Bits<32>>,
    in_w32: Signal<Local, Bits<32>>,
    sh32: Signal<Local, Bits<32>>,
    sw32: Signal<Local, Bits<32>>,
    pt32: Signal<Local, Bits<32>>,
    pl32: Signal<Local, Bits<32>>,
    batch_m1: Signal<Local, Bits<16>>,
    oh_m1: Signal<Local, Bits<16>>,
    ow_m1: Signal<Local, Bits<16>>,
    kh_m1: Signal<Local, Bits<16>>,
    kw_m1: Signal<Local, Bits<16>>,
    max_gt: Signal<Local, Bit>,
    lt_lo: Signal<Local, Bit>,
    gt_hi: Signal<Local, Bit>,
    cl_in: Signal<Local, Bits<32>>,
    rowskip: DFF<Bits<32>>,
    beat256: Signal<Local, Bits<256>>,
    in_w16: Signal<Local, Bits<16>>,
    kw16: Signal<Local, Bits<16>>,
    sw16: Signal<Local, Bits<16>>,
    pl16: Signal<Local, Bits<16>>,
    kh16: Signal<Local, Bits<16>>,
    sh16: Signal<Local, Bits<16>>,
    pt16: Signal<Local, Bits<16>>,
    w_ls: Signal<Local, Bits<32>>,
    w_m1: Signal<Local, Bits<32>>,
    w_m2: Signal<Local, Bits<32>>,
    w_mo: Signal<Local, Bits<32>>,
    log_n: Signal<Local, Bits<8>>,
    s_cap: Signal<Local, Bits<8>>,
    fold_shift: Signal<Local, Bits<8>>,
    m_mag: Signal<Local, Bits<32>>,
    m_mag64: Signal<Local, Bits<64>>,
    fold_dividend: Signal<Local, Bits<64>>,
    div_t: Signal<Local, Bits<64>>,
    div_ge: Signal<Local, Bit>,
    zin32: Signal<Local, Bits<32>>,
    zin2_32: Signal<Local, Bits<32>>,
    zout32: Signal<Local, Bits<32>>,
    lo32: Signal<Local, Bits<32>>,
    hi32: Signal<Local, Bits<32>>,
    off_end: Signal<Local, Bits<16>>,
    in_slice: Signal<Local, Bit>,
    last_slot: Signal<Local, Bit>,
    last_kx: Signal<Local, Bit>,
    last_ky: Signal<Local, Bit>,
    in_win: Signal<Local, Bit>,
    raddr_w: Signal<Local, Bits<WA>>,
    word1: Signal<Local, Bits<W>>,
    word2: Signal<Local, Bits<W>>,
    byte1: Signal<Local, Bits<8>>,
    byte2: Signal<Local, Bits<8>>,
    val1: Signal<Local, Bits<32>>,
    val2: Signal<Local, Bits<32>>,
    sh1: Signal<Local, Bits<32>>,
    sh2: Signal<Local, Bits<32>>,
    s1_8: Signal<Local, Bits<8>>,
    s2_8: Signal<Local, Bits<8>>,
    so_8: Signal<Local, Bits<8>>,
    fs_8: Signal<Local, Bits<8>>,
    sum12: Signal<Local, Bits<32>>,
    acc_neg: Signal<Local, Bit>,
    acc_mag: Signal<Local, Bits<32>>,
    emit_v: Signal<Local, Bit>,
    emit_b: Signal<Local, Bits<8>>,
    emit_s: Signal<Local, Bit>,
    byte_w: Signal<Local, Bits<W>>,
    new_beat: Signal<Local, Bits<W>>,
    strb_s: Signal<Local, Bits<S>>,
    new_strb: Signal<Local, Bits<S>>,
    issue: Signal<Local, Bit>,
    issue_s: Signal<Local, Bit>,
    wtake: Signal<Local, Bit>,
    rptr_w: Signal<Local, Bits<WA>>,
    lptr_w: Signal<Local, Bits<WA>>,
    wptr_w: Signal<Local, Bits<WA>>,
    in_len_beats: Signal<Local, Bits<32>>,
    mac_sh: Signal<Local, Bits<32>>,
    mac_pt: Signal<Local, Bits<32>>,
    mac_h: Signal<Local, Bits<32>>,
    next_base: Signal<Local, Bits<32>>,
    next_row: Signal<Local, Bits<32>>,
    _beat_bytes: usize,
}

impl<const W: usize, const S: usize, const WA: usize> Default for PostUnit<W, S, WA> {
    fn default() -> Self {
        assert_eq!(S * 8, W, "one strobe per byte");
        assert!([64, 128, 256, 512].contains(&W), "DMA width {W}");
        assert!(WA >= 2 && WA + (W / 8).trailing_zeros() as usize <= 28, "buffer of 2^{WA} beats");
        let bb = (W / 8) as u64;
        let log2bb = bb.trailing_zeros() as u64;
        let cap = (1u64 << WA) * bb;
        let rec_beats = (32 / bb).max(1);
        Self {
            clock: Default::default(),
            reset: Default::default(),
            start: Default::default(),
            opcode: Default::default(),
            requant: Default::default(),
            in_signed: Default::default(),
            count_include_pad: Default::default(),
            batch: Default::default(),
            in_h: Default::default(),
            in_w: Default::default(),
            in_c: Default::default(),
            out_h: Default::default(),
            out_w: Default::default(),
            kernel_h: Default::default(),
            kernel_w: Default::default(),
            stride_h: Default::default(),
            stride_w: Default::default(),
            pad_top: Default::default(),
            pad_left: Default::default(),
            in_zp: Default::default(),
            in2_zp: Default::default(),
            out_zp: Default::default(),
            act_min: Default::default(),
            act_max: Default::default(),
            out_ch_stride: Default::default(),
            out_ch_offset: Default::default(),
            input_addr_lo: Default::default(),
            input2_addr_lo: Default::default(),
            output_addr_lo: Default::default(),
            param_addr_lo: Default::default(),
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
            in1: Default::default(),
            in2: Default::default(),
            out_data: Default::default(),
            out_strb: Default::default(),
            rq1: Default::default(),
            rq2: Default::default(),
            rq3: Default::default(),
            strb_pipe: Default::default(),
            state: Default::default(),
            ph: Default::default(),
            is_add: Default::default(),
            is_max: Default::default(),
            is_gap: Default::default(),
            fixed: Default::default(),
            second: Default::default(),
            step: Default::default(),
            done_r: Default::default(),
            err_r: Default::default(),
            code_r: Default::default(),
            rec: Default::default(),
            kh: Default::default(),
            kw: Default::default(),
            sh: Default::default(),
            sw: Default::default(),
            pt: Default::default(),
            pl: Default::default(),
            oh: Default::default(),
            ow: Default::default(),
            rb: Default::default(),
            kwc: Default::default(),
            swc: Default::default(),
            plc: Default::default(),
            cfull: Default::default(),
            mc: Default::default(),
            m_sh: Default::default(),
            m_pt: Default::default(),
            m_h: Default::default(),
            p_sh: Default::default(),
            p_pt: Default::default(),
            p_img: Default::default(),
            in_len: Default::default(),
            fold_m: Default::default(),
            fold_s: Default::default(),
            fold_neg: Default::default(),
            dq: Default::default(),
            dr: Default::default(),
            dd: Default::default(),
            dneg: Default::default(),
            lptr: Default::default(),
            j: Default::default(),
            cch: Default::default(),
            e: Default::default(),
            b: Default::default(),
            oy: Default::default(),
            ox: Default::default(),
            base_b: Default::default(),
            row_base: Default::default(),
            pix: Default::default(),
            orig_y: Default::default(),
            orig_x: Default::default(),
            ky: Default::default(),
            kx: Default::default(),
            y: Default::default(),
            x: Default::default(),
            a: Default::default(),
            cnt: Default::default(),
            acc: Default::default(),
            rd_in: Default::default(),
            lane_sel: Default::default(),
            lane8: Default::default(),
            y3s: Default::default(),
            k0_wa: k(0),
            k1_wa: k(1),
            _log2bb: log2bb as usize,
            iss: Default::default(),
            t1_v: Default::default(),
            t1_s: Default::default(),
            p_emit: Default::default(),
            p_byte: Default::default(),
            p_strb: Default::default(),
            beat: Default::default(),
            bstrb: Default::default(),
            lane: Default::default(),
            wptr: Default::default(),
            rptr: Default::default(),
            drain: Default::default(),
            ks_idle: k(S_IDLE),
            ks_pcmd: k(S_PCMD),
            ks_prx: k(S_PRX),
            ks_setup: k(S_SETUP),
            ks_fold: k(S_FOLD),
            ks_lcmd: k(S_LCMD),
            ks_lrx: k(S_LRX),
            ks_comp: k(S_COMP),
            ks_tail: k(S_TAIL),
            ks_drain: k(S_DRAIN),
            ks_wcmd: k(S_WCMD),
            ks_wdata: k(S_WDATA),
            kp_slot: k(P_SLOT),
            kp_scan: k(P_SCAN),
            kp_acc: k(P_ACC),
            kp_fin: k(P_FIN),
            kp_div: k(P_DIV),
            kp_rq: k(P_RQ),
            kp_dq: k(P_DQ),
            k_idx_8: (0..32.max(bb)).map(k::<8>).collect(),
            k18_8: k(18),
            k35_8: k(35),
            k0_24: k(0),
            k_hi16_32: k(0xffff_0000),
            k_hi24_32: k(0xffff_ff00),
            k_int_min_32: k(0x8000_0000),
            k_int_max_32: k(0x7fff_ffff),
            k8_w: k(8),
            k_top_byte_w: k(W as u64 - 8),
            k2_2: k(2),
            k_divsteps_m1_8: k(DIV_STEPS as u64 - 1),
            cch32: Default::default(),
            iss_inc: Default::default(),
            k1_s: k(1),
            k0_s: k(0),
            k_top_s: k(1u64 << (S - 1)),
            k63_64: k(63),
            k0_8: k(0),
            k1_8: k(1),
            k31_8: k(31),
            k_foldsteps_8: k(FOLD_STEPS as u64),
            k_drain_add_8: k(2 * RQ_LATENCY as u64 + 2),
            k_code_unsup_8: k(systole_arch::regmap::ErrorCode::Unsupported as u64),
            k_code_geom_8: k(systole_arch::regmap::ErrorCode::BadGeometry as u64),
            k_code_dma_8: k(systole_arch::regmap::ErrorCode::DmaError as u64),
            k_op_add_8: k(systole_arch::Opcode::Add as u64),
            k_op_avg_8: k(systole_arch::Opcode::AvgPool as u64),
            k_op_max_8: k(systole_arch::Opcode::MaxPool as u64),
            k_op_gap_8: k(systole_arch::Opcode::GlobalAvgPool as u64),
            k0_2: k(0),
            k1_2: k(1),
            k0_16: k(0),
            k1_16: k(1),
            k0_32: k(0),
            k1_32: k(1),
            k31_32: k(31),
            k_sign_32: k(0x8000_0000),
            k_bb_m1_32: k(bb - 1),
            k_log2bb_32: k(log2bb),
            k_cap_32: k(cap),
            k_capw_32: k(1u64 << WA),
            k_rec_beats_24: k(rec_beats),
            k_bb_m1_8: k(bb - 1),
            k0_64: k(0),
            k1_64: k(1),
            k_divpre_64: k((64 - DIV_STEPS) as u64),
            k_rec_shift_16: k(W.min(256) as u64),
            k_rec_place_16: k(256u64.saturating_sub(W as u64)),
            st_idle: Default::default(),
            st_pcmd: Default::default(),
            st_prx: Default::default(),
            st_setup: Default::default(),
            st_fold: Default::default(),
            st_lcmd: Default::default(),
            st_lrx: Default::default(),
            st_comp: Default::default(),
            st_tail: Default::default(),
            st_drain: Default::default(),
            st_wcmd: Default::default(),
            st_wdata: Default::default(),
            zin_u: Default::default(),
            zin2_u: Default::default(),
            zout_u: Default::default(),
            lo_u: Default::default(),
            hi_u: Default::default(),
            b1_u: Default::default(),
            b2_u: Default::default(),
            c32: Default::default(),
            stride_m1: Default::default(),
            emit_bw: Default::default(),
            ls32: Default::default(),
            y1u: Default::default(),
            y2u: Default::default(),
            y3b: Default::default(),
            res_b: Default::default(),
            q_b: Default::default(),
            div_top: Default::default(),
            ge64: Default::default(),
            fold_s64: Default::default(),
            divisor32: Default::default(),
            dividend32: Default::default(),
            dividend64: Default::default(),
            dq32: Default::default(),
            wptr24: Default::default(),
            beats24: Default::default(),
            w1_8: Default::default(),
            inc_e: Default::default(),
            e_next: Default::default(),
            adv_slot: Default::default(),
            pix_end: Default::default(),
            layer_end: Default::default(),
            in_c32: Default::default(),
            in_h32: Default::default(),
            in_w32: Default::default(),
            sh32: Default::default(),
            sw32: Default::default(),
            pt32: Default::default(),
            pl32: Default::default(),
            batch_m1: Default::default(),
            oh_m1: Default::default(),
            ow_m1: Default::default(),
            kh_m1: Default::default(),
            kw_m1: Default::default(),
            max_gt: Default::default(),
            lt_lo: Default::default(),
            gt_hi: Default::default(),
            cl_in: Default::default(),
            rowskip: Default::default(),
            beat256: Default::default(),
            in_w16: Default::default(),
            kw16: Default::default(),
            sw16: Default::default(),
            pl16: Default::default(),
            kh16: Default::default(),
            sh16: Default::default(),
            pt16: Default::default(),
            w_ls: Default::default(),
            w_m1: Default::default(),
            w_m2: Default::default(),
            w_mo: Default::default(),
            log_n: Default::default(),
            s_cap: Default::default(),
            fold_shift: Default::default(),
            m_mag: Default::default(),
            m_mag64: Default::default(),
            fold_dividend: Default::default(),
            div_t: Default::default(),
            div_ge: Default::default(),
            zin32: Default::default(),
            zin2_32: Default::default(),
            zout32: Default::default(),
            lo32: Default::default(),
            hi32: Default::default(),
            off_end: Default::default(),
            in_slice: Default::default(),
            last_slot: Default::default(),
            last_kx: Default::default(),
            last_ky: Default::default(),
            in_win: Default::default(),
            raddr_w: Default::default(),
            word1: Default::default(),
            word2: Default::default(),
            byte1: Default::default(),
            byte2: Default::default(),
            val1: Default::default(),
            val2: Default::default(),
            sh1: Default::default(),
            sh2: Default::default(),
            s1_8: Default::default(),
            s2_8: Default::default(),
            so_8: Default::default(),
            fs_8: Default::default(),
            sum12: Default::default(),
            acc_neg: Default::default(),
            acc_mag: Default::default(),
            emit_v: Default::default(),
            emit_b: Default::default(),
            emit_s: Default::default(),
            byte_w: Default::default(),
            new_beat: Default::default(),
            strb_s: Default::default(),
            new_strb: Default::default(),
            issue: Default::default(),
            issue_s: Default::default(),
            wtake: Default::default(),
            rptr_w: Default::default(),
            lptr_w: Default::default(),
            wptr_w: Default::default(),
            in_len_beats: Default::default(),
            mac_sh: Default::default(),
            mac_pt: Default::default(),
            mac_h: Default::default(),
            next_base: Default::default(),
            next_row: Default::default(),
            _beat_bytes: bb as usize,
        }
    }
}

impl<const W: usize, const S: usize, const WA: usize> Logic for PostUnit<W, S, WA> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, state, ph, is_add, is_max, is_gap, fixed, second, step, done_r, err_r, code_r, rec, kh, kw,
            sh, sw, pt, pl, oh, ow, rb, kwc, swc, plc, cfull, rowskip, mc, m_sh, m_pt, m_h, p_sh, p_pt, p_img, in_len,
            fold_m, fold_s, fold_neg, dq, dr, dd, dneg, lptr, j, cch, e, b, oy, ox, base_b, row_base, pix, orig_y,
            orig_x, ky, kx, y, x, a, cnt, acc, rd_in, lane_sel, iss, t1_v, t1_s, p_emit, p_byte, p_strb, beat, bstrb,
            lane, wptr, rptr, drain
        );
        self.in1.read_clock.next = self.clock.val();
        self.in1.write_clock.next = self.clock.val();
        self.in2.read_clock.next = self.clock.val();
        self.in2.write_clock.next = self.clock.val();
        self.out_data.read_clock.next = self.clock.val();
        self.out_data.write_clock.next = self.clock.val();
        self.out_strb.read_clock.next = self.clock.val();
        self.out_strb.write_clock.next = self.clock.val();
        self.rq1.clock.next = self.clock.val();
        self.rq2.clock.next = self.clock.val();
        self.rq3.clock.next = self.clock.val();
        self.strb_pipe.clock.next = self.clock.val();

        // ---- Decode.
        self.st_idle.next = self.state.q.val() == self.ks_idle.val();
        self.st_pcmd.next = self.state.q.val() == self.ks_pcmd.val();
        self.st_prx.next = self.state.q.val() == self.ks_prx.val();
        self.st_setup.next = self.state.q.val() == self.ks_setup.val();
        self.st_fold.next = self.state.q.val() == self.ks_fold.val();
        self.st_lcmd.next = self.state.q.val() == self.ks_lcmd.val();
        self.st_lrx.next = self.state.q.val() == self.ks_lrx.val();
        self.st_comp.next = self.state.q.val() == self.ks_comp.val();
        self.st_tail.next = self.state.q.val() == self.ks_tail.val();
        self.st_drain.next = self.state.q.val() == self.ks_drain.val();
        self.st_wcmd.next = self.state.q.val() == self.ks_wcmd.val();
        self.st_wdata.next = self.state.q.val() == self.ks_wdata.val();

        // Record words (ADD: ls m1 s1 m2 s2 mo so; MEAN: M shift).
        self.w_ls.next = self.rec.q.val().get_bits::<32>(0);
        self.w_m1.next = self.rec.q.val().get_bits::<32>(32);
        self.w_m2.next = self.rec.q.val().get_bits::<32>(96);
        self.w_mo.next = self.rec.q.val().get_bits::<32>(160);
        self.w1_8.next = self.rec.q.val().get_bits::<8>(32);
        // Input rescales take only right shifts (MultiplyByQuantizedMultiplierSmallerThanOneExp).
        self.s1_8.next = self.k0_8.val();
        if self.rec.q.val().get_bit(95) {
            self.s1_8.next = self.rec.q.val().get_bits::<8>(64);
        }
        self.s2_8.next = self.k0_8.val();
        if self.rec.q.val().get_bit(159) {
            self.s2_8.next = self.rec.q.val().get_bits::<8>(128);
        }
        self.so_8.next = self.k0_8.val();
        if self.rec.q.val().get_bit(223) {
            self.so_8.next = self.rec.q.val().get_bits::<8>(192);
        }

        // Sign-extended descriptor values.
        self.zin_u.next = bit_cast::<32, 16>(self.in_zp.val());
        self.zin2_u.next = bit_cast::<32, 16>(self.in2_zp.val());
        self.zout_u.next = bit_cast::<32, 16>(self.out_zp.val());
        self.lo_u.next = bit_cast::<32, 16>(self.act_min.val());
        self.hi_u.next = bit_cast::<32, 16>(self.act_max.val());
        self.zin32.next = self.zin_u.val();
        if self.in_zp.val().get_bit(15) {
            self.zin32.next = self.zin_u.val() | self.k_hi16_32.val();
        }
        self.zin2_32.next = self.zin2_u.val();
        if self.in2_zp.val().get_bit(15) {
            self.zin2_32.next = self.zin2_u.val() | self.k_hi16_32.val();
        }
        self.zout32.next = self.zout_u.val();
        if self.out_zp.val().get_bit(15) {
            self.zout32.next = self.zout_u.val() | self.k_hi16_32.val();
        }
        self.lo32.next = self.lo_u.val();
        if self.act_min.val().get_bit(15) {
            self.lo32.next = self.lo_u.val() | self.k_hi16_32.val();
        }
        self.hi32.next = self.hi_u.val();
        if self.act_max.val().get_bit(15) {
            self.hi32.next = self.hi_u.val() | self.k_hi16_32.val();
        }
        self.in_c32.next = bit_cast::<32, 16>(self.in_c.val());
        self.in_h32.next = bit_cast::<32, 16>(self.in_h.val());
        self.in_w32.next = bit_cast::<32, 16>(self.in_w.val());
        self.sh32.next = bit_cast::<32, 16>(self.sh.q.val());
        self.sw32.next = bit_cast::<32, 16>(self.sw.q.val());
        self.pt32.next = bit_cast::<32, 16>(self.pt.q.val());
        self.pl32.next = bit_cast::<32, 16>(self.pl.q.val());
        self.kh16.next = bit_cast::<16, 8>(self.kernel_h.val());
        self.kw16.next = bit_cast::<16, 8>(self.kernel_w.val());
        self.sh16.next = bit_cast::<16, 8>(self.stride_h.val());
        self.sw16.next = bit_cast::<16, 8>(self.stride_w.val());
        self.pt16.next = bit_cast::<16, 8>(self.pad_top.val());
        self.pl16.next = bit_cast::<16, 8>(self.pad_left.val());
        self.in_w16.next = self.in_w.val();
        self.c32.next = self.in_c32.val();
        self.stride_m1.next = self.out_ch_stride.val() - self.k1_16.val();
        self.off_end.next = self.out_ch_offset.val() + self.in_c.val();
        self.batch_m1.next = self.batch.val() - self.k1_16.val();
        self.oh_m1.next = self.oh.q.val() - self.k1_16.val();
        self.ow_m1.next = self.ow.q.val() - self.k1_16.val();
        self.kh_m1.next = self.kh.q.val() - self.k1_16.val();
        self.kw_m1.next = self.kw.q.val() - self.k1_16.val();

        // ---- Defaults.
        self.rd_cmd_valid.next = false;
        self.rd_cmd_addr.next = self.input_addr_lo.val();
        self.rd_cmd_beats.next = self.k0_24.val();
        self.rd_ready.next = false;
        self.wr_cmd_valid.next = false;
        self.wr_cmd_addr.next = self.output_addr_lo.val();
        self.wptr24.next = bit_cast::<24, 32>(self.wptr.q.val());
        self.wr_cmd_beats.next = self.wptr24.val();
        self.wr_valid.next = false;
        self.wr_data.next = self.out_data.read_data.val();
        self.wr_strb.next = self.out_strb.read_data.val();
        self.done.next = self.done_r.q.val();
        self.error.next = self.err_r.q.val();
        self.error_code.next = self.code_r.q.val();
        self.stall.next = self.st_pcmd.val()
            | self.st_prx.val()
            | self.st_lcmd.val()
            | self.st_lrx.val()
            | self.st_wcmd.val()
            | self.st_wdata.val();
        self.done_r.d.next = false;
        self.err_r.d.next = false;
        self.rd_in.d.next = false;
        self.t1_v.d.next = false;
        self.t1_s.d.next = false;
        self.p_emit.d.next = false;
        self.p_strb.d.next = false;
        self.p_byte.d.next = self.k0_8.val();
        self.issue.next = false;
        self.issue_s.next = false;
        self.adv_slot.next = false;
        self.wtake.next = false;
        self.rq1.valid_in.next = false;
        self.rq2.valid_in.next = false;
        self.rq3.valid_in.next = false;
        self.rq1.mode.next = false;
        self.rq2.mode.next = false;
        self.rq3.mode.next = false;

        self.beat256.next = bit_cast::<256, W>(self.rd_data.val());
        self.fs_8.next = self.w1_8.val() - self.fold_s.q.val();
        self.cch32.next = bit_cast::<32, 16>(self.cch.q.val());
        self.iss_inc.next = (self.iss.q.val() + self.k1_8.val()) & self.k_bb_m1_8.val();

        // ---- Buffer read path (one address for both inputs): word, then byte lane a cycle later.
        // Byte address: ADD walks `e`, the pools `a`; word = address >> log2(beat bytes).
        for i in (self._log2bb)..(self._log2bb + 1) {
            self.raddr_w.next = self.a.q.val().get_bits::<WA>(i);
            if self.is_add.q.val() {
                self.raddr_w.next = self.e.q.val().get_bits::<WA>(i);
            }
        }
        self.lane8.next = self.a.q.val().get_bits::<8>(0);
        if self.is_add.q.val() {
            self.lane8.next = self.e.q.val().get_bits::<8>(0);
        }
        self.lane_sel.d.next = self.lane8.val() & self.k_bb_m1_8.val();
        self.in1.read_address.next = self.raddr_w.val();
        self.in2.read_address.next = self.raddr_w.val();
        self.word1.next = self.in1.read_data.val();
        self.word2.next = self.in2.read_data.val();
        self.byte1.next = self.word1.val().get_bits::<8>(0);
        self.byte2.next = self.word2.val().get_bits::<8>(0);
        for l in 0..(self._beat_bytes) {
            if self.lane_sel.q.val() == self.k_idx_8[l].val() {
                self.byte1.next = self.word1.val().get_bits::<8>(8 * l);
                self.byte2.next = self.word2.val().get_bits::<8>(8 * l);
            }
        }
        self.b1_u.next = bit_cast::<32, 8>(self.byte1.val());
        self.b2_u.next = bit_cast::<32, 8>(self.byte2.val());
        self.val1.next = self.b1_u.val();
        if self.in_signed.val() & self.byte1.val().get_bit(7) {
            self.val1.next = self.b1_u.val() | self.k_hi24_32.val();
        }
        self.val2.next = self.b2_u.val();
        if self.in_signed.val() & self.byte2.val().get_bit(7) {
            self.val2.next = self.b2_u.val() | self.k_hi24_32.val();
        }

        // ---- ADD datapath: (x - zp) << left_shift, two input rescales, sum, output rescale.
        self.ls32.next = self.w_ls.val() & self.k31_32.val();
        self.sh1.next = (self.val1.val() - self.zin32.val()) << self.ls32.val();
        self.sh2.next = (self.val2.val() - self.zin2_32.val()) << self.ls32.val();
        self.rq1.acc.next = signed_cast(self.sh1.val());
        self.rq1.mult.next = self.w_m1.val();
        self.rq1.shift.next = signed_cast(self.s1_8.val());
        self.rq1.zero_point.next = signed_cast(self.k0_32.val());
        self.rq1.act_min.next = signed_cast(self.k_int_min_32.val());
        self.rq1.act_max.next = signed_cast(self.k_int_max_32.val());
        self.rq2.acc.next = signed_cast(self.sh2.val());
        self.rq2.mult.next = self.w_m2.val();
        self.rq2.shift.next = signed_cast(self.s2_8.val());
        self.rq2.zero_point.next = signed_cast(self.k0_32.val());
        self.rq2.act_min.next = signed_cast(self.k_int_min_32.val());
        self.rq2.act_max.next = signed_cast(self.k_int_max_32.val());
        self.rq1.valid_in.next = self.t1_v.q.val();
        self.rq2.valid_in.next = self.t1_v.q.val();
        self.strb_pipe.d.next = self.t1_s.q.val().into();
        self.y1u.next = unsigned_cast(self.rq1.y.val());
        self.y2u.next = unsigned_cast(self.rq2.y.val());
        self.sum12.next = self.y1u.val() + self.y2u.val();
        self.y3s.next = self.rq3.y.val().get_bits::<8>(0);
        self.y3b.next = unsigned_cast(self.y3s.val());
        self.rq3.acc.next = signed_cast(self.sum12.val());
        self.rq3.mult.next = self.w_mo.val();
        self.rq3.shift.next = signed_cast(self.so_8.val());
        self.rq3.zero_point.next = signed_cast(self.zout32.val());
        self.rq3.act_min.next = signed_cast(self.lo32.val());
        self.rq3.act_max.next = signed_cast(self.hi32.val());
        if self.is_add.q.val() {
            self.rq3.valid_in.next = self.rq1.valid_out.val() & self.rq2.valid_out.val();
        } else {
            // MEAN with a rescale: the folded multiplier and shift on the zero-pointed sum.
            self.rq3.acc.next = signed_cast(self.acc.q.val());
            self.rq3.mult.next = self.fold_m.q.val();
            self.rq3.shift.next = signed_cast(self.fs_8.val());
        }

        // ---- Pool finishing: magnitude, rounding half, divider, clamp.
        self.acc_neg.next = self.acc.q.val().get_bit(31);
        self.acc_mag.next = self.acc.q.val();
        if self.acc.q.val().get_bit(31) {
            self.acc_mag.next = self.k0_32.val() - self.acc.q.val();
        }
        self.divisor32.next = self.cnt.q.val();
        if self.count_include_pad.val() {
            self.divisor32.next = self.cfull.q.val();
        }
        self.dividend32.next = self.acc_mag.val();
        if !self.is_gap.q.val() {
            // TFLite AveragePool: (|sum| + count / 2) / count; MEAN truncates.
            self.dividend32.next = self.acc_mag.val() + (self.divisor32.val() >> self.k1_32.val());
        }
        self.dividend64.next = bit_cast::<64, 32>(self.dividend32.val());
        self.div_top.next = self.dq.q.val() >> self.k63_64.val();
        self.div_t.next = (self.dr.q.val() << self.k1_64.val()) | self.div_top.val();
        self.div_ge.next = self.div_t.val() >= self.dd.q.val();
        self.ge64.next = self.k0_64.val();
        if self.div_ge.val() {
            self.ge64.next = self.k1_64.val();
        }
        self.dq32.next = self.dq.q.val().get_bits::<32>(0);
        self.q_b.next = self.dq32.val();
        if self.dneg.q.val() {
            self.q_b.next = self.k0_32.val() - self.dq32.val();
        }
        // Signed max and clamp by flipping the sign bits.
        self.max_gt.next = (self.val1.val() ^ self.k_sign_32.val()) > (self.acc.q.val() ^ self.k_sign_32.val());
        self.cl_in.next = self.q_b.val();
        if self.is_max.q.val() {
            self.cl_in.next = self.acc.q.val();
        }
        self.lt_lo.next = (self.cl_in.val() ^ self.k_sign_32.val()) < (self.lo32.val() ^ self.k_sign_32.val());
        self.gt_hi.next = (self.cl_in.val() ^ self.k_sign_32.val()) > (self.hi32.val() ^ self.k_sign_32.val());
        // Clamped into [act_min, act_max], the value fits the output byte.
        self.res_b.next = self.cl_in.val().get_bits::<8>(0);
        if self.lt_lo.val() {
            self.res_b.next = self.lo32.val().get_bits::<8>(0);
        }
        if self.gt_hi.val() {
            self.res_b.next = self.hi32.val().get_bits::<8>(0);
        }

        // MEAN fold: s = min(floor(log2 count), 31 + shift), dividend |M| << s.
        self.log_n.next = self.k0_8.val();
        for i in 0..32 {
            if self.cfull.q.val().get_bit(i) {
                self.log_n.next = self.k_idx_8[i].val();
            }
        }
        self.s_cap.next = self.k31_8.val() + self.w1_8.val();
        self.fold_shift.next = self.log_n.val();
        if self.s_cap.val() < self.log_n.val() {
            self.fold_shift.next = self.s_cap.val();
        }
        self.m_mag.next = self.w_ls.val();
        if self.w_ls.val().get_bit(31) {
            self.m_mag.next = self.k0_32.val() - self.w_ls.val();
        }
        self.m_mag64.next = bit_cast::<64, 32>(self.m_mag.val());
        self.fold_s64.next = bit_cast::<64, 8>(self.fold_shift.val());
        self.fold_dividend.next = self.m_mag64.val() << self.fold_s64.val();

        // Shift-add steps of the setup.
        self.mac_sh.next = self.p_sh.q.val();
        if self.m_sh.q.val().get_bit(0) {
            self.mac_sh.next = self.p_sh.q.val() + self.mc.q.val();
        }
        self.mac_pt.next = self.p_pt.q.val();
        if self.m_pt.q.val().get_bit(0) {
            self.mac_pt.next = self.p_pt.q.val() + self.mc.q.val();
        }
        self.mac_h.next = self.p_img.q.val();
        if self.m_h.q.val().get_bit(0) {
            self.mac_h.next = self.p_img.q.val() + self.mc.q.val();
        }
        self.in_len_beats.next = (self.in_len.q.val() + self.k_bb_m1_32.val()) >> self.k_log2bb_32.val();
        self.beats24.next = bit_cast::<24, 32>(self.in_len_beats.val());

        // Slot bookkeeping.
        self.in_slice.next = (self.j.q.val() >= self.out_ch_offset.val()) & (self.j.q.val() < self.off_end.val());
        self.last_slot.next = self.j.q.val() == self.stride_m1.val();
        self.inc_e.next = self.k0_32.val();
        if self.in_slice.val() {
            self.inc_e.next = self.k1_32.val();
        }
        self.e_next.next = self.e.q.val() + self.inc_e.val();
        self.last_kx.next = self.kx.q.val() == self.kw_m1.val();
        self.last_ky.next = self.ky.q.val() == self.kh_m1.val();
        self.in_win.next = (self.y.q.val() < self.in_h32.val()) & (self.x.q.val() < self.in_w32.val());
        self.pix_end.next = self.last_slot.val() & (self.ox.q.val() == self.ow_m1.val());
        self.layer_end.next =
            self.pix_end.val() & (self.oy.q.val() == self.oh_m1.val()) & (self.b.q.val() == self.batch_m1.val());
        self.next_base.next = self.base_b.q.val() + self.p_img.q.val();
        self.next_row.next = self.row_base.q.val() + self.p_sh.q.val();

        // Accumulate the byte read in the previous scan cycle.
        if self.rd_in.q.val() {
            if self.is_max.q.val() {
                if self.max_gt.val() {
                    self.acc.d.next = self.val1.val();
                }
            } else if self.fixed.q.val() {
                self.acc.d.next = self.acc.q.val() + (self.val1.val() - self.zin32.val());
            } else {
                self.acc.d.next = self.acc.q.val() + self.val1.val();
            }
        }

        // ---- Control.
        if self.st_idle.val() {
            if self.start.val() {
                self.is_add.d.next = self.opcode.val() == self.k_op_add_8.val();
                self.is_max.d.next = self.opcode.val() == self.k_op_max_8.val();
                self.is_gap.d.next = self.opcode.val() == self.k_op_gap_8.val();
                self.fixed.d.next = self.requant.val() == self.k1_2.val();
                self.second.d.next = false;
                self.step.d.next = self.k0_8.val();
                self.kh.d.next = self.kh16.val();
                self.kw.d.next = self.kw16.val();
                self.sh.d.next = self.sh16.val();
                self.sw.d.next = self.sw16.val();
                self.pt.d.next = self.pt16.val();
                self.pl.d.next = self.pl16.val();
                self.oh.d.next = self.out_h.val();
                self.ow.d.next = self.out_w.val();
                if self.opcode.val() == self.k_op_gap_8.val() {
                    self.kh.d.next = self.in_h.val();
                    self.kw.d.next = self.in_w16.val();
                    self.sh.d.next = self.k1_16.val();
                    self.sw.d.next = self.k1_16.val();
                    self.pt.d.next = self.k0_16.val();
                    self.pl.d.next = self.k0_16.val();
                    self.oh.d.next = self.k1_16.val();
                    self.ow.d.next = self.k1_16.val();
                }
                self.state.d.next = self.ks_setup.val();
                if self.requant.val() == self.k1_2.val() {
                    self.state.d.next = self.ks_pcmd.val();
                }
                // Engine modes of this unit; everything else is refused.
                if !(((self.opcode.val() == self.k_op_add_8.val()) & (self.requant.val() == self.k1_2.val()))
                    | ((self.opcode.val() == self.k_op_max_8.val()) & (self.requant.val() == self.k0_2.val()))
                    | ((self.opcode.val() == self.k_op_avg_8.val()) & (self.requant.val() == self.k0_2.val()))
                    | ((self.opcode.val() == self.k_op_gap_8.val()) & (self.requant.val() != self.k2_2.val())))
                {
                    self.state.d.next = self.ks_idle.val();
                    self.err_r.d.next = true;
                    self.code_r.d.next = self.k_code_unsup_8.val();
                }
            }
        } else if self.st_pcmd.val() {
            self.rd_cmd_valid.next = true;
            self.rd_cmd_addr.next = self.param_addr_lo.val();
            self.rd_cmd_beats.next = self.k_rec_beats_24.val();
            if self.rd_cmd_ready.val() {
                self.state.d.next = self.ks_prx.val();
            }
        } else if self.st_prx.val() {
            self.rd_ready.next = true;
            if self.rd_valid.val() {
                self.rec.d.next =
                    (self.rec.q.val() >> self.k_rec_shift_16.val()) | (self.beat256.val() << self.k_rec_place_16.val());
                if self.rd_last.val() {
                    self.state.d.next = self.ks_setup.val();
                }
            }
        } else if self.st_setup.val() {
            self.step.d.next = self.step.q.val() + self.k1_8.val();
            if self.step.q.val() == self.k0_8.val() {
                self.rb.d.next = self.in_w.val() * self.in_c.val();
                self.kwc.d.next = self.kw.q.val() * self.in_c.val();
                self.swc.d.next = self.sw.q.val() * self.in_c.val();
                self.plc.d.next = self.pl.q.val() * self.in_c.val();
                self.cfull.d.next = self.kh.q.val() * self.kw.q.val();
            } else if self.step.q.val() == self.k1_8.val() {
                self.mc.d.next = self.rb.q.val();
                self.m_sh.d.next = self.sh.q.val();
                self.m_pt.d.next = self.pt.q.val();
                self.m_h.d.next = self.in_h.val();
                self.p_sh.d.next = self.k0_32.val();
                self.p_pt.d.next = self.k0_32.val();
                self.p_img.d.next = self.k0_32.val();
                self.rowskip.d.next = (self.rb.q.val() - self.kwc.q.val()) + self.c32.val();
            } else if self.step.q.val() == self.k18_8.val() {
                self.mc.d.next = self.p_img.q.val();
                self.m_h.d.next = self.batch.val();
                self.in_len.d.next = self.k0_32.val();
            } else if self.step.q.val() == self.k35_8.val() {
                self.step.d.next = self.k0_8.val();
                self.state.d.next = self.ks_lcmd.val();
                if self.is_gap.q.val() & self.fixed.q.val() {
                    self.state.d.next = self.ks_fold.val();
                    self.dq.d.next = self.fold_dividend.val();
                    self.dr.d.next = self.k0_64.val();
                    self.dd.d.next = bit_cast::<64, 32>(self.cfull.q.val());
                    self.fold_neg.d.next = self.w_ls.val().get_bit(31);
                    self.fold_s.d.next = self.fold_shift.val();
                }
                if self.in_len.q.val() > self.k_cap_32.val() {
                    self.state.d.next = self.ks_idle.val();
                    self.err_r.d.next = true;
                    self.code_r.d.next = self.k_code_geom_8.val();
                }
            } else if self.step.q.val() < self.k18_8.val() {
                self.p_sh.d.next = self.mac_sh.val();
                self.p_pt.d.next = self.mac_pt.val();
                self.p_img.d.next = self.mac_h.val();
                self.mc.d.next = self.mc.q.val() << self.k1_32.val();
                self.m_sh.d.next = self.m_sh.q.val() >> self.k1_16.val();
                self.m_pt.d.next = self.m_pt.q.val() >> self.k1_16.val();
                self.m_h.d.next = self.m_h.q.val() >> self.k1_16.val();
            } else {
                self.in_len.d.next = self.in_len.q.val() + (self.mac_h.val() - self.p_img.q.val());
                self.mc.d.next = self.mc.q.val() << self.k1_32.val();
                self.m_h.d.next = self.m_h.q.val() >> self.k1_16.val();
            }
        } else if self.st_fold.val() {
            self.step.d.next = self.step.q.val() + self.k1_8.val();
            self.dr.d.next = self.div_t.val();
            if self.div_ge.val() {
                self.dr.d.next = self.div_t.val() - self.dd.q.val();
            }
            self.dq.d.next = (self.dq.q.val() << self.k1_64.val()) | self.ge64.val();
            if self.step.q.val() == self.k_foldsteps_8.val() {
                self.dr.d.next = self.dr.q.val();
                self.dq.d.next = self.dq.q.val();
                self.fold_m.d.next = self.dq32.val();
                if self.fold_neg.q.val() {
                    self.fold_m.d.next = self.k0_32.val() - self.dq32.val();
                }
                self.step.d.next = self.k0_8.val();
                self.state.d.next = self.ks_lcmd.val();
            }
        } else if self.st_lcmd.val() {
            self.rd_cmd_valid.next = true;
            self.rd_cmd_addr.next = self.input_addr_lo.val();
            if self.second.q.val() {
                self.rd_cmd_addr.next = self.input2_addr_lo.val();
            }
            self.rd_cmd_beats.next = self.beats24.val();
            self.lptr.d.next = self.k0_32.val();
            if self.rd_cmd_ready.val() {
                self.state.d.next = self.ks_lrx.val();
            }
        } else if self.st_lrx.val() {
            self.rd_ready.next = true;
            if self.rd_valid.val() {
                self.lptr.d.next = self.lptr.q.val() + self.k1_32.val();
                if self.rd_last.val() {
                    if self.is_add.q.val() & !self.second.q.val() {
                        self.second.d.next = true;
                        self.state.d.next = self.ks_lcmd.val();
                    } else {
                        // Enter COMPUTE at pixel 0, slot 0.
                        self.state.d.next = self.ks_comp.val();
                        self.ph.d.next = self.kp_slot.val();
                        self.j.d.next = self.k0_16.val();
                        self.cch.d.next = self.k0_16.val() - self.out_ch_offset.val();
                        self.e.d.next = self.k0_32.val();
                        self.b.d.next = self.k0_16.val();
                        self.oy.d.next = self.k0_16.val();
                        self.ox.d.next = self.k0_16.val();
                        self.base_b.d.next = self.k0_32.val();
                        self.row_base.d.next = self.k0_32.val() - self.p_pt.q.val();
                        self.pix.d.next = (self.k0_32.val() - self.p_pt.q.val()) - self.plc.q.val();
                        self.orig_y.d.next = self.k0_32.val() - self.pt32.val();
                        self.orig_x.d.next = self.k0_32.val() - self.pl32.val();
                        self.iss.d.next = self.k0_8.val();
                        self.lane.d.next = self.k0_8.val();
                        self.wptr.d.next = self.k0_32.val();
                    }
                }
            }
        } else if self.st_comp.val() {
            if self.is_add.q.val() {
                // One slot per cycle into the pipeline.
                self.issue.next = true;
                self.issue_s.next = self.in_slice.val();
                self.e.d.next = self.e_next.val();
                self.adv_slot.next = true;
                if self.last_slot.val() & (self.e_next.val() == self.in_len.q.val()) {
                    self.state.d.next = self.ks_tail.val();
                }
            } else if self.ph.q.val() == self.kp_slot.val() {
                if self.in_slice.val() {
                    self.ph.d.next = self.kp_scan.val();
                    self.ky.d.next = self.k0_16.val();
                    self.kx.d.next = self.k0_16.val();
                    self.y.d.next = self.orig_y.q.val();
                    self.x.d.next = self.orig_x.q.val();
                    self.a.d.next = self.pix.q.val() + self.cch32.val();
                    self.cnt.d.next = self.k0_32.val();
                    self.acc.d.next = self.k0_32.val();
                    if self.is_max.q.val() {
                        self.acc.d.next = self.k_int_min_32.val();
                    }
                } else {
                    self.p_emit.d.next = true;
                    self.iss.d.next = self.iss_inc.val();
                    self.adv_slot.next = true;
                }
            } else if self.ph.q.val() == self.kp_scan.val() {
                self.rd_in.d.next = self.in_win.val();
                if self.in_win.val() {
                    self.cnt.d.next = self.cnt.q.val() + self.k1_32.val();
                }
                if self.last_kx.val() {
                    self.kx.d.next = self.k0_16.val();
                    self.x.d.next = self.orig_x.q.val();
                    self.a.d.next = self.a.q.val() + self.rowskip.q.val();
                    self.ky.d.next = self.ky.q.val() + self.k1_16.val();
                    self.y.d.next = self.y.q.val() + self.k1_32.val();
                    if self.last_ky.val() {
                        self.ph.d.next = self.kp_acc.val();
                    }
                } else {
                    self.kx.d.next = self.kx.q.val() + self.k1_16.val();
                    self.x.d.next = self.x.q.val() + self.k1_32.val();
                    self.a.d.next = self.a.q.val() + self.c32.val();
                }
            } else if self.ph.q.val() == self.kp_acc.val() {
                self.ph.d.next = self.kp_fin.val();
            } else if self.ph.q.val() == self.kp_fin.val() {
                if self.is_max.q.val() {
                    self.p_emit.d.next = true;
                    self.p_strb.d.next = true;
                    self.p_byte.d.next = self.res_b.val();
                    self.iss.d.next = self.iss_inc.val();
                    self.adv_slot.next = true;
                    self.ph.d.next = self.kp_slot.val();
                } else if self.fixed.q.val() {
                    self.rq3.valid_in.next = true;
                    self.ph.d.next = self.kp_rq.val();
                } else {
                    self.dq.d.next = self.dividend64.val() << self.k_divpre_64.val();
                    self.dr.d.next = self.k0_64.val();
                    self.dd.d.next = bit_cast::<64, 32>(self.divisor32.val());
                    self.dneg.d.next = self.acc_neg.val();
                    self.step.d.next = self.k0_8.val();
                    self.ph.d.next = self.kp_div.val();
                }
            } else if self.ph.q.val() == self.kp_rq.val() {
                if self.rq3.valid_out.val() {
                    self.p_emit.d.next = true;
                    self.p_strb.d.next = true;
                    self.p_byte.d.next = self.y3b.val();
                    self.iss.d.next = self.iss_inc.val();
                    self.adv_slot.next = true;
                    self.ph.d.next = self.kp_slot.val();
                }
            } else if self.ph.q.val() == self.kp_div.val() {
                self.step.d.next = self.step.q.val() + self.k1_8.val();
                self.dr.d.next = self.div_t.val();
                if self.div_ge.val() {
                    self.dr.d.next = self.div_t.val() - self.dd.q.val();
                }
                self.dq.d.next = (self.dq.q.val() << self.k1_64.val()) | self.ge64.val();
                if self.step.q.val() == self.k_divsteps_m1_8.val() {
                    self.ph.d.next = self.kp_dq.val();
                }
            } else {
                // kp_dq: the quotient is complete.
                self.p_emit.d.next = true;
                self.p_strb.d.next = true;
                self.p_byte.d.next = self.res_b.val();
                self.iss.d.next = self.iss_inc.val();
                self.adv_slot.next = true;
                self.ph.d.next = self.kp_slot.val();
            }
            // Next slot, next pixel.
            if self.adv_slot.val() {
                if self.last_slot.val() {
                    self.j.d.next = self.k0_16.val();
                    self.cch.d.next = self.k0_16.val() - self.out_ch_offset.val();
                    if !self.is_add.q.val() {
                        if self.layer_end.val() {
                            self.state.d.next = self.ks_tail.val();
                        } else if self.pix_end.val() {
                            self.ox.d.next = self.k0_16.val();
                            self.orig_x.d.next = self.k0_32.val() - self.pl32.val();
                            if self.oy.q.val() == self.oh_m1.val() {
                                self.oy.d.next = self.k0_16.val();
                                self.b.d.next = self.b.q.val() + self.k1_16.val();
                                self.base_b.d.next = self.next_base.val();
                                self.row_base.d.next = self.next_base.val() - self.p_pt.q.val();
                                self.pix.d.next = (self.next_base.val() - self.p_pt.q.val()) - self.plc.q.val();
                                self.orig_y.d.next = self.k0_32.val() - self.pt32.val();
                            } else {
                                self.oy.d.next = self.oy.q.val() + self.k1_16.val();
                                self.row_base.d.next = self.next_row.val();
                                self.pix.d.next = self.next_row.val() - self.plc.q.val();
                                self.orig_y.d.next = self.orig_y.q.val() + self.sh32.val();
                            }
                        } else {
                            self.ox.d.next = self.ox.q.val() + self.k1_16.val();
                            self.pix.d.next = self.pix.q.val() + self.swc.q.val();
                            self.orig_x.d.next = self.orig_x.q.val() + self.sw32.val();
                        }
                    }
                } else {
                    self.j.d.next = self.j.q.val() + self.k1_16.val();
                    self.cch.d.next = self.cch.q.val() + self.k1_16.val();
                }
            }
        } else if self.st_tail.val() {
            // Holes up to the end of the last beat.
            if self.iss.q.val() == self.k0_8.val() {
                self.state.d.next = self.ks_drain.val();
                self.drain.d.next = self.k1_8.val();
                if self.is_add.q.val() {
                    self.drain.d.next = self.k_drain_add_8.val();
                }
            } else if self.is_add.q.val() {
                self.issue.next = true;
            } else {
                self.p_emit.d.next = true;
                self.iss.d.next = self.iss_inc.val();
            }
        } else if self.st_drain.val() {
            self.drain.d.next = self.drain.q.val() - self.k1_8.val();
            if self.drain.q.val() == self.k0_8.val() {
                self.state.d.next = self.ks_wcmd.val();
                if self.wptr.q.val() > self.k_capw_32.val() {
                    self.state.d.next = self.ks_idle.val();
                    self.err_r.d.next = true;
                    self.code_r.d.next = self.k_code_geom_8.val();
                }
            }
        } else if self.st_wcmd.val() {
            self.wr_cmd_valid.next = true;
            self.rptr.d.next = self.k0_32.val();
            if self.wr_cmd_ready.val() {
                self.state.d.next = self.ks_wdata.val();
            }
        } else if self.st_wdata.val() {
            self.wr_valid.next = self.rptr.q.val() < self.wptr.q.val();
            self.wtake.next = (self.rptr.q.val() < self.wptr.q.val()) & self.wr_ready.val();
            if self.wtake.val() {
                self.rptr.d.next = self.rptr.q.val() + self.k1_32.val();
            }
            if self.wr_done.val() {
                self.state.d.next = self.ks_idle.val();
                if self.wr_error.val() {
                    self.err_r.d.next = true;
                    self.code_r.d.next = self.k_code_dma_8.val();
                } else {
                    self.done_r.d.next = true;
                }
            }
        } else {
            self.state.d.next = self.ks_idle.val();
        }

        // ---- ADD tokens: the read of this cycle's slot, its strobe a cycle later.
        if self.issue.val() {
            self.t1_v.d.next = true;
            self.t1_s.d.next = self.issue_s.val();
            self.iss.d.next = self.iss_inc.val();
        }

        // ---- Beat packing: bytes in address order, the newest in the top lane.
        self.emit_v.next = self.p_emit.q.val();
        self.emit_b.next = self.p_byte.q.val();
        self.emit_s.next = self.p_strb.q.val();
        if self.is_add.q.val() {
            self.emit_v.next = self.rq3.valid_out.val();
            self.emit_b.next = self.y3b.val();
            self.emit_s.next = self.strb_pipe.q.val().any();
        }
        self.emit_bw.next = bit_cast::<W, 8>(self.emit_b.val());
        self.byte_w.next = self.emit_bw.val() << self.k_top_byte_w.val();
        self.new_beat.next = (self.beat.q.val() >> self.k8_w.val()) | self.byte_w.val();
        self.strb_s.next = self.k0_s.val();
        if self.emit_s.val() {
            self.strb_s.next = self.k_top_s.val();
        }
        self.new_strb.next = (self.bstrb.q.val() >> self.k1_s.val()) | self.strb_s.val();
        self.wptr_w.next = bit_cast::<WA, 32>(self.wptr.q.val());
        self.out_data.write_address.next = self.wptr_w.val();
        self.out_data.write_data.next = self.new_beat.val();
        self.out_data.write_enable.next = false;
        self.out_strb.write_address.next = self.wptr_w.val();
        self.out_strb.write_data.next = self.new_strb.val();
        self.out_strb.write_enable.next = false;
        if self.emit_v.val() {
            self.beat.d.next = self.new_beat.val();
            self.bstrb.d.next = self.new_strb.val();
            self.lane.d.next = self.lane.q.val() + self.k1_8.val();
            if self.lane.q.val() == self.k_bb_m1_8.val() {
                self.lane.d.next = self.k0_8.val();
                self.out_data.write_enable.next = true;
                self.out_strb.write_enable.next = true;
                self.wptr.d.next = self.wptr.q.val() + self.k1_32.val();
            }
        }

        // ---- Input buffer writes (LOAD) and output buffer reads (WRITE).
        self.lptr_w.next = bit_cast::<WA, 32>(self.lptr.q.val());
        self.in1.write_address.next = self.lptr_w.val();
        self.in2.write_address.next = self.lptr_w.val();
        self.in1.write_data.next = self.rd_data.val();
        self.in2.write_data.next = self.rd_data.val();
        self.in1.write_enable.next = self.st_lrx.val() & self.rd_valid.val() & !self.second.q.val();
        self.in2.write_enable.next = self.st_lrx.val() & self.rd_valid.val() & self.second.q.val();
        // First-word-fall-through: the buffer reads the word after the one taken this cycle.
        self.rptr_w.next = self.k0_wa.val();
        if self.st_wdata.val() {
            self.rptr_w.next = self.rptr.q.val().get_bits::<WA>(0);
            if self.wtake.val() {
                self.rptr_w.next = self.rptr.q.val().get_bits::<WA>(0) + self.k1_wa.val();
            }
        }
        self.out_data.read_address.next = self.rptr_w.val();
        self.out_strb.read_address.next = self.rptr_w.val();

        if self.reset.val() {
            self.state.d.next = self.ks_idle.val();
            self.done_r.d.next = false;
            self.err_r.d.next = false;
            self.t1_v.d.next = false;
            self.p_emit.d.next = false;
        }
    }
}
