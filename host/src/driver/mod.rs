//! The host driver: runs a packed image on any [`Device`] (a board through one of the
//! [`crate::backend`]s, or a simulated engine).
//!
//! [`Driver::open`] checks the engine (ID, VERSION, CONFIG_HASH against the image, not busy,
//! unless told to SOFT_RESET it, device memory window) and the image against it; [`Driver::load`] copies the constant regions;
//! [`Driver::run`] writes the inputs, runs the image's schedule (engine runs through the
//! registers, host steps on the host with the model crate's kernels), reads the outputs and the
//! per-layer performance records. The user's inputs are borrowed, never changed; on an error
//! nothing is returned but the error.
//!
//! Engine run protocol (docs/ENGINE.md, arch/src/regmap.rs):
//! 1. STATUS must not be BUSY; stale IRQ_STATUS bits are cleared (IRQ_CLEAR).
//! 2. PROGRAM_BASE = the run's first descriptor, PROGRAM_COUNT = layers + 1 (END included).
//! 3. CONTROL = START (| IRQ_ENABLE when waiting by interrupt). The backend orders every earlier
//!    device-memory write before this register write (barriers, posted-write flush).
//! 4. CONTROL is read back until START reads 0: a pulse bit reads 0 on the engine, so this is
//!    one read on hardware; a device emulated in memory (the tests' mapped-file device) shows
//!    the bit until it has taken the START, and STATUS is only meaningful after that.
//! 5. Wait for STATUS.DONE or STATUS.ERROR until the deadline, polling STATUS or blocking on the
//!    interrupt (then IRQ_STATUS is cleared).
//! 6. On ERROR: the ErrorCode, the failing layer (the run's first descriptor + STATUS.LAYER,
//!    which counts from PROGRAM_BASE) and that layer's node name.

mod error;
mod host_step;
mod status;

pub use error::DriverError;
pub use host_step::{HostMemory, HostRunner, HostStepError};
pub use status::Status;

use crate::image::Image;
use crate::lower::partition::Placement;
use crate::schedule::Step;
use crate::tensor_bytes::{from_bytes, tensor_bytes, to_bytes};
use crate::{Device, DeviceError};
use error::Context;
use std::time::{Duration, Instant};
use systole_arch::config::ARCH_VERSION;
use systole_arch::descriptor::{LayerPerf, DESCRIPTOR_BYTES, DESCRIPTOR_VERSION, DESCRIPTOR_WORDS, PERF_WORD};
use systole_arch::regmap::{self, ID_MAGIC};
use systole_arch::{ArchConfig, Opcode};
use systole_model::ir::Value;

/// How the driver waits for a run to finish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// Read STATUS until DONE or ERROR (backing off from a tight loop to 1 ms between reads).
    Poll,
    /// Enable the interrupt and block on it ([`Device::wait_irq`]).
    Irq,
}

#[derive(Clone, Copy, Debug)]
pub struct RunOptions {
    /// Deadline of each engine run.
    pub timeout: Duration,
    pub wait: Wait,
    /// At open, after the identification checks passed, abort whatever the engine is doing
    /// (CONTROL.SOFT_RESET) instead of refusing a busy device.
    pub reset: bool,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions { timeout: Duration::from_secs(10), wait: Wait::Poll, reset: false }
    }
}

/// Writes CONTROL.SOFT_RESET and waits (until `timeout`) for the pulse to be taken and BUSY to
/// clear. Only call it on an identified engine: the write goes to CONTROL's offset.
pub fn soft_reset<D: Device>(dev: &mut D, timeout: Duration) -> Result<(), DriverError> {
    let deadline = Instant::now() + timeout;
    write(dev, &regmap::CONTROL, regmap::CONTROL_SOFT_RESET.mask())?;
    let mut backoff = Backoff::new();
    loop {
        let c = read_live(dev, &regmap::CONTROL)?;
        let s = Status(read_live(dev, &regmap::STATUS)?);
        if regmap::CONTROL_SOFT_RESET.get(c) == 0 && !s.busy() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(DriverError::Busy { status: s });
        }
        backoff.sleep(deadline);
    }
}

/// What the engine's identification registers read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    pub id: u32,
    pub version: u32,
    pub config_hash: u32,
    pub features: u32,
}

/// One engine layer's performance record (descriptor words 60..63).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerRecord {
    /// Position in the program.
    pub index: u32,
    /// The IR node the layer computes.
    pub name: String,
    pub opcode: Opcode,
    pub perf: LayerPerf,
}

/// One engine run: its layers and what BUSY_CYCLES read after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunRecord {
    pub first: u32,
    pub busy_cycles: u64,
    pub layers: Vec<LayerRecord>,
}

/// The outputs and the performance of one inference.
#[derive(Clone, Debug, PartialEq)]
pub struct RunReport {
    pub outputs: Vec<Value>,
    pub runs: Vec<RunRecord>,
    pub host_steps: usize,
    pub elapsed: Duration,
}

/// An opened engine with its image.
pub struct Driver<D: Device> {
    dev: D,
    image: Image,
    opts: RunOptions,
    info: DeviceInfo,
    /// One per schedule step; `Some` for host steps.
    hosts: Vec<Option<HostRunner>>,
    /// Node name of every descriptor ("END" for END).
    names: Vec<String>,
    opcodes: Vec<Opcode>,
    loaded: bool,
}

impl<D: Device> std::fmt::Debug for Driver<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver").field("info", &self.info).field("loaded", &self.loaded).finish_non_exhaustive()
    }
}

/// Reads a register, turning all ones into [`DriverError::DeviceGone`].
fn read_live<D: Device>(dev: &mut D, reg: &regmap::Register) -> Result<u32, DriverError> {
    let v = dev.read_reg(reg.offset as u64).ctx(|| format!("reading {}", reg.name))?;
    if v == u32::MAX {
        return Err(DriverError::DeviceGone { register: reg.name });
    }
    Ok(v)
}

fn write<D: Device>(dev: &mut D, reg: &regmap::Register, value: u32) -> Result<(), DriverError> {
    dev.write_reg(reg.offset as u64, value).ctx(|| format!("writing {} = {value:#x}", reg.name))
}

/// Reads the identification registers and checks them against this driver and `image`.
pub fn identify<D: Device>(dev: &mut D, image: &Image) -> Result<DeviceInfo, DriverError> {
    let id = read_live(dev, &regmap::ID)?;
    if id != ID_MAGIC {
        return Err(DriverError::NotSystole { found: id, expected: ID_MAGIC });
    }
    let version = read_live(dev, &regmap::VERSION)?;
    let (arch, desc) = (regmap::VERSION_ARCH.get(version), regmap::VERSION_DESCRIPTOR.get(version));
    if arch != ARCH_VERSION || desc != DESCRIPTOR_VERSION {
        return Err(DriverError::Version {
            device_arch: arch,
            device_descriptor: desc,
            host_arch: ARCH_VERSION,
            host_descriptor: DESCRIPTOR_VERSION,
        });
    }
    // The hash may legitimately be all ones; ID already proved the device answers.
    let config_hash = dev.read_reg(regmap::CONFIG_HASH.offset as u64).ctx(|| "reading CONFIG_HASH".into())?;
    if config_hash != image.config_hash {
        let arch = image.arch().map(|a| a.name).unwrap_or_else(|_| "?".into());
        return Err(DriverError::WrongBitstream { device: config_hash, image: image.config_hash, arch });
    }
    let features = dev.read_reg(regmap::FEATURES.offset as u64).ctx(|| "reading FEATURES".into())?;
    Ok(DeviceInfo { id, version, config_hash, features })
}

/// The node name of every descriptor: the image's engine partition rows, in program order, for
/// the non-END descriptors.
pub fn layer_names(image: &Image) -> Result<Vec<(String, Opcode)>, DriverError> {
    let descs = image.descriptors()?;
    let mut engine =
        image.metadata.partition.iter().filter(|r| r.placement == Placement::Engine).map(|r| r.node.clone());
    Ok(descs
        .iter()
        .map(|d| match d.opcode {
            Some(Opcode::End) | None => ("END".to_string(), Opcode::End),
            Some(op) => (engine.next().unwrap_or_else(|| "?".into()), op),
        })
        .collect())
}

impl<D: Device> Driver<D> {
    /// Identifies the engine, checks the image against it and prepares the host steps.
    pub fn open(mut dev: D, image: Image, opts: RunOptions) -> Result<Driver<D>, DriverError> {
        let info = identify(&mut dev, &image)?;
        if opts.reset {
            soft_reset(&mut dev, opts.timeout)?;
        }
        let status = Status(read_live(&mut dev, &regmap::STATUS)?);
        if status.busy() {
            return Err(DriverError::Busy { status });
        }
        let cfg: ArchConfig = image.arch()?;
        let plan = &image.plan.dram;
        let mem_end = match dev.memory_window() {
            Some((base, size)) => {
                let end = base.saturating_add(size);
                if plan.base < base || plan.end() > end {
                    return Err(DriverError::MemoryWindow {
                        plan_base: plan.base,
                        plan_end: plan.end(),
                        mem_base: base,
                        mem_end: end,
                    });
                }
                end
            }
            None => u64::MAX,
        };
        image.check_device(&cfg, mem_end)?;
        let numerics = image.metadata.numerics;
        let hosts = image
            .plan
            .steps
            .iter()
            .map(|s| match s {
                Step::Host(h) => HostRunner::new(h, numerics, plan).map(Some),
                Step::Engine { .. } => Ok(None),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (names, opcodes) = layer_names(&image)?.into_iter().unzip();
        Ok(Driver { dev, image, opts, info, hosts, names, opcodes, loaded: false })
    }

    pub fn info(&self) -> DeviceInfo {
        self.info
    }

    pub fn image(&self) -> &Image {
        &self.image
    }

    pub fn device(&mut self) -> &mut D {
        &mut self.dev
    }

    /// Gives the device back.
    pub fn close(self) -> D {
        self.dev
    }

    /// Copies the program, the weights and the params into device memory.
    pub fn load(&mut self) -> Result<(), DriverError> {
        for (region, bytes) in self.image.constant_regions() {
            self.dev
                .write_mem(region.addr, bytes)
                .ctx(|| format!("loading {} bytes at {:#x}", bytes.len(), region.addr))?;
        }
        self.loaded = true;
        Ok(())
    }

    /// One inference: inputs in, schedule, outputs and performance records out.
    pub fn run(&mut self, inputs: &[Value]) -> Result<RunReport, DriverError> {
        let t0 = Instant::now();
        if !self.loaded {
            self.load()?;
        }
        self.write_inputs(inputs)?;
        let mut runs = Vec::new();
        let mut host_steps = 0;
        for i in 0..self.image.plan.steps.len() {
            let engine = match self.image.plan.steps.get(i) {
                Some(Step::Engine { first, count }) => Some((*first, *count)),
                _ => None,
            };
            if let Some((first, count)) = engine {
                runs.push(self.run_engine(runs.len(), first, count)?);
                continue;
            }
            let Some(Some(h)) = self.hosts.get(i) else {
                return Err(HostStepError { node: format!("step {i}"), reason: "not prepared".into() }.into());
            };
            h.run(&mut DeviceMemory { dev: &mut self.dev, node: h.node() })?;
            host_steps += 1;
        }
        let outputs = self.read_outputs()?;
        Ok(RunReport { outputs, runs, host_steps, elapsed: t0.elapsed() })
    }

    fn write_inputs(&mut self, inputs: &[Value]) -> Result<(), DriverError> {
        let plan = &self.image.plan;
        if inputs.len() != plan.inputs.len() {
            return Err(DriverError::Input {
                name: format!("#{}", inputs.len()),
                reason: format!("{} inputs given, the model has {}", inputs.len(), plan.inputs.len()),
            });
        }
        for (b, v) in plan.inputs.iter().zip(inputs) {
            let t = &b.tensor;
            let bad = |reason: String| DriverError::Input { name: t.name.clone(), reason };
            if v.shape != t.shape {
                return Err(bad(format!("shape {:?} given, {:?} expected", v.shape, t.shape)));
            }
            let bytes = to_bytes(&t.name, t.dtype, &v.data).map_err(|e| bad(e.to_string()))?;
            let addr = plan.dram.buffers.get(b.buffer as usize).ok_or_else(|| bad("no buffer".into()))?.region.addr;
            self.dev.write_mem(addr, &bytes).ctx(|| format!("writing input '{}'", t.name))?;
        }
        Ok(())
    }

    fn read_outputs(&mut self) -> Result<Vec<Value>, DriverError> {
        let plan = &self.image.plan;
        let mut out = Vec::with_capacity(plan.outputs.len());
        for b in &plan.outputs {
            let t = &b.tensor;
            let bad = |reason: String| DriverError::Output { name: t.name.clone(), reason };
            let addr = plan.dram.buffers.get(b.buffer as usize).ok_or_else(|| bad("no buffer".into()))?.region.addr;
            let mut bytes = vec![0; tensor_bytes(t.dtype, &t.shape)];
            self.dev.read_mem(addr, &mut bytes).ctx(|| format!("reading output '{}'", t.name))?;
            out.push(from_bytes(&t.name, t.dtype, &t.shape, &bytes).map_err(|e| bad(e.to_string()))?);
        }
        Ok(out)
    }

    /// Steps 1..6 of the module docs for descriptors `first..=first + count`.
    fn run_engine(&mut self, run: usize, first: u32, count: u32) -> Result<RunRecord, DriverError> {
        let status = Status(read_live(&mut self.dev, &regmap::STATUS)?);
        if status.busy() {
            return Err(DriverError::Busy { status });
        }
        let irq_bits = regmap::IRQ_DONE.mask() | regmap::IRQ_ERROR.mask();
        write(&mut self.dev, &regmap::IRQ_CLEAR, irq_bits)?;
        let base = self.image.plan.dram.program.addr + first as u64 * DESCRIPTOR_BYTES as u64;
        write(&mut self.dev, &regmap::PROGRAM_BASE_LO, base as u32)?;
        write(&mut self.dev, &regmap::PROGRAM_BASE_HI, (base >> 32) as u32)?;
        write(&mut self.dev, &regmap::PROGRAM_COUNT, count + 1)?;
        let irq = self.opts.wait == Wait::Irq;
        let control = regmap::CONTROL_START.set(regmap::CONTROL_IRQ_ENABLE.set(0, irq as u32), 1);
        let deadline = Instant::now() + self.opts.timeout;
        write(&mut self.dev, &regmap::CONTROL, control)?;

        let timeout = |status: Status, irq: &'static str| DriverError::Timeout {
            run,
            first,
            end: first + count,
            timeout: self.opts.timeout,
            status,
            irq,
        };
        // Step 4: the START was taken.
        let mut backoff = Backoff::new();
        loop {
            let c = read_live(&mut self.dev, &regmap::CONTROL)?;
            if regmap::CONTROL_START.get(c) == 0 {
                break;
            }
            if Instant::now() >= deadline {
                let status = Status(read_live(&mut self.dev, &regmap::STATUS)?);
                return Err(timeout(status, "; CONTROL.START was never taken"));
            }
            backoff.sleep(deadline);
        }
        let status = match self.opts.wait {
            Wait::Poll => loop {
                let s = Status(read_live(&mut self.dev, &regmap::STATUS)?);
                if s.done() || s.error() {
                    break s;
                }
                if Instant::now() >= deadline {
                    return Err(timeout(s, ""));
                }
                backoff.sleep(deadline);
            },
            Wait::Irq => loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match self.dev.wait_irq(left) {
                    Ok(()) => {}
                    Err(DeviceError::InterruptTimeout(_)) => {
                        let s = Status(read_live(&mut self.dev, &regmap::STATUS)?);
                        let why = if s.done() || s.error() {
                            "; the run finished but no interrupt arrived (check the interrupt wiring, the UIO \
                             node's IRQ, or use polling)"
                        } else {
                            "; no interrupt arrived"
                        };
                        return Err(timeout(s, why));
                    }
                    Err(e) => return Err(DriverError::Device { what: "waiting for the interrupt".into(), source: e }),
                }
                let s = Status(read_live(&mut self.dev, &regmap::STATUS)?);
                if s.done() || s.error() {
                    write(&mut self.dev, &regmap::IRQ_CLEAR, irq_bits)?;
                    break s;
                }
                // A shared or stale interrupt: keep waiting until the deadline.
                if Instant::now() >= deadline {
                    return Err(timeout(s, "; interrupts arrived but STATUS never showed DONE"));
                }
            },
        };
        if status.error() {
            let layer = self.status_layer(status, first);
            let (code, description) = match status.error_code() {
                Some(c) => (c.name().to_string(), c.description()),
                None => (format!("error code {}", status.error_code_raw()), "unknown error code"),
            };
            let name = self.names.get(layer as usize).cloned().unwrap_or_else(|| "?".into());
            return Err(DriverError::Engine { run, code, description, layer, name, status });
        }
        self.read_perf(first, count)
    }

    /// STATUS.LAYER counts descriptors from PROGRAM_BASE (the sequencer's counter restarts at
    /// each START), so the failing descriptor of the program is the run's first plus it.
    fn status_layer(&self, status: Status, first: u32) -> u32 {
        first.saturating_add(status.layer())
    }

    fn read_perf(&mut self, first: u32, count: u32) -> Result<RunRecord, DriverError> {
        let lo = self.dev.read_reg(regmap::BUSY_CYCLES_LO.offset as u64).ctx(|| "reading BUSY_CYCLES_LO".into())?;
        let hi = self.dev.read_reg(regmap::BUSY_CYCLES_HI.offset as u64).ctx(|| "reading BUSY_CYCLES_HI".into())?;
        let program = self.image.plan.dram.program.addr;
        let mut layers = Vec::with_capacity(count as usize);
        for index in first..first + count {
            let addr = program + index as u64 * DESCRIPTOR_BYTES as u64;
            let mut words = vec![0u32; DESCRIPTOR_WORDS];
            let mut trailer = [0u8; 16];
            self.dev
                .read_mem(addr + (PERF_WORD * 4) as u64, &mut trailer)
                .ctx(|| format!("reading perf record {index}"))?;
            for (w, b) in words[PERF_WORD..].iter_mut().zip(trailer.chunks_exact(4)) {
                *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
            let perf = LayerPerf::from_words(&words)
                .map_err(|e| DriverError::Output { name: format!("perf record {index}"), reason: e.to_string() })?;
            let i = index as usize;
            layers.push(LayerRecord {
                index,
                name: self.names.get(i).cloned().unwrap_or_default(),
                opcode: self.opcodes.get(i).copied().unwrap_or(Opcode::End),
                perf,
            });
        }
        Ok(RunRecord { first, busy_cycles: (hi as u64) << 32 | lo as u64, layers })
    }
}

/// A device's memory for a host step.
struct DeviceMemory<'a, D> {
    dev: &'a mut D,
    node: &'a str,
}

impl<D: Device> HostMemory for DeviceMemory<'_, D> {
    type Error = DriverError;
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), DriverError> {
        self.dev.read_mem(addr, buf).ctx(|| format!("host step {}: reading an input", self.node))
    }
    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), DriverError> {
        self.dev.write_mem(addr, data).ctx(|| format!("host step {}: writing the output", self.node))
    }
}

/// Poll pacing: spin a little (fast runs), then sleep up to 1 ms, never past the deadline.
struct Backoff {
    polls: u32,
}

impl Backoff {
    fn new() -> Backoff {
        Backoff { polls: 0 }
    }

    fn sleep(&mut self, deadline: Instant) {
        self.polls += 1;
        if self.polls < 64 {
            std::hint::spin_loop();
            return;
        }
        let step = Duration::from_micros(10u64 << (self.polls - 64).min(7));
        let left = deadline.saturating_duration_since(Instant::now());
        std::thread::sleep(step.min(left));
    }
}
