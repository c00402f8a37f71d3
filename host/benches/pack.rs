//! Packing speed against a plain memcpy of the same bytes (no criterion: `harness = false`).
//!
//! `cargo bench -p systole-host --bench pack` builds a ~4 MB-of-weights conv stack, then times
//! `pack` (lower + DRAM plan + descriptors + weight tiling), `Image::to_bytes` (serialising with
//! CRC32s), `Image::from_bytes` (validating read) and a memcpy of the image's size. It reports
//! the ratios; it asserts nothing.

use std::hint::black_box;
use std::time::{Duration, Instant};
use systole_arch::{ArchConfig, PostOps, RequantModes};
use systole_host::{pack, Image, PackOptions};
use systole_model::ir::{
    Activation, Conv2dAttrs, DType, Graph, Numerics, Op, Padding2d, Quantization, SourceFormat, Tensor, TensorData,
};

/// `layers` 3x3 convs of `c` channels on an `hw` x `hw` image (weights `9 * c * c` bytes each).
fn model(layers: usize, c: usize, hw: usize) -> Graph {
    let mut g = Graph::new("bench", SourceFormat::Synthetic, Numerics::Tflite);
    let q = |s: f32| Some(Quantization::per_tensor(s, 0));
    let mut cur = g.add_tensor(Tensor::activation("x", vec![1, hw, hw, c], DType::I8, q(0.05)));
    g.inputs.push(cur);
    let mut seed = 0x1234_5678u32;
    for i in 0..layers {
        let data: Vec<i8> = (0..9 * c * c)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 24) as i8
            })
            .collect();
        let wq = Some(Quantization::per_axis(vec![0.01; c], vec![0; c], 0));
        let w = g.add_tensor(Tensor::constant(format!("w{i}"), vec![c, 3, 3, c], DType::I8, wq, TensorData::I8(data)));
        let b = g.add_tensor(Tensor::constant(format!("b{i}"), vec![c], DType::I32, None, TensorData::I32(vec![7; c])));
        let y = g.add_tensor(Tensor::activation(format!("y{i}"), vec![1, hw, hw, c], DType::I8, q(0.05)));
        let attrs = Conv2dAttrs {
            stride: [1, 1],
            dilation: [1, 1],
            padding: Padding2d { top: 1, left: 1, bottom: 1, right: 1 },
            groups: 1,
            activation: Activation::Relu,
        };
        g.add_node(format!("conv{i}"), Op::Conv2d(attrs), vec![cur, w, b], vec![y]);
        cur = y;
    }
    g.outputs.push(cur);
    g
}

/// Median of `runs` timings of `f`.
fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    let mut v: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed()
        })
        .collect();
    v.sort();
    v[runs / 2]
}

fn main() {
    let cfg = ArchConfig {
        requant: RequantModes { fixed: true, float: true },
        post_ops: PostOps { add: true, avg_pool: true, max_pool: true, global_avg_pool: true },
        ..ArchConfig::new("bench", 16, 16)
    };
    let graph = model(16, 176, 8);
    let weight_bytes: usize =
        graph.tensors.iter().filter(|t| t.dtype == DType::I8 && t.is_constant()).map(|t| t.element_count()).sum();
    let image = pack(&graph, &cfg, PackOptions::default()).expect("pack");
    let bytes = image.to_bytes();
    let n = bytes.len();
    let runs = 11;
    let t_pack = time(runs, || pack(&graph, &cfg, PackOptions::default()).expect("pack"));
    let t_write = time(runs, || image.to_bytes());
    let t_read = time(runs, || Image::from_bytes(&bytes).expect("read"));
    let mut dst = vec![0u8; n];
    let t_copy = time(runs, || {
        dst.copy_from_slice(black_box(&bytes));
        dst[n / 2]
    });
    let mbps = |d: Duration| n as f64 / d.as_secs_f64() / 1e6;
    println!("model: 16 x conv3x3 176->176 on 8x8, {weight_bytes} weight bytes; image {n} bytes");
    println!("{:<28} {:>10} {:>10} {:>9}", "step", "median", "MB/s", "x memcpy");
    for (name, d) in [
        ("pack (lower+plan+tile)", t_pack),
        ("to_bytes (serialise+CRC)", t_write),
        ("from_bytes (validating read)", t_read),
        ("pack + to_bytes", t_pack + t_write),
        ("memcpy of the image", t_copy),
    ] {
        println!("{name:<28} {:>8.2?} {:>10.1} {:>9.1}", d, mbps(d), d.as_secs_f64() / t_copy.as_secs_f64());
    }
}
