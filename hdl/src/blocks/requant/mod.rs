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
}
