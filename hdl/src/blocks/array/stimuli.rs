//! Random test streams for the array: tiles of random length (some shorter than R), zero points
//! and signedness, laid out back to back by a small sequencer that follows the weight-loading
//! rule of [`ArrayModel`](super::ArrayModel), with bubbles, stalls and garbage on ignored inputs.

use super::model::{ArrayInputs, Tile};
use crate::rng::Rng;

/// How hostile the stream is.
#[derive(Clone, Copy, Debug)]
pub struct StreamOptions {
    /// Chance (percent) of a run of 1..=3 stalled cycles before a slot.
    pub stall_percent: u64,
    /// Chance (percent) of an invalid slot before each pixel after a tile's first.
    pub bubble_percent: u64,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions { stall_percent: 10, bubble_percent: 15 }
    }
}

/// A cycle-by-cycle input stream and where each pixel entered.
#[derive(Clone, Debug)]
pub struct Stream {
    pub cycles: Vec<ArrayInputs>,
    /// `(tile, pixel, cycle)` for every pixel, in issue order.
    pub pixels: Vec<(usize, usize, usize)>,
}

/// A byte with the corners (0, 127, 128, 255) often.
fn byte(rng: &mut Rng) -> u8 {
    match rng.below(6) {
        0 => 0,
        1 => 127,
        2 => 128,
        3 => 255,
        _ => rng.next_u64() as u8,
    }
}

/// A zero point valid for the signedness: -128..=127 or 0..=255, extremes often.
fn zero_point(rng: &mut Rng, signed: bool) -> i16 {
    let (lo, hi) = if signed { (-128, 127) } else { (0, 255) };
    match rng.below(5) {
        0 => lo,
        1 => hi,
        2 => 0.max(lo),
        _ => rng.range(i64::from(lo), i64::from(hi)) as i16,
    }
}

/// A random tile with `len` pixels.
pub fn random_tile(rng: &mut Rng, rows: usize, cols: usize, len: usize) -> Tile {
    let (a_signed, w_signed) = (rng.chance(50), rng.chance(50));
    Tile {
        a_signed,
        a_zp: zero_point(rng, a_signed),
        w_signed,
        weights: (0..rows).map(|_| (0..cols).map(|_| byte(rng)).collect()).collect(),
        w_zp: (0..cols).map(|_| zero_point(rng, w_signed)).collect(),
        pixels: (0..len).map(|_| (0..rows).map(|_| byte(rng)).collect()).collect(),
    }
}

/// `count` random tiles of [`random_len`] pixels.
pub fn random_tiles(rng: &mut Rng, rows: usize, cols: usize, count: usize) -> Vec<Tile> {
    (0..count)
        .map(|_| {
            let len = random_len(rng, rows);
            random_tile(rng, rows, cols, len)
        })
        .collect()
}

/// Tile lengths around the interesting boundaries: 1, R - 1, R, R + 1, and anything up to 3R.
pub fn random_len(rng: &mut Rng, rows: usize) -> usize {
    match rng.below(6) {
        0 => 1,
        1 => rows.saturating_sub(1).max(1),
        2 => rows,
        3 => rows + 1,
        _ => rng.range(1, 3 * rows as i64) as usize,
    }
}

fn garbage(rng: &mut Rng, rows: usize, cols: usize) -> ArrayInputs {
    ArrayInputs {
        en: true,
        valid: false,
        tile_start: false,
        a_signed: rng.chance(50),
        a_zp: rng.range(-256, 255) as i16,
        a: (0..rows).map(|_| rng.next_u64() as u8).collect(),
        w_shift: false,
        w_signed: rng.chance(50),
        w: (0..cols).map(|_| rng.next_u64() as u8).collect(),
        w_zp: (0..cols).map(|_| rng.range(-256, 255) as i16).collect(),
    }
}

/// Places `tile`'s R weight rows (bottom row first) into `window`, a run of slots at or after
/// the previous tile start, with garbage shifts before them (they are shifted out again).
fn place_rows(rng: &mut Rng, window: &mut [ArrayInputs], tile: &Tile) {
    let rows = tile.weights.len();
    assert!(window.len() >= rows, "window of {} slots for {rows} rows", window.len());
    let mut positions: Vec<usize> = match rng.below(3) {
        // As early as allowed: the first row on the previous tile start's own cycle.
        0 => (0..rows).collect(),
        // As late as allowed: the last row in the cycle before the tile start.
        1 => (window.len() - rows..window.len()).collect(),
        _ => {
            let mut all: Vec<usize> = (0..window.len()).collect();
            for i in (1..all.len()).rev() {
                all.swap(i, rng.below(i as u64 + 1) as usize);
            }
            all.truncate(rows);
            all.sort_unstable();
            all
        }
    };
    for inputs in &mut window[..positions[0]] {
        inputs.w_shift |= rng.chance(30);
    }
    for (k, slot) in positions.drain(..).enumerate() {
        let inputs = &mut window[slot];
        inputs.w_shift = true;
        inputs.w_signed = tile.w_signed;
        inputs.w = tile.weights[rows - 1 - k].clone();
        inputs.w_zp = tile.w_zp.clone();
    }
}

/// Lays `tiles` out back to back: each tile's window is its pixels (first one tagged
/// `tile_start`) with random bubbles, padded with invalid slots to at least R; the next tile's
/// rows are shifted inside it; stalls are sprinkled between slots.
pub fn stream(rng: &mut Rng, rows: usize, cols: usize, tiles: &[Tile], options: StreamOptions) -> Stream {
    // Slots (enabled cycles) first, with (tile, pixel) for the valid ones.
    let prologue = rows + rng.below(4) as usize;
    let mut slots: Vec<ArrayInputs> = (0..prologue).map(|_| garbage(rng, rows, cols)).collect();
    let mut owners: Vec<Option<(usize, usize)>> = vec![None; prologue];
    let mut windows = Vec::with_capacity(tiles.len() + 1);
    windows.push(0..prologue);
    for (t, tile) in tiles.iter().enumerate() {
        let start = slots.len();
        for (p, pixel) in tile.pixels.iter().enumerate() {
            while p > 0 && rng.chance(options.bubble_percent) {
                slots.push(garbage(rng, rows, cols));
                owners.push(None);
            }
            let mut inputs = garbage(rng, rows, cols);
            inputs.valid = true;
            inputs.tile_start = p == 0;
            inputs.a_signed = tile.a_signed;
            inputs.a_zp = tile.a_zp;
            inputs.a = pixel.clone();
            slots.push(inputs);
            owners.push(Some((t, p)));
        }
        while slots.len() - start < rows {
            slots.push(garbage(rng, rows, cols));
            owners.push(None);
        }
        windows.push(start..slots.len());
    }
    for (tile, window) in tiles.iter().zip(&windows) {
        place_rows(rng, &mut slots[window.clone()], tile);
    }
    let epilogue = super::rtl::latency(rows, cols) + 2;
    slots.extend((0..epilogue).map(|_| garbage(rng, rows, cols)));
    owners.extend(std::iter::repeat_n(None, epilogue));

    // Then stalls: cycles with en low and random values on every other input.
    let mut cycles = Vec::with_capacity(slots.len() * 2);
    let mut pixels = Vec::new();
    for (slot, owner) in slots.into_iter().zip(owners) {
        if rng.chance(options.stall_percent) {
            for _ in 0..rng.range(1, 3) {
                let mut stalled = garbage(rng, rows, cols);
                stalled.en = false;
                stalled.valid = rng.chance(50);
                stalled.tile_start = rng.chance(50);
                stalled.w_shift = rng.chance(50);
                cycles.push(stalled);
            }
        }
        if let Some((t, p)) = owner {
            pixels.push((t, p, cycles.len()));
        }
        cycles.push(slot);
    }
    Stream { cycles, pixels }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The streams reach the edges of the loading rule, where an off-by-one in the RTL shows:
    /// a shift in a tile start's own cycle, a row shifted in the cycle just before a tile start,
    /// tile starts exactly R cycles apart, tiles shorter than R, stalls next to tile starts.
    #[test]
    fn streams_reach_the_timing_boundaries() {
        let mut rng = Rng(99);
        let rows = 4;
        let tiles = random_tiles(&mut rng, rows, 3, 200);
        assert!(tiles.iter().any(|t| t.pixels.len() < rows) && tiles.iter().any(|t| t.pixels.len() > 2 * rows));
        let s = stream(&mut rng, rows, 3, &tiles, StreamOptions::default());
        let enabled: Vec<&ArrayInputs> = s.cycles.iter().filter(|c| c.en).collect();
        let starts: Vec<usize> = (0..enabled.len()).filter(|&i| enabled[i].tile_start).collect();
        assert_eq!(starts.len(), tiles.len());
        let shift_on_start = starts.iter().filter(|&&i| enabled[i].w_shift).count();
        let shift_before_start = starts.iter().filter(|&&i| enabled[i - 1].w_shift).count();
        let tight = starts.windows(2).filter(|w| w[1] - w[0] == rows).count();
        let stalled_start =
            (1..s.cycles.len()).filter(|&i| s.cycles[i].en && s.cycles[i].tile_start && !s.cycles[i - 1].en).count();
        for (what, n) in [
            ("shift on a tile start", shift_on_start),
            ("shift just before a tile start", shift_before_start),
            ("tile starts R apart", tight),
            ("stall before a tile start", stalled_start),
        ] {
            assert!(n >= 10, "{what}: only {n} of {} tiles", tiles.len());
        }
    }
}
