//! Typed errors of the model crate. Every error names what (op, node, tensor, field) and where.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ModelError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },

    #[error("not a recognised model file ({reason})")]
    UnknownFormat { path: String, reason: String },

    /// Structurally broken file: bad magic, truncated, offsets out of range, protobuf decode error.
    #[error("malformed {format} model: {reason}")]
    Malformed { format: &'static str, reason: String },

    /// An operator the IR does not support; `node` names it as the source file does.
    #[error("unsupported operator {op} at node '{node}': {reason}")]
    UnsupportedOp { op: String, node: String, reason: String },

    /// A data type the IR cannot carry at this place.
    #[error("unsupported data type {dtype} for tensor '{tensor}': {reason}")]
    UnsupportedDType { dtype: String, tensor: String, reason: String },

    /// Shapes, attributes or quantisation that contradict each other.
    #[error("invalid node '{node}' ({op}): {reason}")]
    InvalidNode { node: String, op: String, reason: String },

    #[error("invalid tensor '{tensor}': {reason}")]
    InvalidTensor { tensor: String, reason: String },

    #[error("input '{name}': {reason}")]
    BadInput { name: String, reason: String },
}

pub type Result<T, E = ModelError> = std::result::Result<T, E>;

impl ModelError {
    pub fn malformed(format: &'static str, reason: impl Into<String>) -> Self {
        ModelError::Malformed { format, reason: reason.into() }
    }

    pub fn invalid_node(node: impl Into<String>, op: impl Into<String>, reason: impl Into<String>) -> Self {
        ModelError::InvalidNode { node: node.into(), op: op.into(), reason: reason.into() }
    }

    pub fn unsupported_op(op: impl Into<String>, node: impl Into<String>, reason: impl Into<String>) -> Self {
        ModelError::UnsupportedOp { op: op.into(), node: node.into(), reason: reason.into() }
    }

    pub fn invalid_tensor(tensor: impl Into<String>, reason: impl Into<String>) -> Self {
        ModelError::InvalidTensor { tensor: tensor.into(), reason: reason.into() }
    }
}
