//! Quantisation shared by fused QDQ ops: weight parameters, QDQ biases, output specs, per-tensor checks.

use super::{Operand, OutSpec};
use crate::error::Result;
use crate::import::onnx::attrs::NodeCtx;
use crate::import::onnx::convert::{Converter, QParams, Val};
use crate::import::onnx::layout::Layout;
use crate::import::onnx::qdq::OutQ;
use crate::import::onnx::tensor::ConstTensor;
use crate::ir::{DType, Quantization, TensorData, TensorId};
use std::rc::Rc;

impl<'m> Converter<'m> {
    /// IR quantisation of a weight constant whose per-axis parameters must lie on `axis`
    /// (the output-channel axis), re-indexed to `ir_axis` in the IR weight layout.
    pub fn weight_quant(&self, ctx: &NodeCtx, p: &QParams, axis: usize, ir_axis: usize) -> Result<Quantization> {
        if !matches!(p.dtype, DType::I8 | DType::U8 | DType::I4 | DType::U4) {
            return Err(ctx.unsupported(format!("{} weights (int8/uint8 expected)", p.dtype)));
        }
        if p.scale.len() == 1 && p.zero_point.len() == 1 {
            return Ok(Quantization::per_tensor(p.scale[0], p.zero_point[0]));
        }
        match p.axis {
            Some(a) if a == axis => Ok(Quantization::per_axis(p.scale.clone(), p.zero_point.clone(), ir_axis)),
            other => Err(ctx.unsupported(format!(
                "weights quantized per axis {other:?}; only the output-channel axis {axis} is supported"
            ))),
        }
    }

    /// The bias of a QDQ MAC op: DequantizeLinear of an int32 constant, used as the int32
    /// accumulator offset exactly as given (onnxruntime's QDQ actions pass it through). A float
    /// 1-D bias is quantized the way onnxruntime's `WeightBiasQuantization` pass does before
    /// fusing: `Cast<int32>(Round(bias / (x_scale * w_scale)))`, all in float32, Round = half to
    /// even (constant-folded by onnxruntime with its CPU kernels).
    pub(super) fn qdq_bias(
        &self,
        ctx: &NodeCtx,
        b: Option<Val>,
        x: TensorId,
        wp: &QParams,
    ) -> Result<Option<Rc<ConstTensor>>> {
        match b {
            None => Ok(None),
            Some(Val::DqConst(c, _)) if c.dtype == DType::I32 => Ok(Some(c)),
            Some(Val::Const(c)) if c.dtype == DType::F32 && c.shape.len() == 1 => {
                let sx = match &self.tensor(x).quant {
                    Some(q) if q.scale.len() == 1 => q.scale[0],
                    _ => return Err(ctx.unsupported("float bias with a per-axis quantized input")),
                };
                let n = c.shape[0];
                if wp.scale.len() != 1 && wp.scale.len() != n {
                    return Err(
                        ctx.unsupported(format!("float bias of {n} values for {} weight scales", wp.scale.len()))
                    );
                }
                let f = c.to_f32().unwrap_or_default();
                let q: Vec<i32> = f
                    .iter()
                    .enumerate()
                    .map(|(o, &v)| {
                        let sw = if wp.scale.len() == 1 { wp.scale[0] } else { wp.scale[o] };
                        let r = (v / (sx * sw)).round_ties_even();
                        r.clamp(i32::MIN as f32, i32::MAX as f32) as i32
                    })
                    .collect();
                Ok(Some(Rc::new(ConstTensor {
                    name: c.name.clone(),
                    shape: c.shape.clone(),
                    dtype: DType::I32,
                    data: TensorData::I32(q),
                })))
            }
            Some(_) => {
                Err(ctx.unsupported("QDQ bias must be DequantizeLinear of an int32 constant or a 1-D float32 constant"))
            }
        }
    }

    pub fn fused_spec(&self, q: &OutQ) -> OutSpec {
        OutSpec {
            name: q.name(self).to_string(),
            dtype: q.params.dtype,
            quant: Some(q.params.to_ir(Layout::Source)),
            activation: q.activation,
        }
    }

    /// Fused QDQ ops read their activation inputs with one scale and zero point (onnxruntime's
    /// selectors require scalar DQ parameters on activations).
    pub(super) fn per_tensor_input(&self, ctx: &NodeCtx, t: TensorId) -> Result<()> {
        match &self.tensor(t).quant {
            Some(q) if q.scale.len() == 1 && q.zero_point.len() == 1 => Ok(()),
            _ => Err(ctx.unsupported(format!("input '{}' is not quantized per tensor", self.tensor(t).name))),
        }
    }

    /// An operand of a QDQ elementwise / concat op.
    pub(super) fn dq_operand(&self, ctx: &NodeCtx, v: Val) -> Result<Operand> {
        match v {
            Val::Dq(t) => {
                self.per_tensor_input(ctx, t)?;
                Ok(Operand::Tensor(t))
            }
            Val::DqConst(c, p) if p.is_per_tensor() && matches!(p.dtype, DType::I8 | DType::U8) => {
                let q = p.to_ir(Layout::Source);
                Ok(Operand::Const(c, Some(q)))
            }
            _ => Err(self.not_fusable(ctx)),
        }
    }
}
