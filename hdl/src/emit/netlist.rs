//! A minimal structural view of rust-hdl's Verilog text: modules, their port lists, declarations
//! and sub-module instantiations.
//!
//! rust-hdl 0.46 writes every module in one fixed layout (`module NAME(ports);` ... `endmodule //
//! NAME`, one declaration per line, instances as `KIND NAME(` on their own line), so a line-based
//! reader is enough; anything outside that layout is reported rather than guessed at.

use super::EmitError;
use std::collections::BTreeSet;

/// One `module ... endmodule` of the emitted text.
#[derive(Clone, Debug, PartialEq)]
pub struct Module {
    pub name: String,
    /// The port list between the parentheses of the header, as emitted.
    pub ports: String,
    /// Lines between the header and `endmodule`, without trailing whitespace.
    pub body: Vec<String>,
}

/// Direction of a module port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Input,
    Output,
}

/// A declared net, variable or port of a module.
#[derive(Clone, Debug, PartialEq)]
pub struct Decl {
    pub name: String,
    pub width: usize,
    pub signed: bool,
    /// `Some` for ports.
    pub direction: Option<Direction>,
}

/// A module port with its width, in header order.
#[derive(Clone, Debug, PartialEq)]
pub struct Port {
    pub name: String,
    pub width: usize,
    pub signed: bool,
    pub direction: Direction,
}

/// Splits emitted text into modules. Blank lines and one-line comments between modules are
/// dropped (so our own output can be read back too).
pub fn split(text: &str) -> Result<Vec<Module>, EmitError> {
    let mut modules = Vec::new();
    let mut current: Option<Module> = None;
    for (number, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        match current.as_mut() {
            None => {
                let block_comment = trimmed.starts_with("/*") && trimmed.ends_with("*/");
                if trimmed.is_empty() || trimmed.starts_with("//") || block_comment {
                    continue;
                }
                let header = trimmed.strip_prefix("module ").ok_or_else(|| EmitError::Parse {
                    line: number + 1,
                    message: format!("expected `module`, found `{trimmed}`"),
                })?;
                let (name, rest) = header.split_once('(').ok_or_else(|| EmitError::Parse {
                    line: number + 1,
                    message: format!("module header without port list: `{trimmed}`"),
                })?;
                let ports = rest.strip_suffix(");").ok_or_else(|| EmitError::Parse {
                    line: number + 1,
                    message: format!("module header must end in `);`: `{trimmed}`"),
                })?;
                current = Some(Module { name: name.trim().to_string(), ports: ports.to_string(), body: Vec::new() });
            }
            Some(module) => {
                if trimmed.starts_with("endmodule") {
                    modules.extend(current.take());
                } else {
                    module.body.push(line.trim_end().to_string());
                }
            }
        }
    }
    if let Some(module) = current {
        return Err(EmitError::Parse {
            line: text.lines().count(),
            message: format!("module {} has no endmodule", module.name),
        });
    }
    Ok(modules)
}

impl Module {
    /// Renders the module back to text.
    pub fn render(&self) -> String {
        let mut out = format!("module {}({});\n", self.name, self.ports);
        for line in &self.body {
            out.push_str(line);
            out.push('\n');
        }
        out.push_str(&format!("endmodule // {}\n", self.name));
        out
    }

    /// Index of the first body line that instantiates one of `known` modules, with the kind.
    pub fn instances<'a>(&'a self, known: &'a BTreeSet<String>) -> impl Iterator<Item = (usize, &'a str)> + 'a {
        self.body.iter().enumerate().filter_map(move |(index, line)| {
            let kind = instance_kind(line)?;
            known.contains(kind).then_some((index, kind))
        })
    }

    /// Replaces the module kind of every instantiation of `from` by `to`.
    pub fn rename_instances(&mut self, from: &str, to: &str) {
        self.rename_instances_by(|kind| (kind == from).then_some(to));
    }

    /// Replaces the module kind of every instantiation by `map(kind)` where that is `Some`: one
    /// pass over the body however many modules are renamed (an R x C array has thousands).
    pub fn rename_instances_by<'a>(&mut self, map: impl Fn(&str) -> Option<&'a str>) {
        for line in &mut self.body {
            let Some(kind) = instance_kind(line) else { continue };
            let Some(to) = map(kind) else { continue };
            let indent = &line[..line.len() - line.trim_start().len()];
            let rest = &line.trim_start()[kind.len()..];
            *line = format!("{indent}{to}{rest}");
        }
    }

    /// Declarations (ports, regs, wires) found in the body, in order.
    pub fn decls(&self) -> Vec<Decl> {
        self.body.iter().filter_map(|line| parse_decl(line)).collect()
    }

    /// The ports in header order, with widths from their declarations.
    pub fn ports(&self) -> Result<Vec<Port>, EmitError> {
        let decls = self.decls();
        self.ports
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|name| {
                let decl =
                    decls.iter().find(|d| d.name == name && d.direction.is_some()).ok_or_else(|| EmitError::Parse {
                        line: 0,
                        message: format!("port {name} of module {} is not declared", self.name),
                    })?;
                Ok(Port {
                    name: name.to_string(),
                    width: decl.width,
                    signed: decl.signed,
                    direction: decl.direction.unwrap_or(Direction::Input),
                })
            })
            .collect()
    }
}

/// `KIND NAME(` as rust-hdl writes an instantiation line: the kind, if the line has that shape.
fn instance_kind(line: &str) -> Option<&str> {
    let mut tokens = line.split_whitespace();
    let kind = tokens.next()?;
    let name = tokens.next()?;
    if tokens.next().is_some() || !name.ends_with('(') || name.len() < 2 {
        return None;
    }
    if matches!(kind, "input" | "output" | "inout" | "reg" | "wire" | "localparam" | "always" | "assign") {
        return None;
    }
    Some(kind)
}

/// Parses `input wire signed [7:0] name;`, `reg [31:0] x$d;`, `output reg  q;` and so on.
pub fn parse_decl(line: &str) -> Option<Decl> {
    let line = line.trim().strip_suffix(';')?;
    let mut tokens: Vec<&str> = line.split_whitespace().collect();
    let direction = match tokens.first()? {
        &"input" => Some(Direction::Input),
        &"output" => Some(Direction::Output),
        &"reg" | &"wire" => None,
        _ => return None,
    };
    tokens.remove(0);
    if direction.is_some() && matches!(tokens.first(), Some(&"wire") | Some(&"reg")) {
        tokens.remove(0);
    }
    let signed = tokens.first() == Some(&"signed");
    if signed {
        tokens.remove(0);
    }
    let width = match tokens.first() {
        Some(range) if range.starts_with('[') => {
            let inner = range.strip_prefix('[')?.strip_suffix(":0]")?;
            tokens.remove(0);
            inner.parse::<usize>().ok()? + 1
        }
        _ => 1,
    };
    match tokens.as_slice() {
        [name] if !name.contains('=') => Some(Decl { name: name.to_string(), width, signed, direction }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\n\nmodule top(clock,a,q);\n    input wire  clock;\n    input wire signed [7:0] a;\n    \
                        output reg [31:0] q;\n    reg [7:0] r$d;\n    top$r r(\n        .d(r$d)\n    );\n\
                        endmodule // top\n\n\nmodule top$r(d);\n    input wire [7:0] d;\nendmodule // top$r\n";

    #[test]
    fn splits_modules_and_reads_ports() {
        let modules = split(TEXT).unwrap();
        assert_eq!(modules.len(), 2);
        assert_eq!(modules[0].name, "top");
        let ports = modules[0].ports().unwrap();
        assert_eq!(ports.len(), 3);
        assert_eq!((ports[1].width, ports[1].signed, ports[1].direction), (8, true, Direction::Input));
        assert_eq!((ports[2].width, ports[2].direction), (32, Direction::Output));
        let known: BTreeSet<String> = modules.iter().map(|m| m.name.clone()).collect();
        assert_eq!(modules[0].instances(&known).map(|(_, k)| k).collect::<Vec<_>>(), vec!["top$r"]);
    }

    #[test]
    fn renames_instances_keeping_indent() {
        let mut modules = split(TEXT).unwrap();
        modules[0].rename_instances("top$r", "x_r");
        assert!(modules[0].body.contains(&"    x_r r(".to_string()));
    }

    #[test]
    fn rejects_text_outside_modules() {
        assert!(matches!(split("wire x;\n"), Err(EmitError::Parse { .. })));
    }
}
