//! Operators of the quantized IR.
//!
//! Layout convention: every 4-D activation inside the IR is NHWC, every convolution weight is
//! OHWI (`[out_channels, kernel_h, kernel_w, in_channels / groups]`), every fully-connected weight
//! is `[out_features, in_features]`. Importers of NCHW formats (ONNX) transpose constants at import
//! and insert explicit `Transpose` nodes where an activation crosses between layouts (graph edges,
//! NCHW flatten), so graph inputs and outputs keep the layout of the source model.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Activation fused into an operator's output clamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Activation {
    #[default]
    None,
    Relu,
    Relu6,
    ReluN1To1,
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Activation::None => "-",
            Activation::Relu => "relu",
            Activation::Relu6 => "relu6",
            Activation::ReluN1To1 => "relu_n1_1",
        })
    }
}

/// Explicit, possibly asymmetric spatial padding in elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Padding2d {
    pub top: usize,
    pub left: usize,
    pub bottom: usize,
    pub right: usize,
}

impl Padding2d {
    pub fn is_zero(&self) -> bool {
        self.top == 0 && self.left == 0 && self.bottom == 0 && self.right == 0
    }

    /// TFLite SAME padding for one spatial dimension: (before, after), `before` = floor(total / 2).
    pub fn same_1d(input: usize, kernel: usize, stride: usize, dilation: usize) -> (usize, usize) {
        let output = input.div_ceil(stride.max(1));
        let effective_kernel = (kernel.saturating_sub(1)) * dilation + 1;
        let needed = (output.saturating_sub(1)) * stride + effective_kernel;
        let total = needed.saturating_sub(input);
        (total / 2, total - total / 2)
    }
}

/// Spatial attributes shared by Conv2d and the pools: `[h, w]` pairs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conv2dAttrs {
    pub stride: [usize; 2],
    pub dilation: [usize; 2],
    pub padding: Padding2d,
    /// 1 = standard, in_channels = depthwise (with out_channels = in_channels * depth multiplier).
    pub groups: usize,
    pub activation: Activation,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pool2dAttrs {
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: Padding2d,
    pub activation: Activation,
    /// ONNX `count_include_pad`: padded positions count in the average divisor (TFLite: false).
    pub count_include_pad: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Op {
    /// inputs: [x NHWC, w OHWI, bias int32 [O]?]; output NHWC. Float tensors run a float conv,
    /// an int32 output without quantisation is the raw accumulator (ONNX ConvInteger).
    Conv2d(Conv2dAttrs),
    /// inputs: [x [.., K], w [O, K], bias [O]?]; output [.., O] (leading dims kept).
    FullyConnected {
        activation: Activation,
    },
    /// inputs: [a [.., M, K], b [.., K, N]] with numpy broadcasting of the leading dims.
    MatMul,
    /// inputs: [a, b] with numpy broadcasting; each input rescaled to the output scale.
    Add {
        activation: Activation,
    },
    /// inputs: [a, b] with numpy broadcasting.
    Mul {
        activation: Activation,
    },
    AveragePool2d(Pool2dAttrs),
    MaxPool2d(Pool2dAttrs),
    /// Mean over H and W of an NHWC tensor; output [N, 1, 1, C] or [N, C] per the output tensor.
    GlobalAveragePool,
    /// Output shape is the output tensor's shape; element order unchanged.
    Reshape,
    Transpose {
        perm: Vec<usize>,
    },
    /// `pads[d] = (before, after)` per dimension. `value` None: the input zero point.
    Pad {
        pads: Vec<(usize, usize)>,
        value: Option<i32>,
    },
    Concat {
        axis: usize,
        activation: Activation,
    },
    /// Softmax over the last axis.
    Softmax {
        beta: f32,
    },
    /// float -> quantized, or quantized -> quantized (requantise).
    Quantize,
    /// quantized -> float.
    Dequantize,
    /// Standalone activation (TFLite RELU/RELU6 ops, ONNX Relu/Clip between QDQ pairs).
    Clamp {
        activation: Activation,
    },
}

impl Op {
    /// Short, stable name used in tables and error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Conv2d(a) if a.groups > 1 => "Conv2d(grouped)",
            Op::Conv2d(_) => "Conv2d",
            Op::FullyConnected { .. } => "FullyConnected",
            Op::MatMul => "MatMul",
            Op::Add { .. } => "Add",
            Op::Mul { .. } => "Mul",
            Op::AveragePool2d(_) => "AveragePool2d",
            Op::MaxPool2d(_) => "MaxPool2d",
            Op::GlobalAveragePool => "GlobalAveragePool",
            Op::Reshape => "Reshape",
            Op::Transpose { .. } => "Transpose",
            Op::Pad { .. } => "Pad",
            Op::Concat { .. } => "Concat",
            Op::Softmax { .. } => "Softmax",
            Op::Quantize => "Quantize",
            Op::Dequantize => "Dequantize",
            Op::Clamp { .. } => "Clamp",
        }
    }

    /// The fused activation, where the operator has one.
    pub fn activation(&self) -> Activation {
        match self {
            Op::Conv2d(a) => a.activation,
            Op::AveragePool2d(p) | Op::MaxPool2d(p) => p.activation,
            Op::FullyConnected { activation }
            | Op::Add { activation }
            | Op::Mul { activation }
            | Op::Concat { activation, .. }
            | Op::Clamp { activation } => *activation,
            _ => Activation::None,
        }
    }
}
