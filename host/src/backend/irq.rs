//! Interrupts delivered through a character device: a UIO node (`/dev/uioN`: a blocking 4-byte
//! read returns the interrupt count; writing the 4-byte value 1 re-enables the interrupt, which
//! `uio_pdrv_genirq` masks after each one) or the XDMA user-event node (`/dev/xdmaN_events_M`:
//! the same read, no re-enable).

use crate::DeviceError;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::time::Duration;

#[derive(Debug)]
pub struct IrqNode {
    file: File,
    /// Write 1 after each interrupt (UIO).
    reenable: bool,
    /// The count of the last interrupt read.
    last_count: u32,
}

impl IrqNode {
    /// Takes the opened node; a UIO node is enabled at once.
    pub fn new(file: File, reenable: bool) -> Result<IrqNode, DeviceError> {
        let mut n = IrqNode { file, reenable, last_count: 0 };
        if reenable {
            n.enable()?;
        }
        Ok(n)
    }

    /// Writes the 4-byte value 1 (UIO: unmask the interrupt).
    pub fn enable(&mut self) -> Result<(), DeviceError> {
        self.file.write_all(&1u32.to_ne_bytes())?;
        Ok(())
    }

    pub fn last_count(&self) -> u32 {
        self.last_count
    }

    /// Waits until the node is readable or `timeout` passes, reads the 4-byte count and (UIO)
    /// re-enables the interrupt.
    pub fn wait(&mut self, timeout: Duration) -> Result<(), DeviceError> {
        let mut pfd = libc::pollfd { fd: self.file.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        let deadline = std::time::Instant::now() + timeout;
        loop {
            // Rounded up: poll must not return before the deadline.
            let left = deadline.saturating_duration_since(std::time::Instant::now()).as_micros().div_ceil(1000);
            let ms = left.min(i32::MAX as u128) as i32;
            // SAFETY: one valid pollfd for the duration of the call.
            let n = unsafe { libc::poll(&mut pfd, 1, ms) };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e.into());
            }
            if n == 0 {
                return Err(DeviceError::InterruptTimeout(timeout));
            }
            break;
        }
        let mut count = [0u8; 4];
        self.file.read_exact(&mut count)?;
        self.last_count = u32::from_ne_bytes(count);
        if self.reenable {
            self.enable()?;
        }
        Ok(())
    }
}
