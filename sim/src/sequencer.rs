//! The sequencer's work on one descriptor, shared by every simulated engine: fetch the 256-byte
//! descriptor from DRAM, check it as the RTL does (`arch::timing::seq::sequencer_check`: the
//! RTL's checks in its priority order and their error codes), then decode it and check it against
//! the build (`descriptor::decode`, `check_against_config`: what the units reject, with
//! `DescriptorError::error_code`), and write the layer's performance record (words 60..63) back
//! when the layer completes.

use crate::functional::Dram;
use systole_arch::descriptor::{
    check_against_config, decode, LayerPerf, DESCRIPTOR_BYTES, DESCRIPTOR_WORDS, PERF_WORD,
};
use systole_arch::regmap::ErrorCode;
use systole_arch::timing::seq::{sequencer_check, start_check, EngineUnits};
use systole_arch::{ArchConfig, LayerDescriptor};

/// Why an engine stopped, as `STATUS.ERROR_CODE` says it, plus a cause for logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    pub code: ErrorCode,
    pub reason: String,
}

impl Fault {
    pub fn new(code: ErrorCode, reason: impl Into<String>) -> Fault {
        Fault { code, reason: reason.into() }
    }

    /// A DRAM access outside device memory: the AXI slave answers DECERR.
    pub fn dma(e: impl std::fmt::Display) -> Fault {
        Fault::new(ErrorCode::DmaError, e.to_string())
    }
}

/// Byte address of descriptor `index` of the program at `base`.
pub fn descriptor_addr(base: u64, index: u32) -> Result<u64, Fault> {
    (index as u64)
        .checked_mul(DESCRIPTOR_BYTES as u64)
        .and_then(|o| o.checked_add(base))
        .ok_or_else(|| Fault::dma(format!("descriptor {index} of the program at {base:#x} overflows the address")))
}

/// What START refuses before reading anything (`seq::start_check`): `PROGRAM_BASE` not 64-byte
/// aligned or not below 4 GB, `PROGRAM_COUNT` = 0. STATUS.LAYER is 0.
pub fn check_start(program_base: u64, program_count: u32) -> Result<(), Fault> {
    start_check(program_base, program_count).map_err(|code| {
        Fault::new(code, format!("START with PROGRAM_BASE {program_base:#x}, PROGRAM_COUNT {program_count}"))
    })
}

/// Fetches and checks descriptor `index` of the program at `base`.
pub fn fetch(dram: &Dram, base: u64, index: u32, cfg: &ArchConfig) -> Result<LayerDescriptor, Fault> {
    let addr = descriptor_addr(base, index)?;
    if addr >> 32 != 0 {
        // The sequencer's address counter stops at the top of the 32-bit AXI space.
        return Err(Fault::new(ErrorCode::BadAlignment, format!("descriptor {index} at {addr:#x} is above 4 GB")));
    }
    let words = dram.read_words(addr, DESCRIPTOR_WORDS).map_err(Fault::dma)?;
    sequencer_check(&words, cfg.requant, &EngineUnits::of(cfg)).map_err(|code| {
        // The decoder's message names the field; the code is the sequencer's.
        let reason = decode(&words)
            .and_then(|d| check_against_config(&d, cfg))
            .err()
            .map_or_else(|| code.description().to_string(), |e| e.to_string());
        Fault::new(code, reason)
    })?;
    let d = decode(&words).map_err(|e| Fault::new(e.error_code(), e.to_string()))?;
    check_against_config(&d, cfg).map_err(|e| Fault::new(e.error_code(), e.to_string()))?;
    Ok(d)
}

/// Words 60..63 as `LayerPerf::from_words` reads them: cycles, then DMA stall cycles, each
/// as (low, high) 32-bit halves.
pub fn perf_words(perf: &LayerPerf) -> [u32; 4] {
    let (c, s) = (perf.cycles, perf.dma_stall_cycles);
    [c as u32, (c >> 32) as u32, s as u32, (s >> 32) as u32]
}

/// Writes the performance record of descriptor `index` of the program at `base`.
pub fn write_perf(dram: &mut Dram, base: u64, index: u32, perf: &LayerPerf) -> Result<(), Fault> {
    let addr = descriptor_addr(base, index)? + (PERF_WORD * 4) as u64;
    let bytes: Vec<u8> = perf_words(perf).iter().flat_map(|w| w.to_le_bytes()).collect();
    dram.write(addr, &bytes).map_err(Fault::dma)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perf_words_read_back_as_the_record() {
        let perf = LayerPerf { cycles: 0x1_2345_6789, dma_stall_cycles: 0xdead_beef_0042 };
        let mut words = [0u32; DESCRIPTOR_WORDS];
        words[PERF_WORD..].copy_from_slice(&perf_words(&perf));
        assert_eq!(LayerPerf::from_words(&words), Ok(perf));
    }
}
