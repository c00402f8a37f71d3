//! 16-bit restoring divider, one quotient bit per cycle: the layer setup's `OUT_C / GROUPS` and
//! `IN_C / GROUPS` (channels per group), computed once per layer, so no `/` in the design.
//!
//! `load` latches `n` and `d`; the quotient is on `q` after the 16 following edges (`STEPS`) and
//! holds until the next `load`. `d` = 0 gives all ones (the descriptor checks exclude it).

use rust_hdl::prelude::*;

/// Edges from `load` (exclusive) until `q` is final.
pub const STEPS: usize = 16;

#[derive(LogicBlock)]
pub struct Div16 {
    pub clock: Signal<In, Clock>,
    pub load: Signal<In, Bit>,
    pub n: Signal<In, Bits<16>>,
    pub d: Signal<In, Bits<16>>,
    pub q: Signal<Out, Bits<16>>,
    rem: DFF<Bits<17>>,
    quo: DFF<Bits<16>>,
    div: DFF<Bits<17>>,
    left: DFF<Bits<5>>,
    k1_17: Constant<Bits<17>>,
    k1_16: Constant<Bits<16>>,
    k0_17: Constant<Bits<17>>,
    k0_5: Constant<Bits<5>>,
    k1_5: Constant<Bits<5>>,
    steps_5: Constant<Bits<5>>,
    shifted: Signal<Local, Bits<17>>,
    top1: Signal<Local, Bits<1>>,
    top: Signal<Local, Bits<17>>,
}

impl Default for Div16 {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            load: Default::default(),
            n: Default::default(),
            d: Default::default(),
            q: Default::default(),
            rem: Default::default(),
            quo: Default::default(),
            div: Default::default(),
            left: Default::default(),
            k1_17: Constant::new(bits::<17>(1)),
            k1_16: Constant::new(bits::<16>(1)),
            k0_17: Constant::new(bits::<17>(0)),
            k0_5: Constant::new(bits::<5>(0)),
            k1_5: Constant::new(bits::<5>(1)),
            steps_5: Constant::new(bits::<5>(STEPS as u64)),
            shifted: Default::default(),
            top1: Default::default(),
            top: Default::default(),
        }
    }
}

impl Logic for Div16 {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, rem, quo, div, left);
        // One step per edge while dividend bits are left: shift the next dividend bit into the
        // remainder, subtract the divisor if it fits, and shift the quotient bit in.
        self.top1.next = self.quo.q.val().get_bits::<1>(15);
        self.top.next = bit_cast::<17, 1>(self.top1.val());
        self.shifted.next = (self.rem.q.val() << self.k1_17.val()) | self.top.val();
        if self.left.q.val() != self.k0_5.val() {
            self.left.d.next = self.left.q.val() - self.k1_5.val();
            self.rem.d.next = self.shifted.val();
            self.quo.d.next = self.quo.q.val() << self.k1_16.val();
            if self.shifted.val() >= self.div.q.val() {
                self.rem.d.next = self.shifted.val() - self.div.q.val();
                self.quo.d.next = (self.quo.q.val() << self.k1_16.val()) | self.k1_16.val();
            }
        }
        if self.load.val() {
            self.left.d.next = self.steps_5.val();
            self.rem.d.next = self.k0_17.val();
            self.quo.d.next = self.n.val();
            self.div.d.next = bit_cast::<17, 16>(self.d.val());
        }
        self.q.next = self.quo.q.val();
    }
}
