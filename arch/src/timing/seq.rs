//! The sequencer, exactly: which descriptors it accepts (the checks of `hdl::blocks::seq`, in its
//! priority order) and how many cycles it adds around each layer unit. No rust-hdl here: the
//! cycle model uses these functions; `hdl/tests/top.rs` checks them against the RTL under
//! Verilator (every `TOTAL`/`BUSY` counter and every `LayerPerf` record, zero tolerance).
//!
//! # Cycle contract (edges numbered; "at edge e" = sampled by rising edge e)
//!
//! * START is sampled at edge `s` (the register file's one-cycle `start` pulse): BUSY rises
//!   after `s`; descriptor 0's read command is accepted at `c0 = s + 1`.
//! * A layer whose read command is accepted at edge `c`: the `NB = 256 / beat bytes` beats arrive
//!   by edge `L = c + R` (`R = axi_timing::read_cycles` of the descriptor's transfer); the checks
//!   run in the one cycle after (edge `L + 1` decides); the unit samples its `start` pulse at edge
//!   `L + 2` and the sequencer samples the unit's `done` pulse at `D = L + 2 + U`, where `U` is the
//!   unit's own start-to-done count (edges from the one sampling `start` to the one sampling
//!   `done`). `LayerPerf.cycles = D - c + 1 = R + U + 3`; `LayerPerf.dma_stall_cycles` counts the
//!   edges in `(L + 2, D]` at which the unit's `stall` was high.
//! * The perf record (descriptor words 60..63) is written as whole beats: `P = max(16, beat
//!   bytes)` bytes at `descriptor + 256 - P`, rewriting the identical reserved words and the
//!   checksum word 59 when the beat is wider than 16 bytes. Its command is accepted at `D + 1`,
//!   its last B handshake is at `D + 1 + Wc` (`Wc = axi_timing::write_cycles`), the sequencer sees
//!   the DMA's `done` at `D + 2 + Wc` and accepts the next descriptor's read at `D + 3 + Wc`. So
//!   a layer occupies `R + U + Wc + 5` cycles of BUSY ([`layer_span`]).
//! * END (read accepted at `c`): DONE, BUSY low and the IRQ event at edge `c + R + 1`.
//! * `BUSY_CYCLES` counts the edges after `s` at which BUSY was high: `1 + sum(spans) + R_end + 1`
//!   ([`program_busy_cycles`]). `TOTAL_CYCLES` is free-running (cleared only by reset and
//!   SOFT_RESET), so [`ProgramTiming::total_cycles`](super::ProgramTiming) is defined as the START
//!   to DONE span, which equals the busy cycles.
//! * A failed check stops at edge `L + 1` with STATUS.ERROR, like END but with the error event.

use crate::axi_timing::{read_cycles, write_cycles, BusWidth, DramTiming, TimingError, Transfer};
use crate::config::{ArchConfig, PostOps, RequantModes};
use crate::descriptor::{covered_bits_for, field, Opcode, CHECKSUM_WORD, DESCRIPTOR_BYTES, DESCRIPTOR_MAGIC};
use crate::descriptor::{DESCRIPTOR_VERSION, DESCRIPTOR_WORDS, PERF_WORD};
use crate::regmap::{ErrorCode, DRAM_ALIGN};

/// Bytes of the perf record (words 60..63).
pub const PERF_BYTES: u64 = 16;
/// Edges from the last descriptor beat to the unit sampling `start` (check cycle + start pulse).
pub const CHECK_TO_START: u64 = 2;

/// The layer units a build instantiates (the sequencer reports `Unsupported` for the others).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct EngineUnits {
    /// The CONV unit (`blocks::conv`).
    pub conv: bool,
    /// Post-op units present (ADD, pools); the config's post ops must be a subset.
    pub post: PostOps,
    /// The CONV unit skips zero tiles (FEATURES.ZERO_SKIP); without it the sequencer reads the
    /// descriptor's skipping fields as reserved bits (`descriptor::covered_bits_for`).
    pub zero_skip: bool,
}

impl EngineUnits {
    /// Every unit `cfg` asks for.
    pub fn of(cfg: &ArchConfig) -> EngineUnits {
        EngineUnits { conv: true, post: cfg.post_ops, zero_skip: cfg.zero_skip() }
    }

    /// Whether a layer of `opcode` has a unit (END needs none).
    pub fn runs(&self, opcode: Opcode) -> bool {
        match opcode {
            Opcode::Conv => self.conv,
            Opcode::Add => self.post.add,
            Opcode::AvgPool => self.post.avg_pool,
            Opcode::MaxPool => self.post.max_pool,
            Opcode::GlobalAvgPool => self.post.global_avg_pool,
            Opcode::End => true,
        }
    }
}

/// Descriptor address words (LO, HI) the sequencer checks: 64-byte aligned and below 4 GB (the
/// AXI port has 32 address bits).
pub const ADDRESS_FIELDS: [(crate::descriptor::DescField, crate::descriptor::DescField); 5] = [
    (field::INPUT_ADDR_LO, field::INPUT_ADDR_HI),
    (field::INPUT2_ADDR_LO, field::INPUT2_ADDR_HI),
    (field::OUTPUT_ADDR_LO, field::OUTPUT_ADDR_HI),
    (field::WEIGHT_ADDR_LO, field::WEIGHT_ADDR_HI),
    (field::PARAM_ADDR_LO, field::PARAM_ADDR_HI),
];

/// What the sequencer does with a fetched descriptor: its opcode, or the error code STATUS
/// reports, checking in this order (the RTL's priority): magic, version, opcode, reserved bits,
/// address alignment / range (not for END, which carries no addresses), checksum, then whether
/// the requant mode (`requant`) and the layer's unit (`units`) are present. The checks of
/// `descriptor::decode` the hardware does not repeat (field ranges, geometry) are the units'
/// business (`BadGeometry`).
pub fn sequencer_check(words: &[u32], requant: RequantModes, units: &EngineUnits) -> Result<Opcode, ErrorCode> {
    if words.len() != DESCRIPTOR_WORDS {
        return Err(ErrorCode::BadMagic);
    }
    if words[0] != DESCRIPTOR_MAGIC {
        return Err(ErrorCode::BadMagic);
    }
    if field::VERSION.get(words) != DESCRIPTOR_VERSION {
        return Err(ErrorCode::BadVersion);
    }
    let opcode = Opcode::from_code(field::OPCODE.get(words)).ok_or(ErrorCode::BadOpcode)?;
    let covered = covered_bits_for(units.zero_skip);
    if words.iter().zip(covered.iter()).any(|(w, c)| w & !c != 0) {
        return Err(ErrorCode::ReservedBits);
    }
    if opcode != Opcode::End {
        let bad = ADDRESS_FIELDS
            .iter()
            .any(|(lo, hi)| !(lo.get(words) as u64).is_multiple_of(DRAM_ALIGN) || hi.get(words) != 0);
        if bad {
            return Err(ErrorCode::BadAlignment);
        }
    }
    let sum = words[..=CHECKSUM_WORD].iter().fold(0u32, |s, &w| s.wrapping_add(w));
    if sum != 0 {
        return Err(ErrorCode::BadChecksum);
    }
    let requant_ok = match field::REQUANT.get(words) {
        0 => true,
        1 => requant.fixed,
        2 => requant.float,
        _ => false,
    };
    if !requant_ok || !units.runs(opcode) {
        return Err(ErrorCode::Unsupported);
    }
    Ok(opcode)
}

/// What START itself refuses (STATUS.LAYER = 0, no descriptor read): `PROGRAM_BASE` not 64-byte
/// aligned or not below 4 GB, `PROGRAM_COUNT` = 0.
pub fn start_check(program_base: u64, program_count: u32) -> Result<(), ErrorCode> {
    if !program_base.is_multiple_of(DRAM_ALIGN) || program_base >> 32 != 0 {
        return Err(ErrorCode::BadAlignment);
    }
    if program_count == 0 {
        return Err(ErrorCode::ProgramOverrun);
    }
    Ok(())
}

fn bus(cfg: &ArchConfig) -> Result<BusWidth, TimingError> {
    BusWidth::new(cfg.dma_data_bits)
}

/// The descriptor read at `addr`.
pub fn descriptor_transfer(addr: u64, cfg: &ArchConfig) -> Result<Transfer, TimingError> {
    let b = bus(cfg)?;
    Transfer::new(addr, DESCRIPTOR_BYTES as u64 / b.beat_bytes(), b)
}

/// The perf-record write of the descriptor at `addr`: whole beats covering words 60..63.
pub fn perf_transfer(addr: u64, cfg: &ArchConfig) -> Result<Transfer, TimingError> {
    let b = bus(cfg)?;
    let bytes = PERF_BYTES.max(b.beat_bytes());
    Transfer::new(addr + DESCRIPTOR_BYTES as u64 - bytes, bytes / b.beat_bytes(), b)
}

/// `R`: edges from accepting the descriptor read to its last beat.
pub fn fetch_cycles(addr: u64, cfg: &ArchConfig, dram: &DramTiming) -> Result<u64, TimingError> {
    Ok(read_cycles(&descriptor_transfer(addr, cfg)?, dram))
}

/// `Wc`: edges from accepting the perf write to its last B handshake.
pub fn perf_write_cycles(addr: u64, cfg: &ArchConfig, dram: &DramTiming) -> Result<u64, TimingError> {
    Ok(write_cycles(&perf_transfer(addr, cfg)?, dram))
}

/// `LayerPerf.cycles` of the layer whose descriptor is at `addr` and whose unit takes
/// `unit_cycles` (start sampled to done sampled): `R + U + 3`.
pub fn layer_perf_cycles(addr: u64, unit_cycles: u64, cfg: &ArchConfig, dram: &DramTiming) -> Result<u64, TimingError> {
    Ok(fetch_cycles(addr, cfg, dram)? + CHECK_TO_START + unit_cycles + 1)
}

/// BUSY cycles of one layer, from accepting its descriptor read to accepting the next one's:
/// `R + U + Wc + 5`.
pub fn layer_span(addr: u64, unit_cycles: u64, cfg: &ArchConfig, dram: &DramTiming) -> Result<u64, TimingError> {
    Ok(layer_perf_cycles(addr, unit_cycles, cfg, dram)? + perf_write_cycles(addr, cfg, dram)? + 2)
}

/// BUSY cycles from START to DONE of a run from `program_base` whose layers (before END) take
/// `unit_cycles` each: `1 + sum(spans) + R_end + 1`.
pub fn program_busy_cycles(
    program_base: u64,
    unit_cycles: &[u64],
    cfg: &ArchConfig,
    dram: &DramTiming,
) -> Result<u64, TimingError> {
    let mut total = 1;
    let mut addr = program_base;
    for &u in unit_cycles {
        total += layer_span(addr, u, cfg, dram)?;
        addr += DESCRIPTOR_BYTES as u64;
    }
    Ok(total + fetch_cycles(addr, cfg, dram)? + 1)
}

/// The beats of the perf record write for a descriptor whose words are `words` (as fetched)
/// with `perf` = (cycles, dma stall cycles): what the sequencer writes, little-endian bytes.
pub fn perf_bytes(words: &[u32], perf: (u64, u64), cfg: &ArchConfig) -> Result<Vec<u8>, TimingError> {
    let b = bus(cfg)?;
    let bytes = PERF_BYTES.max(b.beat_bytes()) as usize;
    let first = DESCRIPTOR_WORDS - bytes / 4;
    let mut out = Vec::with_capacity(bytes);
    for w in first..DESCRIPTOR_WORDS {
        let v = match w.checked_sub(PERF_WORD) {
            Some(0) => perf.0 as u32,
            Some(1) => (perf.0 >> 32) as u32,
            Some(2) => perf.1 as u32,
            Some(3) => (perf.1 >> 32) as u32,
            _ => words.get(w).copied().unwrap_or(0),
        };
        out.extend_from_slice(&v.to_le_bytes());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::descriptor::{encode, LayerDescriptor};

    fn cfg(bits: u32) -> ArchConfig {
        ArchConfig { dma_data_bits: bits, ..ArchConfig::new("t", 4, 4) }
    }

    #[test]
    fn check_order_and_codes() {
        let units = EngineUnits::default();
        let fixed = RequantModes { fixed: true, float: false };
        let end = encode(&LayerDescriptor::end(3));
        assert_eq!(sequencer_check(&end, fixed, &units), Ok(Opcode::End));
        let mut w = end;
        w[0] ^= 1;
        assert_eq!(sequencer_check(&w, fixed, &units), Err(ErrorCode::BadMagic));
        let mut w = end;
        w[1] += 1;
        assert_eq!(sequencer_check(&w, fixed, &units), Err(ErrorCode::BadVersion));
        let mut w = end;
        w[1] = field::OPCODE.mask() & (7 << 8) | 1;
        assert_eq!(sequencer_check(&w, fixed, &units), Err(ErrorCode::BadOpcode));
        let mut w = end;
        w[40] = 1;
        assert_eq!(sequencer_check(&w, fixed, &units), Err(ErrorCode::ReservedBits));
        let mut w = end;
        w[59] ^= 4;
        assert_eq!(sequencer_check(&w, fixed, &units), Err(ErrorCode::BadChecksum));
        // Perf words are not checked (the engine writes them).
        let mut w = end;
        w[61] = 0xdead_beef;
        assert_eq!(sequencer_check(&w, fixed, &units), Ok(Opcode::End));
        let mut w = end;
        w[1] = (w[1] & !field::OPCODE.mask()) | ((Opcode::Add as u32) << 8);
        w[59] = w[59].wrapping_sub(((Opcode::Add as u32) << 8).wrapping_sub((Opcode::End as u32) << 8));
        assert_eq!(sequencer_check(&w, fixed, &units), Err(ErrorCode::Unsupported));
        let with_add = EngineUnits { post: PostOps { add: true, ..PostOps::default() }, ..units };
        assert_eq!(sequencer_check(&w, fixed, &with_add), Ok(Opcode::Add));
        // A misaligned address outranks the checksum.
        w[18] = 8;
        assert_eq!(sequencer_check(&w, fixed, &with_add), Err(ErrorCode::BadAlignment));
    }

    #[test]
    fn start_checks() {
        assert_eq!(start_check(0x40, 1), Ok(()));
        assert_eq!(start_check(0x20, 1), Err(ErrorCode::BadAlignment));
        assert_eq!(start_check(1 << 32, 1), Err(ErrorCode::BadAlignment));
        assert_eq!(start_check(0, 0), Err(ErrorCode::ProgramOverrun));
    }

    #[test]
    fn spans_follow_the_dma_formulas() {
        let dram = DramTiming::new(5, 1).unwrap();
        // 64-bit: 32 beats in one burst (no 4 KB crossing at 0): 6 + 31 + 1 = 38.
        assert_eq!(fetch_cycles(0, &cfg(64), &dram).unwrap(), 38);
        // Perf record: 2 beats of 8 bytes, one burst: 7 + 1 = 8.
        assert_eq!(perf_write_cycles(0, &cfg(64), &dram).unwrap(), 8);
        assert_eq!(layer_perf_cycles(0, 10, &cfg(64), &dram).unwrap(), 38 + 10 + 3);
        assert_eq!(layer_span(0, 10, &cfg(64), &dram).unwrap(), 38 + 10 + 8 + 5);
        // END only: 1 + R + 1.
        assert_eq!(program_busy_cycles(0, &[], &cfg(64), &dram).unwrap(), 40);
        // A descriptor straddling 4 KB is two bursts.
        assert_eq!(fetch_cycles(4096 - 64, &cfg(64), &dram).unwrap(), 2 * 6 + 30 + 1);
        assert_eq!(perf_transfer(0x100, &cfg(512)).unwrap().addr, 0x100 + 192);
    }

    #[test]
    fn perf_beats_keep_the_checksum() {
        let words = encode(&LayerDescriptor::end(0));
        let b = perf_bytes(&words, (0x1_0000_0002, 3), &cfg(256)).unwrap();
        assert_eq!(b.len(), 32);
        assert_eq!(&b[12..16], &words[59].to_le_bytes());
        assert_eq!(&b[16..24], &0x1_0000_0002u64.to_le_bytes());
        assert_eq!(perf_bytes(&words, (1, 2), &cfg(64)).unwrap().len(), 16);
    }
}
