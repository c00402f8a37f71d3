//! Golden models of the im2col reader.
//!
//! * [`request`]: what the address generator asks for, for one output pixel of one k-tile: the
//!   buffer address of row 0's byte, the run length and the per-row zero-point mask. Written from
//!   the byte-offset formulation the RTL implements (multiplications allowed here), and checked
//!   against arch's [`expand_rows`] in this module's tests.
//! * [`golden_rows`]: the R bytes the array must receive, straight from [`expand_rows`] and the
//!   input tensor: the independent reference of the co-simulation.
//! * [`Im2colModel`]: the cycle-level contract: which pixel each enabled cycle issues, `idle`,
//!   and the outputs [`super::LATENCY`] enabled edges later, read from a [`BufferModel`].

use super::addrgen::setup_cycles;
use super::regs::{BlockMode, LayerRegs, TileCmd};
use super::setup::LAYER_SETUP_CYCLES;
use super::LATENCY;
use std::collections::VecDeque;
use systole_arch::plan::{expand_rows, pixel_coords, ConvGeometry, KTile, RowInput};

/// One request of the address generator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Buffer address of row 0's byte (row r reads `addr + r`), modulo the buffer size.
    pub addr: u32,
    /// Rows the tile uses (`nx * nc`).
    pub len: usize,
    /// `mask[r]`: row r gets the zero point (padding, or beyond the run).
    pub mask: Vec<bool>,
}

/// The request for output pixel `(n, oy, ox)` of `tile` on an R-row array, `2^addr_bits` bytes.
pub fn request(
    layer: &LayerRegs,
    tile: &TileCmd,
    rows: usize,
    addr_bits: usize,
    pixel: (usize, usize, usize),
) -> Request {
    let (n, oy, ox) = (pixel.0 as i64, pixel.1 as i64, pixel.2 as i64);
    let l = |v: u32| i64::from(v);
    // Row offset within the image, and byte offset within the row, of the run's first byte.
    let yb = oy * l(layer.step_y) + i64::from(tile.ky) * l(layer.dil_y) + i64::from(layer.org_y);
    let bx = ox * l(layer.step_x) + i64::from(tile.kx0) * l(layer.dil_x) + i64::from(layer.org_x) + i64::from(tile.c0);
    let y_ok = yb >= 0 && yb < l(layer.image_bytes);
    let len = tile.used_rows();
    let mask = (0..rows)
        .map(|r| {
            let x = bx + r as i64;
            !y_ok || x < 0 || x >= l(layer.row_bytes) || r >= len
        })
        .collect();
    let addr = l(layer.act_base) + n * l(layer.image_bytes) + yb + bx;
    Request { addr: (addr & ((1i64 << addr_bits) - 1)) as u32, len, mask }
}

/// The activation buffer's contents: `2^addr_bits` bytes, written by whole DMA beats.
#[derive(Clone, Debug)]
pub struct BufferModel {
    pub bytes: Vec<u8>,
}

impl BufferModel {
    pub fn new(addr_bits: usize) -> BufferModel {
        BufferModel { bytes: vec![0; 1 << addr_bits] }
    }

    /// One beat of `beat.len()` bytes at `addr` (its low bits below the beat size are ignored).
    pub fn write_beat(&mut self, addr: u32, beat: &[u8]) {
        let base = (addr as usize & !(beat.len() - 1)) & (self.bytes.len() - 1);
        self.bytes[base..base + beat.len()].copy_from_slice(beat);
    }

    /// Byte `addr` modulo the size.
    pub fn byte(&self, addr: u64) -> u8 {
        self.bytes[addr as usize & (self.bytes.len() - 1)]
    }

    /// The R bytes the read path delivers for `req`: row r is the byte at `addr + r`, or the
    /// zero point where the mask is set.
    pub fn rows(&self, req: &Request, zero_point: u8) -> Vec<u8> {
        req.mask
            .iter()
            .enumerate()
            .map(|(r, &m)| if m { zero_point } else { self.byte(u64::from(req.addr) + r as u64) })
            .collect()
    }
}

/// The reference: what row r of the array must receive for pixel `p` of k-tile `kt`, from arch's
/// plan expansion and the NHWC `input` tensor.
pub fn golden_rows(geom: &ConvGeometry, kt: &KTile, rows: usize, p: usize, input: &[u8], zero_point: u8) -> Vec<u8> {
    expand_rows(geom, kt, rows, p)
        .into_iter()
        .map(|row| match row {
            RowInput::Pixel { n, iy, ix, c } => {
                input[geom.input_offset(n as i64, iy as i64, ix as i64, c as i64) as usize]
            }
            RowInput::Padding | RowInput::Idle => zero_point,
        })
        .collect()
}

/// Inputs of one clock cycle (the reader's ports, write port excluded).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CycleInputs {
    pub en: bool,
    /// Start the layer setup (the strides from the geometry fields).
    pub setup: bool,
    pub start: bool,
    /// The command on the tile ports (sampled only with `start`).
    pub cmd: TileCmd,
}

/// One issued pixel: the command of its tile and its index `p` in N * OH * OW order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Issue {
    pub cmd: TileCmd,
    pub p: usize,
    pub first: bool,
    pub last: bool,
}

/// Outputs after one rising edge.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CycleOutputs {
    pub setup_busy: bool,
    pub ready: bool,
    pub idle: bool,
    pub valid: bool,
    pub first: bool,
    pub last: bool,
    /// Meaningful only when `valid`.
    pub rows: Vec<u8>,
}

/// The issue rule of the address generator (see [`super::addrgen`]): a one-entry command
/// queue whose tile needs [`setup_cycles`] enabled cycles (counting the accepting one) before
/// its first pixel can issue, and a streaming tile issuing one pixel per enabled cycle. Every
/// input is ignored while `en` is low, `start` while not `ready`.
#[derive(Clone, Debug)]
pub struct IssueModel {
    setup: usize,
    /// The queued command and the setup steps it has had.
    pending: Option<(TileCmd, usize)>,
    running: usize,
    block: usize,
    remaining: u32,
    cmd: TileCmd,
}

impl IssueModel {
    pub fn new(rows: usize) -> IssueModel {
        IssueModel {
            setup: setup_cycles(rows),
            pending: None,
            running: 0,
            block: 0,
            remaining: 0,
            cmd: TileCmd::default(),
        }
    }

    fn take_possible(&self) -> bool {
        self.remaining == 0 && self.pending.is_some_and(|(_, steps)| steps == self.setup)
    }

    /// A `start` in the next cycle is accepted.
    pub fn ready(&self) -> bool {
        self.pending.is_none() || self.take_possible()
    }

    /// Nothing queued, nothing left to issue.
    pub fn idle(&self) -> bool {
        self.pending.is_none() && self.remaining == 0
    }

    pub fn step(&mut self, inputs: &CycleInputs) -> Option<Issue> {
        if !inputs.en {
            return None;
        }
        let take = self.take_possible();
        let ready = self.ready();
        if take {
            let (cmd, _) = self.pending.take().expect("take needs a pending command");
            self.cmd = cmd;
            self.remaining = cmd.count;
            match cmd.mode {
                BlockMode::Same => self.running = self.block,
                BlockMode::Next => self.block = self.running,
                BlockMode::Restart => (self.block, self.running) = (0, 0),
            }
        }
        let issue = (self.remaining > 0).then(|| {
            let issue = Issue { cmd: self.cmd, p: self.running, first: take, last: self.remaining == 1 };
            self.running += 1;
            self.remaining -= 1;
            issue
        });
        if inputs.start && ready {
            self.pending = Some((inputs.cmd, 1));
        } else if let Some((_, steps)) = &mut self.pending {
            *steps = (*steps + 1).min(self.setup);
        }
        issue
    }
}

/// Cycle-level model of [`super::Im2colReader`] for one layer: the contract (issue rule,
/// latency, stall), not the pipeline's structure. Buffer contents are read when a pixel leaves,
/// which equals the RTL as long as no beat is written to a byte between its read and the
/// pixel's exit (the reader's rule for the DMA).
#[derive(Clone, Debug)]
pub struct Im2colModel {
    pub geom: ConvGeometry,
    pub layer: LayerRegs,
    pub rows: usize,
    pub addr_bits: usize,
    issue: IssueModel,
    /// Enabled cycles of layer setup left.
    setup_left: usize,
    /// The last `LATENCY - 1` enabled slots, oldest first.
    in_flight: VecDeque<Option<Issue>>,
    out: CycleOutputs,
}

impl Im2colModel {
    pub fn new(geom: &ConvGeometry, layer: LayerRegs, rows: usize, addr_bits: usize) -> Im2colModel {
        Im2colModel {
            geom: geom.clone(),
            layer,
            rows,
            addr_bits,
            issue: IssueModel::new(rows),
            setup_left: 0,
            in_flight: std::iter::repeat_n(None, LATENCY - 1).collect(),
            out: CycleOutputs { ready: true, idle: true, rows: vec![0; rows], ..CycleOutputs::default() },
        }
    }

    /// Starts the next layer: new registers; the pipeline and the outputs carry on.
    pub fn set_layer(&mut self, geom: &ConvGeometry, layer: LayerRegs) {
        self.geom = geom.clone();
        self.layer = layer;
    }

    /// One rising edge; returns the pixel issued in this cycle (if any) and the outputs after it.
    pub fn step(&mut self, inputs: &CycleInputs, buffer: &BufferModel) -> (Option<Issue>, CycleOutputs) {
        let issued = self.issue.step(inputs);
        if inputs.en {
            self.setup_left = if inputs.setup { LAYER_SETUP_CYCLES } else { self.setup_left.saturating_sub(1) };
            self.in_flight.push_back(issued);
            let leaving = self.in_flight.pop_front().flatten();
            self.out.valid = leaving.is_some();
            if let Some(px) = leaving {
                self.out.first = px.first;
                self.out.last = px.last;
                let req = request(&self.layer, &px.cmd, self.rows, self.addr_bits, pixel_coords(&self.geom, px.p));
                self.out.rows = buffer.rows(&req, self.layer.zero_point);
            } else {
                (self.out.first, self.out.last) = (false, false);
            }
        }
        self.out.setup_busy = self.setup_left > 0;
        self.out.ready = self.issue.ready();
        self.out.idle = self.issue.idle();
        (issued, self.out.clone())
    }

    /// True when no pixel is in flight and none remains to issue.
    pub fn drained(&self) -> bool {
        self.issue.idle() && self.in_flight.iter().all(Option::is_none)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::im2col::stimuli::random_layer;
    use crate::rng::Rng;
    use systole_arch::config::ArchConfig;
    use systole_arch::plan::{plan_conv, tile_base_offset};

    /// For random geometries, every pixel of every k-tile: the request's mask is exactly the
    /// non-pixel rows, and pixel rows read `addr + r` = the element's NHWC offset.
    #[test]
    fn requests_match_the_plan_expansion() {
        let mut rng = Rng(0x1c01);
        let mut checked = 0;
        for case in 0..400 {
            let rows = [2, 4, 8, 16, 32][case % 5];
            let addr_bits = 13;
            let layer = random_layer(&mut rng, rows, addr_bits);
            let g = &layer.geom;
            let cfg = ArchConfig { psum_depth: 7, ..ArchConfig::new("t", rows as u32, 4) };
            let plan = plan_conv(g, &cfg).unwrap();
            for ot in &plan.o_tiles {
                for kt in &ot.k_tiles {
                    let cmd = TileCmd::new(kt, rows, BlockMode::Same, 1).unwrap();
                    for p in 0..g.pixels() {
                        let req = request(&layer.regs, &cmd, rows, addr_bits, pixel_coords(g, p));
                        let base = i64::from(layer.regs.act_base) + tile_base_offset(g, kt, p);
                        assert_eq!(i64::from(req.addr), base.rem_euclid(1 << addr_bits), "{g:?} {kt:?} p {p}");
                        assert_eq!(req.len, kt.used_rows());
                        for (r, row) in expand_rows(g, kt, rows, p).into_iter().enumerate() {
                            assert_eq!(
                                req.mask[r],
                                !matches!(row, RowInput::Pixel { .. }),
                                "{g:?} {kt:?} p {p} row {r}"
                            );
                        }
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 10_000, "{checked}");
    }

    #[test]
    fn issue_rule_queues_rewinds_continues_and_restarts() {
        let mut m = IssueModel::new(16);
        let cmd = |mode, count| TileCmd { mode, count, nx: 1, nc: 1, ..TileCmd::default() };
        let idle = CycleInputs::default();
        let on = CycleInputs { en: true, ..idle };
        // Accepted in cycle 0, first pixel in cycle 8 (setup_cycles(16) = 8).
        let mut issues = vec![m.step(&CycleInputs { start: true, cmd: cmd(BlockMode::Restart, 3), ..on })];
        assert!(!m.ready());
        for _ in 0..12 {
            assert!(m.step(&CycleInputs { en: false, start: true, ..on }).is_none(), "stalls change nothing");
            issues.push(m.step(&CycleInputs { start: true, cmd: cmd(BlockMode::Same, 9), ..on }));
        }
        let ps: Vec<Option<usize>> = issues.iter().map(|i| i.map(|i| i.p)).collect();
        assert_eq!(ps[..8], [None; 8]);
        assert_eq!(ps[8..11], [Some(0), Some(1), Some(2)], "{ps:?}");
        assert!(issues[8].unwrap().first && issues[10].unwrap().last);
        // The Same tile was accepted when the Restart tile was taken (cycle 8): it waits until 16.
        assert_eq!(ps[11..], [None, None]);
        let mut more = Vec::new();
        for _ in 0..14 {
            more.extend(m.step(&CycleInputs { start: true, cmd: cmd(BlockMode::Next, 2), ..on }).map(|i| i.p));
        }
        // Same rewinds to 0 (9 pixels from cycle 16), then Next continues at 9.
        assert_eq!(more[..9], [0, 1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(more[9..], [9, 10]);
        assert!(!m.idle());
        for _ in 0..20 {
            m.step(&on);
        }
        assert!(m.idle() && m.ready());
    }
}
