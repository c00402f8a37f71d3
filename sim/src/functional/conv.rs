//! The CONV layer's values, computed the way the array computes them (ENGINE.md loop nest) but
//! reordered for speed. What the array does: for every o-tile, pixel block and nonzero k-tile,
//! PE(r, c) adds `(x - zx) * (w - zw)` where row r's activation is the implicit im2col byte of
//! `arch::plan::expand_rows` (padding and idle rows feed the zero point, i.e. 0) and `w` is the
//! tile byte in DRAM; the psum starts at the bias; the C requant lanes apply
//! `quant::OutputStage`; the block is written back with the output channel stride and offset.
//!
//! The sum per (pixel, output channel) does not depend on the order of its terms (accumulators
//! are `acc_bits` wide and the requant lanes take the low 32 bits, so wrapping i32 arithmetic is
//! the same number), so here each o-tile's weight tiles are read once and reordered into a dense
//! `[column][k]` i32 matrix with the zero points subtracted (k = the used rows of every k-tile of
//! the o-tile, in plan order; idle rows dropped since their activation is 0), and for every
//! output pixel the matching im2col bytes are gathered into one contiguous vector: one dot
//! product per output byte, no allocation per pixel.

use super::dram::Dram;
use crate::sequencer::Fault;
use systole_arch::descriptor::{ChannelParams, PARAM_BYTES_PER_CHANNEL};
use systole_arch::plan::{pixel_coords, plan_conv, ConvGeometry, KTile};
use systole_arch::regmap::ErrorCode;
use systole_arch::{ArchConfig, LayerDescriptor, RequantMode};
use systole_model::quant::{OutputStage, Requant};

fn byte(signed: bool, b: u8) -> i32 {
    if signed {
        b as i8 as i32
    } else {
        b as i32
    }
}

/// The requant stage and weight zero points of the layer's output channels.
fn output_stage(d: &LayerDescriptor, params: &[ChannelParams]) -> Result<(OutputStage, Vec<i32>), Fault> {
    let requant = match d.requant {
        RequantMode::Fixed => Requant::Fixed {
            multiplier: params.iter().map(|p| p.multiplier_or_scale as i32).collect(),
            shift: params.iter().map(|p| p.shift).collect(),
        },
        RequantMode::Float => {
            Requant::Float { scale: params.iter().map(|p| f32::from_bits(p.multiplier_or_scale)).collect() }
        }
        RequantMode::None => return Err(Fault::new(ErrorCode::BadGeometry, "CONV without a requant mode")),
    };
    let (qmin, qmax) = if d.out_signed { (-128, 127) } else { (0, 255) };
    let stage = OutputStage {
        requant,
        zero_point: d.out_zp as i32,
        qmin,
        qmax,
        act_min: d.act_min as i32,
        act_max: d.act_max as i32,
    };
    let zw = params.iter().map(|p| if d.weight_zp_per_channel { p.weight_zp as i32 } else { d.weight_zp as i32 });
    Ok((stage, zw.collect()))
}

/// Gathers the im2col activations (zero point subtracted) of output pixel `p` for `k_tiles`
/// into `out` (used rows only, in plan order); positions in the padding are 0.
fn gather(geom: &ConvGeometry, xin: &[i32], k_tiles: &[KTile], p: usize, out: &mut [i32]) {
    let (n, oy, ox) = pixel_coords(geom, p);
    let (h, w) = (geom.in_h as i64, geom.in_w as i64);
    let mut at = 0;
    for kt in k_tiles {
        let iy = (oy * geom.stride[0] + kt.ky * geom.dilation[0]) as i64 - geom.padding.top as i64;
        for j in 0..kt.nx {
            let dst = &mut out[at..at + kt.nc];
            at += kt.nc;
            let ix = (ox * geom.stride[1] + (kt.kx0 + j) * geom.dilation[1]) as i64 - geom.padding.left as i64;
            if iy < 0 || ix < 0 || iy >= h || ix >= w {
                dst.fill(0);
            } else {
                let off = geom.input_offset(n as i64, iy, ix, kt.c0 as i64) as usize;
                dst.copy_from_slice(&xin[off..off + kt.nc]);
            }
        }
    }
}

fn dot(w: &[i32], x: &[i32]) -> i32 {
    w.iter().zip(x).fold(0i32, |acc, (&a, &b)| acc.wrapping_add(a.wrapping_mul(b)))
}

pub fn run_conv(dram: &mut Dram, d: &LayerDescriptor, cfg: &ArchConfig) -> Result<(), Fault> {
    let geom = d.conv_geometry();
    let plan = plan_conv(&geom, cfg).map_err(|e| Fault::new(ErrorCode::BadGeometry, e.to_string()))?;
    let (rows, cols) = (plan.rows, plan.cols);
    let zx = d.in_zp as i32;
    let xin: Vec<i32> = dram
        .read(d.input_addr, geom.input_bytes())
        .map_err(Fault::dma)?
        .iter()
        .map(|&b| byte(d.in_signed, b) - zx)
        .collect();
    // Bias and requant parameters: 16 bytes per output channel.
    let words = dram.read_words(d.param_addr, geom.out_c * PARAM_BYTES_PER_CHANNEL / 4).map_err(Fault::dma)?;
    let params: Vec<ChannelParams> =
        words.chunks_exact(4).map(|w| ChannelParams::from_words([w[0], w[1], w[2], w[3]])).collect();
    let (stage, zw) = output_stage(d, &params)?;
    let tile_bytes = rows * cols;
    let tiles = dram.read(d.weight_addr, plan.k_tiles_total() * tile_bytes).map_err(Fault::dma)?.to_vec();

    let stride = d.out_ch_stride as u64;
    let mut first_tile = 0;
    let mut weights = Vec::new();
    let mut x = Vec::new();
    let mut out = vec![0u8; cols];
    for ot in &plan.o_tiles {
        // Dense [column][k] weights of this o-tile, zero points subtracted at the array's edge.
        let k: usize = ot.k_tiles.iter().map(KTile::used_rows).sum();
        weights.clear();
        weights.resize(ot.no * k, 0i32);
        let mut row0 = 0;
        for (t, kt) in ot.k_tiles.iter().enumerate() {
            let tile = &tiles[(first_tile + t) * tile_bytes..(first_tile + t + 1) * tile_bytes];
            for r in 0..kt.used_rows() {
                for col in 0..ot.no {
                    weights[col * k + row0 + r] = byte(d.weight_signed, tile[r * cols + col]) - zw[ot.o0 + col];
                }
            }
            row0 += kt.used_rows();
        }
        first_tile += ot.k_tiles.len();
        x.resize(k, 0);
        for p in 0..plan.pixels {
            gather(&geom, &xin, &ot.k_tiles, p, &mut x);
            for (col, o) in out[..ot.no].iter_mut().enumerate() {
                let acc = params[ot.o0 + col].bias.wrapping_add(dot(&weights[col * k..(col + 1) * k], &x));
                *o = stage.apply(acc, ot.o0 + col) as u8;
            }
            let addr = d.output_addr + p as u64 * stride + (d.out_ch_offset as usize + ot.o0) as u64;
            dram.write(addr, &out[..ot.no]).map_err(Fault::dma)?;
        }
    }
    Ok(())
}
