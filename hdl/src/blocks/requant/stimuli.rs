//! Requantiser stimuli: corner cases first, then random channels, as (OutputStage, acc) pairs
//! judged by `OutputStage::apply`. Shared by the model's unit tests and the RTL test.

use crate::rng::Rng;
use systole_model::quant::{OutputStage, Requant};

/// The golden: systole-model's requantiser for channel 0.
pub fn golden(stage: &OutputStage, acc: i32) -> i32 {
    stage.apply(acc, 0)
}

const ACC_CORNERS: &[i32] = &[
    0,
    1,
    -1,
    2,
    -2,
    3,
    -3,
    i32::MAX,
    i32::MIN,
    i32::MAX - 1,
    i32::MIN + 1,
    1 << 24,
    (1 << 24) + 1,
    (1 << 24) + 3,
    -(1 << 24) - 1,
    (1 << 25) + 2,
    (1 << 25) + 6,
    0x7fff_ffc0,
    0x7fff_ff80,
    -0x7fff_ffc0,
    1 << 30,
    -(1 << 30),
    0x00ff_ffff,
    0x01ff_ffff,
];

fn acc(rng: &mut Rng) -> i32 {
    match rng.below(8) {
        0 => rng.pick(ACC_CORNERS),
        1 => rng.range(-300, 300) as i32,
        2 => rng.range(-(1 << 20), 1 << 20) as i32,
        3 => {
            // Sparse magnitudes: exact ties in the int -> f32 conversion and the products.
            let set = 1 + rng.below(3) as u32;
            let v = rng.sparse(31, set) as i32;
            if rng.chance(50) {
                -v
            } else {
                v
            }
        }
        _ => rng.next_u64() as i32,
    }
}

/// Clamp settings: (zero_point, qmin, qmax, act_min, act_max).
fn range(rng: &mut Rng, wide_ok: bool) -> (i32, i32, i32, i32, i32) {
    let (qmin, qmax, zp) = match rng.below(if wide_ok { 5 } else { 4 }) {
        0 | 1 => (-128, 127, rng.range(-128, 127) as i32),
        2 => (0, 255, rng.range(0, 255) as i32),
        // Wide storage exposes (almost) every result bit instead of the int8 saturation.
        3 => {
            let zp = rng.range(-1000, 1000) as i32;
            (zp - (1 << 24), zp + (1 << 24), zp)
        }
        _ => (i32::MIN, i32::MAX, rng.next_u64() as i32),
    };
    let (mut act_min, mut act_max) = (qmin, qmax);
    if rng.chance(30) {
        // Fused ReLU / ReLU6-like sub-ranges.
        act_min = zp.max(qmin);
        if rng.chance(50) {
            act_max = (i64::from(act_min) + rng.range(0, 100)).min(i64::from(qmax)) as i32;
        }
    }
    (zp, qmin, qmax, act_min, act_max)
}

fn fixed_stage(rng: &mut Rng) -> OutputStage {
    let multiplier = match rng.below(10) {
        0 => 0,
        1 => 1 << 30,
        2 => i32::MAX,
        3 => i32::MIN,
        4 => rng.next_u64() as i32,
        5 => (1 << 30) + rng.sparse(30, 2) as i32,
        _ => rng.range(1 << 30, i64::from(i32::MAX)) as i32,
    };
    let shift = match rng.below(10) {
        0 => rng.range(-40, 40) as i32,
        1 => rng.pick(&[-32, -31, 0, 30, 31, 32]),
        _ => rng.range(-31, 30) as i32,
    };
    let (zero_point, qmin, qmax, act_min, act_max) = range(rng, true);
    OutputStage {
        requant: Requant::Fixed { multiplier: vec![multiplier], shift: vec![shift] },
        zero_point,
        qmin,
        qmax,
        act_min,
        act_max,
    }
}

fn float_scale(rng: &mut Rng) -> f32 {
    let sign = if rng.chance(10) { 1u32 << 31 } else { 0 };
    let exponent = match rng.below(10) {
        0 => rng.below(256) as u32,
        1 => rng.pick(&[0u32, 1, 254, 255]),
        // Scales around 2^-31..2^2: the product lands near the rounding and saturation edges.
        2 | 3 => rng.range(127 - 40, 127 + 10) as u32,
        _ => rng.range(127 - 20, 127) as u32,
    };
    let mantissa = match rng.below(4) {
        0 => rng.sparse(23, 2) as u32,
        1 => rng.pick(&[0u32, 1, 0x40_0000, 0x7f_ffff]),
        _ => rng.below(1 << 23) as u32,
    };
    f32::from_bits(sign | exponent << 23 | mantissa)
}

fn float_stage(rng: &mut Rng) -> OutputStage {
    let (zero_point, qmin, qmax, act_min, act_max) = range(rng, false);
    OutputStage { requant: Requant::Float { scale: vec![float_scale(rng)] }, zero_point, qmin, qmax, act_min, act_max }
}

/// Hand-picked cases, then `random` random ones (half Fixed, half Float).
pub fn cases(seed: u64, random: usize) -> Vec<(OutputStage, i32)> {
    let full = |requant: Requant| OutputStage {
        requant,
        zero_point: 0,
        qmin: i32::MIN,
        qmax: i32::MAX,
        act_min: i32::MIN,
        act_max: i32::MAX,
    };
    let wide_float = |scale: f32| OutputStage {
        requant: Requant::Float { scale: vec![scale] },
        zero_point: 0,
        qmin: -(1 << 24),
        qmax: 1 << 24,
        act_min: -(1 << 24),
        act_max: 1 << 24,
    };
    let fixed = |m: i32, s: i32| full(Requant::Fixed { multiplier: vec![m], shift: vec![s] });
    let mut out = vec![
        // SaturatingRoundingDoublingHighMul's only overflow.
        (fixed(i32::MIN, 0), i32::MIN),
        (fixed(i32::MIN, 0), i32::MAX),
        (fixed(i32::MAX, 0), i32::MIN),
        (fixed(i32::MIN, 1), -(1 << 30)),
        // Saturating left shift into INT32_MIN * INT32_MIN.
        (fixed(i32::MIN, 31), -1),
        (fixed(i32::MIN, 32), -1),
        (fixed(1 << 30, 30), 3),
        // RoundingDivideByPOT ties both signs.
        (fixed(1 << 30, -1), 5),
        (fixed(1 << 30, -1), -5),
        (fixed(1 << 30, -31), i32::MIN),
        (fixed(1 << 30, -31), i32::MAX),
        // gemmlowp's asymmetric nudge: -0.5 -> 0, +0.5 -> 1.
        (fixed(1 << 30, 0), -1),
        (fixed(1 << 30, 0), 1),
        (fixed(0, 5), 12345),
        // Float: ties at every rounding, saturation, zero and NaN.
        (wide_float(0.5), 5),
        (wide_float(0.5), 7),
        (wide_float(0.5), -5),
        (wide_float(1.0), (1 << 24) + 1),
        (wide_float(1.0), (1 << 24) + 3),
        (wide_float(f32::from_bits(0x3f80_0001)), 0xc0_0000),
        (wide_float(f32::from_bits(0x3f80_0001)), 0x40_0001),
        (wide_float(f32::MAX), 1),
        (wide_float(f32::MAX), -1),
        (wide_float(f32::INFINITY), 3),
        (wide_float(f32::NEG_INFINITY), 3),
        (wide_float(f32::INFINITY), 0),
        (wide_float(f32::NAN), 3),
        (wide_float(f32::from_bits(1)), i32::MAX),
        (wide_float(0.0), 99),
        (wide_float(-0.0), -99),
        (wide_float(f32::from_bits(0x0080_0000)), i32::MIN),
        (wide_float(2f32.powi(-25)), 1 << 24),
        (wide_float(2f32.powi(-24)), 1 << 23),
        (wide_float(2f32.powi(-24)), 3 << 23),
        (wide_float(2f32.powi(-7)), i32::MIN),
    ];
    let mut rng = Rng(seed);
    for i in 0..random {
        let stage = if i % 2 == 0 { fixed_stage(&mut rng) } else { float_stage(&mut rng) };
        out.push((stage, acc(&mut rng)));
    }
    out
}
