//! CMSIS-NN-like single-layer graphs with random geometry and quantisation, built in code through
//! the IR, on random engine shapes: the functional model equals the reference byte for byte.
//! Plus small multi-layer graphs for every fold (pad, clamp, concat slices, NCHW flatten).
//!
//! Cases come from a seeded generator, so a failure names a reproducible seed.

mod common;

use common::{compare, full};
use systole_arch::ArchConfig;
use systole_host::lower::partition::Placement;
use systole_model::ir::{
    Activation, Conv2dAttrs, DType, Graph, Numerics, Op, Padding2d, Pool2dAttrs, Quantization, SourceFormat, Tensor,
    TensorData, TensorId, Value,
};
use systole_model::shape::window_output;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: small, seedable, good enough for test data.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
    fn u(&mut self, lo: usize, hi: usize) -> usize {
        self.int(lo as i64, hi as i64) as usize
    }
    fn f(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * (self.next() % 1_000_000) as f32 / 1_000_000.0
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.u(0, v.len() - 1)]
    }
}

/// A graph under construction with random-but-valid quantisation.
struct B {
    g: Graph,
    rng: Rng,
    dtype: DType,
}

impl B {
    fn new(seed: u64, numerics: Numerics) -> B {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let dtype = if rng.chance(25) { DType::U8 } else { DType::I8 };
        B { g: Graph::new(format!("case_{seed}"), SourceFormat::Synthetic, numerics), rng, dtype }
    }

    fn zp(&mut self) -> i32 {
        match self.dtype {
            DType::U8 => self.rng.int(60, 190) as i32,
            _ => self.rng.int(-40, 40) as i32,
        }
    }

    fn act(&mut self, name: &str, shape: Vec<usize>, scale: f32) -> TensorId {
        let zp = self.zp();
        self.g.add_tensor(Tensor::activation(name, shape, self.dtype, Some(Quantization::per_tensor(scale, zp))))
    }

    fn same_quant_as(&mut self, name: &str, shape: Vec<usize>, like: TensorId) -> TensorId {
        let q = self.g.tensor(like).quant.clone();
        self.g.add_tensor(Tensor::activation(name, shape, self.dtype, q))
    }

    fn activation(&mut self) -> Activation {
        self.rng.pick(&[Activation::None, Activation::Relu, Activation::Relu6, Activation::None])
    }

    fn scale_of(&self, t: TensorId) -> f32 {
        self.g.tensor(t).quant.as_ref().map_or(1.0, |q| q.scale[0])
    }

    /// Weights `[o, ..rest]` (per-channel int8 symmetric, or uint8 with zero points), bias.
    fn weights(&mut self, name: &str, shape: Vec<usize>, k: usize) -> (TensorId, f32) {
        let o = shape[0];
        let n: usize = shape.iter().product();
        let scales: Vec<f32> = (0..o).map(|_| self.rng.f(0.002, 0.02)).collect();
        let unsigned = self.dtype == DType::U8 && self.rng.chance(70);
        let (dtype, data, zps) = if unsigned {
            let zps: Vec<i32> = if self.rng.chance(50) {
                vec![self.rng.int(100, 150) as i32]
            } else {
                (0..o).map(|_| self.rng.int(90, 160) as i32).collect()
            };
            (DType::U8, TensorData::U8((0..n).map(|_| self.rng.int(0, 255) as u8).collect()), zps)
        } else {
            let zps =
                if self.rng.chance(15) { (0..o).map(|_| self.rng.int(-5, 5) as i32).collect() } else { vec![0; o] };
            (DType::I8, TensorData::I8((0..n).map(|_| self.rng.int(-127, 127) as i8).collect()), zps)
        };
        let q = if zps.len() == 1 && self.rng.chance(50) {
            Quantization::per_tensor(scales[0], zps[0])
        } else {
            let zps = if zps.len() == 1 { vec![zps[0]; o] } else { zps };
            Quantization::per_axis(scales, zps, 0)
        };
        let mean_scale = q.scale.iter().sum::<f32>() / q.scale.len() as f32;
        let w = self.g.add_tensor(Tensor::constant(name, shape, dtype, Some(q), data));
        (w, mean_scale * (k as f32).sqrt())
    }

    fn bias(&mut self, o: usize) -> Option<TensorId> {
        if self.rng.chance(20) {
            return None;
        }
        let data = (0..o).map(|_| self.rng.int(-6000, 6000) as i32).collect();
        Some(self.g.add_tensor(Tensor::constant("bias", vec![o], DType::I32, None, TensorData::I32(data))))
    }

    fn input_value(&mut self, t: TensorId) -> Value {
        let t = self.g.tensor(t).clone();
        let n = t.element_count();
        let data = match t.dtype {
            DType::U8 => TensorData::U8((0..n).map(|_| self.rng.int(0, 255) as u8).collect()),
            _ => TensorData::I8((0..n).map(|_| self.rng.int(-128, 127) as i8).collect()),
        };
        Value::new(t.shape, data)
    }

    /// A conv node from `x` with random weights; returns its output.
    fn conv(&mut self, x: TensorId, attrs: Conv2dAttrs, kernel: [usize; 2], out_c: usize) -> TensorId {
        let [n, h, w, c] = self.g.tensor(x).shape[..] else { panic!("conv input not 4-D") };
        let p = attrs.padding;
        let oh = window_output(h, p.top, p.bottom, kernel[0], attrs.stride[0], attrs.dilation[0]).expect("fits");
        let ow = window_output(w, p.left, p.right, kernel[1], attrs.stride[1], attrs.dilation[1]).expect("fits");
        let cg = c / attrs.groups;
        let (wt, spread) = self.weights("w", vec![out_c, kernel[0], kernel[1], cg], kernel[0] * kernel[1] * cg);
        let b = self.bias(out_c);
        let out_scale = self.scale_of(x) * spread * self.rng.f(20.0, 60.0);
        let y = self.act("y", vec![n, oh, ow, out_c], out_scale);
        let mut inputs = vec![x, wt];
        inputs.extend(b);
        self.g.add_node("conv", Op::Conv2d(attrs), inputs, vec![y]);
        y
    }

    fn fc(&mut self, x: TensorId, rows: usize, k: usize, o: usize) -> TensorId {
        let (wt, spread) = self.weights("w", vec![o, k], k);
        let b = self.bias(o);
        let out_scale = self.scale_of(x) * spread * self.rng.f(20.0, 60.0);
        let y = self.act("y", vec![rows, o], out_scale);
        let mut inputs = vec![x, wt];
        inputs.extend(b);
        let activation = self.activation();
        self.g.add_node("fc", Op::FullyConnected { activation }, inputs, vec![y]);
        y
    }

    fn finish(mut self, x: TensorId, y: TensorId) -> (Graph, Value) {
        self.g.inputs = vec![x];
        self.g.outputs = vec![y];
        let v = self.input_value(x);
        (self.g, v)
    }
}

fn numerics(seed: u64) -> Numerics {
    if seed.is_multiple_of(2) {
        Numerics::Tflite
    } else {
        Numerics::Onnxruntime
    }
}

fn conv_case(seed: u64) -> (Graph, Value) {
    let mut b = B::new(seed, numerics(seed));
    loop {
        let r = &mut b.rng;
        let (n, h, w) = (r.u(1, 2), r.u(1, 9), r.u(1, 9));
        let kind = r.u(0, 2);
        let (groups, cg, og) = match kind {
            0 => (1, r.u(1, 20), r.u(1, 20)),
            1 => {
                let g = r.u(2, 4);
                (g, r.u(1, 6), r.u(1, 5))
            }
            _ => (r.u(1, 12), 1, r.u(1, 3)),
        };
        let groups = if kind == 2 { groups } else { groups.max(1) };
        let kernel = [r.u(1, 4), r.u(1, 4)];
        let stride = [r.u(1, 3), r.u(1, 3)];
        let dilation = [r.u(1, 3), r.u(1, 3)];
        let padding = Padding2d { top: r.u(0, 3), left: r.u(0, 3), bottom: r.u(0, 3), right: r.u(0, 3) };
        let fits = window_output(h, padding.top, padding.bottom, kernel[0], stride[0], dilation[0]).is_some()
            && window_output(w, padding.left, padding.right, kernel[1], stride[1], dilation[1]).is_some();
        if !fits {
            continue;
        }
        let in_scale = b.rng.f(0.01, 0.1);
        let x = b.act("x", vec![n, h, w, groups * cg], in_scale);
        let activation = b.activation();
        let attrs = Conv2dAttrs { stride, dilation, padding, groups, activation };
        let y = b.conv(x, attrs, kernel, groups * og);
        return b.finish(x, y);
    }
}

fn fc_case(seed: u64) -> (Graph, Value) {
    let mut b = B::new(seed, numerics(seed));
    let (rows, k, o) = (b.rng.u(1, 4), b.rng.u(1, 70), b.rng.u(1, 40));
    let s = b.rng.f(0.01, 0.1);
    let x = b.act("x", vec![rows, k], s);
    let y = b.fc(x, rows, k, o);
    b.finish(x, y)
}

fn add_case(seed: u64) -> (Graph, Value) {
    let mut b = B::new(seed, numerics(seed));
    let shape = if b.rng.chance(50) {
        vec![b.rng.u(1, 2), b.rng.u(1, 6), b.rng.u(1, 6), b.rng.u(1, 12)]
    } else {
        vec![b.rng.u(1, 3), b.rng.u(2, 40)]
    };
    // The second operand is computed from the first (a FC or conv would do; a requantising
    // clamp keeps the test to the add unit): y = add(x, x2) with x2 = maxpool 1x1 of x.
    let sx = b.rng.f(0.01, 0.1);
    let x = b.act("x", shape.clone(), sx);
    let x2 = if shape.len() == 4 {
        let t = b.same_quant_as("x2", shape.clone(), x);
        let p = Pool2dAttrs {
            kernel: [1, 1],
            stride: [1, 1],
            padding: Padding2d::default(),
            activation: Activation::None,
            count_include_pad: false,
        };
        b.g.add_node("copy", Op::MaxPool2d(p), vec![x], vec![t]);
        t
    } else {
        x
    };
    // Inputs in different quantisation: rescale x2 through a requantising Quantize on the host.
    let s2 = b.rng.f(0.01, 0.1);
    let x3 = b.act("x3", shape.clone(), s2);
    b.g.add_node("requant", Op::Quantize, vec![x2], vec![x3]);
    let so = b.rng.f(0.02, 0.2);
    let y = b.act("y", shape, so);
    let activation = b.activation();
    b.g.add_node("add", Op::Add { activation }, vec![x, x3], vec![y]);
    b.finish(x, y)
}

fn pool_case(seed: u64) -> (Graph, Value) {
    let mut b = B::new(seed, numerics(seed));
    let ort = b.g.numerics == Numerics::Onnxruntime;
    let r = &mut b.rng;
    let (n, h, w, c) = (r.u(1, 2), r.u(1, 9), r.u(1, 9), r.u(1, 10));
    let kernel = [r.u(1, 3.min(h)), r.u(1, 3.min(w))];
    let stride = [r.u(1, 3), r.u(1, 3)];
    let padding = Padding2d {
        top: r.u(0, kernel[0] - 1),
        left: r.u(0, kernel[1] - 1),
        bottom: r.u(0, kernel[0] - 1),
        right: r.u(0, kernel[1] - 1),
    };
    let max = r.chance(40);
    let count_include_pad = ort && r.chance(50);
    let oh = window_output(h, padding.top, padding.bottom, kernel[0], stride[0], 1).expect("fits");
    let ow = window_output(w, padding.left, padding.right, kernel[1], stride[1], 1).expect("fits");
    let sx = b.rng.f(0.01, 0.1);
    let x = b.act("x", vec![n, h, w, c], sx);
    // TFLite pools keep the quantisation; onnxruntime's average may rescale.
    let sy = sx * b.rng.f(0.5, 2.0);
    let y = if ort && !max { b.act("y", vec![n, oh, ow, c], sy) } else { b.same_quant_as("y", vec![n, oh, ow, c], x) };
    let activation = b.activation();
    let p = Pool2dAttrs { kernel, stride, padding, activation, count_include_pad };
    let op = if max { Op::MaxPool2d(p) } else { Op::AveragePool2d(p) };
    b.g.add_node("pool", op, vec![x], vec![y]);
    b.finish(x, y)
}

fn global_pool_case(seed: u64) -> (Graph, Value) {
    let mut b = B::new(seed, numerics(seed));
    let (n, h, w, c) = (b.rng.u(1, 2), b.rng.u(1, 9), b.rng.u(1, 9), b.rng.u(1, 20));
    let sx = b.rng.f(0.01, 0.1);
    let x = b.act("x", vec![n, h, w, c], sx);
    let shape = if b.rng.chance(50) { vec![n, 1, 1, c] } else { vec![n, c] };
    let y = if b.rng.chance(30) {
        b.same_quant_as("y", shape, x)
    } else {
        let s = sx * b.rng.f(0.3, 3.0);
        b.act("y", shape, s)
    };
    b.g.add_node("gap", Op::GlobalAveragePool, vec![x], vec![y]);
    b.finish(x, y)
}

/// A random engine: R, C, PB small and odd so every tiling corner appears.
fn random_cfg(seed: u64) -> ArchConfig {
    let mut r = Rng(seed ^ 0x5eed);
    let rows = r.pick(&[1u32, 2, 3, 4, 5, 8, 16]);
    let cols = r.pick(&[1u32, 2, 3, 4, 8, 16]);
    full(&format!("r{rows}c{cols}"), rows, cols, r.int(1, 9) as u32)
}

/// Runs `count` cases of `make` on a random engine and on 16 x 16; the node named `node` must be
/// an engine layer (or folded into one) in at least `min_engine_percent` of the runs (host
/// placements are printed with their reason).
fn run_cases(kind: &str, count: u64, make: fn(u64) -> (Graph, Value), node: &str, min_engine_percent: usize) {
    let mut failures = Vec::new();
    let (mut on_engine, mut runs) = (0, 0);
    for seed in 0..count {
        let (graph, input) = make(seed);
        for cfg in [random_cfg(seed), full("a16x16", 16, 16, 256)] {
            let model = common::load(&graph, &cfg);
            let p = &model.image().metadata.partition;
            runs += 1;
            match p.iter().find(|r| r.node == node) {
                Some(r) if r.placement != Placement::Host => on_engine += 1,
                Some(r) => println!("{kind} seed {seed} on {}: {node} on the host: {}", cfg.name, r.detail),
                None => failures.push(format!("{kind} seed {seed}: no node {node}")),
            }
            if let Err(e) = compare(&graph, &model, std::slice::from_ref(&input)) {
                failures.push(format!(
                    "{kind} seed {seed} on {} ({}x{} PB {}): {e}",
                    cfg.name, cfg.rows, cfg.cols, cfg.psum_depth
                ));
            }
        }
    }
    println!("{kind}: {node} on the engine (or folded) in {on_engine} of {runs} runs");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    assert!(on_engine * 100 >= runs * min_engine_percent, "{kind}: only {on_engine} of {runs} on the engine");
}

#[test]
fn random_convolutions() {
    run_cases("conv", 300, conv_case, "conv", 100);
}

#[test]
fn random_fully_connected() {
    run_cases("fc", 150, fc_case, "fc", 100);
}

#[test]
fn random_adds() {
    run_cases("add", 150, add_case, "add", 95);
}

#[test]
fn random_pools() {
    run_cases("pool", 200, pool_case, "pool", 100);
}

#[test]
fn random_global_pools() {
    run_cases("global pool", 150, global_pool_case, "gap", 100);
}

/// A stride-1 conv whose window fits an input of `[_, h, w, _]`.
fn small_conv_attrs(b: &mut B, x: TensorId, groups: usize) -> (Conv2dAttrs, [usize; 2]) {
    let [_, h, w, _] = b.g.tensor(x).shape[..] else { panic!("not NHWC") };
    let padding = Padding2d { top: b.rng.u(0, 1), left: b.rng.u(0, 1), bottom: b.rng.u(0, 1), right: b.rng.u(0, 1) };
    let k = [b.rng.u(1, 3.min(h + padding.top + padding.bottom)), b.rng.u(1, 3.min(w + padding.left + padding.right))];
    let activation = b.activation();
    (Conv2dAttrs { stride: [1, 1], dilation: [1, 1], padding, groups, activation }, k)
}

/// Pad (zero point) -> conv: the pad folds into the conv's padding.
fn pad_conv_case(seed: u64) -> (Graph, Value) {
    let mut b = B::new(seed, numerics(seed));
    let (h, w, c) = (b.rng.u(2, 7), b.rng.u(2, 7), b.rng.u(1, 8));
    let s = b.rng.f(0.01, 0.1);
    let x = b.act("x", vec![1, h, w, c], s);
    let pads = vec![(0, 0), (b.rng.u(0, 2), b.rng.u(0, 2)), (b.rng.u(0, 2), b.rng.u(0, 2)), (0, 0)];
    let padded = b.same_quant_as("padded", vec![1, h + pads[1].0 + pads[1].1, w + pads[2].0 + pads[2].1, c], x);
    let value = if b.rng.chance(50) { None } else { Some(b.g.tensor(x).zero_point()) };
    b.g.add_node("pad", Op::Pad { pads, value }, vec![x], vec![padded]);
    let groups = if b.rng.chance(50) { c } else { 1 };
    let (attrs, k) = small_conv_attrs(&mut b, padded, groups);
    let o = if groups == 1 { b.rng.u(1, 12) } else { c * b.rng.u(1, 2) };
    let y = b.conv(padded, attrs, k, o);
    b.finish(x, y)
}

/// conv -> Clamp in the same quantisation: the clamp narrows the conv's output range.
fn clamp_case(seed: u64) -> (Graph, Value) {
    let mut b = B::new(seed, numerics(seed));
    let s = b.rng.f(0.01, 0.1);
    let shape = vec![1, b.rng.u(1, 6), b.rng.u(1, 6), b.rng.u(1, 8)];
    let x = b.act("x", shape, s);
    let (mut attrs, k) = small_conv_attrs(&mut b, x, 1);
    attrs.activation = Activation::None;
    let o = b.rng.u(1, 10);
    let y = b.conv(x, attrs, k, o);
    let shape = b.g.tensor(y).shape.clone();
    let z = b.same_quant_as("z", shape, y);
    let activation = b.rng.pick(&[Activation::Relu, Activation::Relu6, Activation::ReluN1To1]);
    b.g.add_node("clamp", Op::Clamp { activation }, vec![y], vec![z]);
    b.finish(x, z)
}

/// Two convs (or a conv and a pool) -> Concat on channels -> conv: the producers write slices.
fn concat_case(seed: u64) -> (Graph, Value) {
    let mut b = B::new(seed, numerics(seed));
    let (h, w, c) = (b.rng.u(1, 6), b.rng.u(1, 6), b.rng.u(1, 8));
    let s = b.rng.f(0.01, 0.1);
    let x = b.act("x", vec![1, h, w, c], s);
    let same = Padding2d { top: 1, left: 1, bottom: 1, right: 1 };
    let attrs =
        Conv2dAttrs { stride: [1, 1], dilation: [1, 1], padding: same, groups: 1, activation: Activation::Relu };
    let o1 = b.rng.u(1, 9);
    let y1 = b.conv(x, attrs.clone(), [3, 3], o1);
    let y2 = if b.rng.chance(50) {
        let o2 = b.rng.u(1, 9);
        b.conv(x, Conv2dAttrs { padding: Padding2d::default(), ..attrs.clone() }, [1, 1], o2)
    } else {
        let t = b.same_quant_as("pooled", vec![1, h, w, c], x);
        let p = Pool2dAttrs {
            kernel: [1, 1],
            stride: [1, 1],
            padding: Padding2d::default(),
            activation: Activation::None,
            count_include_pad: false,
        };
        b.g.add_node("pool", Op::MaxPool2d(p), vec![x], vec![t]);
        t
    };
    // Concat needs one quantisation: requantise y2 to y1's on the host if they differ, so the
    // concat itself folds only when the producers already agree.
    let c2 = *b.g.tensor(y2).shape.last().unwrap_or(&1);
    let y2q = if b.rng.chance(70) {
        // Make the second producer's output quantisation equal to the first's.
        let q = b.g.tensor(y1).quant.clone();
        b.g.tensors[y2].quant = q;
        y2
    } else {
        let t = b.same_quant_as("y2q", vec![1, h, w, c2], y1);
        b.g.add_node("requant", Op::Quantize, vec![y2], vec![t]);
        t
    };
    let c1 = *b.g.tensor(y1).shape.last().unwrap_or(&1);
    let cat = b.same_quant_as("cat", vec![1, h, w, c1 + c2], y1);
    let order = if b.rng.chance(50) { vec![y1, y2q] } else { vec![y2q, y1] };
    b.g.add_node("concat", Op::Concat { axis: 3, activation: Activation::None }, order, vec![cat]);
    let (attrs, k) = small_conv_attrs(&mut b, cat, 1);
    let o = b.rng.u(1, 6);
    let z = b.conv(cat, attrs, k, o);
    b.finish(x, z)
}

/// conv (NHWC) -> Transpose to NCHW -> Reshape [N, C*H*W] -> FC: the NCHW flatten folds into
/// the FC's weight order.
fn flatten_case(seed: u64) -> (Graph, Value) {
    let mut b = B::new(seed, numerics(seed));
    let (n, h, w, c) = (b.rng.u(1, 2), b.rng.u(1, 5), b.rng.u(1, 5), b.rng.u(1, 6));
    let s = b.rng.f(0.01, 0.1);
    let x = b.act("x", vec![n, h, w, c], s);
    let (attrs, k) = small_conv_attrs(&mut b, x, 1);
    let o = b.rng.u(1, 8);
    let y = b.conv(x, attrs, k, o);
    let [_, oh, ow, oc] = b.g.tensor(y).shape[..] else { unreachable!() };
    let t = b.same_quant_as("nchw", vec![n, oc, oh, ow], y);
    b.g.add_node("to_nchw", Op::Transpose { perm: vec![0, 3, 1, 2] }, vec![y], vec![t]);
    let f = b.same_quant_as("flat", vec![n, oc * oh * ow], y);
    b.g.add_node("flatten", Op::Reshape, vec![t], vec![f]);
    let outs = b.rng.u(1, 12);
    let z = b.fc(f, n, oc * oh * ow, outs);
    b.finish(x, z)
}

#[test]
fn pad_folds_into_the_conv() {
    run_cases("pad+conv", 150, pad_conv_case, "pad", 100);
}

#[test]
fn clamp_folds_into_the_producer() {
    run_cases("conv+clamp", 150, clamp_case, "clamp", 90);
}

#[test]
fn concat_becomes_channel_slices() {
    run_cases("concat", 150, concat_case, "concat", 60);
}

#[test]
fn nchw_flatten_folds_into_the_fc() {
    run_cases("flatten", 150, flatten_case, "to_nchw", 100);
}
