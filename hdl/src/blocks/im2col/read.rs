//! The activation buffer read path: banks, rotator, zero-point substitution.
//!
//! Request in (address of row 0's byte, per-row mask), R row bytes out [`READ_LATENCY`] enabled
//! edges later:
//! 1. the banks read the run (`rd$b`, bank order) while the request's offset `addr mod R` and
//!    mask are registered beside them;
//! 2. a log2(R)-stage barrel rotator puts bank `(off + r) mod R` on row r, masked rows take the
//!    zero point (the array subtracts it again, so padding contributes 0), into the output
//!    registers.
//!
//! The rotator always has 8 stages (R <= 256); a stage shifting by `k >= R` maps every row to
//! itself (`(r + k) mod R = r`), so it is wires and synthesis removes it, while every bit of the
//! 8-bit offset is read (no lint waiver needed).

use super::banks::ActBanks;
use super::regs::Im2colError;
use rust_hdl::prelude::*;

/// Register stages from a request (`req_*`) to the rows (`rows$r`): bank read, rotate + mask.
pub const READ_LATENCY: usize = 2;

#[derive(LogicBlock)]
pub struct ActRead<const W: usize, const AW: usize> {
    pub clock: Signal<In, Clock>,
    /// Clock enable of the read pipeline and the banks' read port (the write port runs always).
    pub en: Signal<In, Bit>,
    /// The input zero point's byte (layer register).
    pub zero_point: Signal<In, Bits<8>>,
    pub req_valid: Signal<In, Bit>,
    pub req_first: Signal<In, Bit>,
    pub req_last: Signal<In, Bit>,
    pub req_addr: Signal<In, Bits<AW>>,
    pub req_mask: Vec<Signal<In, Bit>>,
    /// DMA write port: one beat at a beat-aligned byte address.
    pub wr_en: Signal<In, Bit>,
    pub wr_addr: Signal<In, Bits<AW>>,
    pub wr_data: Signal<In, Bits<W>>,
    pub row_valid: Signal<Out, Bit>,
    pub row_first: Signal<Out, Bit>,
    pub row_last: Signal<Out, Bit>,
    /// Row r's byte (`rows$r`).
    pub rows: Vec<Signal<Out, Bits<8>>>,
    off_mask: Constant<Bits<8>>,
    banks: ActBanks<W, AW>,
    off: Signal<Local, Bits<8>>,
    r1_valid: DFF<Bit>,
    r1_first: DFF<Bit>,
    r1_last: DFF<Bit>,
    r1_off: DFF<Bits<8>>,
    r1_mask: Vec<DFF<Bit>>,
    /// `rot{s}`: rows after the rotator stages shifting by 1, 2, ..., 2^(s-1).
    rot0: Vec<Signal<Local, Bits<8>>>,
    rot1: Vec<Signal<Local, Bits<8>>>,
    rot2: Vec<Signal<Local, Bits<8>>>,
    rot3: Vec<Signal<Local, Bits<8>>>,
    rot4: Vec<Signal<Local, Bits<8>>>,
    rot5: Vec<Signal<Local, Bits<8>>>,
    rot6: Vec<Signal<Local, Bits<8>>>,
    rot7: Vec<Signal<Local, Bits<8>>>,
    rot8: Vec<Signal<Local, Bits<8>>>,
    o_valid: DFF<Bit>,
    o_first: DFF<Bit>,
    o_last: DFF<Bit>,
    o_rows: Vec<DFF<Bits<8>>>,
    _rows: usize,
}

/// `n` default blocks (closures cannot be generic over the block type).
fn vec<T: Default>(n: usize) -> Vec<T> {
    (0..n).map(|_| T::default()).collect()
}

impl<const W: usize, const AW: usize> ActRead<W, AW> {
    pub fn new(rows: usize) -> Result<Self, Im2colError> {
        let banks = ActBanks::new(rows)?;
        assert!(AW >= 8, "the offset register is cut from the address's low byte");
        Ok(Self {
            clock: Default::default(),
            en: Default::default(),
            zero_point: Default::default(),
            req_valid: Default::default(),
            req_first: Default::default(),
            req_last: Default::default(),
            req_addr: Default::default(),
            req_mask: vec(rows),
            wr_en: Default::default(),
            wr_addr: Default::default(),
            wr_data: Default::default(),
            row_valid: Default::default(),
            row_first: Default::default(),
            row_last: Default::default(),
            rows: vec(rows),
            off_mask: Constant::new(((rows - 1) as u64).into()),
            banks,
            off: Default::default(),
            r1_valid: Default::default(),
            r1_first: Default::default(),
            r1_last: Default::default(),
            r1_off: Default::default(),
            r1_mask: vec(rows),
            rot0: vec(rows),
            rot1: vec(rows),
            rot2: vec(rows),
            rot3: vec(rows),
            rot4: vec(rows),
            rot5: vec(rows),
            rot6: vec(rows),
            rot7: vec(rows),
            rot8: vec(rows),
            o_valid: Default::default(),
            o_first: Default::default(),
            o_last: Default::default(),
            o_rows: vec(rows),
            _rows: rows,
        })
    }

    pub fn banks(&self) -> &ActBanks<W, AW> {
        &self.banks
    }
}

impl<const W: usize, const AW: usize> Logic for ActRead<W, AW> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, r1_valid, r1_first, r1_last, r1_off, o_valid, o_first, o_last);
        self.banks.clock.next = self.clock.val();
        self.banks.re.next = self.en.val();
        self.banks.raddr.next = self.req_addr.val();
        self.banks.we.next = self.wr_en.val();
        self.banks.waddr.next = self.wr_addr.val();
        self.banks.wdata.next = self.wr_data.val();
        // Stage 1: the banks read; offset and mask wait beside them.
        self.off.next = bit_cast::<8, AW>(self.req_addr.val());
        for r in 0..(self._rows) {
            self.r1_mask[r].clock.next = self.clock.val();
            self.r1_mask[r].d.next = self.r1_mask[r].q.val();
            self.o_rows[r].clock.next = self.clock.val();
            self.o_rows[r].d.next = self.o_rows[r].q.val();
        }
        if self.en.val() {
            self.r1_valid.d.next = self.req_valid.val();
            self.r1_first.d.next = self.req_first.val();
            self.r1_last.d.next = self.req_last.val();
            self.r1_off.d.next = self.off.val() & self.off_mask.val();
            for r in 0..(self._rows) {
                self.r1_mask[r].d.next = self.req_mask[r].val();
            }
        }
        // Stage 2: rotate by `off` (row r <- bank (off + r) mod R), one stage per offset bit.
        for rr in (self._rows)..(self._rows + 1) {
            // Each stage's vector is complete before the next stage reads it (read-before-write
            // in one always block would be a combinational loop to Verilator).
            for r in 0..(self._rows) {
                self.rot0[r].next = self.banks.rd[r].val();
            }
            for r in 0..(self._rows) {
                self.rot1[r].next = self.rot0[r].val();
                if self.r1_off.q.val().get_bit(0) {
                    self.rot1[r].next = self.rot0[(r + 1) % rr].val();
                }
            }
            for r in 0..(self._rows) {
                self.rot2[r].next = self.rot1[r].val();
                if self.r1_off.q.val().get_bit(1) {
                    self.rot2[r].next = self.rot1[(r + 2) % rr].val();
                }
            }
            for r in 0..(self._rows) {
                self.rot3[r].next = self.rot2[r].val();
                if self.r1_off.q.val().get_bit(2) {
                    self.rot3[r].next = self.rot2[(r + 4) % rr].val();
                }
            }
            for r in 0..(self._rows) {
                self.rot4[r].next = self.rot3[r].val();
                if self.r1_off.q.val().get_bit(3) {
                    self.rot4[r].next = self.rot3[(r + 8) % rr].val();
                }
            }
            for r in 0..(self._rows) {
                self.rot5[r].next = self.rot4[r].val();
                if self.r1_off.q.val().get_bit(4) {
                    self.rot5[r].next = self.rot4[(r + 16) % rr].val();
                }
            }
            for r in 0..(self._rows) {
                self.rot6[r].next = self.rot5[r].val();
                if self.r1_off.q.val().get_bit(5) {
                    self.rot6[r].next = self.rot5[(r + 32) % rr].val();
                }
            }
            for r in 0..(self._rows) {
                self.rot7[r].next = self.rot6[r].val();
                if self.r1_off.q.val().get_bit(6) {
                    self.rot7[r].next = self.rot6[(r + 64) % rr].val();
                }
            }
            for r in 0..(self._rows) {
                self.rot8[r].next = self.rot7[r].val();
                if self.r1_off.q.val().get_bit(7) {
                    self.rot8[r].next = self.rot7[(r + 128) % rr].val();
                }
            }
        }
        if self.en.val() {
            self.o_valid.d.next = self.r1_valid.q.val();
            self.o_first.d.next = self.r1_first.q.val();
            self.o_last.d.next = self.r1_last.q.val();
            for r in 0..(self._rows) {
                self.o_rows[r].d.next = self.rot8[r].val();
                if self.r1_mask[r].q.val() {
                    self.o_rows[r].d.next = self.zero_point.val();
                }
            }
        }
        self.row_valid.next = self.o_valid.q.val();
        self.row_first.next = self.o_first.q.val();
        self.row_last.next = self.o_last.q.val();
        for r in 0..(self._rows) {
            self.rows[r].next = self.o_rows[r].q.val();
        }
    }
}
