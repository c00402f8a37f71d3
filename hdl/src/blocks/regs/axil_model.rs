//! Cycle-accurate golden model of the AXI4-Lite slave in front of the bank (`super::rtl`).
//!
//! Timing (edges numbered; every output comes from a register, none from an input):
//! * `AWREADY = !aw_full`, `WREADY = !w_full`: AW and W are each captured into their own
//!   one-entry buffer, in any order or at the same edge.
//! * Commit: at an edge where both buffers are full and no B response is pending, the write
//!   happens ([`BankModel::edge`]), `BVALID` rises after it with the response, and both buffers
//!   empty (so the next AW/W can be captured at the following edge, even while B waits).
//!   `BVALID` and `BRESP` hold until `BREADY`.
//! * `ARREADY = !RVALID`: the read is performed at the AR handshake edge; `RVALID`, `RDATA`,
//!   `RRESP` rise after it and hold until `RREADY`.
//! * So with a master that never stalls, a write takes 2 edges from AW/W to BVALID and a read 1
//!   edge from AR to RVALID; each channel accepts a new transfer every 2 cycles.
//! * `BRESP`, `RDATA`, `RRESP` keep their last value while the valid is low (0 after reset).

use super::layout::{RegLayout, Resp};
use super::model::{BankModel, CoreInputs, CoreOutputs, WriteOp};

/// Master-driven AXI4-Lite signals of one cycle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AxilIn {
    pub awvalid: bool,
    pub awaddr: u32,
    pub wvalid: bool,
    pub wdata: u32,
    pub wstrb: u8,
    pub bready: bool,
    pub arvalid: bool,
    pub araddr: u32,
    pub rready: bool,
}

/// Slave-driven AXI4-Lite signals (after an edge).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AxilOut {
    pub awready: bool,
    pub wready: bool,
    pub bvalid: bool,
    pub bresp: Resp,
    pub arready: bool,
    pub rvalid: bool,
    pub rdata: u32,
    pub rresp: Resp,
}

/// The slave and its bank.
#[derive(Clone, Debug)]
pub struct RegFileModel {
    bank: BankModel,
    aw: Option<u32>,
    w: Option<(u32, u8)>,
    bvalid: bool,
    bresp: Resp,
    rvalid: bool,
    rdata: u32,
    rresp: Resp,
}

impl RegFileModel {
    pub fn new(layout: RegLayout) -> RegFileModel {
        RegFileModel {
            bank: BankModel::new(layout),
            aw: None,
            w: None,
            bvalid: false,
            bresp: Resp::Okay,
            rvalid: false,
            rdata: 0,
            rresp: Resp::Okay,
        }
    }

    pub fn bank(&self) -> &BankModel {
        &self.bank
    }

    /// The AXI outputs now (before the next edge).
    pub fn axi(&self) -> AxilOut {
        AxilOut {
            awready: self.aw.is_none(),
            wready: self.w.is_none(),
            bvalid: self.bvalid,
            bresp: self.bresp,
            arready: !self.rvalid,
            rvalid: self.rvalid,
            rdata: self.rdata,
            rresp: self.rresp,
        }
    }

    pub fn core(&self) -> CoreOutputs {
        self.bank.outputs()
    }

    /// One rising edge with `input` and `core` applied (`reset`: synchronous reset).
    pub fn step(&mut self, reset: bool, input: &AxilIn, core: &CoreInputs) {
        if reset {
            *self = RegFileModel::new(self.bank.layout().clone());
            return;
        }
        let commit = match (self.aw, self.w) {
            (Some(addr), Some((data, strb))) if !self.bvalid => Some(WriteOp { addr, data, strb }),
            _ => None,
        };
        let ar_take = input.arvalid && !self.rvalid;
        let (wresp, rresult) = self.bank.edge(commit, ar_take.then_some(input.araddr), core);

        let aw_take = input.awvalid && self.aw.is_none();
        let w_take = input.wvalid && self.w.is_none();
        if let Some(resp) = wresp {
            self.aw = None;
            self.w = None;
            self.bvalid = true;
            self.bresp = resp;
        } else if self.bvalid && input.bready {
            self.bvalid = false;
        }
        if aw_take {
            self.aw = Some(input.awaddr);
        }
        if w_take {
            self.w = Some((input.wdata, input.wstrb));
        }
        if let Some((data, resp)) = rresult {
            self.rvalid = true;
            self.rdata = data;
            self.rresp = resp;
        } else if self.rvalid && input.rready {
            self.rvalid = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::layout::Unmapped;
    use super::*;
    use systole_arch::regmap;
    use systole_arch::ArchConfig;

    fn model() -> RegFileModel {
        RegFileModel::new(RegLayout::new(&ArchConfig::new("t", 16, 8), Unmapped::ReadZero).unwrap())
    }

    #[test]
    fn write_then_read_back_with_documented_latencies() {
        let mut m = model();
        let core = CoreInputs::default();
        let addr = regmap::PROGRAM_BASE_LO.offset;
        let both = AxilIn { awvalid: true, awaddr: addr, wvalid: true, wdata: 0x40, wstrb: 0xf, ..Default::default() };
        m.step(false, &both, &core);
        assert!(!m.axi().awready && !m.axi().wready && !m.axi().bvalid);
        m.step(false, &AxilIn::default(), &core);
        assert!(m.axi().bvalid && m.axi().awready, "commit edge: B up, buffers free");
        m.step(false, &AxilIn::default(), &core);
        assert!(m.axi().bvalid, "B holds without BREADY");
        m.step(false, &AxilIn { bready: true, arvalid: true, araddr: addr, ..Default::default() }, &core);
        assert!(!m.axi().bvalid);
        assert_eq!((m.axi().rvalid, m.axi().rdata, m.axi().arready), (true, 0x40, false));
    }

    #[test]
    fn w_before_aw_and_pending_b_blocks_the_next_commit() {
        let mut m = model();
        let core = CoreInputs::default();
        let base = regmap::PROGRAM_BASE_HI.offset;
        m.step(false, &AxilIn { wvalid: true, wdata: 1, wstrb: 0xf, ..Default::default() }, &core);
        m.step(false, &AxilIn { awvalid: true, awaddr: base, ..Default::default() }, &core);
        m.step(false, &AxilIn::default(), &core);
        assert!(m.axi().bvalid);
        assert_eq!(m.core().program_base, 1 << 32);
        // Second write captured while B waits, committed only after B is taken.
        let second = AxilIn { awvalid: true, awaddr: base, wvalid: true, wdata: 2, wstrb: 0xf, ..Default::default() };
        m.step(false, &second, &core);
        m.step(false, &AxilIn::default(), &core);
        assert_eq!(m.core().program_base, 1 << 32);
        m.step(false, &AxilIn { bready: true, ..Default::default() }, &core);
        assert!(!m.axi().bvalid);
        m.step(false, &AxilIn::default(), &core);
        assert!(m.axi().bvalid);
        assert_eq!(m.core().program_base, 2 << 32);
    }
}
