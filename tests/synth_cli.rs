//! `systole synth` and the board build.
//!
//! Default suite (seconds, no FPGA tool runs): bad directories, targets and boards fail with
//! errors naming what is wrong. Ignored (minutes each; `cargo test --test synth_cli -- --ignored`,
//! docs/SYNTHESIS.md lists their times): the 4x4 resnet_tiny engine through `synth_xilinx`,
//! through `synth_ecp5` + nextpnr-ecp5 (Fmax), refused by the iCE40 UP5K, built into a ULX3S
//! bitstream, and the ULX3S board top co-simulated with the engine under Verilator.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn systole(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_systole")).args(args).output().unwrap_or_else(|e| panic!("run systole: {e}"))
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("systole-synth-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap_or_else(|| panic!("non-UTF-8 path {}", p.display()))
}

/// The 4x4 engine of the bundled resnet_tiny model.
fn generate_4x4(dir: &Path) -> PathBuf {
    let model = common::own_fixtures().join("tflite").join("resnet_tiny").join("model.tflite");
    let out = dir.join("engine");
    let g = systole(&["generate", s(&model), "--out", s(&out), "--budget-macs", "16", "--no-lint"]);
    assert!(g.status.success(), "generate: {}", text(&g));
    out
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `systole synth ENGINE --target T [extra] --json` and returns the report.
fn synth_json(engine: &Path, target: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["synth", s(engine), "--target", target, "--json"];
    args.extend_from_slice(extra);
    let out = systole(&args);
    assert!(out.status.success(), "synth {target}: {}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("--json is not JSON ({e}): {}", text(&out)))
}

fn num(r: &serde_json::Value, k: &str) -> f64 {
    r.get(k).and_then(serde_json::Value::as_f64).unwrap_or_else(|| panic!("report has no number `{k}`: {r}"))
}

#[test]
fn bad_directories_targets_and_boards_fail_clearly() {
    let dir = scratch("errors");
    let out = systole(&["synth", s(&dir), "--target", "xc7z020"]);
    assert!(!out.status.success() && text(&out).contains("arch.json"), "{}", text(&out));

    std::fs::write(dir.join("arch.json"), "{\"name\": \"net\"}").unwrap_or_else(|e| panic!("{e}"));
    let out = systole(&["synth", s(&dir), "--target", "xc7z020"]);
    assert!(!out.status.success() && text(&out).contains("net.v"), "{}", text(&out));

    std::fs::write(dir.join("net.v"), "module net(a); input a; endmodule\n").unwrap_or_else(|e| panic!("{e}"));
    let out = systole(&["synth", s(&dir), "--target", "xc7z020"]);
    assert!(!out.status.success() && text(&out).contains("no `clock` input"), "{}", text(&out));

    let out = systole(&["synth", s(&dir), "--target", "xc7k325t"]);
    assert!(!out.status.success() && text(&out).contains("known: xc7z020, xc7a100t, ecp5-85k"), "{}", text(&out));
    let out = systole(&["synth", s(&dir), "--target", "ecp5-85k", "--board", "arty"]);
    assert!(!out.status.success() && text(&out).contains("unknown board `arty`"), "{}", text(&out));

    std::fs::write(dir.join("net.v"), "module net(clock); input clock; endmodule\n").unwrap_or_else(|e| panic!("{e}"));
    let out = systole(&["synth", s(&dir), "--target", "ecp5-25k", "--board", "ulx3s-85f"]);
    assert!(!out.status.success() && text(&out).contains("ecp5-85k"), "{}", text(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "Yosys synth_xilinx of the 4x4 engine: about a minute on an idle machine"]
fn xilinx_resources_of_the_4x4_engine() {
    let dir = scratch("xilinx");
    let engine = generate_4x4(&dir);
    let r = synth_json(&engine, "xc7z020", &["--work", s(&dir.join("work"))]);
    assert_eq!(r["target"], "xc7z020");
    assert!(r["fmax_mhz"].is_null(), "no timing without place and route: {r}");
    // A 4x4 array: at least one DSP or LUT multiplier per PE, registers for every PE.
    assert!(num(&r, "luts") > 500.0 && num(&r, "ffs") > 500.0 && num(&r, "dsps") >= 16.0, "{r}");
    assert!(num(&r, "brams") >= 0.5, "the psum / activation memories map to block RAM: {r}");
    assert!(r["tools"]["yosys"].as_str().is_some_and(|v| v.contains("Yosys")), "{r}");
    assert!(r["commands"][0].as_str().is_some_and(|c| c.contains("yosys")), "{r}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "synth_ecp5 + nextpnr-ecp5 (WebAssembly) of the 4x4 engine: several minutes; pip-installs yowasp on first use"]
fn ecp5_resources_and_fmax_of_the_4x4_engine() {
    let dir = scratch("ecp5");
    let engine = generate_4x4(&dir);
    let r = synth_json(&engine, "ecp5-25k", &["--work", s(&dir.join("work"))]);
    assert!(num(&r, "fmax_mhz") > 5.0 && num(&r, "fmax_mhz") < 500.0, "{r}");
    assert!(num(&r, "luts") > 500.0 && num(&r, "dsps") >= 16.0, "{r}");
    assert!(r["tools"]["nextpnr-ecp5"].as_str().is_some(), "{r}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "synth_ice40 of the 4x4 engine: about a minute"]
fn ice40_refuses_an_engine_that_cannot_fit() {
    let dir = scratch("ice40");
    let engine = generate_4x4(&dir);
    let out = systole(&["synth", s(&engine), "--target", "ice40up5k", "--quiet"]);
    let t = text(&out);
    assert!(!out.status.success() && t.contains("does not fit") && t.contains("iCE40UP5K"), "{t}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "the ULX3S 85F bitstream of the 4x4 engine: synth_ecp5, nextpnr-ecp5, ecppack; several minutes"]
fn ulx3s_bitstream_of_the_4x4_engine() {
    let dir = scratch("ulx3s");
    let engine = generate_4x4(&dir);
    let r = synth_json(&engine, "ecp5-85k", &["--board", "ulx3s-85f", "--work", s(&dir.join("work"))]);
    // Timing must pass at the board's 25 MHz (nextpnr fails otherwise).
    assert!(num(&r, "fmax_mhz") >= 25.0, "{r}");
    let bit = PathBuf::from(r["bitstream"].as_str().unwrap_or_else(|| panic!("no bitstream in {r}")));
    let bytes = std::fs::read(&bit).unwrap_or_else(|e| panic!("{}: {e}", bit.display()));
    // An ECP5 bitstream: ecppack's comment header, then the preamble 0xFFFFBDB3.
    let preamble = bytes.windows(4).position(|w| w == [0xff, 0xff, 0xbd, 0xb3]);
    assert!(bytes.len() > 100_000 && preamble.is_some(), "{} bytes, preamble {preamble:?}", bytes.len());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "Verilator build of the ULX3S top with the 4x4 engine and a UART host model: a few minutes"]
fn ulx3s_board_top_drives_the_engine_over_the_uart() {
    if !systole_hdl::check::tools_or_skip(&["verilator"], "ULX3S board simulation") {
        return;
    }
    let dir = scratch("board-sim");
    let engine = generate_4x4(&dir);
    let arch = std::fs::read_to_string(engine.join("arch.json")).unwrap_or_else(|e| panic!("{e}"));
    let arch: serde_json::Value = serde_json::from_str(&arch).unwrap_or_else(|e| panic!("{e}"));
    let top = arch["name"].as_str().unwrap_or_else(|| panic!("no name in arch.json"));
    let dw = arch["dma_data_bits"].as_u64().unwrap_or(64);
    let b = repo().join("bitstreams");
    let obj = dir.join("obj");
    let build = Command::new("verilator")
        .args(["--binary", "--timing", "-Wno-fatal", "-Wno-lint", "-Wno-style", "--top-module", "tb_ulx3s"])
        .arg("--Mdir")
        .arg(&obj)
        .args([format!("-DENGINE_TOP={top}"), format!("-DAXI_DATA_BITS={dw}"), "-DUART_CLKS_PER_BIT=16'd8".into()])
        .arg(b.join("sim/tb_ulx3s.v"))
        .arg(b.join("ulx3s/systole_ulx3s.v"))
        .args(
            ["systole_uart_rx.v", "systole_uart_tx.v", "systole_uart_bridge.v", "systole_axi_bram.v"]
                .map(|f| b.join("rtl").join(f)),
        )
        .arg(engine.join(format!("{top}.v")))
        .output()
        .unwrap_or_else(|e| panic!("verilator: {e}"));
    assert!(build.status.success(), "verilator build: {}", text(&build));
    let run = Command::new(obj.join("Vtb_ulx3s")).output().unwrap_or_else(|e| panic!("Vtb_ulx3s: {e}"));
    let t = text(&run);
    assert!(t.contains("PASS") && !t.contains("FAIL"), "{t}");
    let _ = std::fs::remove_dir_all(&dir);
}
