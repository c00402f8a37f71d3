//! The register values the im2col reader runs on, derived from a convolution's geometry.
//!
//! The address generator's per-cycle path has adders and comparators only. Every product it
//! needs is either a per-layer constant ([`LayerRegs`]: byte strides such as `sh * W * C`, computed
//! once per layer by [`super::setup::LayerSetup`] or by the host) or a per-tile product of an
//! 8-bit kernel index (`ky * dil_y`, `kx0 * dil_x`, `nx * nc`), computed by shift-and-add in the
//! generator's first two pipeline stages (see [`super::addrgen`]).
//!
//! All offsets are *virtual*: byte offsets from input element (0, 0, 0, 0) that may point into
//! the padding (negative, or past a row's end). The generator computes them in 32-bit two's
//! complement, so [`LayerRegs::new`] refuses layers whose offsets do not fit.

use systole_arch::plan::{ConvGeometry, KTile};
use thiserror::Error;

/// Width of the virtual offset arithmetic (two's complement).
pub const VIRT_BITS: usize = 32;
/// Width of the tile's pixel count: `psum_depth` is at most 2^20 (arch `ArchConfig::validate`).
pub const COUNT_BITS: usize = 21;
/// Width of the run-length / row-index arithmetic: 0..=256 rows.
pub const ROW_BITS: usize = 9;
/// Largest R the read path supports (arch's `MAX_ARRAY_SIDE`).
pub const MAX_ROWS: usize = 256;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum Im2colError {
    #[error("R = {0} rows: the activation buffer needs a power of two in 2..=256 (bank = address mod R)")]
    Rows(usize),
    #[error("buffer of 2^{addr_bits} bytes with {rows} banks and {beat_bytes}-byte DMA beats: {reason}")]
    Buffer { addr_bits: usize, rows: usize, beat_bytes: usize, reason: &'static str },
    #[error("convolution geometry: {0}")]
    Geometry(String),
    #[error("the input tensor ({bytes} bytes) does not fit the {capacity}-byte activation buffer")]
    TensorTooBig { bytes: u64, capacity: u64 },
    #[error("{what} = {value} does not fit its {bits}-bit register")]
    Field { what: &'static str, value: i64, bits: usize },
    #[error("the layer's virtual offsets reach {0} bytes; the generator computes in 32-bit two's complement")]
    Span(i64),
    #[error("k-tile {tile:?} uses {used} rows, more than R = {rows}")]
    TileRows { tile: KTile, used: usize, rows: usize },
}

/// The per-layer registers of the address generator and read path. Byte strides are of the
/// NHWC input, `C` channels per pixel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerRegs {
    /// Buffer address of input element (0, 0, 0, 0); addresses wrap modulo the buffer size.
    pub act_base: u32,
    pub out_w: u16,
    pub out_h: u16,
    /// `W * C`: bytes of one input row; also the exclusive bound of a row's byte offsets.
    pub row_bytes: u32,
    /// `H * W * C`: bytes of one image; the exclusive bound of an image's row offsets.
    pub image_bytes: u32,
    /// `stride_w * C`: offset step from one output column to the next.
    pub step_x: u32,
    /// `stride_h * W * C`.
    pub step_y: u32,
    /// `dilation_w * C`: offset step from one kernel column to the next.
    pub dil_x: u32,
    /// `dilation_h * W * C`.
    pub dil_y: u32,
    /// `-pad_left * C`: the offset of kernel column 0 for output column 0.
    pub org_x: i32,
    /// `-pad_top * W * C`.
    pub org_y: i32,
    /// The input zero point as an 8-bit pattern (int8 or uint8), fed for padding and idle rows.
    pub zero_point: u8,
}

fn field(what: &'static str, value: i64, bits: usize, signed: bool) -> Result<i64, Im2colError> {
    let (lo, hi) = if signed { (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1) } else { (0, (1i64 << bits) - 1) };
    if value < lo || value > hi {
        return Err(Im2colError::Field { what, value, bits });
    }
    Ok(value)
}

impl LayerRegs {
    /// The registers of `geom` with the input at buffer address `act_base` of a `2^addr_bits`
    /// byte buffer. `zero_point` is the input zero point's byte (`zp as u8` for int8).
    pub fn new(geom: &ConvGeometry, act_base: u64, zero_point: u8, addr_bits: usize) -> Result<LayerRegs, Im2colError> {
        geom.validate().map_err(|e| Im2colError::Geometry(e.to_string()))?;
        let capacity = 1u64 << addr_bits;
        let bytes = geom.input_bytes() as u64;
        if bytes > capacity {
            return Err(Im2colError::TensorTooBig { bytes, capacity });
        }
        let g = |v: usize| v as i64;
        let c = g(geom.in_c);
        let row = g(geom.in_w) * c;
        let image = g(geom.in_h) * row;
        let (oh, ow) = (g(geom.out_h()), g(geom.out_w()));
        let [kh, kw] = geom.kernel.map(g);
        let [sh, sw] = geom.stride.map(g);
        let [dh, dw] = geom.dilation.map(g);
        let (pt, pl) = (g(geom.padding.top), g(geom.padding.left));
        // The largest magnitude any intermediate offset reaches: the last image's base plus the
        // farthest window position, or the padding before the first.
        let reach_y = ((oh - 1) * sh + (kh - 1) * dh) * row;
        let reach_x = ((ow - 1) * sw + (kw - 1) * dw) * c + c;
        let span = (g(geom.batch) * image + reach_y + reach_x + capacity as i64).max(pt * row + pl * c);
        if span > i64::from(i32::MAX) {
            return Err(Im2colError::Span(span));
        }
        let u32f = |what, v| field(what, v, VIRT_BITS, false).map(|v| v as u32);
        Ok(LayerRegs {
            act_base: field("act_base", act_base as i64, addr_bits, false)? as u32,
            out_w: field("out_w", ow, 16, false)? as u16,
            out_h: field("out_h", oh, 16, false)? as u16,
            row_bytes: u32f("row_bytes", row)?,
            image_bytes: u32f("image_bytes", image)?,
            step_x: u32f("step_x", sw * c)?,
            step_y: u32f("step_y", sh * row)?,
            dil_x: u32f("dil_x", dw * c)?,
            dil_y: u32f("dil_y", dh * row)?,
            org_x: -(pl * c) as i32,
            org_y: -(pt * row) as i32,
            zero_point,
        })
    }
}

/// Whether a tile continues the previous tile's pixel block, starts the next block, or starts
/// again at pixel 0. The generator never divides: it walks (n, oy, ox) with counters, so a pixel
/// range is named relative to the previous one instead of by its first pixel index.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum BlockMode {
    /// Same pixels as the previous tile (the block's first pixel is remembered).
    #[default]
    Same = 0,
    /// The block after the previous tile's: its first pixel is the one after the previous
    /// tile's last (every tile of a block streams the same pixels).
    Next = 1,
    /// Pixel 0 of the layer: the first tile of a layer and of every o-tile.
    Restart = 2,
}

/// One tile command: the k-tile and how many pixels to stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TileCmd {
    pub ky: u8,
    pub kx0: u8,
    pub nx: u8,
    pub c0: u16,
    /// 1..=256 (9 bits).
    pub nc: u16,
    pub mode: BlockMode,
    /// Pixels to stream, 1..2^21.
    pub count: u32,
}

impl TileCmd {
    /// The command for k-tile `kt` of an R-row array.
    pub fn new(kt: &KTile, rows: usize, mode: BlockMode, count: usize) -> Result<TileCmd, Im2colError> {
        if kt.used_rows() > rows {
            return Err(Im2colError::TileRows { tile: *kt, used: kt.used_rows(), rows });
        }
        let f = |what, v: usize, bits| field(what, v as i64, bits, false);
        Ok(TileCmd {
            ky: f("ky", kt.ky, 8)? as u8,
            kx0: f("kx0", kt.kx0, 8)? as u8,
            nx: f("nx", kt.nx, 8)? as u8,
            c0: f("c0", kt.c0, 16)? as u16,
            nc: f("nc", kt.nc, ROW_BITS)? as u16,
            mode,
            count: f("count", count.max(1), COUNT_BITS)? as u32,
        })
    }

    /// Rows the tile uses, `nx * nc` (the run length).
    pub fn used_rows(&self) -> usize {
        usize::from(self.nx) * usize::from(self.nc)
    }
}

/// log2 of a power of two in 2..=256, or the error naming R.
pub fn log2_rows(rows: usize) -> Result<usize, Im2colError> {
    if !(2..=MAX_ROWS).contains(&rows) || !rows.is_power_of_two() {
        return Err(Im2colError::Rows(rows));
    }
    Ok(rows.trailing_zeros() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use systole_model::ir::Padding2d;

    fn geom() -> ConvGeometry {
        ConvGeometry {
            batch: 2,
            in_h: 5,
            in_w: 6,
            in_c: 3,
            out_c: 4,
            kernel: [3, 2],
            stride: [2, 1],
            dilation: [1, 2],
            padding: Padding2d { top: 1, left: 2, bottom: 0, right: 1 },
            groups: 1,
        }
    }

    #[test]
    fn strides_are_bytes_of_the_nhwc_input() {
        let r = LayerRegs::new(&geom(), 7, 0x80, 12).unwrap();
        assert_eq!((r.row_bytes, r.image_bytes), (18, 90));
        assert_eq!((r.step_x, r.step_y, r.dil_x, r.dil_y), (3, 36, 6, 18));
        assert_eq!((r.org_x, r.org_y), (-6, -18));
        assert_eq!((r.out_h, r.out_w), (geom().out_h() as u16, geom().out_w() as u16));
    }

    #[test]
    fn refuses_what_the_hardware_cannot_hold() {
        assert!(matches!(LayerRegs::new(&geom(), 0, 0, 7), Err(Im2colError::TensorTooBig { .. })));
        assert!(matches!(LayerRegs::new(&geom(), 1 << 12, 0, 12), Err(Im2colError::Field { what: "act_base", .. })));
        let kt = KTile { ky: 0, kx0: 0, nx: 3, c0: 0, nc: 3 };
        assert!(matches!(TileCmd::new(&kt, 8, BlockMode::Same, 1), Err(Im2colError::TileRows { .. })));
        assert_eq!(TileCmd::new(&kt, 16, BlockMode::Next, 5).unwrap().used_rows(), 9);
        assert_eq!(log2_rows(16), Ok(4));
        assert!(log2_rows(12).is_err() && log2_rows(1).is_err() && log2_rows(512).is_err());
    }
}
