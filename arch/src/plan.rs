//! The tiling plan of one convolution (ENGINE.md "Dataflow of a convolution layer").
//!
//! The sequencer (hdl), the cycle model (sim) and the weight packer (host) all walk the plan
//! this module builds, in this order:
//!
//! ```text
//! for ot in o_tiles              # ceil(O / C) runs of C output channels
//!   for pb in pixel_blocks       # ceil(P / PB) runs of PB output pixels, P = N * OH * OW
//!     for kt in ot.k_tiles       # (ky, kx-run, c-run), nonzero tiles only
//! ```
//!
//! A k-tile is one kernel row `ky`, `nx` kernel columns from `kx0` and `nc` channels from `c0`;
//! array row `r = j * nc + i` (j < nx, i < nc) reads input channel `c0 + i` at kernel column
//! `kx0 + j`, so for every output pixel the tile's activations are `nx * nc` contiguous NHWC bytes
//! (rows beyond `nx * nc` are idle: zero weights, activation = zero point).
//! Column `col` of o-tile `ot` is output channel `ot.o0 + col`.

use crate::config::{ArchConfig, ConfigError};
use crate::descriptor::window_output;
use serde::Serialize;
use systole_model::ir::{Graph, Node, Op, Padding2d};
use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PlanError {
    #[error("convolution geometry: {0}")]
    Geometry(String),
    #[error("node {node}: {reason}")]
    Node { node: String, reason: String },
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// Geometry of a convolution (FC = 1x1 conv on a 1x1 image with `batch` = rows of the input).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConvGeometry {
    pub batch: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub in_c: usize,
    pub out_c: usize,
    /// `[h, w]`
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub dilation: [usize; 2],
    pub padding: Padding2d,
    pub groups: usize,
}

impl ConvGeometry {
    /// A fully-connected layer: `batch` input rows of `k` features, `o` outputs.
    pub fn fully_connected(batch: usize, k: usize, o: usize) -> ConvGeometry {
        ConvGeometry {
            batch,
            in_h: 1,
            in_w: 1,
            in_c: k,
            out_c: o,
            kernel: [1, 1],
            stride: [1, 1],
            dilation: [1, 1],
            padding: Padding2d::default(),
            groups: 1,
        }
    }

    pub fn out_h(&self) -> usize {
        window_output(
            self.in_h,
            self.kernel[0],
            self.stride[0],
            self.dilation[0],
            self.padding.top,
            self.padding.bottom,
        )
        .unwrap_or(0)
    }

    pub fn out_w(&self) -> usize {
        window_output(
            self.in_w,
            self.kernel[1],
            self.stride[1],
            self.dilation[1],
            self.padding.left,
            self.padding.right,
        )
        .unwrap_or(0)
    }

    /// P: output pixels, the streaming length of the whole layer.
    pub fn pixels(&self) -> usize {
        self.batch * self.out_h() * self.out_w()
    }

    /// Input channels per group.
    pub fn group_in(&self) -> usize {
        self.in_c / self.groups.max(1)
    }

    /// Output channels per group.
    pub fn group_out(&self) -> usize {
        self.out_c / self.groups.max(1)
    }

    /// Reduction length of one output: KH * KW * C_in / groups.
    pub fn k(&self) -> usize {
        self.kernel[0] * self.kernel[1] * self.group_in()
    }

    pub fn macs(&self) -> u64 {
        self.pixels() as u64 * self.out_c as u64 * self.k() as u64
    }

    pub fn input_bytes(&self) -> usize {
        self.batch * self.in_h * self.in_w * self.in_c
    }

    pub fn output_bytes(&self) -> usize {
        self.pixels() * self.out_c
    }

    pub fn validate(&self) -> Result<(), PlanError> {
        let bad = |s: String| Err(PlanError::Geometry(s));
        let dims = [
            ("batch", self.batch),
            ("in_h", self.in_h),
            ("in_w", self.in_w),
            ("in_c", self.in_c),
            ("out_c", self.out_c),
            ("kernel_h", self.kernel[0]),
            ("kernel_w", self.kernel[1]),
            ("stride_h", self.stride[0]),
            ("stride_w", self.stride[1]),
            ("dilation_h", self.dilation[0]),
            ("dilation_w", self.dilation[1]),
            ("groups", self.groups),
        ];
        if let Some((name, _)) = dims.iter().find(|(_, v)| *v == 0) {
            return bad(format!("{name} is 0"));
        }
        if !self.in_c.is_multiple_of(self.groups) || !self.out_c.is_multiple_of(self.groups) {
            return bad(format!("groups {} must divide in_c {} and out_c {}", self.groups, self.in_c, self.out_c));
        }
        if self.out_h() == 0 || self.out_w() == 0 {
            return bad(format!(
                "kernel {:?} (dilation {:?}) does not fit the padded {}x{} input",
                self.kernel, self.dilation, self.in_h, self.in_w
            ));
        }
        Ok(())
    }

    /// Byte offset of input element (n, iy, ix, c) in the NHWC input tensor; coordinates may lie
    /// in the padding (the result is then a virtual address the hardware never reads).
    pub fn input_offset(&self, n: i64, iy: i64, ix: i64, c: i64) -> i64 {
        ((n * self.in_h as i64 + iy) * self.in_w as i64 + ix) * self.in_c as i64 + c
    }

    /// The geometry of a Conv2d or FullyConnected node; `None` for other ops.
    pub fn from_node(graph: &Graph, node: &Node) -> Result<Option<ConvGeometry>, PlanError> {
        let err = |reason: String| PlanError::Node { node: node.name.clone(), reason };
        let shape = |i: usize| -> Result<&[usize], PlanError> {
            let id = node.inputs.get(i).copied().ok_or_else(|| err(format!("input {i} missing")))?;
            graph.tensors.get(id).map(|t| t.shape.as_slice()).ok_or_else(|| err(format!("tensor {id} missing")))
        };
        match &node.op {
            Op::Conv2d(a) => {
                let (x, w) = (shape(0)?, shape(1)?);
                let &[n, h, wd, c] = x else { return Err(err(format!("conv input {x:?} is not NHWC"))) };
                let &[o, kh, kw, _] = w else { return Err(err(format!("conv weights {w:?} are not OHWI"))) };
                let g = ConvGeometry {
                    batch: n,
                    in_h: h,
                    in_w: wd,
                    in_c: c,
                    out_c: o,
                    kernel: [kh, kw],
                    stride: a.stride,
                    dilation: a.dilation,
                    padding: a.padding,
                    groups: a.groups,
                };
                g.validate().map_err(|e| err(e.to_string()))?;
                Ok(Some(g))
            }
            Op::FullyConnected { .. } => {
                let (x, w) = (shape(0)?, shape(1)?);
                let &[o, k] = w else { return Err(err(format!("FC weights {w:?} are not [O, K]"))) };
                let total: usize = x.iter().product();
                if k == 0 || !total.is_multiple_of(k) {
                    return Err(err(format!("FC input {x:?} is not a multiple of K = {k}")));
                }
                let g = ConvGeometry::fully_connected(total / k, k, o);
                g.validate().map_err(|e| err(e.to_string()))?;
                Ok(Some(g))
            }
            _ => Ok(None),
        }
    }
}

/// One k-tile: kernel row `ky`, kernel columns `kx0 .. kx0 + nx`, channels `c0 .. c0 + nc`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct KTile {
    pub ky: usize,
    pub kx0: usize,
    pub nx: usize,
    pub c0: usize,
    pub nc: usize,
}

impl KTile {
    /// Array rows this tile uses (`nx * nc <= R`).
    pub fn used_rows(&self) -> usize {
        self.nx * self.nc
    }
}

/// One o-tile: output channels `o0 .. o0 + no`, reading input channels `c_lo .. c_hi` (the window
/// of the groups its channels belong to).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OTile {
    pub o0: usize,
    pub no: usize,
    pub c_lo: usize,
    pub c_hi: usize,
    pub k_tiles: Vec<KTile>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConvPlan {
    pub geometry: ConvGeometry,
    pub rows: usize,
    pub cols: usize,
    pub psum_depth: usize,
    pub pixels: usize,
    /// ceil(P / PB).
    pub pixel_blocks: usize,
    /// Kernel columns per k-tile for o-tiles whose window is the whole input pixel (else 1).
    pub kt_nx: usize,
    /// Channels per k-tile chunk (the last chunk of a window may be shorter).
    pub kt_nc: usize,
    pub o_tiles: Vec<OTile>,
}

impl ConvPlan {
    /// Nonzero k-tiles summed over o-tiles = weight tiles in DRAM.
    pub fn k_tiles_total(&self) -> usize {
        self.o_tiles.iter().map(|o| o.k_tiles.len()).sum()
    }

    /// Folds = (o-tile, k-tile) pairs, each streamed once per pixel block.
    pub fn folds(&self) -> usize {
        self.k_tiles_total()
    }

    /// Pixels of block `pb` (the last block may be short).
    pub fn block_pixels(&self, pb: usize) -> usize {
        self.psum_depth.min(self.pixels.saturating_sub(pb * self.psum_depth))
    }
}

/// (nx, nc) for a channel window of `window` channels (ENGINE.md K tiling rule): whole channel
/// vectors of several kernel columns when the window is the whole pixel, smaller than R, and
/// columns are adjacent (dilation_w 1); otherwise R-channel chunks of one column.
fn run_shape(window: usize, in_c: usize, rows: usize, kernel_w: usize, dilation_w: usize) -> (usize, usize) {
    if window == in_c && window < rows && dilation_w == 1 {
        ((rows / window).clamp(1, kernel_w), window)
    } else {
        (1, window.min(rows))
    }
}

/// Builds the tiling plan of a convolution for `cfg`.
pub fn plan_conv(geom: &ConvGeometry, cfg: &ArchConfig) -> Result<ConvPlan, PlanError> {
    cfg.validate()?;
    geom.validate()?;
    let (rows, cols, pb) = (cfg.rows as usize, cfg.cols as usize, cfg.psum_depth as usize);
    let (og, cg) = (geom.group_out(), geom.group_in());
    let [kh, kw] = geom.kernel;
    let mut o_tiles = Vec::with_capacity(geom.out_c.div_ceil(cols));
    let (mut kt_nx, mut kt_nc) = (1, 1);
    for o0 in (0..geom.out_c).step_by(cols) {
        let no = cols.min(geom.out_c - o0);
        // The groups of the o-tile's first and last channel bound the channels it reads.
        let (g_lo, g_hi) = (o0 / og, (o0 + no - 1) / og);
        let (c_lo, c_hi) = (g_lo * cg, (g_hi + 1) * cg);
        let (nx, nc) = run_shape(c_hi - c_lo, geom.in_c, rows, kw, geom.dilation[1]);
        kt_nx = kt_nx.max(nx);
        kt_nc = kt_nc.max(nc);
        let mut k_tiles = Vec::with_capacity(kh * kw.div_ceil(nx) * (c_hi - c_lo).div_ceil(nc));
        for ky in 0..kh {
            for kx0 in (0..kw).step_by(nx) {
                for c0 in (c_lo..c_hi).step_by(nc) {
                    k_tiles.push(KTile { ky, kx0, nx: nx.min(kw - kx0), c0, nc: nc.min(c_hi - c0) });
                }
            }
        }
        o_tiles.push(OTile { o0, no, c_lo, c_hi, k_tiles });
    }
    let pixels = geom.pixels();
    Ok(ConvPlan {
        geometry: geom.clone(),
        rows,
        cols,
        psum_depth: pb,
        pixels,
        pixel_blocks: pixels.div_ceil(pb),
        kt_nx,
        kt_nc,
        o_tiles,
    })
}

/// What array row `r` receives for one output pixel of one k-tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum RowInput {
    /// Input element (n, iy, ix, c) of the NHWC input.
    Pixel { n: usize, iy: usize, ix: usize, c: usize },
    /// A padded position: the input zero point is fed (0 after the offset).
    Padding,
    /// Row beyond `nx * nc`: its weights are zero; the zero point is fed.
    Idle,
}

/// (n, oy, ox) of output pixel `p` (NHWC order).
pub fn pixel_coords(geom: &ConvGeometry, p: usize) -> (usize, usize, usize) {
    let (oh, ow) = (geom.out_h(), geom.out_w());
    (p / (oh * ow), (p / ow) % oh, p % ow)
}

/// The input coordinates of `rows` array rows for k-tile `kt` and output pixel `p`: the
/// reference the hdl address generator and the cycle model are tested against.
pub fn expand_rows(geom: &ConvGeometry, kt: &KTile, rows: usize, p: usize) -> Vec<RowInput> {
    let (n, oy, ox) = pixel_coords(geom, p);
    let iy = (oy * geom.stride[0] + kt.ky * geom.dilation[0]) as i64 - geom.padding.top as i64;
    (0..rows)
        .map(|r| {
            if r >= kt.used_rows() {
                return RowInput::Idle;
            }
            let (j, i) = (r / kt.nc, r % kt.nc);
            let ix = (ox * geom.stride[1] + (kt.kx0 + j) * geom.dilation[1]) as i64 - geom.padding.left as i64;
            if iy < 0 || ix < 0 || iy >= geom.in_h as i64 || ix >= geom.in_w as i64 {
                RowInput::Padding
            } else {
                RowInput::Pixel { n, iy: iy as usize, ix: ix as usize, c: kt.c0 + i }
            }
        })
        .collect()
}

/// Virtual byte offset row 0 of k-tile `kt` reads for output pixel `p`: row r reads this + r
/// (the contiguity the R byte banks and the rotator rely on). May point into the padding.
pub fn tile_base_offset(geom: &ConvGeometry, kt: &KTile, p: usize) -> i64 {
    let (n, oy, ox) = pixel_coords(geom, p);
    let iy = (oy * geom.stride[0] + kt.ky * geom.dilation[0]) as i64 - geom.padding.top as i64;
    let ix = (ox * geom.stride[1] + kt.kx0 * geom.dilation[1]) as i64 - geom.padding.left as i64;
    geom.input_offset(n as i64, iy, ix, kt.c0 as i64)
}

/// Index of one weight in the OHWI tensor: `w[o][ky][kx][ci]`, `ci` within the group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct WeightIndex {
    pub o: usize,
    pub ky: usize,
    pub kx: usize,
    pub ci: usize,
}

/// The weight PE(`row`, `col`) holds during k-tile `kt` of o-tile `ot`, or `None` for a
/// structural zero (idle row or column, or the row's channel is not in the column's group).
/// The packer writes the column's weight zero point there, so `w - zw` is 0.
pub fn tile_weight(geom: &ConvGeometry, ot: &OTile, kt: &KTile, row: usize, col: usize) -> Option<WeightIndex> {
    if row >= kt.used_rows() || col >= ot.no {
        return None;
    }
    let (j, i) = (row / kt.nc, row % kt.nc);
    let c = kt.c0 + i;
    let o = ot.o0 + col;
    let (og, cg) = (geom.group_out(), geom.group_in());
    if c / cg != o / og {
        return None;
    }
    Some(WeightIndex { o, ky: kt.ky, kx: kt.kx0 + j, ci: c % cg })
}

/// The whole R x C weight tile, row-major (`[row * cols + col]`): the packer's order in DRAM.
pub fn tile_weights(plan: &ConvPlan, ot: &OTile, kt: &KTile) -> Vec<Option<WeightIndex>> {
    (0..plan.rows)
        .flat_map(|r| (0..plan.cols).map(move |c| (r, c)))
        .map(|(r, c)| tile_weight(&plan.geometry, ot, kt, r, c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn cfg(rows: u32, cols: u32, pb: u32) -> ArchConfig {
        ArchConfig { psum_depth: pb, ..ArchConfig::new("t", rows, cols) }
    }

    fn conv(in_hw: [usize; 2], in_c: usize, out_c: usize, k: [usize; 2], groups: usize) -> ConvGeometry {
        ConvGeometry {
            batch: 1,
            in_h: in_hw[0],
            in_w: in_hw[1],
            in_c,
            out_c,
            kernel: k,
            stride: [1, 1],
            dilation: [1, 1],
            padding: Padding2d { top: k[0] / 2, left: k[1] / 2, bottom: k[0] / 2, right: k[1] / 2 },
            groups,
        }
    }

    #[test]
    fn first_layer_packs_whole_pixels_of_several_columns() {
        // C_in = 3 on 16 rows: 5 kernel columns fit; a 3x3 kernel row is one tile of 9 rows.
        let p = plan_conv(&conv([8, 8], 3, 16, [3, 3], 1), &cfg(16, 16, 64)).unwrap();
        assert_eq!((p.kt_nx, p.kt_nc), (3, 3));
        assert_eq!(p.o_tiles.len(), 1);
        assert_eq!(p.o_tiles[0].k_tiles.len(), 3);
        assert_eq!(p.o_tiles[0].k_tiles[0], KTile { ky: 0, kx0: 0, nx: 3, c0: 0, nc: 3 });
        assert_eq!(p.pixel_blocks, 1);
        // 5x5 kernel: runs of 5 columns.
        let p = plan_conv(&conv([8, 8], 3, 16, [5, 5], 1), &cfg(16, 16, 64)).unwrap();
        assert_eq!(p.o_tiles[0].k_tiles.len(), 5);
        // 7x7 kernel: runs of 5 + 2.
        let p = plan_conv(&conv([8, 8], 3, 16, [7, 7], 1), &cfg(16, 16, 64)).unwrap();
        let nx: Vec<usize> = p.o_tiles[0].k_tiles.iter().take(2).map(|t| t.nx).collect();
        assert_eq!(nx, [5, 2]);
    }

    #[test]
    fn wide_layers_chunk_channels() {
        let p = plan_conv(&conv([4, 4], 40, 20, [3, 3], 1), &cfg(16, 8, 5)).unwrap();
        assert_eq!(p.o_tiles.len(), 3);
        assert_eq!(p.o_tiles[2].no, 4);
        assert_eq!(p.pixel_blocks, 4);
        assert_eq!(p.block_pixels(3), 1);
        let kt = &p.o_tiles[0].k_tiles;
        assert_eq!(kt.len(), 9 * 3);
        let nc: Vec<usize> = kt.iter().take(3).map(|t| t.nc).collect();
        assert_eq!(nc, [16, 16, 8]);
        assert!(kt.iter().all(|t| t.nx == 1));
    }

    #[test]
    fn depthwise_visits_only_the_o_tile_window() {
        // 32 channels, multiplier 2: an 8-column o-tile covers 4 groups = 4 input channels.
        let g = conv([6, 6], 32, 64, [3, 3], 32);
        let p = plan_conv(&g, &cfg(16, 8, 64)).unwrap();
        assert_eq!(p.o_tiles.len(), 8);
        for (i, ot) in p.o_tiles.iter().enumerate() {
            assert_eq!((ot.c_lo, ot.c_hi), (4 * i, 4 * i + 4));
            assert_eq!(ot.k_tiles.len(), 9, "one (ky, kx) per tile: the window is not the whole pixel");
        }
        // Only 2 of 8 weights per row are nonzero: the 1/C utilisation ENGINE.md reports.
        let w = tile_weights(&p, &p.o_tiles[0], &p.o_tiles[0].k_tiles[0]);
        assert_eq!(w.iter().filter(|x| x.is_some()).count(), 8);
    }

    #[test]
    fn fully_connected_is_a_1x1_conv() {
        let g = ConvGeometry::fully_connected(2, 100, 10);
        let p = plan_conv(&g, &cfg(32, 16, 256)).unwrap();
        assert_eq!(p.pixels, 2);
        assert_eq!(p.o_tiles.len(), 1);
        assert_eq!(p.o_tiles[0].k_tiles.len(), 4);
        assert_eq!(g.macs(), 2000);
    }

    #[test]
    fn rows_expand_to_input_coordinates_and_padding() {
        let g = conv([4, 4], 2, 4, [3, 3], 1);
        let p = plan_conv(&g, &cfg(8, 4, 16)).unwrap();
        let kt = p.o_tiles[0].k_tiles[0]; // ky 0, kx 0..3, c 0..2
        assert_eq!(kt, KTile { ky: 0, kx0: 0, nx: 3, c0: 0, nc: 2 });
        // Pixel (0, 0): kernel row 0 is above the image.
        assert!(expand_rows(&g, &kt, 8, 0)[..6].iter().all(|r| *r == RowInput::Padding));
        // Pixel (1, 1) = p 5: rows read (0, 0..3, c).
        let rows = expand_rows(&g, &kt, 8, 5);
        assert_eq!(rows[0], RowInput::Pixel { n: 0, iy: 0, ix: 0, c: 0 });
        assert_eq!(rows[3], RowInput::Pixel { n: 0, iy: 0, ix: 1, c: 1 });
        assert_eq!(rows[5], RowInput::Pixel { n: 0, iy: 0, ix: 2, c: 1 });
        assert_eq!(rows[6..], [RowInput::Idle, RowInput::Idle]);
    }

    #[test]
    fn invalid_geometry_is_an_error() {
        let mut g = conv([4, 4], 6, 4, [3, 3], 4);
        assert!(plan_conv(&g, &cfg(8, 8, 8)).is_err());
        g.groups = 2;
        g.kernel = [9, 9];
        let e = plan_conv(&g, &cfg(8, 8, 8)).unwrap_err();
        assert!(e.to_string().contains("does not fit"), "{e}");
        g.kernel = [0, 1];
        assert!(plan_conv(&g, &cfg(8, 8, 8)).is_err());
    }

    fn geometry() -> impl Strategy<Value = ConvGeometry> {
        (
            (1usize..=2, 1usize..=7, 1usize..=7),
            (1usize..=4, 1usize..=3, 1usize..=6),
            (1usize..=3, 1usize..=3, 1usize..=2, 1usize..=2, 1usize..=2, 1usize..=2),
            (0usize..=2, 0usize..=2, 0usize..=2, 0usize..=2),
            0usize..3,
        )
            .prop_filter_map(
                "window must fit",
                |((n, h, w), (g, cg, og), (kh, kw, sh, sw, dh, dw), pads, kind)| {
                    // kind 0: standard (groups 1), 1: grouped, 2: depthwise with multiplier og.
                    let (groups, cg) = match kind {
                        0 => (1, g * cg),
                        1 => (g, cg),
                        _ => (g * cg, 1),
                    };
                    let geom = ConvGeometry {
                        batch: n,
                        in_h: h,
                        in_w: w,
                        in_c: groups * cg,
                        out_c: groups * og,
                        kernel: [kh, kw],
                        stride: [sh, sw],
                        dilation: [dh, dw],
                        padding: Padding2d { top: pads.0, left: pads.1, bottom: pads.2, right: pads.3 },
                        groups,
                    };
                    geom.validate().ok().map(|_| geom)
                },
            )
    }

    fn array() -> impl Strategy<Value = (u32, u32, u32)> {
        (prop::sample::select(vec![1u32, 2, 3, 4, 5, 8, 16]), prop::sample::select(vec![1u32, 2, 3, 4, 8]), 1u32..=9)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Every (o, ky, kx, ci) of every output channel's receptive field is covered exactly
        /// once; structural zeros appear only across groups; no tile is entirely zero.
        #[test]
        fn k_tiles_cover_every_weight_exactly_once(g in geometry(), (r, c, pb) in array()) {
            let plan = plan_conv(&g, &cfg(r, c, pb)).unwrap();
            let mut seen: HashMap<WeightIndex, usize> = HashMap::new();
            for ot in &plan.o_tiles {
                prop_assert!(ot.no >= 1 && ot.no <= plan.cols);
                for kt in &ot.k_tiles {
                    prop_assert!(kt.used_rows() <= plan.rows && kt.nx >= 1 && kt.nc >= 1);
                    prop_assert!(kt.nx == 1 || (kt.nc == g.in_c && g.dilation[1] == 1), "multi-column runs need whole pixels");
                    prop_assert!(kt.c0 >= ot.c_lo && kt.c0 + kt.nc <= ot.c_hi);
                    let mut nonzero = 0;
                    for row in 0..plan.rows {
                        for col in 0..plan.cols {
                            match tile_weight(&g, ot, kt, row, col) {
                                Some(w) => {
                                    nonzero += 1;
                                    *seen.entry(w).or_default() += 1;
                                }
                                None if row < kt.used_rows() && col < ot.no => {
                                    let ch = kt.c0 + row % kt.nc;
                                    prop_assert_ne!(ch / g.group_in(), (ot.o0 + col) / g.group_out(), "zero inside a group");
                                }
                                None => {}
                            }
                        }
                    }
                    prop_assert!(nonzero > 0, "an all-zero tile was issued");
                }
            }
            prop_assert_eq!(seen.len(), g.out_c * g.k());
            prop_assert!(seen.values().all(|&n| n == 1));
            for (w, _) in seen {
                prop_assert!(w.o < g.out_c && w.ky < g.kernel[0] && w.kx < g.kernel[1] && w.ci < g.group_in());
            }
            prop_assert_eq!(plan.pixel_blocks, g.pixels().div_ceil(pb as usize));
            let streamed: usize = (0..plan.pixel_blocks).map(|b| plan.block_pixels(b)).sum();
            prop_assert_eq!(streamed, g.pixels());
        }

        /// Row r of a k-tile reads the byte at base + r, i.e. one contiguous read per cycle, and
        /// its coordinates agree with the direct receptive-field formula.
        #[test]
        fn rows_are_contiguous_bytes(g in geometry(), (r, c, pb) in array()) {
            let plan = plan_conv(&g, &cfg(r, c, pb)).unwrap();
            for ot in &plan.o_tiles {
                for kt in &ot.k_tiles {
                    for p in 0..g.pixels() {
                        let base = tile_base_offset(&g, kt, p);
                        let (n, oy, ox) = pixel_coords(&g, p);
                        for (row, input) in expand_rows(&g, kt, plan.rows, p).into_iter().enumerate() {
                            let (j, i) = (row / kt.nc, row % kt.nc);
                            let iy = (oy * g.stride[0] + kt.ky * g.dilation[0]) as i64 - g.padding.top as i64;
                            let ix = (ox * g.stride[1] + (kt.kx0 + j) * g.dilation[1]) as i64 - g.padding.left as i64;
                            match input {
                                RowInput::Pixel { n: pn, iy: piy, ix: pix, c: pc } => {
                                    prop_assert_eq!((pn, piy as i64, pix as i64, pc), (n, iy, ix, kt.c0 + i));
                                    prop_assert_eq!(g.input_offset(n as i64, iy, ix, pc as i64), base + row as i64);
                                }
                                RowInput::Padding => {
                                    prop_assert!(row < kt.used_rows());
                                    prop_assert!(iy < 0 || ix < 0 || iy >= g.in_h as i64 || ix >= g.in_w as i64);
                                    if kt.nx > 1 {
                                        prop_assert_eq!(g.input_offset(n as i64, iy, ix, (kt.c0 + i) as i64), base + row as i64);
                                    }
                                }
                                RowInput::Idle => prop_assert!(row >= kt.used_rows()),
                            }
                        }
                    }
                }
            }
        }

        /// Running the plan as the array does (acc[p][o] += (x - zx) * (w - zw) over tiles, rows
        /// and columns) equals a direct convolution.
        #[test]
        fn plan_computes_the_convolution(g in geometry(), (r, c, pb) in array(), seed in any::<u64>()) {
            let plan = plan_conv(&g, &cfg(r, c, pb)).unwrap();
            let mut s = seed | 1;
            let mut next = move || { s ^= s << 13; s ^= s >> 7; s ^= s << 17; (s % 255) as i64 - 127 };
            let x: Vec<i64> = (0..g.input_bytes()).map(|_| next()).collect();
            let w: Vec<i64> = (0..g.out_c * g.k()).map(|_| next()).collect();
            let widx = |wi: &WeightIndex| ((wi.o * g.kernel[0] + wi.ky) * g.kernel[1] + wi.kx) * g.group_in() + wi.ci;
            let (oh, ow) = (g.out_h(), g.out_w());
            let mut direct = vec![0i64; g.pixels() * g.out_c];
            for p in 0..g.pixels() {
                let (n, oy, ox) = pixel_coords(&g, p);
                for o in 0..g.out_c {
                    let grp = o / g.group_out();
                    for ky in 0..g.kernel[0] {
                        for kx in 0..g.kernel[1] {
                            let iy = (oy * g.stride[0] + ky * g.dilation[0]) as i64 - g.padding.top as i64;
                            let ix = (ox * g.stride[1] + kx * g.dilation[1]) as i64 - g.padding.left as i64;
                            if iy < 0 || ix < 0 || iy >= g.in_h as i64 || ix >= g.in_w as i64 { continue; }
                            for ci in 0..g.group_in() {
                                let c = grp * g.group_in() + ci;
                                let xv = x[g.input_offset(n as i64, iy, ix, c as i64) as usize];
                                direct[p * g.out_c + o] += xv * w[widx(&WeightIndex { o, ky, kx, ci })];
                            }
                        }
                    }
                }
            }
            let mut acc = vec![0i64; g.pixels() * g.out_c];
            for ot in &plan.o_tiles {
                for b in 0..plan.pixel_blocks {
                    for kt in &ot.k_tiles {
                        let tile = tile_weights(&plan, ot, kt);
                        for p in b * plan.psum_depth..b * plan.psum_depth + plan.block_pixels(b) {
                            let rows = expand_rows(&g, kt, plan.rows, p);
                            for (row, input) in rows.iter().enumerate() {
                                let RowInput::Pixel { n, iy, ix, c } = *input else { continue };
                                let xv = x[g.input_offset(n as i64, iy as i64, ix as i64, c as i64) as usize];
                                for col in 0..plan.cols {
                                    if let Some(wi) = &tile[row * plan.cols + col] {
                                        acc[p * g.out_c + ot.o0 + col] += xv * w[widx(wi)];
                                    }
                                }
                            }
                        }
                    }
                }
            }
            prop_assert_eq!(oh * ow * g.batch, g.pixels());
            prop_assert_eq!(acc, direct);
        }
    }
}
