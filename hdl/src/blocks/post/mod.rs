//! The post-op layer unit (ADD, AVG_POOL, MAX_POOL, GLOBAL_AVG_POOL) with the layer-unit
//! interface of the engine top, and its Verilator co-simulation.
//!
//! | module | job |
//! |---|---|
//! | [`rtl`] | `PostUnit<W, S, WA>`: record fetch, setup, input load, byte-serial compute, packed write |
//! | [`top`] | `PostTop`: the unit on a `blocks::dma::Dma`, as the engine top wires it (the co-simulated design) |
//! | [`cosim`] | C++ harness: DRAM slave with WSTRB, descriptor driver, start -> done cycles |

pub mod cosim;
pub mod rtl;
pub mod top;

pub use rtl::PostUnit;
pub use top::PostTop;

/// `WA` of the unit for an engine: buffers of `2^WA` beats of `dma_data_bits`, the fewest that
/// hold `act_buffer_bytes` (the largest engine-layer input, `ArchConfig`), at least 4 beats.
pub fn buffer_beats_log2(cfg: &systole_arch::ArchConfig) -> usize {
    let beat = (cfg.dma_data_bits / 8).max(1) as u64;
    let beats = (cfg.act_buffer_bytes as u64).div_ceil(beat).max(4);
    beats.next_power_of_two().trailing_zeros() as usize
}

#[cfg(test)]
mod tests {
    use super::buffer_beats_log2;
    use systole_arch::ArchConfig;

    #[test]
    fn buffers_hold_the_activation_buffer() {
        for (bits, bytes) in [(64, 16 * 1024), (64, 16 * 1024 + 1), (512, 3000), (128, 8)] {
            let cfg = ArchConfig { dma_data_bits: bits, act_buffer_bytes: bytes, ..ArchConfig::new("t", 8, 8) };
            let wa = buffer_beats_log2(&cfg);
            let cap = (1u64 << wa) * bits as u64 / 8;
            assert!(cap >= bytes as u64 && (wa == 2 || cap / 2 < bytes as u64), "{bits} {bytes}: 2^{wa} beats");
        }
    }
}
