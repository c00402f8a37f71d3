//! systole-host: lowering a model onto the engine, the packed image, and the device interface.
//!
//! * [`lower`]: IR graph + `ArchConfig` -> engine layers (descriptors, weight tiles, params) and
//!   host steps, with the per-node partition table.
//! * [`dram`]: the DRAM plan (where descriptors, weights, params and every activation live).
//! * [`schedule`]: what runs in which order (engine runs, host steps) and the I/O bindings.
//! * [`image`]: the binary image (`systole pack`): writer, validating reader, `describe`.
//! * [`pack`]: the three above in one call.
//! * [`tensor_bytes`]: tensor values <-> little-endian bytes in device memory.
//! * [`Device`]: the 32-bit register and device-memory access that a board, the cycle model
//!   and the Verilator RTL all provide, so one driver runs on all of them.
//! * [`backend`]: the boards (`pcie:`, `xdma:`, `uio:`, `devmem:` specs) as [`Device`]s.
//! * [`driver`]: open (identify, check), load, run an image's schedule on a [`Device`].

pub mod backend;
pub mod dram;
pub mod driver;
pub mod image;
pub mod lower;
pub mod pack;
pub mod schedule;
pub mod tensor_bytes;

pub use image::{Image, ImageError};
pub use lower::{lower, LowerError, Lowered};
pub use pack::{pack, PackError, PackOptions};

use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum DeviceError {
    #[error("register offset {offset:#x} is outside the {len:#x}-byte register window")]
    RegisterOutOfRange { offset: u64, len: u64 },
    #[error("register offset {offset:#x} is not 32-bit aligned")]
    Unaligned { offset: u64 },
    #[error("device memory access [{addr:#x}, {addr:#x}+{len:#x}) is outside device memory ({size:#x} bytes)")]
    MemoryOutOfRange { addr: u64, len: u64, size: u64 },
    #[error("no interrupt within {0:?}")]
    InterruptTimeout(Duration),
    #[error("device I/O failed: {0}")]
    Io(#[from] std::io::Error),
}

/// What a host driver needs from an accelerator: 32-bit register access, transfers to and from
/// device memory, and waiting for the interrupt.
pub trait Device {
    /// Reads the 32-bit register at byte `offset` of the register window.
    fn read_reg(&mut self, offset: u64) -> Result<u32, DeviceError>;
    /// Writes the 32-bit register at byte `offset` of the register window.
    fn write_reg(&mut self, offset: u64, value: u32) -> Result<(), DeviceError>;
    /// Copies `data` to device memory at `addr`.
    fn write_mem(&mut self, addr: u64, data: &[u8]) -> Result<(), DeviceError>;
    /// Copies `buf.len()` bytes of device memory at `addr` into `buf`.
    fn read_mem(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), DeviceError>;
    /// Blocks until the device raises its interrupt or `timeout` passes.
    fn wait_irq(&mut self, timeout: Duration) -> Result<(), DeviceError>;
    /// The device-memory addresses `write_mem` / `read_mem` accept, as (base, bytes); `None`
    /// when the backend cannot tell (the driver then trusts the image's plan).
    fn memory_window(&self) -> Option<(u64, u64)> {
        None
    }
}

/// A borrowed device is a device: `Driver::open(&mut dev, ..)` leaves the caller its device
/// whatever happens.
impl<D: Device + ?Sized> Device for &mut D {
    fn read_reg(&mut self, offset: u64) -> Result<u32, DeviceError> {
        (**self).read_reg(offset)
    }
    fn write_reg(&mut self, offset: u64, value: u32) -> Result<(), DeviceError> {
        (**self).write_reg(offset, value)
    }
    fn write_mem(&mut self, addr: u64, data: &[u8]) -> Result<(), DeviceError> {
        (**self).write_mem(addr, data)
    }
    fn read_mem(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        (**self).read_mem(addr, buf)
    }
    fn wait_irq(&mut self, timeout: Duration) -> Result<(), DeviceError> {
        (**self).wait_irq(timeout)
    }
    fn memory_window(&self) -> Option<(u64, u64)> {
        (**self).memory_window()
    }
}

impl<D: Device + ?Sized> Device for Box<D> {
    fn read_reg(&mut self, offset: u64) -> Result<u32, DeviceError> {
        (**self).read_reg(offset)
    }
    fn write_reg(&mut self, offset: u64, value: u32) -> Result<(), DeviceError> {
        (**self).write_reg(offset, value)
    }
    fn write_mem(&mut self, addr: u64, data: &[u8]) -> Result<(), DeviceError> {
        (**self).write_mem(addr, data)
    }
    fn read_mem(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        (**self).read_mem(addr, buf)
    }
    fn wait_irq(&mut self, timeout: Duration) -> Result<(), DeviceError> {
        (**self).wait_irq(timeout)
    }
    fn memory_window(&self) -> Option<(u64, u64)> {
        (**self).memory_window()
    }
}
