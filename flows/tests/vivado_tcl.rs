//! The Vivado block-design script cannot run here (no Vivado). tclsh checks what can be checked:
//! the script parses, and run against stubs that record every Vivado command it issues it takes
//! its arguments, reads the top's name from arch.json and issues the expected block-design steps
//! for both platforms (and refuses bad arguments).

use std::path::{Path, PathBuf};
use std::process::Command;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../bitstreams/vivado/systole_bd.tcl");

/// Vivado's commands as stubs that log their name and arguments; a few return what the script
/// reads back (a finished run, a wrapper file name).
const STUBS: &str = r#"
set ::calls {}
proc unknown {cmd args} { lappend ::calls [concat $cmd $args]; return [expr {[llength $args] ? [lindex $args end] : $cmd}] }
proc get_property {name args} {
    lappend ::calls [concat get_property $name $args]
    if {$name eq "PROGRESS"} { return "100%" }
    return /tmp/run
}
proc make_wrapper {args} { lappend ::calls [concat make_wrapper $args]; return /tmp/system_wrapper.v }
"#;

fn tclsh() -> Option<PathBuf> {
    let ok = Command::new("tclsh").arg("/dev/null").output().is_ok_and(|o| o.status.success());
    if ok {
        Some(PathBuf::from("tclsh"))
    } else {
        eprintln!("!!! SKIPPED the Vivado Tcl check: tclsh is not installed (apt-get install tcl) !!!");
        None
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("systole-vivado-tcl-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// Runs the script with `args` against the stubs; returns (success, recorded calls or error).
fn run_script(tclsh: &Path, args: &[&str]) -> (bool, String) {
    let driver = format!(
        "{STUBS}\nset argv [list {}]\nset argc [llength $argv]\n\
         if {{[catch {{source {{{SCRIPT}}}}} err]}} {{ puts \"ERROR: $err\"; exit 1 }}\n\
         foreach c $::calls {{ puts $c }}\n",
        args.iter().map(|a| format!("{{{a}}}")).collect::<Vec<_>>().join(" ")
    );
    Command::new(tclsh).arg("/dev/stdin").stdin(std::process::Stdio::piped()).output_with_stdin(&driver)
}

trait WithStdin {
    fn output_with_stdin(&mut self, input: &str) -> (bool, String);
}

impl WithStdin for Command {
    fn output_with_stdin(&mut self, input: &str) -> (bool, String) {
        use std::io::Write;
        let mut child = self
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("tclsh: {e}"));
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(input.as_bytes());
        }
        let out = child.wait_with_output().unwrap_or_else(|e| panic!("tclsh: {e}"));
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    }
}

#[test]
fn the_script_parses_and_issues_the_block_design_steps() {
    let Some(tclsh) = tclsh() else { return };
    let gen = scratch("gen");
    std::fs::write(gen.join("arch.json"), "{\n  \"version\": 1,\n  \"name\": \"resnet_tiny\",\n  \"rows\": 16\n}\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let gen_str = gen.to_string_lossy().to_string();

    let (ok, zynq) = run_script(&tclsh, &[&gen_str, "zynq"]);
    assert!(ok, "zynq run failed:\n{zynq}");
    for needle in [
        "create_project -force systole_zynq",
        "xc7z020clg400-1",
        "resnet_tiny.v",
        "create_bd_cell -type module -reference resnet_tiny engine",
        "processing_system7",
        "/ps7/M_AXI_GP0",
        "/ps7/S_AXI_HP0",
        "connect_bd_net engine/irq ps7/IRQ_F2P",
        "validate_bd_design",
        "launch_runs impl_1 -to_step write_bitstream",
    ] {
        assert!(zynq.contains(needle), "zynq: `{needle}` not issued:\n{zynq}");
    }

    let (ok, xdma) = run_script(&tclsh, &[&gen_str, "xdma", "xcku040-ffva1156-2-e", "xilinx.com:kcu105:part0:1.1"]);
    assert!(ok, "xdma run failed:\n{xdma}");
    for needle in ["xilinx.com:ip:xdma", "/xdma/M_AXI_LITE", "/engine/m_axi", "xdma/usr_irq_req", "board_part"] {
        assert!(xdma.contains(needle), "xdma: `{needle}` not issued:\n{xdma}");
    }

    let (ok, bad) = run_script(&tclsh, &[&gen_str, "versal"]);
    assert!(!ok && bad.contains("PLATFORM must be zynq or xdma"), "{bad}");
    let empty = scratch("empty");
    std::fs::write(empty.join("arch.json"), "{}").unwrap_or_else(|e| panic!("{e}"));
    let (ok, bad) = run_script(&tclsh, &[&empty.to_string_lossy(), "zynq"]);
    assert!(!ok && bad.contains("has no \"name\""), "{bad}");
    let _ = std::fs::remove_dir_all(&gen);
    let _ = std::fs::remove_dir_all(&empty);
}
