//! Golden models of the array at its interface.
//!
//! * [`ArrayModel`]: cycle level. It implements the contract (latency, stall, which weights
//!   each slot meets), not the RTL's structure: every enabled slot's sums appear exactly
//!   [`latency`](super::latency) enabled edges later, computed with the weights committed by the
//!   latest tile start at or before that slot. Input sequences that break the weight-loading
//!   rule are refused with a [`TimingError`] instead of being imitated, so a sequencer (or the
//!   cycle model in `sim/`) can be checked against it.
//! * [`tile_reference`]: the pure function of one tile, `sum_r (a - zx) * (w - zw)`.

use super::edge::zero_point_sub;
use super::rtl::latency;
use crate::blocks::pe::{wrap, ACC_BITS};
use std::collections::VecDeque;
use thiserror::Error;

/// Inputs of one clock cycle, as raw bytes and 9-bit zero points (the RTL's ports).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArrayInputs {
    pub en: bool,
    pub valid: bool,
    pub tile_start: bool,
    pub a_signed: bool,
    /// -128..=127 for int8 activations, 0..=255 for uint8.
    pub a_zp: i16,
    /// One byte per row.
    pub a: Vec<u8>,
    pub w_shift: bool,
    pub w_signed: bool,
    /// One byte per column: the row of the weight tile being shifted in.
    pub w: Vec<u8>,
    pub w_zp: Vec<i16>,
}

/// Outputs after one rising edge.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArrayOutputs {
    pub valid: bool,
    pub tile_start: bool,
    /// One partial sum per column, `acc_bits` two's complement.
    pub psum: Vec<i64>,
}

/// An input sequence the array cannot run correctly (see [`ArrayModel`] for the rule).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum TimingError {
    #[error(
        "cycle {cycle}: tile start commits the last {rows} weight rows, but only {shifted} were shifted since \
         the previous tile start (tiles must be at least {rows} enabled cycles apart and carry their rows)"
    )]
    RowsMissing { cycle: u64, rows: usize, shifted: usize },
    #[error("cycle {cycle}: {what} has {got} entries, the array has {want}")]
    Shape { cycle: u64, what: &'static str, got: usize, want: usize },
}

/// Cycle-level model of [`SystolicArray`](super::SystolicArray).
///
/// Weight-loading rule: the weights a tile start commits are the last R rows shifted in enabled
/// cycles before it (the most recent is row 0, the first of the R is row R-1), and all R must
/// have been shifted at or after the previous tile start's cycle. Hence consecutive tile starts
/// are at least R enabled cycles apart; a tile with fewer pixels is padded with invalid slots.
#[derive(Clone, Debug)]
pub struct ArrayModel {
    rows: usize,
    cols: usize,
    acc_bits: u32,
    /// Most recent shifted row first (9-bit weights).
    pipe: VecDeque<Vec<i16>>,
    shifted_since_start: usize,
    /// Committed at the latest tile start; `active[r][c]`.
    active: Vec<Vec<i16>>,
    /// Results of the last `latency - 1` enabled slots, oldest first.
    in_flight: VecDeque<ArrayOutputs>,
    out: ArrayOutputs,
    cycle: u64,
}

impl ArrayModel {
    pub fn new(rows: usize, cols: usize, acc_bits: usize) -> ArrayModel {
        assert!(rows >= 1 && cols >= 1, "array shape {rows}x{cols}");
        assert!(ACC_BITS.contains(&acc_bits), "accumulator width {acc_bits} outside {ACC_BITS:?}");
        // Power-on: every register is zero, so are the sums of the slots already "in flight".
        let zero = ArrayOutputs { valid: false, tile_start: false, psum: vec![0; cols] };
        ArrayModel {
            rows,
            cols,
            acc_bits: acc_bits as u32,
            pipe: (0..rows).map(|_| vec![0; cols]).collect(),
            shifted_since_start: 0,
            active: vec![vec![0; cols]; rows],
            in_flight: std::iter::repeat_n(zero.clone(), latency(rows, cols) - 1).collect(),
            out: zero,
            cycle: 0,
        }
    }

    pub fn latency(&self) -> usize {
        latency(self.rows, self.cols)
    }

    /// One rising edge with `inputs` applied; returns the outputs after it.
    pub fn step(&mut self, inputs: &ArrayInputs) -> Result<&ArrayOutputs, TimingError> {
        let cycle = self.cycle;
        self.cycle += 1;
        if !inputs.en {
            return Ok(&self.out);
        }
        self.check_shape(inputs, cycle)?;
        if inputs.tile_start {
            if self.shifted_since_start < self.rows {
                return Err(TimingError::RowsMissing { cycle, rows: self.rows, shifted: self.shifted_since_start });
            }
            self.active = self.pipe.iter().cloned().collect();
            self.shifted_since_start = 0;
        }
        if inputs.w_shift {
            let row = (0..self.cols).map(|c| zero_point_sub(inputs.w[c], inputs.w_signed, inputs.w_zp[c])).collect();
            self.pipe.push_front(row);
            self.pipe.truncate(self.rows);
            self.shifted_since_start += 1;
        }
        let a: Vec<i16> = inputs.a.iter().map(|&x| zero_point_sub(x, inputs.a_signed, inputs.a_zp)).collect();
        let psum = (0..self.cols)
            .map(|c| {
                let sum: i64 = (0..self.rows).map(|r| i64::from(a[r]) * i64::from(self.active[r][c])).sum();
                wrap(sum, self.acc_bits)
            })
            .collect();
        self.in_flight.push_back(ArrayOutputs { valid: inputs.valid, tile_start: inputs.tile_start, psum });
        if let Some(out) = self.in_flight.pop_front() {
            self.out = out;
        }
        Ok(&self.out)
    }

    fn check_shape(&self, inputs: &ArrayInputs, cycle: u64) -> Result<(), TimingError> {
        let shapes = [
            ("a", inputs.a.len(), self.rows),
            ("w", inputs.w.len(), self.cols),
            ("w_zp", inputs.w_zp.len(), self.cols),
        ];
        for (what, got, want) in shapes {
            if got != want {
                return Err(TimingError::Shape { cycle, what, got, want });
            }
        }
        Ok(())
    }
}

/// One tile as the sequencer sees it: raw bytes and zero points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tile {
    pub a_signed: bool,
    pub a_zp: i16,
    pub w_signed: bool,
    /// `weights[r][c]`: R rows of C bytes.
    pub weights: Vec<Vec<u8>>,
    pub w_zp: Vec<i16>,
    /// Each pixel: R activation bytes.
    pub pixels: Vec<Vec<u8>>,
}

/// The pure function: for every pixel, `out[c] = sum_r (a[r] - zx) * (w[r][c] - zw[c])`, exact.
pub fn tile_reference(tile: &Tile) -> Vec<Vec<i64>> {
    let ext = |x: u8, signed: bool| if signed { i64::from(x as i8) } else { i64::from(x) };
    let cols = tile.w_zp.len();
    tile.pixels
        .iter()
        .map(|pixel| {
            (0..cols)
                .map(|c| {
                    pixel
                        .iter()
                        .zip(&tile.weights)
                        .map(|(&a, w_row)| {
                            (ext(a, tile.a_signed) - i64::from(tile.a_zp))
                                * (ext(w_row[c], tile.w_signed) - i64::from(tile.w_zp[c]))
                        })
                        .sum()
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::array::stimuli::{random_tiles, stream, StreamOptions};
    use crate::rng::Rng;

    fn idle(rows: usize, cols: usize) -> ArrayInputs {
        ArrayInputs { en: true, a: vec![0; rows], w: vec![0; cols], w_zp: vec![0; cols], ..Default::default() }
    }

    /// The cycle model and the pure function agree on random streams, and every pixel comes
    /// out exactly `latency` enabled edges after it went in.
    #[test]
    fn cycle_model_computes_each_tile_function() {
        let mut rng = Rng(17);
        for (rows, cols) in [(1, 1), (3, 2), (2, 5), (6, 6)] {
            let tiles = random_tiles(&mut rng, rows, cols, 40);
            let stream = stream(&mut rng, rows, cols, &tiles, StreamOptions::default());
            let mut model = ArrayModel::new(rows, cols, 32);
            let outs: Vec<ArrayOutputs> = stream.cycles.iter().map(|c| model.step(c).expect("legal").clone()).collect();
            let mut expected = stream.pixels.iter().map(|&(t, p, cycle)| (tile_reference(&tiles[t])[p].clone(), cycle));
            let mut enabled_since: Vec<usize> = Vec::new();
            for (cycle, (inputs, out)) in stream.cycles.iter().zip(&outs).enumerate() {
                // Count enabled edges after each pixel; it is out after latency - 1 of them.
                if inputs.en {
                    enabled_since.iter_mut().for_each(|n| *n += 1);
                }
                if inputs.en && inputs.valid {
                    enabled_since.push(0);
                }
                if out.valid && inputs.en {
                    let (psum, _) = expected.next().expect("more outputs than pixels");
                    assert_eq!(out.psum, psum, "{rows}x{cols} cycle {cycle}");
                    assert_eq!(enabled_since.remove(0), model.latency() - 1, "{rows}x{cols} cycle {cycle}");
                }
            }
            assert!(expected.next().is_none(), "{rows}x{cols}: pixels without outputs");
        }
    }

    #[test]
    fn tile_start_needs_r_rows_since_the_previous_start() {
        let (rows, cols) = (3, 2);
        let mut model = ArrayModel::new(rows, cols, 32);
        let shift = ArrayInputs { w_shift: true, ..idle(rows, cols) };
        let start = ArrayInputs { tile_start: true, ..idle(rows, cols) };
        // First tile: two rows only.
        model.step(&shift).unwrap();
        model.step(&shift).unwrap();
        assert_eq!(model.step(&start), Err(TimingError::RowsMissing { cycle: 2, rows: 3, shifted: 2 }));

        let mut model = ArrayModel::new(rows, cols, 32);
        for _ in 0..rows {
            model.step(&shift).unwrap();
        }
        // A stalled shift does not count; the start shares its cycle with the next tile's first row.
        model.step(&ArrayInputs { en: false, ..shift.clone() }).unwrap();
        model.step(&ArrayInputs { w_shift: true, ..start.clone() }).unwrap();
        model.step(&shift).unwrap();
        // Two rows since the start (one in its own cycle): a start now would be 2 < R cycles later.
        let err = model.step(&start).unwrap_err();
        assert_eq!(err, TimingError::RowsMissing { cycle: 6, rows: 3, shifted: 2 });
        assert!(err.to_string().contains("at least 3 enabled cycles apart"), "{err}");
    }

    #[test]
    fn weights_commit_bottom_row_first_and_outputs_wait_latency() {
        let (rows, cols) = (2, 1);
        let mut model = ArrayModel::new(rows, cols, 32);
        // Row 1's weight (3) first, then row 0's (5); zero points 1.
        for w in [4u8, 6] {
            model.step(&ArrayInputs { w_shift: true, w: vec![w], w_zp: vec![1], ..idle(rows, cols) }).unwrap();
        }
        let pixel = ArrayInputs { valid: true, tile_start: true, a: vec![10, 20], a_zp: 0, ..idle(rows, cols) };
        let mut out = model.step(&pixel).unwrap().clone();
        for _ in 1..latency(rows, cols) {
            assert!(!out.valid);
            out = model.step(&idle(rows, cols)).unwrap().clone();
        }
        assert!(out.valid && out.tile_start);
        assert_eq!(out.psum, vec![10 * 5 + 20 * 3]);
    }
}
