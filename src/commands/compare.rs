//! `systole compare A.npy B.npy`: exact comparison of two arrays (shape, type, every element).

use anyhow::{bail, Context, Result};
use std::path::Path;
use systole_model::ir::TensorData;
use systole_model::npy;

/// Element-wise comparison result.
pub struct Comparison {
    pub elements: usize,
    pub equal: usize,
    pub max_abs_diff: f64,
}

pub fn compare_data(a: &TensorData, b: &TensorData) -> Option<Comparison> {
    fn count<T: Copy + Into<f64>>(a: &[T], b: &[T]) -> Comparison {
        let mut equal = 0;
        let mut max_abs_diff: f64 = 0.0;
        for (&x, &y) in a.iter().zip(b) {
            let (x, y): (f64, f64) = (x.into(), y.into());
            // Bit-exact for floats too: NaNs compare by payload-free identity, -0 == 0 is accepted.
            if x == y || (x.is_nan() && y.is_nan()) {
                equal += 1;
            } else {
                max_abs_diff = max_abs_diff.max((x - y).abs());
            }
        }
        Comparison { elements: a.len(), equal, max_abs_diff }
    }
    match (a, b) {
        (TensorData::I8(a), TensorData::I8(b)) => Some(count(a, b)),
        (TensorData::U8(a), TensorData::U8(b)) => Some(count(a, b)),
        (TensorData::I16(a), TensorData::I16(b)) => Some(count(a, b)),
        (TensorData::I32(a), TensorData::I32(b)) => Some(count(a, b)),
        (TensorData::F32(a), TensorData::F32(b)) => Some(count(a, b)),
        (TensorData::I64(a), TensorData::I64(b)) => {
            let equal = a.iter().zip(b).filter(|(x, y)| x == y).count();
            let max = a.iter().zip(b).map(|(&x, &y)| (x as f64 - y as f64).abs()).fold(0.0, f64::max);
            Some(Comparison { elements: a.len(), equal, max_abs_diff: max })
        }
        _ => None,
    }
}

pub fn run(actual: &Path, expected: &Path) -> Result<()> {
    let a = npy::read_value(actual).with_context(|| format!("reading {}", actual.display()))?;
    let b = npy::read_value(expected).with_context(|| format!("reading {}", expected.display()))?;
    if a.shape != b.shape {
        bail!("shape differs: {} is {:?}, {} is {:?}", actual.display(), a.shape, expected.display(), b.shape);
    }
    let Some(c) = compare_data(&a.data, &b.data) else {
        bail!(
            "element type differs: {} is {}, {} is {}",
            actual.display(),
            npy::storage_dtype(&a.data),
            expected.display(),
            npy::storage_dtype(&b.data)
        );
    };
    if c.equal == c.elements {
        println!("exact match: {}/{} elements equal ({})", c.equal, c.elements, expected.display());
        Ok(())
    } else {
        bail!("{} of {} elements differ (max |diff| {})", c.elements - c.equal, c.elements, c.max_abs_diff)
    }
}
