//! Pure classification metrics: top-1, accuracy, agreement, and the spread over trials.

use crate::ir::{TensorData, Value};
use serde::Serialize;

/// Index of the largest element of the flattened output (the first on ties, as numpy's argmax);
/// `None` for an empty output or one with no comparable (non-NaN) element. Quantized outputs are
/// compared as stored: dequantisation with a positive scale keeps the order.
pub fn top1(v: &Value) -> Option<usize> {
    fn argmax<T: Copy + PartialOrd>(xs: &[T]) -> Option<usize> {
        let mut best: Option<(usize, T)> = None;
        for (i, &x) in xs.iter().enumerate() {
            // NaN compares false both ways: it never wins, and never blocks a later element.
            let better = match best {
                None => x.partial_cmp(&x).is_some(),
                Some((_, b)) => x > b,
            };
            if better {
                best = Some((i, x));
            }
        }
        best.map(|(i, _)| i)
    }
    match &v.data {
        TensorData::I8(x) => argmax(x),
        TensorData::U8(x) => argmax(x),
        TensorData::I16(x) => argmax(x),
        TensorData::I32(x) => argmax(x),
        TensorData::I64(x) => argmax(x),
        TensorData::F32(x) => argmax(x),
    }
}

/// Fraction of predictions equal to their label (0 for no samples).
pub fn accuracy(predictions: &[usize], labels: &[i64]) -> f64 {
    let hits = predictions.iter().zip(labels).filter(|(&p, &l)| i64::try_from(p).is_ok_and(|p| p == l)).count();
    fraction(hits, predictions.len().min(labels.len()))
}

/// Fraction of samples on which two models predict the same class.
pub fn agreement(a: &[usize], b: &[usize]) -> f64 {
    fraction(a.iter().zip(b).filter(|(x, y)| x == y).count(), a.len().min(b.len()))
}

fn fraction(count: usize, total: usize) -> f64 {
    if total == 0 {
        0.0
    } else {
        count as f64 / total as f64
    }
}

/// Mean, minimum and maximum of a metric over trials.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Spread {
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    /// `None` for no values.
    pub fn of(values: &[f64]) -> Option<Spread> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        Some(Spread {
            mean: values.iter().sum::<f64>() / n as f64,
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top1_is_numpy_argmax() {
        let f = |x: Vec<f32>| top1(&Value::new(vec![1, x.len()], TensorData::F32(x)));
        assert_eq!(f(vec![0.1, 0.7, 0.7, 0.2]), Some(1));
        assert_eq!(f(vec![f32::NAN, -1.0, 3.0]), Some(2));
        assert_eq!(f(vec![]), None);
        assert_eq!(top1(&Value::new(vec![3], TensorData::I8(vec![-128, -5, -7]))), Some(1));
    }

    #[test]
    fn accuracy_and_agreement_count_matches() {
        assert_eq!(accuracy(&[1, 2, 3, 4], &[1, 2, 0, 4]), 0.75);
        assert_eq!(agreement(&[1, 2, 3, 4], &[1, 0, 0, 4]), 0.5);
        let s = Spread::of(&[0.5, 1.0, 0.75]).unwrap();
        assert_eq!((s.mean, s.min, s.max), (0.75, 0.5, 1.0));
        assert!(Spread::of(&[]).is_none());
    }
}
