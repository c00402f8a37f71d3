//! The post-op layers (ADD, AVG_POOL, MAX_POOL, GLOBAL_AVG_POOL): inputs and the rescale record
//! read from DRAM, the model crate's kernels applied with exactly those parameters, the final
//! [ACT_MIN, ACT_MAX] clamp, and the write-back with the output channel stride and offset.

use super::dram::Dram;
use crate::sequencer::Fault;
use systole_arch::descriptor::{param_kind, ParamKind, PostParams, POST_PARAM_WORDS};
use systole_arch::regmap::ErrorCode;
use systole_arch::{LayerDescriptor, Opcode};
use systole_model::ir::{Activation, Pool2dAttrs};
use systole_model::kernels::elementwise::{add_ort, add_tflite, OrtBinaryQuant, TfliteAddParams};
use systole_model::kernels::pool::{
    avg_pool_ort, avg_pool_tflite, global_avg_pool_ort, max_pool, mean_hw_tflite, GlobalPoolGeometry, OrtPoolQuant,
    Pool2dGeometry, TfliteMeanParams,
};
use systole_model::kernels::QType;

/// The two activation types, as bytes in DRAM.
trait Byte: QType {
    fn from_byte(b: u8) -> Self;
    fn to_byte(self) -> u8;
}

impl Byte for i8 {
    fn from_byte(b: u8) -> Self {
        b as i8
    }
    fn to_byte(self) -> u8 {
        self as u8
    }
}

impl Byte for u8 {
    fn from_byte(b: u8) -> Self {
        b
    }
    fn to_byte(self) -> u8 {
        self
    }
}

fn pool_geometry(d: &LayerDescriptor) -> Result<Pool2dGeometry, String> {
    let attrs = Pool2dAttrs {
        kernel: [d.kernel_h as usize, d.kernel_w as usize],
        stride: [d.stride_h as usize, d.stride_w as usize],
        padding: d.padding(),
        activation: Activation::None,
        count_include_pad: d.count_include_pad,
    };
    let g = Pool2dGeometry::new(&[d.batch as usize, d.in_h as usize, d.in_w as usize, d.in_c as usize], &attrs)
        .map_err(|e| e.0)?;
    Ok(g)
}

fn compute<T: Byte>(
    d: &LayerDescriptor,
    record: Option<PostParams>,
    x: &[u8],
    y: Option<&[u8]>,
    out_len: usize,
) -> Result<Vec<u8>, String> {
    let x: Vec<T> = x.iter().map(|&b| T::from_byte(b)).collect();
    let mut out = vec![T::default(); out_len];
    let (zin, zout, lo, hi) = (d.in_zp as i32, d.out_zp as i32, d.act_min as i32, d.act_max as i32);
    let pool_q = |x_scale: f32, y_scale: f32| OrtPoolQuant { x_scale, x_zero_point: zin, y_scale, y_zero_point: zout };
    let opcode = d.opcode.ok_or("no opcode")?;
    match (opcode, record) {
        (Opcode::Add, Some(rec)) => {
            let y: Vec<T> = y.ok_or("ADD without a second input")?.iter().map(|&b| T::from_byte(b)).collect();
            let n = [x.len()];
            match rec {
                PostParams::AddFixed {
                    left_shift,
                    input1_multiplier,
                    input1_shift,
                    input2_multiplier,
                    input2_shift,
                    output_multiplier,
                    output_shift,
                } => {
                    let p = TfliteAddParams {
                        input1_offset: -zin,
                        input2_offset: -(d.in2_zp as i32),
                        left_shift,
                        input1_multiplier,
                        input1_shift,
                        input2_multiplier,
                        input2_shift,
                        output_multiplier,
                        output_shift,
                        output_offset: zout,
                        act_min: lo,
                        act_max: hi,
                    };
                    add_tflite(&p, &n, &x, &n, &y, &n, &mut out)
                }
                PostParams::AddFloat { a_scale, b_scale, y_scale } => {
                    let q = OrtBinaryQuant {
                        a_scale,
                        a_zero_point: zin,
                        b_scale,
                        b_zero_point: d.in2_zp as i32,
                        y_scale,
                        y_zero_point: zout,
                        act_min: lo,
                        act_max: hi,
                    };
                    add_ort(&q, &n, &x, &n, &y, &n, &mut out)
                }
                other => return Err(format!("ADD with record {other:?}")),
            }
        }
        (Opcode::AvgPool, None) => avg_pool_tflite(&pool_geometry(d)?, d.count_include_pad, lo, hi, &x, &mut out),
        (Opcode::AvgPool, Some(PostParams::PoolFloat { x_scale, y_scale })) => {
            avg_pool_ort(&pool_geometry(d)?, d.count_include_pad, &pool_q(x_scale, y_scale), lo, hi, &x, &mut out)
        }
        (Opcode::MaxPool, None) => max_pool(&pool_geometry(d)?, lo, hi, &x, &mut out),
        (Opcode::GlobalAvgPool, rec) => {
            let g = GlobalPoolGeometry {
                batch: d.batch as usize,
                image_size: d.in_h as usize * d.in_w as usize,
                channels: d.in_c as usize,
            };
            match rec {
                None => mean_hw_tflite(&g, &TfliteMeanParams::SameQuant, &x, &mut out),
                Some(PostParams::MeanFixed { multiplier, shift }) => {
                    let p =
                        TfliteMeanParams::Rescale { multiplier, shift, input_zero_point: zin, output_zero_point: zout };
                    mean_hw_tflite(&g, &p, &x, &mut out)
                }
                Some(PostParams::PoolFloat { x_scale, y_scale }) => {
                    global_avg_pool_ort(&g, &pool_q(x_scale, y_scale), lo, hi, &x, &mut out)
                }
                Some(other) => return Err(format!("GLOBAL_AVG_POOL with record {other:?}")),
            }
        }
        (op, rec) => return Err(format!("{} with record {rec:?} is not an engine mode", op.name())),
    }
    .map_err(|e| e.0)?;
    // The unit's last stage: the output clamp (a no-op where the kernel already clamped).
    Ok(out.into_iter().map(|v| T::from_i32_sat(v.to_i32().clamp(lo, hi)).to_byte()).collect())
}

pub fn run_post(dram: &mut Dram, d: &LayerDescriptor) -> Result<(), Fault> {
    let geometry = |reason: String| Fault::new(ErrorCode::BadGeometry, reason);
    let opcode = d.opcode.ok_or_else(|| Fault::new(ErrorCode::BadOpcode, "no opcode"))?;
    let record = match param_kind(opcode, d.requant).map_err(|e| Fault::new(e.error_code(), e.to_string()))? {
        ParamKind::Post => {
            let words = dram.read_words(d.param_addr, POST_PARAM_WORDS).map_err(Fault::dma)?;
            PostParams::from_words(opcode, d.requant, &words).map_err(|e| Fault::new(e.error_code(), e.to_string()))?
        }
        ParamKind::None => None,
        ParamKind::PerChannel => return Err(geometry("per-channel params on a post-op layer".into())),
    };
    if d.in_signed != d.out_signed || (opcode == Opcode::Add && d.in2_signed != d.in_signed) {
        return Err(Fault::new(
            ErrorCode::Unsupported,
            "the post-op units keep the element type (IN_SIGNED = OUT_SIGNED)",
        ));
    }
    let in_len = d.batch as usize * d.in_h as usize * d.in_w as usize * d.in_c as usize;
    let pixels = d.batch as usize * d.out_h as usize * d.out_w as usize;
    let out_len = pixels * d.out_c as usize;
    let x = dram.read(d.input_addr, in_len).map_err(Fault::dma)?;
    let y = if opcode == Opcode::Add { Some(dram.read(d.input2_addr, in_len).map_err(Fault::dma)?) } else { None };
    let out =
        if d.in_signed { compute::<i8>(d, record, x, y, out_len) } else { compute::<u8>(d, record, x, y, out_len) }
            .map_err(geometry)?;
    let c = d.out_c as usize;
    for (p, px) in out.chunks(c.max(1)).enumerate() {
        let addr = d.output_addr + (p as u64) * d.out_ch_stride as u64 + d.out_ch_offset as u64;
        dram.write(addr, px).map_err(Fault::dma)?;
    }
    Ok(())
}
