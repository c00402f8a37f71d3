//! DMA engines: lint-clean, latch-free Verilog at W = 64 and 512 (with Xilinx resources), and
//! Verilator co-simulation against the C++ DRAM slave at every width:
//! * without back-pressure, every command takes exactly `read_cycles` / `write_cycles`, and a
//!   waiting command is accepted exactly the documented gap after the previous one ends;
//! * with random back-pressure everywhere, data and protocol still hold;
//! * SLVERR / DECERR set the error flags, and error bursts neither read nor write data;
//! * always: no AXI rule broken, read data and final memory exact, and the Rust DRAM model
//!   drives what the C++ slave drove on every cycle of every run.

mod common;

use std::path::PathBuf;
use systole_hdl::axi_timing::dram::{DramConfig, OKAY};
use systole_hdl::axi_timing::stall::{Channel, Stalls};
use systole_hdl::axi_timing::{
    read_cycles, read_next_gap, read_sequence_cycles, write_cycles, write_next_gap, write_sequence_cycles, BusWidth,
    DramTiming, Transfer, PAGE_BYTES,
};
use systole_hdl::blocks::dma::cosim::{replay, Cmd, Cosim, Outcome, Stimulus};
use systole_hdl::blocks::dma::{Dma128, Dma256, Dma512, Dma64};
use systole_hdl::check::{self, SynthTarget};
use systole_hdl::emit::Design;
use systole_hdl::rng::Rng;

/// Reads use the first region, writes the second: reads then see the initial memory whatever
/// the two engines' interleaving.
const REGION: u64 = 1 << 20;

fn emit(width: u32) -> (Design, PathBuf) {
    let top = format!("systole_dma{width}");
    match width {
        64 => common::emit_to_dir(&mut Dma64::default(), &top, &[]),
        128 => common::emit_to_dir(&mut Dma128::default(), &top, &[]),
        256 => common::emit_to_dir(&mut Dma256::default(), &top, &[]),
        512 => common::emit_to_dir(&mut Dma512::default(), &top, &[]),
        _ => unreachable!("width {width}"),
    }
}

fn lint_and_synth(width: u32) {
    if !check::tools_or_skip(&["verilator", "yosys"], "DMA lint/synth") {
        return;
    }
    let (design, path) = emit(width);
    common::lint_and_synth(&design, &path);
    let r = check::synth(&path, &design.top, SynthTarget::Xilinx).unwrap_or_else(|e| panic!("{e}"));
    println!("{}: LUT {} FF {} CARRY4 {} (all cells: {:?})", design.top, r.luts(), r.ffs(), r.carries(), r.cells);
    assert_eq!(r.dsps(), 0, "{:?}", r.cells);
}

#[test]
fn dma64_lints_and_synthesises() {
    lint_and_synth(64);
}

#[test]
fn dma512_lints_and_synthesises() {
    lint_and_synth(512);
}

fn cosim(width: u32) -> Option<Cosim> {
    if !check::tools_or_skip(&["verilator"], "DMA co-simulation") {
        return None;
    }
    let (design, _) = emit(width);
    Some(Cosim::build(&design, &common::scratch()).unwrap_or_else(|e| panic!("{e}")))
}

/// A command in `region` (0 or 1) of 1..=1000 beats (the corners often), starting at or near a
/// 4 KB boundary most of the time.
fn command(rng: &mut Rng, bus: BusWidth, region: u64) -> Cmd {
    let bytes = bus.beat_bytes();
    let page_beats = PAGE_BYTES / bytes;
    let beats = if rng.chance(30) {
        rng.pick(&[1, 2, 255, 256, 257, 511, 512, 513, 999, 1000, page_beats, page_beats + 1])
    } else {
        1 + rng.below(1000)
    };
    let offset = match rng.below(4) {
        0 => 0,
        1 => PAGE_BYTES - bytes * (1 + rng.below(3)),
        2 => PAGE_BYTES - bytes * (1 + rng.below(300.min(page_beats))),
        _ => bytes * rng.below(page_beats),
    };
    let pages = (REGION - beats * bytes) / PAGE_BYTES - 1;
    Cmd { addr: region * REGION + rng.below(pages) * PAGE_BYTES + offset, beats }
}

fn random_bytes(rng: &mut Rng, n: u64) -> Vec<u8> {
    (0..n.div_ceil(8)).flat_map(|_| rng.next_u64().to_le_bytes()).take(n as usize).collect()
}

/// `reads` and `writes` random commands (plus one zero-beat command of each kind), random memory
/// and stream.
fn stimulus(rng: &mut Rng, bus: BusWidth, timing: DramTiming, stalls: Stalls, count: usize) -> Stimulus {
    let mut reads: Vec<Cmd> = (0..count).map(|_| command(rng, bus, 0)).collect();
    let mut writes: Vec<Cmd> = (0..count).map(|_| command(rng, bus, 1)).collect();
    reads.insert(rng.below(count as u64) as usize, Cmd { addr: 0, beats: 0 });
    writes.insert(rng.below(count as u64) as usize, Cmd { addr: REGION, beats: 0 });
    let stream_beats: u64 = writes.iter().map(|c| c.beats).sum();
    // Half the beats carry random byte strobes (the masked writes of channel slices).
    let all = strobe_all(bus);
    let strobes = (0..stream_beats).map(|_| if rng.chance(50) { all } else { rng.next_u64() & all }).collect();
    Stimulus {
        dram: DramConfig { timing, bus, mem_bytes: 2 * REGION, slverr: 0..0, stalls },
        memory: random_bytes(rng, 2 * REGION),
        stream: random_bytes(rng, stream_beats * bus.beat_bytes()),
        strobes,
        reads,
        writes,
        max_cycles: 2_000_000,
        reset_cycles: 2,
        trace: true,
    }
}

fn strobe_all(bus: BusWidth) -> u64 {
    u64::MAX >> (64 - bus.beat_bytes())
}

/// What the engines must produce: the read stream and the final memory, burst by burst (an
/// error burst reads zeros and writes nothing), and each command's error flag.
struct Expected {
    read_data: Vec<u8>,
    memory: Vec<u8>,
    read_errors: Vec<bool>,
    write_errors: Vec<bool>,
}

fn expected(stim: &Stimulus) -> Expected {
    let bus = stim.dram.bus;
    let bytes = bus.beat_bytes() as usize;
    let mut e =
        Expected { read_data: Vec::new(), memory: stim.memory.clone(), read_errors: vec![], write_errors: vec![] };
    for c in &stim.reads {
        let mut error = false;
        for b in Transfer::new(c.addr, c.beats, bus).unwrap().bursts() {
            let (at, len) = (b.addr as usize, b.beats as usize * bytes);
            if stim.dram.response(b.addr, b.beats) == OKAY {
                e.read_data.extend_from_slice(&stim.memory[at..at + len]);
            } else {
                e.read_data.extend(std::iter::repeat_n(0, len));
                error = true;
            }
        }
        e.read_errors.push(error);
    }
    let mut pos = 0;
    for c in &stim.writes {
        let mut error = false;
        for b in Transfer::new(c.addr, c.beats, bus).unwrap().bursts() {
            let (at, len) = (b.addr as usize, b.beats as usize * bytes);
            if stim.dram.response(b.addr, b.beats) == OKAY {
                // Only strobed bytes are written (no strobe list: all ones).
                for i in 0..len {
                    let beat = (pos + i) / bytes;
                    let strobe = stim.strobes.get(beat).copied().unwrap_or(u64::MAX);
                    if strobe >> ((pos + i) % bytes) & 1 == 1 {
                        e.memory[at + i] = stim.stream[pos + i];
                    }
                }
            } else {
                error = true;
            }
            pos += len;
        }
        e.write_errors.push(error);
    }
    e
}

/// Checks that hold for every run: completion, protocol, data, error flags, and the Rust DRAM
/// model replaying the C++ slave cycle for cycle.
fn check_common(label: &str, stim: &Stimulus, o: &Outcome) {
    assert!(o.finished, "{label}: timed out at edge {}", o.last_edge);
    assert!(o.violations.is_empty(), "{label}: AXI violations: {:#?}", o.violations);
    assert!(o.errors.is_empty(), "{label}: harness errors: {:#?}", o.errors);
    let want = expected(stim);
    assert_eq!(o.read_data.len(), want.read_data.len(), "{label}: read beats delivered");
    if let Some(at) = o.read_data.iter().zip(&want.read_data).position(|(a, b)| a != b) {
        panic!("{label}: read stream differs at byte {at}");
    }
    if let Some(at) = o.memory.iter().zip(&want.memory).position(|(a, b)| a != b) {
        panic!("{label}: memory differs at {at:#x}");
    }
    for (k, c) in stim.reads.iter().enumerate() {
        assert!(o.reads[k].accepted.is_some(), "{label}: read {k} never accepted");
        assert_eq!(o.reads[k].ended.is_some(), c.beats > 0, "{label}: read {k} {c:?} end");
        assert_eq!(o.reads[k].error, want.read_errors[k], "{label}: read {k} {c:?} error flag");
    }
    for (k, c) in stim.writes.iter().enumerate() {
        assert!(o.writes[k].ended.is_some(), "{label}: write {k} {c:?} never done");
        assert_eq!(o.writes[k].error, want.write_errors[k], "{label}: write {k} {c:?} error flag");
    }
    let (memory, violations) = replay(stim, &o.trace).unwrap_or_else(|e| panic!("{label}: {e}"));
    assert!(violations.is_empty(), "{label}: Rust model saw {violations:?}");
    assert!(memory == o.memory, "{label}: Rust model's memory differs from the C++ slave's");
}

/// The C++ slave's violation reports as the Rust model words them (`edge E: message`).
fn cpp_violations(o: &Outcome) -> Vec<String> {
    o.violations
        .iter()
        .map(|v| v.split_once(' ').map_or(v.clone(), |(edge, message)| format!("edge {edge}: {message}")))
        .collect()
}

/// Without back-pressure: every command's cycles equal the formula, and each waiting command
/// is accepted exactly the documented gap after its predecessor ends.
fn check_exact_timing(label: &str, stim: &Stimulus, o: &Outcome) {
    let bus = stim.dram.bus;
    let timing = &stim.dram.timing;
    let transfers =
        |list: &[Cmd]| -> Vec<Transfer> { list.iter().map(|c| Transfer::new(c.addr, c.beats, bus).unwrap()).collect() };
    let (reads, writes) = (transfers(&stim.reads), transfers(&stim.writes));
    // The sources offer the first command as reset ends and each next one right after.
    let first = stim.reset_cycles + 1;
    let mut free_at = first;
    for (k, t) in reads.iter().enumerate() {
        let accepted = o.reads[k].accepted.unwrap();
        assert_eq!(accepted, free_at, "{label}: read {k} {t:?} accepted late or early");
        let end = o.reads[k].ended.unwrap_or(accepted);
        assert_eq!(end - accepted, read_cycles(t, timing), "{label}: read {k} {t:?} ({} bursts)", t.burst_count());
        free_at = end + read_next_gap(t);
    }
    let last_end = free_at - reads.last().map_or(0, read_next_gap);
    assert_eq!(last_end - first, read_sequence_cycles(&reads, timing), "{label}: read sequence");
    free_at = first;
    for (k, t) in writes.iter().enumerate() {
        let accepted = o.writes[k].accepted.unwrap();
        assert_eq!(accepted, free_at, "{label}: write {k} {t:?} accepted late or early");
        let end = o.writes[k].ended.unwrap();
        assert_eq!(end - accepted, write_cycles(t, timing), "{label}: write {k} {t:?} ({} bursts)", t.burst_count());
        free_at = end + write_next_gap(t);
    }
    let last_end = free_at - writes.last().map_or(0, write_next_gap);
    assert_eq!(last_end - first, write_sequence_cycles(&writes, timing), "{label}: write sequence");
}

/// Latency / interval pairs: single cycle, long latency, slow beats, and an interval longer
/// than latency + 2 (the interval only spaces beats within a burst).
const TIMINGS: [(u64, u64); 4] = [(1, 1), (17, 1), (6, 2), (2, 5)];

fn exact_timing(width: u32, seed: u64) {
    let Some(sim) = cosim(width) else { return };
    let mut rng = Rng(seed);
    for (latency, interval) in TIMINGS {
        let timing = DramTiming::new(latency, interval).unwrap();
        let stim = stimulus(&mut rng, sim.bus, timing, Stalls::none(), 8);
        let label = format!("W={width} L={latency} I={interval}");
        let o = sim.run(&stim).unwrap_or_else(|e| panic!("{label}: {e}"));
        check_common(&label, &stim, &o);
        check_exact_timing(&label, &stim, &o);
    }
    // Separate read and write latencies.
    let timing = DramTiming { read_latency: 9, write_latency: 3, interval: 1 }.validated().unwrap();
    let stim = stimulus(&mut rng, sim.bus, timing, Stalls::none(), 8);
    let o = sim.run(&stim).unwrap();
    check_common("split latencies", &stim, &o);
    check_exact_timing("split latencies", &stim, &o);
}

#[test]
fn timing_is_exact_w64() {
    exact_timing(64, 0x64);
}

#[test]
fn timing_is_exact_w128() {
    exact_timing(128, 0x128);
}

#[test]
fn timing_is_exact_w256() {
    exact_timing(256, 0x256);
}

#[test]
fn timing_is_exact_w512() {
    exact_timing(512, 0x512);
}

fn backpressure(width: u32, seed: u64) {
    let Some(sim) = cosim(width) else { return };
    let mut rng = Rng(seed);
    let timing = DramTiming::new(4, 1).unwrap();
    let patterns = [
        Stalls::all(seed, 30),
        // A slow consumer: RREADY must drop and nothing may be lost.
        Stalls::none().set(Channel::Consumer, 70),
        // A bursty producer and a slave that refuses W often.
        Stalls { seed: seed ^ 1, ..Stalls::all(0, 0) }
            .set(Channel::Producer, 60)
            .set(Channel::W, 50)
            .set(Channel::Aw, 80),
    ];
    for (i, stalls) in patterns.into_iter().enumerate() {
        let stim = stimulus(&mut rng, sim.bus, timing, stalls, 6);
        let label = format!("W={width} back-pressure pattern {i}");
        let o = sim.run(&stim).unwrap_or_else(|e| panic!("{label}: {e}"));
        check_common(&label, &stim, &o);
        // Stalls only ever add cycles.
        for (k, c) in stim.reads.iter().enumerate().filter(|(_, c)| c.beats > 0) {
            let t = Transfer::new(c.addr, c.beats, sim.bus).unwrap();
            let took = o.reads[k].ended.unwrap() - o.reads[k].accepted.unwrap();
            assert!(took >= read_cycles(&t, &timing), "{label}: read {k} faster than the formula");
        }
        if stalls.percent[Channel::Consumer as usize] > 0 {
            let dropped = o.trace.iter().filter(|l| l.slave.rvalid && !l.master.rready).count();
            assert!(dropped > 0, "{label}: a stalling consumer never made RREADY drop");
        }
    }
}

#[test]
fn backpressure_keeps_data_and_protocol_w64() {
    backpressure(64, 0xb64);
}

#[test]
fn backpressure_keeps_data_and_protocol_w512() {
    backpressure(512, 0xb512);
}

/// SLVERR and DECERR bursts: error flags per command (cleared by the next command), zeros read,
/// nothing written, and the timing unchanged.
fn error_responses(width: u32) {
    let Some(sim) = cosim(width) else { return };
    let bus = sim.bus;
    let bytes = bus.beat_bytes();
    let mut rng = Rng(0xe77 + u64::from(width));
    let mem_bytes = 16 * PAGE_BYTES;
    let timing = DramTiming::new(3, 1).unwrap();
    let poison = 5 * PAGE_BYTES + 128..5 * PAGE_BYTES + 136;
    // Reads: clean, poisoned (the first of several bursts), clean, beyond the memory, clean.
    let reads = vec![
        Cmd { addr: PAGE_BYTES, beats: 4 },
        Cmd { addr: 5 * PAGE_BYTES, beats: 3 * PAGE_BYTES / bytes },
        Cmd { addr: 0, beats: 2 },
        Cmd { addr: mem_bytes - 2 * bytes, beats: 4 },
        Cmd { addr: 2 * PAGE_BYTES, beats: 1 },
    ];
    let writes = vec![
        Cmd { addr: 8 * PAGE_BYTES, beats: 5 },
        // Two clean pages, then the poisoned burst: it must not be written (the reads of
        // the poisoned page would see it).
        Cmd { addr: 3 * PAGE_BYTES, beats: 2 * PAGE_BYTES / bytes + 256.min(PAGE_BYTES / bytes) },
        Cmd { addr: 9 * PAGE_BYTES, beats: 3 },
        // Entirely beyond the memory (the read above straddles its end).
        Cmd { addr: mem_bytes, beats: 2 },
        Cmd { addr: 10 * PAGE_BYTES, beats: 1 },
    ];
    let stream_beats: u64 = writes.iter().map(|c| c.beats).sum();
    let stim = Stimulus {
        dram: DramConfig { timing, bus, mem_bytes, slverr: poison, stalls: Stalls::none() },
        memory: random_bytes(&mut rng, mem_bytes),
        stream: random_bytes(&mut rng, stream_beats * bytes),
        strobes: Vec::new(),
        reads,
        writes,
        max_cycles: 100_000,
        reset_cycles: 2,
        trace: true,
    };
    let label = format!("W={width} error responses");
    let o = sim.run(&stim).unwrap_or_else(|e| panic!("{label}: {e}"));
    let flags = |list: &[systole_hdl::blocks::dma::cosim::CmdTiming]| list.iter().map(|c| c.error).collect::<Vec<_>>();
    assert_eq!(flags(&o.reads), [false, true, false, true, false], "{label}: read error flags");
    assert_eq!(flags(&o.writes), [false, true, false, true, false], "{label}: write error flags");
    check_common(&label, &stim, &o);
    check_exact_timing(&label, &stim, &o);
}

#[test]
fn error_responses_set_error_flags_w64() {
    error_responses(64);
}

#[test]
fn error_responses_set_error_flags_w512() {
    error_responses(512);
}

/// The checkers catch a broken master, and the C++ and Rust checkers report the same violations
/// on the same edges: a mutant of the 64-bit design whose planner believes beats are 4 bytes
/// (its bursts cross 4 KB boundaries).
#[test]
fn checkers_catch_a_broken_master() {
    if !check::tools_or_skip(&["verilator"], "DMA checker test") {
        return;
    }
    let (mut design, _) = emit(64);
    let (from, to) = ("localparam  shift_12 = 12'h3;", "localparam  shift_12 = 12'h2;");
    assert_eq!(design.verilog.matches(from).count(), 1, "mutation site `{from}`");
    design.verilog = design.verilog.replace(from, to);
    design.top = "systole_dma64_mutant".into();
    design.verilog = design.verilog.replace("systole_dma64", "systole_dma64_mutant");
    let sim = Cosim::build(&design, &common::scratch()).unwrap_or_else(|e| panic!("{e}"));
    let mut rng = Rng(0xbad);
    let stim = stimulus(&mut rng, sim.bus, DramTiming::new(2, 1).unwrap(), Stalls::none(), 4);
    let o = sim.run(&stim).unwrap_or_else(|e| panic!("{e}"));
    let (_, rust) = replay(&stim, &o.trace).unwrap_or_else(|e| panic!("{e}"));
    let rust: Vec<String> = rust.iter().map(ToString::to_string).collect();
    assert_eq!(cpp_violations(&o), rust, "C++ and Rust checkers disagree");
    assert!(rust.iter().any(|v| v.contains("crosses a 4 KB boundary")), "{rust:#?}");
}
