//! Random test layers and the cycle streams a sequencer would drive for them.
//!
//! Layers: random convolution geometries covering what the reader must handle (strides and
//! dilations 1..=3, asymmetric padding, `C_in` below, at and above R, grouped and depthwise
//! windows, 1x1, 1xN and Nx1 kernels, fully-connected layers), an input at a random unaligned
//! buffer address (so runs wrap around the buffer's end), bytes never equal to the zero point
//! (so a wrong mask bit can never go unnoticed).
//!
//! Streams: per layer, the input written by DMA beats, then arch's loop nest (o-tiles, pixel
//! blocks, k-tiles) as tile commands, each presented as soon as the queue is ready or after a
//! random gap, with random stalls, garbage on the command ports while `start` is low and
//! ignored `start`s while not ready; then a drain before the next layer's registers.

use super::model::{CycleInputs, IssueModel};
use super::regs::{BlockMode, LayerRegs, TileCmd};
use super::setup::LAYER_SETUP_CYCLES;
use super::LATENCY;
use crate::rng::Rng;
use std::collections::VecDeque;
use systole_arch::config::ArchConfig;
use systole_arch::plan::{plan_conv, ConvGeometry, KTile};
use systole_model::ir::Padding2d;

/// One layer of a test stream.
#[derive(Clone, Debug)]
pub struct Layer {
    pub geom: ConvGeometry,
    pub cfg: ArchConfig,
    pub regs: LayerRegs,
    /// The NHWC input tensor.
    pub input: Vec<u8>,
}

impl Layer {
    /// Tile commands of the loop nest with their k-tiles, in issue order.
    pub fn commands(&self) -> Vec<(KTile, TileCmd)> {
        let plan = plan_conv(&self.geom, &self.cfg).expect("test layers have valid plans");
        let rows = self.cfg.rows as usize;
        let mut out = Vec::new();
        for ot in &plan.o_tiles {
            for b in 0..plan.pixel_blocks {
                for (i, kt) in ot.k_tiles.iter().enumerate() {
                    let mode = match (b, i) {
                        (0, 0) => BlockMode::Restart,
                        (_, 0) => BlockMode::Next,
                        _ => BlockMode::Same,
                    };
                    let cmd = TileCmd::new(kt, rows, mode, plan.block_pixels(b)).expect("plan tiles fit the array");
                    out.push((*kt, cmd));
                }
            }
        }
        out
    }

    /// Pixels the loop nest streams.
    pub fn issues(&self) -> usize {
        self.commands().iter().map(|(_, c)| c.count as usize).sum()
    }
}

/// A random geometry whose input takes at most `max_bytes`.
pub fn random_geometry(rng: &mut Rng, rows: usize, max_bytes: usize) -> ConvGeometry {
    const KERNELS: [[usize; 2]; 9] = [[1, 1], [3, 3], [1, 3], [3, 1], [1, 5], [2, 2], [2, 3], [5, 1], [1, 2]];
    loop {
        let in_c = match rng.below(3) {
            0 => 1 + rng.below(rows as u64 - 1) as usize,
            1 => rows,
            _ => rows + 1 + rng.below(rows as u64 + 3) as usize,
        };
        let kind = rng.below(6);
        if kind == 5 {
            let g = ConvGeometry::fully_connected(1 + rng.below(3) as usize, in_c, 1 + rng.below(20) as usize);
            if g.input_bytes() <= max_bytes {
                return g;
            }
            continue;
        }
        let small = |rng: &mut Rng, hi: u64| 1 + rng.below(hi) as usize;
        let pad = |rng: &mut Rng| rng.below(3) as usize;
        let kernel = if kind == 4 { [1, 1] } else { rng.pick(&KERNELS) };
        let (groups, out_c) = match kind {
            // Grouped: a divisor of C_in that is neither 1 nor C_in when there is one.
            2 => {
                let divisors: Vec<usize> = (2..in_c).filter(|d| in_c % d == 0).collect();
                let g = if divisors.is_empty() { 1 } else { rng.pick(&divisors) };
                (g, g * small(rng, 2))
            }
            // Depthwise, channel multiplier 1 or 2.
            3 => (in_c, in_c * small(rng, 2)),
            _ => (1, small(rng, 2 * rows as u64)),
        };
        let g = ConvGeometry {
            batch: small(rng, 2),
            in_h: 1 + small(rng, 7),
            in_w: 1 + small(rng, 8),
            in_c,
            out_c,
            kernel,
            stride: [small(rng, 3), small(rng, 3)],
            dilation: [if rng.chance(50) { 1 } else { small(rng, 3) }, if rng.chance(50) { 1 } else { small(rng, 3) }],
            padding: Padding2d { top: pad(rng), left: pad(rng), bottom: pad(rng), right: pad(rng) },
            groups,
        };
        if g.validate().is_ok() && g.input_bytes() <= max_bytes {
            return g;
        }
    }
}

/// A random layer for an R-row array and a `2^addr_bits`-byte buffer, streaming at most
/// `max_issues` pixels.
pub fn random_layer_bounded(rng: &mut Rng, rows: usize, addr_bits: usize, max_issues: usize) -> Layer {
    let capacity = 1usize << addr_bits;
    loop {
        let geom = random_geometry(rng, rows, capacity / 2);
        let cols = rng.pick(&[1u32, 2, 4, 8, 16]);
        let cfg = ArchConfig { psum_depth: 1 + rng.below(24) as u32, ..ArchConfig::new("t", rows as u32, cols) };
        let zero_point = rng.next_u64() as u8;
        // Often straddling the buffer's end, so runs wrap around it.
        let act_base = if rng.chance(40) {
            (capacity - 1 - rng.below(geom.input_bytes() as u64) as usize) as u64
        } else {
            rng.below(capacity as u64)
        };
        let regs = LayerRegs::new(&geom, act_base, zero_point, addr_bits).expect("test layers fit");
        // Never the zero point: a mask bit that is wrong always shows.
        let input = (0..geom.input_bytes()).map(|_| zero_point.wrapping_add(1 + rng.below(255) as u8)).collect();
        let layer = Layer { geom, cfg, regs, input };
        if layer.issues() <= max_issues {
            return layer;
        }
    }
}

/// [`random_layer_bounded`] without a bound on the stream length.
pub fn random_layer(rng: &mut Rng, rows: usize, addr_bits: usize) -> Layer {
    random_layer_bounded(rng, rows, addr_bits, usize::MAX)
}

/// How hostile a stream is.
#[derive(Clone, Copy, Debug)]
pub struct StreamOptions {
    /// Chance (percent) that a cycle is stalled (`en` low).
    pub stall_percent: u64,
    /// Chance (percent) of 1..=3 idle cycles before a command.
    pub gap_percent: u64,
    /// Chance (percent) of a `start` (with a garbage command) while the generator is busy.
    pub busy_start_percent: u64,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions { stall_percent: 15, gap_percent: 10, busy_start_percent: 20 }
    }
}

/// One cycle: the reader's inputs, the layer whose registers are applied, a DMA beat.
#[derive(Clone, Debug)]
pub struct StreamCycle {
    pub inputs: CycleInputs,
    pub layer: usize,
    /// `(beat-aligned address, bytes)`.
    pub write: Option<(u32, Vec<u8>)>,
}

/// One issued pixel.
#[derive(Clone, Copy, Debug)]
pub struct StreamPixel {
    pub layer: usize,
    pub tile: KTile,
    pub p: usize,
    pub cycle: usize,
    pub first: bool,
    pub last: bool,
}

#[derive(Clone, Debug)]
pub struct Stream {
    pub layers: Vec<Layer>,
    pub cycles: Vec<StreamCycle>,
    pub pixels: Vec<StreamPixel>,
}

fn garbage(rng: &mut Rng) -> TileCmd {
    let mode = rng.pick(&[BlockMode::Same, BlockMode::Next, BlockMode::Restart]);
    let x = rng.next_u64();
    TileCmd {
        ky: x as u8,
        kx0: (x >> 8) as u8,
        nx: (x >> 16) as u8,
        c0: (x >> 24) as u16,
        nc: (x >> 40) as u16 & 0x1ff,
        mode,
        count: 1 + (x >> 49) as u32 % 100,
    }
}

struct Builder<'a> {
    rng: &'a mut Rng,
    options: StreamOptions,
    issue: IssueModel,
    cycles: Vec<StreamCycle>,
    pixels: Vec<StreamPixel>,
    layer: usize,
    /// K-tiles of accepted commands not yet streaming, and of the streaming one.
    queued: VecDeque<KTile>,
    tile: Option<KTile>,
    since_issue: usize,
    /// Enabled cycles of layer setup left.
    setup_left: usize,
}

impl Builder<'_> {
    /// Emits one cycle presenting `command` (or garbage); returns whether it was accepted.
    fn cycle(&mut self, command: Option<(KTile, TileCmd)>, write: Option<(u32, Vec<u8>)>) -> bool {
        self.cycle_with_setup(command, write, false).0
    }

    /// As [`Self::cycle`], optionally starting the layer setup; also returns `en`.
    fn cycle_with_setup(
        &mut self,
        command: Option<(KTile, TileCmd)>,
        write: Option<(u32, Vec<u8>)>,
        setup: bool,
    ) -> (bool, bool) {
        let en = !self.rng.chance(self.options.stall_percent);
        if en {
            self.setup_left = if setup { LAYER_SETUP_CYCLES } else { self.setup_left.saturating_sub(1) };
        }
        let ready = self.issue.ready();
        let (start, cmd) = match command {
            Some((_, cmd)) => (true, cmd),
            // A start while not ready is ignored: garbage with it must change nothing.
            None => (!ready && self.rng.chance(self.options.busy_start_percent), garbage(self.rng)),
        };
        let inputs = CycleInputs { en, setup, start, cmd };
        let issued = self.issue.step(&inputs);
        if let Some(i) = issued {
            if i.first {
                self.tile = self.queued.pop_front();
            }
            let tile = self.tile.expect("a pixel issues only for an accepted tile");
            let cycle = self.cycles.len();
            self.pixels.push(StreamPixel { layer: self.layer, tile, p: i.p, cycle, first: i.first, last: i.last });
            self.since_issue = 0;
        } else if en {
            self.since_issue += 1;
        }
        let accepted = en && start && ready && command.is_some();
        if let (true, Some((kt, _))) = (accepted, command) {
            self.queued.push_back(kt);
        }
        self.cycles.push(StreamCycle { inputs, layer: self.layer, write });
        (accepted, en)
    }
}

/// The stream of `layers` on a buffer of `2^addr_bits` bytes written by `beat_bytes` beats.
pub fn stream(
    rng: &mut Rng,
    layers: Vec<Layer>,
    rows: usize,
    beat_bytes: usize,
    addr_bits: usize,
    options: StreamOptions,
) -> Stream {
    let capacity = 1usize << addr_bits;
    let mut b = Builder {
        rng,
        options,
        issue: IssueModel::new(rows),
        cycles: Vec::new(),
        pixels: Vec::new(),
        layer: 0,
        queued: VecDeque::new(),
        tile: None,
        since_issue: LATENCY,
        setup_left: 0,
    };
    for (index, layer) in layers.iter().enumerate() {
        b.layer = index;
        // The input, by whole beats (bytes around the tensor in its first and last beat are
        // random: the reader never unmasks them), while the layer setup runs.
        let base = layer.regs.act_base as usize;
        let first = base & !(beat_bytes - 1);
        let mut beats = (first..base + layer.input.len()).step_by(beat_bytes).map(|addr| {
            let beat: Vec<u8> = (addr..addr + beat_bytes)
                .map(|a| match a.checked_sub(base) {
                    Some(i) if i < layer.input.len() => layer.input[i],
                    _ => (layer.regs.zero_point ^ 0x5a).wrapping_add(a as u8),
                })
                .collect();
            ((addr % capacity) as u32, beat)
        });
        let mut setup_started = false;
        loop {
            let beat = beats.next();
            let last_beat = beat.is_none();
            let (_, en) = b.cycle_with_setup(None, beat, !setup_started);
            setup_started |= en;
            if last_beat && setup_started && b.setup_left == 0 {
                break;
            }
        }
        // Each command as soon as the queue has room (or after a gap).
        for command in layer.commands() {
            while !b.issue.ready() {
                b.cycle(None, None);
            }
            if b.rng.chance(b.options.gap_percent) {
                for _ in 0..1 + b.rng.below(3) {
                    b.cycle(None, None);
                }
            }
            while !b.cycle(Some(command), None) {}
        }
        // Drain: the last pixel leaves before the registers change.
        while !b.issue.idle() || b.since_issue < LATENCY {
            b.cycle(None, None);
        }
    }
    Stream { layers, cycles: b.cycles, pixels: b.pixels }
}
