//! `xdma:/dev/xdmaN`: a PCIe card with the Xilinx XDMA IP and its driver (dma_ip_drivers). The
//! engine's registers sit behind the AXI-Lite master BAR (`/dev/xdmaN_user`, mapped); device
//! memory is the card's DDR, written through the host-to-card channel (`/dev/xdmaN_h2c_0`) and
//! read through the card-to-host one (`/dev/xdmaN_c2h_0`), the file offset being the card
//! address (the driver turns pwrite / pread into DMA). The engine's interrupt, wired to XDMA
//! user IRQ 0, arrives on `/dev/xdmaN_events_0` when that node exists.

use super::{map_regs, open_rw, BackendError, BoardSpec, IrqNode, MappedDevice, Memory};
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

fn node(prefix: &Path, suffix: &str) -> PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

pub(crate) fn open(spec: &BoardSpec) -> Result<MappedDevice, BackendError> {
    let BoardSpec::Xdma { node: prefix } = spec else {
        return Err(BackendError::Spec { spec: format!("{spec:?}"), reason: "not an xdma spec".into() });
    };
    let user = node(prefix, "_user");
    let regs = map_regs(&open_rw(&user, false, "XDMA user BAR")?, &user, 0)?;
    let h2c_path = node(prefix, "_h2c_0");
    let c2h_path = node(prefix, "_c2h_0");
    let h2c =
        OpenOptions::new().write(true).open(&h2c_path).map_err(|e| BackendError::open(&h2c_path, e, "XDMA H2C"))?;
    let c2h =
        OpenOptions::new().read(true).open(&c2h_path).map_err(|e| BackendError::open(&c2h_path, e, "XDMA C2H"))?;
    let events = node(prefix, "_events_0");
    let irq = if events.exists() {
        let f =
            OpenOptions::new().read(true).open(&events).map_err(|e| BackendError::open(&events, e, "XDMA events"))?;
        Some(IrqNode::new(f, false).map_err(|e| BackendError::Open {
            path: events.clone(),
            what: "XDMA events",
            source: std::io::Error::other(e.to_string()),
        })?)
    } else {
        None
    };
    Ok(MappedDevice::new(format!("xdma:{}", prefix.display()), regs, Memory::Dma { h2c, c2h }, irq))
}
