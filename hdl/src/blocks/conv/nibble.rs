//! The nibble unpacker of a 4-bit engine's weight path: one two's complement 4-bit weight in,
//! the same value as the sign-extended byte the array's top edge takes (`model::ir::int4`'s
//! `unpack_i4`, what the cycle model feeds its PEs). Combinational.
//!
//! A block of its own because rust-hdl's `bit_cast` evaluates its width with the argument in
//! scope, so it cannot read an element of a `Vec` inside the unit's loops.

use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct SignExtend4 {
    pub x: Signal<In, Bits<4>>,
    pub y: Signal<Out, Bits<8>>,
    k_high: Constant<Bits<8>>,
    zext: Signal<Local, Bits<8>>,
}

impl Default for SignExtend4 {
    fn default() -> Self {
        Self {
            x: Default::default(),
            y: Default::default(),
            k_high: Constant::new(0xf0.into()),
            zext: Default::default(),
        }
    }
}

impl Logic for SignExtend4 {
    #[hdl_gen]
    fn update(&mut self) {
        self.zext.next = bit_cast::<8, 4>(self.x.val());
        self.y.next = self.zext.val();
        if self.x.val().get_bit(3) {
            self.y.next = self.zext.val() | self.k_high.val();
        }
    }
}
