//! The sysfs and /dev files the backends read, under overridable roots (tests point them at a
//! temporary tree of fake files), and their parsers.

use super::BackendError;
use std::path::{Path, PathBuf};

/// Where `/sys` and `/dev` are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SysRoot {
    pub sys: PathBuf,
    pub dev: PathBuf,
}

impl Default for SysRoot {
    fn default() -> SysRoot {
        SysRoot { sys: PathBuf::from("/sys"), dev: PathBuf::from("/dev") }
    }
}

impl SysRoot {
    /// Both under one directory (`DIR/sys`, `DIR/dev`), for tests.
    pub fn under(dir: &Path) -> SysRoot {
        SysRoot { sys: dir.join("sys"), dev: dir.join("dev") }
    }

    pub fn pci_device(&self, bdf: &str) -> PathBuf {
        self.sys.join("bus/pci/devices").join(bdf)
    }

    pub fn uio_map(&self, uio: &str, map: u32) -> PathBuf {
        self.sys.join("class/uio").join(uio).join("maps").join(format!("map{map}"))
    }

    pub fn udmabuf(&self, name: &str) -> PathBuf {
        self.sys.join("class/u-dma-buf").join(name)
    }
}

/// Reads a small text file, trimmed.
pub fn read_text(path: &Path) -> Result<String, BackendError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| BackendError::open(path, e, "the sysfs attribute"))
}

/// A number as sysfs prints it: `0x...` hex or decimal.
pub fn parse_number(text: &str) -> Option<u64> {
    let t = text.trim();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => t.parse().ok(),
    }
}

/// Reads a numeric sysfs attribute.
pub fn read_number(path: &Path) -> Result<u64, BackendError> {
    let text = read_text(path)?;
    parse_number(&text)
        .ok_or_else(|| BackendError::Sysfs { path: path.to_path_buf(), reason: format!("'{text}' is not a number") })
}

/// One line of a PCI device's `resource` file: start, end, flags of a BAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PciResource {
    pub start: u64,
    pub end: u64,
    pub flags: u64,
}

impl PciResource {
    /// Bytes of the BAR (0 when it is not implemented).
    pub fn size(&self) -> u64 {
        if self.start == 0 && self.end == 0 {
            0
        } else {
            self.end.saturating_sub(self.start).saturating_add(1)
        }
    }
}

/// Parses the `resource` file: one `0xSTART 0xEND 0xFLAGS` line per BAR / ROM / bridge window.
pub fn parse_pci_resources(path: &Path, text: &str) -> Result<Vec<PciResource>, BackendError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            let bad = || BackendError::Sysfs { path: path.to_path_buf(), reason: format!("line {}: '{line}'", i + 1) };
            let v: Vec<u64> = line.split_whitespace().map(parse_number).collect::<Option<_>>().ok_or_else(bad)?;
            match v[..] {
                [start, end, flags] => Ok(PciResource { start, end, flags }),
                _ => Err(bad()),
            }
        })
        .collect()
}

/// A UIO map: physical address, size, and the offset of the region in its first page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UioMap {
    pub index: u32,
    pub addr: u64,
    pub size: u64,
    pub offset: u64,
}

/// Reads `/sys/class/uio/UIO/maps/mapM/{addr,size,offset}` (`offset` is absent on old kernels).
pub fn read_uio_map(root: &SysRoot, uio: &str, index: u32) -> Result<UioMap, BackendError> {
    let dir = root.uio_map(uio, index);
    let addr = read_number(&dir.join("addr"))?;
    let size = read_number(&dir.join("size"))?;
    let offset = if dir.join("offset").exists() { read_number(&dir.join("offset"))? } else { 0 };
    Ok(UioMap { index, addr, size, offset })
}

/// A u-dma-buf buffer: physical address and size.
pub fn read_udmabuf(root: &SysRoot, name: &str) -> Result<(u64, u64), BackendError> {
    let dir = root.udmabuf(name);
    Ok((read_number(&dir.join("phys_addr"))?, read_number(&dir.join("size"))?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_resource_lines() {
        assert_eq!(parse_number("0xa0000000\n"), Some(0xa000_0000));
        assert_eq!(parse_number("4194304"), Some(4 << 20));
        assert_eq!(parse_number("zz"), None);
        let p = Path::new("resource");
        let text = "0x00000000fb000000 0x00000000fb0fffff 0x0000000000040200\n\
                    0x0000000000000000 0x0000000000000000 0x0000000000000000\n";
        let r = parse_pci_resources(p, text).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].size(), r[1].size()), (0x10_0000, 0));
        assert!(parse_pci_resources(p, "0x1 0x2").is_err());
        assert!(parse_pci_resources(p, "0x1 0x2 nope").is_err());
    }
}
