//! Node context and typed attribute access. Every error raised while converting a node goes
//! through [`NodeCtx`], so it names the node and its op type.

use super::proto::{attribute_type as at, AttributeProto, NodeProto};
use super::tensor::{decode_tensor, ConstTensor};
use crate::error::{ModelError, Result};

/// The node being converted: the source node plus the unique name the IR uses for it.
pub struct NodeCtx<'a> {
    pub node: &'a NodeProto,
    pub name: String,
}

impl<'a> NodeCtx<'a> {
    pub fn op(&self) -> &str {
        self.node.op()
    }

    /// "Unsupported" errors: a valid model using something systole does not implement.
    pub fn unsupported(&self, reason: impl Into<String>) -> ModelError {
        ModelError::unsupported_op(self.op_label(), &self.name, reason)
    }

    /// "Invalid" errors: the node contradicts itself or the ONNX specification.
    pub fn invalid(&self, reason: impl Into<String>) -> ModelError {
        ModelError::invalid_node(&self.name, self.op_label(), reason)
    }

    /// Op type with its domain when not the default one (`com.microsoft.QLinearAdd`).
    pub fn op_label(&self) -> String {
        match self.node.domain() {
            "" | "ai.onnx" => self.op().to_string(),
            d => format!("{d}.{}", self.op()),
        }
    }

    /// Name of input `i`, `None` when absent or given as the empty string (an omitted optional).
    pub fn input(&self, i: usize) -> Option<&'a str> {
        self.node.input.get(i).map(String::as_str).filter(|s| !s.is_empty())
    }

    pub fn require_input(&self, i: usize, what: &str) -> Result<&'a str> {
        self.input(i).ok_or_else(|| self.invalid(format!("input {i} ({what}) is missing")))
    }

    /// The single output this importer supports; extra non-empty outputs (MaxPool indices,
    /// Dropout mask) are refused.
    pub fn single_output(&self) -> Result<&'a str> {
        let first = self.node.output.first().map(String::as_str).filter(|s| !s.is_empty());
        let out = first.ok_or_else(|| self.invalid("has no output"))?;
        if self.node.output.iter().skip(1).any(|o| !o.is_empty()) {
            return Err(self.unsupported("only the first output is supported (the others must be unused)"));
        }
        Ok(out)
    }

    fn attr(&self, name: &str) -> Result<Option<&'a AttributeProto>> {
        match self.node.attr(name) {
            Some(a) if a.ref_attr_name.is_some() => {
                Err(self.unsupported(format!("attribute '{name}' refers to a function attribute")))
            }
            other => Ok(other),
        }
    }

    fn type_error(&self, name: &str, want: &str) -> ModelError {
        self.invalid(format!("attribute '{name}' is not of type {want}"))
    }

    pub fn int(&self, name: &str) -> Result<Option<i64>> {
        match self.attr(name)? {
            None => Ok(None),
            Some(a) if matches!(a.r#type, None | Some(at::INT)) && a.i.is_some() => Ok(a.i),
            Some(a) if a.r#type == Some(at::INT) => Ok(Some(0)),
            Some(_) => Err(self.type_error(name, "INT")),
        }
    }

    pub fn int_or(&self, name: &str, default: i64) -> Result<i64> {
        Ok(self.int(name)?.unwrap_or(default))
    }

    pub fn float(&self, name: &str) -> Result<Option<f32>> {
        match self.attr(name)? {
            None => Ok(None),
            Some(a) if matches!(a.r#type, None | Some(at::FLOAT)) && a.f.is_some() => Ok(a.f),
            Some(a) if a.r#type == Some(at::FLOAT) => Ok(Some(0.0)),
            Some(_) => Err(self.type_error(name, "FLOAT")),
        }
    }

    pub fn ints(&self, name: &str) -> Result<Option<Vec<i64>>> {
        match self.attr(name)? {
            None => Ok(None),
            Some(a) if matches!(a.r#type, None | Some(at::INTS)) => Ok(Some(a.ints.clone())),
            Some(_) => Err(self.type_error(name, "INTS")),
        }
    }

    pub fn floats(&self, name: &str) -> Result<Option<Vec<f32>>> {
        match self.attr(name)? {
            None => Ok(None),
            Some(a) if matches!(a.r#type, None | Some(at::FLOATS)) => Ok(Some(a.floats.clone())),
            Some(_) => Err(self.type_error(name, "FLOATS")),
        }
    }

    pub fn string(&self, name: &str) -> Result<Option<String>> {
        match self.attr(name)? {
            None => Ok(None),
            Some(a) if matches!(a.r#type, None | Some(at::STRING)) => {
                let bytes = a.s.clone().unwrap_or_default();
                String::from_utf8(bytes).map(Some).map_err(|_| self.invalid(format!("attribute '{name}' is not UTF-8")))
            }
            Some(_) => Err(self.type_error(name, "STRING")),
        }
    }

    pub fn tensor(&self, name: &str) -> Result<Option<ConstTensor>> {
        match self.attr(name)? {
            None => Ok(None),
            Some(a) if matches!(a.r#type, None | Some(at::TENSOR)) => match &a.t {
                Some(t) => decode_tensor(t).map(Some),
                None => Err(self.invalid(format!("attribute '{name}' holds no tensor"))),
            },
            Some(_) => Err(self.type_error(name, "TENSOR")),
        }
    }

    /// Refuses attributes whose presence would change the semantics in a way not implemented,
    /// unless they hold the neutral value.
    pub fn expect_int(&self, name: &str, neutral: i64, why: &str) -> Result<()> {
        match self.int(name)? {
            Some(v) if v != neutral => {
                Err(self.unsupported(format!("attribute {name} = {v} is not supported ({why})")))
            }
            _ => Ok(()),
        }
    }
}

/// Normalises a possibly negative ONNX axis against `rank`.
pub fn normalize_axis(axis: i64, rank: usize) -> Option<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    (0..r).contains(&a).then_some(a as usize)
}
