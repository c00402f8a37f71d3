//! Board backends: each opens a [`crate::Device`] from a device spec (`systole run --device`).
//!
//! | spec | registers | device memory | interrupt |
//! |---|---|---|---|
//! | `pcie:DDDD:BB:DD.F[,regs=N][,mem=M][,mem_addr=A]` | sysfs `resourceN` (BAR N, default 0) | BAR M (default 2) mapped, card address A (default 0) at its first byte | none (poll) |
//! | `xdma:/dev/xdmaN` | `/dev/xdmaN_user` mapped | `/dev/xdmaN_h2c_0` / `_c2h_0`, pwrite / pread at the card address | `/dev/xdmaN_events_0` when present |
//! | `uio:/dev/uioN[,regs=M][,mem=K][,udmabuf=/dev/udmabufJ]` | UIO map M (default 0) | UIO map K (default 1), or a u-dma-buf | the UIO node |
//! | `devmem:0xADDR[,udmabuf=/dev/udmabufJ][,uio=/dev/uioN]` | `/dev/mem` at ADDR | u-dma-buf (default `udmabuf0`), at its physical address | a UIO node when given |
//!
//! Every map has an explicit length (character devices report size 0), every access is
//! volatile, aligned and bounds-checked, with the barriers of [`mmio`]. The `/sys` and `/dev`
//! roots come from a [`SysRoot`], so tests run every backend against fake files.

mod devmem;
mod error;
mod irq;
pub mod mmio;
mod pcie;
mod spec;
pub mod sysfs;
mod uio;
mod xdma;

pub use error::{permission_hint, BackendError};
pub use irq::IrqNode;
pub use mmio::{io_barrier, MmioRegion};
pub use spec::{BoardSpec, DeviceSpec};
pub use sysfs::SysRoot;

use crate::{Device, DeviceError};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::time::Duration;
use systole_arch::regmap::REG_WINDOW_BYTES;

/// Device memory behind a backend.
#[derive(Debug)]
pub enum Memory {
    /// Mapped into the host (a BAR, a UIO map, a u-dma-buf): device address `base` is byte 0.
    Mapped { region: MmioRegion, base: u64 },
    /// Reached through DMA character devices with the card address as the file offset.
    Dma { h2c: File, c2h: File },
}

/// A board: mapped registers, device memory, maybe an interrupt node.
#[derive(Debug)]
pub struct MappedDevice {
    what: String,
    regs: MmioRegion,
    mem: Memory,
    irq: Option<IrqNode>,
}

impl MappedDevice {
    pub fn new(what: String, regs: MmioRegion, mem: Memory, irq: Option<IrqNode>) -> MappedDevice {
        MappedDevice { what, regs, mem, irq }
    }

    /// What the device is (spec and files), for messages.
    pub fn describe(&self) -> &str {
        &self.what
    }

    fn offset(&self, addr: u64, len: usize) -> Result<(&MmioRegion, u64), DeviceError> {
        let Memory::Mapped { region, base } = &self.mem else {
            return Err(DeviceError::Io(std::io::Error::other("not a mapped memory")));
        };
        let off = addr.checked_sub(*base).ok_or(DeviceError::MemoryOutOfRange {
            addr,
            len: len as u64,
            size: region.len() as u64,
        })?;
        Ok((region, off))
    }
}

impl Device for MappedDevice {
    fn read_reg(&mut self, offset: u64) -> Result<u32, DeviceError> {
        self.regs.read32(offset)
    }

    fn write_reg(&mut self, offset: u64, value: u32) -> Result<(), DeviceError> {
        self.regs.write32(offset, value)
    }

    fn write_mem(&mut self, addr: u64, data: &[u8]) -> Result<(), DeviceError> {
        match &self.mem {
            Memory::Mapped { .. } => {
                let (region, off) = self.offset(addr, data.len())?;
                region.write_bytes(off, data).map_err(|e| rebase(e, addr))
            }
            Memory::Dma { h2c, .. } => Ok(h2c.write_all_at(data, addr)?),
        }
    }

    fn read_mem(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        match &self.mem {
            Memory::Mapped { .. } => {
                let (region, off) = self.offset(addr, buf.len())?;
                region.read_bytes(off, buf).map_err(|e| rebase(e, addr))
            }
            Memory::Dma { c2h, .. } => Ok(c2h.read_exact_at(buf, addr)?),
        }
    }

    fn wait_irq(&mut self, timeout: Duration) -> Result<(), DeviceError> {
        match &mut self.irq {
            Some(irq) => irq.wait(timeout),
            None => Err(DeviceError::Io(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                format!("{} has no interrupt source: wait by polling (without --irq) or give uio=/dev/uioN", self.what),
            ))),
        }
    }

    fn memory_window(&self) -> Option<(u64, u64)> {
        match &self.mem {
            Memory::Mapped { region, base } => Some((*base, region.len() as u64)),
            Memory::Dma { .. } => None,
        }
    }
}

/// A memory error at a region offset, reported at the device address.
fn rebase(e: DeviceError, addr: u64) -> DeviceError {
    match e {
        DeviceError::MemoryOutOfRange { len, size, .. } => DeviceError::MemoryOutOfRange { addr, len, size },
        e => e,
    }
}

/// Opens `path` read-write (`sync`: O_SYNC, uncached mappings of /dev/mem and u-dma-buf).
pub(crate) fn open_rw(path: &Path, sync: bool, what: &'static str) -> Result<File, BackendError> {
    let mut o = OpenOptions::new();
    o.read(true).write(true);
    if sync {
        o.custom_flags(libc::O_SYNC);
    }
    o.open(path).map_err(|e| BackendError::open(path, e, what))
}

/// Maps the register window of `file` at byte `offset`.
pub(crate) fn map_regs(file: &File, path: &Path, offset: u64) -> Result<MmioRegion, BackendError> {
    let len = REG_WINDOW_BYTES as usize;
    MmioRegion::map(file, offset, len).map_err(|source| BackendError::Map { path: path.into(), offset, len, source })
}

/// Maps `len` bytes of `file` at byte `offset`.
pub(crate) fn map_len(file: &File, path: &Path, offset: u64, len: u64) -> Result<MmioRegion, BackendError> {
    let len = usize::try_from(len).map_err(|_| BackendError::Sysfs {
        path: path.into(),
        reason: format!("{len:#x} bytes do not fit this host's address space"),
    })?;
    MmioRegion::map(file, offset, len).map_err(|source| BackendError::Map { path: path.into(), offset, len, source })
}

/// Opens the board a spec names.
pub fn open(spec: &BoardSpec, root: &SysRoot) -> Result<MappedDevice, BackendError> {
    match spec {
        BoardSpec::Pcie { .. } => pcie::open(spec, root),
        BoardSpec::Xdma { .. } => xdma::open(spec),
        BoardSpec::Uio { .. } => uio::open(spec, root),
        BoardSpec::DevMem { .. } => devmem::open(spec, root),
    }
}
