//! Per-layer setup: the address generator's byte strides ([`super::LayerRegs`]) from the
//! descriptor's geometry fields, with one shared sequential multiplier (no DSP).
//!
//! Eight products, 16 shift-add steps each, in this order (the row size first: four products
//! need it):
//!
//! | k | product | register |
//! |---|---|---|
//! | 0 | `W * C` | `row_bytes` |
//! | 1 | `stride_w * C` | `step_x` |
//! | 2 | `dilation_w * C` | `dil_x` |
//! | 3 | `-(pad_left * C)` | `org_x` |
//! | 4 | `H * row_bytes` | `image_bytes` |
//! | 5 | `stride_h * row_bytes` | `step_y` |
//! | 6 | `dilation_h * row_bytes` | `dil_y` |
//! | 7 | `-(pad_top * row_bytes)` | `org_y` |
//!
//! Timing: `start` in an enabled cycle begins; `busy` is high from the next cycle for
//! [`LAYER_SETUP_CYCLES`] enabled cycles, after which the outputs hold the layer's registers
//! (they are not valid while `busy`). Products are modulo 2^32: [`super::LayerRegs::new`] says
//! which layers fit. The sequencer runs it while the DMA loads the layer's input, so it costs
//! no cycle in practice; the generator must be idle and drained (its registers change).

use super::regs::VIRT_BITS;
use super::shift_add::SeqMul;
use rust_hdl::prelude::*;

/// Enabled cycles `busy` stays high after `start`: 8 products of 16 steps, plus the last store.
pub const LAYER_SETUP_CYCLES: usize = 8 * 16 + 1;

const V: usize = VIRT_BITS;

#[derive(LogicBlock)]
pub struct LayerSetup {
    pub clock: Signal<In, Clock>,
    pub en: Signal<In, Bit>,
    pub start: Signal<In, Bit>,
    pub in_h: Signal<In, Bits<16>>,
    pub in_w: Signal<In, Bits<16>>,
    pub in_c: Signal<In, Bits<16>>,
    pub stride_h: Signal<In, Bits<8>>,
    pub stride_w: Signal<In, Bits<8>>,
    pub dilation_h: Signal<In, Bits<8>>,
    pub dilation_w: Signal<In, Bits<8>>,
    pub pad_top: Signal<In, Bits<8>>,
    pub pad_left: Signal<In, Bits<8>>,
    pub busy: Signal<Out, Bit>,
    pub row_bytes: Signal<Out, Bits<V>>,
    pub image_bytes: Signal<Out, Bits<V>>,
    pub step_x: Signal<Out, Bits<V>>,
    pub step_y: Signal<Out, Bits<V>>,
    pub dil_x: Signal<Out, Bits<V>>,
    pub dil_y: Signal<Out, Bits<V>>,
    pub org_x: Signal<Out, Bits<V>>,
    pub org_y: Signal<Out, Bits<V>>,
    k0_4: Constant<Bits<4>>,
    k1_4: Constant<Bits<4>>,
    k15_4: Constant<Bits<4>>,
    /// `kk[i]` = i: the product index constants.
    kk: Vec<Constant<Bits<4>>>,
    k0_v: Constant<Bits<V>>,
    mul: SeqMul<V, 16>,
    active: DFF<Bit>,
    k: DFF<Bits<4>>,
    s: DFF<Bits<4>>,
    store: DFF<Bit>,
    store_k: DFF<Bits<4>>,
    r_row: DFF<Bits<V>>,
    r_image: DFF<Bits<V>>,
    r_step_x: DFF<Bits<V>>,
    r_step_y: DFF<Bits<V>>,
    r_dil_x: DFF<Bits<V>>,
    r_dil_y: DFF<Bits<V>>,
    r_org_x: DFF<Bits<V>>,
    r_org_y: DFF<Bits<V>>,
    c_v: Signal<Local, Bits<V>>,
    b16: Vec<Signal<Local, Bits<16>>>,
    neg: Signal<Local, Bits<V>>,
}

impl Default for LayerSetup {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            en: Default::default(),
            start: Default::default(),
            in_h: Default::default(),
            in_w: Default::default(),
            in_c: Default::default(),
            stride_h: Default::default(),
            stride_w: Default::default(),
            dilation_h: Default::default(),
            dilation_w: Default::default(),
            pad_top: Default::default(),
            pad_left: Default::default(),
            busy: Default::default(),
            row_bytes: Default::default(),
            image_bytes: Default::default(),
            step_x: Default::default(),
            step_y: Default::default(),
            dil_x: Default::default(),
            dil_y: Default::default(),
            org_x: Default::default(),
            org_y: Default::default(),
            k0_4: Constant::new(0.into()),
            k1_4: Constant::new(1.into()),
            k15_4: Constant::new(15.into()),
            kk: (0..8u64).map(|i| Constant::new(i.into())).collect(),
            k0_v: Constant::new(0.into()),
            mul: SeqMul::new(1),
            active: Default::default(),
            k: Default::default(),
            s: Default::default(),
            store: Default::default(),
            store_k: Default::default(),
            r_row: Default::default(),
            r_image: Default::default(),
            r_step_x: Default::default(),
            r_step_y: Default::default(),
            r_dil_x: Default::default(),
            r_dil_y: Default::default(),
            r_org_x: Default::default(),
            r_org_y: Default::default(),
            c_v: Default::default(),
            b16: (0..6).map(|_| Default::default()).collect(),
            neg: Default::default(),
        }
    }
}

impl Logic for LayerSetup {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, active, k, s, store, store_k, r_row, r_image, r_step_x, r_step_y, r_dil_x, r_dil_y, r_org_x,
            r_org_y
        );
        // The 8-bit multipliers, widened as whole statements (rust-hdl casts print badly inline).
        self.b16[0].next = bit_cast::<16, 8>(self.stride_w.val());
        self.b16[1].next = bit_cast::<16, 8>(self.dilation_w.val());
        self.b16[2].next = bit_cast::<16, 8>(self.pad_left.val());
        self.b16[3].next = bit_cast::<16, 8>(self.stride_h.val());
        self.b16[4].next = bit_cast::<16, 8>(self.dilation_h.val());
        self.b16[5].next = bit_cast::<16, 8>(self.pad_top.val());
        self.c_v.next = bit_cast::<V, 16>(self.in_c.val());
        // Operands of product k: multiplicand C for k < 4, the row size after.
        self.mul.clock.next = self.clock.val();
        self.mul.en.next = self.en.val() & self.active.q.val();
        self.mul.load.next = self.s.q.val() == self.k0_4.val();
        self.mul.step.next = self.s.q.val() != self.k0_4.val();
        self.mul.acc0.next = self.k0_v.val();
        self.mul.m0.next = self.c_v.val();
        self.mul.b0.next = self.in_w.val();
        if self.k.q.val() == self.kk[1].val() {
            self.mul.b0.next = self.b16[0].val();
        } else if self.k.q.val() == self.kk[2].val() {
            self.mul.b0.next = self.b16[1].val();
        } else if self.k.q.val() == self.kk[3].val() {
            self.mul.b0.next = self.b16[2].val();
        } else if self.k.q.val() == self.kk[4].val() {
            self.mul.m0.next = self.r_row.q.val();
            self.mul.b0.next = self.in_h.val();
        } else if self.k.q.val() == self.kk[5].val() {
            self.mul.m0.next = self.r_row.q.val();
            self.mul.b0.next = self.b16[3].val();
        } else if self.k.q.val() == self.kk[6].val() {
            self.mul.m0.next = self.r_row.q.val();
            self.mul.b0.next = self.b16[4].val();
        } else if self.k.q.val() == self.kk[7].val() {
            self.mul.m0.next = self.r_row.q.val();
            self.mul.b0.next = self.b16[5].val();
        }
        // Sequencing: 16 steps per product; each product is stored in the cycle after its last
        // step (while the next one loads).
        self.neg.next = self.k0_v.val() - self.mul.prod.val();
        if self.en.val() {
            self.store.d.next = false;
            if self.active.q.val() {
                self.s.d.next = self.s.q.val() + self.k1_4.val();
                if self.s.q.val() == self.k15_4.val() {
                    self.k.d.next = self.k.q.val() + self.k1_4.val();
                    self.store.d.next = true;
                    self.store_k.d.next = self.k.q.val();
                    if self.k.q.val() == self.kk[7].val() {
                        self.active.d.next = false;
                    }
                }
            }
            if self.start.val() {
                self.active.d.next = true;
                self.k.d.next = self.k0_4.val();
                self.s.d.next = self.k0_4.val();
            }
            if self.store.q.val() {
                if self.store_k.q.val() == self.kk[0].val() {
                    self.r_row.d.next = self.mul.prod.val();
                } else if self.store_k.q.val() == self.kk[1].val() {
                    self.r_step_x.d.next = self.mul.prod.val();
                } else if self.store_k.q.val() == self.kk[2].val() {
                    self.r_dil_x.d.next = self.mul.prod.val();
                } else if self.store_k.q.val() == self.kk[3].val() {
                    self.r_org_x.d.next = self.neg.val();
                } else if self.store_k.q.val() == self.kk[4].val() {
                    self.r_image.d.next = self.mul.prod.val();
                } else if self.store_k.q.val() == self.kk[5].val() {
                    self.r_step_y.d.next = self.mul.prod.val();
                } else if self.store_k.q.val() == self.kk[6].val() {
                    self.r_dil_y.d.next = self.mul.prod.val();
                } else {
                    self.r_org_y.d.next = self.neg.val();
                }
            }
        }
        self.busy.next = self.active.q.val() | self.store.q.val();
        self.row_bytes.next = self.r_row.q.val();
        self.image_bytes.next = self.r_image.q.val();
        self.step_x.next = self.r_step_x.q.val();
        self.step_y.next = self.r_step_y.q.val();
        self.dil_x.next = self.r_dil_x.q.val();
        self.dil_y.next = self.r_dil_y.q.val();
        self.org_x.next = self.r_org_x.q.val();
        self.org_y.next = self.r_org_y.q.val();
    }
}
