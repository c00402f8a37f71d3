//! Device specs: `KIND:TARGET[,key=value]...`.

use super::sysfs::parse_number;
use super::BackendError;
use std::path::PathBuf;

/// A board reached through one of the backends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BoardSpec {
    /// PCIe BARs through sysfs. `bdf` is `DDDD:BB:DD.F`.
    Pcie { bdf: String, regs_bar: u32, mem_bar: u32, mem_addr: u64 },
    /// Xilinx XDMA driver nodes; `node` is `/dev/xdmaN`.
    Xdma { node: PathBuf },
    /// A UIO device: registers in map `regs_map`, memory in map `mem_map` or a u-dma-buf.
    Uio { node: PathBuf, regs_map: u32, mem_map: u32, udmabuf: Option<PathBuf> },
    /// `/dev/mem` registers at a physical address, a u-dma-buf for memory, maybe a UIO node for
    /// the interrupt.
    DevMem { phys: u64, udmabuf: Option<PathBuf>, uio: Option<PathBuf> },
}

/// What `systole run --device` accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceSpec {
    Board(BoardSpec),
    /// A simulator: `functional`, `cycle` or `rtl`.
    Sim(String),
}

fn err(spec: &str, reason: impl Into<String>) -> BackendError {
    BackendError::Spec { spec: spec.to_string(), reason: reason.into() }
}

/// `DDDD:BB:DD.F`, hex digits, function 0..7.
fn valid_bdf(s: &str) -> bool {
    let hex = |p: &str, n: usize| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit());
    let parts: Vec<&str> = s.split(':').collect();
    match parts[..] {
        [dom, bus, devfn] => match devfn.split_once('.') {
            Some((dev, f)) => {
                hex(dom, 4)
                    && hex(bus, 2)
                    && hex(dev, 2)
                    && f.len() == 1
                    && ('0'..='7').contains(&f.chars().next().unwrap_or('x'))
            }
            None => false,
        },
        _ => false,
    }
}

impl DeviceSpec {
    pub fn parse(spec: &str) -> Result<DeviceSpec, BackendError> {
        let (kind, rest) = spec
            .split_once(':')
            .ok_or_else(|| err(spec, "expected KIND:TARGET with KIND pcie, xdma, uio, devmem or sim"))?;
        let mut parts = rest.split(',');
        let target = parts.next().unwrap_or("");
        if target.is_empty() {
            return Err(err(spec, format!("{kind}: missing target")));
        }
        let mut opts: Vec<(&str, &str)> = Vec::new();
        for p in parts {
            let kv = p.split_once('=').ok_or_else(|| err(spec, format!("option '{p}' is not key=value")))?;
            opts.push(kv);
        }
        let mut take = |key: &str| -> Option<String> {
            let i = opts.iter().position(|(k, _)| *k == key)?;
            Some(opts.remove(i).1.to_string())
        };
        let number = |key: &str, v: Option<String>, default: u64| -> Result<u64, BackendError> {
            match v {
                None => Ok(default),
                Some(v) => parse_number(&v).ok_or_else(|| err(spec, format!("{key}={v} is not a number"))),
            }
        };
        let small = |key: &str, v: Option<String>, default: u32| -> Result<u32, BackendError> {
            let n = number(key, v, default as u64)?;
            u32::try_from(n).ok().filter(|&n| n < 64).ok_or_else(|| err(spec, format!("{key}={n} is out of range")))
        };
        let parsed = match kind {
            "pcie" => {
                if !valid_bdf(target) {
                    return Err(err(spec, format!("'{target}' is not a PCI address DDDD:BB:DD.F (see `lspci -D`)")));
                }
                let regs_bar = small("regs", take("regs"), 0)?;
                let mem_bar = small("mem", take("mem"), 2)?;
                if regs_bar > 5 || mem_bar > 5 || regs_bar == mem_bar {
                    return Err(err(spec, "regs and mem are two different BARs 0..=5"));
                }
                let mem_addr = number("mem_addr", take("mem_addr"), 0)?;
                DeviceSpec::Board(BoardSpec::Pcie { bdf: target.to_lowercase(), regs_bar, mem_bar, mem_addr })
            }
            "xdma" => {
                let node = PathBuf::from(target);
                let ok = node.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    n.strip_prefix("xdma").is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
                });
                if !ok {
                    return Err(err(spec, "expected the XDMA node prefix, e.g. xdma:/dev/xdma0"));
                }
                DeviceSpec::Board(BoardSpec::Xdma { node })
            }
            "uio" => {
                let node = PathBuf::from(target);
                uio_name(&node).ok_or_else(|| err(spec, "expected a UIO node, e.g. uio:/dev/uio0"))?;
                let regs_map = small("regs", take("regs"), 0)?;
                let mem_map = small("mem", take("mem"), 1)?;
                let udmabuf = take("udmabuf").map(PathBuf::from);
                DeviceSpec::Board(BoardSpec::Uio { node, regs_map, mem_map, udmabuf })
            }
            "devmem" => {
                let phys = parse_number(target)
                    .ok_or_else(|| err(spec, format!("'{target}' is not a physical address (e.g. 0xA0000000)")))?;
                let udmabuf = take("udmabuf").map(PathBuf::from);
                let uio = take("uio").map(PathBuf::from);
                if let Some(u) = &uio {
                    uio_name(u).ok_or_else(|| err(spec, "uio= expects a UIO node, e.g. /dev/uio0"))?;
                }
                DeviceSpec::Board(BoardSpec::DevMem { phys, udmabuf, uio })
            }
            "sim" => match target {
                "functional" | "cycle" | "rtl" => DeviceSpec::Sim(target.to_string()),
                _ => return Err(err(spec, "simulators: sim:functional, sim:cycle, sim:rtl")),
            },
            _ => return Err(err(spec, format!("unknown kind '{kind}' (pcie, xdma, uio, devmem, sim)"))),
        };
        if let Some((k, _)) = opts.first() {
            return Err(err(spec, format!("unknown option '{k}' for {kind}")));
        }
        Ok(parsed)
    }
}

/// `uioN` of a UIO node path.
pub fn uio_name(node: &std::path::Path) -> Option<String> {
    let n = node.file_name()?.to_str()?;
    let digits = n.strip_prefix("uio")?;
    (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())).then(|| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn board(s: &str) -> BoardSpec {
        match DeviceSpec::parse(s).unwrap_or_else(|e| panic!("{s}: {e}")) {
            DeviceSpec::Board(b) => b,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn every_kind_parses_with_defaults_and_options() {
        assert_eq!(
            board("pcie:0000:03:00.0"),
            BoardSpec::Pcie { bdf: "0000:03:00.0".into(), regs_bar: 0, mem_bar: 2, mem_addr: 0 }
        );
        assert_eq!(
            board("pcie:0000:AF:1f.7,regs=1,mem=4,mem_addr=0x80000000"),
            BoardSpec::Pcie { bdf: "0000:af:1f.7".into(), regs_bar: 1, mem_bar: 4, mem_addr: 0x8000_0000 }
        );
        assert_eq!(board("xdma:/dev/xdma0"), BoardSpec::Xdma { node: "/dev/xdma0".into() });
        assert_eq!(
            board("uio:/dev/uio3"),
            BoardSpec::Uio { node: "/dev/uio3".into(), regs_map: 0, mem_map: 1, udmabuf: None }
        );
        assert_eq!(
            board("uio:/dev/uio0,udmabuf=/dev/udmabuf1"),
            BoardSpec::Uio { node: "/dev/uio0".into(), regs_map: 0, mem_map: 1, udmabuf: Some("/dev/udmabuf1".into()) }
        );
        assert_eq!(board("devmem:0xA0000000"), BoardSpec::DevMem { phys: 0xa000_0000, udmabuf: None, uio: None });
        assert_eq!(
            board("devmem:0x40000000,udmabuf=/dev/udmabuf0,uio=/dev/uio1"),
            BoardSpec::DevMem {
                phys: 0x4000_0000,
                udmabuf: Some("/dev/udmabuf0".into()),
                uio: Some("/dev/uio1".into())
            }
        );
        assert_eq!(DeviceSpec::parse("sim:functional").unwrap(), DeviceSpec::Sim("functional".into()));
        assert_eq!(DeviceSpec::parse("sim:cycle").unwrap(), DeviceSpec::Sim("cycle".into()));
    }

    #[test]
    fn malformed_specs_say_what_is_wrong() {
        for (spec, needle) in [
            ("pcie", "KIND:TARGET"),
            ("pcie:", "missing target"),
            ("pcie:03:00.0", "DDDD:BB:DD.F"),
            ("pcie:0000:03:00.8", "DDDD:BB:DD.F"),
            ("pcie:0000:0g:00.0", "DDDD:BB:DD.F"),
            ("pcie:0000:03:00.0,regs=2,mem=2", "different BARs"),
            ("pcie:0000:03:00.0,mem=9", "different BARs"),
            ("pcie:0000:03:00.0,foo=1", "unknown option 'foo'"),
            ("pcie:0000:03:00.0,mem_addr=zz", "not a number"),
            ("pcie:0000:03:00.0,bare", "key=value"),
            ("xdma:/dev/xdma", "xdma:/dev/xdma0"),
            ("xdma:/dev/xdma0_user", "xdma:/dev/xdma0"),
            ("uio:/dev/mem", "uio:/dev/uio0"),
            ("devmem:A0000000x", "physical address"),
            ("devmem:0x1000,uio=/dev/mem", "UIO node"),
            ("sim:fast", "sim:functional"),
            ("usb:1", "unknown kind"),
        ] {
            let e = DeviceSpec::parse(spec).expect_err(spec).to_string();
            assert!(e.contains(needle), "{spec}: {e}");
        }
    }
}
