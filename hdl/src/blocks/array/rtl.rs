//! The R x C array in rust-hdl: edges, skew, PEs, de-skew.
//!
//! Layout rules forced by rust-hdl 0.46 (see `crate::emit` and hdl/README.md):
//! * the PEs are one flat `Vec` indexed `r * C + c` (nested `Vec`s print invalid names); index
//!   expressions may only use loop variables, so the stride `C` is bound by a one-iteration
//!   loop (`for stride in C..(C + 1)`);
//! * loop bounds are Rust expressions, parenthesised (the macro appends `.into()`);
//! * zero-depth delays are wires, so column 0's weight controls and column C-1's partial sums
//!   bypass their delay lines (separate loops instead of a conditional).

use super::edge::ZeroPointSub;
use crate::blocks::delay::EnDelay;
use crate::blocks::pe::Pe;
use crate::emit::Waiver;
use rust_hdl::prelude::*;

/// Rising edges from a pixel's inputs to its partial sums on `psum_out` (counting the edge that
/// samples the inputs as the first): the input stage, R rows, C columns, the de-skew register.
pub fn latency(rows: usize, cols: usize) -> usize {
    rows + cols + 1
}

#[derive(LogicBlock)]
pub struct SystolicArray<const ACC: usize = 32> {
    pub clock: Signal<In, Clock>,
    /// Clock enable of every register: low freezes the array (inputs are ignored).
    pub en: Signal<In, Bit>,
    /// Side band: travels with the pixel to `valid_out`; the array computes every slot anyway.
    pub valid_in: Signal<In, Bit>,
    /// This slot is the first pixel of a tile: commit the load pipe to the shadow registers
    /// and swap the shadow into the active weights as this pixel sweeps the array.
    pub tile_start: Signal<In, Bit>,
    pub a_signed: Signal<In, Bit>,
    pub a_zp: Signal<In, Signed<9>>,
    /// One activation byte per row (`a_in$r`).
    pub a_in: Vec<Signal<In, Bits<8>>>,
    /// Shift one row of C weights (`w_in$c`, minus `w_zp$c`) into the columns' load pipes.
    pub w_shift: Signal<In, Bit>,
    pub w_signed: Signal<In, Bit>,
    pub w_in: Vec<Signal<In, Bits<8>>>,
    pub w_zp: Vec<Signal<In, Signed<9>>>,
    pub valid_out: Signal<Out, Bit>,
    pub tile_start_out: Signal<Out, Bit>,
    /// One partial sum per column (`psum_out$c`), all of one pixel in the same cycle.
    pub psum_out: Vec<Signal<Out, Signed<ACC>>>,
    zero_psum: Constant<Signed<ACC>>,
    a_sub: Vec<ZeroPointSub>,
    /// Row r: depth r + 2 (input stage, skew r, one slot behind its tag).
    a_skew: Vec<EnDelay<Signed<9>>>,
    /// Row r: depth r + 1 (the tag runs one slot ahead of its activation).
    tag_skew: Vec<EnDelay<Bit>>,
    w_sub: Vec<ZeroPointSub>,
    /// Column c >= 1 at index c - 1: depth c, so column c loads and commits c cycles after
    /// column 0, in step with the swap wavefront.
    w_skew: Vec<EnDelay<Signed<9>>>,
    shift_skew: Vec<EnDelay<Bit>>,
    commit_skew: Vec<EnDelay<Bit>>,
    pes: Vec<Pe<ACC>>,
    /// Column c < C - 1: depth C - 1 - c, so every column's sum of one pixel leaves together.
    deskew: Vec<EnDelay<Signed<ACC>>>,
    valid_line: EnDelay<Bit>,
    tile_start_line: EnDelay<Bit>,
    _rows: usize,
    _cols: usize,
}

impl<const ACC: usize> SystolicArray<ACC> {
    /// An array of `rows` x `cols` PEs (both >= 1), every multiplier on a DSP.
    pub fn new(rows: usize, cols: usize) -> Self {
        Self::with_fabric_rows(rows, cols, 0)
    }

    /// An array whose last `fabric_rows` rows (<= `rows`) are fabric PEs ([`Pe::fabric`]):
    /// same values and cycles, multipliers from LUTs instead of DSPs.
    pub fn with_fabric_rows(rows: usize, cols: usize, fabric_rows: usize) -> Self {
        Self::with_weight_bits(rows, cols, fabric_rows, 8)
    }

    /// The array of an engine with `weight_bits` (8 or 4) weights: on a 4-bit engine the top
    /// edge keeps `w - zw` modulo 32 ([`super::edge::ZeroPointSub::narrow`]) and every PE
    /// multiplies by that 5-bit signed operand ([`Pe::narrow`]): exact for int4 weights and
    /// zero points in [-8, 7], and the weight registers and fabric multipliers shrink.
    pub fn with_weight_bits(rows: usize, cols: usize, fabric_rows: usize, weight_bits: u32) -> Self {
        assert!(rows >= 1 && cols >= 1, "array shape {rows}x{cols}");
        assert!(matches!(weight_bits, 8 | 4), "weight_bits {weight_bits}");
        let narrow = weight_bits == 4;
        let pe = |fabric: bool| {
            let pe = if fabric { Pe::fabric() } else { Pe::default() };
            if narrow {
                pe.narrow()
            } else {
                pe
            }
        };
        assert!(fabric_rows <= rows, "{fabric_rows} fabric rows in a {rows}-row array");
        let side = latency(rows, cols);
        Self {
            clock: Default::default(),
            en: Default::default(),
            valid_in: Default::default(),
            tile_start: Default::default(),
            a_signed: Default::default(),
            a_zp: Default::default(),
            a_in: (0..rows).map(|_| Default::default()).collect(),
            w_shift: Default::default(),
            w_signed: Default::default(),
            w_in: (0..cols).map(|_| Default::default()).collect(),
            w_zp: (0..cols).map(|_| Default::default()).collect(),
            valid_out: Default::default(),
            tile_start_out: Default::default(),
            psum_out: (0..cols).map(|_| Default::default()).collect(),
            zero_psum: Constant::new(Signed::<ACC>::default()),
            a_sub: (0..rows).map(|_| Default::default()).collect(),
            a_skew: (0..rows).map(|r| EnDelay::new(r + 2)).collect(),
            tag_skew: (0..rows).map(|r| EnDelay::new(r + 1)).collect(),
            w_sub: (0..cols).map(|_| if narrow { ZeroPointSub::narrow() } else { ZeroPointSub::default() }).collect(),
            w_skew: (1..cols).map(EnDelay::new).collect(),
            shift_skew: (1..cols).map(EnDelay::new).collect(),
            commit_skew: (1..cols).map(EnDelay::new).collect(),
            pes: (0..rows * cols).map(|i| pe(i / cols >= rows - fabric_rows)).collect(),
            deskew: (0..cols - 1).map(|c| EnDelay::new(cols - 1 - c)).collect(),
            valid_line: EnDelay::new(side),
            tile_start_line: EnDelay::new(side),
            _rows: rows,
            _cols: cols,
        }
    }

    /// Lint waivers the emitted top needs (pass to `emit::emit_with_waivers`): the activations
    /// and tags leaving the last column, and the load pipe leaving the bottom row, have nowhere
    /// to go; Yosys removes the registers that only fed them.
    pub fn waivers(&self) -> Vec<Waiver> {
        const EDGE: &str = "array edge: the last column's activations/tags and the bottom row's load pipe are not used";
        let (rows, cols) = (self._rows, self._cols);
        let last_column = (0..rows).flat_map(|r| {
            let pe = r * cols + cols - 1;
            [format!("pes${pe}$a_out"), format!("pes${pe}$tag_out")]
        });
        let bottom_row = (0..cols).map(|c| format!("pes${}$w_out", (rows - 1) * cols + c));
        last_column
            .chain(bottom_row)
            .map(|signal| Waiver { signal: signal.into(), rule: "UNUSEDSIGNAL", reason: EDGE })
            .collect()
    }

    pub fn rows(&self) -> usize {
        self._rows
    }

    pub fn cols(&self) -> usize {
        self._cols
    }
}

impl<const ACC: usize> Logic for SystolicArray<ACC> {
    #[hdl_gen]
    fn update(&mut self) {
        // ---- Left edge: zero point, then row r's skew (the tag one slot ahead).
        for r in 0..(self._rows) {
            self.a_sub[r].x.next = self.a_in[r].val();
            self.a_sub[r].is_signed.next = self.a_signed.val();
            self.a_sub[r].zp.next = self.a_zp.val();
            self.a_skew[r].clock.next = self.clock.val();
            self.a_skew[r].en.next = self.en.val();
            self.a_skew[r].d.next = self.a_sub[r].d.val();
            self.tag_skew[r].clock.next = self.clock.val();
            self.tag_skew[r].en.next = self.en.val();
            self.tag_skew[r].d.next = self.tile_start.val();
        }
        // ---- Top edge: zero points, then column c's skew (column 0 unskewed).
        for c in 0..(self._cols) {
            self.w_sub[c].x.next = self.w_in[c].val();
            self.w_sub[c].is_signed.next = self.w_signed.val();
            self.w_sub[c].zp.next = self.w_zp[c].val();
        }
        for c in 1..(self._cols) {
            self.w_skew[c - 1].clock.next = self.clock.val();
            self.w_skew[c - 1].en.next = self.en.val();
            self.w_skew[c - 1].d.next = self.w_sub[c].d.val();
            self.shift_skew[c - 1].clock.next = self.clock.val();
            self.shift_skew[c - 1].en.next = self.en.val();
            self.shift_skew[c - 1].d.next = self.w_shift.val();
            self.commit_skew[c - 1].clock.next = self.clock.val();
            self.commit_skew[c - 1].en.next = self.en.val();
            self.commit_skew[c - 1].d.next = self.tile_start.val();
        }
        // ---- PEs, index r * C + c.
        for stride in (self._cols)..(self._cols + 1) {
            for r in 0..(self._rows) {
                for c in 0..(self._cols) {
                    self.pes[r * stride + c].clock.next = self.clock.val();
                    self.pes[r * stride + c].en.next = self.en.val();
                }
                // Column 0 from the row's skew line, the others from their left neighbour.
                self.pes[r * stride].a_in.next = self.a_skew[r].q.val();
                self.pes[r * stride].tag_in.next = self.tag_skew[r].q.val();
                for c in 1..(self._cols) {
                    self.pes[r * stride + c].a_in.next = self.pes[r * stride + c - 1].a_out.val();
                    self.pes[r * stride + c].tag_in.next = self.pes[r * stride + c - 1].tag_out.val();
                }
            }
            // Row 0 from the top edge; each column's shift and commit reach all its rows at once.
            for c in 0..(self._cols) {
                self.pes[c].psum_in.next = self.zero_psum.val();
            }
            for r in 0..(self._rows) {
                self.pes[r * stride].w_shift.next = self.w_shift.val();
                self.pes[r * stride].w_commit.next = self.tile_start.val();
                for c in 1..(self._cols) {
                    self.pes[r * stride + c].w_shift.next = self.shift_skew[c - 1].q.val();
                    self.pes[r * stride + c].w_commit.next = self.commit_skew[c - 1].q.val();
                }
            }
            self.pes[0].w_in.next = self.w_sub[0].d.val();
            for c in 1..(self._cols) {
                self.pes[c].w_in.next = self.w_skew[c - 1].q.val();
            }
            for r in 1..(self._rows) {
                for c in 0..(self._cols) {
                    self.pes[r * stride + c].psum_in.next = self.pes[(r - 1) * stride + c].psum_out.val();
                    self.pes[r * stride + c].w_in.next = self.pes[(r - 1) * stride + c].w_out.val();
                }
            }
        }
        // ---- Bottom edge: de-skew so one pixel's C sums leave in the same cycle.
        for base in ((self._rows - 1) * self._cols)..((self._rows - 1) * self._cols + 1) {
            for c in 0..(self._cols - 1) {
                self.deskew[c].clock.next = self.clock.val();
                self.deskew[c].en.next = self.en.val();
                self.deskew[c].d.next = self.pes[base + c].psum_out.val();
                self.psum_out[c].next = self.deskew[c].q.val();
            }
            for c in (self._cols - 1)..(self._cols) {
                self.psum_out[c].next = self.pes[base + c].psum_out.val();
            }
        }
        self.valid_line.clock.next = self.clock.val();
        self.valid_line.en.next = self.en.val();
        self.valid_line.d.next = self.valid_in.val();
        self.valid_out.next = self.valid_line.q.val();
        self.tile_start_line.clock.next = self.clock.val();
        self.tile_start_line.en.next = self.en.val();
        self.tile_start_line.d.next = self.tile_start.val();
        self.tile_start_out.next = self.tile_start_line.q.val();
    }
}
