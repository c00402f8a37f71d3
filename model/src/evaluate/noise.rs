//! Input noise in the real-valued input domain: Gaussian noise of a given standard deviation
//! added to float inputs directly, to quantized inputs after dequantisation (then requantized
//! with the graph's rounding and saturated to the input type).

use super::data::{input_params, quantize};
use super::error::{EResult, EvaluateError};
use crate::arith;
use crate::ir::{Numerics, Tensor, TensorData, Value};
use rand::Rng;

/// A standard normal sample (Box-Muller on two uniforms; `1 - u` keeps the logarithm finite).
pub fn standard_normal(rng: &mut impl Rng) -> f64 {
    let u1 = 1.0 - rng.gen::<f64>();
    let u2 = rng.gen::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// `v` (a sample of graph input `input`) plus Gaussian noise of standard deviation `std` in
/// real units. One normal draw per element, in element order.
pub fn add_noise(v: &Value, input: &Tensor, numerics: Numerics, std: f64, rng: &mut impl Rng) -> EResult<Value> {
    if !(std.is_finite() && std >= 0.0) {
        return Err(EvaluateError::Option(format!("noise standard deviation {std} must be finite and >= 0")));
    }
    let mut noisy = |x: f32| (f64::from(x) + std * standard_normal(rng)) as f32;
    let data = match &v.data {
        TensorData::F32(x) => TensorData::F32(x.iter().map(|&e| noisy(e)).collect()),
        d => {
            let (scale, zp) = input_params(input)?;
            let (lo, hi) = input.dtype.int_range().map(|(a, b)| (a as i32, b as i32)).unwrap_or((0, 0));
            let q = d.to_i32().ok_or_else(|| EvaluateError::DataType {
                what: "noisy input".into(),
                input: input.name.clone(),
                found: crate::npy::storage_dtype(d).to_string(),
                expected: input.dtype.to_string(),
            })?;
            let out = q.iter().map(|&e| quantize(numerics, noisy(arith::dequantize(e, scale, zp)), scale, zp, lo, hi));
            TensorData::from_i32(input.dtype, out.collect())
        }
    };
    Ok(Value::new(v.shape.clone(), data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{DType, Quantization};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn normal_samples_have_unit_variance() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let xs: Vec<f64> = (0..200_000).map(|_| standard_normal(&mut rng)).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        // Standard errors: 1/sqrt(n) = 0.0022 for the mean, ~0.0032 for the variance.
        assert!(mean.abs() < 0.012 && (var - 1.0).abs() < 0.016, "mean {mean}, variance {var}");
    }

    #[test]
    fn quantized_noise_is_applied_in_real_units() {
        let t = Tensor::activation("x", vec![4096], DType::I8, Some(Quantization::per_tensor(0.5, 10)));
        let v = Value::new(vec![4096], TensorData::I8(vec![10; 4096]));
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let clean = add_noise(&v, &t, Numerics::Onnxruntime, 0.0, &mut rng).unwrap();
        assert_eq!(clean, v, "zero noise keeps the input");
        let noisy = add_noise(&v, &t, Numerics::Onnxruntime, 2.0, &mut rng).unwrap();
        let TensorData::I8(q) = &noisy.data else { panic!() };
        // Real std 2.0 at scale 0.5 is 4 steps around the zero point.
        let sd = (q.iter().map(|&x| f64::from(x - 10).powi(2)).sum::<f64>() / q.len() as f64).sqrt();
        assert!((sd - 4.0).abs() < 0.3, "std in steps {sd}");
        assert!(add_noise(&v, &t, Numerics::Onnxruntime, -1.0, &mut rng).is_err());
    }
}
