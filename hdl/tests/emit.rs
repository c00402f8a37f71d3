//! The emission wrapper on multi-instance designs and on designs it must refuse.

mod common;

use rust_hdl::prelude::*;
use systole_hdl::blocks::pe::Pe;
use systole_hdl::check;
use systole_hdl::emit::{self, netlist, EmitError};

/// Three PEs chained (activations, tags, weights and partial sums): a small multi-instance design.
#[derive(LogicBlock, Default)]
struct PeRow {
    clock: Signal<In, Clock>,
    en: Signal<In, Bit>,
    a_in: Signal<In, Signed<9>>,
    tag_in: Signal<In, Bit>,
    w_in: Signal<In, Signed<9>>,
    w_shift: Signal<In, Bit>,
    w_commit: Signal<In, Bit>,
    psum_in: Signal<In, Signed<32>>,
    psum_out: Signal<Out, Signed<32>>,
    a_out: Signal<Out, Signed<9>>,
    tag_out: Signal<Out, Bit>,
    w_out: Signal<Out, Signed<9>>,
    pes: [Pe; 3],
}

impl Logic for PeRow {
    #[hdl_gen]
    fn update(&mut self) {
        for i in 0..3 {
            self.pes[i].clock.next = self.clock.val();
            self.pes[i].en.next = self.en.val();
            self.pes[i].w_shift.next = self.w_shift.val();
            self.pes[i].w_commit.next = self.w_commit.val();
        }
        self.pes[0].a_in.next = self.a_in.val();
        self.pes[0].tag_in.next = self.tag_in.val();
        self.pes[0].psum_in.next = self.psum_in.val();
        self.pes[0].w_in.next = self.w_in.val();
        for i in 1..3 {
            self.pes[i].a_in.next = self.pes[i - 1].a_out.val();
            self.pes[i].tag_in.next = self.pes[i - 1].tag_out.val();
            self.pes[i].w_in.next = self.pes[i - 1].w_out.val();
            self.pes[i].psum_in.next = self.pes[i - 1].psum_out.val();
        }
        self.psum_out.next = self.pes[2].psum_out.val();
        self.a_out.next = self.pes[2].a_out.val();
        self.tag_out.next = self.pes[2].tag_out.val();
        self.w_out.next = self.pes[2].w_out.val();
    }
}

#[test]
fn identical_instances_share_one_module() {
    let design = emit::emit(&mut PeRow::default(), "pe_row").expect("emit");
    let modules = netlist::split(&design.verilog).expect("re-parse");
    let names: Vec<&str> = modules.iter().map(|m| m.name.as_str()).collect();
    // top, one PE, and the PE's three register shapes (9-bit, 1-bit, 32-bit) instead of 3 PEs x
    // 6 DFFs.
    assert_eq!(names.len(), 5, "{names:?}");
    assert_eq!(names[0], "pe_row");
    assert!(names.iter().all(|n| *n == "pe_row" || n.starts_with("pe_row__")), "{names:?}");
    assert_eq!(design.stats.modules_emitted, 22);
    assert_eq!(design.stats.modules_merged, 17);
    assert_eq!(design.verilog.matches(&format!("{} pes$", names[1])).count(), 3, "all PEs use the kept module");
    if check::tools_or_skip(&["verilator", "yosys"], "PE row lint/synth") {
        let dir = common::scratch().join("designs").join(format!("pe_row-{}", std::process::id()));
        let path = design.write_to(&dir).expect("write");
        let report = common::lint_and_synth(&design, &path);
        assert!(report.cells.values().sum::<u64>() > 0);
    }
}

#[derive(LogicBlock, Default)]
struct Precedence {
    a: Signal<In, Bits<4>>,
    b: Signal<In, Bits<4>>,
    c: Signal<In, Bits<4>>,
    o: Signal<Out, Bit>,
}

impl Logic for Precedence {
    #[hdl_gen]
    fn update(&mut self) {
        // Rust: (a & b) == c. Printed bare, Verilog would read a & (b == c).
        self.o.next = self.a.val() & self.b.val() == self.c.val();
    }
}

#[test]
fn precedence_hazard_is_refused() {
    let err = emit::emit(&mut Precedence::default(), "prec").unwrap_err();
    assert!(matches!(err, EmitError::Precedence(ref m) if m.contains("BitAnd") && m.contains("Eq")), "{err}");
}

#[derive(LogicBlock, Default)]
struct Undriven {
    a: Signal<In, Bit>,
    o: Signal<Out, Bit>,
    p: Signal<Out, Bit>,
}

impl Logic for Undriven {
    #[hdl_gen]
    fn update(&mut self) {
        self.o.next = self.a.val();
    }
}

#[test]
fn open_outputs_are_a_typed_error_not_a_panic() {
    // Undriven outputs are caught by rust-hdl's connect check (`p` is never driven).
    let mut uut = Undriven::default();
    let err = emit::emit(&mut uut, "undriven");
    assert!(matches!(err, Err(EmitError::DesignCheck(ref m)) if m.contains("p")), "{err:?}");
    assert!(matches!(emit::emit(&mut Pe::<32>::default(), "top"), Err(EmitError::BadTopName(_))));
}
