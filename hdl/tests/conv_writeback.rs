//! The CONV unit's write-back path, lint, synthesis and Verilator co-simulation:
//! * `SliceWalker` against the golden `SliceWrite::slots` on random blocks (unaligned starts,
//!   strides from 1 to beyond a beat, one-pixel blocks, contiguous and sparse slices) with a
//!   consumer that takes slots on random cycles;
//! * `BeatPacker`: random strobed / unstrobed byte slots with gaps become the right beats and
//!   strobes, each exactly one edge after its last slot.

mod common;

use systole_hdl::blocks::conv::{BeatPacker, SliceWalker, SliceWrite, Slot};
use systole_hdl::check;
use systole_hdl::rng::Rng;

/// What one taken slot looked like on the walker's outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Seen {
    slot: Slot,
    beat_last: bool,
    last: bool,
}

fn expected(w: &SliceWrite) -> Vec<Seen> {
    let slots = w.slots();
    let n = slots.len();
    slots
        .into_iter()
        .enumerate()
        .map(|(i, slot)| Seen { slot, beat_last: (i as u64 + 1).is_multiple_of(w.beat_bytes), last: i + 1 == n })
        .collect()
}

fn block(rng: &mut Rng, beat_bytes: u64) -> SliceWrite {
    let stride = match rng.below(4) {
        0 => 1 + rng.below(4),
        1 => beat_bytes,
        _ => 1 + rng.below(3 * beat_bytes),
    };
    let channels = if rng.chance(30) { stride } else { 1 + rng.below(stride) };
    let pixels = if rng.chance(15) { 1 } else { 1 + rng.below(24) };
    SliceWrite { addr: rng.below(1 << 30), pixels, channels, stride, beat_bytes }
}

fn walker(beat_bytes: usize, seed: u64) {
    if !check::tools_or_skip(&["verilator", "yosys"], "slice walker") {
        return;
    }
    let top = format!("systole_slice_walker{beat_bytes}");
    let (design, path) = common::emit_to_dir(&mut SliceWalker::new(beat_bytes), &top, &SliceWalker::waivers());
    common::lint_and_synth(&design, &path);
    let sim = common::simulator(&design);
    let input = |name: &str| sim.input_index(name).unwrap_or_else(|| panic!("input {name}"));
    let output = |name: &str| sim.output_index(name).unwrap_or_else(|| panic!("output {name}"));
    let mut rng = Rng(seed);
    let blocks: Vec<SliceWrite> = (0..120).map(|_| block(&mut rng, beat_bytes as u64)).collect();
    // Open loop: a start, then random take cycles until every slot is taken, then a gap.
    let mut vectors = Vec::new();
    let mut starts = Vec::new();
    let blank = vec![0u64; sim.inputs.len()];
    vectors.push({
        let mut v = blank.clone();
        v[input("reset")] = 1;
        v
    });
    for w in &blocks {
        let mut v = blank.clone();
        v[input("start")] = 1;
        v[input("addr")] = w.addr;
        v[input("pixels")] = w.pixels;
        v[input("channels")] = w.channels;
        v[input("stride")] = w.stride;
        starts.push(vectors.len());
        vectors.push(v);
        let mut left = w.beats() * w.beat_bytes;
        while left > 0 {
            let mut v = blank.clone();
            if rng.chance(70) {
                v[input("take")] = 1;
                left -= 1;
            }
            vectors.push(v);
        }
        for _ in 0..rng.below(3) {
            vectors.push(blank.clone());
        }
    }
    vectors.push(blank.clone());
    let out = sim.run(&vectors).unwrap_or_else(|e| panic!("{e}"));
    let mut checked = 0;
    for (k, (w, &at)) in blocks.iter().zip(&starts).enumerate() {
        assert_eq!(out[at][output("cmd_addr")], w.aligned_addr(), "block {k} {w:?}: command address");
        assert_eq!(out[at][output("cmd_beats")], w.beats(), "block {k} {w:?}: command beats");
        let end = starts.get(k + 1).copied().unwrap_or(vectors.len() - 1);
        let mut seen = Vec::new();
        for i in at + 1..end {
            let o = &out[i - 1];
            let valid = o[output("valid")] == 1;
            if vectors[i][input("take")] == 1 {
                assert!(valid || seen.len() == expected(w).len(), "block {k} {w:?}: no slot at cycle {i}");
            }
            if valid && vectors[i][input("take")] == 1 {
                let slot = if o[output("strobe")] == 1 {
                    Slot::Byte { pixel: o[output("pixel")], channel: o[output("channel")] }
                } else {
                    Slot::Skip
                };
                seen.push(Seen { slot, beat_last: o[output("beat_last")] == 1, last: o[output("last")] == 1 });
            }
        }
        assert_eq!(out[end - 1][output("valid")], 0, "block {k} {w:?}: still valid after its last slot");
        let want = expected(w);
        assert_eq!(seen.len(), want.len(), "block {k} {w:?}: slots");
        if let Some(i) = seen.iter().zip(&want).position(|(a, b)| a != b) {
            panic!("block {k} {w:?}: slot {i} is {:?}, want {:?}", seen[i], want[i]);
        }
        checked += want.len();
    }
    println!("{top}: {} blocks, {checked} slots checked", blocks.len());
}

#[test]
fn slice_walker_matches_the_model_b8() {
    walker(8, 0x5108);
}

#[test]
fn slice_walker_matches_the_model_b64() {
    walker(64, 0x5164);
}

#[test]
fn beat_packer_groups_slots_into_beats() {
    if !check::tools_or_skip(&["verilator", "yosys"], "beat packer") {
        return;
    }
    let top = "systole_beat_packer64";
    let (design, path) = common::emit_to_dir(&mut BeatPacker::<64, 8>::default(), top, &[]);
    common::lint_and_synth(&design, &path);
    let sim = common::simulator(&design);
    let input = |name: &str| sim.input_index(name).unwrap_or_else(|| panic!("input {name}"));
    let output = |name: &str| sim.output_index(name).unwrap_or_else(|| panic!("output {name}"));
    let mut rng = Rng(0xbea7);
    let blank = vec![0u64; sim.inputs.len()];
    let mut vectors = vec![{
        let mut v = blank.clone();
        v[input("reset")] = 1;
        v
    }];
    // (line of the expected beat, data, strobes)
    let mut want = Vec::new();
    let (mut data, mut strb, mut count) = (0u64, 0u64, 0);
    while want.len() < 400 {
        let mut v = blank.clone();
        if rng.chance(60) {
            let (byte, strobe) = (rng.below(256), rng.chance(50));
            v[input("in_valid")] = 1;
            v[input("in_byte")] = byte;
            v[input("in_strobe")] = u64::from(strobe);
            data |= byte << (8 * count);
            strb |= u64::from(strobe) << count;
            count += 1;
            if count == 8 {
                want.push((vectors.len(), data, strb));
                (data, strb, count) = (0, 0, 0);
            }
        }
        vectors.push(v);
    }
    vectors.push(blank.clone());
    let out = sim.run(&vectors).unwrap_or_else(|e| panic!("{e}"));
    let got: Vec<(usize, u64, u64)> = out
        .iter()
        .enumerate()
        .filter(|(_, o)| o[output("out_valid")] == 1)
        .map(|(i, o)| (i, o[output("out_data")], o[output("out_strb")]))
        .collect();
    assert_eq!(got.len(), want.len(), "beats");
    for (k, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "beat {k}: (line, data, strobes)");
    }
}
