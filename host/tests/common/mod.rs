//! Small random models built through the IR for the host crate's tests.
#![allow(dead_code)]

use systole_arch::{ArchConfig, PostOps, RequantModes};
use systole_model::ir::{
    Activation, Conv2dAttrs, DType, Graph, Numerics, Op, Padding2d, Pool2dAttrs, Quantization, SourceFormat, Tensor,
    TensorData, TensorId,
};
use systole_model::shape::window_output;

pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn u(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }
    pub fn i(&mut self, lo: i32, hi: i32) -> i32 {
        lo + (self.next() % (hi - lo + 1) as u64) as i32
    }
    pub fn f(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * (self.next() % 1_000_000) as f32 / 1_000_000.0
    }
}

pub fn full(name: &str, rows: u32, cols: u32, pb: u32) -> ArchConfig {
    ArchConfig {
        psum_depth: pb,
        param_buffer_channels: 2 * cols,
        requant: RequantModes { fixed: true, float: true },
        post_ops: PostOps { add: true, avg_pool: true, max_pool: true, global_avg_pool: true },
        ..ArchConfig::new(name, rows, cols)
    }
}

fn q(scale: f32, zp: i32) -> Option<Quantization> {
    Some(Quantization::per_tensor(scale, zp))
}

/// A random small CNN: `convs` convolutions (each maybe followed by a pool or a residual add),
/// global average pool, FC, softmax; int8 activations, per-channel weights.
pub fn random_model(seed: u64, convs: usize, numerics: Numerics) -> Graph {
    let mut r = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut g = Graph::new(format!("m{seed}"), SourceFormat::Synthetic, numerics);
    let (h, w, mut c) = (r.u(3, 10), r.u(3, 10), r.u(1, 6));
    let mut shape = vec![1, h, w, c];
    let x = g.add_tensor(Tensor::activation("input", shape.clone(), DType::I8, q(0.05, r.i(-10, 10))));
    g.inputs.push(x);
    let mut cur = x;
    for i in 0..convs {
        let depthwise = r.u(0, 3) == 0;
        let (groups, o) = if depthwise { (c, c * r.u(1, 2)) } else { (1, r.u(1, 24)) };
        let k = [r.u(1, 3.min(shape[1])), r.u(1, 3.min(shape[2]))];
        let pad = Padding2d { top: k[0] / 2, left: k[1] / 2, bottom: r.u(0, k[0] / 2), right: k[1] / 2 };
        let stride = [r.u(1, 2), r.u(1, 2)];
        let (oh, ow) = (
            window_output(shape[1], pad.top, pad.bottom, k[0], stride[0], 1).unwrap_or(1),
            window_output(shape[2], pad.left, pad.right, k[1], stride[1], 1).unwrap_or(1),
        );
        let cg = c / groups;
        let n = o * k[0] * k[1] * cg;
        let wdata = TensorData::I8((0..n).map(|_| r.i(-127, 127) as i8).collect());
        let scales: Vec<f32> = (0..o).map(|_| r.f(0.002, 0.02)).collect();
        let wq = Some(Quantization::per_axis(scales, vec![0; o], 0));
        let wt = g.add_tensor(Tensor::constant(format!("w{i}"), vec![o, k[0], k[1], cg], DType::I8, wq, wdata));
        let bias = TensorData::I32((0..o).map(|_| r.i(-3000, 3000)).collect());
        let b = g.add_tensor(Tensor::constant(format!("b{i}"), vec![o], DType::I32, None, bias));
        shape = vec![1, oh, ow, o];
        let y = g.add_tensor(Tensor::activation(format!("conv{i}"), shape.clone(), DType::I8, q(0.05, r.i(-20, 20))));
        let attrs = Conv2dAttrs { stride, dilation: [1, 1], padding: pad, groups, activation: Activation::Relu };
        g.add_node(format!("conv{i}"), Op::Conv2d(attrs), vec![cur, wt, b], vec![y]);
        cur = y;
        c = o;
        match r.u(0, 2) {
            0 if oh >= 2 && ow >= 2 => {
                shape = vec![1, oh / 2, ow / 2, c];
                let qy = g.tensor(cur).quant.clone();
                let p = g.add_tensor(Tensor::activation(format!("pool{i}"), shape.clone(), DType::I8, qy));
                let attrs = Pool2dAttrs {
                    kernel: [2, 2],
                    stride: [2, 2],
                    padding: Padding2d::default(),
                    activation: Activation::None,
                    count_include_pad: false,
                };
                let op = if r.u(0, 1) == 0 { Op::MaxPool2d(attrs) } else { Op::AveragePool2d(attrs) };
                g.add_node(format!("pool{i}"), op, vec![cur], vec![p]);
                cur = p;
            }
            1 => {
                let s =
                    g.add_tensor(Tensor::activation(format!("add{i}"), shape.clone(), DType::I8, q(0.08, r.i(-5, 5))));
                g.add_node(format!("add{i}"), Op::Add { activation: Activation::None }, vec![cur, cur], vec![s]);
                cur = s;
            }
            _ => {}
        }
    }
    let gap = g.add_tensor(Tensor::activation("gap", vec![1, c], DType::I8, q(0.04, r.i(-5, 5))));
    g.add_node("gap", Op::GlobalAveragePool, vec![cur], vec![gap]);
    let o = r.u(2, 12);
    let wdata = TensorData::I8((0..o * c).map(|_| r.i(-127, 127) as i8).collect());
    let wt = g.add_tensor(Tensor::constant("fc_w", vec![o, c], DType::I8, q(0.01, 0), wdata));
    let logits = g.add_tensor(Tensor::activation("logits", vec![1, o], DType::I8, q(0.1, r.i(-5, 5))));
    g.add_node("fc", Op::FullyConnected { activation: Activation::None }, vec![gap, wt], vec![logits]);
    let probs = g.add_tensor(Tensor::activation("probs", vec![1, o], DType::I8, q(1.0 / 256.0, -128)));
    g.add_node("softmax", Op::Softmax { beta: 1.0 }, vec![logits], vec![probs]);
    g.outputs.push(probs);
    let _: TensorId = probs;
    g
}
