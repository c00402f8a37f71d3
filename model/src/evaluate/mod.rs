//! What `systole evaluate` measures on the bit-exact reference: top-1 predictions over a
//! labelled set, and their robustness to input noise and to weight bit flips (soft errors).
//!
//! * `data`: `.npy` batches split into per-sample model inputs, labels.
//! * `metrics`: top-1, accuracy, agreement, spread over trials (pure).
//! * `bitflip`: seeded independent bit flips of the quantized weights.
//! * `noise`: seeded Gaussian input noise in real units.
//!
//! Every random experiment draws from ChaCha8 seeded by [`trial_seed`] of the user's seed, so a
//! report is reproducible from the seed it records.

pub mod bitflip;
pub mod data;
pub mod error;
pub mod metrics;
pub mod noise;

pub use error::{EResult, EvaluateError};
pub use metrics::Spread;

use crate::exec::Executor;
use crate::ir::{Graph, Value};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// Top-1 of output 0 of `g` for every sample (inputs of graph input 0); one executor plan for
/// all of them. `tick` is called once per sample.
pub fn predict(g: &Graph, samples: &[Value], tick: &mut dyn FnMut()) -> EResult<Vec<usize>> {
    let exec = Executor::new(g)?;
    samples.iter().map(|s| predict_one(&exec, s, tick)).collect()
}

fn predict_one(exec: &Executor, sample: &Value, tick: &mut dyn FnMut()) -> EResult<usize> {
    let outs = exec.run(std::slice::from_ref(sample))?;
    tick();
    let g = exec.graph();
    let name = || g.outputs.first().map(|&id| g.tensor(id).name.clone()).unwrap_or_default();
    let out = outs.first().ok_or_else(|| EvaluateError::Output { output: name(), reason: "no output".into() })?;
    metrics::top1(out).ok_or_else(|| EvaluateError::Output { output: name(), reason: "no class scores".into() })
}

/// Accuracy of one experiment level (a noise level or a bit-flip rate) over its trials.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LevelResult {
    /// Noise standard deviation (real input units) or bit-flip probability per bit.
    pub level: f64,
    pub trials: usize,
    pub accuracy: Spread,
    /// Agreement (top-1 equal) with the clean model's predictions.
    pub agreement: Spread,
    /// Bits flipped per trial (bit-flip experiments; 0 for noise).
    pub flipped_bits_mean: f64,
}

/// The seed of trial `trial` of level `level` of experiment `experiment` (SplitMix64 of the
/// combination, so neighbouring trials draw unrelated streams).
pub fn trial_seed(seed: u64, experiment: u64, level: u64, trial: u64) -> u64 {
    let mut z = seed
        ^ experiment.wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ level.wrapping_mul(0xbf58_476d_1ce4_e5b9)
        ^ trial.wrapping_mul(0x94d0_49bb_1331_11eb);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const NOISE: u64 = 1;
const BIT_FLIPS: u64 = 2;

/// The labelled set and the clean model's predictions that experiments compare against.
pub struct Experiment<'a> {
    pub graph: &'a Graph,
    pub samples: &'a [Value],
    pub labels: &'a [i64],
    pub clean: &'a [usize],
    pub trials: usize,
    pub seed: u64,
}

impl Experiment<'_> {
    fn level(&self, level: f64, runs: Vec<(Vec<usize>, u64)>) -> LevelResult {
        let acc: Vec<f64> = runs.iter().map(|(p, _)| metrics::accuracy(p, self.labels)).collect();
        let agr: Vec<f64> = runs.iter().map(|(p, _)| metrics::agreement(p, self.clean)).collect();
        let zero = Spread { mean: 0.0, min: 0.0, max: 0.0 };
        LevelResult {
            level,
            trials: runs.len(),
            accuracy: Spread::of(&acc).unwrap_or(zero),
            agreement: Spread::of(&agr).unwrap_or(zero),
            flipped_bits_mean: runs.iter().map(|(_, f)| *f as f64).sum::<f64>() / runs.len().max(1) as f64,
        }
    }

    /// Accuracy with Gaussian input noise of each standard deviation.
    pub fn noise(&self, stds: &[f64], tick: &mut dyn FnMut()) -> EResult<Vec<LevelResult>> {
        let exec = Executor::new(self.graph)?;
        let g = self.graph;
        let input = g
            .inputs
            .first()
            .map(|&id| g.tensor(id))
            .ok_or_else(|| EvaluateError::Output { output: "input".into(), reason: "the model has no input".into() })?;
        let mut out = Vec::new();
        for (li, &std) in stds.iter().enumerate() {
            let mut runs = Vec::new();
            for trial in 0..self.trials {
                let mut rng = ChaCha8Rng::seed_from_u64(trial_seed(self.seed, NOISE, li as u64, trial as u64));
                let mut preds = Vec::with_capacity(self.samples.len());
                for s in self.samples {
                    let noisy = noise::add_noise(s, input, g.numerics, std, &mut rng)?;
                    preds.push(predict_one(&exec, &noisy, tick)?);
                }
                runs.push((preds, 0));
            }
            out.push(self.level(std, runs));
        }
        Ok(out)
    }

    /// Accuracy with every weight bit flipped independently at each rate (a fresh copy of the
    /// graph per trial).
    pub fn bit_flips(&self, rates: &[f64], tick: &mut dyn FnMut()) -> EResult<Vec<LevelResult>> {
        let mut out = Vec::new();
        for (li, &rate) in rates.iter().enumerate() {
            let mut runs = Vec::new();
            for trial in 0..self.trials {
                let mut g = self.graph.clone();
                let flipped =
                    bitflip::flip_bits(&mut g, rate, trial_seed(self.seed, BIT_FLIPS, li as u64, trial as u64))?;
                runs.push((predict(&g, self.samples, tick)?, flipped));
            }
            out.push(self.level(rate, runs));
        }
        Ok(out)
    }
}
