//! The simulated device front end: a [`systole_host::Device`] whose registers are the register
//! file's golden model ([`BankModel`], the semantics the RTL register bank is checked against)
//! and whose memory is a [`Dram`]; a START runs one engine run through any [`EngineModel`]
//! (the functional engine, the cycle model, the RTL harness).
//!
//! Every register access is one clock edge of the bank. A START is taken at the edge after the
//! write (the pulse's cycle): the engine runs the program to completion, then STATUS, the
//! counters and LAYERS_DONE take the run's values and IRQ_STATUS latches DONE or ERROR at the
//! next edge, as the core would raise `irq_set` at the end of the run. So a driver sees BUSY
//! never (the run is instantaneous in host time) and DONE / ERROR at its first STATUS read; the
//! cycle counters say how long the run took on the engine.
//!
//! `wait_irq` returns at once: nothing changes while the host waits, so the line is either up
//! already or never rises (the timeout error is returned without sleeping).

use crate::engine::{EngineModel, RunStats};
use crate::functional::Dram;
use std::time::Duration;
use systole_arch::regfile::{BankModel, CoreInputs, RegLayout, Unmapped, WriteOp};
use systole_arch::regmap::{self, REG_WINDOW_BYTES};
use systole_arch::ArchConfig;
use systole_host::{Device, DeviceError};

/// Bytes a simulated device gives unless told otherwise.
pub const DEFAULT_DEVICE_BYTES: u64 = 256 << 20;

pub struct SimDevice<E: EngineModel> {
    bank: BankModel,
    core: CoreInputs,
    engine: E,
    dram: Dram,
    base: u64,
    size: u64,
    /// Stats of the last completed run (for tests and reports).
    last: Option<RunStats>,
}

impl<E: EngineModel> SimDevice<E> {
    /// A device built for `cfg` (its constant registers) with `size` bytes of memory at `base`.
    pub fn new(engine: E, cfg: &ArchConfig, base: u64, size: u64) -> Result<SimDevice<E>, DeviceError> {
        let layout = RegLayout::new(cfg, Unmapped::ReadZero).map_err(|e| DeviceError::Io(std::io::Error::other(e)))?;
        let dram = Dram::new(base, size).map_err(|e| DeviceError::Io(std::io::Error::other(e.to_string())))?;
        Ok(SimDevice {
            bank: BankModel::new(layout),
            core: CoreInputs::default(),
            engine,
            dram,
            base,
            size,
            last: None,
        })
    }

    pub fn dram(&self) -> &Dram {
        &self.dram
    }

    pub fn dram_mut(&mut self) -> &mut Dram {
        &mut self.dram
    }

    pub fn engine(&self) -> &E {
        &self.engine
    }

    pub fn last_run(&self) -> Option<&RunStats> {
        self.last.as_ref()
    }

    /// Whether the interrupt line is up.
    pub fn irq(&self) -> bool {
        self.bank.outputs().irq
    }

    fn check(offset: u64) -> Result<u32, DeviceError> {
        if offset >= REG_WINDOW_BYTES as u64 {
            return Err(DeviceError::RegisterOutOfRange { offset, len: REG_WINDOW_BYTES as u64 });
        }
        if !offset.is_multiple_of(4) {
            return Err(DeviceError::Unaligned { offset });
        }
        Ok(offset as u32)
    }

    /// One bank edge with the free-running clock advanced.
    fn edge(&mut self, write: Option<WriteOp>, read: Option<u32>) -> Option<u32> {
        self.core.total_cycles += 1;
        let (_, r) = self.bank.edge(write, read, &self.core);
        self.core.irq_set = 0;
        r.map(|(v, _)| v)
    }

    /// The core's reaction to the pulses after a write edge.
    fn core_step(&mut self) {
        let out = self.bank.outputs();
        if out.soft_reset {
            self.core = CoreInputs { total_cycles: 0, ..CoreInputs::default() };
            self.edge(None, None);
            return;
        }
        if !out.start || regmap::STATUS_BUSY.get(self.core.status) == 1 {
            return;
        }
        let result = self.engine.run_program(&mut self.dram, out.program_base, out.program_count);
        let c = &mut self.core;
        match result {
            Ok(stats) => {
                c.status = regmap::STATUS_DONE.set(0, 1);
                c.layers_done = stats.layers.len() as u32;
                c.busy_cycles = stats.busy_cycles;
                c.dma_stall_cycles = stats.dma_stall_cycles;
                c.total_cycles += stats.total_cycles;
                c.irq_set = regmap::IRQ_DONE.mask();
                self.last = Some(stats);
            }
            Err(f) => {
                let s = regmap::STATUS_ERROR.set(0, 1);
                let s = regmap::STATUS_ERROR_CODE.set(s, f.code as u32);
                c.status = regmap::STATUS_LAYER.set(s, f.layer);
                c.layers_done = 0;
                c.busy_cycles = f.cycles;
                c.dma_stall_cycles = 0;
                c.total_cycles += f.cycles;
                c.irq_set = regmap::IRQ_ERROR.mask();
                self.last = None;
            }
        }
        // The edge at which the core's irq_set lands in IRQ_STATUS (and the pulse ends).
        self.edge(None, None);
    }
}

impl<E: EngineModel> Device for SimDevice<E> {
    fn read_reg(&mut self, offset: u64) -> Result<u32, DeviceError> {
        let addr = Self::check(offset)?;
        Ok(self.edge(None, Some(addr)).unwrap_or(0))
    }

    fn write_reg(&mut self, offset: u64, value: u32) -> Result<(), DeviceError> {
        let addr = Self::check(offset)?;
        self.edge(Some(WriteOp { addr, data: value, strb: 0xf }), None);
        self.core_step();
        Ok(())
    }

    fn write_mem(&mut self, addr: u64, data: &[u8]) -> Result<(), DeviceError> {
        self.dram.write(addr, data).map_err(|_| DeviceError::MemoryOutOfRange {
            addr,
            len: data.len() as u64,
            size: self.size,
        })
    }

    fn read_mem(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        let len = buf.len();
        let src = self.dram.read(addr, len).map_err(|_| DeviceError::MemoryOutOfRange {
            addr,
            len: len as u64,
            size: self.size,
        })?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn wait_irq(&mut self, timeout: Duration) -> Result<(), DeviceError> {
        if self.irq() {
            Ok(())
        } else {
            Err(DeviceError::InterruptTimeout(timeout))
        }
    }

    fn memory_window(&self) -> Option<(u64, u64)> {
        Some((self.base, self.size))
    }
}
