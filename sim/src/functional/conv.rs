//! The CONV layer as the array computes it (ENGINE.md loop nest): for every o-tile, every pixel
//! block, every nonzero k-tile, the block's pixels stream through an R x C tile of weights read
//! from DRAM; PE(r, c) adds `(x - zx) * (w - zw)` where row r's activation comes from the
//! implicit im2col of `arch::plan::expand_rows` (padding and idle rows feed the zero point); the
//! psum buffer holds PB x C accumulators, preloaded with the bias; after the block's last k-tile
//! the C requant lanes apply `quant::OutputStage` and the block is written back (with the
//! output channel stride and offset of concat slices).

use super::dram::Dram;
use systole_arch::descriptor::{ChannelParams, PARAM_BYTES_PER_CHANNEL};
use systole_arch::plan::{expand_rows, plan_conv, RowInput};
use systole_arch::{ArchConfig, LayerDescriptor, RequantMode};
use systole_model::quant::{OutputStage, Requant};

/// Errors are strings: the caller names the layer.
pub fn run_conv(dram: &mut Dram, d: &LayerDescriptor, cfg: &ArchConfig) -> Result<(), String> {
    let geom = d.conv_geometry();
    let plan = plan_conv(&geom, cfg).map_err(|e| e.to_string())?;
    let (rows, cols, pb) = (plan.rows, plan.cols, plan.psum_depth);
    let input = dram.read(d.input_addr, geom.input_bytes()).map_err(|e| e.to_string())?.to_vec();
    let byte = |signed: bool, b: u8| if signed { b as i8 as i32 } else { b as i32 };
    let zx = d.in_zp as i32;

    // Bias and requant parameters: 16 bytes per output channel.
    let words = dram.read_words(d.param_addr, geom.out_c * PARAM_BYTES_PER_CHANNEL / 4).map_err(|e| e.to_string())?;
    let params: Vec<ChannelParams> =
        words.chunks_exact(4).map(|w| ChannelParams::from_words([w[0], w[1], w[2], w[3]])).collect();
    let requant = match d.requant {
        RequantMode::Fixed => Requant::Fixed {
            multiplier: params.iter().map(|p| p.multiplier_or_scale as i32).collect(),
            shift: params.iter().map(|p| p.shift).collect(),
        },
        RequantMode::Float => {
            Requant::Float { scale: params.iter().map(|p| f32::from_bits(p.multiplier_or_scale)).collect() }
        }
        RequantMode::None => return Err("CONV without a requant mode".into()),
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
    let zw: Vec<i32> =
        params.iter().map(|p| if d.weight_zp_per_channel { p.weight_zp as i32 } else { d.weight_zp as i32 }).collect();

    let tile_bytes = rows * cols;
    let mut tile_addr = d.weight_addr;
    let mut psum = vec![0i64; pb * cols];
    let mut wq = vec![0i32; tile_bytes];
    let mut x = vec![0i32; rows];
    for ot in &plan.o_tiles {
        let first_tile = tile_addr;
        for block in 0..plan.pixel_blocks {
            let (p0, np) = (block * pb, plan.block_pixels(block));
            for p in 0..np {
                for col in 0..cols {
                    psum[p * cols + col] = if col < ot.no { params[ot.o0 + col].bias as i64 } else { 0 };
                }
            }
            let mut ta = first_tile;
            for kt in &ot.k_tiles {
                let tile = dram.read(ta, tile_bytes).map_err(|e| e.to_string())?;
                ta += tile_bytes as u64;
                // The array's edge subtracts the column's weight zero point (9-bit operands).
                for (pe, w) in wq.iter_mut().enumerate() {
                    let col = pe % cols;
                    *w = if col < ot.no { byte(d.weight_signed, tile[pe]) - zw[ot.o0 + col] } else { 0 };
                }
                for p in 0..np {
                    for (xr, row) in x.iter_mut().zip(expand_rows(&geom, kt, rows, p0 + p)) {
                        *xr = match row {
                            RowInput::Pixel { n, iy, ix, c } => {
                                let off = geom.input_offset(n as i64, iy as i64, ix as i64, c as i64) as usize;
                                byte(d.in_signed, input[off]) - zx
                            }
                            RowInput::Padding | RowInput::Idle => 0,
                        };
                    }
                    let acc = &mut psum[p * cols..(p + 1) * cols];
                    for (r, &xv) in x.iter().enumerate() {
                        if xv != 0 {
                            for (a, &w) in acc.iter_mut().zip(&wq[r * cols..(r + 1) * cols]) {
                                *a += (xv * w) as i64;
                            }
                        }
                    }
                }
            }
            tile_addr = ta;
            // Requant lanes, then write-back of the block's no channels per pixel.
            let stride = d.out_ch_stride as u64;
            for p in 0..np {
                let out: Vec<u8> =
                    (0..ot.no).map(|col| stage.apply(psum[p * cols + col] as i32, ot.o0 + col) as u8).collect();
                let addr = d.output_addr + (p0 + p) as u64 * stride + (d.out_ch_offset as usize + ot.o0) as u64;
                dram.write(addr, &out).map_err(|e| e.to_string())?;
            }
        }
    }
    Ok(())
}
