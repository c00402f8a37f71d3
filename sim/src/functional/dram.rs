//! Device memory as the engine sees it: one byte array from the plan's base address.

use super::SimError;
use systole_host::driver::HostMemory;

#[derive(Clone)]
pub struct Dram {
    base: u64,
    bytes: Vec<u8>,
}

impl Dram {
    pub fn new(base: u64, size: u64) -> Result<Dram, SimError> {
        let size = usize::try_from(size).map_err(|_| SimError::Memory { addr: base, len: size, base, size })?;
        Ok(Dram { base, bytes: vec![0; size] })
    }

    fn range(&self, addr: u64, len: usize) -> Result<std::ops::Range<usize>, SimError> {
        let size = self.bytes.len() as u64;
        let off = addr.checked_sub(self.base).filter(|o| o.checked_add(len as u64).is_some_and(|e| e <= size));
        let off = off.ok_or(SimError::Memory { addr, len: len as u64, base: self.base, size })? as usize;
        Ok(off..off + len)
    }

    pub fn read(&self, addr: u64, len: usize) -> Result<&[u8], SimError> {
        let r = self.range(addr, len)?;
        Ok(&self.bytes[r])
    }

    pub fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), SimError> {
        let r = self.range(addr, data.len())?;
        self.bytes[r].copy_from_slice(data);
        Ok(())
    }

    /// `n` little-endian words at `addr`.
    pub fn read_words(&self, addr: u64, n: usize) -> Result<Vec<u32>, SimError> {
        let b = self.read(addr, 4 * n)?;
        Ok(b.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }
}

impl HostMemory for Dram {
    type Error = SimError;
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), SimError> {
        buf.copy_from_slice(Dram::read(self, addr, buf.len())?);
        Ok(())
    }
    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), SimError> {
        Dram::write(self, addr, data)
    }
}
