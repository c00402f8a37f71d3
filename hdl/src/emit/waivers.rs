//! Lint waivers: a `/* verilator lint_off RULE */ ... lint_on` pair around one declaration,
//! with the reason written above it, so every waiver in the output explains itself. A waiver
//! that matches nothing is an error (the code it excused has changed).

use super::netlist::{parse_decl, Module};
use super::EmitError;
use std::borrow::Cow;

/// Waive Verilator `rule` on the declaration of `signal` in a block's own module. The name is
/// owned or static: generated designs name per-instance wires (`pes$3$a_out`) at run time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiver {
    pub signal: Cow<'static, str>,
    pub rule: &'static str,
    pub reason: &'static str,
}

/// Whether `module` declares `signal`.
pub fn declares(module: &Module, signal: &str) -> bool {
    module.body.iter().any(|line| parse_decl(line).is_some_and(|d| d.name == signal))
}

pub fn apply(module: &mut Module, waivers: &[Waiver]) -> Result<(), EmitError> {
    for waiver in waivers {
        let index = module
            .body
            .iter()
            .position(|line| parse_decl(line).is_some_and(|d| d.name == *waiver.signal))
            .ok_or_else(|| EmitError::StaleWaiver { signal: waiver.signal.to_string() })?;
        let indent = module.body[index][..module.body[index].len() - module.body[index].trim_start().len()].to_string();
        module.body.insert(index + 1, format!("{indent}/* verilator lint_on {} */", waiver.rule));
        module.body.insert(index, format!("{indent}/* verilator lint_off {} */", waiver.rule));
        module.body.insert(index, format!("{indent}// lint waiver: {}", waiver.reason));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_the_declaration_and_rejects_stale_waivers() {
        let mut m = Module { name: "m".into(), ports: String::new(), body: vec!["    reg  [63:0] hsum;".into()] };
        let w = Waiver { signal: "hsum".into(), rule: "UNUSEDSIGNAL", reason: "low bits are rounded away" };
        apply(&mut m, std::slice::from_ref(&w)).unwrap();
        assert_eq!(m.body.len(), 4);
        assert_eq!(m.body[1], "    /* verilator lint_off UNUSEDSIGNAL */");
        assert_eq!(m.body[3], "    /* verilator lint_on UNUSEDSIGNAL */");
        let stale = Waiver { signal: "nope".into(), ..w };
        assert!(matches!(apply(&mut m, &[stale]), Err(EmitError::StaleWaiver { .. })));
    }
}
