//! CONV layers: Conv2d of every grouping and FullyConnected (a 1x1 conv on a 1x1 image with
//! P = rows), with their weight tiles in plan order and their per-channel parameters.

use super::proto::{act_signed, check, fit_i16, fit_u16, fit_u8, quant_of, requant_mode, words_le, Proto, Reason};
use systole_arch::descriptor::ChannelParams;
use systole_arch::plan::{plan_conv, ConvGeometry, ConvPlan};
use systole_arch::zero_mask::ZeroMask;
use systole_arch::{ArchConfig, LayerDescriptor, Opcode};
use systole_model::ir::{int4, DType, Graph, Node, Op, Padding2d, Tensor, TensorData};
use systole_model::quant::{output_stage_for, Requant};

/// How the conv reads its input beyond the node itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct ConvInput<'a> {
    /// Padding of a folded Pad in front of the conv, added to the conv's own.
    pub extra_pad: Padding2d,
    /// FC only: feature `k` of the node's input is byte `gather[k]` of each input row in DRAM
    /// (the NCHW flatten folded into the weight order).
    pub gather: Option<&'a [usize]>,
    /// The tensor actually read when it is not the node's input (a folded Pad's input).
    pub source: Option<&'a Tensor>,
}

/// Builds the CONV layer of a Conv2d or FullyConnected node.
pub fn build_conv(graph: &Graph, node: &Node, cfg: &ArchConfig, input: ConvInput) -> Result<Proto, Reason> {
    let t = |i: usize| node.inputs.get(i).map(|&id| graph.tensor(id));
    let (Some(x), Some(w)) = (input.source.or(t(0)), t(1)) else { return Err("missing input or weights".into()) };
    let out = graph.tensor(node.outputs[0]);
    let in_signed = act_signed(x)?;
    let out_signed = act_signed(out)?;
    let weight_signed = match w.dtype {
        DType::I8 | DType::I4 => true,
        DType::U8 | DType::U4 => false,
        d => return Err(format!("weights '{}' are {d}; the array multiplies 8-bit weights", w.name)),
    };
    let Some(wdata) = w.data.as_ref().filter(|d| matches!(d, TensorData::I8(_) | TensorData::U8(_))) else {
        return Err(format!("weights '{}' are not a constant 8-bit tensor", w.name));
    };
    let stage = output_stage_for(graph.numerics, x, w, out, node.op.activation())
        .ok_or_else(|| format!("output '{}' is not requantised (needs input and output quantisation)", out.name))?;
    let bias: Vec<i32> = match t(2) {
        None => vec![],
        Some(b) => b
            .data
            .as_ref()
            .and_then(|d| d.to_i32())
            .ok_or_else(|| format!("bias '{}' is not a constant int32 tensor", b.name))?,
    };

    let (geom, cg) = match &node.op {
        Op::Conv2d(a) => {
            let (&[n, h, wd, c], &[o, kh, kw, cg]) = (x.shape.as_slice(), w.shape.as_slice()) else {
                return Err(format!("conv shapes {:?} / {:?} are not NHWC / OHWI", x.shape, w.shape));
            };
            let p = Padding2d {
                top: a.padding.top + input.extra_pad.top,
                left: a.padding.left + input.extra_pad.left,
                bottom: a.padding.bottom + input.extra_pad.bottom,
                right: a.padding.right + input.extra_pad.right,
            };
            let g = ConvGeometry {
                batch: n,
                in_h: h,
                in_w: wd,
                in_c: c,
                out_c: o,
                kernel: [kh, kw],
                stride: a.stride,
                dilation: a.dilation,
                padding: p,
                groups: a.groups,
            };
            (g, cg)
        }
        Op::FullyConnected { .. } => {
            let &[o, k] = w.shape.as_slice() else { return Err(format!("FC weights {:?} are not [O, K]", w.shape)) };
            let count = x.element_count();
            if k == 0 || !count.is_multiple_of(k) {
                return Err(format!("FC input of {count} elements is not rows of K = {k}"));
            }
            (ConvGeometry::fully_connected(count / k, k, o), k)
        }
        other => return Err(format!("{} is not a MAC layer", other.kind())),
    };
    geom.validate().map_err(|e| e.to_string())?;
    let plan = plan_conv(&geom, cfg).map_err(|e| e.to_string())?;
    let o_count = geom.out_c;
    if !bias.is_empty() && bias.len() != o_count {
        return Err(format!("bias has {} values for {o_count} output channels", bias.len()));
    }

    // Weight zero points: per tensor in the descriptor, per channel in the params.
    let zps = w.quant.as_ref().map_or_else(|| vec![0], |q| q.zero_point.clone());
    let per_channel = zps.iter().any(|&z| z != zps[0]);
    if per_channel && zps.len() != o_count {
        return Err(format!("{} weight zero points for {o_count} output channels", zps.len()));
    }
    let zp_of = |o: usize| if per_channel { zps[o] } else { zps[0] };
    if let Some(z) = zps.iter().find(|z| !(-255..=255).contains(*z)) {
        return Err(format!("weight zero point {z} is outside the 9-bit operand range"));
    }

    // Input features of an FC with a folded flatten: engine row k' holds original feature inv[k'].
    let inverse = match input.gather {
        Some(g) if matches!(node.op, Op::FullyConnected { .. }) => {
            if g.len() != cg {
                return Err(format!("flatten order has {} entries for K = {cg}", g.len()));
            }
            let mut inv = vec![usize::MAX; cg];
            for (k, &kk) in g.iter().enumerate() {
                if kk >= cg || inv[kk] != usize::MAX {
                    return Err("flatten order is not a permutation of the features".into());
                }
                inv[kk] = k;
            }
            Some(inv)
        }
        _ => None,
    };
    let [kh, kw] = geom.kernel;

    // Tiles in plan order, each row-major: PE (row, col) holds what `plan::tile_weight` names
    // (the order of `plan::tile_weights`). The OHWI index splits into a column part (output
    // channel) and a row part (kernel position and input channel), both hoisted out of the PE
    // loop; the round-trip test reads every tile back through `tile_weights` and checks weights
    // and structural zeros.
    let raw: Vec<u8> = match wdata {
        TensorData::I8(v) => v.iter().map(|&b| b as u8).collect(),
        TensorData::U8(v) => v.clone(),
        _ => return Err("weights are not 8-bit".into()),
    };
    let (rows, cols) = (plan.rows, plan.cols);
    let (og, cgrp) = (geom.group_out(), geom.group_in());
    let tile_bytes = rows * cols;
    let mut weights = vec![0u8; plan.k_tiles_total() * tile_bytes];
    let mut tiles = weights.chunks_exact_mut(tile_bytes);
    for ot in &plan.o_tiles {
        // Column c: OHWI offset of its output channel, its group, its zero point byte (idle
        // columns hold channel 0's and never match a row's group).
        let col_info: Vec<(usize, usize, u8)> = (0..cols)
            .map(|c| {
                let o = ot.o0 + c;
                if c < ot.no {
                    (o * kh * kw * cg, o / og, zp_of(o) as u8)
                } else {
                    (0, usize::MAX, zp_of(0) as u8)
                }
            })
            .collect();
        for kt in &ot.k_tiles {
            let Some(tile) = tiles.next() else { return Err("tile count disagrees with the plan".into()) };
            for (row, pes) in tile.chunks_exact_mut(cols).enumerate() {
                // Row r = j * nc + i reads channel c0 + i of kernel column kx0 + j.
                let input = (row < kt.used_rows()).then(|| {
                    let (kx, c) = (kt.kx0 + row / kt.nc, kt.c0 + row % kt.nc);
                    let ci = inverse.as_ref().map_or(c % cgrp, |inv| inv[c % cgrp]);
                    ((kt.ky * kw + kx) * cg + ci, c / cgrp)
                });
                for (pe, &(col_base, group, zp)) in pes.iter_mut().zip(&col_info) {
                    *pe = match input {
                        Some((row_off, g)) if g == group => raw[col_base + row_off],
                        // Structural zero: the column's zero point, so w - zw = 0.
                        _ => zp,
                    };
                }
            }
        }
    }

    // Zero-tile skipping (arch `zero_mask`): tiles whose every PE holds its column's zero point
    // contribute nothing; an engine that skips drops them (each o-tile keeps its first tile,
    // which adds the bias) and reads the mask records appended after the kept tiles. A layer
    // with an o-tile longer than the engine's mask, or without zero tiles, stays dense.
    let most_tiles = plan.o_tiles.iter().map(|o| o.k_tiles.len()).max().unwrap_or(0);
    let mut mask = None;
    let weights = if cfg.zero_skip() && most_tiles <= cfg.zero_skip_tiles as usize {
        let (m, kept) = drop_zero_tiles(&plan, &weights, |o| zp_of(o) as u8);
        if m.skipped() > 0 {
            mask = Some(m);
            kept
        } else {
            weights
        }
    } else {
        weights
    };

    // A 4-bit engine stores each tile two weights per byte, low nibble first (PE 2i low, PE 2i+1
    // high): R x C / 2 bytes per tile. Lowering refused non-int4 weights before; the zero
    // points (structural zeros) must be 4-bit too.
    let weights = if cfg.int4_weights() {
        if let Some(z) = zps.iter().find(|z| !(-8..=7).contains(*z)) {
            return Err(format!("weight zero point {z} does not fit the engine's 4-bit weights"));
        }
        let values: Vec<i8> = weights.iter().map(|&b| b as i8).collect();
        int4::pack_i4(&values).map_err(|e| format!("weights '{}' on a 4-bit engine: {e}", w.name))?
    } else {
        weights
    };
    let mut weights = weights;
    if let Some(m) = &mask {
        weights.extend(m.encode(cfg).map_err(|e| e.to_string())?);
    }

    let mut params = Vec::with_capacity(o_count * systole_arch::descriptor::PARAM_BYTES_PER_CHANNEL);
    for o in 0..o_count {
        let pick = |v: &[i32]| v[if v.len() == 1 { 0 } else { o }];
        let (multiplier_or_scale, shift) = match &stage.requant {
            Requant::Fixed { multiplier, shift } => (pick(multiplier) as u32, pick(shift)),
            Requant::Float { scale } => (scale[if scale.len() == 1 { 0 } else { o }].to_bits(), 0),
        };
        let p = ChannelParams {
            bias: bias.get(o).copied().unwrap_or(0),
            multiplier_or_scale,
            shift,
            weight_zp: if per_channel { fit_i16("weight zero point", zps[o])? } else { 0 },
        };
        params.extend(words_le(&p.to_words()));
    }

    let mut d = LayerDescriptor {
        opcode: Some(Opcode::Conv),
        requant: requant_mode(graph.numerics),
        in_signed,
        out_signed,
        weight_signed,
        weight_zp_per_channel: per_channel,
        batch: fit_u16("BATCH", geom.batch)?,
        in_h: fit_u16("IN_H", geom.in_h)?,
        in_w: fit_u16("IN_W", geom.in_w)?,
        in_c: fit_u16("IN_C", geom.in_c)?,
        groups: fit_u16("GROUPS", geom.groups)?,
        out_h: fit_u16("OUT_H", geom.out_h())?,
        out_w: fit_u16("OUT_W", geom.out_w())?,
        out_c: fit_u16("OUT_C", o_count)?,
        kernel_h: fit_u8("KERNEL_H", kh)?,
        kernel_w: fit_u8("KERNEL_W", kw)?,
        stride_h: fit_u8("STRIDE_H", geom.stride[0])?,
        stride_w: fit_u8("STRIDE_W", geom.stride[1])?,
        dilation_h: fit_u8("DILATION_H", geom.dilation[0])?,
        dilation_w: fit_u8("DILATION_W", geom.dilation[1])?,
        pad_top: fit_u8("PAD_TOP", geom.padding.top)?,
        pad_left: fit_u8("PAD_LEFT", geom.padding.left)?,
        pad_bottom: fit_u8("PAD_BOTTOM", geom.padding.bottom)?,
        pad_right: fit_u8("PAD_RIGHT", geom.padding.right)?,
        in_zp: fit_i16("IN_ZP", quant_of(x).1)?,
        out_zp: fit_i16("OUT_ZP", stage.zero_point)?,
        weight_zp: if per_channel { 0 } else { fit_i16("WEIGHT_ZP", zps[0])? },
        act_min: fit_i16("ACT_MIN", stage.act_min)?,
        act_max: fit_i16("ACT_MAX", stage.act_max)?,
        out_ch_stride: fit_u16("OUT_CH_STRIDE", o_count)?,
        ..LayerDescriptor::default()
    };
    d.set_conv_tiles(&plan);
    if let Some(m) = &mask {
        d.zero_skip = true;
        d.k_tiles_stored = m.kept() as u32;
    }
    check(&d, cfg)?;
    let what = if matches!(node.op, Op::FullyConnected { .. }) { "FC" } else { "CONV" };
    let flatten = if inverse.is_some() { ", NCHW flatten folded into the weight order" } else { "" };
    let skipped = mask.as_ref().map_or(String::new(), |m| format!(" ({} zero, skipped)", m.skipped()));
    let summary = format!(
        "{what} {:?}: {} o-tiles, {} k-tiles{skipped}, {} pixel blocks{flatten}",
        d.requant,
        plan.o_tiles.len(),
        plan.k_tiles_total(),
        plan.pixel_blocks
    );
    Ok(Proto { desc: d, weights, params, summary })
}

/// Splits a layer's tiles (one byte per PE, plan order) into the zero-tile mask and the kept
/// tiles. A tile is zero when every PE holds its column's zero point byte (`zp(o)` for output
/// channel `o`; idle columns hold channel 0's, as the packer fills them); an o-tile's first
/// tile is always kept.
pub(crate) fn drop_zero_tiles(plan: &ConvPlan, tiles: &[u8], zp: impl Fn(usize) -> u8) -> (ZeroMask, Vec<u8>) {
    let cols = plan.cols;
    let tile_bytes = plan.rows * cols;
    let mut mask = ZeroMask::dense(plan);
    let mut kept = Vec::with_capacity(tiles.len());
    let mut chunks = tiles.chunks_exact(tile_bytes);
    for (ot, skip) in plan.o_tiles.iter().zip(mask.o_tiles.iter_mut()) {
        let zbytes: Vec<u8> = (0..cols).map(|c| zp(if c < ot.no { ot.o0 + c } else { 0 })).collect();
        for (k, zero) in skip.iter_mut().enumerate() {
            let Some(tile) = chunks.next() else { break };
            *zero = k > 0 && tile.chunks_exact(cols).all(|row| row == zbytes.as_slice());
            if !*zero {
                kept.extend_from_slice(tile);
            }
        }
    }
    (mask, kept)
}
