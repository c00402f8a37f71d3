//! The functional engine model: runs a packed image's schedule on a byte-addressed DRAM.
//!
//! * `dram`: the device memory (one `Vec<u8>` from the plan's base).
//! * `conv`: CONV layers: the tile loop nest's sums, reordered into dense dot products.
//! * `post`: ADD and the pools through the model crate's kernels with the parameters read back
//!   from DRAM.
//! * host steps (the image's IR nodes) run through `systole_host::driver::HostRunner`, the
//!   driver's own code.
//! * [`execute_layer`]: one engine layer's values (CONV or a post-op), the per-layer executor
//!   the cycle model (`crate::cycle`) shares.
//!
//! An engine run starts at a descriptor and executes until END, reading every descriptor from
//! DRAM, decoding it and checking it against the engine's `ArchConfig` as the sequencer does
//! (`crate::sequencer`). Nothing here consults the reference executor for an engine layer.
//! [`FunctionalModel::run_with`] runs the same schedule with the engine runs on any
//! [`EngineModel`] (the cycle model, the RTL) instead.

mod conv;
mod dram;
mod post;

pub use conv::read_zero_mask;
pub use dram::Dram;
/// One post-op layer (ADD, pools) on `dram`: the golden of the RTL post-op unit.
pub use post::run_post;

use crate::engine::{EngineModel, RunStats};
use crate::sequencer::{self, Fault};
use systole_arch::descriptor::DESCRIPTOR_BYTES;
use systole_arch::regmap::ErrorCode;
use systole_arch::{ArchConfig, LayerDescriptor, Opcode};
use systole_host::driver::{HostRunner, HostStepError};
use systole_host::image::{Image, ImageError};
use systole_host::schedule::Step;
use systole_host::tensor_bytes::{from_bytes, tensor_bytes, to_bytes};
use systole_model::ir::Value;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SimError {
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error("DRAM access [{addr:#x}, +{len:#x}) outside device memory [{base:#x}, +{size:#x})")]
    Memory { addr: u64, len: u64, base: u64, size: u64 },
    /// An engine run stopped with an error (what STATUS would report).
    #[error("engine run from descriptor {first}: descriptor {first}+{layer} failed with {}: {reason}", code.name())]
    Engine { first: u32, layer: u32, code: ErrorCode, reason: String },
    #[error("host step {node}: {reason}")]
    Host { node: String, reason: String },
    #[error("input '{name}': {reason}")]
    Input { name: String, reason: String },
}

impl From<HostStepError> for SimError {
    fn from(e: HostStepError) -> SimError {
        SimError::Host { node: e.node, reason: e.reason }
    }
}

/// Runs the values of one engine layer (not END) on `dram`: CONV through the array's loop nest,
/// ADD and the pools through the post-op unit's kernels.
pub fn execute_layer(dram: &mut Dram, d: &LayerDescriptor, cfg: &ArchConfig) -> Result<(), Fault> {
    match d.opcode {
        Some(Opcode::Conv) => conv::run_conv(dram, d, cfg),
        Some(Opcode::End) | None => Err(Fault::new(ErrorCode::BadOpcode, "END is not a layer")),
        Some(_) => post::run_post(dram, d),
    }
}

/// Outputs of a schedule run on an [`EngineModel`], what each engine run reported, and the
/// device memory afterwards (with the per-layer performance records in the descriptors).
pub struct ScheduleRun {
    pub outputs: Vec<Value>,
    /// One per engine step, in schedule order.
    pub runs: Vec<RunStats>,
    pub dram: Dram,
}

/// A loaded image ready to run.
pub struct FunctionalModel {
    image: Image,
    cfg: ArchConfig,
    hosts: Vec<Option<HostRunner>>,
}

impl FunctionalModel {
    /// Checks `image` against the engine (`cfg`, `device_bytes` of memory) as the driver does.
    pub fn new(image: Image, cfg: &ArchConfig, device_bytes: u64) -> Result<FunctionalModel, SimError> {
        image.check_device(cfg, device_bytes)?;
        let numerics = image.metadata.numerics;
        let hosts = image
            .plan
            .steps
            .iter()
            .map(|s| match s {
                Step::Host(h) => HostRunner::new(h, numerics, &image.plan.dram).map(Some),
                Step::Engine { .. } => Ok(None),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(FunctionalModel { image, cfg: cfg.clone(), hosts })
    }

    pub fn image(&self) -> &Image {
        &self.image
    }

    /// Loads the constant regions and the inputs into a fresh DRAM, runs the schedule, and
    /// returns the outputs.
    pub fn run(&self, inputs: &[Value]) -> Result<Vec<Value>, SimError> {
        let layout = &self.image.plan.dram;
        let mut dram = Dram::new(layout.base, layout.size)?;
        for (region, bytes) in self.image.constant_regions() {
            dram.write(region.addr, bytes)?;
        }
        self.run_on(&mut dram, inputs)
    }

    /// As [`FunctionalModel::run`] on a DRAM that already holds the constant regions.
    pub fn run_on(&self, dram: &mut Dram, inputs: &[Value]) -> Result<Vec<Value>, SimError> {
        self.run_schedule(dram, inputs, |dram, first, count| self.run_engine(dram, first, count))
    }

    /// Loads the constant regions and the inputs into a fresh DRAM and runs the schedule with
    /// every engine run executed by `engine` (`PROGRAM_BASE` = the run's first descriptor,
    /// `PROGRAM_COUNT` = its layers + 1, as the driver programs them).
    pub fn run_with<E: EngineModel + ?Sized>(&self, engine: &mut E, inputs: &[Value]) -> Result<ScheduleRun, SimError> {
        let layout = &self.image.plan.dram;
        let mut dram = Dram::new(layout.base, layout.size)?;
        for (region, bytes) in self.image.constant_regions() {
            dram.write(region.addr, bytes)?;
        }
        let mut runs = Vec::new();
        let program = layout.program.addr;
        let outputs = self.run_schedule(&mut dram, inputs, |dram, first, count| {
            let base = program + first as u64 * DESCRIPTOR_BYTES as u64;
            let stats = engine.run_program(dram, base, count + 1).map_err(|f| SimError::Engine {
                first,
                layer: f.layer,
                code: f.code,
                reason: f.reason,
            })?;
            runs.push(stats);
            Ok(())
        })?;
        Ok(ScheduleRun { outputs, runs, dram })
    }

    /// The schedule: inputs into their buffers, engine runs through `engine(dram, first,
    /// count)`, host steps through the reference kernels, outputs read back.
    fn run_schedule(
        &self,
        dram: &mut Dram,
        inputs: &[Value],
        mut engine: impl FnMut(&mut Dram, u32, u32) -> Result<(), SimError>,
    ) -> Result<Vec<Value>, SimError> {
        let plan = &self.image.plan;
        let layout = &plan.dram;
        if inputs.len() != plan.inputs.len() {
            return Err(SimError::Input {
                name: format!("#{}", inputs.len()),
                reason: format!("{} inputs given, the model has {}", inputs.len(), plan.inputs.len()),
            });
        }
        for (b, v) in plan.inputs.iter().zip(inputs) {
            let t = &b.tensor;
            let bad = |reason: String| SimError::Input { name: t.name.clone(), reason };
            if v.shape != t.shape {
                return Err(bad(format!("shape {:?} given, {:?} expected", v.shape, t.shape)));
            }
            let bytes = to_bytes(&t.name, t.dtype, &v.data).map_err(|e| bad(e.to_string()))?;
            dram.write(layout.buffers[b.buffer as usize].region.addr, &bytes)?;
        }
        for (step, host) in plan.steps.iter().zip(&self.hosts) {
            match (step, host) {
                (Step::Engine { first, count }, _) => engine(dram, *first, *count)?,
                (Step::Host(_), Some(h)) => h.run(dram)?,
                (Step::Host(h), None) => {
                    return Err(SimError::Host { node: h.node.clone(), reason: "not prepared".into() })
                }
            }
        }
        plan.outputs
            .iter()
            .map(|b| {
                let t = &b.tensor;
                let addr = layout.buffers[b.buffer as usize].region.addr;
                let bytes = dram.read(addr, tensor_bytes(t.dtype, &t.shape))?;
                from_bytes(&t.name, t.dtype, &t.shape, bytes)
                    .map_err(|e| SimError::Input { name: t.name.clone(), reason: e.to_string() })
            })
            .collect()
    }

    /// The sequencer without timing: descriptors from `first` until END, at most `count + 1`
    /// of them (PROGRAM_COUNT).
    fn run_engine(&self, dram: &mut Dram, first: u32, count: u32) -> Result<(), SimError> {
        let base = self.image.plan.dram.program.addr + first as u64 * DESCRIPTOR_BYTES as u64;
        let fail = |layer: u32, f: Fault| SimError::Engine { first, layer, code: f.code, reason: f.reason };
        for k in 0..=count {
            let d = sequencer::fetch(dram, base, k, &self.cfg).map_err(|f| fail(k, f))?;
            if d.opcode == Some(Opcode::End) {
                return Ok(());
            }
            execute_layer(dram, &d, &self.cfg).map_err(|f| fail(k, f))?;
        }
        let limit = count + 1;
        Err(fail(limit, Fault::new(ErrorCode::ProgramOverrun, format!("no END within {limit} descriptors"))))
    }
}
