//! Typed errors of post-training quantisation. Every variant names the tensor, node or sample.

use crate::error::ModelError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum QuantizeError {
    /// The float model could not be read (protobuf, tensors, attributes): the importer's error.
    #[error(transparent)]
    Model(#[from] ModelError),

    /// A float operator the quantiser does not handle.
    #[error("unsupported float operator {op} at node '{node}': {reason}")]
    UnsupportedOp { op: String, node: String, reason: String },

    /// The model is not a float model the quantiser can take (already quantized, no inputs, ...).
    #[error("float model: {0}")]
    BadModel(String),

    /// Calibration array shape does not fit the model input.
    #[error("calibration data of shape {shape:?} does not fit model input '{input}' of shape {expected:?}: {reason}")]
    CalibShape { input: String, shape: Vec<usize>, expected: Vec<usize>, reason: String },

    /// NaN or infinity in the calibration data.
    #[error("calibration sample {sample} has a non-finite value ({value}) at flat index {index}")]
    CalibNotFinite { sample: usize, index: usize, value: f32 },

    /// Float execution produced NaN / infinity in a tensor (ranges would be meaningless).
    #[error("tensor '{tensor}' became non-finite ({value}) on calibration sample {sample}")]
    NonFiniteTensor { tensor: String, sample: usize, value: f32 },

    /// Shapes or values found while executing the float graph contradict each other.
    #[error("node '{node}' ({op}): {reason}")]
    Exec { node: String, op: String, reason: String },

    /// An option value outside its domain.
    #[error("invalid option: {0}")]
    Option(String),
}

pub type QResult<T> = std::result::Result<T, QuantizeError>;

impl QuantizeError {
    pub fn unsupported(op: &str, node: &str, reason: impl Into<String>) -> Self {
        QuantizeError::UnsupportedOp { op: op.into(), node: node.into(), reason: reason.into() }
    }

    pub fn exec(node: &str, op: &str, reason: impl Into<String>) -> Self {
        QuantizeError::Exec { node: node.into(), op: op.into(), reason: reason.into() }
    }
}
