//! The STATUS register decoded for humans (errors and logs).

use std::fmt;
use systole_arch::regmap::{ErrorCode, STATUS_BUSY, STATUS_DONE, STATUS_ERROR, STATUS_ERROR_CODE, STATUS_LAYER};

/// A raw STATUS value; `Display` names its fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status(pub u32);

impl Status {
    pub fn busy(self) -> bool {
        STATUS_BUSY.get(self.0) == 1
    }
    pub fn done(self) -> bool {
        STATUS_DONE.get(self.0) == 1
    }
    pub fn error(self) -> bool {
        STATUS_ERROR.get(self.0) == 1
    }
    /// The raw ERROR_CODE field.
    pub fn error_code_raw(self) -> u32 {
        STATUS_ERROR_CODE.get(self.0)
    }
    pub fn error_code(self) -> Option<ErrorCode> {
        ErrorCode::from_code(self.error_code_raw())
    }
    pub fn layer(self) -> u32 {
        STATUS_LAYER.get(self.0)
    }
    /// All ones: what a PCIe read of a removed or dead device returns.
    pub fn all_ones(self) -> bool {
        self.0 == u32::MAX
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#010x} (", self.0)?;
        if self.all_ones() {
            return write!(f, "all ones: device not responding)");
        }
        let mut parts = Vec::new();
        if self.busy() {
            parts.push("BUSY".to_string());
        }
        if self.done() {
            parts.push("DONE".to_string());
        }
        if self.error() {
            parts.push(match self.error_code() {
                Some(c) => format!("ERROR {}", c.name()),
                None => format!("ERROR code {}", self.error_code_raw()),
            });
        }
        if parts.is_empty() {
            parts.push("idle".to_string());
        }
        parts.push(format!("LAYER {}", self.layer()));
        write!(f, "{})", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_fields_by_the_register_table() {
        let s = Status(STATUS_LAYER.set(STATUS_ERROR_CODE.set(STATUS_ERROR.set(0, 1), 9), 7));
        assert!(s.error() && !s.busy() && !s.done());
        assert_eq!(s.error_code(), Some(ErrorCode::ProgramOverrun));
        assert_eq!(s.to_string(), format!("{:#010x} (ERROR PROGRAM_OVERRUN, LAYER 7)", s.0));
        assert_eq!(Status(STATUS_BUSY.set(0, 1)).to_string(), "0x00000001 (BUSY, LAYER 0)");
        assert_eq!(Status(0).to_string(), "0x00000000 (idle, LAYER 0)");
        assert!(Status(u32::MAX).to_string().contains("not responding"));
    }
}
