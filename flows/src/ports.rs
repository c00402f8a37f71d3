//! The ports of the generated top, read from the emitted Verilog itself (the flow depends on the
//! emitted files only, never on the generator's internals).

use crate::error::FlowError;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    Input,
    Output,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Port {
    pub name: String,
    pub dir: Dir,
    pub width: u32,
}

/// The ports of `module top` in `text`, in declaration order. Reads the ANSI-free style the
/// generator emits (`module top(a,b); input wire [7:0] a; output reg b; ...`) and the ANSI style
/// (`module top(input wire [7:0] a, ...)`).
pub fn parse_ports(text: &str, top: &str, file: &Path) -> Result<Vec<Port>, FlowError> {
    let err = |what: &str| FlowError::Ports { file: file.to_path_buf(), top: top.to_string(), what: what.to_string() };
    let body = module_body(text, top).ok_or_else(|| err("no `module` declaration with that name"))?;
    let body = strip_comments(body);
    let mut ports = Vec::new();
    // Declarations end at `;` (non-ANSI) or `,` / `)` (ANSI header); split on all three.
    for decl in body.split([';', ',', ')', '(']) {
        let decl = decl.trim();
        let (dir, rest) = if let Some(rest) = decl.strip_prefix("input") {
            (Dir::Input, rest)
        } else if let Some(rest) = decl.strip_prefix("output") {
            (Dir::Output, rest)
        } else if decl.starts_with("inout") {
            return Err(err(&format!("bidirectional port in `{decl}` (the generator emits none)")));
        } else {
            continue;
        };
        if !rest.starts_with(char::is_whitespace) && !rest.starts_with('[') {
            continue; // e.g. an identifier that merely starts with "input"
        }
        let mut rest = rest.trim();
        for keyword in ["wire", "reg", "logic", "signed"] {
            if let Some(r) = rest.strip_prefix(keyword) {
                if r.starts_with(char::is_whitespace) || r.starts_with('[') {
                    rest = r.trim();
                }
            }
        }
        let (width, name) = match rest.strip_prefix('[') {
            Some(r) => {
                let (range, name) = r.split_once(']').ok_or_else(|| err(&format!("unclosed range in `{decl}`")))?;
                (range_width(range).ok_or_else(|| err(&format!("range `[{range}]` is not `[N:M]`")))?, name.trim())
            }
            None => (1, rest),
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
            return Err(err(&format!("cannot read the port name in `{decl}`")));
        }
        ports.push(Port { name: name.to_string(), dir, width });
    }
    if ports.is_empty() {
        return Err(err("no input or output declarations"));
    }
    Ok(ports)
}

/// The text from `module top` to its `endmodule`.
fn module_body<'a>(text: &'a str, top: &str) -> Option<&'a str> {
    let mut from = 0;
    while let Some(pos) = text.get(from..)?.find("module ") {
        let start = from + pos;
        let after = text.get(start + "module ".len()..)?.trim_start();
        let is_word_start = start == 0 || !text[..start].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
        if is_word_start && after.starts_with(top) {
            let next = after[top.len()..].chars().next();
            if matches!(next, Some('(') | Some(' ') | Some('\n') | Some('\t') | Some('#') | Some(';')) {
                let end = after.find("endmodule")?;
                return Some(&after[top.len()..end]);
            }
        }
        from = start + "module ".len();
    }
    None
}

/// `body` without `// ...` and `/* ... */` comments.
fn strip_comments(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    loop {
        let line = rest.find("//");
        let block = rest.find("/*");
        match (line, block) {
            (Some(l), b) if b.is_none_or(|b| l < b) => {
                out.push_str(&rest[..l]);
                rest = rest[l..].find('\n').map_or("", |e| &rest[l + e..]);
            }
            (_, Some(b)) => {
                out.push_str(&rest[..b]);
                out.push(' ');
                rest = rest[b..].find("*/").map_or("", |e| &rest[b + e + 2..]);
            }
            _ => {
                out.push_str(rest);
                return out;
            }
        }
    }
}

fn range_width(range: &str) -> Option<u32> {
    let (hi, lo) = range.split_once(':')?;
    let hi: i64 = hi.trim().parse().ok()?;
    let lo: i64 = lo.trim().parse().ok()?;
    u32::try_from((hi - lo).abs() + 1).ok()
}

/// The width of the port called `name`.
pub fn width_of(ports: &[Port], name: &str) -> Option<u32> {
    ports.iter().find(|p| p.name == name).map(|p| p.width)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_generators_style_and_the_ansi_style() {
        let v = "module other(a); input wire a; endmodule\n\
                 module top_x(a); input a; endmodule\n\
                 module top(clock,s_axil_awaddr,m_axi_rdata,irq);\n\
                 // Module arguments\n    input wire  clock;\n    input wire  [7:0] s_axil_awaddr;\n\
                 input wire  [63:0] m_axi_rdata;\n    output reg  irq;\n    reg x;\nendmodule\n";
        let ports = parse_ports(v, "top", Path::new("t.v")).unwrap_or_default();
        let got: Vec<(&str, Dir, u32)> = ports.iter().map(|p| (p.name.as_str(), p.dir, p.width)).collect();
        assert_eq!(
            got,
            [
                ("clock", Dir::Input, 1),
                ("s_axil_awaddr", Dir::Input, 8),
                ("m_axi_rdata", Dir::Input, 64),
                ("irq", Dir::Output, 1)
            ]
        );
        let ansi = "module top #(parameter W = 2) (input wire clk, output reg [3:0] q, input [0:1] d);\nendmodule";
        let ports = parse_ports(ansi, "top", Path::new("t.v")).unwrap_or_default();
        assert_eq!(ports.iter().map(|p| p.width).collect::<Vec<_>>(), [1, 4, 2]);
    }

    #[test]
    fn a_missing_module_or_a_bad_range_is_an_error_naming_the_file() {
        let e = parse_ports("module a(x); input x; endmodule", "b", Path::new("d/b.v")).err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("d/b.v") && e.contains("`b`")));
        let e = parse_ports("module b(x); input [W-1:0] x; endmodule", "b", Path::new("b.v")).err();
        assert!(e.is_some_and(|e| e.to_string().contains("W-1")));
    }
}
