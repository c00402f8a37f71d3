//! Typed errors of the evaluation helpers. `what` names the file or option the caller read.

use crate::error::ModelError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum EvaluateError {
    /// The model itself (validation, execution).
    #[error(transparent)]
    Model(#[from] ModelError),

    /// A data array whose shape does not hold samples of the model input.
    #[error("{what}: shape {shape:?} does not hold samples of model input '{input}' of shape {expected:?} (expected [N, {expected_list}] or, for a batch-1 input, [N, {inner_list}])", expected_list = list(expected), inner_list = list(expected.get(1..).unwrap_or_default()))]
    DataShape { what: String, input: String, shape: Vec<usize>, expected: Vec<usize> },

    /// A data array of an element type the model input cannot take.
    #[error("{what}: {found} data does not fit model input '{input}' of type {expected}")]
    DataType { what: String, input: String, found: String, expected: String },

    /// Labels that are not one integer class per sample.
    #[error("{what}: {reason}")]
    Labels { what: String, reason: String },

    /// The model is not quantized where an integer model is required.
    #[error("{what} is not an int8/int4 model: {reason}")]
    NotQuantized { what: String, reason: String },

    /// A model output that has no classes to take a top-1 of.
    #[error("output '{output}': {reason}")]
    Output { output: String, reason: String },

    /// An option value outside its domain.
    #[error("invalid option: {0}")]
    Option(String),
}

fn list(dims: &[usize]) -> String {
    dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
}

pub type EResult<T> = std::result::Result<T, EvaluateError>;
