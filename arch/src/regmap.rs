//! The AXI4-Lite register map: one static table. The RTL register block, the C header
//! (`gen::c_header`), the Markdown map (`gen::markdown`) and the driver all come from [`REGISTERS`].
//!
//! Conventions (also in the generated Markdown):
//! * 32-bit registers, byte offsets, window [`REG_WINDOW_BYTES`]; unmapped offsets read 0 and
//!   ignore writes (AXI OKAY), so a driver probing an older image sees zeros, not bus errors.
//! * 64-bit counters are split `_LO`/`_HI`; reading `_LO` latches `_HI`, so `LO` then `HI` is one
//!   consistent 64-bit sample.
//! * Per-layer cycle counts are not registers: the engine writes them into the trailer of each
//!   layer's descriptor in DRAM (see `descriptor::LayerPerf`). That costs no on-chip RAM (which
//!   matters on an iCE40), has no layer-count limit, and the host reads them all in one go.

use crate::config::{ArchConfig, ARCH_VERSION};
use crate::descriptor::DESCRIPTOR_VERSION;
use serde::Serialize;

/// Value of the `ID` register: ASCII "SYST".
pub const ID_MAGIC: u32 = 0x5359_5354;
/// Size of the register window in bytes.
pub const REG_WINDOW_BYTES: u32 = 0x100;
/// Required alignment of `PROGRAM_BASE` (and of every DRAM address in a descriptor): the widest
/// DMA beat, so no burst starts mid-beat.
pub const DRAM_ALIGN: u64 = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Access {
    /// Read-only: writes are ignored.
    Ro,
    /// Read-write.
    Rw,
    /// Write 1 to clear: each 1 bit written clears that bit of the register it names (here:
    /// `IRQ_CLEAR` clears `IRQ_STATUS`); reads return 0.
    W1c,
}

impl Access {
    pub fn label(self) -> &'static str {
        match self {
            Access::Ro => "RO",
            Access::Rw => "RW",
            Access::W1c => "W1C",
        }
    }
}

/// A bit field of a register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Field {
    pub name: &'static str,
    pub lsb: u32,
    pub width: u32,
    /// Write 1 to trigger; the bit reads 0 (a pulse, not state).
    pub pulse: bool,
    pub description: &'static str,
}

impl Field {
    const fn new(name: &'static str, lsb: u32, width: u32, description: &'static str) -> Field {
        Field { name, lsb, width, pulse: false, description }
    }

    const fn pulse(name: &'static str, lsb: u32, description: &'static str) -> Field {
        Field { name, lsb, width: 1, pulse: true, description }
    }

    /// Mask of the field in its register (shifted into place).
    pub const fn mask(&self) -> u32 {
        if self.width >= 32 {
            u32::MAX
        } else {
            ((1u32 << self.width) - 1) << self.lsb
        }
    }

    /// The field's value in register value `reg`.
    pub const fn get(&self, reg: u32) -> u32 {
        (reg & self.mask()) >> self.lsb
    }

    /// `reg` with the field set to `value` (truncated to the field's width).
    pub const fn set(&self, reg: u32, value: u32) -> u32 {
        (reg & !self.mask()) | ((value << self.lsb) & self.mask())
    }
}

/// A value the hardware takes from its `ArchConfig` (read-only config registers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ConfigValue {
    ConfigHash,
    Features,
    Rows,
    Cols,
    AccBits,
    DmaDataBits,
    PsumDepth,
    ActBufferBytes,
    WeightBufferTiles,
    ParamBufferChannels,
}

impl ConfigValue {
    pub fn of(self, cfg: &ArchConfig) -> u32 {
        match self {
            ConfigValue::ConfigHash => cfg.config_hash(),
            ConfigValue::Features => cfg.features(),
            ConfigValue::Rows => cfg.rows,
            ConfigValue::Cols => cfg.cols,
            ConfigValue::AccBits => cfg.acc_bits,
            ConfigValue::DmaDataBits => cfg.dma_data_bits,
            ConfigValue::PsumDepth => cfg.psum_depth,
            ConfigValue::ActBufferBytes => cfg.act_buffer_bytes,
            ConfigValue::WeightBufferTiles => cfg.weight_buffer_tiles,
            ConfigValue::ParamBufferChannels => cfg.param_buffer_channels,
        }
    }

    /// Name of the `ArchConfig` item, for documentation.
    pub fn label(self) -> &'static str {
        match self {
            ConfigValue::ConfigHash => "config_hash()",
            ConfigValue::Features => "features()",
            ConfigValue::Rows => "rows",
            ConfigValue::Cols => "cols",
            ConfigValue::AccBits => "acc_bits",
            ConfigValue::DmaDataBits => "dma_data_bits",
            ConfigValue::PsumDepth => "psum_depth",
            ConfigValue::ActBufferBytes => "act_buffer_bytes",
            ConfigValue::WeightBufferTiles => "weight_buffer_tiles",
            ConfigValue::ParamBufferChannels => "param_buffer_channels",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Reset {
    Const(u32),
    /// Fixed at generation time from the configuration.
    Config(ConfigValue),
}

impl Reset {
    pub fn value(self, cfg: &ArchConfig) -> u32 {
        match self {
            Reset::Const(v) => v,
            Reset::Config(c) => c.of(cfg),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Register {
    pub name: &'static str,
    pub offset: u32,
    pub access: Access,
    pub reset: Reset,
    pub description: &'static str,
    /// Bit fields; empty = the whole register is one 32-bit value.
    pub fields: &'static [Field],
}

impl Register {
    const fn ro(name: &'static str, offset: u32, reset: Reset, description: &'static str) -> Register {
        Register { name, offset, access: Access::Ro, reset, description, fields: &[] }
    }
    const fn cfg(name: &'static str, offset: u32, value: ConfigValue, description: &'static str) -> Register {
        Register::ro(name, offset, Reset::Config(value), description)
    }
    const fn with_fields(self, fields: &'static [Field]) -> Register {
        Register { fields, ..self }
    }
}

/// Error codes of `STATUS.ERROR_CODE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[repr(u8)]
pub enum ErrorCode {
    None = 0,
    BadMagic = 1,
    BadVersion = 2,
    BadChecksum = 3,
    BadOpcode = 4,
    Unsupported = 5,
    BadGeometry = 6,
    BadAlignment = 7,
    DmaError = 8,
    ProgramOverrun = 9,
    ReservedBits = 10,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 11] = [
        ErrorCode::None,
        ErrorCode::BadMagic,
        ErrorCode::BadVersion,
        ErrorCode::BadChecksum,
        ErrorCode::BadOpcode,
        ErrorCode::Unsupported,
        ErrorCode::BadGeometry,
        ErrorCode::BadAlignment,
        ErrorCode::DmaError,
        ErrorCode::ProgramOverrun,
        ErrorCode::ReservedBits,
    ];

    pub fn from_code(code: u32) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|e| *e as u32 == code)
    }

    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::None => "NONE",
            ErrorCode::BadMagic => "BAD_MAGIC",
            ErrorCode::BadVersion => "BAD_VERSION",
            ErrorCode::BadChecksum => "BAD_CHECKSUM",
            ErrorCode::BadOpcode => "BAD_OPCODE",
            ErrorCode::Unsupported => "UNSUPPORTED",
            ErrorCode::BadGeometry => "BAD_GEOMETRY",
            ErrorCode::BadAlignment => "BAD_ALIGNMENT",
            ErrorCode::DmaError => "DMA_ERROR",
            ErrorCode::ProgramOverrun => "PROGRAM_OVERRUN",
            ErrorCode::ReservedBits => "RESERVED_BITS",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            ErrorCode::None => "no error",
            ErrorCode::BadMagic => {
                "descriptor word 0 is not DESCRIPTOR_MAGIC (wrong PROGRAM_BASE or overwritten program)"
            }
            ErrorCode::BadVersion => "descriptor version differs from this engine's DESCRIPTOR_VERSION",
            ErrorCode::BadChecksum => "descriptor words 0..=59 do not sum to 0 mod 2^32",
            ErrorCode::BadOpcode => "unknown opcode",
            ErrorCode::Unsupported => "the layer needs a requant mode or post-op unit this build lacks (see FEATURES)",
            ErrorCode::BadGeometry => {
                "geometry or tile counts outside this build's limits or inconsistent with its plan"
            }
            ErrorCode::BadAlignment => "a DRAM address (PROGRAM_BASE or in a descriptor) is not 64-byte aligned, or not below 4 GB (32-bit AXI port)",
            ErrorCode::DmaError => "an AXI read or write returned SLVERR or DECERR",
            ErrorCode::ProgramOverrun => "PROGRAM_COUNT descriptors ran without reaching an END descriptor",
            ErrorCode::ReservedBits => "a descriptor bit no field covers (words 0..=58) is set",
        }
    }
}

pub const CONTROL_START: Field = Field::pulse(
    "START",
    0,
    "write 1 to run the program at PROGRAM_BASE; clears STATUS.DONE/ERROR and the per-run counters; ignored while BUSY",
);
pub const CONTROL_SOFT_RESET: Field = Field::pulse(
    "SOFT_RESET",
    1,
    "write 1 to abort and return to idle: clears STATUS, IRQ_STATUS and all counters; waits for outstanding AXI bursts",
);
pub const CONTROL_IRQ_ENABLE: Field =
    Field::new("IRQ_ENABLE", 2, 1, "1: the interrupt line is IRQ_STATUS != 0; 0: the line stays low (poll STATUS)");

pub const STATUS_BUSY: Field = Field::new("BUSY", 0, 1, "a program is running");
pub const STATUS_DONE: Field = Field::new("DONE", 1, 1, "the last run reached its END descriptor; cleared by START");
pub const STATUS_ERROR: Field =
    Field::new("ERROR", 2, 1, "the last run stopped on an error (see ERROR_CODE); cleared by START or SOFT_RESET");
pub const STATUS_ERROR_CODE: Field = Field::new("ERROR_CODE", 8, 8, "ErrorCode of the failure, 0 when ERROR is 0");
pub const STATUS_LAYER: Field =
    Field::new("LAYER", 16, 16, "index of the descriptor running (BUSY) or that failed (ERROR)");

pub const IRQ_DONE: Field = Field::new("DONE", 0, 1, "the program reached END");
pub const IRQ_ERROR: Field = Field::new("ERROR", 1, 1, "the program stopped on an error");

pub const VERSION_ARCH: Field = Field::new("ARCH", 0, 16, "ARCH_VERSION of the config/register/descriptor definition");
pub const VERSION_DESCRIPTOR: Field = Field::new("DESCRIPTOR", 16, 16, "DESCRIPTOR_VERSION the sequencer accepts");

pub const FEATURES_REQUANT_FIXED: Field = Field::new("REQUANT_FIXED", 0, 1, "TFLite fixed-point requant lanes");
pub const FEATURES_REQUANT_FLOAT: Field = Field::new("REQUANT_FLOAT", 1, 1, "onnxruntime float32 requant lanes");
pub const FEATURES_POST_ADD: Field = Field::new("POST_ADD", 8, 1, "element-wise add unit");
pub const FEATURES_POST_AVG_POOL: Field = Field::new("POST_AVG_POOL", 9, 1, "average-pool unit");
pub const FEATURES_POST_MAX_POOL: Field = Field::new("POST_MAX_POOL", 10, 1, "max-pool unit");
pub const FEATURES_POST_GLOBAL_AVG_POOL: Field = Field::new("POST_GLOBAL_AVG_POOL", 11, 1, "global average-pool unit");
pub const FEATURES_WEIGHTS_INT4: Field =
    Field::new("WEIGHTS_INT4", 16, 1, "weights stored two per byte (4-bit weight path, weight_bits = 4)");
pub const FEATURES_ZERO_SKIP: Field =
    Field::new("ZERO_SKIP", 17, 1, "the CONV unit skips weight tiles the packer marked zero (descriptor ZERO_SKIP)");

pub const PROGRAM_COUNT_COUNT: Field =
    Field::new("COUNT", 0, 16, "descriptors at most (END included); running past it is PROGRAM_OVERRUN");

pub const ID: Register = Register::ro("ID", 0x000, Reset::Const(ID_MAGIC), "magic 0x53595354 (\"SYST\")");
pub const VERSION: Register = Register::ro(
    "VERSION",
    0x004,
    Reset::Const((DESCRIPTOR_VERSION << 16) | ARCH_VERSION),
    "definition versions the image was built from",
)
.with_fields(&[VERSION_ARCH, VERSION_DESCRIPTOR]);
pub const CONFIG_HASH: Register = Register::cfg(
    "CONFIG_HASH",
    0x008,
    ConfigValue::ConfigHash,
    "ArchConfig::config_hash(); the driver refuses an image whose hash differs from its header's",
);
pub const FEATURES: Register = Register::cfg(
    "FEATURES",
    0x00C,
    ConfigValue::Features,
    "requant modes, post-op units, weight width, zero-tile skipping",
)
.with_fields(&[
    FEATURES_REQUANT_FIXED,
    FEATURES_REQUANT_FLOAT,
    FEATURES_POST_ADD,
    FEATURES_POST_AVG_POOL,
    FEATURES_POST_MAX_POOL,
    FEATURES_POST_GLOBAL_AVG_POOL,
    FEATURES_WEIGHTS_INT4,
    FEATURES_ZERO_SKIP,
]);
pub const CONTROL: Register = Register {
    name: "CONTROL",
    offset: 0x010,
    access: Access::Rw,
    reset: Reset::Const(0),
    description: "run control",
    fields: &[CONTROL_START, CONTROL_SOFT_RESET, CONTROL_IRQ_ENABLE],
};
pub const STATUS: Register = Register::ro("STATUS", 0x014, Reset::Const(0), "run state").with_fields(&[
    STATUS_BUSY,
    STATUS_DONE,
    STATUS_ERROR,
    STATUS_ERROR_CODE,
    STATUS_LAYER,
]);
pub const IRQ_STATUS: Register =
    Register::ro("IRQ_STATUS", 0x018, Reset::Const(0), "pending interrupt causes (set even when IRQ_ENABLE is 0)")
        .with_fields(&[IRQ_DONE, IRQ_ERROR]);
pub const IRQ_CLEAR: Register = Register {
    name: "IRQ_CLEAR",
    offset: 0x01C,
    access: Access::W1c,
    reset: Reset::Const(0),
    description: "write 1 to clear the same bit of IRQ_STATUS",
    fields: &[IRQ_DONE, IRQ_ERROR],
};
pub const PROGRAM_BASE_LO: Register = Register {
    name: "PROGRAM_BASE_LO",
    offset: 0x020,
    access: Access::Rw,
    reset: Reset::Const(0),
    description: "DRAM address of descriptor 0, bits 31..0 (64-byte aligned)",
    fields: &[],
};
pub const PROGRAM_BASE_HI: Register = Register {
    name: "PROGRAM_BASE_HI",
    offset: 0x024,
    access: Access::Rw,
    reset: Reset::Const(0),
    description: "DRAM address of descriptor 0, bits 63..32",
    fields: &[],
};
pub const PROGRAM_COUNT: Register = Register {
    name: "PROGRAM_COUNT",
    offset: 0x028,
    access: Access::Rw,
    reset: Reset::Const(0),
    description: "length of the descriptor array",
    fields: &[PROGRAM_COUNT_COUNT],
};
pub const LAYERS_DONE: Register = Register::ro(
    "LAYERS_DONE",
    0x02C,
    Reset::Const(0),
    "layers completed since START (their perf records are written)",
);
pub const TOTAL_CYCLES_LO: Register = Register::ro(
    "TOTAL_CYCLES_LO",
    0x030,
    Reset::Const(0),
    "free-running clock cycles since reset, bits 31..0 (latches HI)",
);
pub const TOTAL_CYCLES_HI: Register =
    Register::ro("TOTAL_CYCLES_HI", 0x034, Reset::Const(0), "bits 63..32, as latched by the last TOTAL_CYCLES_LO read");
pub const BUSY_CYCLES_LO: Register = Register::ro(
    "BUSY_CYCLES_LO",
    0x038,
    Reset::Const(0),
    "cycles with STATUS.BUSY since START, bits 31..0 (latches HI)",
);
pub const BUSY_CYCLES_HI: Register =
    Register::ro("BUSY_CYCLES_HI", 0x03C, Reset::Const(0), "bits 63..32, as latched by the last BUSY_CYCLES_LO read");
pub const DMA_STALL_CYCLES_LO: Register = Register::ro(
    "DMA_STALL_CYCLES_LO",
    0x040,
    Reset::Const(0),
    "busy cycles the array waited for DMA (weights, inputs, write-back) since START, bits 31..0 (latches HI)",
);
pub const DMA_STALL_CYCLES_HI: Register = Register::ro(
    "DMA_STALL_CYCLES_HI",
    0x044,
    Reset::Const(0),
    "bits 63..32, as latched by the last DMA_STALL_CYCLES_LO read",
);
pub const ROWS: Register = Register::cfg("ROWS", 0x080, ConfigValue::Rows, "R, array rows");
pub const COLS: Register = Register::cfg("COLS", 0x084, ConfigValue::Cols, "C, array columns");
pub const ACC_BITS: Register = Register::cfg("ACC_BITS", 0x088, ConfigValue::AccBits, "accumulator width");
pub const DMA_BITS: Register = Register::cfg("DMA_BITS", 0x08C, ConfigValue::DmaDataBits, "AXI4 master data width");
pub const PSUM_DEPTH: Register = Register::cfg("PSUM_DEPTH", 0x090, ConfigValue::PsumDepth, "PB, pixels per block");
pub const ACT_BUFFER_BYTES: Register =
    Register::cfg("ACT_BUFFER_BYTES", 0x094, ConfigValue::ActBufferBytes, "activation buffer size");
pub const WEIGHT_BUFFER_TILES: Register =
    Register::cfg("WEIGHT_BUFFER_TILES", 0x098, ConfigValue::WeightBufferTiles, "weight tiles buffered (2 = double)");
pub const PARAM_BUFFER_CHANNELS: Register =
    Register::cfg("PARAM_BUFFER_CHANNELS", 0x09C, ConfigValue::ParamBufferChannels, "bias/requant channels on chip");

/// The register map, in offset order.
pub static REGISTERS: [Register; 26] = [
    ID,
    VERSION,
    CONFIG_HASH,
    FEATURES,
    CONTROL,
    STATUS,
    IRQ_STATUS,
    IRQ_CLEAR,
    PROGRAM_BASE_LO,
    PROGRAM_BASE_HI,
    PROGRAM_COUNT,
    LAYERS_DONE,
    TOTAL_CYCLES_LO,
    TOTAL_CYCLES_HI,
    BUSY_CYCLES_LO,
    BUSY_CYCLES_HI,
    DMA_STALL_CYCLES_LO,
    DMA_STALL_CYCLES_HI,
    ROWS,
    COLS,
    ACC_BITS,
    DMA_BITS,
    PSUM_DEPTH,
    ACT_BUFFER_BYTES,
    WEIGHT_BUFFER_TILES,
    PARAM_BUFFER_CHANNELS,
];

/// The register at byte `offset`, if any.
pub fn register_at(offset: u32) -> Option<&'static Register> {
    REGISTERS.iter().find(|r| r.offset == offset)
}

/// The register called `name`, if any.
pub fn register(name: &str) -> Option<&'static Register> {
    REGISTERS.iter().find(|r| r.name == name)
}

/// Reset value of every register for `cfg`, as (offset, value): what a freshly configured image
/// reads, and what the RTL register block is generated with.
pub fn reset_values(cfg: &ArchConfig) -> Vec<(u32, u32)> {
    REGISTERS.iter().map(|r| (r.offset, r.reset.value(cfg))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn offsets_are_unique_aligned_ordered_and_inside_the_window() {
        let mut seen = HashSet::new();
        for r in &REGISTERS {
            assert!(seen.insert(r.offset), "{} reuses offset {:#x}", r.name, r.offset);
            assert_eq!(r.offset % 4, 0, "{} at {:#x} is not 4-byte aligned", r.name, r.offset);
            assert!(r.offset < REG_WINDOW_BYTES, "{} outside the window", r.name);
        }
        assert!(REGISTERS.windows(2).all(|w| w[0].offset < w[1].offset), "table not in offset order");
        let names: HashSet<_> = REGISTERS.iter().map(|r| r.name).collect();
        assert_eq!(names.len(), REGISTERS.len(), "duplicate register names");
    }

    #[test]
    fn fields_fit_32_bits_and_do_not_overlap() {
        for r in &REGISTERS {
            let mut used = 0u32;
            let mut names = HashSet::new();
            for f in r.fields {
                assert!(f.width >= 1 && f.lsb + f.width <= 32, "{}.{} exceeds 32 bits", r.name, f.name);
                assert_eq!(used & f.mask(), 0, "{}.{} overlaps another field", r.name, f.name);
                assert!(names.insert(f.name), "{}.{} named twice", r.name, f.name);
                used |= f.mask();
                assert!(!f.pulse || r.access == Access::Rw, "{}.{}: pulses live in RW registers", r.name, f.name);
            }
        }
    }

    #[test]
    fn reset_values_fit_their_fields() {
        let cfg = ArchConfig::new("t", 16, 8);
        for r in &REGISTERS {
            let v = r.reset.value(&cfg);
            if !r.fields.is_empty() {
                let covered = r.fields.iter().fold(0, |m, f| m | f.mask());
                assert_eq!(v & !covered, 0, "{} reset {v:#x} sets bits outside its fields", r.name);
            }
        }
        let values = reset_values(&cfg);
        assert!(values.contains(&(ID.offset, ID_MAGIC)));
        assert!(values.contains(&(COLS.offset, 8)));
        assert!(values.contains(&(CONFIG_HASH.offset, cfg.config_hash())));
        assert_eq!(VERSION_ARCH.get(VERSION.reset.value(&cfg)), ARCH_VERSION);
    }

    #[test]
    fn field_accessors() {
        let s = STATUS_ERROR_CODE.set(STATUS_BUSY.set(0, 1), ErrorCode::DmaError as u32);
        assert_eq!(s, 0x0801);
        assert_eq!(STATUS_ERROR_CODE.get(s), 8);
        assert_eq!(ErrorCode::from_code(8), Some(ErrorCode::DmaError));
        assert_eq!(ErrorCode::from_code(200), None);
        assert_eq!(register("STATUS").map(|r| r.offset), Some(0x14));
        assert_eq!(register_at(0x80).map(|r| r.name), Some("ROWS"));
        let codes: HashSet<_> = ErrorCode::ALL.iter().map(|&e| e as u32).collect();
        assert_eq!(codes.len(), ErrorCode::ALL.len());
        assert!(ErrorCode::ALL.iter().all(|&e| e as u32 <= STATUS_ERROR_CODE.mask() >> STATUS_ERROR_CODE.lsb));
    }
}
