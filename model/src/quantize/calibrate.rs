//! Activation ranges from calibration data, as onnxruntime's calibrators compute them
//! (`onnxruntime/quantization/calibrate.py`, defaults of `quantize_static`):
//!
//! * `MinMax`: per tensor, the minimum of the per-sample minima and the maximum of the maxima.
//! * `Percentile` (symmetric, 2048 bins, 99.999 %): a histogram of |x| over all samples between
//!   min |x| and max |x|; the threshold is the bin edge where the cumulative share first reaches
//!   the percentile; range (-t, t), clipped to the observed (min, max).
//! * `Entropy` (128 bins, 128 quantized bins): a histogram of x over [-m, m] (m = max |x|);
//!   the threshold pair minimising the KL divergence between the clipped reference distribution
//!   and its quantized expansion; clipped to (min, max).
//!
//! Histograms reproduce `numpy.histogram` on float32 data (float32 bin edges from `linspace`,
//! the index computation and its edge corrections), so the thresholds are the same bin edges.

use super::error::{QResult, QuantizeError};
use super::exec::{self, FTensor};
use super::graph::FloatGraph;
use std::collections::HashMap;

/// Calibration method (`CalibrationMethod` of onnxruntime).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    MinMax,
    Percentile,
    Entropy,
}

impl std::str::FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "minmax" => Ok(Method::MinMax),
            "percentile" => Ok(Method::Percentile),
            "entropy" => Ok(Method::Entropy),
            other => Err(format!("unknown calibration method '{other}' (minmax, percentile, entropy)")),
        }
    }
}

/// Calibrated (min, max) of every activation tensor.
pub type Ranges = HashMap<String, (f32, f32)>;

/// Runs every sample (one `FTensor` per graph input) through the float graph and derives ranges.
pub fn calibrate(g: &FloatGraph, samples: &[Vec<FTensor>], method: Method) -> QResult<Ranges> {
    if samples.is_empty() {
        return Err(QuantizeError::Option("the calibration data holds no sample".into()));
    }
    // Per tensor: every sample's values (histograms) or running extremes (minmax).
    let mut minmax: HashMap<String, (f32, f32)> = HashMap::new();
    let mut all: HashMap<String, Vec<f32>> = HashMap::new();
    for (s, inputs) in samples.iter().enumerate() {
        let mut failure = None;
        let mut observe = |name: &str, t: &FTensor| {
            if failure.is_some() {
                return;
            }
            if let Some(&bad) = t.data.iter().find(|v| !v.is_finite()) {
                failure = Some(QuantizeError::NonFiniteTensor { tensor: name.to_string(), sample: s, value: bad });
                return;
            }
            let lo = t.data.iter().copied().fold(f32::INFINITY, f32::min);
            let hi = t.data.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let e = minmax.entry(name.to_string()).or_insert((lo, hi));
            *e = (e.0.min(lo), e.1.max(hi));
            if method != Method::MinMax {
                all.entry(name.to_string()).or_default().extend_from_slice(&t.data);
            }
        };
        exec::run(g, inputs, &mut observe)?;
        if let Some(e) = failure {
            return Err(e);
        }
    }
    Ok(match method {
        Method::MinMax => minmax,
        Method::Percentile => all.iter().map(|(k, v)| (k.clone(), percentile_range(v, 2048, 99.999))).collect(),
        Method::Entropy => all.iter().map(|(k, v)| (k.clone(), entropy_range(v, 128, 128))).collect(),
    })
}

/// `numpy.histogram(data, bins, range=(first, last))` for float32 data: counts and edges.
fn histogram(data: &[f32], bins: usize, mut first: f32, mut last: f32) -> (Vec<u64>, Vec<f32>) {
    if first == last {
        first -= 0.5;
        last += 0.5;
    }
    // np.linspace(first, last, bins + 1, dtype=float32): float32 arithmetic, exact last edge.
    let step = (last - first) / bins as f32;
    let mut edges: Vec<f32> = (0..=bins).map(|i| i as f32 * step + first).collect();
    edges[bins] = last;
    let denom = last - first;
    let mut hist = vec![0u64; bins];
    for &v in data {
        if !(v >= first && v <= last) {
            continue;
        }
        let f = (v - first) / denom * bins as f32;
        let mut idx = (f as usize).min(bins - 1);
        if v < edges[idx] {
            idx = idx.saturating_sub(1);
        }
        if idx + 1 < bins && v >= edges[idx + 1] {
            idx += 1;
        }
        hist[idx] += 1;
    }
    (hist, edges)
}

fn min_max(data: &[f32]) -> (f32, f32) {
    let lo = data.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = data.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    (lo, hi)
}

/// `HistogramCollector.collect_absolute_value` + `compute_percentile` with `symmetric=True`.
pub fn percentile_range(data: &[f32], bins: usize, percentile: f64) -> (f32, f32) {
    let (min_value, max_value) = min_max(data);
    let abs: Vec<f32> = data.iter().map(|v| v.abs()).collect();
    let (lo, hi) = min_max(&abs);
    let (hist, edges) = histogram(&abs, bins, lo, hi);
    let total: u64 = hist.iter().sum();
    let target = percentile / 100.0;
    let mut cdf = 0f64;
    let mut idx = hist.len();
    for (i, &h) in hist.iter().enumerate() {
        cdf += h as f64 / total as f64;
        if cdf >= target {
            idx = i;
            break;
        }
    }
    let t = edges[idx.min(edges.len() - 1)];
    let mut range = (-t, t);
    if range.0 < min_value {
        range.0 = min_value;
    }
    if range.1 > max_value {
        range.1 = max_value;
    }
    range
}

/// `HistogramCollector.collect_value` + `get_entropy_threshold`.
pub fn entropy_range(data: &[f32], bins: usize, quantized_bins: usize) -> (f32, f32) {
    let (min_value, max_value) = min_max(data);
    let threshold = min_value.abs().max(max_value.abs());
    let (hist, edges) = histogram(data, bins, -threshold, threshold);
    let num_bins = hist.len();
    let zero_bin = num_bins / 2;
    let half_q = quantized_bins / 2;
    let mut best: Option<(f32, (f32, f32))> = None;
    for i in half_q..=zero_bin {
        let start = zero_bin - i;
        let end = (zero_bin + i + 1).min(num_bins);
        let thresholds = (edges[start], edges[end]);
        let sliced = &hist[start..end];
        let mut p: Vec<u64> = sliced.to_vec();
        let left: u64 = hist[..start].iter().sum();
        let right: u64 = hist[end..].iter().sum();
        p[0] += left;
        if let Some(last) = p.last_mut() {
            *last += right;
        }
        let merged = sliced.len() / quantized_bins;
        let mut qb = vec![0u64; quantized_bins];
        for (index, q) in qb.iter_mut().enumerate() {
            *q = sliced[index * merged..(index + 1) * merged].iter().sum();
        }
        if let Some(last) = qb.last_mut() {
            *last += sliced[quantized_bins * merged..].iter().sum::<u64>();
        }
        let mut q = vec![0i64; p.len()];
        for (index, &count) in qb.iter().enumerate() {
            let (s, e) = (index * merged, (index + 1) * merged);
            let norm = p[s..e].iter().filter(|&&v| v != 0).count() as u64;
            if norm != 0 {
                // numpy assigns a float quotient into an int64 array: truncation.
                let v = (count as f64 / norm as f64) as i64;
                q[s..e].iter_mut().for_each(|x| *x = v);
            }
        }
        let pf = smooth(&p.iter().map(|&v| v as f32).collect::<Vec<_>>());
        let qf = smooth(&q.iter().map(|&v| v as f32).collect::<Vec<_>>());
        let div = match (pf, qf) {
            (Some(pf), Some(qf)) => kl_divergence(&pf, &qf),
            _ => f32::INFINITY,
        };
        // np.argmin: the first minimum wins.
        let better = match best {
            None => true,
            Some((d, _)) => div < d,
        };
        if better {
            best = Some((div, thresholds));
        }
    }
    let (mut lo, mut hi) = best.map_or((min_value, max_value), |(_, t)| t);
    if lo < min_value {
        lo = min_value;
    }
    if hi > max_value {
        hi = max_value;
    }
    (lo, hi)
}

/// `quant_utils.smooth_distribution` (eps = 1e-4), float32.
fn smooth(p: &[f32]) -> Option<Vec<f32>> {
    let eps = 0.0001f32;
    let zeros = p.iter().filter(|&&v| v == 0.0).count();
    let nonzeros = p.len() - zeros;
    if nonzeros == 0 {
        return None;
    }
    let eps1 = (0.0001f64 * zeros as f64 / nonzeros as f64) as f32;
    Some(p.iter().map(|&v| if v == 0.0 { v + eps } else { v - eps1 }).collect())
}

/// `calibrate.entropy(p, q)`: both normalised, sum of p * ln(p / q), float32.
fn kl_divergence(p: &[f32], q: &[f32]) -> f32 {
    let sp: f32 = p.iter().sum();
    let sq: f32 = q.iter().sum();
    p.iter()
        .zip(q)
        .map(|(&a, &b)| {
            let (a, b) = (a / sp, b / sq);
            if a == 0.0 && b >= 0.0 {
                0.0
            } else if a > 0.0 && b > 0.0 {
                a * (a / b).ln()
            } else {
                f32::INFINITY
            }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_matches_numpy_on_edges() {
        // np.histogram([0, 1, 2, 3, 4], bins=4) -> [1, 1, 1, 2], edges [0, 1, 2, 3, 4]
        let (h, e) = histogram(&[0.0, 1.0, 2.0, 3.0, 4.0], 4, 0.0, 4.0);
        assert_eq!(h, vec![1, 1, 1, 2]);
        assert_eq!(e, vec![0.0, 1.0, 2.0, 3.0, 4.0]);
        // One distinct value: numpy widens the range by 0.5 on each side.
        let (h, e) = histogram(&[2.0, 2.0], 2, 2.0, 2.0);
        assert_eq!(h, vec![0, 2]);
        assert_eq!(e, vec![1.5, 2.0, 2.5]);
    }

    #[test]
    fn percentile_cuts_the_outlier_and_clips_to_the_data() {
        let mut data: Vec<f32> = (0..100_000).map(|i| (i % 1000) as f32 / 1000.0).collect();
        data.push(50.0);
        let (lo, hi) = percentile_range(&data, 2048, 99.9);
        assert_eq!(lo, 0.0, "clipped to the data minimum");
        assert!(hi < 1.1 && hi > 0.9, "threshold near the bulk, not the outlier: {hi}");
    }

    #[test]
    fn entropy_with_default_bins_is_the_full_symmetric_range_clipped() {
        // 128 histogram bins and 128 quantized bins leave one candidate: (-m, m) clipped.
        let data = [-0.5f32, 0.25, 2.0, 1.0];
        assert_eq!(entropy_range(&data, 128, 128), (-0.5, 2.0));
    }
}
