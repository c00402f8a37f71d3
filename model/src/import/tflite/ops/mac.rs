//! The MAC operators and windows: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED and the 2-D pools.

use super::{activation, positive, Converter, OpInfo};
use crate::import::tflite::geometry::{self, PaddingMode};
use crate::import::tflite::schema;
use crate::ir::{Activation, Conv2dAttrs, DType, Op, Padding2d, Pool2dAttrs, Quantization, Tensor, TensorId};
use crate::Result;

impl Converter<'_> {
    pub(super) fn conv2d(&mut self, info: &OpInfo<'_>, y: TensorId) -> Result<(Op, Vec<TensorId>)> {
        let o = info.required_options::<schema::Conv2DOptions>()?;
        let (x, w) = (info.input(0)?, info.input(1)?);
        let [n, _, _, c_in] = self.rank4(info, x, "input")?;
        let [c_out, kh, kw, c_per_group] = self.rank4(info, w, "weights")?;
        if c_per_group == 0 || !c_in.is_multiple_of(c_per_group) {
            return Err(info.invalid(format!(
                "weights '{}' have {c_per_group} input channels, which does not divide the {c_in} channels of input '{}'",
                self.t(w).name,
                self.t(x).name
            )));
        }
        let groups = c_in / c_per_group;
        if c_out == 0 || !c_out.is_multiple_of(groups) {
            return Err(info.invalid(format!("{c_out} output channels are not divisible into {groups} groups")));
        }
        let attrs = self.conv_geometry(
            info,
            (x, y),
            (kh, kw),
            [o.stride_h(), o.stride_w()],
            [o.dilation_h_factor(), o.dilation_w_factor()],
            o.padding(),
            (n, c_out),
        )?;
        let activation = activation(info, o.fused_activation_function())?;
        let inputs = self.with_bias(info, vec![x, w], c_out)?;
        Ok((Op::Conv2d(Conv2dAttrs { groups, activation, ..attrs }), inputs))
    }

    pub(super) fn depthwise_conv2d(&mut self, info: &OpInfo<'_>, y: TensorId) -> Result<(Op, Vec<TensorId>)> {
        let o = info.required_options::<schema::DepthwiseConv2DOptions>()?;
        let (x, w) = (info.input(0)?, info.input(1)?);
        let [n, _, _, c_in] = self.rank4(info, x, "input")?;
        let (kh, kw, c_out) = self.depthwise_weights_to_ohwi(info, w)?;
        // The depth multiplier option is redundant (and ignored by current TFLite kernels): the
        // weight shape decides.
        if c_in == 0 || !c_out.is_multiple_of(c_in) {
            return Err(info.invalid(format!(
                "depthwise weights '{}' have {c_out} output channels, not a multiple of the {c_in} input channels",
                self.t(w).name
            )));
        }
        let attrs = self.conv_geometry(
            info,
            (x, y),
            (kh, kw),
            [o.stride_h(), o.stride_w()],
            [o.dilation_h_factor(), o.dilation_w_factor()],
            o.padding(),
            (n, c_out),
        )?;
        let activation = activation(info, o.fused_activation_function())?;
        let inputs = self.with_bias(info, vec![x, w], c_out)?;
        Ok((Op::Conv2d(Conv2dAttrs { groups: c_in, activation, ..attrs }), inputs))
    }

    /// Rewrites depthwise weights `[1, KH, KW, C_out]` in place to OHWI `[C_out, KH, KW, 1]`
    /// (the IR's grouped-conv layout), moving a per-axis quantisation from axis 3 to axis 0.
    /// The tensor keeps its id, so flatbuffer index == TensorId still holds.
    fn depthwise_weights_to_ohwi(&mut self, info: &OpInfo<'_>, w: TensorId) -> Result<(usize, usize, usize)> {
        let [d0, kh, kw, d3] = self.rank4(info, w, "weights")?;
        if self.transposed.contains(&w) {
            return Ok((kh, kw, d0));
        }
        let t = &self.graph.tensors[w];
        if d0 != 1 {
            return Err(info.invalid(format!(
                "depthwise weights '{}' have shape {:?}; TFLite expects [1, KH, KW, C_out]",
                t.name, t.shape
            )));
        }
        let Some(data) = &t.data else {
            return Err(info.unsupported(format!("depthwise weights '{}' are not a constant", t.name)));
        };
        let quant = match &t.quant {
            Some(q) if q.is_per_axis() && q.axis != Some(3) => {
                return Err(info.invalid(format!(
                    "depthwise weights '{}' are quantized per axis {:?}; expected the output-channel axis 3",
                    t.name, q.axis
                )));
            }
            Some(q) if q.is_per_axis() => Some(Quantization { axis: Some(0), ..q.clone() }),
            other => other.clone(),
        };
        let data = geometry::depthwise_to_ohwi(data, kh, kw, d3);
        let t = &mut self.graph.tensors[w];
        t.shape = vec![d3, kh, kw, 1];
        t.data = Some(data);
        t.quant = quant;
        self.transposed.insert(w);
        Ok((kh, kw, d3))
    }

    /// Stride, dilation and padding of a convolution, checked against the output tensor.
    #[allow(clippy::too_many_arguments)]
    fn conv_geometry(
        &self,
        info: &OpInfo<'_>,
        (x, y): (TensorId, TensorId),
        (kh, kw): (usize, usize),
        stride: [i32; 2],
        dilation: [i32; 2],
        padding_code: i8,
        (n, c_out): (usize, usize),
    ) -> Result<Conv2dAttrs> {
        let stride = [positive(info, stride[0], "stride_h")?, positive(info, stride[1], "stride_w")?];
        let dilation =
            [positive(info, dilation[0], "dilation_h_factor")?, positive(info, dilation[1], "dilation_w_factor")?];
        let (padding, out_hw) = self.spatial(info, x, [kh, kw], stride, dilation, padding_code)?;
        self.expect_shape(info, y, &[n, out_hw[0], out_hw[1], c_out])?;
        Ok(Conv2dAttrs { stride, dilation, padding, groups: 1, activation: Activation::None })
    }

    /// Padding and output size of a 2-D window over NHWC input `x`.
    fn spatial(
        &self,
        info: &OpInfo<'_>,
        x: TensorId,
        kernel: [usize; 2],
        stride: [usize; 2],
        dilation: [usize; 2],
        padding_code: i8,
    ) -> Result<(Padding2d, [usize; 2])> {
        let mode = match padding_code {
            schema::padding::SAME => PaddingMode::Same,
            schema::padding::VALID => PaddingMode::Valid,
            p => return Err(info.invalid(format!("unknown padding type {p}"))),
        };
        let [_, h, w, _] = self.rank4(info, x, "input")?;
        let (oh, (top, bottom)) = geometry::spatial_1d(h, kernel[0], stride[0], dilation[0], mode)
            .map_err(|e| info.invalid(format!("height: {e}")))?;
        let (ow, (left, right)) = geometry::spatial_1d(w, kernel[1], stride[1], dilation[1], mode)
            .map_err(|e| info.invalid(format!("width: {e}")))?;
        Ok((Padding2d { top, left, bottom, right }, [oh, ow]))
    }

    /// Appends the optional bias (input 2) after checking it has one entry per output channel.
    fn with_bias(&self, info: &OpInfo<'_>, mut inputs: Vec<TensorId>, channels: usize) -> Result<Vec<TensorId>> {
        if let Some(b) = info.opt_input(2) {
            let t = self.t(b);
            // Element count (not rank): old converters write [O] but [1, O] is also seen.
            if t.shape.iter().product::<usize>() != channels {
                return Err(info.invalid(format!(
                    "bias '{}' has shape {:?}, expected {channels} elements (one per output channel)",
                    t.name, t.shape
                )));
            }
            if !matches!(t.dtype, DType::I32 | DType::I64 | DType::F32) {
                return Err(
                    info.invalid(format!("bias '{}' has type {}, expected int32, int64 or float32", t.name, t.dtype))
                );
            }
            inputs.push(b);
        }
        Ok(inputs)
    }

    pub(super) fn fully_connected(&mut self, info: &OpInfo<'_>, y: TensorId) -> Result<(Op, Vec<TensorId>)> {
        let o = info.options::<schema::FullyConnectedOptions>()?;
        let act = o.map_or(Ok(Activation::None), |o| activation(info, o.fused_activation_function()))?;
        let keep_num_dims = o.is_some_and(|o| o.keep_num_dims());
        if let Some(f) = o.map(|o| o.weights_format()).filter(|&f| f != 0) {
            return Err(info.unsupported(format!("weights_format {f} (shuffled weights) is not supported")));
        }
        let (x, w) = (info.input(0)?, info.input(1)?);
        let (out_features, k) = match self.shape(w) {
            [o, k] if *o > 0 && *k > 0 => (*o, *k),
            s => {
                return Err(info.invalid(format!(
                    "weights '{}' have shape {s:?}, expected [out_features, in_features]",
                    self.t(w).name
                )))
            }
        };
        let x_shape = self.shape(x).to_vec();
        let total: usize = x_shape.iter().product();
        if !total.is_multiple_of(k) || x_shape.is_empty() {
            return Err(info.invalid(format!(
                "input '{}' of shape {x_shape:?} cannot be read as rows of the {k} weight columns of '{}'",
                self.t(x).name,
                self.t(w).name
            )));
        }
        let batch = total / k;
        let mut x_in = x;
        let expected: Vec<usize> = if keep_num_dims {
            if x_shape.last() != Some(&k) {
                return Err(info.invalid(format!(
                    "keep_num_dims: last dimension of input {x_shape:?} must equal in_features {k}"
                )));
            }
            let mut s = x_shape[..x_shape.len() - 1].to_vec();
            s.push(out_features);
            s
        } else {
            // TFLite reads the input as a [batch, K] matrix whatever its shape, while the IR
            // contracts the last axis. Same element order when that axis is K (the declared
            // [batch, O] output is then accepted as is); otherwise an explicit Reshape flattens.
            if x_shape.last() != Some(&k) {
                x_in = self.flatten_for_fc(info, x, batch, k)?;
            }
            vec![batch, out_features]
        };
        let y_shape = self.shape(y);
        if Some(y_shape.iter().product::<usize>()) != batch.checked_mul(out_features)
            || y_shape.last() != Some(&out_features)
        {
            return Err(
                info.invalid(format!("output '{}' has shape {y_shape:?}, expected {expected:?}", self.t(y).name))
            );
        }
        let inputs = self.with_bias(info, vec![x_in, w], out_features)?;
        Ok((Op::FullyConnected { activation: act }, inputs))
    }

    /// Inserts `Reshape(x) -> [batch, k]` in front of a FULLY_CONNECTED. The new tensor is
    /// appended after all flatbuffer tensors, so flatbuffer indices stay valid TensorIds.
    fn flatten_for_fc(&mut self, info: &OpInfo<'_>, x: TensorId, batch: usize, k: usize) -> Result<TensorId> {
        let src = self.t(x);
        let name = format!("{}/flatten", info.node);
        let flat = Tensor::activation(name.clone(), vec![batch, k], src.dtype, src.quant.clone());
        let id = self.graph.add_tensor(flat);
        self.available.push(false);
        let node = self.unique_name(&name);
        self.push_node(info, node, Op::Reshape, vec![x], id)?;
        Ok(id)
    }

    pub(super) fn pool2d(&mut self, info: &OpInfo<'_>, y: TensorId, max: bool) -> Result<(Op, Vec<TensorId>)> {
        let o = info.required_options::<schema::Pool2DOptions>()?;
        let x = info.input(0)?;
        let [n, _, _, c] = self.rank4(info, x, "input")?;
        let kernel =
            [positive(info, o.filter_height(), "filter_height")?, positive(info, o.filter_width(), "filter_width")?];
        let stride = [positive(info, o.stride_h(), "stride_h")?, positive(info, o.stride_w(), "stride_w")?];
        let (padding, out_hw) = self.spatial(info, x, kernel, stride, [1, 1], o.padding())?;
        self.expect_shape(info, y, &[n, out_hw[0], out_hw[1], c])?;
        let activation = activation(info, o.fused_activation_function())?;
        // TFLite averages over the valid (unpadded) window positions only.
        let attrs = Pool2dAttrs { kernel, stride, padding, activation, count_include_pad: false };
        Ok((if max { Op::MaxPool2d(attrs) } else { Op::AveragePool2d(attrs) }, vec![x]))
    }
}
