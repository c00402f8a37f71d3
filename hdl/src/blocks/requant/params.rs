//! Per-channel parameters of the requantiser, as the hardware receives them, derived from
//! `systole_model::quant::OutputStage` (the packer will store exactly these words).

use systole_model::quant::{OutputStage, Requant};
use thiserror::Error;

/// Which rule the channel follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequantMode {
    /// TFLite double rounding (`MultiplyByQuantizedMultiplier`).
    Fixed,
    /// onnxruntime float32 requantisation.
    Float,
}

/// One channel's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelParams {
    pub mode: RequantMode,
    /// Fixed: the int32 multiplier M as raw bits. Float: the f32 scale as raw bits.
    pub mult: u32,
    /// Fixed: the shift (left if positive); ignored in Float mode.
    pub shift: i8,
    pub zero_point: i32,
    pub act_min: i32,
    pub act_max: i32,
}

#[derive(Debug, Error, PartialEq)]
pub enum ParamError {
    #[error("channel {0} out of range")]
    NoChannel(usize),
    #[error("shift {0} does not fit the unit's 8-bit shift")]
    Shift(i32),
    #[error("activation range [{act_min}, {act_max}] is empty or outside the storage range [{qmin}, {qmax}]")]
    Range { qmin: i32, qmax: i32, act_min: i32, act_max: i32 },
    #[error("float mode needs |qmin - zp| and |qmax - zp| <= 2^24 (exact in f32); got zp {zero_point}")]
    FloatLimits { zero_point: i32 },
}

impl ChannelParams {
    /// The parameters of `channel` of `stage`.
    ///
    /// The unit has no qmin/qmax inputs: in Float mode onnxruntime clamps to
    /// [qmin - zp, qmax - zp] before rounding, which equals clamping the rounded value to the
    /// activation range when the limits are integers exact in f32 and qmin <= act_min <=
    /// act_max <= qmax (NaN goes to qmin, then to act_min). Both are checked here.
    pub fn from_stage(stage: &OutputStage, channel: usize) -> Result<ChannelParams, ParamError> {
        let OutputStage { zero_point, qmin, qmax, act_min, act_max, .. } = *stage;
        if !(qmin <= act_min && act_min <= act_max && act_max <= qmax) {
            return Err(ParamError::Range { qmin, qmax, act_min, act_max });
        }
        let pick = |len: usize| if len == 1 { Some(0) } else { (channel < len).then_some(channel) };
        match &stage.requant {
            Requant::Fixed { multiplier, shift } => {
                let i = pick(multiplier.len().min(shift.len())).ok_or(ParamError::NoChannel(channel))?;
                let shift = i8::try_from(shift[i]).map_err(|_| ParamError::Shift(shift[i]))?;
                Ok(ChannelParams {
                    mode: RequantMode::Fixed,
                    mult: multiplier[i] as u32,
                    shift,
                    zero_point,
                    act_min,
                    act_max,
                })
            }
            Requant::Float { scale } => {
                let i = pick(scale.len()).ok_or(ParamError::NoChannel(channel))?;
                let exact = |q: i32| (i64::from(q) - i64::from(zero_point)).abs() <= 1 << 24;
                if !exact(qmin) || !exact(qmax) {
                    return Err(ParamError::FloatLimits { zero_point });
                }
                Ok(ChannelParams {
                    mode: RequantMode::Float,
                    mult: scale[i].to_bits(),
                    shift: 0,
                    zero_point,
                    act_min,
                    act_max,
                })
            }
        }
    }
}
