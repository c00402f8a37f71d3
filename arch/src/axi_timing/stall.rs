//! Injected back-pressure: whether a channel stalls at an edge is a pure function of (seed,
//! channel, edge), so the C++ co-simulation slave and [`super::dram::DramModel`] stall on exactly
//! the same edges without sharing a random number generator's call order.

/// Who can be told to stall. The DRAM uses the first three; the co-simulation harness the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// ARREADY low.
    Ar = 0,
    /// AWREADY low.
    Aw = 1,
    /// WREADY low.
    W = 2,
    /// The read stream's consumer: `out_ready` low.
    Consumer = 3,
    /// The write stream's producer: does not offer a new beat (`in_valid` stays low).
    Producer = 4,
    /// The read command source does not offer its next command.
    ReadCommand = 5,
    /// The write command source does not offer its next command.
    WriteCommand = 6,
}

pub const CHANNELS: usize = 7;

/// Stall probabilities in percent per [`Channel`] (0: never), and the seed of the pattern.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stalls {
    pub seed: u64,
    pub percent: [u8; CHANNELS],
}

impl Stalls {
    /// No back-pressure anywhere: the timing formulas' assumption.
    pub fn none() -> Stalls {
        Stalls::default()
    }

    /// Every channel stalls with probability `percent`.
    pub fn all(seed: u64, percent: u8) -> Stalls {
        Stalls { seed, percent: [percent; CHANNELS] }
    }

    pub fn set(mut self, channel: Channel, percent: u8) -> Stalls {
        self.percent[channel as usize] = percent;
        self
    }

    /// Whether `channel` stalls at `edge`.
    pub fn hit(&self, channel: Channel, edge: u64) -> bool {
        let percent = u64::from(self.percent[channel as usize]);
        percent > 0 && mix(self.seed ^ ((channel as u64) << 56) ^ edge.wrapping_mul(GOLDEN)) % 100 < percent
    }
}

const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// SplitMix64's finaliser (the C++ harness has the same function).
pub fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(GOLDEN);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_roughly_match_and_channels_differ() {
        let s = Stalls::all(42, 30);
        let hits = (0..10_000).filter(|&e| s.hit(Channel::Ar, e)).count();
        assert!((2_500..3_500).contains(&hits), "{hits}");
        let same = (0..1_000).filter(|&e| s.hit(Channel::Ar, e) == s.hit(Channel::W, e)).count();
        assert!(same < 900, "channels must not stall in lockstep");
        assert!(!(0..1_000).any(|e| Stalls::none().hit(Channel::W, e)));
        // Pinned: the C++ harness must produce the same value.
        assert_eq!(mix(0), 0xe220_a839_7b1d_cdaf);
    }
}
