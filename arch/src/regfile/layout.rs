//! What each register of arch's table ([`crate::regmap::REGISTERS`]) is in hardware.
//!
//! The table gives offsets, access, reset values and fields; it does not say who drives a
//! read-only register (a constant of the build, or the core). That binding lives here, keyed by
//! arch's own register constants, and [`RegLayout::new`] checks it against the table both ways:
//! every bound register must be in the table with the access the binding assumes, and every RW
//! or W1C register and every pulse field in the table must be bound (else the block would
//! silently drop it). Read-only registers nobody binds are constants: their reset value, which
//! for `Reset::Config` registers is the `ArchConfig` value. A new core-driven RO register in
//! arch therefore shows up in `constant_registers_are_the_identity_and_config_words` (pinned
//! list), not as a silently constant port.
//!
//! Nothing here depends on rust-hdl: the golden model and the cycle model use it as is.

use crate::regmap::{self, Access, Field, Register, REGISTERS, REG_WINDOW_BYTES};
use crate::{ArchConfig, ConfigError};
use thiserror::Error;

/// Address bits of the AXI4-Lite port: the register window is `2^ADDR_BITS` bytes.
pub const ADDR_BITS: usize = REG_WINDOW_BYTES.trailing_zeros() as usize;
/// 32-bit words in the window (one per word address).
pub const WINDOW_WORDS: usize = (REG_WINDOW_BYTES / 4) as usize;
const _: () = assert!(REG_WINDOW_BYTES.is_power_of_two() && ADDR_BITS >= 3, "window must be 2^n >= 8 bytes");

/// Bits of `irq_set` / `IRQ_STATUS` the hardware implements: up to the highest field.
pub const IRQ_BITS: usize = top_bit(&regmap::IRQ_STATUS);
/// Width of the `program_count` output: the `PROGRAM_COUNT.COUNT` field.
pub const PROGRAM_COUNT_BITS: usize = regmap::PROGRAM_COUNT_COUNT.width as usize;

/// One past the highest field bit of `r` (32 if it has no fields), at compile time.
const fn top_bit(r: &Register) -> usize {
    if r.fields.is_empty() {
        return 32;
    }
    let mut top = 0;
    let mut i = 0;
    while i < r.fields.len() {
        let end = r.fields[i].lsb + r.fields[i].width;
        if end > top {
            top = end;
        }
        i += 1;
    }
    top as usize
}

/// AXI response codes the slave returns (EXOKAY and DECERR never).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Resp {
    #[default]
    Okay = 0,
    SlvErr = 2,
}

impl Resp {
    pub fn code(self) -> u64 {
        self as u64
    }
}

/// What an access to an offset with no register gets. Misaligned addresses (`addr % 4 != 0`)
/// always get SLVERR: no driver issues them on purpose.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Unmapped {
    /// arch's convention (regmap.rs, REGISTERS.md): read 0, writes ignored, OKAY, so a driver
    /// probing an image older than its header sees zeros instead of a bus error (a data abort
    /// on most CPUs).
    #[default]
    ReadZero,
    /// SLVERR on reads and writes; the read data is 0 and writes are ignored.
    SlvErr,
}

/// 32-bit inputs from the core shown as read-only registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CoreWord {
    Status,
    LayersDone,
}

/// 64-bit counters from the core, read as `_LO` / `_HI`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Counter {
    TotalCycles,
    BusyCycles,
    DmaStallCycles,
}

/// Read-write registers the core reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RwReg {
    Control,
    ProgramBaseLo,
    ProgramBaseHi,
    ProgramCount,
}

/// One-cycle outputs triggered by writing 1 to a pulse field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pulse {
    Start,
    SoftReset,
}

impl CoreWord {
    pub const ALL: [CoreWord; 2] = [CoreWord::Status, CoreWord::LayersDone];
    fn register(self) -> Register {
        match self {
            CoreWord::Status => regmap::STATUS,
            CoreWord::LayersDone => regmap::LAYERS_DONE,
        }
    }
}

impl Counter {
    pub const ALL: [Counter; 3] = [Counter::TotalCycles, Counter::BusyCycles, Counter::DmaStallCycles];
    fn registers(self) -> (Register, Register) {
        match self {
            Counter::TotalCycles => (regmap::TOTAL_CYCLES_LO, regmap::TOTAL_CYCLES_HI),
            Counter::BusyCycles => (regmap::BUSY_CYCLES_LO, regmap::BUSY_CYCLES_HI),
            Counter::DmaStallCycles => (regmap::DMA_STALL_CYCLES_LO, regmap::DMA_STALL_CYCLES_HI),
        }
    }
}

impl RwReg {
    pub const ALL: [RwReg; 4] = [RwReg::Control, RwReg::ProgramBaseLo, RwReg::ProgramBaseHi, RwReg::ProgramCount];
    fn register(self) -> Register {
        match self {
            RwReg::Control => regmap::CONTROL,
            RwReg::ProgramBaseLo => regmap::PROGRAM_BASE_LO,
            RwReg::ProgramBaseHi => regmap::PROGRAM_BASE_HI,
            RwReg::ProgramCount => regmap::PROGRAM_COUNT,
        }
    }
}

impl Pulse {
    pub const ALL: [Pulse; 2] = [Pulse::Start, Pulse::SoftReset];
    fn field(self) -> (Register, Field) {
        match self {
            Pulse::Start => (regmap::CONTROL, regmap::CONTROL_START),
            Pulse::SoftReset => (regmap::CONTROL, regmap::CONTROL_SOFT_RESET),
        }
    }
}

/// What the hardware does with one register of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Read-only constant of this build.
    Const(u32),
    /// Read-only view of a core input, masked to the register's fields.
    Core { word: CoreWord, mask: u32 },
    /// Low half of a counter: reads the input's bits 31..0 and latches its bits 63..32.
    CounterLo(Counter),
    /// High half: reads the value latched by the last `CounterLo` read.
    CounterHi(Counter),
    /// Stored bits `keep` (reset `reset`); `pulses` bits trigger one-cycle outputs and read 0.
    Rw { reg: RwReg, keep: u32, pulses: u32, reset: u32 },
    /// The interrupt-pending bits (`IRQ_STATUS`): set by `irq_set`, cleared by `IrqClear`.
    IrqPending { mask: u32 },
    /// Write 1 to clear pending bits (`IRQ_CLEAR`); reads 0.
    IrqClear { mask: u32 },
}

/// One mapped register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub register: &'static Register,
    pub role: Role,
}

impl Entry {
    pub fn offset(&self) -> u32 {
        self.register.offset
    }
    /// Word address (offset / 4).
    pub fn word(&self) -> u32 {
        self.register.offset / 4
    }
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum LayoutError {
    #[error("invalid ArchConfig: {0}")]
    Config(#[from] ConfigError),
    #[error("register {name} is bound by the register block but missing from arch's REGISTERS table")]
    Missing { name: &'static str },
    #[error("register {name} is {found} in arch's table; the register block binds it as {expected}")]
    Access { name: &'static str, expected: &'static str, found: &'static str },
    #[error("{access} register {name} has no binding in the register block (hdl/src/blocks/regs/layout.rs)")]
    Unbound { name: &'static str, access: &'static str },
    #[error("pulse field {register}.{field} has no output in the register block")]
    UnboundPulse { register: &'static str, field: &'static str },
    #[error("field {register}.{field} is bound as a pulse but is not one (or is missing) in arch's table")]
    NotAPulse { register: &'static str, field: &'static str },
    #[error("IRQ_CLEAR fields differ from IRQ_STATUS fields: W1C must clear the same bits")]
    IrqFields,
    #[error(
        "register {name} at {offset:#x} is not a 4-byte aligned offset inside the {REG_WINDOW_BYTES:#x}-byte window"
    )]
    Offset { name: &'static str, offset: u32 },
}

/// The register block of one `ArchConfig`: every mapped register and its role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegLayout {
    /// In table (offset) order.
    pub entries: Vec<Entry>,
    pub unmapped: Unmapped,
    /// `CONTROL.IRQ_ENABLE` mask: the interrupt line is `IRQ_ENABLE && IRQ_STATUS != 0`.
    pub irq_enable: u32,
}

/// Union of the field masks; all ones for a register without fields.
fn field_mask(r: &Register) -> u32 {
    if r.fields.is_empty() {
        u32::MAX
    } else {
        r.fields.iter().fold(0, |m, f| m | f.mask())
    }
}

/// The table's entry for the register `bound` names (the table wins over the constant).
fn lookup(bound: &Register, access: Access) -> Result<&'static Register, LayoutError> {
    let r = regmap::register(bound.name).ok_or(LayoutError::Missing { name: bound.name })?;
    if r.access != access {
        return Err(LayoutError::Access { name: r.name, expected: access.label(), found: r.access.label() });
    }
    Ok(r)
}

impl RegLayout {
    pub fn new(cfg: &ArchConfig, unmapped: Unmapped) -> Result<RegLayout, LayoutError> {
        cfg.validate()?;
        let mut roles: Vec<(&'static Register, Role)> = Vec::new();
        for word in CoreWord::ALL {
            let r = lookup(&word.register(), Access::Ro)?;
            roles.push((r, Role::Core { word, mask: field_mask(r) }));
        }
        for counter in Counter::ALL {
            let (lo, hi) = counter.registers();
            roles.push((lookup(&lo, Access::Ro)?, Role::CounterLo(counter)));
            roles.push((lookup(&hi, Access::Ro)?, Role::CounterHi(counter)));
        }
        let pending = lookup(&regmap::IRQ_STATUS, Access::Ro)?;
        let clear = lookup(&regmap::IRQ_CLEAR, Access::W1c)?;
        if pending.fields != clear.fields {
            return Err(LayoutError::IrqFields);
        }
        roles.push((pending, Role::IrqPending { mask: field_mask(pending) }));
        roles.push((clear, Role::IrqClear { mask: field_mask(clear) }));
        for reg in RwReg::ALL {
            let r = lookup(&reg.register(), Access::Rw)?;
            let pulses = r.fields.iter().filter(|f| f.pulse).fold(0, |m, f| m | f.mask());
            let keep = if r.fields.is_empty() { u32::MAX } else { field_mask(r) & !pulses };
            roles.push((r, Role::Rw { reg, keep, pulses, reset: r.reset.value(cfg) & keep }));
        }
        Self::check_pulses()?;

        let mut entries = Vec::with_capacity(REGISTERS.len());
        for r in REGISTERS.iter() {
            if !r.offset.is_multiple_of(4) || r.offset >= REG_WINDOW_BYTES {
                return Err(LayoutError::Offset { name: r.name, offset: r.offset });
            }
            let role = match roles.iter().find(|(b, _)| b.name == r.name) {
                Some((_, role)) => *role,
                None if r.access == Access::Ro => Role::Const(r.reset.value(cfg)),
                None => return Err(LayoutError::Unbound { name: r.name, access: r.access.label() }),
            };
            entries.push(Entry { register: r, role });
        }
        let control = lookup(&regmap::CONTROL, Access::Rw)?;
        let irq_enable = control
            .fields
            .iter()
            .find(|f| f.name == regmap::CONTROL_IRQ_ENABLE.name && !f.pulse)
            .ok_or(LayoutError::Missing { name: "CONTROL.IRQ_ENABLE" })?
            .mask();
        Ok(RegLayout { entries, unmapped, irq_enable })
    }

    /// Every pulse field of the table has an output, and every output is a pulse field.
    fn check_pulses() -> Result<(), LayoutError> {
        for (reg, field) in Pulse::ALL.map(Pulse::field) {
            let found = regmap::register(reg.name).and_then(|r| r.fields.iter().find(|f| f.name == field.name));
            if !found.is_some_and(|f| f.pulse) {
                return Err(LayoutError::NotAPulse { register: reg.name, field: field.name });
            }
        }
        for r in REGISTERS.iter() {
            for f in r.fields.iter().filter(|f| f.pulse) {
                let bound = Pulse::ALL.map(Pulse::field).iter().any(|(br, bf)| br.name == r.name && bf.name == f.name);
                if !bound {
                    return Err(LayoutError::UnboundPulse { register: r.name, field: f.name });
                }
            }
        }
        Ok(())
    }

    /// The entry at byte offset `offset`, if mapped.
    pub fn at(&self, offset: u32) -> Option<&Entry> {
        self.entries.iter().find(|e| e.offset() == offset)
    }

    /// The entry playing `role` (first match by kind, see the `find_*` helpers).
    fn find(&self, pred: impl Fn(&Role) -> bool) -> &Entry {
        // `new` bound every role, so the search cannot fail on a constructed layout.
        self.entries.iter().find(|e| pred(&e.role)).expect("RegLayout::new binds every role")
    }

    pub fn rw(&self, reg: RwReg) -> &Entry {
        self.find(|r| matches!(r, Role::Rw { reg: g, .. } if *g == reg))
    }
    pub fn core_word(&self, word: CoreWord) -> &Entry {
        self.find(|r| matches!(r, Role::Core { word: w, .. } if *w == word))
    }
    pub fn counter_lo(&self, counter: Counter) -> &Entry {
        self.find(|r| matches!(r, Role::CounterLo(c) if *c == counter))
    }
    pub fn counter_hi(&self, counter: Counter) -> &Entry {
        self.find(|r| matches!(r, Role::CounterHi(c) if *c == counter))
    }
    pub fn irq_pending(&self) -> &Entry {
        self.find(|r| matches!(r, Role::IrqPending { .. }))
    }
    pub fn irq_clear(&self) -> &Entry {
        self.find(|r| matches!(r, Role::IrqClear { .. }))
    }

    /// Mask of `pulse` in its register.
    pub fn pulse_mask(&self, pulse: Pulse) -> u32 {
        pulse.field().1.mask()
    }

    /// Byte offset of the register holding `pulse`.
    pub fn pulse_offset(&self, pulse: Pulse) -> u32 {
        pulse.field().0.offset
    }

    /// Bitmap of mapped word addresses (bit w = offset 4w is a register).
    pub fn mapped_words(&self) -> u64 {
        self.entries.iter().fold(0, |m, e| m | 1u64 << e.word())
    }

    /// The response to an access at byte address `addr` (already truncated to the window).
    pub fn response(&self, addr: u32) -> Resp {
        if !addr.is_multiple_of(4) {
            Resp::SlvErr
        } else if self.at(addr).is_some() || self.unmapped == Unmapped::ReadZero {
            Resp::Okay
        } else {
            Resp::SlvErr
        }
    }

    /// `(offset, value)` of every constant register.
    pub fn constants(&self) -> Vec<(u32, u32)> {
        self.entries
            .iter()
            .filter_map(|e| match e.role {
                Role::Const(v) => Some((e.offset(), v)),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> RegLayout {
        RegLayout::new(&ArchConfig::new("t", 16, 8), Unmapped::ReadZero).unwrap()
    }

    #[test]
    fn widths_follow_the_table() {
        assert_eq!(1u32 << ADDR_BITS, REG_WINDOW_BYTES);
        assert_eq!(WINDOW_WORDS, 64, "mapped_words() is a u64 bitmap");
        assert_eq!(IRQ_BITS, 2);
        assert_eq!(PROGRAM_COUNT_BITS, 16);
    }

    #[test]
    fn constant_registers_are_the_identity_and_config_words() {
        // Pinned: a new read-only register in arch lands here as a constant. If the core is
        // meant to drive it, bind it (CoreWord / Counter) and add a port.
        let l = layout();
        let names: Vec<&str> =
            l.entries.iter().filter(|e| matches!(e.role, Role::Const(_))).map(|e| e.register.name).collect();
        assert_eq!(
            names,
            [
                "ID",
                "VERSION",
                "CONFIG_HASH",
                "FEATURES",
                "ROWS",
                "COLS",
                "ACC_BITS",
                "DMA_BITS",
                "PSUM_DEPTH",
                "ACT_BUFFER_BYTES",
                "WEIGHT_BUFFER_TILES",
                "PARAM_BUFFER_CHANNELS"
            ]
        );
        let cfg = ArchConfig::new("t", 16, 8);
        assert!(l.constants().contains(&(regmap::CONFIG_HASH.offset, cfg.config_hash())));
        assert!(l.constants().contains(&(regmap::COLS.offset, 8)));
        assert!(l.constants().contains(&(regmap::ID.offset, regmap::ID_MAGIC)));
    }

    #[test]
    fn every_table_register_has_one_entry() {
        let l = layout();
        assert_eq!(l.entries.len(), REGISTERS.len());
        assert_eq!(l.mapped_words().count_ones() as usize, REGISTERS.len());
        let control = l.rw(RwReg::Control);
        assert_eq!(
            control.role,
            Role::Rw {
                reg: RwReg::Control,
                keep: regmap::CONTROL_IRQ_ENABLE.mask(),
                pulses: regmap::CONTROL_START.mask() | regmap::CONTROL_SOFT_RESET.mask(),
                reset: 0
            }
        );
        assert!(matches!(l.rw(RwReg::ProgramBaseLo).role, Role::Rw { keep: u32::MAX, .. }));
        assert!(matches!(l.rw(RwReg::ProgramCount).role, Role::Rw { keep: 0xffff, .. }));
        assert_eq!(l.irq_enable, regmap::CONTROL_IRQ_ENABLE.mask());
        assert_eq!(l.pulse_offset(Pulse::Start), regmap::CONTROL.offset);
    }

    #[test]
    fn responses_follow_the_policy() {
        let okay = layout();
        let strict = RegLayout { unmapped: Unmapped::SlvErr, ..okay.clone() };
        for l in [&okay, &strict] {
            assert_eq!(l.response(regmap::STATUS.offset), Resp::Okay);
            assert_eq!(l.response(regmap::STATUS.offset + 1), Resp::SlvErr);
        }
        assert_eq!(okay.response(0x0fc), Resp::Okay);
        assert_eq!(strict.response(0x0fc), Resp::SlvErr);
    }

    #[test]
    fn invalid_config_is_a_typed_error() {
        let bad = ArchConfig { rows: 0, ..ArchConfig::new("t", 16, 8) };
        assert!(matches!(RegLayout::new(&bad, Unmapped::ReadZero), Err(LayoutError::Config(_))));
    }
}
