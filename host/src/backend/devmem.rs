//! `devmem:0xADDR`: an SoC board (Zynq-7000 GP0 at 0x4000_0000, ZynqMP HPM0 at 0xA000_0000)
//! with the engine's registers at a physical address reached through `/dev/mem`, device memory
//! in a u-dma-buf buffer (contiguous, its physical address from sysfs: the address the engine's
//! AXI master uses, so images are packed with `--dram-base` = that address), and optionally a
//! UIO node (uio_pdrv_genirq, no maps needed) for the interrupt.

use super::sysfs::{read_udmabuf, SysRoot};
use super::{map_len, map_regs, open_rw, BackendError, BoardSpec, IrqNode, MappedDevice, Memory};
use std::path::Path;

/// The u-dma-buf at `node` (`/dev/udmabufN`): mapped uncached (O_SYNC), at its physical address.
pub(crate) fn udmabuf_memory(node: &Path, root: &SysRoot) -> Result<Memory, BackendError> {
    let name = node.file_name().and_then(|n| n.to_str()).ok_or_else(|| BackendError::Spec {
        spec: node.display().to_string(),
        reason: "not a u-dma-buf node".into(),
    })?;
    let (phys, size) = read_udmabuf(root, name)?;
    let file = open_rw(node, true, "u-dma-buf")?;
    let region = map_len(&file, node, 0, size)?;
    Ok(Memory::Mapped { region, base: phys })
}

/// Opens a UIO node used only for its interrupt.
pub(crate) fn uio_irq(node: &Path) -> Result<IrqNode, BackendError> {
    let file = open_rw(node, false, "UIO node")?;
    IrqNode::new(file, true).map_err(|e| BackendError::Open {
        path: node.into(),
        what: "UIO node (enabling its interrupt)",
        source: std::io::Error::other(e.to_string()),
    })
}

pub(crate) fn open(spec: &BoardSpec, root: &SysRoot) -> Result<MappedDevice, BackendError> {
    let BoardSpec::DevMem { phys, udmabuf, uio } = spec else {
        return Err(BackendError::Spec { spec: format!("{spec:?}"), reason: "not a devmem spec".into() });
    };
    let mem_path = root.dev.join("mem");
    let file = open_rw(&mem_path, true, "physical memory")?;
    let regs = map_regs(&file, &mem_path, *phys)?;
    let buf = udmabuf.clone().unwrap_or_else(|| root.dev.join("udmabuf0"));
    let mem = udmabuf_memory(&buf, root)?;
    let irq = uio.as_deref().map(uio_irq).transpose()?;
    let what = format!("devmem:{phys:#x} (registers in {}, memory {})", mem_path.display(), buf.display());
    Ok(MappedDevice::new(what, regs, mem, irq))
}
