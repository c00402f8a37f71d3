//! Errors of opening a backend, with what to do about each.

use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum BackendError {
    #[error("device spec '{spec}': {reason}")]
    Spec { spec: String, reason: String },
    #[error("permission denied opening {path}: {hint}")]
    PermissionDenied { path: PathBuf, hint: &'static str },
    #[error("{path} does not exist: {hint}")]
    NotFound { path: PathBuf, hint: &'static str },
    #[error("opening {what} {path}: {source}")]
    Open { path: PathBuf, what: &'static str, source: std::io::Error },
    #[error("mapping {len:#x} bytes at offset {offset:#x} of {path}: {source}")]
    Map { path: PathBuf, offset: u64, len: usize, source: std::io::Error },
    #[error("{path}: {reason}")]
    Sysfs { path: PathBuf, reason: String },
}

/// What is missing when `path` cannot be opened for lack of permission.
pub fn permission_hint(path: &Path) -> &'static str {
    let p = path.to_string_lossy();
    if p.ends_with("/mem") {
        "/dev/mem needs root or CAP_SYS_RAWIO (`sudo setcap cap_sys_rawio+ep $(which systole)`), and a kernel \
         that allows the range (CONFIG_STRICT_DEVMEM off or `iomem=relaxed` on the kernel command line)"
    } else if p.contains("xdma") {
        "add a udev rule `KERNEL==\"xdma[0-9]*\", MODE=\"0660\", GROUP=\"xdma\"` and join that group, or run as root"
    } else if p.contains("udmabuf") || p.contains("u-dma-buf") {
        "add a udev rule `KERNEL==\"udmabuf[0-9]*\", MODE=\"0660\", GROUP=\"video\"` and join that group, or run as \
         root"
    } else if p.contains("uio") {
        "add a udev rule `SUBSYSTEM==\"uio\", MODE=\"0660\", GROUP=\"uio\"` and join that group, or run as root"
    } else if p.contains("/bus/pci/devices") {
        "PCI resource and enable files are root-only: run as root, or add a udev rule `SUBSYSTEM==\"pci\", \
         ATTR{vendor}==\"0x10ee\", RUN+=\"/bin/chmod 0666 /sys%p/resource0 /sys%p/resource2 /sys%p/enable\"`; a \
         locked-down kernel also needs CAP_SYS_RAWIO to map a BAR"
    } else {
        "check the file's owner and mode"
    }
}

fn not_found_hint(path: &Path) -> &'static str {
    let p = path.to_string_lossy();
    if p.ends_with("/mem") {
        "no /dev/mem: a kernel built without CONFIG_DEVMEM, or a container without it"
    } else if p.contains("xdma") {
        "is the Xilinx XDMA driver (xdma.ko from dma_ip_drivers) loaded and the card enumerated?"
    } else if p.contains("udmabuf") || p.contains("u-dma-buf") {
        "is u-dma-buf loaded with a buffer (`modprobe u-dma-buf udmabuf0=0x4000000`)?"
    } else if p.contains("uio") {
        "is the UIO driver bound (uio_pdrv_genirq with `of_id=generic-uio`, or uio_pci_generic)?"
    } else if p.contains("/bus/pci/devices") {
        "no PCI device with that address: check `lspci -D`"
    } else {
        "check the device spec"
    }
}

impl BackendError {
    /// Classifies an open/read failure of `path`.
    pub fn open(path: &Path, e: std::io::Error, what: &'static str) -> BackendError {
        match e.kind() {
            std::io::ErrorKind::PermissionDenied => {
                BackendError::PermissionDenied { path: path.to_path_buf(), hint: permission_hint(path) }
            }
            std::io::ErrorKind::NotFound => {
                BackendError::NotFound { path: path.to_path_buf(), hint: not_found_hint(path) }
            }
            _ => BackendError::Open { path: path.to_path_buf(), what, source: e },
        }
    }
}
