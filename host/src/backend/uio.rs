//! `uio:/dev/uioN`: a UIO device. Its maps (`/sys/class/uio/uioN/maps/mapM/{addr,size,offset}`)
//! are mapped from the node at offset M pages; map `regs` (default 0) holds the registers, map
//! `mem` (default 1) the device memory (at its physical address `addr`), unless a u-dma-buf is
//! given. The node also delivers the interrupt (blocking 4-byte read, re-enable by writing 1).

use super::devmem::udmabuf_memory;
use super::mmio::{page_size, MmioRegion};
use super::spec::uio_name;
use super::sysfs::{read_uio_map, SysRoot, UioMap};
use super::{open_rw, BackendError, BoardSpec, IrqNode, MappedDevice, Memory};
use std::fs::File;
use std::path::Path;
use systole_arch::regmap::REG_WINDOW_BYTES;

fn map(file: &File, node: &Path, m: &UioMap, len: u64) -> Result<MmioRegion, BackendError> {
    let page = page_size();
    let bad = |reason: String| BackendError::Sysfs { path: node.into(), reason };
    if m.offset >= page {
        return Err(bad(format!("map{} offset {:#x} is not inside its first page", m.index, m.offset)));
    }
    let len = usize::try_from(len).map_err(|_| bad(format!("map{} size {len:#x} too large", m.index)))?;
    MmioRegion::map_skipping(file, m.index as u64 * page, m.offset as usize, len).map_err(|source| BackendError::Map {
        path: node.into(),
        offset: m.index as u64 * page,
        len,
        source,
    })
}

pub(crate) fn open(spec: &BoardSpec, root: &SysRoot) -> Result<MappedDevice, BackendError> {
    let BoardSpec::Uio { node, regs_map, mem_map, udmabuf } = spec else {
        return Err(BackendError::Spec { spec: format!("{spec:?}"), reason: "not a uio spec".into() });
    };
    let name = uio_name(node)
        .ok_or_else(|| BackendError::Spec { spec: node.display().to_string(), reason: "not a UIO node".into() })?;
    let file = open_rw(node, false, "UIO node")?;
    let rm = read_uio_map(root, &name, *regs_map)?;
    if rm.size < REG_WINDOW_BYTES as u64 {
        return Err(BackendError::Sysfs {
            path: root.uio_map(&name, *regs_map),
            reason: format!("map{regs_map} is {:#x} bytes, the register window {REG_WINDOW_BYTES:#x}", rm.size),
        });
    }
    let regs = map(&file, node, &rm, REG_WINDOW_BYTES as u64)?;
    let mem = match udmabuf {
        Some(buf) => udmabuf_memory(buf, root)?,
        None => {
            let mm = read_uio_map(root, &name, *mem_map)?;
            Memory::Mapped { region: map(&file, node, &mm, mm.size)?, base: mm.addr }
        }
    };
    let irq_file = file.try_clone().map_err(|e| BackendError::open(node, e, "UIO node"))?;
    let irq = IrqNode::new(irq_file, true).map_err(|e| BackendError::Open {
        path: node.clone(),
        what: "UIO node (enabling its interrupt)",
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok(MappedDevice::new(format!("uio:{}", node.display()), regs, mem, Some(irq)))
}
