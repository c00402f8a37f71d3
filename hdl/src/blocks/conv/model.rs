//! Golden model of a channel-slice write (units.md "Writes of channel slices"): one contiguous,
//! beat-aligned byte range over a pixel block, with byte strobes set only on the o-tile's
//! channels. No rust-hdl: the walker RTL, the timing formula and the tests use it.

/// One pixel block's write: `pixels` pixels of `channels` bytes each, `stride` bytes apart,
/// the first of them at byte address `addr`, on a bus of `beat_bytes` bytes per beat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SliceWrite {
    pub addr: u64,
    pub pixels: u64,
    pub channels: u64,
    pub stride: u64,
    pub beat_bytes: u64,
}

/// What one byte slot of the write stream carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// A byte outside the slice (before it, between two pixels' channels, or after it):
    /// strobe low.
    Skip,
    /// Channel `channel` of pixel `pixel` of the block: strobe high.
    Byte { pixel: u64, channel: u64 },
}

impl SliceWrite {
    /// Bytes from the first written byte to the last, inclusive.
    pub fn span(&self) -> u64 {
        (self.pixels - 1) * self.stride + self.channels
    }

    /// The write command's beat-aligned start address.
    pub fn aligned_addr(&self) -> u64 {
        self.addr - self.lead()
    }

    /// Unstrobed bytes before the first written one in its beat.
    pub fn lead(&self) -> u64 {
        self.addr % self.beat_bytes
    }

    /// Beats of the write command.
    pub fn beats(&self) -> u64 {
        (self.lead() + self.span()).div_ceil(self.beat_bytes)
    }

    /// Every byte slot of the command's beats, in address order.
    pub fn slots(&self) -> Vec<Slot> {
        let lead = self.lead();
        (0..self.beats() * self.beat_bytes)
            .map(|i| {
                if i < lead || i - lead >= self.span() {
                    return Slot::Skip;
                }
                let (pixel, channel) = ((i - lead) / self.stride, (i - lead) % self.stride);
                if channel < self.channels {
                    Slot::Byte { pixel, channel }
                } else {
                    Slot::Skip
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_of_an_unaligned_slice() {
        // Pixels of 5 bytes, channels 1..3 of each written: addr = base + 1.
        let w = SliceWrite { addr: 17, pixels: 3, channels: 2, stride: 5, beat_bytes: 8 };
        assert_eq!((w.aligned_addr(), w.lead(), w.span(), w.beats()), (16, 1, 12, 2));
        let strobes: String = w.slots().iter().map(|s| if matches!(s, Slot::Skip) { '.' } else { 'x' }).collect();
        assert_eq!(strobes, ".xx...xx...xx...");
        assert_eq!(w.slots()[7], Slot::Byte { pixel: 1, channel: 1 });
    }

    #[test]
    fn contiguous_slice_fills_whole_beats() {
        let w = SliceWrite { addr: 64, pixels: 4, channels: 4, stride: 4, beat_bytes: 16 };
        assert_eq!(w.beats(), 1);
        assert!(w.slots().iter().all(|s| matches!(s, Slot::Byte { .. })));
    }
}
