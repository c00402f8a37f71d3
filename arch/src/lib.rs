//! systole-arch: the one definition of the systole engine shared by the hardware generator
//! (`hdl/`), the cycle model (`sim/`) and the packer/driver (`host/`). See `docs/ENGINE.md` for the
//! microarchitecture contract and `arch/README.md` for the decisions this crate adds to it.
//!
//! * [`config`]: `ArchConfig` (`arch.json`), validation, the config hash.
//! * [`regmap`]: the AXI4-Lite register map as one static table; [`gen`] renders it as a C header
//!   and Markdown.
//! * [`descriptor`]: the layer descriptor format in DRAM (encode / decode, range-checked).
//! * [`plan`]: the tiling plan of a convolution (o-tiles, pixel blocks, k-tiles) and the im2col
//!   row expansion the address generator implements.
//! * [`zero_mask`]: which weight tiles of a CONV layer are skipped (zero-tile skipping).
//! * [`cycles`]: the analytic cycle estimate of a layer, and SCALE-Sim's closed form.
//! * [`workload`], [`resources`], [`sizing`], [`report`]: what a graph asks of the engine,
//!   heuristic FPGA resource costs, the choice of an `ArchConfig` under a budget, its Markdown.

pub mod axi_timing;
pub mod config;
pub mod cycles;
pub mod descriptor;
pub mod gen;
pub mod plan;
pub mod regfile;
pub mod regmap;
pub mod report;
pub mod resources;
pub mod rng;
pub mod sizing;
pub mod timing;
pub mod workload;
pub mod zero_mask;

pub use config::{ArchConfig, ConfigError, PostOps, RequantModes, ARCH_VERSION};
pub use cycles::{DramModel, LayerCycles};
pub use descriptor::{decode, encode, DescriptorError, LayerDescriptor, Opcode, RequantMode};
pub use plan::{plan_conv, ConvGeometry, ConvPlan, KTile, OTile, PlanError};
pub use sizing::{size_model, Budget, SizingError, SizingOptions, SizingReport};
