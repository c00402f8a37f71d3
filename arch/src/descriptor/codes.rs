//! The `STATUS.ERROR_CODE` a sequencer reports for each failed descriptor check: one mapping
//! shared by the cycle model, the functional model and the RTL's tests, so a corrupted program
//! fails with the same code and layer index on every engine.

use super::validate::misaligned_reason;
use super::DescriptorError;
use crate::regmap::ErrorCode;

impl DescriptorError {
    /// The error code of this failure (`regmap::ErrorCode`).
    pub fn error_code(&self) -> ErrorCode {
        match self {
            DescriptorError::BadMagic { .. } => ErrorCode::BadMagic,
            DescriptorError::BadVersion { .. } => ErrorCode::BadVersion,
            DescriptorError::BadOpcode { .. } => ErrorCode::BadOpcode,
            DescriptorError::Checksum { .. } => ErrorCode::BadChecksum,
            // A windowed layer's input larger than the activation buffer: this engine cannot
            // hold it (the packer never emits one; a hand-made program gets the same code).
            DescriptorError::Unsupported { .. } | DescriptorError::InputTooLarge { .. } => ErrorCode::Unsupported,
            DescriptorError::Field { reason, .. } if *reason == misaligned_reason() => ErrorCode::BadAlignment,
            DescriptorError::Reserved { .. } => ErrorCode::ReservedBits,
            // Out-of-range or inconsistent fields, tile counts that are not the
            // plan's, a malformed parameter record, a short read: the descriptor's geometry.
            DescriptorError::Length { .. }
            | DescriptorError::Field { .. }
            | DescriptorError::Plan { .. }
            | DescriptorError::PostParams { .. } => ErrorCode::BadGeometry,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::descriptor::{decode, encode, LayerDescriptor, Opcode, RequantMode};

    fn conv() -> LayerDescriptor {
        LayerDescriptor {
            opcode: Some(Opcode::Conv),
            requant: RequantMode::Fixed,
            batch: 1,
            in_h: 4,
            in_w: 4,
            in_c: 2,
            groups: 1,
            out_h: 4,
            out_w: 4,
            out_c: 2,
            kernel_h: 1,
            kernel_w: 1,
            stride_h: 1,
            stride_w: 1,
            dilation_h: 1,
            dilation_w: 1,
            act_min: -128,
            act_max: 127,
            in_signed: true,
            out_signed: true,
            weight_signed: true,
            out_ch_stride: 2,
            o_tiles: 1,
            kt_nx: 1,
            kt_nc: 1,
            pixel_blocks: 1,
            k_tiles_total: 1,
            ..LayerDescriptor::default()
        }
    }

    fn code_of(d: &LayerDescriptor, corrupt: impl Fn(&mut [u32; 64])) -> ErrorCode {
        let mut w = encode(d);
        corrupt(&mut w);
        match decode(&w) {
            Ok(_) => ErrorCode::None,
            Err(e) => e.error_code(),
        }
    }

    #[test]
    fn each_check_has_its_code() {
        let d = conv();
        assert_eq!(code_of(&d, |_| {}), ErrorCode::None);
        assert_eq!(code_of(&d, |w| w[0] ^= 1), ErrorCode::BadMagic);
        assert_eq!(code_of(&d, |w| w[59] ^= 1), ErrorCode::BadChecksum);
        assert_eq!(code_of(&d, |w| w[40] |= 0x10), ErrorCode::ReservedBits);
        let misaligned = LayerDescriptor { output_addr: 0x1004, ..conv() };
        assert_eq!(code_of(&misaligned, |_| {}), ErrorCode::BadAlignment);
        let aligned_but_unused = LayerDescriptor { input2_addr: 0x1000, ..conv() };
        assert_eq!(code_of(&aligned_but_unused, |_| {}), ErrorCode::BadGeometry);
        let bad_geometry = LayerDescriptor { out_h: 5, ..conv() };
        assert_eq!(code_of(&bad_geometry, |_| {}), ErrorCode::BadGeometry);
        assert_eq!(DescriptorError::BadOpcode { found: 7 }.error_code(), ErrorCode::BadOpcode);
        assert_eq!(DescriptorError::BadVersion { found: 7 }.error_code(), ErrorCode::BadVersion);
        assert_eq!(DescriptorError::Unsupported { opcode: "ADD", what: "x" }.error_code(), ErrorCode::Unsupported);
    }
}
