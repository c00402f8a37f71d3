//! A memory-mapped window (register BAR, `/dev/mem` range, UIO map, DMA buffer): volatile,
//! aligned, bounds-checked access through a `memmap2::MmapRaw` of an explicit length (character
//! devices report size 0, so the length never comes from the file).
//!
//! Ordering: [`io_barrier`] is a full fence, plus `dsb osh` on arm64 (an outer-shareable data
//! barrier: `fence` alone emits `dmb ish`, which does not order normal-memory writes to a DMA
//! buffer against a device register write as seen by an AXI master outside the inner domain).
//! [`MmioRegion::write32`] issues it *before* the store (so every earlier DMA-buffer write is
//! visible to the engine when it sees START) and reads the register back after it (flushing a
//! posted PCIe write before the host goes on); [`MmioRegion::read32`] issues it *after* the
//! load (so DMA-buffer reads that follow a DONE read see what the engine wrote).

use crate::DeviceError;
use memmap2::{MmapOptions, MmapRaw};
use std::fs::File;
use std::sync::atomic::{fence, Ordering};

/// Orders all earlier memory accesses before all later ones, device-visible.
#[inline]
pub fn io_barrier() {
    fence(Ordering::SeqCst);
    #[cfg(target_arch = "aarch64")]
    // SAFETY: a data synchronisation barrier has no operands and no memory effects beyond
    // ordering.
    unsafe {
        core::arch::asm!("dsb osh", options(nostack, preserves_flags));
    }
}

/// One mapped window of `len` bytes, `start` bytes into its mapping (mmap offsets are whole
/// pages; a window may begin inside its first page).
pub struct MmioRegion {
    map: MmapRaw,
    start: usize,
    len: usize,
}

impl std::fmt::Debug for MmioRegion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MmioRegion({:#x} bytes)", self.len)
    }
}

impl MmioRegion {
    /// Maps `len` bytes of `file` from byte `offset` (any alignment) read-write and shared.
    pub fn map(file: &File, offset: u64, len: usize) -> std::io::Result<MmioRegion> {
        let page = page_size();
        let skip = offset % page;
        MmioRegion::map_skipping(file, offset - skip, skip as usize, len)
    }

    /// Maps `skip + len` bytes of `file` from the page-aligned `page_offset`; the window is the
    /// last `len` of them (a UIO map: the map index in pages, the region's offset in its page).
    pub fn map_skipping(file: &File, page_offset: u64, skip: usize, len: usize) -> std::io::Result<MmioRegion> {
        if len == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "zero-length mapping"));
        }
        let total = skip
            .checked_add(len)
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "mapping length overflows"))?;
        let map = MmapOptions::new().offset(page_offset).len(total).map_raw(file)?;
        Ok(MmioRegion { map, start: skip, len })
    }

    fn base(&self) -> *mut u8 {
        self.map.as_mut_ptr().wrapping_add(self.start)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn word_ptr(&self, offset: u64) -> Result<*mut u32, DeviceError> {
        if !offset.is_multiple_of(4) {
            return Err(DeviceError::Unaligned { offset });
        }
        if offset.checked_add(4).is_none_or(|end| end > self.len as u64) {
            return Err(DeviceError::RegisterOutOfRange { offset, len: self.len as u64 });
        }
        if !(self.start as u64 + offset).is_multiple_of(4) {
            return Err(DeviceError::Unaligned { offset });
        }
        // In bounds (checked above); the map is page-aligned, so the word is 4-byte aligned.
        Ok(self.base().wrapping_add(offset as usize).cast::<u32>())
    }

    /// A volatile 32-bit load, then the barrier.
    pub fn read32(&self, offset: u64) -> Result<u32, DeviceError> {
        let p = self.word_ptr(offset)?;
        // SAFETY: `p` is inside the live mapping and 4-byte aligned (word_ptr).
        let v = unsafe { p.read_volatile() };
        io_barrier();
        Ok(u32::from_le(v))
    }

    /// The barrier, a volatile 32-bit store, and a read-back of the same word (flushes a posted
    /// write; the value is not used: write-1-to-clear and pulse bits read differently).
    pub fn write32(&self, offset: u64, value: u32) -> Result<(), DeviceError> {
        let p = self.word_ptr(offset)?;
        io_barrier();
        // SAFETY: as in read32.
        unsafe {
            p.write_volatile(value.to_le());
            let _ = p.read_volatile();
        }
        io_barrier();
        Ok(())
    }

    fn byte_range(&self, offset: u64, len: usize) -> Result<usize, DeviceError> {
        match offset.checked_add(len as u64) {
            Some(end) if end <= self.len as u64 => Ok(offset as usize),
            _ => Err(DeviceError::MemoryOutOfRange { addr: offset, len: len as u64, size: self.len as u64 }),
        }
    }

    /// Copies `data` to `offset` (DMA buffers: normal memory, so a plain copy), then the barrier.
    pub fn write_bytes(&self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        let at = self.byte_range(offset, data.len())?;
        // SAFETY: [at, at + len) is inside the mapping; `data` is a separate host buffer.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.base().add(at), data.len()) };
        io_barrier();
        Ok(())
    }

    /// The barrier, then copies `buf.len()` bytes from `offset`.
    pub fn read_bytes(&self, offset: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        let at = self.byte_range(offset, buf.len())?;
        io_barrier();
        // SAFETY: as in write_bytes.
        unsafe { std::ptr::copy_nonoverlapping(self.base().add(at).cast_const(), buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }
}

/// The system page size (mmap offsets and UIO map indices are in pages).
pub fn page_size() -> u64 {
    // SAFETY: sysconf has no memory effects.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as u64
    } else {
        4096
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(len: u64) -> (std::path::PathBuf, File) {
        let path = std::env::temp_dir().join(format!("systole-mmio-{}-{len}", std::process::id()));
        let f = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path).unwrap();
        f.set_len(len).unwrap();
        (path, f)
    }

    #[test]
    fn words_are_little_endian_aligned_and_bounds_checked() {
        let (path, f) = scratch(4096);
        let r = MmioRegion::map(&f, 0, 0x100).unwrap();
        r.write32(0x10, 0x1122_3344).unwrap();
        assert_eq!(r.read32(0x10).unwrap(), 0x1122_3344);
        assert_eq!(std::fs::read(&path).unwrap()[0x10..0x14], [0x44, 0x33, 0x22, 0x11], "the file sees the store");
        assert!(matches!(r.read32(0x102), Err(DeviceError::Unaligned { .. })));
        assert!(matches!(r.read32(0x100), Err(DeviceError::RegisterOutOfRange { .. })));
        assert!(matches!(r.write32(u64::MAX - 3, 0), Err(DeviceError::RegisterOutOfRange { .. })));
        r.write_bytes(0xfe, &[1, 2]).unwrap();
        let mut b = [0; 2];
        r.read_bytes(0xfe, &mut b).unwrap();
        assert_eq!(b, [1, 2]);
        assert!(matches!(r.write_bytes(0xff, &[1, 2]), Err(DeviceError::MemoryOutOfRange { .. })));
        assert!(MmioRegion::map(&f, 0, 0).is_err());
        // A window inside its page: offsets count from the window.
        let inner = MmioRegion::map(&f, 0x10, 0x20).unwrap();
        assert_eq!(inner.read32(0).unwrap(), 0x1122_3344);
        assert!(matches!(inner.read32(0x20), Err(DeviceError::RegisterOutOfRange { .. })));
        let _ = std::fs::remove_file(path);
    }
}
