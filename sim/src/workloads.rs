//! Synthetic benchmark networks built through the IR (no model file needed): the workload of the
//! cycle model's benchmark and of its SCALE-Sim comparison.
//!
//! [`resnet8`] is the MLPerf Tiny ResNet-8 (CIFAR-10 image classification, the network of
//! SCALE-Sim's published ResNet-8 figures, see `arch::cycles`): a 3x3 stem conv, three residual
//! stacks of two 3x3 convs (the last two with a strided 1x1 shortcut conv), an 8x8 average pool
//! and a 64 -> 10 fully-connected layer; 12.5 M MACs. Weights, biases and the input are
//! seeded pseudo-random int8 values (per-channel symmetric weights, TFLite numerics) with scales
//! chosen so activations spread over the int8 range rather than saturate.

use systole_arch::rng::Rng;
use systole_arch::{ArchConfig, PostOps, RequantModes};
use systole_model::ir::{
    Activation, Conv2dAttrs, DType, Graph, Numerics, Op, Padding2d, Pool2dAttrs, Quantization, SourceFormat, Tensor,
    TensorData, TensorId, Value,
};

struct Builder {
    g: Graph,
    rng: Rng,
    layers: usize,
}

impl Builder {
    fn scale(&self, t: TensorId) -> f32 {
        self.g.tensor(t).quant.as_ref().map_or(1.0, |q| q.scale[0])
    }

    fn act(&mut self, name: &str, shape: Vec<usize>, scale: f32, zero_point: i32) -> TensorId {
        let q = Quantization::per_tensor(scale, zero_point);
        self.g.add_tensor(Tensor::activation(name, shape, DType::I8, Some(q)))
    }

    /// Per-channel symmetric int8 weights `[o, ..rest]` and an int32 bias; returns the output
    /// scale that keeps the accumulator's spread inside the int8 range.
    fn weights(&mut self, name: &str, shape: Vec<usize>, in_scale: f32) -> (TensorId, TensorId, f32) {
        let o = shape[0];
        let n: usize = shape.iter().product();
        let k = n / o;
        let scales: Vec<f32> = (0..o).map(|_| 0.004 + 0.004 * self.rng.below(1000) as f32 / 1000.0).collect();
        let data: Vec<i8> = (0..n).map(|_| self.rng.range(-127, 127) as i8).collect();
        let q = Quantization::per_axis(scales.clone(), vec![0; o], 0);
        let w =
            self.g.add_tensor(Tensor::constant(format!("{name}_w"), shape, DType::I8, Some(q), TensorData::I8(data)));
        let bias: Vec<i32> = (0..o).map(|_| self.rng.range(-2000, 2000) as i32).collect();
        let b =
            self.g.add_tensor(Tensor::constant(format!("{name}_b"), vec![o], DType::I32, None, TensorData::I32(bias)));
        let mean = scales.iter().sum::<f32>() / o as f32;
        (w, b, in_scale * mean * (k as f32).sqrt() * 24.0)
    }

    fn conv(&mut self, x: TensorId, out_c: usize, kernel: usize, stride: usize, relu: bool) -> TensorId {
        self.layers += 1;
        let name = format!("conv{}", self.layers);
        let [n, h, w, c] = self.g.tensor(x).shape[..] else { unreachable!("NHWC by construction") };
        // TF "same" padding: the extra row / column goes after.
        let out = h.div_ceil(stride);
        let total = ((out - 1) * stride + kernel).saturating_sub(h);
        let padding =
            Padding2d { top: total / 2, left: total / 2, bottom: total - total / 2, right: total - total / 2 };
        let in_scale = self.scale(x);
        let (wt, b, out_scale) = self.weights(&name, vec![out_c, kernel, kernel, c], in_scale);
        let y = self.act(&name, vec![n, out, w.div_ceil(stride), out_c], out_scale, if relu { -128 } else { 0 });
        let activation = if relu { Activation::Relu } else { Activation::None };
        let attrs = Conv2dAttrs { stride: [stride, stride], dilation: [1, 1], padding, groups: 1, activation };
        self.g.add_node(name, Op::Conv2d(attrs), vec![x, wt, b], vec![y]);
        y
    }

    fn add_relu(&mut self, a: TensorId, b: TensorId) -> TensorId {
        let shape = self.g.tensor(a).shape.clone();
        let scale = (self.scale(a) + self.scale(b)) * 0.75;
        let name = format!("add{}", self.layers);
        let y = self.act(&name, shape, scale, -128);
        self.g.add_node(name, Op::Add { activation: Activation::Relu }, vec![a, b], vec![y]);
        y
    }
}

/// The engine the ResNet-8 benchmark runs on: an R x R array (`side`), PB 256, the default
/// 64-bit AXI, fixed-point requant, the ADD and AVG_POOL units, and an activation buffer that
/// holds the largest layer input (32 x 32 x 16 bytes; the v1 rule: a layer's input fits).
pub fn resnet8_config(side: u32) -> ArchConfig {
    ArchConfig {
        psum_depth: 256,
        act_buffer_bytes: (32 * 32 * 16).max(side * 1024),
        requant: RequantModes { fixed: true, float: false },
        post_ops: PostOps { add: true, avg_pool: true, max_pool: false, global_avg_pool: false },
        ..ArchConfig::new(format!("resnet8_{side}x{side}"), side, side)
    }
}

/// ResNet-8 (MLPerf Tiny) with seeded weights, and one seeded input image `[1, 32, 32, 3]`.
pub fn resnet8(seed: u64) -> (Graph, Value) {
    let mut b = Builder {
        g: Graph::new("resnet8", SourceFormat::Synthetic, Numerics::Tflite),
        rng: Rng(seed ^ 0x7e57_8e58),
        layers: 0,
    };
    let x = b.act("input", vec![1, 32, 32, 3], 1.0 / 128.0, 0);
    let mut h = b.conv(x, 16, 3, 1, true);
    // Stack 1: identity shortcut.
    let y = b.conv(h, 16, 3, 1, true);
    let y = b.conv(y, 16, 3, 1, false);
    h = b.add_relu(y, h);
    // Stacks 2 and 3: strided, with a 1x1 projection shortcut.
    for out_c in [32, 64] {
        let y = b.conv(h, out_c, 3, 2, true);
        let y = b.conv(y, out_c, 3, 1, false);
        let s = b.conv(h, out_c, 1, 2, false);
        h = b.add_relu(y, s);
    }
    let pooled_q = b.g.tensor(h).quant.clone();
    let pooled = b.g.add_tensor(Tensor::activation("pool", vec![1, 1, 1, 64], DType::I8, pooled_q.clone()));
    let p = Pool2dAttrs {
        kernel: [8, 8],
        stride: [8, 8],
        padding: Padding2d::default(),
        activation: Activation::None,
        count_include_pad: false,
    };
    b.g.add_node("pool", Op::AveragePool2d(p), vec![h], vec![pooled]);
    let flat = b.g.add_tensor(Tensor::activation("flatten", vec![1, 64], DType::I8, pooled_q));
    b.g.add_node("flatten", Op::Reshape, vec![pooled], vec![flat]);
    let in_scale = b.scale(flat);
    let (wt, bias, out_scale) = b.weights("fc", vec![10, 64], in_scale);
    let logits = b.act("logits", vec![1, 10], out_scale, 0);
    b.g.add_node("fc", Op::FullyConnected { activation: Activation::None }, vec![flat, wt, bias], vec![logits]);
    b.g.inputs = vec![x];
    b.g.outputs = vec![logits];
    let data = (0..32 * 32 * 3).map(|_| b.rng.range(-128, 127) as i8).collect();
    (b.g, Value::new(vec![1, 32, 32, 3], TensorData::I8(data)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use systole_model::exec::Executor;
    use systole_model::summary::node_macs;

    #[test]
    fn resnet8_is_the_mlperf_tiny_network() {
        let (g, x) = resnet8(1);
        let macs: u64 = g.nodes.iter().map(|n| node_macs(&g, n)).sum();
        // 12.5 M MACs as SCALE-Sim's ResNet-8 layer list (arch::cycles tests).
        assert!((12_400_000..12_600_000).contains(&macs), "{macs}");
        let convs = g.nodes.iter().filter(|n| matches!(n.op, Op::Conv2d(_))).count();
        assert_eq!(convs, 9);
        let out = Executor::new(&g).unwrap().run(&[x]).unwrap();
        let TensorData::I8(logits) = &out[0].data else { panic!("{:?}", out[0].data) };
        // Not degenerate: the logits differ (the scales keep activations off the rails).
        assert!(logits.iter().any(|&v| v != logits[0]), "{logits:?}");
    }
}
