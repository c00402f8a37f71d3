//! What every engine-layer builder shares: the layer before buffers are placed ([`Proto`]) and
//! the field conversions that turn "does not fit the descriptor" into a host-placement reason.

use systole_arch::descriptor::check_against_config;
use systole_arch::{ArchConfig, LayerDescriptor, RequantMode};
use systole_model::ir::{DType, Numerics, Tensor};

/// An engine layer whose DRAM addresses are not known yet.
#[derive(Clone, Debug)]
pub struct Proto {
    /// Addresses, layer index and output slice are filled in when buffers are placed.
    pub desc: LayerDescriptor,
    /// Weight tiles in plan order (CONV), else empty.
    pub weights: Vec<u8>,
    /// Channel params (CONV) or the post-op record, else empty.
    pub params: Vec<u8>,
    /// One line for the partition table.
    pub summary: String,
}

/// Why a node cannot be an engine layer (becomes the host-placement reason).
pub type Reason = String;

/// Per-tensor scale and zero point as the reference executor reads them (`(1, 0)` unquantised).
pub fn quant_of(t: &Tensor) -> (f32, i32) {
    t.quant.as_ref().map_or((1.0, 0), |q| (q.scale_at(0), q.zero_point_at(0)))
}

/// The descriptor signedness flag of an 8-bit activation (int8 or uint8 only).
pub fn act_signed(t: &Tensor) -> Result<bool, Reason> {
    match t.dtype {
        DType::I8 => Ok(true),
        DType::U8 => Ok(false),
        d => Err(format!("tensor '{}' is {d}; the engine moves int8 / uint8 activations", t.name)),
    }
}

/// The engine's requant mode for the graph's numerics (FIXED for TFLite, FLOAT for onnxruntime).
pub fn requant_mode(numerics: Numerics) -> RequantMode {
    match numerics {
        Numerics::Tflite => RequantMode::Fixed,
        Numerics::Onnxruntime => RequantMode::Float,
    }
}

pub fn fit_u16(field: &str, v: usize) -> Result<u16, Reason> {
    u16::try_from(v).map_err(|_| format!("{field} = {v} does not fit the descriptor's 16 bits"))
}

pub fn fit_u8(field: &str, v: usize) -> Result<u8, Reason> {
    u8::try_from(v).map_err(|_| format!("{field} = {v} does not fit the descriptor's 8 bits"))
}

pub fn fit_i16(field: &str, v: i32) -> Result<i16, Reason> {
    i16::try_from(v).map_err(|_| format!("{field} = {v} does not fit the descriptor's 16 bits"))
}

/// The arch crate's own checks: field ranges and geometry, then what the engine has (requant
/// lanes, post-op units) and the tile counts of the plan.
pub fn check(desc: &LayerDescriptor, cfg: &ArchConfig) -> Result<(), Reason> {
    desc.validate().map_err(|e| e.to_string())?;
    check_against_config(desc, cfg).map_err(|e| e.to_string())
}

/// Little-endian bytes of a word list (params records).
pub fn words_le(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}
