//! The activation buffer's storage: R byte banks, byte `a` in bank `a mod R` at line `a / R`.
//!
//! Contract (one rising edge, read enable `re`): `rd$b` becomes the byte at the unique address
//! `a_b` in `[raddr, raddr + R)` with `a_b mod R = b` (addresses modulo the buffer size). So any
//! run of R contiguous bytes, aligned or not, is read in one cycle; the read path rotates it into
//! row order. While `re` is low the outputs hold (the stall).
//!
//! Write port: one DMA beat of `B = W / 8` bytes per cycle at a beat-aligned byte address (the
//! low `log2 B` address bits are ignored). Each bank stores words of `G = max(1, B / R)` bytes so
//! that a beat is one word write per bank it touches: with `B >= R` every bank takes `G` bytes
//! (bytes `b, b + R, ...` of the beat), with `B < R` the `B` banks of one line take one byte each.
//! A read then selects byte `line mod G` of the word it fetched. Reading and writing the same
//! word in one cycle returns the old word.
//!
//! Custom Verilog (the only such block of the reader): rust-hdl 0.46's `RAM` has neither a read
//! enable nor a word width chosen at run time, and block-RAM inference wants the textbook
//! template, one memory per bank with a registered, enabled read.

use super::regs::{log2_rows, Im2colError};
use rust_hdl::prelude::*;
use std::fmt::Write as _;

/// Shape of the banks for R rows, a W-bit write port and a `2^AW`-byte buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BankGeometry {
    pub rows: usize,
    pub log2_rows: usize,
    pub beat_bytes: usize,
    pub log2_beat: usize,
    /// Bytes per bank word (G).
    pub lanes: usize,
    pub log2_lanes: usize,
    pub addr_bits: usize,
    /// Words per bank.
    pub words: usize,
}

impl BankGeometry {
    pub fn new(rows: usize, write_bits: usize, addr_bits: usize) -> Result<BankGeometry, Im2colError> {
        let log2_rows = log2_rows(rows)?;
        let beat_bytes = write_bits / 8;
        let err = |reason| Im2colError::Buffer { addr_bits, rows, beat_bytes, reason };
        if !write_bits.is_multiple_of(8) || !beat_bytes.is_power_of_two() {
            return Err(err("the write port must carry a power-of-two number of bytes"));
        }
        let lanes = (beat_bytes / rows).max(1);
        let word_log2 = log2_rows.max(beat_bytes.trailing_zeros() as usize);
        // At least two words per bank, and addresses the generator's 32-bit arithmetic covers.
        if addr_bits > 32 || addr_bits < word_log2 + 1 {
            return Err(err("needs at least two bank words and at most 2^32 bytes"));
        }
        Ok(BankGeometry {
            rows,
            log2_rows,
            beat_bytes,
            log2_beat: beat_bytes.trailing_zeros() as usize,
            lanes,
            log2_lanes: lanes.trailing_zeros() as usize,
            addr_bits,
            words: 1 << (addr_bits - word_log2),
        })
    }

    /// Bits of a bank line address (`addr / R`).
    pub fn line_bits(&self) -> usize {
        self.addr_bits - self.log2_rows
    }

    /// Bytes each bank holds.
    pub fn bank_bytes(&self) -> usize {
        self.words * self.lanes
    }

    /// The module body: per-bank read addresses, memories, write enables and lane selects.
    pub fn verilog(&self) -> String {
        let (r, lr, aw) = (self.rows, self.log2_rows, self.addr_bits);
        let (g, lg, lb) = (self.lanes, self.log2_lanes, self.line_bits());
        let (wb, depth) = (8 * g, self.words);
        let mut v = String::new();
        let _ = writeln!(v, "// {r} byte banks of {depth} x {wb}-bit words; {}-byte beats.", self.beat_bytes);
        let _ = writeln!(v, "wire [{}:0] line = raddr[{}:{lr}];", lb - 1, aw - 1);
        let _ = writeln!(v, "wire [{}:0] line_inc = line + {lb}'d1;", lb - 1);
        let _ = writeln!(v, "wire [{}:0] roff = raddr[{}:0];", lr - 1, lr - 1);
        // Write side: the word address, and which banks a beat touches.
        let word_lsb = lr.max(self.log2_beat);
        let _ = writeln!(v, "wire [{}:0] wword = waddr[{}:{word_lsb}];", aw - word_lsb - 1, aw - 1);
        if self.log2_beat > 0 {
            let _ = writeln!(v, "wire _unused_ok = &{{1'b0, waddr[{}:0]}};", self.log2_beat - 1);
        }
        let narrow = self.beat_bytes < r;
        if narrow {
            let bits = lr - self.log2_beat;
            let _ = writeln!(v, "wire [{}:0] wsel = waddr[{}:{}];", bits - 1, lr - 1, self.log2_beat);
        }
        for b in 0..r {
            let _ = writeln!(v, "// bank {b}");
            // Bank b holds the run's byte at line + 1 when the run starts after it in the line.
            if b + 1 < r {
                let _ = writeln!(v, "wire [{}:0] la_{b} = (roff > {lr}'d{b}) ? line_inc : line;", lb - 1);
            } else {
                let _ = writeln!(v, "wire [{}:0] la_{b} = line;", lb - 1);
            }
            let (we, data) = if narrow {
                let bits = lr - self.log2_beat;
                let byte = b % self.beat_bytes;
                (
                    format!("we & (wsel == {bits}'d{})", b / self.beat_bytes),
                    format!("wdata[{}:{}]", 8 * byte + 7, 8 * byte),
                )
            } else {
                let lanes: Vec<String> = (0..g)
                    .rev()
                    .map(|j| b + j * r)
                    .map(|byte| format!("wdata[{}:{}]", 8 * byte + 7, 8 * byte))
                    .collect();
                ("we".to_string(), format!("{{{}}}", lanes.join(", ")))
            };
            let _ = writeln!(v, "reg [{}:0] mem_{b} [0:{}];", wb - 1, depth - 1);
            let _ = writeln!(v, "reg [{}:0] q_{b};", wb - 1);
            if g > 1 {
                let _ = writeln!(v, "reg [{}:0] lane_{b};", lg - 1);
            }
            let _ = writeln!(v, "always @(posedge clock) begin");
            let _ = writeln!(v, "    if ({we}) begin\n        mem_{b}[wword] <= {data};\n    end");
            let _ = writeln!(v, "    if (re) begin");
            if g > 1 {
                let _ = writeln!(v, "        q_{b} <= mem_{b}[la_{b}[{}:{lg}]];", lb - 1);
                let _ = writeln!(v, "        lane_{b} <= la_{b}[{}:0];", lg - 1);
            } else {
                let _ = writeln!(v, "        q_{b} <= mem_{b}[la_{b}];");
            }
            let _ = writeln!(v, "    end\nend");
            if g > 1 {
                let _ = writeln!(v, "always @(*) rd${b} = q_{b}[{{lane_{b}, 3'b000}} +: 8];");
            } else {
                let _ = writeln!(v, "always @(*) rd${b} = q_{b};");
            }
        }
        v
    }
}

#[derive(LogicBlock)]
pub struct ActBanks<const W: usize, const AW: usize> {
    pub clock: Signal<In, Clock>,
    pub re: Signal<In, Bit>,
    /// Address of the run's first byte.
    pub raddr: Signal<In, Bits<AW>>,
    /// Bank b's byte (`rd$b`), in bank order: the read path rotates.
    pub rd: Vec<Signal<Out, Bits<8>>>,
    pub we: Signal<In, Bit>,
    pub waddr: Signal<In, Bits<AW>>,
    pub wdata: Signal<In, Bits<W>>,
    _geometry: BankGeometry,
}

impl<const W: usize, const AW: usize> ActBanks<W, AW> {
    pub fn new(rows: usize) -> Result<Self, Im2colError> {
        let geometry = BankGeometry::new(rows, W, AW)?;
        Ok(Self {
            clock: Default::default(),
            re: Default::default(),
            raddr: Default::default(),
            rd: (0..rows).map(|_| Default::default()).collect(),
            we: Default::default(),
            waddr: Default::default(),
            wdata: Default::default(),
            _geometry: geometry,
        })
    }

    pub fn geometry(&self) -> BankGeometry {
        self._geometry
    }
}

impl<const W: usize, const AW: usize> Logic for ActBanks<W, AW> {
    /// Never simulated by rust-hdl: Verilator runs the emitted Verilog.
    fn update(&mut self) {}

    fn connect(&mut self) {
        for rd in &mut self.rd {
            rd.connect();
        }
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(self._geometry.verilog())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_lanes_follow_beat_and_rows() {
        let g = BankGeometry::new(16, 64, 14).unwrap();
        assert_eq!((g.lanes, g.words, g.bank_bytes(), g.line_bits()), (1, 1024, 1024, 10));
        let g = BankGeometry::new(4, 64, 12).unwrap();
        assert_eq!((g.lanes, g.words, g.bank_bytes()), (2, 512, 1024));
        let g = BankGeometry::new(16, 512, 14).unwrap();
        assert_eq!((g.lanes, g.words), (4, 256));
        assert!(BankGeometry::new(16, 64, 4).is_err());
        assert!(BankGeometry::new(12, 64, 12).is_err());
        assert!(BankGeometry::new(16, 24, 12).is_err());
    }

    #[test]
    fn beats_gather_the_bytes_of_each_bank() {
        let v = BankGeometry::new(4, 64, 12).unwrap().verilog();
        // Bank 1 of 4 takes beat bytes 5 and 1 (lanes 1, 0).
        assert!(v.contains("mem_1[wword] <= {wdata[47:40], wdata[15:8]};"), "{v}");
        let v = BankGeometry::new(16, 64, 12).unwrap().verilog();
        assert!(v.contains("if (we & (wsel == 1'd1)) begin\n        mem_9[wword] <= wdata[15:8];"), "{v}");
        assert!(v.contains("wire [7:0] la_15 = line;"));
    }
}
