//! Processing element of the weight-stationary array: INT8 activation x INT8 weight, INT32
//! accumulate, with a double-buffered weight.
//!
//! * Activations enter from the left (`a_in`) and leave to the right one cycle later (`a_out`).
//! * Partial sums enter from above (`psum_in`) and leave downwards registered:
//!   `psum_out <= psum_in + a_in * w_active`.
//! * Weights: `w_load` writes `w_in` into the shadow register while the active one computes;
//!   `swap` copies shadow -> active at the next edge (a load in the same cycle lands in the shadow
//!   after the copy, so the next fold can stream in while this one drains). `w_out` exposes the
//!   shadow register so a column can shift weights down a chain of PEs.
//! * `en` low stalls the compute pipeline (activation and partial-sum registers hold); weight
//!   loading and swapping are independent of it, as the loader runs on its own schedule.
//!
//! The multiply is written as a signed 16x16 (rust-hdl's only multiply) of sign-extended 8-bit
//! operands; Yosys narrows it and packs multiply + 32-bit add + output register into one DSP48E1.

use rust_hdl::prelude::*;

#[derive(LogicBlock, Default)]
pub struct Pe {
    pub clock: Signal<In, Clock>,
    pub en: Signal<In, Bit>,
    pub a_in: Signal<In, Signed<8>>,
    pub psum_in: Signal<In, Signed<32>>,
    pub w_in: Signal<In, Signed<8>>,
    pub w_load: Signal<In, Bit>,
    pub swap: Signal<In, Bit>,
    pub a_out: Signal<Out, Signed<8>>,
    pub psum_out: Signal<Out, Signed<32>>,
    pub w_out: Signal<Out, Signed<8>>,
    a_reg: DFF<Signed<8>>,
    psum_reg: DFF<Signed<32>>,
    w_shadow: DFF<Signed<8>>,
    w_active: DFF<Signed<8>>,
    a_wide: Signal<Local, Signed<16>>,
    w_wide: Signal<Local, Signed<16>>,
    product: Signal<Local, Signed<32>>,
}

impl Logic for Pe {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, a_reg, psum_reg, w_shadow, w_active);
        self.a_wide.next = signed_bit_cast::<16, 8>(self.a_in.val());
        self.w_wide.next = signed_bit_cast::<16, 8>(self.w_active.q.val());
        self.product.next = self.a_wide.val() * self.w_wide.val();
        if self.en.val() {
            self.a_reg.d.next = self.a_in.val();
            self.psum_reg.d.next = self.psum_in.val() + self.product.val();
        }
        if self.w_load.val() {
            self.w_shadow.d.next = self.w_in.val();
        }
        if self.swap.val() {
            self.w_active.d.next = self.w_shadow.q.val();
        }
        self.a_out.next = self.a_reg.q.val();
        self.psum_out.next = self.psum_reg.q.val();
        self.w_out.next = self.w_shadow.q.val();
    }
}

/// Inputs of one PE clock cycle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeInputs {
    pub en: bool,
    pub a_in: i8,
    pub psum_in: i32,
    pub w_in: i8,
    pub w_load: bool,
    pub swap: bool,
}

/// Registered outputs of the PE after a rising edge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeOutputs {
    pub a_out: i8,
    pub psum_out: i32,
    pub w_out: i8,
}

/// Golden model of [`Pe`]: the same registers, updated once per [`PeModel::step`].
#[derive(Clone, Copy, Debug, Default)]
pub struct PeModel {
    a: i8,
    psum: i32,
    w_shadow: i8,
    w_active: i8,
}

impl PeModel {
    /// One rising edge with `inputs` applied; returns the outputs after it.
    pub fn step(&mut self, inputs: PeInputs) -> PeOutputs {
        if inputs.en {
            // INT32 accumulation wraps, as the 32-bit register does.
            self.psum = inputs.psum_in.wrapping_add(i32::from(inputs.a_in) * i32::from(self.w_active));
            self.a = inputs.a_in;
        }
        let old_shadow = self.w_shadow;
        if inputs.w_load {
            self.w_shadow = inputs.w_in;
        }
        if inputs.swap {
            self.w_active = old_shadow;
        }
        PeOutputs { a_out: self.a, psum_out: self.psum, w_out: self.w_shadow }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn double_buffer_swaps_the_old_shadow() {
        let mut pe = PeModel::default();
        pe.step(PeInputs { w_in: 3, w_load: true, ..Default::default() });
        // Load 5 and swap together: the active weight becomes 3, the shadow 5.
        let out = pe.step(PeInputs { w_in: 5, w_load: true, swap: true, ..Default::default() });
        assert_eq!(out.w_out, 5);
        let out = pe.step(PeInputs { en: true, a_in: -128, psum_in: 10, ..Default::default() });
        assert_eq!(out.psum_out, 10 - 128 * 3);
        assert_eq!(out.a_out, -128);
        // Stalled: registers hold.
        let out = pe.step(PeInputs { en: false, a_in: 1, psum_in: 0, ..Default::default() });
        assert_eq!((out.psum_out, out.a_out), (10 - 128 * 3, -128));
    }
}
