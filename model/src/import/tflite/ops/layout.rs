//! Operators that move or combine data without weights: MEAN (as a global average pool), ADD,
//! MUL, RESHAPE / SQUEEZE, PAD / PADV2, CONCATENATION, TRANSPOSE and the same-shape unary ops.

use super::{activation, Converter, OpInfo};
use crate::import::tflite::geometry;
use crate::import::tflite::schema::{self, builtin_op as B};
use crate::ir::{Op, TensorData, TensorId};
use crate::Result;

impl Converter<'_> {
    /// MEAN over the spatial axes [1, 2] of an NHWC tensor is a global average pool; any other
    /// reduction is unsupported.
    pub(super) fn mean(&mut self, info: &OpInfo<'_>, y: TensorId) -> Result<(Op, Vec<TensorId>)> {
        let x = info.input(0)?;
        let axes_id = info.input(1)?;
        let axes = self.const_ints(info, axes_id, "axes")?;
        let rank = self.shape(x).len();
        let mut norm: Vec<usize> = axes
            .iter()
            .map(|&a| {
                geometry::normalize_axis(a, rank)
                    .ok_or_else(|| info.invalid(format!("axis {a} out of range for rank {rank}")))
            })
            .collect::<Result<_>>()?;
        norm.sort_unstable();
        norm.dedup();
        if rank != 4 || norm != [1, 2] {
            return Err(info.unsupported(format!(
                "MEAN over axes {axes:?} of a rank-{rank} tensor (only the spatial mean over axes [1, 2] of NHWC is supported)"
            )));
        }
        let [n, _, _, c] = self.rank4(info, x, "input")?;
        let y_shape = self.shape(y);
        if y_shape != [n, 1, 1, c] && y_shape != [n, c] {
            return Err(info.invalid(format!(
                "output '{}' has shape {y_shape:?}, expected [{n}, 1, 1, {c}] or [{n}, {c}]",
                self.t(y).name
            )));
        }
        if let Some(o) = info.options::<schema::ReducerOptions>()? {
            let kept = y_shape.len() == 4;
            if o.keep_dims() != kept {
                return Err(info.invalid(format!("keep_dims = {} contradicts output shape {y_shape:?}", o.keep_dims())));
            }
        }
        Ok((Op::GlobalAveragePool, vec![x]))
    }

    /// Inputs of ADD / MUL, checked to broadcast to the output shape.
    pub(super) fn binary(&self, info: &OpInfo<'_>, y: TensorId) -> Result<Vec<TensorId>> {
        let (a, b) = (info.input(0)?, info.input(1)?);
        match geometry::broadcast(self.shape(a), self.shape(b)) {
            Some(s) if s == self.shape(y) => Ok(vec![a, b]),
            _ => Err(info.invalid(format!(
                "inputs of shapes {:?} and {:?} do not broadcast to the output shape {:?}",
                self.shape(a),
                self.shape(b),
                self.shape(y)
            ))),
        }
    }

    /// RESHAPE and SQUEEZE: the IR takes the target shape from the output tensor, so the shape
    /// input (or squeeze_dims) is dropped after checking the element counts agree.
    pub(super) fn reshape(&self, info: &OpInfo<'_>, y: TensorId) -> Result<(Op, Vec<TensorId>)> {
        let x = info.input(0)?;
        let (nx, ny) = (self.shape(x).iter().product::<usize>(), self.shape(y).iter().product::<usize>());
        if nx != ny {
            return Err(info.invalid(format!(
                "input shape {:?} ({nx} elements) and output shape {:?} ({ny} elements) differ in size",
                self.shape(x),
                self.shape(y)
            )));
        }
        Ok((Op::Reshape, vec![x]))
    }

    pub(super) fn pad(&self, info: &OpInfo<'_>, y: TensorId) -> Result<(Op, Vec<TensorId>)> {
        let x = info.input(0)?;
        let pads_id = info.input(1)?;
        let raw = self.const_ints(info, pads_id, "paddings")?;
        let x_shape = self.shape(x);
        if raw.len() != 2 * x_shape.len() {
            return Err(info.invalid(format!(
                "paddings '{}' hold {} values, expected {} ([rank, 2])",
                self.t(pads_id).name,
                raw.len(),
                2 * x_shape.len()
            )));
        }
        let pads: Vec<(usize, usize)> = raw
            .chunks_exact(2)
            .map(|p| match (usize::try_from(p[0]), usize::try_from(p[1])) {
                (Ok(a), Ok(b)) => Ok((a, b)),
                _ => Err(info.invalid(format!("negative padding {p:?}"))),
            })
            .collect::<Result<_>>()?;
        let expected: Option<Vec<usize>> =
            x_shape.iter().zip(&pads).map(|(&d, &(a, b))| d.checked_add(a)?.checked_add(b)).collect();
        if expected.as_deref() != Some(self.shape(y)) {
            return Err(info.invalid(format!(
                "input shape {x_shape:?} padded by {pads:?} does not give the output shape {:?}",
                self.shape(y)
            )));
        }
        let value = match (info.code, info.opt_input(2)) {
            (B::PADV2, Some(v)) => self.pad_value(info, v)?,
            _ => None,
        };
        Ok((Op::Pad { pads, value }, vec![x]))
    }

    /// PADV2's constant value (stored in the input's quantised domain).
    fn pad_value(&self, info: &OpInfo<'_>, v: TensorId) -> Result<Option<i32>> {
        let t = self.t(v);
        match &t.data {
            Some(TensorData::F32(f)) if f.len() == 1 => {
                // Float graphs: `None` means the zero point, i.e. 0.0.
                if f[0] == 0.0 {
                    Ok(None)
                } else {
                    Err(info.unsupported(format!("float pad value {} (only 0.0 is representable)", f[0])))
                }
            }
            Some(d) if d.len() == 1 => d
                .to_i32()
                .and_then(|v| v.first().copied())
                .map(Some)
                .ok_or_else(|| info.invalid(format!("pad value '{}' does not fit in int32", t.name))),
            _ => Err(info.invalid(format!("constant_values '{}' must be a constant with one element", t.name))),
        }
    }

    pub(super) fn concat(&self, info: &OpInfo<'_>, y: TensorId) -> Result<(Op, Vec<TensorId>)> {
        let o = info.required_options::<schema::ConcatenationOptions>()?;
        let activation = activation(info, o.fused_activation_function())?;
        let inputs: Vec<TensorId> = info.inputs.iter().flatten().copied().collect();
        if inputs.is_empty() || inputs.len() != info.inputs.len() {
            return Err(info.invalid("CONCATENATION needs at least one input and no absent (-1) inputs"));
        }
        let y_shape = self.shape(y);
        let axis = geometry::normalize_axis(i64::from(o.axis()), y_shape.len())
            .ok_or_else(|| info.invalid(format!("axis {} out of range for rank {}", o.axis(), y_shape.len())))?;
        let mut along = 0usize;
        for &i in &inputs {
            let s = self.shape(i);
            let compatible =
                s.len() == y_shape.len() && s.iter().zip(y_shape).enumerate().all(|(d, (a, b))| d == axis || a == b);
            if !compatible {
                return Err(info.invalid(format!(
                    "input '{}' of shape {s:?} cannot be concatenated into {y_shape:?} along axis {axis}",
                    self.t(i).name
                )));
            }
            along += s[axis];
        }
        if along != y_shape[axis] {
            return Err(
                info.invalid(format!("inputs sum to {along} along axis {axis}, but the output has {}", y_shape[axis]))
            );
        }
        Ok((Op::Concat { axis, activation }, inputs))
    }

    pub(super) fn transpose(&self, info: &OpInfo<'_>, y: TensorId) -> Result<(Op, Vec<TensorId>)> {
        let x = info.input(0)?;
        let perm_id = info.input(1)?;
        let raw = self.const_ints(info, perm_id, "perm")?;
        let x_shape = self.shape(x);
        let perm: Option<Vec<usize>> = raw.iter().map(|&p| usize::try_from(p).ok()).collect();
        let perm = perm.filter(|p| {
            let mut sorted = p.clone();
            sorted.sort_unstable();
            sorted.iter().copied().eq(0..x_shape.len())
        });
        let Some(perm) = perm else {
            return Err(info.invalid(format!("perm {raw:?} is not a permutation of 0..{}", x_shape.len())));
        };
        let expected: Vec<usize> = perm.iter().map(|&p| x_shape[p]).collect();
        self.expect_shape(info, y, &expected)?;
        Ok((Op::Transpose { perm }, vec![x]))
    }

    /// Elementwise single-input operators: the output has the input's shape.
    pub(super) fn same_shape_unary(&self, info: &OpInfo<'_>, y: TensorId) -> Result<TensorId> {
        let x = info.input(0)?;
        self.expect_shape(info, y, self.shape(x))?;
        Ok(x)
    }
}
