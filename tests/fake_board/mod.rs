//! A board made of files: regular files stand in for the register BAR and for device memory,
//! and a device thread implements the engine's register protocol on them with the simulated
//! device (`SimDevice` over the functional engine) behind it. The driver reaches it through the
//! real backends (`devmem:`, `pcie:`, `uio:`, `xdma:`), i.e. through `memmap2` maps and volatile
//! accesses, exactly as on hardware.
//!
//! The thread polls the mapped CONTROL word. When START (or SOFT_RESET) is set it forwards the
//! run registers to the `SimDevice`, copies device memory in, lets the engine run, copies memory
//! back, mirrors every register into the file, raises the interrupt (4 bytes written to the
//! master side of a pseudo-terminal whose slave is the "UIO node"), and last clears the pulse
//! bits in the file: a pulse bit reads 0 on the engine, so the driver knows the START was taken.
//!
//! Faults for the error-path tests: `Hang` (START taken, STATUS stays BUSY forever), `Gone`
//! (every register reads all ones), `NoIrq` (the run completes, the interrupt never arrives).
#![allow(dead_code)]

use std::fs::{File, OpenOptions};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use systole_arch::axi_timing::DramTiming;
use systole_arch::regmap::{self, REGISTERS};
use systole_arch::ArchConfig;
use systole_host::backend::MmioRegion;
use systole_host::Device;
use systole_sim::CycleModel;
use systole_sim::SimDevice;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Fault {
    None = 0,
    Hang = 1,
    Gone = 2,
    NoIrq = 3,
}

/// Where the device thread finds its registers and memory.
pub struct Layout {
    pub regs_file: PathBuf,
    pub regs_offset: u64,
    pub mem_file: PathBuf,
    pub mem_offset: u64,
    /// Device address of the first memory byte, and the memory size.
    pub mem_base: u64,
    pub mem_size: u64,
}

pub struct FakeBoard {
    pub dir: PathBuf,
    stop: Arc<AtomicBool>,
    fault: Arc<AtomicU32>,
    /// Interrupt enables (4-byte writes of 1) the driver made on the IRQ node.
    enables: Arc<AtomicU32>,
    irqs: Arc<AtomicU32>,
    thread: Option<JoinHandle<()>>,
    /// The "UIO node" path (a symlink to the pty slave), when wanted.
    pub irq_node: Option<PathBuf>,
}

impl Drop for FakeBoard {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A scratch directory unique to this process and `name`.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("systole-fake-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A file of `len` bytes (sparse), with its parent directories.
pub fn sized_file(path: &Path, len: u64) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).expect("dir");
    }
    let f = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(path).expect("create");
    f.set_len(len).expect("set_len");
}

pub fn write_text(path: &Path, text: &str) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).expect("dir");
    }
    std::fs::write(path, text).expect("write");
}

fn open_rw(path: &Path) -> File {
    OpenOptions::new().read(true).write(true).open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A pseudo-terminal in raw mode: (master, slave path). Bytes written to the master are read
/// from the slave and vice versa, like a UIO node and its kernel driver.
fn pty() -> (OwnedFd, PathBuf) {
    // SAFETY: plain libc calls on a descriptor this function owns; buffers are sized.
    unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(m >= 0, "posix_openpt: {}", std::io::Error::last_os_error());
        assert_eq!(libc::grantpt(m), 0);
        assert_eq!(libc::unlockpt(m), 0);
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(m, name.as_mut_ptr(), name.len()), 0);
        let mut t: libc::termios = std::mem::zeroed();
        assert_eq!(libc::tcgetattr(m, &mut t), 0);
        libc::cfmakeraw(&mut t);
        assert_eq!(libc::tcsetattr(m, libc::TCSANOW, &t), 0);
        let flags = libc::fcntl(m, libc::F_GETFL);
        libc::fcntl(m, libc::F_SETFL, flags | libc::O_NONBLOCK);
        let path = std::ffi::CStr::from_ptr(name.as_ptr()).to_string_lossy().into_owned();
        (OwnedFd::from_raw_fd(m), PathBuf::from(path))
    }
}

const PULSES: u32 = regmap::CONTROL_START.mask() | regmap::CONTROL_SOFT_RESET.mask();

struct Thread {
    regs: MmioRegion,
    mem: MmioRegion,
    sim: SimDevice<CycleModel>,
    base: u64,
    fault: Arc<AtomicU32>,
    enables: Arc<AtomicU32>,
    irqs: Arc<AtomicU32>,
    master: Option<OwnedFd>,
}

impl Thread {
    fn fault(&self) -> u32 {
        self.fault.load(Ordering::SeqCst)
    }

    /// Every register the engine drives (the read-only ones), from the simulated device into
    /// the file; RW registers belong to the driver and are only read.
    fn mirror(&mut self) {
        for r in &REGISTERS {
            if r.access != regmap::Access::Ro {
                continue;
            }
            let v = self.sim.read_reg(r.offset as u64).expect("sim read");
            self.regs.write32(r.offset as u64, v).expect("mirror");
        }
    }

    fn raise_irq(&mut self) {
        let n = self.irqs.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(m) = &self.master {
            // SAFETY: writes 4 bytes from a live buffer to an open descriptor.
            unsafe { libc::write(m.as_raw_fd(), n.to_ne_bytes().as_ptr().cast(), 4) };
        }
    }

    fn drain_enables(&mut self) {
        let Some(m) = &self.master else { return };
        let mut buf = [0u8; 64];
        loop {
            // SAFETY: reads into a live buffer of the given size; the descriptor is non-blocking.
            let n = unsafe { libc::read(m.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                return;
            }
            for w in buf[..n as usize].chunks_exact(4) {
                if u32::from_ne_bytes([w[0], w[1], w[2], w[3]]) == 1 {
                    self.enables.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
    }

    fn step(&mut self) {
        self.drain_enables();
        if self.fault() == Fault::Gone as u32 {
            for off in (0..regmap::REG_WINDOW_BYTES as u64).step_by(4) {
                self.regs.write32(off, u32::MAX).expect("ones");
            }
            return;
        }
        let clear = self.regs.read32(regmap::IRQ_CLEAR.offset as u64).expect("read");
        if clear != 0 {
            self.sim.write_reg(regmap::IRQ_CLEAR.offset as u64, clear).expect("clear");
            self.regs.write32(regmap::IRQ_CLEAR.offset as u64, 0).expect("w1c reads 0");
            self.mirror();
        }
        let ctl = self.regs.read32(regmap::CONTROL.offset as u64).expect("read");
        if ctl & PULSES == 0 {
            return;
        }
        for r in [regmap::PROGRAM_BASE_LO, regmap::PROGRAM_BASE_HI, regmap::PROGRAM_COUNT] {
            let v = self.regs.read32(r.offset as u64).expect("read");
            self.sim.write_reg(r.offset as u64, v).expect("forward");
        }
        if self.fault() == Fault::Hang as u32 && ctl & regmap::CONTROL_START.mask() != 0 {
            let busy = regmap::STATUS_BUSY.set(0, 1);
            self.regs.write32(regmap::STATUS.offset as u64, busy).expect("busy");
            self.regs.write32(regmap::CONTROL.offset as u64, ctl & !PULSES).expect("taken");
            return;
        }
        let mut bytes = vec![0u8; self.mem.len()];
        self.mem.read_bytes(0, &mut bytes).expect("memory in");
        self.sim.write_mem(self.base, &bytes).expect("sim memory");
        self.sim.write_reg(regmap::CONTROL.offset as u64, ctl).expect("start");
        self.sim.read_mem(self.base, &mut bytes).expect("sim memory");
        self.mem.write_bytes(0, &bytes).expect("memory out");
        self.mirror();
        if self.sim.irq() && self.fault() != Fault::NoIrq as u32 {
            self.raise_irq();
        }
        self.regs.write32(regmap::CONTROL.offset as u64, ctl & !PULSES).expect("taken");
    }
}

impl FakeBoard {
    /// Starts the device thread for an engine built for `cfg` on the files of `layout`.
    pub fn start(dir: PathBuf, cfg: &ArchConfig, layout: Layout, with_irq: bool) -> FakeBoard {
        let regs = MmioRegion::map(&open_rw(&layout.regs_file), layout.regs_offset, regmap::REG_WINDOW_BYTES as usize)
            .expect("map regs");
        let mem = MmioRegion::map(&open_rw(&layout.mem_file), layout.mem_offset, layout.mem_size as usize)
            .expect("map memory");
        let timing = DramTiming::new(20, 1).expect("timing");
        let sim = SimDevice::new(CycleModel::new(cfg, timing).expect("config"), cfg, layout.mem_base, layout.mem_size)
            .expect("sim device");
        let (master, irq_node) = if with_irq {
            let (m, slave) = pty();
            let node = dir.join("dev/uio0");
            std::fs::create_dir_all(dir.join("dev")).expect("dev");
            let _ = std::fs::remove_file(&node);
            std::os::unix::fs::symlink(&slave, &node).expect("symlink");
            (Some(m), Some(node))
        } else {
            (None, None)
        };
        let stop = Arc::new(AtomicBool::new(false));
        let fault = Arc::new(AtomicU32::new(Fault::None as u32));
        let enables = Arc::new(AtomicU32::new(0));
        let irqs = Arc::new(AtomicU32::new(0));
        let mut t = Thread {
            regs,
            mem,
            sim,
            base: layout.mem_base,
            fault: fault.clone(),
            enables: enables.clone(),
            irqs: irqs.clone(),
            master,
        };
        t.mirror();
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                t.step();
                std::thread::sleep(Duration::from_micros(50));
            }
        });
        FakeBoard { dir, stop, fault, enables, irqs, thread: Some(thread), irq_node }
    }

    pub fn set_fault(&self, f: Fault) {
        self.fault.store(f as u32, Ordering::SeqCst);
    }

    pub fn enables(&self) -> u32 {
        self.enables.load(Ordering::SeqCst)
    }

    pub fn irqs(&self) -> u32 {
        self.irqs.load(Ordering::SeqCst)
    }
}

/// A `devmem:` board: `DIR/dev/mem` (registers at `phys`), `DIR/dev/udmabuf0` with its sysfs
/// `phys_addr` / `size`, optionally a UIO node for the interrupt.
pub fn devmem_board(name: &str, cfg: &ArchConfig, phys: u64, mem_base: u64, mem_size: u64, irq: bool) -> FakeBoard {
    let dir = scratch(name);
    let mem = dir.join("dev/mem");
    sized_file(&mem, phys + 4096);
    let buf = dir.join("dev/udmabuf0");
    sized_file(&buf, mem_size);
    let sys = dir.join("sys/class/u-dma-buf/udmabuf0");
    write_text(&sys.join("phys_addr"), &format!("{mem_base:#x}\n"));
    write_text(&sys.join("size"), &format!("{mem_size}\n"));
    let layout = Layout { regs_file: mem, regs_offset: phys, mem_file: buf, mem_offset: 0, mem_base, mem_size };
    FakeBoard::start(dir, cfg, layout, irq)
}
