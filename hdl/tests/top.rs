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

mod rtl {
    use super::config;
    use crate::common;
    use std::time::Duration;
    use systole_arch::axi_timing::DramTiming;
    use systole_arch::descriptor::{encode, field, LayerDescriptor, Opcode, RequantMode, DESCRIPTOR_WORDS};
    use systole_arch::regmap::{self, ErrorCode};
    use systole_arch::timing::program_timing_at;
    use systole_arch::timing::seq::{program_busy_cycles, sequencer_check, start_check, EngineUnits};
    use systole_arch::ArchConfig;
    use systole_hdl::blocks::top::{available_units, emit_top};
    use systole_hdl::check;
    use systole_hdl::cosim::{RtlDevice, RtlOptions};
    use systole_host::Device;

    const MEM: u64 = 1 << 16;
    const TIMEOUT: Duration = Duration::from_secs(30);

    fn dram() -> DramTiming {
        DramTiming { read_latency: 6, write_latency: 3, interval: 2 }
    }

    fn device(cfg: &ArchConfig) -> Option<RtlDevice> {
        if !check::tools_or_skip(&["verilator"], "engine top co-simulation") {
            return None;
        }
        let design = emit_top(cfg).unwrap_or_else(|e| panic!("{e}"));
        let opts = RtlOptions::new(dram(), MEM, &common::scratch());
        Some(RtlDevice::start(&design, &opts).unwrap_or_else(|e| panic!("{e}")))
    }

    fn reg(d: &mut RtlDevice, r: regmap::Register) -> u32 {
        d.read_reg(u64::from(r.offset)).unwrap_or_else(|e| panic!("read {}: {e}", r.name))
    }

    fn set(d: &mut RtlDevice, r: regmap::Register, v: u32) {
        d.write_reg(u64::from(r.offset), v).unwrap_or_else(|e| panic!("write {}: {e}", r.name))
    }

    fn counter(d: &mut RtlDevice, lo: regmap::Register, hi: regmap::Register) -> u64 {
        let l = reg(d, lo) as u64;
        l | (reg(d, hi) as u64) << 32
    }

    fn put_words(d: &mut RtlDevice, addr: u64, words: &[u32]) {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        d.write_mem(addr, &bytes).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Makes words 0..=59 sum to zero again after an edit.
    fn reseal(w: &mut [u32; DESCRIPTOR_WORDS]) {
        w[59] = 0;
        let sum = w[..59].iter().fold(0u32, |s, &x| s.wrapping_add(x));
        w[59] = 0u32.wrapping_sub(sum);
    }

    /// What a driver sees after one run: STATUS, IRQ_STATUS, the counters.
    #[derive(Debug)]
    struct Outcome {
        status: u32,
        irq_status: u32,
        busy: u64,
        stall: u64,
        layers: u32,
    }

    /// Programs base/count, starts with the interrupt enabled, waits for it, reads the result.
    fn run(d: &mut RtlDevice, base: u64, count: u32) -> Outcome {
        set(d, regmap::PROGRAM_BASE_LO, base as u32);
        set(d, regmap::PROGRAM_BASE_HI, (base >> 32) as u32);
        set(d, regmap::PROGRAM_COUNT, count);
        set(d, regmap::CONTROL, regmap::CONTROL_IRQ_ENABLE.mask() | regmap::CONTROL_START.mask());
        d.wait_irq(TIMEOUT).unwrap_or_else(|e| panic!("{e}"));
        let o = Outcome {
            status: reg(d, regmap::STATUS),
            irq_status: reg(d, regmap::IRQ_STATUS),
            busy: counter(d, regmap::BUSY_CYCLES_LO, regmap::BUSY_CYCLES_HI),
            stall: counter(d, regmap::DMA_STALL_CYCLES_LO, regmap::DMA_STALL_CYCLES_HI),
            layers: reg(d, regmap::LAYERS_DONE),
        };
        // Clear the interrupt (W1C) and see the line drop.
        set(d, regmap::IRQ_CLEAR, o.irq_status);
        assert_eq!(reg(d, regmap::IRQ_STATUS), 0, "IRQ_CLEAR left bits set");
        let (irq, _) = d.run(4).unwrap_or_else(|e| panic!("{e}"));
        assert!(!irq, "irq still high after IRQ_CLEAR");
        o
    }

    fn assert_no_violations(d: &mut RtlDevice) {
        let (n, first) = d.violations().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(n, 0, "AXI violations: {first}");
    }

    #[test]
    fn end_only_program_is_done_with_exact_counters() {
        for bits in [64, 256] {
            let cfg = config(&format!("seqrtl{bits}"), bits);
            let Some(mut d) = device(&cfg) else { return };
            assert_eq!(reg(&mut d, regmap::ID), regmap::ID_MAGIC);
            assert_eq!(reg(&mut d, regmap::CONFIG_HASH), cfg.config_hash());
            // 0xfc0: the END descriptor straddles a 4 KB boundary (two bursts) at 64..256 bits.
            for base in [0x1000u64, 0x1fc0] {
                put_words(&mut d, base, &encode(&LayerDescriptor::end(0)));
                let o = run(&mut d, base, 1);
                let s = o.status;
                assert_eq!(regmap::STATUS_DONE.get(s), 1, "{bits} bits, base {base:#x}: {s:#x}");
                assert_eq!(regmap::STATUS_BUSY.get(s) + regmap::STATUS_ERROR.get(s), 0, "{s:#x}");
                assert_eq!(o.irq_status, regmap::IRQ_DONE.mask());
                let want = program_busy_cycles(base, &[], &cfg, &dram()).unwrap();
                let program = program_timing_at(base, &[], &cfg, &dram()).unwrap();
                assert_eq!((program.busy_cycles, program.total_cycles), (want, want));
                assert_eq!(o.busy, want, "{bits} bits, base {base:#x}: BUSY_CYCLES");
                assert_eq!((o.stall, o.layers), (0, 0));
            }
            // TOTAL_CYCLES is free-running: two reads differ by the edges between them.
            let t0 = reg(&mut d, regmap::TOTAL_CYCLES_LO) as u64;
            let c0 = d.cycle().unwrap();
            d.run(100).unwrap();
            let t1 = reg(&mut d, regmap::TOTAL_CYCLES_LO) as u64;
            let c1 = d.cycle().unwrap();
            assert_eq!(t1 - t0, c1 - c0, "TOTAL_CYCLES does not count every cycle");
            assert_no_violations(&mut d);
        }
    }

    #[test]
    fn every_provokable_error_code() {
        let cfg = config("seqerr", 64);
        let Some(mut d) = device(&cfg) else { return };
        let units: EngineUnits = available_units(&cfg);
        let base = 0x2000u64;
        let end = encode(&LayerDescriptor::end(0));
        let conv = LayerDescriptor {
            opcode: Some(Opcode::Conv),
            requant: RequantMode::Fixed,
            ..LayerDescriptor::default()
        };
        let mut cases: Vec<(&str, [u32; DESCRIPTOR_WORDS], ErrorCode)> = Vec::new();
        let mut w = end;
        w[0] ^= 0x100;
        cases.push(("magic", w, ErrorCode::BadMagic));
        let mut w = end;
        w[1] = (w[1] & !field::VERSION.mask()) | 2;
        reseal(&mut w);
        cases.push(("version", w, ErrorCode::BadVersion));
        let mut w = end;
        w[1] = (w[1] & !field::OPCODE.mask()) | (7 << field::OPCODE.lsb);
        reseal(&mut w);
        cases.push(("opcode", w, ErrorCode::BadOpcode));
        let mut w = end;
        w[40] = 0x10;
        reseal(&mut w);
        cases.push(("reserved word", w, ErrorCode::ReservedBits));
        let mut w = end;
        w[1] |= 1 << 31;
        reseal(&mut w);
        cases.push(("reserved bit", w, ErrorCode::ReservedBits));
        let mut w = end;
        w[59] ^= 1;
        cases.push(("checksum", w, ErrorCode::BadChecksum));
        cases.push(("conv without a conv unit", encode(&conv), ErrorCode::Unsupported));
        let mut w = encode(&LayerDescriptor { requant: RequantMode::Float, ..conv.clone() });
        reseal(&mut w);
        cases.push(("float requant", w, ErrorCode::Unsupported));
        let mut w = encode(&conv);
        w[field::OUTPUT_ADDR_LO.word] = 0x1008;
        reseal(&mut w);
        cases.push(("misaligned output", w, ErrorCode::BadAlignment));
        let mut w = encode(&conv);
        w[field::WEIGHT_ADDR_HI.word] = 1;
        reseal(&mut w);
        cases.push(("weights above 4 GB", w, ErrorCode::BadAlignment));
        for (what, words, code) in cases {
            assert_eq!(sequencer_check(&words, cfg.requant, &units), Err(code), "{what}: the Rust check disagrees");
            put_words(&mut d, base, &words);
            let o = run(&mut d, base, 4);
            let s = o.status;
            assert_eq!(regmap::STATUS_ERROR.get(s), 1, "{what}: {s:#x}");
            assert_eq!(regmap::STATUS_ERROR_CODE.get(s), code as u32, "{what}: {s:#x}");
            assert_eq!(regmap::STATUS_LAYER.get(s), 0, "{what}");
            assert_eq!(regmap::STATUS_BUSY.get(s) + regmap::STATUS_DONE.get(s), 0, "{what}: {s:#x}");
            assert_eq!(o.irq_status, regmap::IRQ_ERROR.mask(), "{what}");
            // A failed check stops where END would have finished.
            assert_eq!(o.busy, program_busy_cycles(base, &[], &cfg, &dram()).unwrap(), "{what}: BUSY_CYCLES");
        }
        // Refused at START: no descriptor read, BUSY never rises.
        put_words(&mut d, base, &end);
        for (what, b, count, code) in [
            ("misaligned PROGRAM_BASE", base + 32, 1, ErrorCode::BadAlignment),
            ("PROGRAM_BASE above 4 GB", base | 1 << 32, 1, ErrorCode::BadAlignment),
            ("PROGRAM_COUNT 0", base, 0, ErrorCode::ProgramOverrun),
        ] {
            assert_eq!(start_check(b, count), Err(code), "{what}");
            let o = run(&mut d, b, count);
            assert_eq!(regmap::STATUS_ERROR_CODE.get(o.status), code as u32, "{what}: {:#x}", o.status);
            assert_eq!(o.busy, 0, "{what}");
        }
        // A descriptor beyond device memory: the DRAM answers DECERR.
        let o = run(&mut d, MEM, 1);
        assert_eq!(regmap::STATUS_ERROR_CODE.get(o.status), ErrorCode::DmaError as u32, "{:#x}", o.status);
        // After all that, a good program still runs.
        let o = run(&mut d, base, 1);
        assert_eq!(regmap::STATUS_DONE.get(o.status), 1, "{:#x}", o.status);
        assert_no_violations(&mut d);
    }

    #[test]
    fn soft_reset_aborts_a_fetch_and_clears_everything() {
        let cfg = config("seqsoft", 64);
        let Some(mut d) = device(&cfg) else { return };
        let base = 0x3000u64;
        put_words(&mut d, base, &encode(&LayerDescriptor::end(0)));
        // A first run leaves DONE and a pending IRQ behind.
        set(&mut d, regmap::PROGRAM_BASE_LO, base as u32);
        set(&mut d, regmap::PROGRAM_COUNT, 1);
        set(&mut d, regmap::CONTROL, regmap::CONTROL_START.mask());
        let (irq, _) = d.run(500).unwrap();
        assert!(!irq, "IRQ_ENABLE is 0: the line must stay low");
        assert_eq!(regmap::STATUS_DONE.get(reg(&mut d, regmap::STATUS)), 1);
        assert_eq!(reg(&mut d, regmap::IRQ_STATUS), regmap::IRQ_DONE.mask());
        // Start again and abort while the descriptor read is in flight.
        set(&mut d, regmap::CONTROL, regmap::CONTROL_START.mask());
        assert_eq!(regmap::STATUS_BUSY.get(reg(&mut d, regmap::STATUS)), 1, "not busy right after START");
        set(&mut d, regmap::CONTROL, regmap::CONTROL_SOFT_RESET.mask());
        d.run(200).unwrap();
        assert_eq!(reg(&mut d, regmap::STATUS), 0, "STATUS after SOFT_RESET");
        assert_eq!(reg(&mut d, regmap::IRQ_STATUS), 0);
        assert_eq!(counter(&mut d, regmap::BUSY_CYCLES_LO, regmap::BUSY_CYCLES_HI), 0);
        assert_eq!(reg(&mut d, regmap::LAYERS_DONE), 0);
        let total = counter(&mut d, regmap::TOTAL_CYCLES_LO, regmap::TOTAL_CYCLES_HI);
        assert!(total < 300, "TOTAL_CYCLES {total} not cleared by SOFT_RESET");
        // The engine is usable again, with exact timing.
        let o = run(&mut d, base, 1);
        assert_eq!(regmap::STATUS_DONE.get(o.status), 1, "{:#x}", o.status);
        assert_eq!(o.busy, program_busy_cycles(base, &[], &cfg, &dram()).unwrap());
        assert_no_violations(&mut d);
    }
}
