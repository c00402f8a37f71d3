//! The im2col address generator: one request per enabled cycle for consecutive output pixels
//! of the current k-tile, with adders, counters and comparators only in the per-pixel path.
//!
//! Byte-offset formulation (all offsets virtual, 32-bit two's complement, see `regs.rs`):
//!
//! ```text
//! yb = oy * step_y + ty,   ty = org_y + ky * dil_y             row offset of the run in its image
//! bx = ox * step_x + tx,   tx = org_x + c0 + kx0 * dil_x       byte offset of the run in its row
//! addr = act_base + n * image_bytes + yb + bx                   buffer address of row 0's byte
//! row r is the zero point  <=>  yb not in [0, image_bytes)  or  bx + r not in [0, row_bytes)
//!                               or  r >= used = nx * nc
//! ```
//!
//! The x test serves both k-tile shapes: a chunk of one kernel column (`nx = 1`: `bx + r` stays
//! inside one input pixel's channels) and whole pixels of `nx` adjacent columns (`nc = C`,
//! `c0 = 0`: `bx + r` leaves the row exactly where a kernel column does). Neither needs `r / nc`.
//!
//! * Pixel terms are counters: `ox`, `oy`, `xs = ox * step_x`, `ys = oy * step_y` and
//!   `img = act_base + n * image_bytes` each step by adding a layer constant.
//! * Tile terms `ty`, `tx`, `used` are products of 8-bit indices. They are computed per tile by
//!   a sequential shift-and-add ([`SeqMul`], `K` multiplier bits per step) in a one-entry
//!   command queue while the previous tile streams: [`setup_cycles`]`(R) = 8 / K = min(R, 8)`
//!   enabled cycles, never more than the array's minimum tile period R.
//!
//! Command queue: `ready` says a `start` in this cycle is accepted (the slot is free, or empties
//! in this cycle). An accepted tile issues its first pixel in the first enabled cycle at least
//! `setup_cycles` enabled cycles after its acceptance in which no pixel of the previous tile
//! remains; its other pixels follow in the next `count - 1` enabled cycles. So with the queue
//! kept full, tiles of at least `setup_cycles` pixels stream back to back with no bubble.
//!
//! Pipeline after the issue cycle (all registers frozen while `en` is low):
//! 1. `yb`, `bx` (adders on the counters and the tile terms), the image base;
//! 2. `yb` range test, the padding bounds `lo = clamp(-bx)`, `hi = min(clamp(row_bytes - bx),
//!    used)` over 0..=R, the address's row part;
//! 3. the mask (`r < lo or r >= hi`, constants r) and the address, into the request registers.

use super::regs::{log2_rows, COUNT_BITS, ROW_BITS, VIRT_BITS};
use super::shift_add::{step_bits, SeqMul};
use rust_hdl::prelude::*;

/// Register stages from an issue cycle to the request registers (`req_*`).
pub const GEN_LATENCY: usize = 3;

/// Enabled cycles from a command's acceptance to the earliest issue of its first pixel.
pub fn setup_cycles(rows: usize) -> usize {
    8 / step_bits(rows)
}

const V: usize = VIRT_BITS;
const N: usize = COUNT_BITS;
const RB: usize = ROW_BITS;
// The sign tests below read bit 31 as a literal (rust-hdl prints index expressions verbatim).
const _: () = assert!(V == 32);

#[derive(LogicBlock)]
pub struct Im2colAddrGen<const AW: usize> {
    pub clock: Signal<In, Clock>,
    /// Clock enable of every register: low freezes the generator and ignores every input.
    pub en: Signal<In, Bit>,

    // ---- Layer registers: stable from a layer's first accepted command until its last pixel
    // has left.
    pub act_base: Signal<In, Bits<AW>>,
    pub out_w: Signal<In, Bits<16>>,
    pub out_h: Signal<In, Bits<16>>,
    pub row_bytes: Signal<In, Bits<V>>,
    pub image_bytes: Signal<In, Bits<V>>,
    pub step_x: Signal<In, Bits<V>>,
    pub step_y: Signal<In, Bits<V>>,
    pub dil_x: Signal<In, Bits<V>>,
    pub dil_y: Signal<In, Bits<V>>,
    /// Two's complement.
    pub org_x: Signal<In, Bits<V>>,
    pub org_y: Signal<In, Bits<V>>,

    // ---- Tile command, accepted when `start` and `ready` in an enabled cycle.
    pub start: Signal<In, Bit>,
    /// [`super::BlockMode`]: 0 same block, 1 next block, 2 restart at pixel 0.
    pub mode: Signal<In, Bits<2>>,
    /// Pixels to stream (>= 1).
    pub count: Signal<In, Bits<N>>,
    pub ky: Signal<In, Bits<8>>,
    pub kx0: Signal<In, Bits<8>>,
    pub nx: Signal<In, Bits<8>>,
    pub c0: Signal<In, Bits<16>>,
    pub nc: Signal<In, Bits<RB>>,
    /// A `start` in this cycle is accepted (from registers only: no path from `start`).
    pub ready: Signal<Out, Bit>,
    /// No command queued and no pixel left to issue.
    pub idle: Signal<Out, Bit>,

    // ---- Request, GEN_LATENCY enabled edges after its issue cycle.
    pub req_valid: Signal<Out, Bit>,
    /// First / last pixel of its tile.
    pub req_first: Signal<Out, Bit>,
    pub req_last: Signal<Out, Bit>,
    /// Buffer address of row 0's byte (modulo the buffer size).
    pub req_addr: Signal<Out, Bits<AW>>,
    /// Run length `nx * nc`.
    pub req_len: Signal<Out, Bits<RB>>,
    /// Row r gets the zero point (`req_mask$r`).
    pub req_mask: Vec<Signal<Out, Bit>>,

    // Constants, named by width.
    k0_n: Constant<Bits<N>>,
    k1_n: Constant<Bits<N>>,
    k1_4: Constant<Bits<4>>,
    setup_4: Constant<Bits<4>>,
    k0_16: Constant<Bits<16>>,
    k1_16: Constant<Bits<16>>,
    k0_v: Constant<Bits<V>>,
    rows_v: Constant<Bits<V>>,
    k0_rb: Constant<Bits<RB>>,
    rows_rb: Constant<Bits<RB>>,
    mode_same: Constant<Bits<2>>,
    mode_restart: Constant<Bits<2>>,
    /// `row_index[r]` = r, for the mask comparisons.
    row_index: Vec<Constant<Bits<RB>>>,

    // ---- Command queue: the pending tile and its products in progress.
    p_valid: DFF<Bit>,
    p_step: DFF<Bits<4>>,
    p_mode: DFF<Bits<2>>,
    p_count: DFF<Bits<N>>,
    /// `ty`, `tx`, `used` of the pending tile.
    mul_y: SeqMul<V, 8>,
    mul_x: SeqMul<V, 8>,
    mul_u: SeqMul<RB, 8>,
    done: Signal<Local, Bit>,
    busy: Signal<Local, Bit>,
    take: Signal<Local, Bit>,
    accept: Signal<Local, Bit>,
    c0_v: Signal<Local, Bits<V>>,
    x_init: Signal<Local, Bits<V>>,

    // ---- The streaming tile.
    remaining: DFF<Bits<N>>,
    c_ty: DFF<Bits<V>>,
    c_tx: DFF<Bits<V>>,
    c_used: DFF<Bits<RB>>,
    t_ty: Signal<Local, Bits<V>>,
    t_tx: Signal<Local, Bits<V>>,
    t_used: Signal<Local, Bits<RB>>,

    // ---- Pixel counters: running, and the current block's first pixel.
    ox: DFF<Bits<16>>,
    oy: DFF<Bits<16>>,
    xs: DFF<Bits<V>>,
    ys: DFF<Bits<V>>,
    /// `act_base + n * image_bytes` modulo the buffer size: only the address needs it.
    img: DFF<Bits<AW>>,
    b_ox: DFF<Bits<16>>,
    b_oy: DFF<Bits<16>>,
    b_xs: DFF<Bits<V>>,
    b_ys: DFF<Bits<V>>,
    b_img: DFF<Bits<AW>>,
    img_step: Signal<Local, Bits<AW>>,
    cur_ox: Signal<Local, Bits<16>>,
    cur_oy: Signal<Local, Bits<16>>,
    cur_xs: Signal<Local, Bits<V>>,
    cur_ys: Signal<Local, Bits<V>>,
    cur_img: Signal<Local, Bits<AW>>,
    ox1: Signal<Local, Bits<16>>,
    oy1: Signal<Local, Bits<16>>,
    s1_valid: DFF<Bit>,
    s1_first: DFF<Bit>,
    s1_last: DFF<Bit>,
    s1_yb: DFF<Bits<V>>,
    s1_bx: DFF<Bits<V>>,
    s1_img: DFF<Bits<AW>>,
    s1_used: DFF<Bits<RB>>,

    // ---- Stage 1 -> 2.
    nbx: Signal<Local, Bits<V>>,
    rbx: Signal<Local, Bits<V>>,
    lo: Signal<Local, Bits<RB>>,
    hi: Signal<Local, Bits<RB>>,
    yb_a: Signal<Local, Bits<AW>>,
    s2_valid: DFF<Bit>,
    s2_first: DFF<Bit>,
    s2_last: DFF<Bit>,
    s2_y_ok: DFF<Bit>,
    s2_lo: DFF<Bits<RB>>,
    s2_hi: DFF<Bits<RB>>,
    s2_ab: DFF<Bits<AW>>,
    s2_bx: DFF<Bits<AW>>,
    s2_used: DFF<Bits<RB>>,

    // ---- Stage 2 -> request registers.
    q_valid: DFF<Bit>,
    q_first: DFF<Bit>,
    q_last: DFF<Bit>,
    q_addr: DFF<Bits<AW>>,
    q_len: DFF<Bits<RB>>,
    q_mask: Vec<DFF<Bit>>,
    _rows: usize,
}

/// A constant of any width (closures cannot be generic over it).
fn k<const B: usize>(v: u64) -> Constant<Bits<B>> {
    Constant::new(v.into())
}

impl<const AW: usize> Im2colAddrGen<AW> {
    /// A generator for an R-row array (R a power of two in 2..=256) and a `2^AW`-byte buffer.
    pub fn new(rows: usize) -> Self {
        let log2 = log2_rows(rows).unwrap_or_else(|e| panic!("{e}"));
        assert!(AW > log2 && AW <= V, "buffer address width {AW} for R = {rows}");
        let bits = step_bits(rows);
        Self {
            clock: Default::default(),
            en: Default::default(),
            act_base: Default::default(),
            out_w: Default::default(),
            out_h: Default::default(),
            row_bytes: Default::default(),
            image_bytes: Default::default(),
            step_x: Default::default(),
            step_y: Default::default(),
            dil_x: Default::default(),
            dil_y: Default::default(),
            org_x: Default::default(),
            org_y: Default::default(),
            start: Default::default(),
            mode: Default::default(),
            count: Default::default(),
            ky: Default::default(),
            kx0: Default::default(),
            nx: Default::default(),
            c0: Default::default(),
            nc: Default::default(),
            ready: Default::default(),
            idle: Default::default(),
            req_valid: Default::default(),
            req_first: Default::default(),
            req_last: Default::default(),
            req_addr: Default::default(),
            req_len: Default::default(),
            req_mask: (0..rows).map(|_| Default::default()).collect(),
            k0_n: k(0),
            k1_n: k(1),
            k1_4: k(1),
            setup_4: k(setup_cycles(rows) as u64),
            k0_16: k(0),
            k1_16: k(1),
            k0_v: k(0),
            rows_v: k(rows as u64),
            k0_rb: k(0),
            rows_rb: k(rows as u64),
            mode_same: k(0),
            mode_restart: k(2),
            row_index: (0..rows).map(|r| k(r as u64)).collect(),
            p_valid: Default::default(),
            p_step: Default::default(),
            p_mode: Default::default(),
            p_count: Default::default(),
            mul_y: SeqMul::new(bits),
            mul_x: SeqMul::new(bits),
            mul_u: SeqMul::new(bits),
            done: Default::default(),
            busy: Default::default(),
            take: Default::default(),
            accept: Default::default(),
            c0_v: Default::default(),
            x_init: Default::default(),
            remaining: Default::default(),
            c_ty: Default::default(),
            c_tx: Default::default(),
            c_used: Default::default(),
            t_ty: Default::default(),
            t_tx: Default::default(),
            t_used: Default::default(),
            ox: Default::default(),
            oy: Default::default(),
            xs: Default::default(),
            ys: Default::default(),
            img: Default::default(),
            b_ox: Default::default(),
            b_oy: Default::default(),
            b_xs: Default::default(),
            b_ys: Default::default(),
            b_img: Default::default(),
            img_step: Default::default(),
            cur_ox: Default::default(),
            cur_oy: Default::default(),
            cur_xs: Default::default(),
            cur_ys: Default::default(),
            cur_img: Default::default(),
            ox1: Default::default(),
            oy1: Default::default(),
            s1_valid: Default::default(),
            s1_first: Default::default(),
            s1_last: Default::default(),
            s1_yb: Default::default(),
            s1_bx: Default::default(),
            s1_img: Default::default(),
            s1_used: Default::default(),
            nbx: Default::default(),
            rbx: Default::default(),
            lo: Default::default(),
            hi: Default::default(),
            yb_a: Default::default(),
            s2_valid: Default::default(),
            s2_first: Default::default(),
            s2_last: Default::default(),
            s2_y_ok: Default::default(),
            s2_lo: Default::default(),
            s2_hi: Default::default(),
            s2_ab: Default::default(),
            s2_bx: Default::default(),
            s2_used: Default::default(),
            q_valid: Default::default(),
            q_first: Default::default(),
            q_last: Default::default(),
            q_addr: Default::default(),
            q_len: Default::default(),
            q_mask: (0..rows).map(|_| Default::default()).collect(),
            _rows: rows,
        }
    }

    pub fn rows(&self) -> usize {
        self._rows
    }
}

impl<const AW: usize> Logic for Im2colAddrGen<AW> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, p_valid, p_step, p_mode, p_count, remaining, c_ty, c_tx, c_used, ox, oy, xs, ys, img, b_ox,
            b_oy, b_xs, b_ys, b_img, s1_valid, s1_first, s1_last, s1_yb, s1_bx, s1_img, s1_used, s2_valid, s2_first,
            s2_last, s2_y_ok, s2_lo, s2_hi, s2_ab, s2_bx, s2_used, q_valid, q_first, q_last, q_addr, q_len
        );
        for r in 0..(self._rows) {
            self.q_mask[r].clock.next = self.clock.val();
            self.q_mask[r].d.next = self.q_mask[r].q.val();
        }

        // ---- Queue control. The pending tile moves to the stream (`take`) once its products
        // are done and the previous tile has issued its last pixel; the slot then takes a new
        // command in the same cycle.
        self.done.next = self.p_step.q.val() == self.setup_4.val();
        self.busy.next = self.remaining.q.val() != self.k0_n.val();
        self.take.next = (self.p_valid.q.val() & self.done.val()) & !self.busy.val();
        self.ready.next = !self.p_valid.q.val() | self.take.val();
        self.idle.next = !self.p_valid.q.val() & !self.busy.val();
        self.accept.next = self.start.val() & (!self.p_valid.q.val() | self.take.val());

        // ---- Tile products: step 1 in the accepting cycle (from the command), then one step
        // per enabled cycle until `setup_cycles` steps are done.
        self.c0_v.next = bit_cast::<V, 16>(self.c0.val());
        self.x_init.next = self.org_x.val() + self.c0_v.val();
        self.mul_y.clock.next = self.clock.val();
        self.mul_y.en.next = self.en.val();
        self.mul_y.load.next = self.accept.val();
        self.mul_y.step.next = self.p_valid.q.val() & !self.done.val();
        self.mul_y.acc0.next = self.org_y.val();
        self.mul_y.m0.next = self.dil_y.val();
        self.mul_y.b0.next = self.ky.val();
        self.mul_x.clock.next = self.clock.val();
        self.mul_x.en.next = self.en.val();
        self.mul_x.load.next = self.accept.val();
        self.mul_x.step.next = self.p_valid.q.val() & !self.done.val();
        self.mul_x.acc0.next = self.x_init.val();
        self.mul_x.m0.next = self.dil_x.val();
        self.mul_x.b0.next = self.kx0.val();
        self.mul_u.clock.next = self.clock.val();
        self.mul_u.en.next = self.en.val();
        self.mul_u.load.next = self.accept.val();
        self.mul_u.step.next = self.p_valid.q.val() & !self.done.val();
        self.mul_u.acc0.next = self.k0_rb.val();
        self.mul_u.m0.next = self.nc.val();
        self.mul_u.b0.next = self.nx.val();
        if self.en.val() {
            if self.p_valid.q.val() & !self.done.val() {
                self.p_step.d.next = self.p_step.q.val() + self.k1_4.val();
            }
            if self.accept.val() {
                self.p_valid.d.next = true;
                self.p_step.d.next = self.k1_4.val();
                self.p_mode.d.next = self.mode.val();
                self.p_count.d.next = self.count.val();
            } else if self.take.val() {
                self.p_valid.d.next = false;
            }
        }

        // ---- Issue: the first pixel of a taken tile, else the next of the streaming one.
        self.t_ty.next = self.c_ty.q.val();
        self.t_tx.next = self.c_tx.q.val();
        self.t_used.next = self.c_used.q.val();
        if self.take.val() {
            self.t_ty.next = self.mul_y.prod.val();
            self.t_tx.next = self.mul_x.prod.val();
            self.t_used.next = self.mul_u.prod.val();
        }
        // A tile's first pixel rewinds to the block's first pixel (same), continues after the
        // previous tile's last (next: every tile of a block streams the same pixels, so that is
        // the next block's first) or restarts at pixel 0.
        self.img_step.next = bit_cast::<AW, V>(self.image_bytes.val());
        self.cur_ox.next = self.ox.q.val();
        self.cur_oy.next = self.oy.q.val();
        self.cur_xs.next = self.xs.q.val();
        self.cur_ys.next = self.ys.q.val();
        self.cur_img.next = self.img.q.val();
        if self.take.val() {
            if self.p_mode.q.val() == self.mode_restart.val() {
                self.cur_ox.next = self.k0_16.val();
                self.cur_oy.next = self.k0_16.val();
                self.cur_xs.next = self.k0_v.val();
                self.cur_ys.next = self.k0_v.val();
                self.cur_img.next = self.act_base.val();
            } else if self.p_mode.q.val() == self.mode_same.val() {
                self.cur_ox.next = self.b_ox.q.val();
                self.cur_oy.next = self.b_oy.q.val();
                self.cur_xs.next = self.b_xs.q.val();
                self.cur_ys.next = self.b_ys.q.val();
                self.cur_img.next = self.b_img.q.val();
            }
        }
        self.ox1.next = self.cur_ox.val() + self.k1_16.val();
        self.oy1.next = self.cur_oy.val() + self.k1_16.val();
        if self.en.val() {
            if self.take.val() {
                self.remaining.d.next = self.p_count.q.val() - self.k1_n.val();
                self.c_ty.d.next = self.mul_y.prod.val();
                self.c_tx.d.next = self.mul_x.prod.val();
                self.c_used.d.next = self.mul_u.prod.val();
                if self.p_mode.q.val() != self.mode_same.val() {
                    self.b_ox.d.next = self.cur_ox.val();
                    self.b_oy.d.next = self.cur_oy.val();
                    self.b_xs.d.next = self.cur_xs.val();
                    self.b_ys.d.next = self.cur_ys.val();
                    self.b_img.d.next = self.cur_img.val();
                }
            } else if self.busy.val() {
                self.remaining.d.next = self.remaining.q.val() - self.k1_n.val();
            }
            if self.take.val() | self.busy.val() {
                // Advance in NHWC order: ox, then oy, then the image.
                self.ox.d.next = self.ox1.val();
                self.xs.d.next = self.cur_xs.val() + self.step_x.val();
                self.oy.d.next = self.cur_oy.val();
                self.ys.d.next = self.cur_ys.val();
                self.img.d.next = self.cur_img.val();
                if self.ox1.val() == self.out_w.val() {
                    self.ox.d.next = self.k0_16.val();
                    self.xs.d.next = self.k0_v.val();
                    self.oy.d.next = self.oy1.val();
                    self.ys.d.next = self.cur_ys.val() + self.step_y.val();
                    if self.oy1.val() == self.out_h.val() {
                        self.oy.d.next = self.k0_16.val();
                        self.ys.d.next = self.k0_v.val();
                        self.img.d.next = self.cur_img.val() + self.img_step.val();
                    }
                }
            }
            self.s1_valid.d.next = self.take.val() | self.busy.val();
            self.s1_first.d.next = self.take.val();
            self.s1_last.d.next = self.remaining.q.val() == self.k1_n.val();
            if self.take.val() {
                self.s1_last.d.next = self.p_count.q.val() == self.k1_n.val();
            }
            self.s1_yb.d.next = self.cur_ys.val() + self.t_ty.val();
            self.s1_bx.d.next = self.cur_xs.val() + self.t_tx.val();
            self.s1_img.d.next = self.cur_img.val();
            self.s1_used.d.next = self.t_used.val();
        }

        // ---- Stage 1 -> 2: padding bounds. Rows r < lo lie left of the row (bx + r < 0),
        // rows r >= hi right of it or beyond the run, both clamped to 0..=R (signed tests by
        // hand: bit 31 is the sign). The address is kept modulo the buffer size, cut from
        // 32-bit offsets whose every bit a range test reads.
        self.nbx.next = self.k0_v.val() - self.s1_bx.q.val();
        self.rbx.next = self.row_bytes.val() - self.s1_bx.q.val();
        self.lo.next = bit_cast::<RB, V>(self.nbx.val());
        if self.nbx.val().get_bit(31) {
            self.lo.next = self.k0_rb.val();
        } else if self.nbx.val() > self.rows_v.val() {
            self.lo.next = self.rows_rb.val();
        }
        self.hi.next = bit_cast::<RB, V>(self.rbx.val());
        if self.rbx.val().get_bit(31) {
            self.hi.next = self.k0_rb.val();
        } else if self.rbx.val() > self.rows_v.val() {
            self.hi.next = self.rows_rb.val();
        }
        self.yb_a.next = bit_cast::<AW, V>(self.s1_yb.q.val());
        if self.en.val() {
            self.s2_valid.d.next = self.s1_valid.q.val();
            self.s2_first.d.next = self.s1_first.q.val();
            self.s2_last.d.next = self.s1_last.q.val();
            self.s2_y_ok.d.next = !self.s1_yb.q.val().get_bit(31) & (self.s1_yb.q.val() < self.image_bytes.val());
            self.s2_lo.d.next = self.lo.val();
            self.s2_hi.d.next = self.hi.val();
            if self.s1_used.q.val() < self.hi.val() {
                self.s2_hi.d.next = self.s1_used.q.val();
            }
            self.s2_ab.d.next = self.s1_img.q.val() + self.yb_a.val();
            self.s2_bx.d.next = bit_cast::<AW, V>(self.s1_bx.q.val());
            self.s2_used.d.next = self.s1_used.q.val();
        }

        // ---- Stage 2 -> request registers: the mask, row r against constants.
        if self.en.val() {
            self.q_valid.d.next = self.s2_valid.q.val();
            self.q_first.d.next = self.s2_first.q.val();
            self.q_last.d.next = self.s2_last.q.val();
            self.q_addr.d.next = self.s2_ab.q.val() + self.s2_bx.q.val();
            self.q_len.d.next = self.s2_used.q.val();
            for r in 0..(self._rows) {
                self.q_mask[r].d.next = (!self.s2_y_ok.q.val() | (self.row_index[r].val() < self.s2_lo.q.val()))
                    | (self.row_index[r].val() >= self.s2_hi.q.val());
            }
        }
        self.req_valid.next = self.q_valid.q.val();
        self.req_first.next = self.q_first.q.val();
        self.req_last.next = self.q_last.q.val();
        self.req_addr.next = self.q_addr.q.val();
        self.req_len.next = self.q_len.q.val();
        for r in 0..(self._rows) {
            self.req_mask[r].next = self.q_mask[r].q.val();
        }
    }
}
