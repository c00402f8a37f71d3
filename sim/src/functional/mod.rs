//! The functional engine model: runs a packed image's schedule on a byte-addressed DRAM.
//!
//! * `dram`: the device memory (one `Vec<u8>` from the plan's base).
//! * `conv`: CONV layers through the tile loop nest.
//! * `post`: ADD and the pools through the model crate's kernels with the parameters read back
//!   from DRAM.
//! * `host`: host steps (the image's IR nodes) through the reference kernels.
//!
//! An engine run starts at a descriptor and executes until END, reading every descriptor from
//! DRAM, decoding it and checking it against the engine's `ArchConfig` as the sequencer does.
//! Nothing here consults the reference executor for an engine layer.

mod conv;
mod dram;
mod host;
mod post;

pub use dram::Dram;
/// One post-op layer (ADD, pools) on `dram`: the golden of the RTL post-op unit.
pub use post::run_post;

use host::HostRunner;
use systole_arch::descriptor::{check_against_config, decode, DESCRIPTOR_BYTES, DESCRIPTOR_WORDS};
use systole_arch::{ArchConfig, Opcode};
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
    #[error("descriptor {index}: {reason}")]
    Descriptor { index: usize, reason: String },
    #[error("layer {index} ({opcode}): {reason}")]
    Layer { index: usize, opcode: &'static str, reason: String },
    #[error("engine run from descriptor {first}: no END within {limit} descriptors (PROGRAM_OVERRUN)")]
    Overrun { first: u32, limit: u32 },
    #[error("host step {node}: {reason}")]
    Host { node: String, reason: String },
    #[error("input '{name}': {reason}")]
    Input { name: String, reason: String },
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
                Step::Host(h) => HostRunner::new(h, numerics).map(Some),
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
                (Step::Engine { first, count }, _) => self.run_engine(dram, *first, *count)?,
                (Step::Host(_), Some(h)) => h.run(dram, layout)?,
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

    /// The sequencer: descriptors from `first` until END, at most `count + 1` of them
    /// (PROGRAM_COUNT).
    fn run_engine(&self, dram: &mut Dram, first: u32, count: u32) -> Result<(), SimError> {
        let base = self.image.plan.dram.program.addr;
        for k in first..=first + count {
            let index = k as usize;
            let words = dram.read_words(base + (index * DESCRIPTOR_BYTES) as u64, DESCRIPTOR_WORDS)?;
            let d = decode(&words).map_err(|e| SimError::Descriptor { index, reason: e.to_string() })?;
            check_against_config(&d, &self.cfg).map_err(|e| SimError::Descriptor { index, reason: e.to_string() })?;
            let opcode = d.opcode.unwrap_or(Opcode::End);
            let result = match opcode {
                Opcode::End => return Ok(()),
                Opcode::Conv => conv::run_conv(dram, &d, &self.cfg),
                _ => post::run_post(dram, &d),
            };
            result.map_err(|reason| SimError::Layer { index, opcode: opcode.name(), reason })?;
        }
        Err(SimError::Overrun { first, limit: count + 1 })
    }
}
