//! AXI4-Lite register file: the emitted Verilog lints clean and synthesises without latches;
//! under Verilator it equals the golden model (`RegFileModel`) on every output of every cycle
//! while a random AXI4-Lite master drives it (random AW/W order and delays, BREADY/RREADY
//! back-pressure, unmapped and misaligned addresses, partial strobes) and the core inputs move
//! (counters carrying across bit 32, STATUS changes, IRQ events). The DUT's outputs are also
//! checked against the AXI4-Lite handshake rules directly, and the stimulus against a coverage
//! list, so neither a lenient model nor a timid master can hide a bug.

mod common;

use systole_arch::regmap::{self, REG_WINDOW_BYTES};
use systole_arch::{ArchConfig, PostOps, RequantModes};
use systole_hdl::blocks::regs::layout::{ADDR_BITS, IRQ_BITS, PROGRAM_COUNT_BITS};
use systole_hdl::blocks::regs::master::{Knobs, RandomMaster};
use systole_hdl::blocks::regs::{strobe_mask, Unmapped};
use systole_hdl::blocks::regs::{AxilIn, AxilOut, CoreInputs, CoreOutputs, RegFile, RegFileModel, RegLayout, Resp};
use systole_hdl::check::{self, SynthTarget};
use systole_hdl::emit::Design;
use systole_hdl::rng::Rng;
use systole_hdl::verilator::Simulator;

fn layout(cfg: &ArchConfig, unmapped: Unmapped) -> RegLayout {
    RegLayout::new(cfg, unmapped).unwrap_or_else(|e| panic!("{e}"))
}

/// A second configuration: other constants, both requant modes, every post-op.
fn wide_config() -> ArchConfig {
    ArchConfig {
        requant: RequantModes { fixed: true, float: true },
        post_ops: PostOps { add: true, avg_pool: true, max_pool: true, global_avg_pool: true },
        dma_data_bits: 512,
        ..ArchConfig::new("wide", 8, 32)
    }
}

fn top_name(cfg: &ArchConfig, unmapped: Unmapped) -> String {
    let policy = match unmapped {
        Unmapped::ReadZero => "rz",
        Unmapped::SlvErr => "se",
    };
    format!("systole_regs_{:08x}_{policy}", cfg.config_hash())
}

fn emit(l: &RegLayout, top: &str) -> (Design, std::path::PathBuf) {
    common::emit_to_dir(&mut RegFile::new(l), top, &[])
}

/// One cycle of stimulus and the model's outputs after its edge.
#[derive(Clone, Copy, Debug)]
struct Cycle {
    reset: bool,
    axi: AxilIn,
    core: CoreInputs,
    want_axi: AxilOut,
    want_core: CoreOutputs,
}

/// The core's inputs evolving: free-running and busy counters that carry across bit 32 within
/// the run, a counter with random 64-bit jumps, STATUS / LAYERS_DONE changes, IRQ events.
fn next_core(rng: &mut Rng, c: &CoreInputs) -> CoreInputs {
    let mut n = *c;
    n.total_cycles = c.total_cycles.wrapping_add(1);
    n.busy_cycles = c.busy_cycles.wrapping_add(rng.chance(60) as u64);
    if rng.chance(3) {
        n.dma_stall_cycles = rng.next_u64();
    }
    if rng.chance(5) {
        n.status = rng.next_u64() as u32;
    }
    if rng.chance(5) {
        n.layers_done = rng.next_u64() as u32;
    }
    n.irq_set = if rng.chance(4) { rng.below(1 << IRQ_BITS) as u32 } else { 0 };
    n
}

/// Runs the master against the model for `cycles`, with a reset at the start and one in the
/// middle (after which a fresh master starts: a reset drops transfers in flight).
fn generate(l: &RegLayout, seed: u64, cycles: usize, knobs: Knobs) -> Vec<Cycle> {
    let mut model = RegFileModel::new(l.clone());
    let mut master = RandomMaster::new(l, seed, knobs);
    let mut rng = Rng(seed ^ 0xc0de);
    let mut core = CoreInputs {
        total_cycles: 0xffff_ffff - (cycles as u64) / 4,
        busy_cycles: 0x1_ffff_ffff - (cycles as u64) / 8,
        ..CoreInputs::default()
    };
    let mid = cycles / 2;
    let mut trace = Vec::with_capacity(cycles);
    for cycle in 0..cycles {
        let reset = cycle < 2 || (mid..mid + 2).contains(&cycle);
        if cycle == mid {
            master = RandomMaster::new(l, seed.wrapping_add(1), knobs);
        }
        let axi = if reset { AxilIn::default() } else { master.drive() };
        let seen = model.axi();
        model.step(reset, &axi, &core);
        if !reset {
            master.advance(&axi, &seen);
        }
        trace.push(Cycle { reset, axi, core, want_axi: model.axi(), want_core: model.core() });
        core = next_core(&mut rng, &core);
    }
    trace
}

const INPUTS: [&str; 16] = [
    "reset",
    "s_axil_awvalid",
    "s_axil_awaddr",
    "s_axil_wvalid",
    "s_axil_wdata",
    "s_axil_wstrb",
    "s_axil_bready",
    "s_axil_arvalid",
    "s_axil_araddr",
    "s_axil_rready",
    "status",
    "layers_done",
    "total_cycles",
    "busy_cycles",
    "dma_stall_cycles",
    "irq_set",
];

const OUTPUTS: [&str; 13] = [
    "s_axil_awready",
    "s_axil_wready",
    "s_axil_bvalid",
    "s_axil_bresp",
    "s_axil_arready",
    "s_axil_rvalid",
    "s_axil_rdata",
    "s_axil_rresp",
    "start",
    "soft_reset",
    "irq",
    "program_base",
    "program_count",
];

fn input_values(c: &Cycle) -> [u64; 16] {
    let a = &c.axi;
    let k = &c.core;
    [
        c.reset as u64,
        a.awvalid as u64,
        u64::from(a.awaddr),
        a.wvalid as u64,
        u64::from(a.wdata),
        u64::from(a.wstrb),
        a.bready as u64,
        a.arvalid as u64,
        u64::from(a.araddr),
        a.rready as u64,
        u64::from(k.status),
        u64::from(k.layers_done),
        k.total_cycles,
        k.busy_cycles,
        k.dma_stall_cycles,
        u64::from(k.irq_set),
    ]
}

fn output_values(axi: &AxilOut, core: &CoreOutputs) -> [u64; 13] {
    [
        axi.awready as u64,
        axi.wready as u64,
        axi.bvalid as u64,
        axi.bresp.code(),
        axi.arready as u64,
        axi.rvalid as u64,
        u64::from(axi.rdata),
        axi.rresp.code(),
        core.start as u64,
        core.soft_reset as u64,
        core.irq as u64,
        core.program_base,
        u64::from(core.program_count),
    ]
}

/// Simulates `trace` on the RTL and compares every output of every cycle with the model.
fn compare(sim: &Simulator, trace: &[Cycle]) -> Vec<[u64; 13]> {
    let in_index: Vec<usize> =
        INPUTS.iter().map(|n| sim.input_index(n).unwrap_or_else(|| panic!("input {n}"))).collect();
    assert_eq!(sim.inputs.len(), INPUTS.len(), "ports changed: {:?}", sim.inputs);
    let out_index: Vec<usize> =
        OUTPUTS.iter().map(|n| sim.output_index(n).unwrap_or_else(|| panic!("output {n}"))).collect();
    assert_eq!(sim.outputs.len(), OUTPUTS.len(), "ports changed: {:?}", sim.outputs);
    let vectors: Vec<Vec<u64>> = trace
        .iter()
        .map(|c| {
            let mut v = vec![0; INPUTS.len()];
            for (value, &i) in input_values(c).iter().zip(&in_index) {
                v[i] = *value;
            }
            v
        })
        .collect();
    let got = sim.run(&vectors).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.len(), trace.len());
    let mut outputs = Vec::with_capacity(trace.len());
    for (cycle, (c, line)) in trace.iter().zip(&got).enumerate() {
        let dut: [u64; 13] = std::array::from_fn(|k| line[out_index[k]]);
        let want = output_values(&c.want_axi, &c.want_core);
        if dut != want {
            let diff: Vec<String> = OUTPUTS
                .iter()
                .zip(dut.iter().zip(&want))
                .filter(|(_, (d, w))| d != w)
                .map(|(n, (d, w))| format!("{n}: rtl {d:#x} model {w:#x}"))
                .collect();
            let recent: Vec<String> =
                trace[cycle.saturating_sub(4)..=cycle].iter().map(|c| format!("{:?} {:?}", c.axi, c.core)).collect();
            panic!("cycle {cycle}: {}\nlast inputs:\n{}", diff.join(", "), recent.join("\n"));
        }
        outputs.push(dut);
    }
    outputs
}

/// The AXI4-Lite rules the DUT must keep whatever the model says: a raised BVALID/RVALID stays
/// up with a stable payload until its READY; every B answers a write whose AW and W were both
/// taken; pulses last one cycle.
fn check_protocol(trace: &[Cycle], out: &[[u64; 13]]) {
    let (awready, wready, bvalid, bresp, arready, rvalid, rdata, rresp, start, soft) = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    let (mut aws, mut ws, mut bs, mut ars, mut rs) = (0u64, 0u64, 0u64, 0u64, 0u64);
    for t in 1..trace.len() {
        let (prev, now, input) = (&out[t - 1], &out[t], &trace[t]);
        if input.reset {
            (aws, ws, bs, ars, rs) = (0, 0, 0, 0, 0);
            continue;
        }
        let a = &input.axi;
        if prev[bvalid] == 1 && !a.bready {
            assert!(now[bvalid] == 1 && now[bresp] == prev[bresp], "cycle {t}: B dropped or changed before BREADY");
        }
        if prev[rvalid] == 1 && !a.rready {
            assert!(
                now[rvalid] == 1 && now[rdata] == prev[rdata] && now[rresp] == prev[rresp],
                "cycle {t}: R dropped or changed before RREADY"
            );
        }
        aws += u64::from(a.awvalid && prev[awready] == 1);
        ws += u64::from(a.wvalid && prev[wready] == 1);
        ars += u64::from(a.arvalid && prev[arready] == 1);
        bs += u64::from(now[bvalid] == 1 && (prev[bvalid] == 0 || a.bready));
        rs += u64::from(now[rvalid] == 1 && (prev[rvalid] == 0 || a.rready));
        assert!(bs <= aws.min(ws), "cycle {t}: {bs} B responses for {aws} AW / {ws} W");
        assert!(rs <= ars, "cycle {t}: {rs} R responses for {ars} AR");
        assert!(!(prev[start] == 1 && now[start] == 1), "cycle {t}: START pulse longer than one cycle");
        assert!(!(prev[soft] == 1 && now[soft] == 1), "cycle {t}: SOFT_RESET pulse longer than one cycle");
    }
}

/// Counts of the situations the random run must reach, from the model's trace.
#[derive(Debug, Default)]
struct Coverage {
    aw_first: u64,
    w_first: u64,
    aw_w_together: u64,
    b_stalled: u64,
    r_stalled: u64,
    partial_strobes: u64,
    slverr: u64,
    unmapped_okay: u64,
    starts: u64,
    soft_resets: u64,
    irq_rises: u64,
    irq_falls: u64,
    lo_then_hi: u64,
    hi_carry_reads: u64,
    write_and_read_same_edge: u64,
}

fn coverage(l: &RegLayout, trace: &[Cycle]) -> Coverage {
    let mut c = Coverage::default();
    let (mut aw_edges, mut w_edges) = (Vec::new(), Vec::new());
    let mut last_read: Option<u32> = None;
    let counter_lo: Vec<u32> = l
        .entries
        .iter()
        .filter(|e| matches!(e.role, systole_hdl::blocks::regs::layout::Role::CounterLo(_)))
        .map(|e| e.offset())
        .collect();
    for t in 1..trace.len() {
        let (prev, now) = (&trace[t - 1], &trace[t]);
        if now.reset {
            aw_edges.clear();
            w_edges.clear();
            continue;
        }
        let a = &now.axi;
        if a.awvalid && prev.want_axi.awready {
            aw_edges.push(t);
        }
        if a.wvalid && prev.want_axi.wready {
            w_edges.push(t);
            c.partial_strobes += u64::from(a.wstrb != 0xf);
        }
        if a.arvalid && prev.want_axi.arready {
            let addr = a.araddr % REG_WINDOW_BYTES;
            if last_read.is_some_and(|lo| counter_lo.contains(&lo) && addr == lo + 4) {
                c.lo_then_hi += 1;
                c.hi_carry_reads +=
                    u64::from(now.core.total_cycles >> 32 != 0 && addr == regmap::TOTAL_CYCLES_HI.offset);
            }
            last_read = Some(addr);
            c.unmapped_okay +=
                u64::from(addr.is_multiple_of(4) && l.at(addr).is_none() && l.response(addr) == Resp::Okay);
        }
        c.b_stalled += u64::from(prev.want_axi.bvalid && !a.bready);
        c.r_stalled += u64::from(prev.want_axi.rvalid && !a.rready);
        let b_new = now.want_axi.bvalid && !prev.want_axi.bvalid;
        let r_new = now.want_axi.rvalid && (!prev.want_axi.rvalid || a.rready) && a.arvalid && prev.want_axi.arready;
        c.slverr += u64::from(b_new && now.want_axi.bresp == Resp::SlvErr);
        c.slverr += u64::from(r_new && now.want_axi.rresp == Resp::SlvErr);
        c.write_and_read_same_edge += u64::from(b_new && r_new);
        c.starts += u64::from(now.want_core.start);
        c.soft_resets += u64::from(now.want_core.soft_reset);
        c.irq_rises += u64::from(now.want_core.irq && !prev.want_core.irq);
        c.irq_falls += u64::from(!now.want_core.irq && prev.want_core.irq);
    }
    for (aw, w) in aw_edges.iter().zip(&w_edges) {
        match aw.cmp(w) {
            std::cmp::Ordering::Less => c.aw_first += 1,
            std::cmp::Ordering::Greater => c.w_first += 1,
            std::cmp::Ordering::Equal => c.aw_w_together += 1,
        }
    }
    c
}

fn assert_covered(c: &Coverage, unmapped: Unmapped) {
    let floors = [
        ("aw_first", c.aw_first),
        ("w_first", c.w_first),
        ("aw_w_together", c.aw_w_together),
        ("b_stalled", c.b_stalled),
        ("r_stalled", c.r_stalled),
        ("partial_strobes", c.partial_strobes),
        ("slverr", c.slverr),
        ("starts", c.starts),
        ("soft_resets", c.soft_resets),
        ("irq_rises", c.irq_rises),
        ("irq_falls", c.irq_falls),
        ("lo_then_hi", c.lo_then_hi),
        ("hi_carry_reads", c.hi_carry_reads),
        ("write_and_read_same_edge", c.write_and_read_same_edge),
    ];
    for (name, n) in floors {
        assert!(n >= 20, "coverage: only {n} `{name}` in {c:?}");
    }
    if unmapped == Unmapped::ReadZero {
        assert!(c.unmapped_okay >= 20, "coverage: {c:?}");
    }
}

fn cosim(cfg: &ArchConfig, unmapped: Unmapped, seed: u64, cycles: usize) {
    let l = layout(cfg, unmapped);
    let (design, _) = emit(&l, &top_name(cfg, unmapped));
    let sim = common::simulator(&design);
    for (run, knobs) in
        [Knobs::default(), Knobs { write: 70, read: 70, max_delay: 2, ready: 90, stall: 1 }].into_iter().enumerate()
    {
        let trace = generate(&l, seed + run as u64, cycles, knobs);
        let out = compare(&sim, &trace);
        check_protocol(&trace, &out);
        let cov = coverage(&l, &trace);
        println!("{} run {run}: {cycles} cycles, {cov:?}", design.top);
        assert_covered(&cov, unmapped);
    }
}

#[test]
fn regs_rtl_matches_golden_model() {
    if !check::tools_or_skip(&["verilator", "yosys"], "register file co-simulation") {
        return;
    }
    cosim(&ArchConfig::new("base", 16, 16), Unmapped::ReadZero, 0x4e61_7869, 60_000);
    cosim(&wide_config(), Unmapped::SlvErr, 0x51_e77, 60_000);
}

#[test]
fn regs_lint_synth_and_xilinx_resources() {
    if !check::tools_or_skip(&["verilator", "yosys"], "register file lint/synth") {
        return;
    }
    let cfg = ArchConfig::new("base", 16, 16);
    let l = layout(&cfg, Unmapped::ReadZero);
    let (design, path) = emit(&l, "systole_regs");
    common::lint_and_synth(&design, &path);
    let report = check::synth(&path, &design.top, SynthTarget::Xilinx).unwrap_or_else(|e| panic!("{e}"));
    println!("regs: LUT {} FF {} (all cells: {:?})", report.luts(), report.ffs(), report.cells);
    // Today 319 LUT / 264 FF: the read mux (13 live 32-bit sources) and the three HI latches
    // dominate. The guard catches accidental blow-ups, e.g. storage for constant bits.
    assert!(report.luts() <= 360 && report.ffs() <= 280, "{:?}", report.cells);
    assert_eq!(report.dsps(), 0);
}

#[test]
fn regs_ports_follow_the_table() {
    let l = layout(&ArchConfig::new("base", 16, 16), Unmapped::ReadZero);
    let design = systole_hdl::emit::emit(&mut RegFile::new(&l), "regs_ports").unwrap_or_else(|e| panic!("{e}"));
    for (name, width) in [
        ("s_axil_awaddr", ADDR_BITS),
        ("s_axil_araddr", ADDR_BITS),
        ("s_axil_wdata", 32),
        ("s_axil_wstrb", 4),
        ("irq_set", IRQ_BITS),
        ("total_cycles", 64),
        ("program_base", 64),
        ("program_count", PROGRAM_COUNT_BITS),
    ] {
        assert_eq!(design.port(name).map(|p| p.width), Some(width), "{name}");
    }
    assert_eq!(1 << ADDR_BITS, REG_WINDOW_BYTES);
    assert_eq!(strobe_mask(0b1001), 0xff00_00ff);
}
