//! systole-arch: the one definition of the systole engine shared by the hardware generator
//! (`hdl/`), the cycle model (`sim/`) and the packer/driver (`host/`). See `docs/ENGINE.md` for the
//! microarchitecture contract and `arch/README.md` for the decisions this crate adds to it.
//!
//! * [`config`]: `ArchConfig` (`arch.json`), validation, the config hash.
//! * [`regmap`]: the AXI4-Lite register map as one static table, and its C header / Markdown.
//! * [`descriptor`]: the layer descriptor format in DRAM (encode / decode, range-checked).
//! * [`plan`]: the tiling plan of a convolution (o-tiles, pixel blocks, k-tiles) and the
//!   im2col row expansion the address generator implements.
//! * [`cycles`]: the analytic cycle estimate of a layer, and SCALE-Sim's closed form.
//! * [`resources`], [`sizing`]: heuristic resource costs of FPGA parts, and the choice of an
//!   `ArchConfig` for a model under a budget.

pub mod config;
pub mod cycles;
pub mod descriptor;
pub mod gen;
pub mod plan;
pub mod regmap;

pub use config::{ArchConfig, ConfigError, PostOps, RequantModes, ARCH_VERSION};
