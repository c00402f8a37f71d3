//! Rewrites of rust-hdl constructs that Verilator `-Wall` rejects, into equivalent clean ones.
//!
//! rust-hdl's printer does not know expression widths, so its casts lean on Verilog's
//! context-dependent sizing:
//! * `signed_bit_cast::<M, N>(x)` prints `$signed(x)`: assigned to a wider variable it
//!   sign-extends correctly but trips `WIDTH`. Rewritten to an explicit replication of the sign
//!   bit.
//! * `bit_cast::<M, N>(x)` prints `((x) & M'hff..)`, whose width is max(M, N): narrowing trips
//!   `WIDTH`. Rewritten to a part-select (narrowing) or a zero-extending concatenation.
//!
//! Only whole-statement assignments `lhs = CAST(ident);` are rewritten, where both widths are
//! known from the module's declarations and the cast's target width equals the left-hand side;
//! anything else is left alone for the linter to report.

use super::netlist::{Decl, Module};
use std::collections::HashMap;

/// Applies every fixup to `module`; returns how many lines changed.
pub fn apply(module: &mut Module) -> usize {
    let decls: HashMap<String, Decl> = module.decls().into_iter().map(|d| (d.name.clone(), d)).collect();
    let mut changed = 0;
    for line in &mut module.body {
        if let Some(new) = rewrite_cast_assignment(line, &decls) {
            *line = new;
            changed += 1;
        }
    }
    changed
}

fn rewrite_cast_assignment(line: &str, decls: &HashMap<String, Decl>) -> Option<String> {
    let indent = &line[..line.len() - line.trim_start().len()];
    let (lhs, rhs) = line.trim().strip_suffix(';')?.split_once(" = ")?;
    let lhs_decl = decls.get(lhs)?;
    let width = lhs_decl.width;
    let new_rhs = if let Some(inner) = rhs.strip_prefix("$signed(").and_then(|r| r.strip_suffix(')')) {
        let src = decls.get(inner)?;
        if src.width >= width {
            return None;
        }
        let extra = width - src.width;
        format!("{{{{{extra}{{{inner}[{}]}}}}, {inner}}}", src.width - 1)
    } else {
        // ((x) & W'hmask)
        let body = rhs.strip_prefix("((")?.strip_suffix(')')?;
        let (inner, mask) = body.split_once(") & ")?;
        let (mask_width, _) = mask.split_once("'h")?;
        if mask_width.parse::<usize>().ok()? != width {
            return None;
        }
        let src = decls.get(inner)?;
        match src.width.cmp(&width) {
            std::cmp::Ordering::Greater => format!("{inner}[{}:0]", width - 1),
            std::cmp::Ordering::Less => format!("{{{}'d0, {inner}}}", width - src.width),
            std::cmp::Ordering::Equal => inner.to_string(),
        }
    };
    Some(format!("{indent}{lhs} = {new_rhs};"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(lines: &[&str]) -> Module {
        Module { name: "m".into(), ports: String::new(), body: lines.iter().map(|s| s.to_string()).collect() }
    }

    #[test]
    fn sign_extension_becomes_replication() {
        let mut m = module(&["    reg signed [7:0] a;", "    reg signed [15:0] b;", "        b = $signed(a);"]);
        assert_eq!(apply(&mut m), 1);
        assert_eq!(m.body[2], "        b = {{8{a[7]}}, a};");
    }

    #[test]
    fn bit_casts_become_selects_or_zero_extension() {
        let mut m = module(&[
            "    reg [63:0] w;",
            "    reg [31:0] n;",
            "    reg [7:0] s;",
            "        n = ((w) & 32'hffffffff);",
            "        n = ((s) & 32'hffffffff);",
            "        s = ((s) & 8'hff);",
        ]);
        assert_eq!(apply(&mut m), 3);
        assert_eq!(m.body[3], "        n = w[31:0];");
        assert_eq!(m.body[4], "        n = {24'd0, s};");
        assert_eq!(m.body[5], "        s = s;");
    }

    #[test]
    fn leaves_unknown_shapes_alone() {
        let mut m = module(&["    reg [7:0] s;", "        s = ((s + s) & 8'hff);", "        s = $signed(q);"]);
        assert_eq!(apply(&mut m), 0);
    }
}
