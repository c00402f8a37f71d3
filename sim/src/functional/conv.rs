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
//! output pixel the matching im2col bytes are gathered into one contiguous vector (once for all
//! o-tiles that share their k-tiles): one dot product per output byte, no allocation per pixel.

use super::dram::Dram;
use crate::sequencer::Fault;
use systole_arch::descriptor::{ChannelParams, PARAM_BYTES_PER_CHANNEL};
use systole_arch::plan::{pixel_coords, plan_conv, ConvGeometry, ConvPlan, KTile};
use systole_arch::regmap::ErrorCode;
use systole_arch::zero_mask::ZeroMask;
use systole_arch::{ArchConfig, LayerDescriptor, RequantMode};
use systole_model::ir::int4;
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
fn gather<T: Operand>(geom: &ConvGeometry, xin: &[T], k_tiles: &[KTile], p: usize, out: &mut [T]) {
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
                dst.fill(T::default());
            } else {
                let off = geom.input_offset(n as i64, iy, ix, kt.c0 as i64) as usize;
                dst.copy_from_slice(&xin[off..off + kt.nc]);
            }
        }
    }
}

/// The operand type of the dense product: i16 whenever every operand fits (then the products
/// are exact i32s and the dot product vectorises to multiply-add pairs), i32 otherwise (a
/// per-channel weight zero point outside the 9-bit range the array is built for).
trait Operand: Copy + Default {
    fn from_i32(v: i32) -> Self;
    fn product(self, other: Self) -> i32;
}

impl Operand for i16 {
    fn from_i32(v: i32) -> Self {
        v as i16
    }
    fn product(self, other: Self) -> i32 {
        self as i32 * other as i32
    }
}

impl Operand for i32 {
    fn from_i32(v: i32) -> Self {
        v
    }
    fn product(self, other: Self) -> i32 {
        self.wrapping_mul(other)
    }
}

fn dot<T: Operand>(w: &[T], x: &[T]) -> i32 {
    w.iter().zip(x).fold(0i32, |acc, (&a, &b)| acc.wrapping_add(a.product(b)))
}

fn fits_i16(v: i32) -> bool {
    i16::try_from(v).is_ok()
}

pub fn run_conv(dram: &mut Dram, d: &LayerDescriptor, cfg: &ArchConfig) -> Result<(), Fault> {
    run_conv_with(dram, d, cfg, false)
}

/// `force_wide`: i32 operands even when i16 would do (the test of the narrow path).
fn run_conv_with(dram: &mut Dram, d: &LayerDescriptor, cfg: &ArchConfig, force_wide: bool) -> Result<(), Fault> {
    let geom = d.conv_geometry();
    let plan = plan_conv(&geom, cfg).map_err(|e| Fault::new(ErrorCode::BadGeometry, e.to_string()))?;
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
    let stored = cfg.weight_tile_bytes() as usize;
    let tiles = dram.read(d.weight_addr, d.stored_tiles() as usize * stored).map_err(Fault::dma)?;
    let slots = tile_slots(dram, d, cfg, &plan)?;
    // A 4-bit engine's tiles hold two weights per byte (low nibble first): unpack them to one
    // sign-extended byte per PE, what the nibble unpacker on the weight load path produces.
    let tiles: Vec<u8> = if cfg.int4_weights() {
        int4::unpack_i4(tiles, tiles.len() * 2).into_iter().map(|v| v as u8).collect()
    } else {
        tiles.to_vec()
    };
    let narrow = xin.iter().all(|&v| fits_i16(v))
        && zw.iter().all(|&z| fits_i16(byte(d.weight_signed, 0) - z) && fits_i16(byte(d.weight_signed, 255) - z));
    let int4 = cfg.int4_weights();
    let layer = Layer {
        d,
        geom: &geom,
        plan: &plan,
        params: &params,
        stage: &stage,
        zw: &zw,
        int4,
        tiles: &tiles,
        slots: &slots,
    };
    if narrow && !force_wide {
        layer.run(dram, &xin.iter().map(|&v| v as i16).collect::<Vec<i16>>())
    } else {
        layer.run(dram, &xin)
    }
}

/// One CONV layer's operands, read from DRAM.
struct Layer<'a> {
    d: &'a LayerDescriptor,
    geom: &'a ConvGeometry,
    plan: &'a ConvPlan,
    params: &'a [ChannelParams],
    stage: &'a OutputStage,
    zw: &'a [i32],
    /// A 4-bit engine (`weight_bits` = 4): `tiles` are unpacked, the weight operand is 5 bits.
    int4: bool,
    /// The layer's stored weight tiles, R x C bytes each in plan order.
    tiles: &'a [u8],
    /// Per plan tile, its index among the stored ones (`None`: a skipped zero tile).
    slots: &'a [Option<usize>],
}

/// The zero-tile mask of a `ZERO_SKIP` layer as the engine reads it from DRAM, `None` for the
/// others.
pub fn read_zero_mask(dram: &Dram, d: &LayerDescriptor, cfg: &ArchConfig) -> Result<Option<ZeroMask>, Fault> {
    if !d.zero_skip {
        return Ok(None);
    }
    let plan = plan_conv(&d.conv_geometry(), cfg).map_err(|e| Fault::new(ErrorCode::BadGeometry, e.to_string()))?;
    let bytes =
        dram.read(d.mask_addr(cfg), d.o_tiles as usize * cfg.mask_record_bytes() as usize).map_err(Fault::dma)?;
    ZeroMask::decode(bytes, &plan, cfg, d.k_tiles_stored as usize)
        .map(Some)
        .map_err(|e| Fault::new(ErrorCode::BadGeometry, e.to_string()))
}

/// Per plan tile, its index among the stored tiles.
fn tile_slots(
    dram: &Dram,
    d: &LayerDescriptor,
    cfg: &ArchConfig,
    plan: &ConvPlan,
) -> Result<Vec<Option<usize>>, Fault> {
    Ok(match read_zero_mask(dram, d, cfg)? {
        Some(mask) => mask.stored_index(),
        None => (0..plan.k_tiles_total()).map(Some).collect(),
    })
}

impl Layer<'_> {
    /// Dense `[column][k]` weights of every o-tile, zero points subtracted at the array's edge.
    fn dense_weights<T: Operand>(&self) -> Vec<Vec<T>> {
        let (d, plan) = (self.d, self.plan);
        let cols = plan.cols;
        let tile_bytes = plan.rows * cols;
        let mut first_tile = 0;
        let mut all = Vec::with_capacity(plan.o_tiles.len());
        for ot in &plan.o_tiles {
            let k: usize = ot.k_tiles.iter().map(KTile::used_rows).sum();
            let mut weights = vec![T::default(); ot.no * k];
            let mut row0 = 0;
            for (t, kt) in ot.k_tiles.iter().enumerate() {
                // A skipped tile adds nothing: its `w - zw` stay 0.
                let Some(Some(s)) = self.slots.get(first_tile + t) else {
                    row0 += kt.used_rows();
                    continue;
                };
                let tile = &self.tiles[s * tile_bytes..(s + 1) * tile_bytes];
                for r in 0..kt.used_rows() {
                    for col in 0..ot.no {
                        let mut w = byte(d.weight_signed, tile[r * cols + col]) - self.zw[ot.o0 + col];
                        if self.int4 {
                            // A 4-bit engine's PEs take w - zw as a 5-bit two's complement
                            // operand (exact for int4 weights and zero points in [-8, 7]).
                            w = (w << 27) >> 27;
                        }
                        weights[col * k + row0 + r] = T::from_i32(w);
                    }
                }
                row0 += kt.used_rows();
            }
            first_tile += ot.k_tiles.len();
            all.push(weights);
        }
        all
    }

    fn run<T: Operand>(&self, dram: &mut Dram, xin: &[T]) -> Result<(), Fault> {
        let (d, plan) = (self.d, self.plan);
        let weights = self.dense_weights::<T>();
        let mut x: Vec<T> = Vec::new();
        let out_c = self.geom.out_c;
        let mut out = vec![0u8; out_c];
        for p in 0..plan.pixels {
            // O-tiles with the same k-tiles (all of them, without groups) share one gather.
            let mut gathered: Option<&[KTile]> = None;
            for (ot, w) in plan.o_tiles.iter().zip(&weights) {
                if gathered != Some(&ot.k_tiles[..]) {
                    x.resize(ot.k_tiles.iter().map(KTile::used_rows).sum(), T::default());
                    gather(self.geom, xin, &ot.k_tiles, p, &mut x);
                    gathered = Some(&ot.k_tiles);
                }
                let k = x.len();
                for (col, o) in out[ot.o0..ot.o0 + ot.no].iter_mut().enumerate() {
                    let acc = self.params[ot.o0 + col].bias.wrapping_add(dot(&w[col * k..(col + 1) * k], &x));
                    *o = self.stage.apply(acc, ot.o0 + col) as u8;
                }
            }
            let addr = d.output_addr + p as u64 * d.out_ch_stride as u64 + d.out_ch_offset as u64;
            dram.write(addr, &out).map_err(Fault::dma)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workloads::{resnet8, resnet8_config};
    use systole_arch::descriptor::{decode, DESCRIPTOR_BYTES};
    use systole_host::{pack, PackOptions};

    /// The i16 and i32 operand paths write the same bytes for every CONV layer of ResNet-8
    /// (the inputs are whatever the DRAM holds: the schedule is not run, only the products).
    #[test]
    fn narrow_and_wide_operands_agree() {
        let (graph, _) = resnet8(5);
        let cfg = resnet8_config(8);
        let image = pack(&graph, &cfg, PackOptions::default()).unwrap();
        let layout = &image.plan.dram;
        let mut dram = Dram::new(layout.base, layout.size).unwrap();
        for (region, bytes) in image.constant_regions() {
            dram.write(region.addr, bytes).unwrap();
        }
        // Pseudo-random activations in every buffer.
        let mut seed = 0x1234_5678u32;
        for b in &layout.buffers {
            let bytes: Vec<u8> = (0..b.region.bytes)
                .map(|_| {
                    seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (seed >> 24) as u8
                })
                .collect();
            dram.write(b.region.addr, &bytes).unwrap();
        }
        let mut convs = 0;
        for chunk in image.program.chunks_exact(DESCRIPTOR_BYTES) {
            let words: Vec<u32> = chunk.chunks_exact(4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]])).collect();
            let d = decode(&words).unwrap();
            if d.opcode != Some(systole_arch::Opcode::Conv) {
                continue;
            }
            convs += 1;
            let (mut narrow, mut wide) = (dram.clone(), dram.clone());
            run_conv_with(&mut narrow, &d, &cfg, false).unwrap();
            run_conv_with(&mut wide, &d, &cfg, true).unwrap();
            let out = d.conv_geometry().pixels() * d.out_ch_stride as usize;
            assert_eq!(narrow.read(d.output_addr, out).unwrap(), wide.read(d.output_addr, out).unwrap());
            assert_ne!(narrow.read(d.output_addr, out).unwrap(), dram.read(d.output_addr, out).unwrap());
        }
        assert_eq!(convs, 10);
    }
}
