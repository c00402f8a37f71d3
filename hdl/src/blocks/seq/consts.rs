//! Width-dependent constants of the sequencer, computed from arch's descriptor table (no
//! rust-hdl types here except the wide constant builder).

use rust_hdl::prelude::*;
use systole_arch::descriptor::{covered_bits_for, CHECKSUM_WORD, DESCRIPTOR_BYTES, DESCRIPTOR_WORDS};
use systole_arch::timing::seq::PERF_BYTES;

/// Words of the descriptor the sequencer keeps (0..32: every field lives in words 0..=27).
pub const KEPT_WORDS: usize = 32;
/// Bits of the kept descriptor (`desc` output).
pub const DESC_BITS: usize = KEPT_WORDS * 32;
const _: () = assert!(DESC_BITS == 1024);

/// Per data width `w` (bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeqGeometry {
    pub w: usize,
    /// Beats per descriptor.
    pub beats: usize,
    /// 32-bit words per beat.
    pub words_per_beat: usize,
    /// Beats shifted into the kept descriptor.
    pub kept_beats: usize,
    /// Beats of the perf-record write.
    pub perf_beats: usize,
}

impl SeqGeometry {
    pub fn new(w: usize) -> SeqGeometry {
        let bytes = w / 8;
        let perf = (PERF_BYTES as usize).max(bytes);
        SeqGeometry {
            w,
            beats: DESCRIPTOR_BYTES / bytes,
            words_per_beat: w / 32,
            kept_beats: DESC_BITS / w,
            perf_beats: perf / bytes,
        }
    }

    /// Bit mask (little-endian words) of beat `b`'s bits that must be zero (reserved; the
    /// zero-tile skipping fields are not on an engine with `zero_skip`).
    pub fn reserved_words(&self, b: usize, zero_skip: bool) -> Vec<u32> {
        let covered = covered_bits_for(zero_skip);
        (0..self.words_per_beat)
            .map(|j| {
                let w = b * self.words_per_beat + j;
                if w <= CHECKSUM_WORD {
                    !covered[w]
                } else {
                    0
                }
            })
            .collect()
    }

    /// Mask of beat `b`'s words covered by the checksum (words 0..=59).
    pub fn checksum_words(&self, b: usize) -> Vec<u32> {
        (0..self.words_per_beat)
            .map(|j| if b * self.words_per_beat + j <= CHECKSUM_WORD { u32::MAX } else { 0 })
            .collect()
    }
}

/// A `Bits<N>` whose 32-bit word `i` is `words[i]`.
pub fn wide<const N: usize>(words: &[u32]) -> Bits<N> {
    let mut acc: Bits<N> = Bits::default();
    for (i, &w) in words.iter().enumerate() {
        if 32 * i < N {
            acc = acc | (bit_cast::<N, 32>(bits::<32>(u64::from(w))) << ((32 * i) as u64));
        }
    }
    acc
}

/// All-ones words below bit `n` of a `Bits<N>` (as words).
pub fn ones_below(n_bits: usize, total_words: usize) -> Vec<u32> {
    (0..total_words)
        .map(|i| {
            let lo = 32 * i;
            if lo + 32 <= n_bits {
                u32::MAX
            } else if lo >= n_bits {
                0
            } else {
                (1u32 << (n_bits - lo)) - 1
            }
        })
        .collect()
}

const _: () = assert!(DESCRIPTOR_WORDS == 64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry() {
        let g = SeqGeometry::new(64);
        assert_eq!((g.beats, g.words_per_beat, g.kept_beats, g.perf_beats), (32, 2, 16, 2));
        let g = SeqGeometry::new(512);
        assert_eq!((g.beats, g.words_per_beat, g.kept_beats, g.perf_beats), (4, 16, 2, 1));
        // Beat 3 of 512 bits = words 48..63: 48..=58 reserved, 59 checksum, 60..63 perf.
        let r = g.reserved_words(3, false);
        assert_eq!(r[10], u32::MAX);
        assert_eq!(&r[11..], &[0; 5]);
        assert_eq!(g.checksum_words(3)[11], u32::MAX);
        assert_eq!(g.checksum_words(3)[12], 0);
        let v: Bits<64> = wide(&[1, 2]);
        assert_eq!(v.to_u64(), 0x2_0000_0001);
        assert_eq!(ones_below(40, 2), vec![u32::MAX, 0xff]);
    }
}
