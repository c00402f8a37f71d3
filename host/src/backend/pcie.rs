//! `pcie:DDDD:BB:DD.F`: a PCIe card through sysfs, no vendor driver. The device is enabled via
//! its `enable` file when it reads 0; BAR `regs` (default 0, `resourceN`) holds the register
//! window, BAR `mem` (default 2) is mapped as device memory.
//!
//! Assumption (documented in host/README.md): the memory BAR is an AXI window onto the card
//! memory the engine's AXI master uses, with card address `mem_addr` (default 0) at its first
//! byte (e.g. an XDMA/QDMA "PCIe to AXI" BAR with translation `mem_addr`); images are packed
//! with `--dram-base` inside that window. Cards without such a BAR use `xdma:`. Accesses go
//! through uncached maps of `resourceN`; there is no interrupt (poll).

use super::sysfs::{parse_pci_resources, read_text, SysRoot};
use super::{map_len, map_regs, open_rw, BackendError, BoardSpec, MappedDevice, Memory};
use systole_arch::regmap::REG_WINDOW_BYTES;

pub(crate) fn open(spec: &BoardSpec, root: &SysRoot) -> Result<MappedDevice, BackendError> {
    let BoardSpec::Pcie { bdf, regs_bar, mem_bar, mem_addr } = spec else {
        return Err(BackendError::Spec { spec: format!("{spec:?}"), reason: "not a pcie spec".into() });
    };
    let dir = root.pci_device(bdf);
    if !dir.is_dir() {
        return Err(BackendError::open(&dir, std::io::ErrorKind::NotFound.into(), "PCI device"));
    }
    let enable = dir.join("enable");
    if read_text(&enable)? == "0" {
        std::fs::write(&enable, "1").map_err(|e| BackendError::open(&enable, e, "PCI enable file"))?;
    }
    let res_path = dir.join("resource");
    let resources = parse_pci_resources(&res_path, &read_text(&res_path)?)?;
    let bar_size = |bar: u32| resources.get(bar as usize).map_or(0, |r| r.size());
    if bar_size(*regs_bar) < REG_WINDOW_BYTES as u64 {
        return Err(BackendError::Sysfs {
            path: res_path,
            reason: format!(
                "BAR {regs_bar} is {:#x} bytes, smaller than the register window ({REG_WINDOW_BYTES:#x}): not the \
                 engine's register BAR (regs=N picks another)",
                bar_size(*regs_bar)
            ),
        });
    }
    let mem_size = bar_size(*mem_bar);
    if mem_size == 0 {
        return Err(BackendError::Sysfs {
            path: res_path,
            reason: format!(
                "BAR {mem_bar} is not implemented: no device-memory BAR (mem=N picks another, or use xdma:)"
            ),
        });
    }
    let regs_path = dir.join(format!("resource{regs_bar}"));
    let regs = map_regs(&open_rw(&regs_path, true, "register BAR")?, &regs_path, 0)?;
    let mem_path = dir.join(format!("resource{mem_bar}"));
    let region = map_len(&open_rw(&mem_path, true, "memory BAR")?, &mem_path, 0, mem_size)?;
    Ok(MappedDevice::new(format!("pcie:{bdf}"), regs, Memory::Mapped { region, base: *mem_addr }, None))
}
