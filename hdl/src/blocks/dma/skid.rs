//! A two-entry register slice (skid buffer) for a valid/ready stream of `W`-bit beats with a
//! `last` flag: full throughput, one cycle of latency, and every output (`out_*`, `in_ready`)
//! straight from a register, so neither the 512-bit data nor the ready paths chain through the
//! engines. `in_ready` is "the spare entry is empty"; when the consumer stalls, the beat in flight
//! lands in the spare entry and `in_ready` drops on the next cycle.

use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct Skid<const W: usize> {
    pub clock: Signal<In, Clock>,
    /// Synchronous: empties both entries.
    pub reset: Signal<In, Bit>,
    pub in_valid: Signal<In, Bit>,
    pub in_ready: Signal<Out, Bit>,
    pub in_data: Signal<In, Bits<W>>,
    pub in_last: Signal<In, Bit>,
    pub out_valid: Signal<Out, Bit>,
    pub out_ready: Signal<In, Bit>,
    pub out_data: Signal<Out, Bits<W>>,
    pub out_last: Signal<Out, Bit>,
    main_valid: DFF<Bit>,
    main_data: DFF<Bits<W>>,
    main_last: DFF<Bit>,
    spare_valid: DFF<Bit>,
    spare_data: DFF<Bits<W>>,
    spare_last: DFF<Bit>,
    take: Signal<Local, Bit>,
    main_free: Signal<Local, Bit>,
}

impl<const W: usize> Default for Skid<W> {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            reset: Default::default(),
            in_valid: Default::default(),
            in_ready: Default::default(),
            in_data: Default::default(),
            in_last: Default::default(),
            out_valid: Default::default(),
            out_ready: Default::default(),
            out_data: Default::default(),
            out_last: Default::default(),
            main_valid: Default::default(),
            main_data: Default::default(),
            main_last: Default::default(),
            spare_valid: Default::default(),
            spare_data: Default::default(),
            spare_last: Default::default(),
            take: Default::default(),
            main_free: Default::default(),
        }
    }
}

impl<const W: usize> Logic for Skid<W> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, main_valid, main_data, main_last, spare_valid, spare_data, spare_last);
        self.take.next = self.in_valid.val() & !self.spare_valid.q.val();
        // The main entry is free at this edge if it is empty or being handed over now.
        self.main_free.next = self.out_ready.val() | !self.main_valid.q.val();
        if self.main_free.val() {
            if self.spare_valid.q.val() {
                // `in_ready` is low while the spare is full: nothing arrives at this edge.
                self.main_valid.d.next = true;
                self.main_data.d.next = self.spare_data.q.val();
                self.main_last.d.next = self.spare_last.q.val();
                self.spare_valid.d.next = false;
            } else {
                self.main_valid.d.next = self.take.val();
                if self.take.val() {
                    self.main_data.d.next = self.in_data.val();
                    self.main_last.d.next = self.in_last.val();
                }
            }
        } else if self.take.val() {
            self.spare_valid.d.next = true;
            self.spare_data.d.next = self.in_data.val();
            self.spare_last.d.next = self.in_last.val();
        }
        if self.reset.val() {
            self.main_valid.d.next = false;
            self.spare_valid.d.next = false;
        }
        self.in_ready.next = !self.spare_valid.q.val();
        self.out_valid.next = self.main_valid.q.val();
        self.out_data.next = self.main_data.q.val();
        self.out_last.next = self.main_last.q.val();
    }
}
