//! Soft errors in weight memory: every bit of every quantized weight flips independently with
//! a given probability, from a seeded generator (the same seed flips the same bits, so a second
//! application restores the weights).

use super::error::{EResult, EvaluateError};
use crate::ir::{DType, Graph, Op, TensorData, TensorId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The tensors bit flips hit: the constant weight operand (input 1) of every Conv2d,
/// FullyConnected and MatMul node stored in at most 8 bits (int8, uint8, int4, uint4), each once,
/// in node order.
pub fn weight_tensors(g: &Graph) -> Vec<TensorId> {
    let mut ids: Vec<TensorId> = Vec::new();
    for n in &g.nodes {
        if !matches!(n.op, Op::Conv2d(_) | Op::FullyConnected { .. } | Op::MatMul) {
            continue;
        }
        let Some(&id) = n.inputs.get(1) else { continue };
        let t = g.tensor(id);
        if t.is_constant() && t.dtype.is_quantized_storage() && t.dtype.bits() <= 8 && !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// Number of weight bits [`flip_bits`] draws for.
pub fn weight_bits(g: &Graph) -> u64 {
    weight_tensors(g).iter().map(|&id| (g.tensor(id).element_count() * g.tensor(id).dtype.bits()) as u64).sum()
}

/// Fails unless every MAC node's weights are a quantized constant (what an int8 / int4 model the
/// importers accept has); `what` names the model file.
pub fn require_quantized(g: &Graph, what: &str) -> EResult<()> {
    let bad = |reason: String| Err(EvaluateError::NotQuantized { what: what.to_string(), reason });
    let mut macs = 0;
    for n in &g.nodes {
        if !matches!(n.op, Op::Conv2d(_) | Op::FullyConnected { .. } | Op::MatMul) {
            continue;
        }
        macs += 1;
        let Some(&id) = n.inputs.get(1) else { continue };
        let t = g.tensor(id);
        if !t.dtype.is_quantized_storage() || t.dtype.bits() > 8 {
            return bad(format!("node '{}' has {} weights '{}'", n.name, t.dtype, t.name));
        }
    }
    if macs == 0 || weight_tensors(g).is_empty() {
        return bad("no Conv / FullyConnected / MatMul node with constant integer weights".into());
    }
    Ok(())
}

/// Flips every bit of every weight of [`weight_tensors`] with probability `rate`, drawing from
/// ChaCha8 seeded with `seed` (one draw per bit, in tensor, element, bit order, so the flip mask
/// does not depend on the weight values). Returns the number of flipped bits.
pub fn flip_bits(g: &mut Graph, rate: f64, seed: u64) -> EResult<u64> {
    if !(0.0..=1.0).contains(&rate) {
        return Err(EvaluateError::Option(format!("bit-flip rate {rate} is not a probability in [0, 1]")));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut flipped = 0u64;
    for id in weight_tensors(g) {
        let Some(t) = g.tensors.get_mut(id) else { continue };
        let bits = t.dtype.bits() as u32;
        let mut mask = |rng: &mut ChaCha8Rng| {
            let mut m = 0u8;
            for b in 0..bits {
                if rng.gen_bool(rate) {
                    m |= 1 << b;
                }
            }
            flipped += u64::from(m.count_ones());
            m
        };
        match (t.dtype, t.data.as_mut()) {
            (DType::I8, Some(TensorData::I8(v))) => v.iter_mut().for_each(|x| *x = (*x as u8 ^ mask(&mut rng)) as i8),
            (DType::U8 | DType::U4, Some(TensorData::U8(v))) => v.iter_mut().for_each(|x| *x ^= mask(&mut rng)),
            // int4 stored one per i8: flip within the low nibble, then sign-extend back.
            (DType::I4, Some(TensorData::I8(v))) => v.iter_mut().for_each(|x| {
                let nibble = (*x as u8 & 0x0f) ^ mask(&mut rng);
                *x = ((nibble << 4) as i8) >> 4;
            }),
            _ => {}
        }
    }
    Ok(flipped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Numerics, Quantization, SourceFormat, Tensor};

    /// A one-FullyConnected graph with `n` int8 weights of value `fill` (or int4 with `dtype`).
    fn fc_graph(n: usize, dtype: DType, fill: i8) -> Graph {
        let mut g = Graph::new("fc", SourceFormat::Tflite, Numerics::Tflite);
        let q = Some(Quantization::per_tensor(0.1, 0));
        let x = g.add_tensor(Tensor::activation("x", vec![1, n], DType::I8, q.clone()));
        let w = g.add_tensor(Tensor::constant("w", vec![1, n], dtype, q.clone(), TensorData::I8(vec![fill; n])));
        let y = g.add_tensor(Tensor::activation("y", vec![1, 1], DType::I8, q));
        g.add_node("fc", Op::FullyConnected { activation: crate::ir::Activation::None }, vec![x, w], vec![y]);
        g.inputs = vec![x];
        g.outputs = vec![y];
        g
    }

    fn weights(g: &Graph) -> Vec<i8> {
        match &g.tensors[1].data {
            Some(TensorData::I8(v)) => v.clone(),
            _ => panic!("no int8 weights"),
        }
    }

    /// Bits that differ between two weight vectors, counted independently of `flip_bits`.
    fn hamming(a: &[i8], b: &[i8], bits: u32) -> u64 {
        let mask = if bits == 8 { 0xff } else { 0x0f };
        a.iter().zip(b).map(|(x, y)| u64::from(((*x as u8 ^ *y as u8) & mask).count_ones())).sum()
    }

    #[test]
    fn flip_count_follows_the_binomial_and_matches_the_changed_bits() {
        let n = 50_000;
        for (rate, seed) in [(1e-3, 1u64), (1e-2, 2), (0.1, 3)] {
            let mut g = fc_graph(n, DType::I8, 0x55);
            let before = weights(&g);
            let flipped = flip_bits(&mut g, rate, seed).unwrap();
            assert_eq!(flipped, hamming(&before, &weights(&g), 8), "reported count = changed bits");
            let bits = (8 * n) as f64;
            let (mean, sd) = (bits * rate, (bits * rate * (1.0 - rate)).sqrt());
            assert!((flipped as f64 - mean).abs() < 5.0 * sd, "rate {rate}: {flipped} flips, expected {mean} ± {sd}");
        }
    }

    #[test]
    fn flips_are_seeded_and_involutive() {
        let mut g = fc_graph(4096, DType::I8, -3);
        let clean = weights(&g);
        let a = flip_bits(&mut g, 0.05, 7).unwrap();
        let once = weights(&g);
        assert_ne!(once, clean);
        assert_eq!(flip_bits(&mut g, 0.05, 7).unwrap(), a);
        assert_eq!(weights(&g), clean, "the same seed twice restores the weights");
        let mut h = fc_graph(4096, DType::I8, -3);
        flip_bits(&mut h, 0.05, 8).unwrap();
        assert_ne!(weights(&h), once, "another seed flips other bits");
        assert_eq!(flip_bits(&mut h, 0.0, 9).unwrap(), 0);
        assert!(flip_bits(&mut h, 1.5, 9).is_err());
    }

    #[test]
    fn int4_flips_stay_in_range() {
        let mut g = fc_graph(4096, DType::I4, -8);
        let clean = weights(&g);
        let flipped = flip_bits(&mut g, 0.25, 11).unwrap();
        let after = weights(&g);
        assert!(after.iter().all(|&x| (-8..=7).contains(&x)));
        assert_eq!(flipped, hamming(&clean, &after, 4));
        assert_eq!(weight_bits(&g), 4 * 4096);
    }
}
