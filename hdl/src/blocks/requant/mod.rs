//! Per-output-channel requantiser: `OutputStage::apply` for one accumulator per cycle.

pub mod model;
pub mod params;
pub mod rtl;
pub mod stimuli;

pub use params::{ChannelParams, ParamError, RequantMode};
pub use rtl::{RequantUnit, LATENCY, WAIVERS};

#[cfg(test)]
mod tests {
    use super::stimuli::{cases, golden};
    use super::*;

    /// The bit-level model agrees with systole-model's golden on the corner and random set.
    #[test]
    fn model_matches_output_stage() {
        let mut checked = 0;
        for (stage, acc) in cases(0x1234, 200_000) {
            let params = ChannelParams::from_stage(&stage, 0).expect("valid stage");
            let want = golden(&stage, acc);
            let got = model::requantize(&params, acc);
            assert_eq!(got, want, "acc {acc} stage {stage:?} params {params:?}");
            checked += 1;
        }
        assert!(checked >= 200_000);
    }

    /// The stimuli exercise the arithmetic, not just the clamp: most results of each mode lie
    /// strictly inside the activation range.
    #[test]
    fn stimuli_reach_unclamped_results() {
        let (mut inside, mut total) = ([0usize; 2], [0usize; 2]);
        for (stage, acc) in cases(7, 20_000) {
            let mode = usize::from(matches!(stage.requant, systole_model::quant::Requant::Float { .. }));
            let y = golden(&stage, acc);
            total[mode] += 1;
            inside[mode] += usize::from(y > stage.act_min && y < stage.act_max);
        }
        for mode in 0..2 {
            assert!(inside[mode] * 3 > total[mode], "mode {mode}: only {} of {} unclamped", inside[mode], total[mode]);
        }
    }
}
