//! Boards a bitstream can be built for: the wrapper around the generated engine, its pin
//! constraints and the defines that adapt the wrapper to the engine's port widths. The sources
//! live in `bitstreams/` (readable and lintable on their own) and are compiled into systole so
//! the flow runs from any directory.

use crate::error::FlowError;
use crate::flow::Design;
use crate::ports::width_of;
use crate::target::Target;
use std::path::{Path, PathBuf};

/// The common RTL of every board wrapper: UART, UART-to-AXI-Lite bridge, AXI block-RAM memory.
pub const COMMON_RTL: [(&str, &str); 4] = [
    ("systole_uart_rx.v", include_str!("../../bitstreams/rtl/systole_uart_rx.v")),
    ("systole_uart_tx.v", include_str!("../../bitstreams/rtl/systole_uart_tx.v")),
    ("systole_uart_bridge.v", include_str!("../../bitstreams/rtl/systole_uart_bridge.v")),
    ("systole_axi_bram.v", include_str!("../../bitstreams/rtl/systole_axi_bram.v")),
];

/// Verilog defines (`-DNAME=VALUE`) binding a board wrapper to an engine.
pub type Defines = Vec<(String, String)>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Board {
    /// Radiona ULX3S with the LFE5U-85F: 25 MHz clock, FTDI UART, 8 LEDs.
    Ulx3s85f,
}

pub const ALL_BOARDS: [Board; 1] = [Board::Ulx3s85f];

impl Board {
    pub fn name(self) -> &'static str {
        match self {
            Board::Ulx3s85f => "ulx3s-85f",
        }
    }

    pub fn target(self) -> Target {
        match self {
            Board::Ulx3s85f => Target::Ecp5_85k,
        }
    }

    pub fn top_module(self) -> &'static str {
        match self {
            Board::Ulx3s85f => "systole_ulx3s",
        }
    }

    pub fn lpf_name(self) -> &'static str {
        match self {
            Board::Ulx3s85f => "ulx3s_v20.lpf",
        }
    }

    /// Bytes of on-chip block RAM the wrapper gives the engine as device memory.
    pub fn mem_bytes(self) -> u64 {
        match self {
            // 64 KiB = 32 of the 208 DP16KD: room for a small model's image, most EBR left to the engine.
            Board::Ulx3s85f => 65_536,
        }
    }

    fn files(self) -> Vec<(&'static str, &'static str)> {
        let mut files = COMMON_RTL.to_vec();
        match self {
            Board::Ulx3s85f => {
                files.push(("systole_ulx3s.v", include_str!("../../bitstreams/ulx3s/systole_ulx3s.v")));
                files.push(("ulx3s_v20.lpf", include_str!("../../bitstreams/ulx3s/ulx3s_v20.lpf")));
            }
        }
        files
    }

    /// Writes the wrapper sources and the constraints into `work`; returns the Verilog files and
    /// the defines that bind the wrapper to `design` (top name, AXI data and AXI-Lite address widths).
    pub fn write_sources(self, work: &Path, design: &Design) -> Result<(Vec<PathBuf>, Defines), FlowError> {
        let width = |port: &str| {
            width_of(&design.ports, port).ok_or_else(|| FlowError::Ports {
                file: design.verilog.clone(),
                top: design.top.clone(),
                what: format!("no `{port}` port (the board wrapper connects every engine port)"),
            })
        };
        let defines = vec![
            ("ENGINE_TOP".to_string(), design.top.clone()),
            ("AXI_DATA_BITS".to_string(), width("m_axi_rdata")?.to_string()),
            ("AXIL_ADDR_BITS".to_string(), width("s_axil_awaddr")?.to_string()),
            ("MEM_BYTES".to_string(), self.mem_bytes().to_string()),
        ];
        let mut verilog = Vec::new();
        for (name, text) in self.files() {
            let path = work.join(name);
            std::fs::write(&path, text).map_err(FlowError::io(&path))?;
            if name.ends_with(".v") {
                verilog.push(path);
            }
        }
        Ok((verilog, defines))
    }
}

impl std::str::FromStr for Board {
    type Err = FlowError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        ALL_BOARDS.into_iter().find(|b| b.name() == wanted).ok_or_else(|| FlowError::UnknownBoard {
            given: s.to_string(),
            known: ALL_BOARDS.iter().map(|b| b.name()).collect::<Vec<_>>().join(", "),
        })
    }
}
