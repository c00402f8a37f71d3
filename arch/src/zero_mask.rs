//! Zero-tile masks (ENGINE.md "Zero-tile skipping"): which weight tiles of a CONV layer the
//! packer found entirely zero and left out of DRAM, so the engine neither fetches, shifts nor
//! streams them.
//!
//! A tile is zero when every weight in it equals its column's weight zero point (`w - zw = 0`
//! for every PE): its column sums are 0 for every input, so leaving it out changes no output.
//! Every o-tile keeps its first k-tile even when it is zero: the accumulator adds the bias on
//! a block's first tile, so an all-zero o-tile still writes `requant(bias)` with no special
//! case in the unit.
//!
//! In DRAM (a layer with `ZERO_SKIP` = 1): the `K_TILES_STORED` kept tiles in plan order, then
//! one mask record per o-tile of `ArchConfig::mask_record_bytes` bytes (whole DMA beats). Bit
//! `t` of a record (byte `t / 8`, bit `t % 8`) is 1 when k-tile `t` of that o-tile is skipped;
//! bit 0 and the bits past the o-tile's k-tile count are 0.

use crate::config::ArchConfig;
use crate::plan::ConvPlan;
use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ZeroMaskError {
    #[error("zero-tile mask: {got} bytes, the layer's {o_tiles} o-tiles need {want}")]
    Length { got: usize, want: usize, o_tiles: usize },
    #[error("zero-tile mask of o-tile {o_tile}: {reason}")]
    Record { o_tile: usize, reason: String },
    #[error("zero-tile mask keeps {kept} tiles, K_TILES_STORED says {stored}")]
    Stored { kept: usize, stored: usize },
    #[error("zero-tile mask: o-tile {o_tile} has {tiles} k-tiles, the engine's mask holds {capacity}")]
    Capacity { o_tile: usize, tiles: usize, capacity: u32 },
}

/// Per o-tile, per k-tile (plan order): `true` when the tile is skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ZeroMask {
    pub o_tiles: Vec<Vec<bool>>,
}

impl ZeroMask {
    /// No tile skipped (the shape of `plan`).
    pub fn dense(plan: &ConvPlan) -> ZeroMask {
        ZeroMask { o_tiles: plan.o_tiles.iter().map(|o| vec![false; o.k_tiles.len()]).collect() }
    }

    /// Tiles stored (not skipped).
    pub fn kept(&self) -> usize {
        self.o_tiles.iter().flatten().filter(|&&z| !z).count()
    }

    /// Tiles skipped.
    pub fn skipped(&self) -> usize {
        self.o_tiles.iter().flatten().filter(|&&z| z).count()
    }

    /// For every tile in plan order, its index among the stored tiles (`None`: skipped).
    pub fn stored_index(&self) -> Vec<Option<usize>> {
        let mut next = 0;
        self.o_tiles
            .iter()
            .flatten()
            .map(|&zero| {
                (!zero).then(|| {
                    next += 1;
                    next - 1
                })
            })
            .collect()
    }

    /// The mask records as the packer writes them after the stored tiles.
    pub fn encode(&self, cfg: &ArchConfig) -> Result<Vec<u8>, ZeroMaskError> {
        let record = cfg.mask_record_bytes() as usize;
        let mut out = vec![0u8; record * self.o_tiles.len()];
        for (o, (tiles, rec)) in self.o_tiles.iter().zip(out.chunks_exact_mut(record.max(1))).enumerate() {
            if tiles.len() > cfg.zero_skip_tiles as usize {
                return Err(ZeroMaskError::Capacity { o_tile: o, tiles: tiles.len(), capacity: cfg.zero_skip_tiles });
            }
            if tiles.first() == Some(&true) {
                return Err(ZeroMaskError::Record { o_tile: o, reason: "the first k-tile is always kept".into() });
            }
            for (t, _) in tiles.iter().enumerate().filter(|(_, &z)| z) {
                rec[t / 8] |= 1 << (t % 8);
            }
        }
        Ok(out)
    }

    /// Reads the records of a layer planned as `plan` back, checking their reserved bits and
    /// the stored-tile count.
    pub fn decode(bytes: &[u8], plan: &ConvPlan, cfg: &ArchConfig, stored: usize) -> Result<ZeroMask, ZeroMaskError> {
        let record = cfg.mask_record_bytes() as usize;
        let want = record * plan.o_tiles.len();
        if bytes.len() != want || record == 0 {
            return Err(ZeroMaskError::Length { got: bytes.len(), want, o_tiles: plan.o_tiles.len() });
        }
        let mut o_tiles = Vec::with_capacity(plan.o_tiles.len());
        for (o, (ot, rec)) in plan.o_tiles.iter().zip(bytes.chunks_exact(record)).enumerate() {
            let n = ot.k_tiles.len();
            if n > cfg.zero_skip_tiles as usize {
                return Err(ZeroMaskError::Capacity { o_tile: o, tiles: n, capacity: cfg.zero_skip_tiles });
            }
            let bit = |t: usize| rec[t / 8] >> (t % 8) & 1 == 1;
            if bit(0) {
                return Err(ZeroMaskError::Record {
                    o_tile: o,
                    reason: "bit 0 set: the first k-tile is always kept".into(),
                });
            }
            if let Some(t) = (n..record * 8).find(|&t| bit(t)) {
                return Err(ZeroMaskError::Record { o_tile: o, reason: format!("bit {t} set beyond its {n} k-tiles") });
            }
            o_tiles.push((0..n).map(bit).collect());
        }
        let mask = ZeroMask { o_tiles };
        if mask.kept() != stored {
            return Err(ZeroMaskError::Stored { kept: mask.kept(), stored });
        }
        Ok(mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{plan_conv, ConvGeometry};

    fn setup() -> (ArchConfig, ConvPlan) {
        let cfg = ArchConfig { zero_skip_tiles: 70, ..ArchConfig::new("t", 4, 4) };
        // K = 256 on 4 rows: 64 k-tiles per o-tile, 3 o-tiles.
        let plan = plan_conv(&ConvGeometry::fully_connected(1, 256, 10), &cfg).unwrap();
        (cfg, plan)
    }

    #[test]
    fn records_round_trip_and_are_whole_beats() {
        let (cfg, plan) = setup();
        assert_eq!(cfg.mask_record_bytes(), 16);
        let mut mask = ZeroMask::dense(&plan);
        mask.o_tiles[0][63] = true;
        mask.o_tiles[2][1] = true;
        mask.o_tiles[2][8] = true;
        let bytes = mask.encode(&cfg).unwrap();
        assert_eq!(bytes.len(), 48);
        // Independent bit positions: byte 7 bit 7; record 2 byte 0 bit 1 and byte 1 bit 0.
        assert_eq!((bytes[7], bytes[32], bytes[33]), (0x80, 0x02, 0x01));
        assert_eq!(ZeroMask::decode(&bytes, &plan, &cfg, 3 * 64 - 3).unwrap(), mask);
        assert_eq!((mask.kept(), mask.skipped()), (189, 3));
        let index = mask.stored_index();
        assert_eq!((index[62], index[63], index[64]), (Some(62), None, Some(63)));
        assert_eq!((index[128], index[129], index[130], index[191]), (Some(127), None, Some(128), Some(188)));
    }

    #[test]
    fn bad_records_are_refused() {
        let (cfg, plan) = setup();
        let mut bytes = ZeroMask::dense(&plan).encode(&cfg).unwrap();
        assert!(matches!(ZeroMask::decode(&bytes, &plan, &cfg, 100), Err(ZeroMaskError::Stored { .. })));
        bytes[16] = 1;
        assert!(matches!(ZeroMask::decode(&bytes, &plan, &cfg, 191), Err(ZeroMaskError::Record { o_tile: 1, .. })));
        bytes[16] = 0;
        bytes[8] = 1;
        assert!(matches!(ZeroMask::decode(&bytes, &plan, &cfg, 191), Err(ZeroMaskError::Record { o_tile: 0, .. })));
        assert!(matches!(ZeroMask::decode(&bytes[1..], &plan, &cfg, 192), Err(ZeroMaskError::Length { .. })));
        let mut first = ZeroMask::dense(&plan);
        first.o_tiles[1][0] = true;
        assert!(first.encode(&cfg).is_err());
        let small = ArchConfig { zero_skip_tiles: 8, ..cfg };
        assert!(matches!(ZeroMask::dense(&plan).encode(&small), Err(ZeroMaskError::Capacity { .. })));
    }
}
