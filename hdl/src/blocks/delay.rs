//! A fixed-length delay line: `q` is `d` from `D` rising edges ago.
//!
//! Used for side-band values that ride along a pipeline untouched (valid bits, per-channel
//! clamp parameters). Plain registers without enable or reset, so Xilinx synthesis can pack
//! them into SRL shift registers instead of flip-flops.

use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct Delay<const W: usize, const D: usize> {
    pub clock: Signal<In, Clock>,
    pub d: Signal<In, Bits<W>>,
    pub q: Signal<Out, Bits<W>>,
    stages: [DFF<Bits<W>>; D],
}

impl<const W: usize, const D: usize> Default for Delay<W, D> {
    fn default() -> Self {
        assert!(D >= 1, "a delay line needs at least one stage");
        Self {
            clock: Default::default(),
            d: Default::default(),
            q: Default::default(),
            stages: std::array::from_fn(|_| Default::default()),
        }
    }
}

impl<const W: usize, const D: usize> Logic for Delay<W, D> {
    #[hdl_gen]
    fn update(&mut self) {
        for i in 0..D {
            self.stages[i].clock.next = self.clock.val();
        }
        self.stages[0].d.next = self.d.val();
        for i in 1..D {
            self.stages[i].d.next = self.stages[i - 1].q.val();
        }
        // rust-hdl evaluates index expressions only with loop variables bound (`[D - 1]` alone
        // panics in its printer), hence the one-iteration loop.
        for i in (D - 1)..D {
            self.q.next = self.stages[i].q.val();
        }
    }
}

/// Golden model: a queue of `D` values, initially zero (as the registers power up).
#[derive(Clone, Debug)]
pub struct DelayModel {
    queue: std::collections::VecDeque<u64>,
}

impl DelayModel {
    pub fn new(depth: usize) -> DelayModel {
        DelayModel { queue: std::iter::repeat_n(0, depth).collect() }
    }

    /// One rising edge with input `d`; returns `q` after it.
    pub fn step(&mut self, d: u64) -> u64 {
        self.queue.push_back(d);
        self.queue.pop_front();
        self.queue.front().copied().unwrap_or(d)
    }
}

/// A delay line with a clock enable and a depth chosen at generation time: `q` is `d` from
/// `depth` enabled rising edges ago; while `en` is low every stage holds.
///
/// The array's skew and de-skew lines use it: their depths differ per row and column
/// (`r + 1`, `C - 1 - c`), which a const generic cannot express for one `Vec` of lines, and the
/// whole array must freeze on a stall. A shared enable keeps the chain mappable to SRL16E/SRLC32E
/// (their CE input) on Xilinx parts.
#[derive(LogicBlock)]
pub struct EnDelay<T: Synth> {
    pub clock: Signal<In, Clock>,
    pub en: Signal<In, Bit>,
    pub d: Signal<In, T>,
    pub q: Signal<Out, T>,
    stages: Vec<DFF<T>>,
}

impl<T: Synth> EnDelay<T> {
    /// A line of `depth` >= 1 registers (a zero-depth line is a wire: connect it directly).
    pub fn new(depth: usize) -> Self {
        assert!(depth >= 1, "a delay line needs at least one stage");
        Self {
            clock: Default::default(),
            d: Default::default(),
            en: Default::default(),
            q: Default::default(),
            stages: (0..depth).map(|_| Default::default()).collect(),
        }
    }

    pub fn depth(&self) -> usize {
        self.stages.len()
    }
}

impl<T: Synth> Logic for EnDelay<T> {
    #[hdl_gen]
    fn update(&mut self) {
        for i in 0..(self.stages.len()) {
            self.stages[i].clock.next = self.clock.val();
            self.stages[i].d.next = self.stages[i].q.val();
        }
        if self.en.val() {
            self.stages[0].d.next = self.d.val();
            for i in 1..(self.stages.len()) {
                self.stages[i].d.next = self.stages[i - 1].q.val();
            }
        }
        // One-iteration loop: rust-hdl evaluates index expressions only with loop variables bound.
        for i in (self.stages.len() - 1)..(self.stages.len()) {
            self.q.next = self.stages[i].q.val();
        }
    }
}
