//! The place-and-route harness: the generated top has a few hundred AXI pins, more than any
//! package offers, so nextpnr cannot place it as it is. The harness gives it three pins
//! (`clk`, `si`, `so`): a shift register fed from `si` drives every engine input, every engine
//! output is captured in a register and shifted out through `so`. Every port stays observable and
//! controllable, so nothing is optimised away, and every engine path starts and ends at a
//! flip-flop, so the reported Fmax is the engine's own (the harness adds one FF per port bit and
//! one LUT per output bit, listed in the report).

use crate::ports::{Dir, Port};
use std::fmt::Write as _;

/// The name of the harness module.
pub const HARNESS_TOP: &str = "systole_pnr_harness";

/// Verilog of the harness around `top` with `ports` (`clock` is driven by the harness clock).
pub fn harness_verilog(top: &str, ports: &[Port], clock: &str) -> String {
    let inputs: Vec<&Port> = ports.iter().filter(|p| p.dir == Dir::Input && p.name != clock).collect();
    let outputs: Vec<&Port> = ports.iter().filter(|p| p.dir == Dir::Output).collect();
    let in_bits: u32 = inputs.iter().map(|p| p.width).sum::<u32>().max(1);
    let out_bits: u32 = outputs.iter().map(|p| p.width).sum::<u32>().max(1);
    let mut v = String::new();
    let _ = writeln!(v, "// Place-and-route harness of `{top}` written by systole synth (see flows/src/harness.rs).");
    let _ = writeln!(v, "module {HARNESS_TOP}(input wire clk, input wire si, output wire so);");
    let _ = writeln!(v, "    // Engine inputs: a {in_bits}-bit shift register fed from si.");
    let _ = writeln!(v, "    reg [{}:0] drive = {in_bits}'d0;", in_bits - 1);
    if in_bits == 1 {
        let _ = writeln!(v, "    always @(posedge clk) drive <= si;");
    } else {
        let _ = writeln!(v, "    always @(posedge clk) drive <= {{drive[{}:0], si}};", in_bits - 2);
    }
    let _ = writeln!(v, "    // Engine outputs: captured in parallel while drive[0] is set, else shifted out to so.");
    let _ = writeln!(v, "    wire [{}:0] result;", out_bits - 1);
    let _ = writeln!(v, "    reg [{}:0] capture = {out_bits}'d0;", out_bits - 1);
    if out_bits == 1 {
        let _ = writeln!(v, "    always @(posedge clk) capture <= result;");
    } else {
        let _ = writeln!(
            v,
            "    always @(posedge clk) capture <= drive[0] ? result : {{capture[{}:0], 1'b0}};",
            out_bits - 2
        );
    }
    let _ = writeln!(v, "    assign so = capture[{}];", out_bits - 1);
    let _ = writeln!(v, "    {top} engine (");
    let mut lines = vec![format!("        .{clock}(clk)")];
    let mut at = 0u32;
    for p in &inputs {
        lines.push(format!("        .{}(drive[{}:{}])", p.name, at + p.width - 1, at));
        at += p.width;
    }
    at = 0;
    for p in &outputs {
        lines.push(format!("        .{}(result[{}:{}])", p.name, at + p.width - 1, at));
        at += p.width;
    }
    if outputs.is_empty() {
        let _ = writeln!(v, "    assign result = 1'b0;");
    }
    let _ = writeln!(v, "{}\n    );\nendmodule", lines.join(",\n"));
    v
}

/// FFs the harness adds on top of the engine's own (one per port bit).
pub fn harness_ffs(ports: &[Port], clock: &str) -> u64 {
    ports.iter().filter(|p| p.name != clock).map(|p| u64::from(p.width)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::parse_ports;
    use std::path::Path;

    #[test]
    fn every_port_is_connected_once_and_the_slices_tile_the_registers() {
        let ports = parse_ports(
            "module e(clock,reset,a,b,y,z); input clock; input reset; input [7:0] a; input [2:0] b; \
             output [15:0] y; output z; endmodule",
            "e",
            Path::new("e.v"),
        )
        .unwrap_or_default();
        let v = harness_verilog("e", &ports, "clock");
        for needle in [
            ".clock(clk)",
            ".reset(drive[0:0])",
            ".a(drive[8:1])",
            ".b(drive[11:9])",
            ".y(result[15:0])",
            ".z(result[16:16])",
            "reg [11:0] drive",
            "reg [16:0] capture",
        ] {
            assert!(v.contains(needle), "{needle} missing from\n{v}");
        }
        assert_eq!(harness_ffs(&ports, "clock"), 1 + 8 + 3 + 16 + 1);
    }
}
