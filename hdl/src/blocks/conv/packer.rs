//! Beat packer of the write-back: byte slots (in address order, one per cycle at most, strobed
//! or not) become `W`-bit beats with their `S = W / 8` byte strobes. The `k`-th slot since reset
//! is byte `k mod B` of its beat; a beat is offered on `out_valid` for the one cycle after the edge
//! that took its last slot (the consumer is a FIFO the unit sized to have room, so there is no
//! back-pressure here).

use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct BeatPacker<const W: usize, const S: usize> {
    pub clock: Signal<In, Clock>,
    pub reset: Signal<In, Bit>,
    pub in_valid: Signal<In, Bit>,
    pub in_strobe: Signal<In, Bit>,
    pub in_byte: Signal<In, Bits<8>>,
    pub out_valid: Signal<Out, Bit>,
    pub out_data: Signal<Out, Bits<W>>,
    pub out_strb: Signal<Out, Bits<S>>,
    data: DFF<Bits<W>>,
    strb: DFF<Bits<S>>,
    count: DFF<Bits<8>>,
    full: DFF<Bit>,
    count_max: Constant<Bits<8>>,
    k0_8: Constant<Bits<8>>,
    k1_8: Constant<Bits<8>>,
    byte_shift: Constant<Bits<W>>,
    top_byte: Constant<Bits<W>>,
    one_shift: Constant<Bits<S>>,
    top_strb: Constant<Bits<S>>,
    zero_s: Constant<Bits<S>>,
    byte_w: Signal<Local, Bits<W>>,
    strobe_s: Signal<Local, Bits<S>>,
}

impl<const W: usize, const S: usize> Default for BeatPacker<W, S> {
    fn default() -> Self {
        assert!(S * 8 == W && S.is_power_of_two() && S <= 64, "BeatPacker<{W}, {S}>");
        Self {
            clock: Default::default(),
            reset: Default::default(),
            in_valid: Default::default(),
            in_strobe: Default::default(),
            in_byte: Default::default(),
            out_valid: Default::default(),
            out_data: Default::default(),
            out_strb: Default::default(),
            data: Default::default(),
            strb: Default::default(),
            count: Default::default(),
            full: Default::default(),
            count_max: Constant::new(bits::<8>(S as u64 - 1)),
            k0_8: Constant::new(bits::<8>(0)),
            k1_8: Constant::new(bits::<8>(1)),
            byte_shift: Constant::new(bits::<W>(8)),
            top_byte: Constant::new(bits::<W>(W as u64 - 8)),
            one_shift: Constant::new(bits::<S>(1)),
            top_strb: Constant::new(bits::<S>(1 << (S - 1))),
            zero_s: Constant::new(bits::<S>(0)),
            byte_w: Default::default(),
            strobe_s: Default::default(),
        }
    }
}

impl<const W: usize, const S: usize> Logic for BeatPacker<W, S> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, data, strb, count, full);
        // New bytes enter at the top and move down: after B slots the first is byte 0.
        self.byte_w.next = bit_cast::<W, 8>(self.in_byte.val());
        self.strobe_s.next = self.zero_s.val();
        if self.in_strobe.val() {
            self.strobe_s.next = self.top_strb.val();
        }
        self.full.d.next = false;
        if self.in_valid.val() {
            self.data.d.next =
                (self.data.q.val() >> self.byte_shift.val()) | (self.byte_w.val() << self.top_byte.val());
            self.strb.d.next = (self.strb.q.val() >> self.one_shift.val()) | self.strobe_s.val();
            if self.count.q.val() == self.count_max.val() {
                self.count.d.next = self.k0_8.val();
                self.full.d.next = true;
            } else {
                self.count.d.next = self.count.q.val() + self.k1_8.val();
            }
        }
        if self.reset.val() {
            self.count.d.next = self.k0_8.val();
            self.full.d.next = false;
        }
        self.out_valid.next = self.full.q.val();
        self.out_data.next = self.data.q.val();
        self.out_strb.next = self.strb.q.val();
    }
}
