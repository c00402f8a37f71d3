//! What can go wrong between the host and an engine, each with what to do about it.

use super::host_step::HostStepError;
use super::status::Status;
use crate::image::ImageError;
use crate::DeviceError;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum DriverError {
    #[error("{what}: {source}")]
    Device { what: String, source: DeviceError },
    #[error(
        "{register} reads 0xffffffff: the device is gone (surprise removal, PCIe link down, FPGA not \
         configured or its clock off); check `lspci -vv` / dmesg and reload the bitstream"
    )]
    DeviceGone { register: &'static str },
    #[error(
        "ID register reads {found:#010x}, not {expected:#010x} (\"SYST\"): no systole engine at this \
         register window (wrong bitstream, BAR or base address)"
    )]
    NotSystole { found: u32, expected: u32 },
    #[error(
        "the engine implements arch version {device_arch} / descriptor version {device_descriptor}, this \
         driver arch {host_arch} / descriptor {host_descriptor}: rebuild the bitstream or the driver"
    )]
    Version { device_arch: u32, device_descriptor: u32, host_arch: u32, host_descriptor: u32 },
    #[error(
        "wrong bitstream: the device's CONFIG_HASH is {device:#010x}, the image was packed for \
         {image:#010x} (arch '{arch}'); load the bitstream generated from that arch.json or re-pack the \
         model with the device's arch.json"
    )]
    WrongBitstream { device: u32, image: u32, arch: String },
    #[error(
        "the device is busy: STATUS = {status}; another process is running it, or a run hung (wait for \
         it, or abort it with CONTROL.SOFT_RESET: `systole run --reset`)"
    )]
    Busy { status: Status },
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(
        "the image's DRAM plan [{plan_base:#x}, {plan_end:#x}) is outside the device memory window \
         [{mem_base:#x}, {mem_end:#x}); re-pack with --dram-base inside the window"
    )]
    MemoryWindow { plan_base: u64, plan_end: u64, mem_base: u64, mem_end: u64 },
    #[error(
        "engine run {run} (descriptors {first}..={end}) did not finish within {timeout:?}; last STATUS = \
         {status}{irq}"
    )]
    Timeout { run: usize, first: u32, end: u32, timeout: Duration, status: Status, irq: &'static str },
    #[error("engine run {run} stopped with {code} at layer {layer} ('{name}'): {description}; STATUS = {status}")]
    Engine { run: usize, code: String, description: &'static str, layer: u32, name: String, status: Status },
    #[error(transparent)]
    Host(#[from] HostStepError),
    #[error("input '{name}': {reason}")]
    Input { name: String, reason: String },
    #[error("output '{name}': {reason}")]
    Output { name: String, reason: String },
}

/// Attaches what the driver was doing to a device error.
pub(crate) trait Context<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T, DriverError>;
}

impl<T> Context<T> for Result<T, DeviceError> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T, DriverError> {
        self.map_err(|source| DriverError::Device { what: what(), source })
    }
}
