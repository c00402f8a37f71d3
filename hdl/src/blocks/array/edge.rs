//! The zero-point subtraction at the array's edges: one 8-bit activation or weight byte in,
//! `x - zp` out as a 9-bit two's complement value.
//!
//! int8 and uint8 tensors both land in [-255, 255] (docs/ENGINE.md, "Numbers"): the byte is
//! sign- or zero-extended to 9 bits by `signed`, the zero point is a 9-bit signed value
//! (-128..=127 for int8, 0..=255 for uint8), and the 9-bit difference is exact whenever the byte
//! and its zero point have the same signedness. Combinational: the caller registers the result.
//!
//! [`ZeroPointSub::narrow`] (a 4-bit engine's weight edge) keeps only the difference's low five
//! bits and drives bits 8..5 with 0: the narrow PEs read a 5-bit signed operand
//! (`crate::blocks::pe`), and the zeros let Yosys drop the upper weight flip-flops of every PE
//! and skew stage.

use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct ZeroPointSub {
    pub x: Signal<In, Bits<8>>,
    /// 1: `x` is int8 (sign-extended); 0: uint8 (zero-extended).
    pub is_signed: Signal<In, Bit>,
    pub zp: Signal<In, Signed<9>>,
    pub d: Signal<Out, Signed<9>>,
    k_sign9: Constant<Bits<9>>,
    /// True: a narrow edge (see the module docs).
    narrow: Constant<Bit>,
    k_low5: Constant<Bits<9>>,
    diff5: Signal<Local, Bits<9>>,
    zext: Signal<Local, Bits<9>>,
    ext: Signal<Local, Bits<9>>,
    zp_u: Signal<Local, Bits<9>>,
    diff: Signal<Local, Bits<9>>,
}

impl Default for ZeroPointSub {
    fn default() -> Self {
        Self {
            x: Default::default(),
            is_signed: Default::default(),
            zp: Default::default(),
            d: Default::default(),
            k_sign9: Constant::new(0x100.into()),
            narrow: Constant::new(false),
            k_low5: Constant::new(0x1f.into()),
            diff5: Default::default(),
            zext: Default::default(),
            ext: Default::default(),
            zp_u: Default::default(),
            diff: Default::default(),
        }
    }
}

impl Logic for ZeroPointSub {
    #[hdl_gen]
    fn update(&mut self) {
        self.zext.next = bit_cast::<9, 8>(self.x.val());
        self.ext.next = self.zext.val();
        if self.is_signed.val() & self.x.val().get_bit(7) {
            self.ext.next = self.zext.val() | self.k_sign9.val();
        }
        self.zp_u.next = unsigned_cast(self.zp.val());
        // Modulo 2^9, as the model's `zero_point_sub`.
        self.diff.next = self.ext.val() - self.zp_u.val();
        self.diff5.next = self.diff.val() & self.k_low5.val();
        self.d.next = signed_cast(self.diff.val());
        if self.narrow.val() {
            self.d.next = signed_cast(self.diff5.val());
        }
    }
}

impl ZeroPointSub {
    /// The narrow weight edge of a 4-bit engine: `x - zp` modulo 32 in bits 4..0, bits 8..5 zero.
    pub fn narrow() -> Self {
        Self { narrow: Constant::new(true), ..Default::default() }
    }
}

/// Golden model of [`ZeroPointSub`]: `x - zp` in 9-bit two's complement (wrapping like the RTL
/// when the byte and zero point disagree in signedness, which no valid layer does).
pub fn zero_point_sub(x: u8, signed: bool, zp: i16) -> i16 {
    let ext = if signed { i32::from(x as i8) } else { i32::from(x) };
    wrap9(ext - i32::from(zp))
}

/// Sign-extends the low 9 bits of `v`.
pub fn wrap9(v: i32) -> i16 {
    (((v & 0x1ff) << 23) >> 23) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_signednesses_span_minus_255_to_255() {
        assert_eq!(zero_point_sub(0x80, true, 127), -255);
        assert_eq!(zero_point_sub(0x7f, true, -128), 255);
        assert_eq!(zero_point_sub(0, false, 255), -255);
        assert_eq!(zero_point_sub(255, false, 0), 255);
        assert_eq!(zero_point_sub(200, false, 128), 72);
        // Mixed signedness wraps in 9 bits, like the hardware: 255 - (-128) = 383 -> -129.
        assert_eq!(zero_point_sub(255, false, -128), -129);
    }
}
