//! `ArchConfig`: the shape of one generated engine (`arch.json`).
//!
//! The hardware generator, the cycle model and the host driver all read this one struct. The
//! bitstream exposes [`ArchConfig::config_hash`] in the `CONFIG_HASH` register so the driver can
//! refuse an image built for another configuration.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Version of the architecture definition: the config encoding, the register map and the
/// descriptor format together. Bump it with any incompatible change to one of them; it is part
/// of the config hash and readable in the `VERSION` register.
pub const ARCH_VERSION: u32 = 1;

/// DMA data widths the AXI4 master supports (bits).
pub const DMA_DATA_BITS: [u32; 4] = [64, 128, 256, 512];

/// Largest array side: k-tile and o-tile indices are 16-bit in the descriptor, and no FPGA we
/// target holds more than 256 x 256 PEs.
pub const MAX_ARRAY_SIDE: u32 = 256;

/// Largest model name (it becomes a C identifier prefix and a file name).
pub const MAX_NAME_LEN: usize = 64;

/// Requantisation modes the engine's requant lanes implement.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequantModes {
    /// TFLite fixed point (multiplier + shift, double rounding).
    pub fixed: bool,
    /// onnxruntime float32 scale, round half to even.
    pub float: bool,
}

/// Post-op units present after the requant lanes (ENGINE.md block diagram).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostOps {
    pub add: bool,
    pub avg_pool: bool,
    pub max_pool: bool,
    pub global_avg_pool: bool,
}

/// Bits of the `FEATURES` register and of the canonical encoding.
pub mod feature {
    pub const REQUANT_FIXED: u32 = 1 << 0;
    pub const REQUANT_FLOAT: u32 = 1 << 1;
    pub const POST_ADD: u32 = 1 << 8;
    pub const POST_AVG_POOL: u32 = 1 << 9;
    pub const POST_MAX_POOL: u32 = 1 << 10;
    pub const POST_GLOBAL_AVG_POOL: u32 = 1 << 11;
    /// Weights are stored and fetched as 4-bit values, two per byte (`weight_bits` = 4).
    pub const WEIGHTS_INT4: u32 = 1 << 16;
    /// The CONV unit skips weight tiles the packer marked entirely zero (`zero_skip_tiles` > 0).
    pub const ZERO_SKIP: u32 = 1 << 17;
}

/// Most k-tiles per o-tile a zero-tile mask can describe (the mask record of one o-tile is at
/// most 512 bytes).
pub const MAX_ZERO_SKIP_TILES: u32 = 4096;

/// Weight widths the engine can be built for.
pub const WEIGHT_BITS: [u32; 2] = [8, 4];

fn default_weight_bits() -> u32 {
    8
}

fn is_default_weight_bits(v: &u32) -> bool {
    *v == 8
}

/// The configuration of one generated engine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchConfig {
    /// Must equal [`ARCH_VERSION`]; stops an old `arch.json` from being read as a new one.
    pub version: u32,
    /// Model (or design) name: a C identifier, used for `<name>_regs.h` and the RTL top name.
    pub name: String,
    /// R: array rows = reduction indices per k-tile = activation buffer byte banks.
    pub rows: u32,
    /// C: array columns = output channels per o-tile = requant lanes.
    pub cols: u32,
    /// Accumulator width in the PEs and the psum buffer.
    pub acc_bits: u32,
    /// AXI4 master data width, one of [`DMA_DATA_BITS`].
    pub dma_data_bits: u32,
    /// Activation buffer size in bytes, split evenly over the R byte banks.
    pub act_buffer_bytes: u32,
    /// Weight tiles (R x C bytes each) the weight buffer holds: 2 = double buffering.
    pub weight_buffer_tiles: u32,
    /// PB: psum buffer depth in pixels (pixels per block of the loop nest).
    pub psum_depth: u32,
    /// Output channels of bias/requant parameters held on chip (>= C; 2C prefetches the next
    /// o-tile's parameters).
    pub param_buffer_channels: u32,
    pub requant: RequantModes,
    pub post_ops: PostOps,
    /// The last this-many array rows build their multipliers from LUTs instead of DSPs (for
    /// arrays larger than the part's DSP count). An implementation choice with no effect on
    /// values, cycles, registers or descriptors, so it is not part of the config hash; absent
    /// from `arch.json` when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub fabric_pe_rows: u32,
    /// Stored weight width: 8 (one weight per byte) or 4 (two per byte, low nibble first; the
    /// weight DMA moves half the bytes). Absent in `arch.json` = 8. Hashed through
    /// [`feature::WEIGHTS_INT4`], so 8-bit configurations keep their hash.
    #[serde(default = "default_weight_bits", skip_serializing_if = "is_default_weight_bits")]
    pub weight_bits: u32,
    /// Zero-tile skipping (ENGINE.md "Zero-tile skipping"): the most k-tiles per o-tile the
    /// unit's mask register holds; 0 = no skipping (absent from `arch.json`). Hashed (with
    /// [`feature::ZERO_SKIP`]) only when non-zero, so engines without it keep their hash.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub zero_skip_tiles: u32,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ConfigError {
    #[error("arch.json version {found}, this toolchain reads version {ARCH_VERSION}; regenerate the configuration")]
    Version { found: u32 },
    #[error("name {name:?} is not a C identifier of at most {MAX_NAME_LEN} characters ([A-Za-z_][A-Za-z0-9_]*)")]
    Name { name: String },
    #[error("{field} = {value} is out of range: {reason}")]
    Range { field: &'static str, value: u64, reason: &'static str },
    #[error("no requantisation mode is enabled: the engine needs fixed, float or both")]
    NoRequantMode,
    #[error("arch.json is not valid: {0}")]
    Json(String),
}

fn range(field: &'static str, value: u32, ok: bool, reason: &'static str) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError::Range { field, value: value as u64, reason })
    }
}

/// FNV-1a, 32-bit: tiny, specified in a few lines, and easy to reproduce in C or a test bench.
pub fn fnv1a32(bytes: &[u8]) -> u32 {
    const OFFSET_BASIS: u32 = 0x811c_9dc5;
    const PRIME: u32 = 0x0100_0193;
    bytes.iter().fold(OFFSET_BASIS, |h, &b| (h ^ b as u32).wrapping_mul(PRIME))
}

impl ArchConfig {
    /// A configuration with the defaults the sizing starts from, for an R x C array.
    pub fn new(name: impl Into<String>, rows: u32, cols: u32) -> Self {
        ArchConfig {
            version: ARCH_VERSION,
            name: name.into(),
            rows,
            cols,
            acc_bits: 32,
            dma_data_bits: 64,
            act_buffer_bytes: rows * 1024,
            weight_buffer_tiles: 2,
            psum_depth: 256,
            param_buffer_channels: 2 * cols,
            requant: RequantModes { fixed: true, float: false },
            post_ops: PostOps::default(),
            fabric_pe_rows: 0,
            weight_bits: 8,
            zero_skip_tiles: 0,
        }
    }

    /// Checks every field; the generator, the cycle model and the driver only accept validated
    /// configurations.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.version != ARCH_VERSION {
            return Err(ConfigError::Version { found: self.version });
        }
        if !is_c_identifier(&self.name) {
            return Err(ConfigError::Name { name: self.name.clone() });
        }
        let side = |v: u32| (1..=MAX_ARRAY_SIDE).contains(&v);
        range("rows", self.rows, side(self.rows), "1..=256")?;
        range("cols", self.cols, side(self.cols), "1..=256")?;
        // A 9 x 9-bit signed product needs 18 bits with its sign; 64 is the widest accumulator
        // the requant lanes take.
        range("acc_bits", self.acc_bits, (18..=64).contains(&self.acc_bits), "18..=64")?;
        range("dma_data_bits", self.dma_data_bits, DMA_DATA_BITS.contains(&self.dma_data_bits), "64, 128, 256 or 512")?;
        range(
            "act_buffer_bytes",
            self.act_buffer_bytes,
            self.act_buffer_bytes >= self.rows && self.act_buffer_bytes.is_multiple_of(self.rows),
            "a non-zero multiple of rows (R equal byte banks)",
        )?;
        range(
            "act_buffer_bytes",
            self.act_buffer_bytes,
            self.act_buffer_bytes <= 1 << 28,
            "at most 256 MiB (28-bit buffer addresses)",
        )?;
        range(
            "weight_buffer_tiles",
            self.weight_buffer_tiles,
            (1..=2).contains(&self.weight_buffer_tiles),
            "1 (no prefetch) or 2 (double buffer)",
        )?;
        range("psum_depth", self.psum_depth, (1..=1 << 20).contains(&self.psum_depth), "1..=1048576")?;
        range(
            "param_buffer_channels",
            self.param_buffer_channels,
            self.param_buffer_channels >= self.cols && self.param_buffer_channels <= 65536,
            "cols..=65536 (one o-tile's channels at least)",
        )?;
        range(
            "fabric_pe_rows",
            self.fabric_pe_rows,
            self.fabric_pe_rows <= self.rows,
            "at most rows (the array's last rows are fabric PEs)",
        )?;
        range("weight_bits", self.weight_bits, WEIGHT_BITS.contains(&self.weight_bits), "8 or 4")?;
        range(
            "weight_bits",
            self.weight_bits,
            self.weight_bits == 8 || (self.rows * self.cols).is_multiple_of(2),
            "4-bit weights need an even rows x cols (whole bytes per tile)",
        )?;
        range(
            "zero_skip_tiles",
            self.zero_skip_tiles,
            self.zero_skip_tiles <= MAX_ZERO_SKIP_TILES,
            "0 (no zero-tile skipping) ..= 4096 k-tiles per o-tile",
        )?;
        if !self.requant.fixed && !self.requant.float {
            return Err(ConfigError::NoRequantMode);
        }
        Ok(())
    }

    /// Parses and validates `arch.json` text.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let cfg: ArchConfig = serde_json::from_str(text).map_err(|e| ConfigError::Json(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Pretty `arch.json` text (validation is the caller's business: this never fails for a
    /// struct of plain numbers and strings).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Feature bits ([`feature`]): requant modes and post-op units present.
    pub fn features(&self) -> u32 {
        let bit = |on: bool, b: u32| if on { b } else { 0 };
        bit(self.requant.fixed, feature::REQUANT_FIXED)
            | bit(self.requant.float, feature::REQUANT_FLOAT)
            | bit(self.post_ops.add, feature::POST_ADD)
            | bit(self.post_ops.avg_pool, feature::POST_AVG_POOL)
            | bit(self.post_ops.max_pool, feature::POST_MAX_POOL)
            | bit(self.post_ops.global_avg_pool, feature::POST_GLOBAL_AVG_POOL)
            | bit(self.weight_bits == 4, feature::WEIGHTS_INT4)
            | bit(self.zero_skip_tiles > 0, feature::ZERO_SKIP)
    }

    /// True when the CONV unit skips tiles the packer marked zero.
    pub fn zero_skip(&self) -> bool {
        self.zero_skip_tiles > 0
    }

    /// Bytes of one o-tile's zero-tile mask record: one bit per k-tile (`zero_skip_tiles` of
    /// them), rounded up to whole DMA beats so every record is one aligned burst; 0 without
    /// skipping.
    pub fn mask_record_bytes(&self) -> u64 {
        let beat = self.dma_bytes().max(1) as u64;
        (self.zero_skip_tiles as u64).div_ceil(8).div_ceil(beat) * beat
    }

    /// True when weights are stored two per byte.
    pub fn int4_weights(&self) -> bool {
        self.weight_bits == 4
    }

    /// Bytes of one R x C weight tile in DRAM and in the weight buffer.
    pub fn weight_tile_bytes(&self) -> u64 {
        (self.rows as u64 * self.cols as u64 * self.weight_bits as u64).div_ceil(8)
    }

    /// The canonical encoding the hash is computed over: 11 little-endian u32 words, in this
    /// order: `ARCH_VERSION, rows, cols, acc_bits, dma_data_bits, act_buffer_bytes,
    /// weight_buffer_tiles, psum_depth, param_buffer_channels, features(), 0x5359_5354`; an
    /// engine with zero-tile skipping has a 12th word, `zero_skip_tiles`, before the magic.
    ///
    /// The name is not hashed: two models sized to the same hardware can share a bitstream. The
    /// trailing magic ("SYST") keeps an all-zero config from hashing to a value a blank register
    /// could plausibly hold. Not JSON text: field order and number formatting there are not ours.
    pub fn canonical_words(&self) -> Vec<u32> {
        let mut words = vec![
            ARCH_VERSION,
            self.rows,
            self.cols,
            self.acc_bits,
            self.dma_data_bits,
            self.act_buffer_bytes,
            self.weight_buffer_tiles,
            self.psum_depth,
            self.param_buffer_channels,
            self.features(),
        ];
        if self.zero_skip() {
            words.push(self.zero_skip_tiles);
        }
        words.push(0x5359_5354);
        words
    }

    /// FNV-1a 32 over the little-endian bytes of [`Self::canonical_words`].
    pub fn config_hash(&self) -> u32 {
        let bytes: Vec<u8> = self.canonical_words().iter().flat_map(|w| w.to_le_bytes()).collect();
        fnv1a32(&bytes)
    }

    /// Bytes each of the R activation-buffer banks holds.
    pub fn act_bank_bytes(&self) -> u32 {
        self.act_buffer_bytes / self.rows.max(1)
    }

    /// Bytes the DMA moves per beat.
    pub fn dma_bytes(&self) -> u32 {
        self.dma_data_bits / 8
    }
}

/// True for `[A-Za-z_][A-Za-z0-9_]*` of at most [`MAX_NAME_LEN`] characters.
pub fn is_c_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    first_ok && s.len() <= MAX_NAME_LEN && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Turns any model name into a valid config name: other characters become `_`, a leading digit
/// gets an `m_` prefix, long names are cut.
pub fn sanitize_name(s: &str) -> String {
    let mut out: String = s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if !out.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') {
        out.insert_str(0, "m_");
    }
    out.truncate(MAX_NAME_LEN);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ArchConfig {
        ArchConfig::new("resnet_tiny", 16, 16)
    }

    #[test]
    fn default_config_is_valid_and_round_trips_through_json() {
        let c = cfg();
        c.validate().unwrap();
        let back = ArchConfig::from_json(&c.to_json()).unwrap();
        assert_eq!(back, c);
        assert_eq!(back.config_hash(), c.config_hash());
    }

    #[test]
    fn fnv1a_matches_published_vectors() {
        // Test vectors of the FNV reference (http://www.isthe.com/chongo/tech/comp/fnv/).
        assert_eq!(fnv1a32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a32(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a32(b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn hash_is_pinned_and_sensitive_to_every_hardware_field() {
        let c = cfg();
        // Pinned: a change here breaks every bitstream in the field; bump ARCH_VERSION instead.
        // The value was computed independently (Python, FNV-1a over the 44 little-endian bytes).
        assert_eq!(c.canonical_words(), [1, 16, 16, 32, 64, 16384, 2, 256, 32, 1, 0x5359_5354]);
        assert_eq!(c.config_hash(), 0x29c3_f58d);
        let base = c.config_hash();
        let variants: Vec<ArchConfig> = vec![
            ArchConfig { rows: 8, act_buffer_bytes: 8 * 1024, ..c.clone() },
            ArchConfig { cols: 8, ..c.clone() },
            ArchConfig { acc_bits: 33, ..c.clone() },
            ArchConfig { dma_data_bits: 128, ..c.clone() },
            ArchConfig { act_buffer_bytes: 32 * 1024, ..c.clone() },
            ArchConfig { weight_buffer_tiles: 1, ..c.clone() },
            ArchConfig { psum_depth: 512, ..c.clone() },
            ArchConfig { param_buffer_channels: 16, ..c.clone() },
            ArchConfig { requant: RequantModes { fixed: true, float: true }, ..c.clone() },
            ArchConfig { post_ops: PostOps { add: true, ..PostOps::default() }, ..c.clone() },
            ArchConfig { weight_bits: 4, ..c.clone() },
            ArchConfig { zero_skip_tiles: 64, ..c.clone() },
            ArchConfig { zero_skip_tiles: 128, ..c.clone() },
        ];
        for v in &variants {
            v.validate().unwrap();
            assert_ne!(v.config_hash(), base, "{v:?}");
        }
        let renamed = ArchConfig { name: "other".into(), ..c.clone() };
        assert_eq!(renamed.config_hash(), base, "the name is not hardware");
    }

    #[test]
    fn invalid_fields_give_typed_errors() {
        let c = cfg();
        let err = |c: ArchConfig| c.validate().unwrap_err();
        assert_eq!(err(ArchConfig { version: 0, ..c.clone() }), ConfigError::Version { found: 0 });
        assert!(matches!(err(ArchConfig { name: "9lives".into(), ..c.clone() }), ConfigError::Name { .. }));
        assert!(matches!(err(ArchConfig { name: "a-b".into(), ..c.clone() }), ConfigError::Name { .. }));
        assert!(matches!(err(ArchConfig { rows: 0, ..c.clone() }), ConfigError::Range { field: "rows", .. }));
        assert!(matches!(err(ArchConfig { cols: 300, ..c.clone() }), ConfigError::Range { field: "cols", .. }));
        assert!(matches!(err(ArchConfig { acc_bits: 16, ..c.clone() }), ConfigError::Range { field: "acc_bits", .. }));
        assert!(matches!(
            err(ArchConfig { dma_data_bits: 96, ..c.clone() }),
            ConfigError::Range { field: "dma_data_bits", .. }
        ));
        assert!(matches!(
            err(ArchConfig { act_buffer_bytes: 1000, ..c.clone() }),
            ConfigError::Range { field: "act_buffer_bytes", .. }
        ));
        assert!(matches!(
            err(ArchConfig { weight_buffer_tiles: 3, ..c.clone() }),
            ConfigError::Range { field: "weight_buffer_tiles", .. }
        ));
        assert!(matches!(
            err(ArchConfig { weight_bits: 2, ..c.clone() }),
            ConfigError::Range { field: "weight_bits", .. }
        ));
        assert!(matches!(
            err(ArchConfig {
                rows: 3,
                cols: 5,
                act_buffer_bytes: 3 * 1024,
                param_buffer_channels: 10,
                weight_bits: 4,
                ..c.clone()
            }),
            ConfigError::Range { field: "weight_bits", .. }
        ));
        assert!(matches!(
            err(ArchConfig { psum_depth: 0, ..c.clone() }),
            ConfigError::Range { field: "psum_depth", .. }
        ));
        assert!(matches!(
            err(ArchConfig { param_buffer_channels: 8, ..c.clone() }),
            ConfigError::Range { field: "param_buffer_channels", .. }
        ));
        assert_eq!(err(ArchConfig { requant: RequantModes::default(), ..c.clone() }), ConfigError::NoRequantMode);
        let msg = err(ArchConfig { rows: 0, ..c }).to_string();
        assert!(msg.contains("rows = 0"), "{msg}");
    }

    #[test]
    fn json_errors_are_reported_not_panicked() {
        assert!(matches!(ArchConfig::from_json("{"), Err(ConfigError::Json(_))));
        let mut v: serde_json::Value = serde_json::from_str(&cfg().to_json()).unwrap();
        v["rowz"] = 3.into();
        let e = ArchConfig::from_json(&v.to_string()).unwrap_err();
        assert!(e.to_string().contains("rowz"), "{e}");
    }

    #[test]
    fn names_are_sanitised_to_identifiers() {
        assert_eq!(sanitize_name("vww_96_int8"), "vww_96_int8");
        assert_eq!(sanitize_name("mobilenet-v1.0"), "mobilenet_v1_0");
        assert_eq!(sanitize_name("3dnet"), "m_3dnet");
        assert!(is_c_identifier(&sanitize_name(&"x".repeat(200))));
        assert!(is_c_identifier(&sanitize_name("")));
    }
}
