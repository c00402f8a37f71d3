//! The burst planner both engines share: the length of the next burst, as `AxLEN` (beats - 1),
//! from the next address and the beats not yet requested.
//!
//! `len = min(left, 256, beats to the next 4 KB boundary)`, computed minus one so every term
//! fits 8 bits: `left - 1` capped at 255, and `(~addr[11:0]) >> log2(beat bytes)`, which is the
//! beats to the boundary minus one (`(0xfff - offset) / bytes`), capped at 255. `left` must be
//! >= 1 where the result is used.
//!
//! The result is registered: `len_m1` is the plan of the inputs before the previous edge. The
//! engines rely on two facts: the edge that accepts a command registers the command's plan
//! (the planner looks at the command while `use_cmd`), and the engine's `addr`/`left` registers
//! are loaded with that same command, so the plan holds until they advance at the next AR/AW
//! handshake and is the new one edge after. The register also keeps Verilator from seeing a
//! combinational loop (UNOPTFLAT) through rust-hdl's one `always @(*)` block per module, which
//! writes the planner's inputs and reads its output.

use crate::axi_timing::BusWidth;
use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct BurstPlanner {
    pub clock: Signal<In, Clock>,
    /// Plan from `cmd_offset` / `cmd_beats` (else from `offset` / `left`).
    pub use_cmd: Signal<In, Bit>,
    /// Address bits 11:0 (the offset in the 4 KB page) of the command and of the next burst.
    pub cmd_offset: Signal<In, Bits<12>>,
    pub cmd_beats: Signal<In, Bits<24>>,
    pub offset: Signal<In, Bits<12>>,
    pub left: Signal<In, Bits<24>>,
    pub len_m1: Signal<Out, Bits<8>>,
    shift_12: Constant<Bits<12>>,
    k1_24: Constant<Bits<24>>,
    k255_24: Constant<Bits<24>>,
    k255_12: Constant<Bits<12>>,
    k255_8: Constant<Bits<8>>,
    plan: DFF<Bits<8>>,
    sel_offset: Signal<Local, Bits<12>>,
    sel_left: Signal<Local, Bits<24>>,
    to_page_m1: Signal<Local, Bits<12>>,
    left_m1: Signal<Local, Bits<24>>,
    cap_left: Signal<Local, Bits<8>>,
    cap_page: Signal<Local, Bits<8>>,
}

impl BurstPlanner {
    pub fn new(bus: BusWidth) -> Self {
        Self {
            clock: Default::default(),
            use_cmd: Default::default(),
            cmd_offset: Default::default(),
            cmd_beats: Default::default(),
            offset: Default::default(),
            left: Default::default(),
            len_m1: Default::default(),
            shift_12: Constant::new(bits::<12>(u64::from(bus.size_log2()))),
            k1_24: Constant::new(bits::<24>(1)),
            k255_24: Constant::new(bits::<24>(255)),
            k255_12: Constant::new(bits::<12>(255)),
            k255_8: Constant::new(bits::<8>(255)),
            plan: Default::default(),
            sel_offset: Default::default(),
            sel_left: Default::default(),
            to_page_m1: Default::default(),
            left_m1: Default::default(),
            cap_left: Default::default(),
            cap_page: Default::default(),
        }
    }
}

impl Logic for BurstPlanner {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, plan);
        self.sel_offset.next = self.offset.val();
        self.sel_left.next = self.left.val();
        if self.use_cmd.val() {
            self.sel_offset.next = self.cmd_offset.val();
            self.sel_left.next = self.cmd_beats.val();
        }
        self.to_page_m1.next = (!self.sel_offset.val()) >> self.shift_12.val();
        self.left_m1.next = self.sel_left.val() - self.k1_24.val();
        self.cap_left.next = self.k255_8.val();
        if self.left_m1.val() <= self.k255_24.val() {
            self.cap_left.next = bit_cast::<8, 24>(self.left_m1.val());
        }
        self.cap_page.next = self.k255_8.val();
        if self.to_page_m1.val() <= self.k255_12.val() {
            self.cap_page.next = bit_cast::<8, 12>(self.to_page_m1.val());
        }
        self.plan.d.next = self.cap_left.val();
        if self.cap_page.val() < self.cap_left.val() {
            self.plan.d.next = self.cap_page.val();
        }
        self.len_m1.next = self.plan.q.val();
    }
}
