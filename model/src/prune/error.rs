//! Typed errors of structured pruning. Every variant names the tensor, node or option at fault.

use crate::error::ModelError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum PruneError {
    /// The model could not be read (protobuf, tensors, attributes): the importer's error.
    #[error(transparent)]
    Model(#[from] ModelError),

    /// `--ratio` outside [0, 1).
    #[error("ratio {0} is out of range: it is the fraction of each layer's output channels to remove, in [0, 1)")]
    Ratio(f64),

    /// The protobuf wire format is broken where the rewriter has to walk it.
    #[error("malformed ONNX protobuf: {0}")]
    Wire(String),

    /// The model is not one the pruner can take at all (no graph, external data, ...).
    #[error("cannot prune this model: {0}")]
    BadModel(String),

    /// A rewrite the analysis planned turned out to be impossible (contradictory shapes).
    #[error("cannot rewrite {what}: {reason}")]
    Rewrite { what: String, reason: String },
}

pub type PResult<T> = std::result::Result<T, PruneError>;

impl PruneError {
    pub fn rewrite(what: impl Into<String>, reason: impl Into<String>) -> Self {
        PruneError::Rewrite { what: what.into(), reason: reason.into() }
    }
}
