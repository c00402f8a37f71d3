//! The per-layer parameter record of the post-op layers (ADD, AVG_POOL, GLOBAL_AVG_POOL): what
//! their rescale needs beyond the descriptor's zero points and clamp.
//!
//! CONV layers keep one [`ChannelParams`](super::ChannelParams) per output channel at
//! `PARAM_ADDR`; a post-op layer rescales every channel alike, so it has one record of
//! [`POST_PARAM_WORDS`] little-endian words at `PARAM_ADDR`. Which fields it holds follows from the
//! descriptor's (opcode, requant) pair; the zero points and the activation clamp stay in the
//! descriptor (IN_ZP, IN2_ZP, OUT_ZP, ACT_MIN, ACT_MAX), so nothing is stored twice.
//!
//! The fields are exactly the parameters `systole_model::kernels` takes (tflite-micro
//! `CalculateOpDataAdd`, `QuantizedMeanOrSum`, onnxruntime's QLinear scales): the packer copies
//! what the model crate derived, and the engine (and the cycle model) apply the same kernels.

use super::{DescriptorError, Opcode, RequantMode};
use serde::{Deserialize, Serialize};

/// Words of a post-op record (32 bytes: half a 64-byte beat, room for one more field set).
pub const POST_PARAM_WORDS: usize = 8;
pub const POST_PARAM_BYTES: usize = POST_PARAM_WORDS * 4;

/// The rescale parameters of one post-op layer.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum PostParams {
    /// ADD, FIXED (tflite-micro `AddFunc`): `(x - zp) << left_shift`, each input scaled by its
    /// own `MultiplyByQuantizedMultiplierSmallerThanOneExp`, summed, scaled to the output.
    AddFixed {
        left_shift: i32,
        input1_multiplier: i32,
        input1_shift: i32,
        input2_multiplier: i32,
        input2_shift: i32,
        output_multiplier: i32,
        output_shift: i32,
    },
    /// ADD, FLOAT (onnxruntime QLinearAdd): the three tensor scales; the ratios and the fused
    /// zero-point term are formed in float32 exactly as MLAS does.
    AddFloat { a_scale: f32, b_scale: f32, y_scale: f32 },
    /// AVG_POOL or GLOBAL_AVG_POOL, FLOAT (onnxruntime QLinear(Global)AveragePool): input and
    /// output scales.
    PoolFloat { x_scale: f32, y_scale: f32 },
    /// GLOBAL_AVG_POOL, FIXED (tflite-micro MEAN with differing quantisation):
    /// `QuantizeMultiplier(s_in / s_out)`; 1/count is folded in by the engine as
    /// `QuantizedMeanOrSum` does.
    MeanFixed { multiplier: i32, shift: i32 },
}

/// What a layer of `opcode` with `requant` keeps at `PARAM_ADDR`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// One `ChannelParams` per output channel (CONV).
    PerChannel,
    /// One [`PostParams`] record.
    Post,
    /// Nothing (`PARAM_ADDR` = 0): MAX_POOL; AVG_POOL with NONE (TFLite integer average, rounded
    /// half away from zero); GLOBAL_AVG_POOL with NONE (TFLite mean of equal quantisation:
    /// truncating division); END.
    None,
}

/// The parameter kind of an (opcode, requant) pair; `Err` when the engine has no such mode.
pub fn param_kind(opcode: Opcode, requant: RequantMode) -> Result<ParamKind, DescriptorError> {
    use Opcode::*;
    use RequantMode as R;
    match (opcode, requant) {
        (Conv, R::Fixed | R::Float) => Ok(ParamKind::PerChannel),
        (Add, R::Fixed | R::Float) | (AvgPool, R::Float) | (GlobalAvgPool, R::Fixed | R::Float) => Ok(ParamKind::Post),
        (MaxPool | AvgPool | GlobalAvgPool | End, R::None) => Ok(ParamKind::None),
        _ => Err(DescriptorError::PostParams {
            opcode: opcode.name(),
            reason: format!("requant mode {requant:?} is not defined for this opcode"),
        }),
    }
}

impl PostParams {
    /// The (opcode, requant) pairs this record belongs to.
    pub fn fits(&self, opcode: Opcode, requant: RequantMode) -> bool {
        matches!(
            (self, opcode, requant),
            (PostParams::AddFixed { .. }, Opcode::Add, RequantMode::Fixed)
                | (PostParams::AddFloat { .. }, Opcode::Add, RequantMode::Float)
                | (PostParams::PoolFloat { .. }, Opcode::AvgPool | Opcode::GlobalAvgPool, RequantMode::Float)
                | (PostParams::MeanFixed { .. }, Opcode::GlobalAvgPool, RequantMode::Fixed)
        )
    }

    pub fn to_words(&self) -> [u32; POST_PARAM_WORDS] {
        let mut w = [0u32; POST_PARAM_WORDS];
        let fields: &[u32] = &match *self {
            PostParams::AddFixed {
                left_shift,
                input1_multiplier,
                input1_shift,
                input2_multiplier,
                input2_shift,
                output_multiplier,
                output_shift,
            } => [
                left_shift,
                input1_multiplier,
                input1_shift,
                input2_multiplier,
                input2_shift,
                output_multiplier,
                output_shift,
            ]
            .map(|v| v as u32)
            .to_vec(),
            PostParams::AddFloat { a_scale, b_scale, y_scale } => {
                vec![a_scale.to_bits(), b_scale.to_bits(), y_scale.to_bits()]
            }
            PostParams::PoolFloat { x_scale, y_scale } => vec![x_scale.to_bits(), y_scale.to_bits()],
            PostParams::MeanFixed { multiplier, shift } => vec![multiplier as u32, shift as u32],
        };
        w[..fields.len()].copy_from_slice(fields);
        w
    }

    /// Reads the record of a layer of `opcode` / `requant`: `Ok(None)` when that layer has no
    /// record. Unused words must be 0, shifts in range and scales finite and positive.
    pub fn from_words(
        opcode: Opcode,
        requant: RequantMode,
        words: &[u32],
    ) -> Result<Option<PostParams>, DescriptorError> {
        if param_kind(opcode, requant)? != ParamKind::Post {
            return Ok(None);
        }
        let bad = |reason: String| DescriptorError::PostParams { opcode: opcode.name(), reason };
        if words.len() != POST_PARAM_WORDS {
            return Err(bad(format!("record has {} words, expected {POST_PARAM_WORDS}", words.len())));
        }
        let i = |k: usize| words[k] as i32;
        let f = |k: usize| f32::from_bits(words[k]);
        let (p, used) = match (opcode, requant) {
            (Opcode::Add, RequantMode::Fixed) => (
                PostParams::AddFixed {
                    left_shift: i(0),
                    input1_multiplier: i(1),
                    input1_shift: i(2),
                    input2_multiplier: i(3),
                    input2_shift: i(4),
                    output_multiplier: i(5),
                    output_shift: i(6),
                },
                7,
            ),
            (Opcode::Add, RequantMode::Float) => {
                (PostParams::AddFloat { a_scale: f(0), b_scale: f(1), y_scale: f(2) }, 3)
            }
            (Opcode::GlobalAvgPool, RequantMode::Fixed) => (PostParams::MeanFixed { multiplier: i(0), shift: i(1) }, 2),
            _ => (PostParams::PoolFloat { x_scale: f(0), y_scale: f(1) }, 2),
        };
        if let Some(k) = (used..POST_PARAM_WORDS).find(|&k| words[k] != 0) {
            return Err(bad(format!("reserved word {k} is {:#010x}, must be 0", words[k])));
        }
        p.check().map_err(bad)?;
        Ok(Some(p))
    }

    /// Value ranges the engine's arithmetic assumes.
    fn check(&self) -> Result<(), String> {
        let shift = |name: &str, s: i32| {
            if (-31..=31).contains(&s) {
                Ok(())
            } else {
                Err(format!("{name} = {s} is outside -31..=31"))
            }
        };
        let scale = |name: &str, s: f32| {
            if s.is_finite() && s > 0.0 {
                Ok(())
            } else {
                Err(format!("{name} = {s} is not a finite positive scale"))
            }
        };
        match *self {
            PostParams::AddFixed { left_shift, input1_shift, input2_shift, output_shift, .. } => {
                if !(0..=30).contains(&left_shift) {
                    return Err(format!("left_shift = {left_shift} is outside 0..=30"));
                }
                shift("input1_shift", input1_shift)?;
                shift("input2_shift", input2_shift)?;
                shift("output_shift", output_shift)
            }
            PostParams::AddFloat { a_scale, b_scale, y_scale } => {
                scale("a_scale", a_scale)?;
                scale("b_scale", b_scale)?;
                scale("y_scale", y_scale)
            }
            PostParams::PoolFloat { x_scale, y_scale } => {
                scale("x_scale", x_scale)?;
                scale("y_scale", y_scale)
            }
            PostParams::MeanFixed { shift: s, .. } => shift("shift", s),
        }
    }
}

/// The record layouts, for the generated documentation: (opcode, requant, fields by word).
pub fn post_param_layouts() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        (
            "ADD",
            "FIXED",
            "0 left_shift, 1 input1_multiplier, 2 input1_shift, 3 input2_multiplier, 4 input2_shift, \
             5 output_multiplier, 6 output_shift (i32; shifts left-positive)",
        ),
        ("ADD", "FLOAT", "0 a_scale, 1 b_scale, 2 y_scale (f32 bits)"),
        ("AVG_POOL, GLOBAL_AVG_POOL", "FLOAT", "0 x_scale, 1 y_scale (f32 bits)"),
        ("GLOBAL_AVG_POOL", "FIXED", "0 multiplier, 1 shift (i32; QuantizeMultiplier(s_in / s_out))"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<(Opcode, RequantMode, PostParams)> {
        vec![
            (
                Opcode::Add,
                RequantMode::Fixed,
                PostParams::AddFixed {
                    left_shift: 20,
                    input1_multiplier: 1_073_741_824,
                    input1_shift: -1,
                    input2_multiplier: 1_500_000_000,
                    input2_shift: 0,
                    output_multiplier: 1_234_567_890,
                    output_shift: -18,
                },
            ),
            (Opcode::Add, RequantMode::Float, PostParams::AddFloat { a_scale: 0.5, b_scale: 0.25, y_scale: 0.125 }),
            (Opcode::AvgPool, RequantMode::Float, PostParams::PoolFloat { x_scale: 0.02, y_scale: 0.03 }),
            (Opcode::GlobalAvgPool, RequantMode::Float, PostParams::PoolFloat { x_scale: 0.02, y_scale: 0.01 }),
            (Opcode::GlobalAvgPool, RequantMode::Fixed, PostParams::MeanFixed { multiplier: 1 << 30, shift: 2 }),
        ]
    }

    #[test]
    fn records_round_trip_through_words() {
        for (op, rq, p) in all() {
            assert!(p.fits(op, rq));
            assert_eq!(PostParams::from_words(op, rq, &p.to_words()).unwrap(), Some(p), "{op:?} {rq:?}");
        }
    }

    #[test]
    fn layers_without_a_record_and_undefined_modes() {
        let w = [0u32; POST_PARAM_WORDS];
        assert_eq!(PostParams::from_words(Opcode::MaxPool, RequantMode::None, &w).unwrap(), None);
        assert_eq!(PostParams::from_words(Opcode::AvgPool, RequantMode::None, &w).unwrap(), None);
        assert_eq!(param_kind(Opcode::Conv, RequantMode::Float).unwrap(), ParamKind::PerChannel);
        for (op, rq) in [
            (Opcode::AvgPool, RequantMode::Fixed),
            (Opcode::MaxPool, RequantMode::Float),
            (Opcode::Add, RequantMode::None),
            (Opcode::Conv, RequantMode::None),
        ] {
            let e = PostParams::from_words(op, rq, &w).unwrap_err();
            assert!(matches!(e, DescriptorError::PostParams { .. }), "{op:?} {rq:?}: {e}");
        }
    }

    #[test]
    fn corrupted_records_are_rejected_with_the_field() {
        let (op, rq, p) = all()[0];
        let mut w = p.to_words();
        w[7] = 1;
        let e = PostParams::from_words(op, rq, &w).unwrap_err().to_string();
        assert!(e.contains("reserved word 7"), "{e}");
        let mut w = p.to_words();
        w[6] = 40;
        let e = PostParams::from_words(op, rq, &w).unwrap_err().to_string();
        assert!(e.contains("output_shift = 40"), "{e}");
        let (op, rq, p) = all()[1];
        let mut w = p.to_words();
        w[2] = f32::NAN.to_bits();
        let e = PostParams::from_words(op, rq, &w).unwrap_err().to_string();
        assert!(e.contains("y_scale"), "{e}");
        assert!(PostParams::from_words(op, rq, &w[..3]).is_err());
        assert!(!p.fits(Opcode::GlobalAvgPool, RequantMode::Float));
    }
}
