//! Post-op layers: ADD, AVG_POOL, MAX_POOL, GLOBAL_AVG_POOL, with the rescale record
//! (`systole_arch::descriptor::PostParams`) filled from the model crate's own parameter
//! constructors, the ones the reference executor calls.

use super::proto::{act_signed, check, fit_i16, fit_u16, fit_u8, quant_of, requant_mode, words_le, Proto, Reason};
use systole_arch::descriptor::PostParams;
use systole_arch::{ArchConfig, LayerDescriptor, Opcode, RequantMode};
use systole_model::ir::{Activation, Graph, Node, Numerics, Pool2dAttrs, Tensor};
use systole_model::kernels::elementwise::TfliteAddParams;
use systole_model::kernels::pool::{Pool2dGeometry, TfliteMeanParams};
use systole_model::quant::{activation_range, storage_range};

/// The clamp of a fused activation on `out`, as the reference derives it.
fn act_range(out: &Tensor, activation: Activation) -> (i32, i32) {
    let (s, z) = quant_of(out);
    activation_range(activation, s, z, out.dtype)
}

fn same_type(x: &Tensor, out: &Tensor) -> Result<bool, Reason> {
    let signed = act_signed(x)?;
    if x.dtype != out.dtype {
        return Err(format!("input is {} but output is {}: the post-op units keep the type", x.dtype, out.dtype));
    }
    Ok(signed)
}

fn record(p: PostParams) -> Vec<u8> {
    words_le(&p.to_words())
}

/// `[n, h, w, c]` of a tensor the post-op units stream: NHWC as is, any other rank as rows of
/// its last dimension.
fn nhwc(shape: &[usize]) -> [usize; 4] {
    match *shape {
        [n, h, w, c] => [n, h, w, c],
        [] => [1, 1, 1, 1],
        [.., c] => [1, 1, shape.iter().product::<usize>() / c.max(1), c],
    }
}

fn finish(mut d: LayerDescriptor, cfg: &ArchConfig, params: Vec<u8>, summary: String) -> Result<Proto, Reason> {
    d.out_ch_stride = d.out_c;
    check(&d, cfg)?;
    Ok(Proto { desc: d, weights: Vec::new(), params, summary })
}

/// Element-wise ADD of two equal-shape tensors.
pub fn build_add(graph: &Graph, node: &Node, cfg: &ArchConfig, activation: Activation) -> Result<Proto, Reason> {
    let (Some(&ia), Some(&ib)) = (node.inputs.first(), node.inputs.get(1)) else {
        return Err("ADD needs two inputs".into());
    };
    let (a, b, out) = (graph.tensor(ia), graph.tensor(ib), graph.tensor(node.outputs[0]));
    if a.is_constant() || b.is_constant() {
        return Err("an operand is a constant; the add unit streams two activations".into());
    }
    if a.shape != b.shape || a.shape != out.shape {
        return Err(format!("shapes {:?} + {:?} broadcast; the add unit needs equal shapes", a.shape, b.shape));
    }
    let in_signed = same_type(a, out)?;
    same_type(b, out)?;
    let ((sa, za), (sb, zb), (so, zo)) = (quant_of(a), quant_of(b), quant_of(out));
    let (lo, hi) = act_range(out, activation);
    let requant = requant_mode(graph.numerics);
    let params = match graph.numerics {
        Numerics::Tflite => {
            let p = TfliteAddParams::new(sa, za, sb, zb, so, zo, lo, hi);
            PostParams::AddFixed {
                left_shift: p.left_shift,
                input1_multiplier: p.input1_multiplier,
                input1_shift: p.input1_shift,
                input2_multiplier: p.input2_multiplier,
                input2_shift: p.input2_shift,
                output_multiplier: p.output_multiplier,
                output_shift: p.output_shift,
            }
        }
        Numerics::Onnxruntime => {
            // MLAS takes its "scalar operand" path for one-element tensors: a different formula.
            if a.element_count() < 2 {
                return Err("onnxruntime adds one-element tensors with its scalar kernel".into());
            }
            PostParams::AddFloat { a_scale: sa, b_scale: sb, y_scale: so }
        }
    };
    let [n, h, w, c] = nhwc(&a.shape);
    let d = LayerDescriptor {
        opcode: Some(Opcode::Add),
        requant,
        in_signed,
        in2_signed: in_signed,
        out_signed: in_signed,
        batch: fit_u16("BATCH", n)?,
        in_h: fit_u16("IN_H", h)?,
        in_w: fit_u16("IN_W", w)?,
        in_c: fit_u16("IN_C", c)?,
        out_h: fit_u16("OUT_H", h)?,
        out_w: fit_u16("OUT_W", w)?,
        out_c: fit_u16("OUT_C", c)?,
        in_zp: fit_i16("IN_ZP", za)?,
        in2_zp: fit_i16("IN2_ZP", zb)?,
        out_zp: fit_i16("OUT_ZP", zo)?,
        act_min: fit_i16("ACT_MIN", lo)?,
        act_max: fit_i16("ACT_MAX", hi)?,
        ..LayerDescriptor::default()
    };
    finish(d, cfg, record(params), format!("ADD {requant:?}: {} elements", a.element_count()))
}

/// AVG_POOL / MAX_POOL over an NHWC window.
pub fn build_pool(graph: &Graph, node: &Node, cfg: &ArchConfig, p: &Pool2dAttrs, max: bool) -> Result<Proto, Reason> {
    let x = graph.tensor(node.inputs[0]);
    let out = graph.tensor(node.outputs[0]);
    let signed = same_type(x, out)?;
    let g = Pool2dGeometry::new(&x.shape, p).map_err(|e| e.0)?;
    let ((xs, xz), (ys, yz)) = (quant_of(x), quant_of(out));
    let (lo, hi) = act_range(out, p.activation);
    // TFLite's integer average never rescales; onnxruntime's averages in float.
    let (requant, params) = match (max, graph.numerics) {
        (true, _) | (false, Numerics::Tflite) => (RequantMode::None, Vec::new()),
        (false, Numerics::Onnxruntime) => {
            (RequantMode::Float, record(PostParams::PoolFloat { x_scale: xs, y_scale: ys }))
        }
    };
    let d = LayerDescriptor {
        opcode: Some(if max { Opcode::MaxPool } else { Opcode::AvgPool }),
        requant,
        in_signed: signed,
        out_signed: signed,
        count_include_pad: !max && p.count_include_pad,
        batch: fit_u16("BATCH", g.batch)?,
        in_h: fit_u16("IN_H", g.in_h)?,
        in_w: fit_u16("IN_W", g.in_w)?,
        in_c: fit_u16("IN_C", g.channels)?,
        out_h: fit_u16("OUT_H", g.out_h)?,
        out_w: fit_u16("OUT_W", g.out_w)?,
        out_c: fit_u16("OUT_C", g.channels)?,
        kernel_h: fit_u8("KERNEL_H", p.kernel[0])?,
        kernel_w: fit_u8("KERNEL_W", p.kernel[1])?,
        stride_h: fit_u8("STRIDE_H", p.stride[0])?,
        stride_w: fit_u8("STRIDE_W", p.stride[1])?,
        pad_top: fit_u8("PAD_TOP", p.padding.top)?,
        pad_left: fit_u8("PAD_LEFT", p.padding.left)?,
        pad_bottom: fit_u8("PAD_BOTTOM", p.padding.bottom)?,
        pad_right: fit_u8("PAD_RIGHT", p.padding.right)?,
        in_zp: fit_i16("IN_ZP", xz)?,
        out_zp: fit_i16("OUT_ZP", yz)?,
        act_min: fit_i16("ACT_MIN", lo)?,
        act_max: fit_i16("ACT_MAX", hi)?,
        ..LayerDescriptor::default()
    };
    let what = if max { "MAX_POOL" } else { "AVG_POOL" };
    finish(d, cfg, params, format!("{what} {requant:?}: {}x{} window", p.kernel[0], p.kernel[1]))
}

/// GLOBAL_AVG_POOL: the mean over H and W of an NHWC tensor.
pub fn build_global_pool(graph: &Graph, node: &Node, cfg: &ArchConfig) -> Result<Proto, Reason> {
    let x = graph.tensor(node.inputs[0]);
    let out = graph.tensor(node.outputs[0]);
    let signed = same_type(x, out)?;
    let &[n, h, w, c] = x.shape.as_slice() else { return Err(format!("input {:?} is not NHWC", x.shape)) };
    let ((xs, xz), (ys, yz)) = (quant_of(x), quant_of(out));
    let (requant, params) = match graph.numerics {
        Numerics::Tflite => match TfliteMeanParams::new(xs, xz, ys, yz) {
            TfliteMeanParams::SameQuant => (RequantMode::None, Vec::new()),
            TfliteMeanParams::Rescale { multiplier, shift, .. } => {
                (RequantMode::Fixed, record(PostParams::MeanFixed { multiplier, shift }))
            }
        },
        Numerics::Onnxruntime => {
            if h * w >= 0x100_0000 {
                return Err(format!("image of {} pixels is beyond MLAS's global pool", h * w));
            }
            (RequantMode::Float, record(PostParams::PoolFloat { x_scale: xs, y_scale: ys }))
        }
    };
    let (lo, hi) = storage_range(out.dtype);
    let d = LayerDescriptor {
        opcode: Some(Opcode::GlobalAvgPool),
        requant,
        in_signed: signed,
        out_signed: signed,
        batch: fit_u16("BATCH", n)?,
        in_h: fit_u16("IN_H", h)?,
        in_w: fit_u16("IN_W", w)?,
        in_c: fit_u16("IN_C", c)?,
        out_h: 1,
        out_w: 1,
        out_c: fit_u16("OUT_C", c)?,
        in_zp: fit_i16("IN_ZP", xz)?,
        out_zp: fit_i16("OUT_ZP", yz)?,
        act_min: fit_i16("ACT_MIN", lo)?,
        act_max: fit_i16("ACT_MAX", hi)?,
        ..LayerDescriptor::default()
    };
    finish(d, cfg, params, format!("GLOBAL_AVG_POOL {requant:?}: {h}x{w} image"))
}
