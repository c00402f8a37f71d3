//! `make bench` (= `cargo bench -p systole-sim --bench cycle`): simulation speed of the cycle
//! model on the ResNet-8 workload (`sim::workloads::resnet8`, 12.5 M MACs) at 8x8, 16x16 and
//! 32x32, and each size's per-layer cycles and utilisation. Not a test: it measures and prints
//! (BENCHMARKS.md records the method and the figures).
//!
//! Speed = simulated engine cycles (TOTAL_CYCLES summed over the inference's engine runs) per
//! second of wall time, for
//! * `engine`: `CycleModel::run_program` alone on a loaded device memory (what the device front
//!   end calls on START), and
//! * `inference`: a whole `FunctionalModel::run_with` (fresh device memory, constant regions,
//!   input, every engine run and host step, outputs read back).
//!
//! The Verilator RTL side by side with the cycle model on the same images is the second half of
//! `make bench`: `hdl/benches/rtl.rs` (in `hdl`, which sees both engines; `sim` cannot depend on
//! `hdl`).

use std::time::{Duration, Instant};
use systole_arch::axi_timing::DramTiming;
use systole_host::schedule::Step;
use systole_host::{pack, PackOptions};
use systole_sim::cycle::report::{descriptor_names, program_descriptors, RunReport};
use systole_sim::cycle::scalesim::{compare_run, table};
use systole_sim::functional::Dram;
use systole_sim::workloads::{resnet8, resnet8_config};
use systole_sim::{CycleModel, EngineModel, FunctionalModel};

/// The DRAM of every measurement: 40 cycles latency, a beat per cycle (64-bit AXI: 8 B/cycle).
fn dram_timing() -> DramTiming {
    DramTiming::new(40, 1).expect("valid DRAM timing")
}

/// CPU time this thread has run (Linux: /proc/thread-self/schedstat, nanoseconds on the CPU),
/// so the figure does not depend on how many other processes share the cores.
fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok().map(Duration::from_nanos)
}

/// Runs `f` until `budget` of wall time has passed (at least `min` times, after one warm-up
/// call); returns the mean wall time and the mean CPU time of a call.
fn time(budget: Duration, min: u32, mut f: impl FnMut()) -> (Duration, Option<Duration>) {
    f();
    let (start, cpu0) = (Instant::now(), thread_cpu());
    let mut n = 0;
    while n < min || start.elapsed() < budget {
        f();
        n += 1;
    }
    let cpu = cpu0.zip(thread_cpu()).map(|(a, b)| (b - a) / n);
    (start.elapsed() / n, cpu)
}

struct Speed {
    what: &'static str,
    side: u32,
    cycles: u64,
    wall: Duration,
    cpu: Option<Duration>,
}

impl Speed {
    fn row(&self) -> String {
        let ms = |d: Duration| format!("{:.3} ms", d.as_secs_f64() * 1e3);
        let per_s = |d: Duration| format!("{:.3e}", self.cycles as f64 / d.as_secs_f64());
        format!(
            "| {:<22} | {:>2}x{:<2} | {:>10} | {:>12} | {:>12} | {:>15} | {:>15} |",
            self.what,
            self.side,
            self.side,
            self.cycles,
            ms(self.wall),
            self.cpu.map_or("-".into(), ms),
            per_s(self.wall),
            self.cpu.map_or("-".into(), per_s)
        )
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it,
    // and then one quick pass checks that the benchmark still works. Number arguments pick
    // sizes ("8", "16", "32").
    let args: Vec<String> = std::env::args().skip(1).collect();
    let measure = args.iter().any(|a| a == "--bench");
    let sizes: Vec<u32> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let sizes = match (sizes.is_empty(), measure) {
        (false, _) => sizes,
        (true, true) => vec![8, 16, 32],
        (true, false) => vec![8],
    };
    let (graph, input) = resnet8(1);
    let (budget, min_runs) = if measure { (Duration::from_secs(2), 5) } else { (Duration::ZERO, 1) };
    let mut speeds = Vec::new();
    let mut tables = String::new();
    let mut scalesim = String::new();
    for side in sizes {
        let cfg = resnet8_config(side);
        let image = pack(&graph, &cfg, PackOptions::default()).expect("ResNet-8 packs");
        let model = FunctionalModel::new(image.clone(), &cfg, 1 << 30).expect("image loads");
        let mut engine = CycleModel::new(&cfg, dram_timing()).expect("config");

        // One inference for the report (and its cycle count).
        let run = model.run_with(&mut engine, std::slice::from_ref(&input)).expect("cycle model run");
        let report =
            RunReport::new("cycle", &cfg, &run.runs, &RunReport::run_firsts(&image), &descriptor_names(&image));
        tables.push_str(&format!("\n### {side}x{side}\n\n```\n{}```\n", report.table()));
        let descriptors = program_descriptors(&image).expect("packed descriptors");
        let names = descriptor_names(&image);
        let convs = run
            .runs
            .iter()
            .zip(RunReport::run_firsts(&image))
            .flat_map(|(r, first)| r.layers.iter().map(move |l| ((first + l.index) as usize, l)));
        let rows = compare_run(convs.map(|(k, l)| (names[k].as_str(), &descriptors[k], l)), &cfg).expect("plans");
        scalesim.push_str(&format!("\n### {side}x{side}\n\n{}", table(&rows)));

        let (wall, cpu) = time(budget, min_runs, || {
            model.run_with(&mut engine, std::slice::from_ref(&input)).expect("run");
        });
        speeds.push(Speed { what: "cycle model, inference", side, cycles: report.total_cycles, wall, cpu });

        // The engine alone: run_program on a loaded device memory (the device's START).
        let layout = &image.plan.dram;
        let mut dram = Dram::new(layout.base, layout.size).expect("device memory");
        for (region, bytes) in image.constant_regions() {
            dram.write(region.addr, bytes).expect("constants");
        }
        let runs: Vec<(u64, u32)> = image
            .plan
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Engine { first, count } => Some((layout.program.addr + *first as u64 * 256, count + 1)),
                Step::Host(_) => None,
            })
            .collect();
        let (wall, cpu) = time(budget, min_runs, || {
            for &(base, count) in &runs {
                engine.run_program(&mut dram, base, count).expect("engine run");
            }
        });
        speeds.push(Speed { what: "cycle model, engine", side, cycles: report.total_cycles, wall, cpu });
    }
    println!("\n## Speed (ResNet-8, DRAM latency 40, 1 beat/cycle)\n");
    println!(
        "| engine                 | array | cycles     | wall per run | CPU per run  | cycles/s (wall) | cycles/s (CPU)  |"
    );
    println!(
        "|------------------------|-------|------------|--------------|--------------|-----------------|-----------------|"
    );
    for s in &speeds {
        println!("{}", s.row());
    }
    println!("\n## Per-layer cycles and utilisation\n{tables}");
    println!("\n## CONV layers against SCALE-Sim's closed form (docs/CYCLES.md)\n{scalesim}");
}
