//! The model tensors read back out of an image, the way the engine sees them: the weights of
//! each CONV layer reassembled from its tiles, biases and requant parameters from its params,
//! the post-op records. Round-trip tests compare these with the graph's constants.

use super::format::ImageError;
use super::Image;
use systole_arch::descriptor::{
    param_kind, ChannelParams, ParamKind, PostParams, PARAM_BYTES_PER_CHANNEL, POST_PARAM_WORDS,
};
use systole_arch::plan::{plan_conv, tile_weights};
use systole_arch::zero_mask::ZeroMask;
use systole_arch::{LayerDescriptor, Opcode};
use systole_model::ir::int4;

/// One CONV layer's constants.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvTensors {
    /// Descriptor index in the program.
    pub index: usize,
    /// OHWI (`[O, KH, KW, C_in / groups]`) in the order the engine reads its input (for an FC
    /// with a folded flatten, the DRAM byte order of its input row).
    pub weights: Vec<i32>,
    pub params: Vec<ChannelParams>,
}

fn word(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes(b[4 * i..4 * i + 4].try_into().unwrap_or([0; 4]))
}

/// `bytes` of `region` data starting at device address `addr`.
fn slice<'a>(
    data: &'a [u8],
    region: crate::dram::Region,
    addr: u64,
    bytes: u64,
    index: usize,
    what: &str,
) -> Result<&'a [u8], ImageError> {
    if !region.contains(addr, bytes) {
        return Err(ImageError::Descriptor { index, reason: format!("{what} is outside its region") });
    }
    let at = (addr - region.addr) as usize;
    Ok(&data[at..at + bytes as usize])
}

impl Image {
    /// The zero-tile mask of descriptor `index` (`d`) when it sets `ZERO_SKIP`, else `None`:
    /// what `arch::timing` needs for its cycles.
    pub fn zero_mask(&self, index: usize, d: &LayerDescriptor) -> Result<Option<ZeroMask>, ImageError> {
        if !d.zero_skip {
            return Ok(None);
        }
        let cfg = self.arch()?;
        let err = |reason: String| ImageError::Descriptor { index, reason };
        let plan = plan_conv(&d.conv_geometry(), &cfg).map_err(|e| err(e.to_string()))?;
        let bytes = d.o_tiles as u64 * cfg.mask_record_bytes();
        let m = slice(&self.weights, self.plan.dram.weights, d.mask_addr(&cfg), bytes, index, "zero-tile mask")?;
        ZeroMask::decode(m, &plan, &cfg, d.k_tiles_stored as usize).map(Some).map_err(|e| err(e.to_string()))
    }

    /// Weights and params of every CONV layer.
    pub fn conv_tensors(&self) -> Result<Vec<ConvTensors>, ImageError> {
        let cfg = self.arch()?;
        let (rows, cols) = (cfg.rows as usize, cfg.cols as usize);
        let mut out = Vec::new();
        for (index, d) in self.descriptors()?.iter().enumerate() {
            if d.opcode != Some(Opcode::Conv) {
                continue;
            }
            let err = |reason: String| ImageError::Descriptor { index, reason };
            let geom = d.conv_geometry();
            let plan = plan_conv(&geom, &cfg).map_err(|e| err(e.to_string()))?;
            let tile_bytes = rows * cols;
            let stored = cfg.weight_tile_bytes() as usize;
            let all = (d.stored_tiles() as usize * stored) as u64;
            let tiles = slice(&self.weights, self.plan.dram.weights, d.weight_addr, all, index, "weight tiles")?;
            // Zero-tile skipping: which plan tiles are stored (the others hold zero points only).
            let slots: Vec<Option<usize>> = match self.zero_mask(index, d)? {
                Some(mask) => mask.stored_index(),
                None => (0..plan.k_tiles_total()).map(Some).collect(),
            };
            // One byte per PE from here on: a 4-bit engine's tiles are unpacked (sign-extended).
            let unpacked: Vec<u8>;
            let tiles = if cfg.int4_weights() {
                unpacked = int4::unpack_i4(tiles, tiles.len() * 2).into_iter().map(|v| v as u8).collect();
                &unpacked[..]
            } else {
                tiles
            };
            let p = slice(
                &self.params,
                self.plan.dram.params,
                d.param_addr,
                (geom.out_c * PARAM_BYTES_PER_CHANNEL) as u64,
                index,
                "params",
            )?;
            let params: Vec<ChannelParams> =
                (0..geom.out_c).map(|o| ChannelParams::from_words([0, 1, 2, 3].map(|k| word(p, 4 * o + k)))).collect();
            let zw = |o: usize| if d.weight_zp_per_channel { params[o].weight_zp as i32 } else { d.weight_zp as i32 };
            let value = |b: u8| if d.weight_signed { b as i8 as i32 } else { b as i32 };
            // Every weight sits in some tile, so a layer claiming more weights than its tiles
            // hold is corrupted (and must not size an allocation).
            let capacity = (plan.k_tiles_total() * tile_bytes) as u64;
            if geom.out_c.saturating_mul(geom.k()) as u64 > capacity {
                return Err(err(format!("{} weights cannot fit {capacity} tile bytes", geom.out_c * geom.k())));
            }
            let [kh, kw] = geom.kernel;
            let cg = geom.group_in();
            let mut weights = vec![None; geom.out_c * geom.k()];
            let mut t = 0;
            for ot in &plan.o_tiles {
                for kt in &ot.k_tiles {
                    let slot = slots.get(t).copied().flatten();
                    let tile = slot.and_then(|s| tiles.get(s * tile_bytes..(s + 1) * tile_bytes));
                    if slot.is_some() && tile.is_none() {
                        return Err(err(format!("tile {t} lies beyond the stored tiles")));
                    }
                    for (pe, wi) in tile_weights(&plan, ot, kt).iter().enumerate() {
                        // A skipped tile's weights are its columns' zero points.
                        let v = tile.map_or_else(
                            || zw(ot.o0 + (pe % cols).min(ot.no.saturating_sub(1))),
                            |tile| value(tile[pe]),
                        );
                        match wi {
                            Some(wi) => weights[((wi.o * kh + wi.ky) * kw + wi.kx) * cg + wi.ci] = Some(v),
                            None if pe % cols < ot.no && v != zw(ot.o0 + pe % cols) => {
                                return Err(err(format!(
                                    "tile {t}: structural zero at PE {pe} is {v}, not the zero point"
                                )))
                            }
                            None => {}
                        }
                    }
                    t += 1;
                }
            }
            let weights = weights
                .into_iter()
                .collect::<Option<Vec<i32>>>()
                .ok_or_else(|| err("a weight is in no tile".into()))?;
            out.push(ConvTensors { index, weights, params });
        }
        Ok(out)
    }

    /// The post-op record of every ADD / pool layer that has one.
    pub fn post_params(&self) -> Result<Vec<(usize, PostParams)>, ImageError> {
        let mut out = Vec::new();
        for (index, d) in self.descriptors()?.iter().enumerate() {
            let Some(op) = d.opcode else { continue };
            if param_kind(op, d.requant) != Ok(ParamKind::Post) {
                continue;
            }
            let bytes = (POST_PARAM_WORDS * 4) as u64;
            let b = slice(&self.params, self.plan.dram.params, d.param_addr, bytes, index, "post-op record")?;
            let words: Vec<u32> = (0..POST_PARAM_WORDS).map(|i| word(b, i)).collect();
            let err = |reason: String| ImageError::Descriptor { index, reason };
            let p = PostParams::from_words(op, d.requant, &words).map_err(|e| err(e.to_string()))?;
            out.push((index, p.ok_or_else(|| err("no post-op record".into()))?));
        }
        Ok(out)
    }
}

/// A one-line summary of a descriptor for listings.
pub fn describe_descriptor(d: &LayerDescriptor) -> String {
    let Some(op) = d.opcode else { return "?".into() };
    let io = format!("{}x{}x{}x{} -> {}x{}x{}x{}", d.batch, d.in_h, d.in_w, d.in_c, d.batch, d.out_h, d.out_w, d.out_c);
    let slice = if d.out_ch_stride != d.out_c {
        format!(" slice [{}..{}) of {}", d.out_ch_offset, d.out_ch_offset + d.out_c, d.out_ch_stride)
    } else {
        String::new()
    };
    match op {
        Opcode::End => "END".into(),
        Opcode::Conv => format!(
            "CONV {:?} {io} k{}x{} s{}x{} d{}x{} pad {}/{}/{}/{} g{} | {} o-tiles {} k-tiles {} blocks{slice}",
            d.requant,
            d.kernel_h,
            d.kernel_w,
            d.stride_h,
            d.stride_w,
            d.dilation_h,
            d.dilation_w,
            d.pad_top,
            d.pad_left,
            d.pad_bottom,
            d.pad_right,
            d.groups,
            d.o_tiles,
            d.k_tiles_total,
            d.pixel_blocks
        ),
        Opcode::Add => format!("ADD {:?} {io}{slice}", d.requant),
        Opcode::AvgPool | Opcode::MaxPool => format!(
            "{} {:?} {io} k{}x{} s{}x{} pad {}/{}/{}/{}{}{slice}",
            op.name(),
            d.requant,
            d.kernel_h,
            d.kernel_w,
            d.stride_h,
            d.stride_w,
            d.pad_top,
            d.pad_left,
            d.pad_bottom,
            d.pad_right,
            if d.count_include_pad { " count_include_pad" } else { "" }
        ),
        Opcode::GlobalAvgPool => format!("GLOBAL_AVG_POOL {:?} {io}{slice}", d.requant),
    }
}
