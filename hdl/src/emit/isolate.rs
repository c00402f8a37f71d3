//! Verilator's `isolate_assignments` metacomment on chosen declarations of a sub-module.
//!
//! rust-hdl emits one `always @(*)` per module, so a module that reads a neighbour's ready /
//! valid outputs and drives the neighbour's inputs from its own state is one logic vertex with
//! both: Verilator sees a combinational loop (UNOPTFLAT) that does not exist bit by bit. The
//! metacomment tells Verilator to give the named signals' assignments blocks of their own, which
//! removes the false loop without a waiver; synthesis tools ignore the comment.

use super::netlist::Module;
use super::{waivers, Design, EmitError, Waiver};

const META: &str = " /*verilator isolate_assignments*/";

/// Marks `signals` of the module instantiated as `instance` in `design`'s top (module
/// `<top>__<instance>`). Every signal must be declared there once.
pub fn isolate_assignments(design: &mut Design, instance: &str, signals: &[&str]) -> Result<(), EmitError> {
    let header = format!("module {}__{instance}(", design.top);
    let start = design.verilog.find(&header).ok_or_else(|| EmitError::StaleWaiver { signal: header.clone() })?;
    let end = design.verilog[start..].find("endmodule").map_or(design.verilog.len(), |e| start + e);
    let mut module: Vec<String> = design.verilog[start..end].lines().map(str::to_string).collect();
    for signal in signals {
        let hits: Vec<usize> = module
            .iter()
            .enumerate()
            .filter(|(_, line)| {
                let t = line.trim_start();
                (t.starts_with("reg ") || t.starts_with("output reg ") || t.starts_with("wire "))
                    && t.strip_suffix(';').and_then(|d| d.split_whitespace().last()) == Some(signal)
            })
            .map(|(i, _)| i)
            .collect();
        let [index] = hits[..] else {
            return Err(EmitError::StaleWaiver { signal: format!("{instance}.{signal}") });
        };
        if let Some(line) = module.get_mut(index) {
            line.truncate(line.len() - 1);
            line.push_str(META);
            line.push(';');
        }
    }
    let mut text = module.join("\n");
    text.push('\n');
    design.verilog.replace_range(start..end, &text);
    Ok(())
}

/// Applies `waivers` (as [`super::waivers::apply`] does for the top) to the declarations of the
/// module instantiated as `instance` in `design`'s top: a block whose own waivers were written
/// for it as a top (`ConvUnit::waivers`) keeps them when it is a sub-module.
pub fn waive_in(design: &mut Design, instance: &str, list: &[Waiver]) -> Result<(), EmitError> {
    let header = format!("module {}__{instance}(", design.top);
    let start = design.verilog.find(&header).ok_or_else(|| EmitError::StaleWaiver { signal: header.clone() })?;
    let end = design.verilog[start..].find("endmodule").map_or(design.verilog.len(), |e| start + e);
    let mut module = Module {
        name: format!("{}__{instance}", design.top),
        ports: String::new(),
        body: design.verilog[start..end].lines().map(str::to_string).collect(),
    };
    waivers::apply(&mut module, list)?;
    let mut text = module.body.join("\n");
    text.push('\n');
    design.verilog.replace_range(start..end, &text);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_declarations_and_rejects_unknown_ones() {
        let mut d = Design {
            top: "t".into(),
            verilog: "module t__seq(a);\n    output reg  a;\n    reg  [3:0] b;\nendmodule\n".into(),
            ports: vec![],
            stats: Default::default(),
        };
        isolate_assignments(&mut d, "seq", &["a", "b"]).unwrap();
        assert!(d.verilog.contains("output reg  a /*verilator isolate_assignments*/;"));
        assert!(d.verilog.contains("reg  [3:0] b /*verilator isolate_assignments*/;"));
        assert!(isolate_assignments(&mut d, "seq", &["c"]).is_err());
    }
}
