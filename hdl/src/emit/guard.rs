//! Rejects rust-hdl expressions whose meaning changes when printed as Verilog.
//!
//! rust-hdl prints a binary expression as `l op r` with no parentheses of its own (it keeps only
//! the ones written in the Rust source). Rust and Verilog disagree on precedence: in Rust `&`,
//! `^`, `|` bind tighter than comparisons, in Verilog looser, so `a & b == c` means
//! `(a & b) == c` in the Rust model and `a & (b == c)` in the emitted RTL. Rather than re-print
//! every expression, this walks each module's HDL AST and refuses any nested binary operator
//! that Verilog would regroup, naming the module and operators, so the author adds the
//! parentheses in the `#[hdl_gen]` source.

use super::EmitError;
use rust_hdl::core::ast::{Verilog, VerilogExpression, VerilogOp};
use rust_hdl::core::prelude::{Block, Probe};
use rust_hdl::core::verilog_visitor::{walk_binop, VerilogVisitor};

/// Verilog binding strength (higher binds tighter), IEEE 1364-2005 table 5-4.
fn verilog_level(op: &VerilogOp) -> u8 {
    match op {
        VerilogOp::Mul => 9,
        VerilogOp::Add | VerilogOp::Sub => 8,
        VerilogOp::Shl | VerilogOp::Shr => 7,
        VerilogOp::Lt | VerilogOp::Le | VerilogOp::Gt | VerilogOp::Ge => 6,
        VerilogOp::Eq | VerilogOp::Ne => 5,
        VerilogOp::BitAnd => 4,
        VerilogOp::BitXor => 3,
        VerilogOp::BitOr => 2,
        VerilogOp::LogicalAnd => 1,
        VerilogOp::LogicalOr => 0,
    }
}

/// Whether Verilog's parser rebuilds `child` as the `left`/right operand of `parent` when both
/// are printed without parentheses (same level groups to the left).
fn verilog_keeps_grouping(parent: &VerilogOp, child: &VerilogOp, left: bool) -> bool {
    let (p, c) = (verilog_level(parent), verilog_level(child));
    c > p || (c == p && left)
}

#[derive(Default)]
struct PrecedenceVisitor {
    problems: Vec<String>,
}

impl VerilogVisitor for PrecedenceVisitor {
    fn visit_binop(&mut self, l: &VerilogExpression, o: &VerilogOp, r: &VerilogExpression) {
        for (side, left) in [(l, true), (r, false)] {
            if let VerilogExpression::Binary(_, child, _) = side {
                if !verilog_keeps_grouping(o, child, left) {
                    self.problems.push(format!("`{child:?}` inside `{o:?}`"));
                }
            }
        }
        walk_binop(self, l, o, r);
    }
}

#[derive(Default)]
struct ModuleWalker {
    path: Vec<String>,
    problems: Vec<String>,
}

impl Probe for ModuleWalker {
    fn visit_start_scope(&mut self, name: &str, node: &dyn Block) {
        self.path.push(name.to_string());
        if let Verilog::Combinatorial(code) = node.hdl() {
            let mut visitor = PrecedenceVisitor::default();
            visitor.visit_block(&code);
            let path = self.path.join(".");
            self.problems.extend(visitor.problems.into_iter().map(|p| format!("{path}: {p}")));
        }
    }

    fn visit_end_scope(&mut self, _name: &str, _node: &dyn Block) {
        self.path.pop();
    }
}

/// Fails with every unparenthesised nested operator Verilog would regroup.
pub fn check_precedence(uut: &dyn Block) -> Result<(), EmitError> {
    let mut walker = ModuleWalker::default();
    uut.accept("top", &mut walker);
    if walker.problems.is_empty() {
        Ok(())
    } else {
        Err(EmitError::Precedence(walker.problems.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_only_regrouped_operators() {
        // Rust `(a & b) == c` printed bare becomes Verilog `a & (b == c)`.
        assert!(!verilog_keeps_grouping(&VerilogOp::Eq, &VerilogOp::BitAnd, true));
        // `(a + b) << c` survives: `+` binds tighter in both languages.
        assert!(verilog_keeps_grouping(&VerilogOp::Shl, &VerilogOp::Add, true));
        // `a - (b - c)` must keep its parentheses.
        assert!(!verilog_keeps_grouping(&VerilogOp::Sub, &VerilogOp::Sub, false));
        assert!(verilog_keeps_grouping(&VerilogOp::Sub, &VerilogOp::Add, true));
    }
}
