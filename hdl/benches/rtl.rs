//! `make bench`, second part (= `cargo bench -p systole-hdl --bench rtl`): the cycle model and
//! the Verilator RTL of the generated top side by side, on the same image through the same
//! host driver, for the same model and array: simulated engine cycles per second of each and
//! their ratio. In `hdl` because `hdl` sees both (`sim` is its dev-dependency; `sim` cannot
//! depend on `hdl`). Not a test: it measures and prints (BENCHMARKS.md has the method and the
//! figures); it does stop when the two engines disagree, since then the figures mean nothing.
//!
//! Cases (arguments pick them; default: `tiny4 resnet8-8`):
//! * `tiny4`: fixtures/tflite/resnet_tiny on the engine `systole generate --budget-macs 16`
//!   builds for it (4 x 4, sized by `systole_hdl::sizing::size_for_generator`, its DRAM timing);
//! * `resnet8-8`, `resnet8-16`: `sim::workloads::resnet8` on `resnet8_config(side)` (the cycle
//!   bench's engine) restricted to the post-op units the generator builds, DRAM latency 40, one
//!   beat per cycle.
//!
//! Speed = engine cycles (BUSY_CYCLES summed over the inference's engine runs, identical on both
//! engines) / wall time of one `Driver::run` (input, engine runs, host steps, outputs; the image
//! is loaded before). The Verilator build and process start are timed separately (cached by
//! design hash under the bench's target tmpdir, shared with `hdl/tests/models.rs`).
//!
//! Without `--bench` (`cargo test --all-targets` runs this binary) only the cycle model runs,
//! once per case, so the bench cannot rot without costing CI a Verilator build.

use std::path::PathBuf;
use std::time::{Duration, Instant};
use systole_arch::axi_timing::DramTiming;
use systole_arch::{ArchConfig, Budget};
use systole_hdl::blocks::top::{emit_top, generator_post_ops};
use systole_hdl::cosim::{RtlDevice, RtlOptions};
use systole_hdl::sizing::size_for_generator;
use systole_host::driver::{Driver, RunOptions, RunReport, Wait};
use systole_host::{pack, Device, Image, PackOptions};
use systole_model::ir::{Graph, Value};
use systole_sim::workloads::{resnet8, resnet8_config};
use systole_sim::{CycleModel, SimDevice};

struct Case {
    label: String,
    graph: Graph,
    input: Value,
    cfg: ArchConfig,
    dram: DramTiming,
}

fn resnet_tiny_4x4() -> Case {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/tflite/resnet_tiny");
    let graph = systole_model::load::load_model(&dir.join("model.tflite")).expect("resnet_tiny loads");
    let input = systole_model::npy::read_value(&dir.join("input_000.npy")).expect("resnet_tiny input");
    let engine = size_for_generator(&graph, &Budget::MaxMacs(16)).expect("resnet_tiny sizes");
    Case { label: "resnet_tiny".into(), graph, input, cfg: engine.config, dram: engine.dram }
}

fn resnet8_at(side: u32) -> Case {
    let (graph, input) = resnet8(1);
    let cfg = ArchConfig { post_ops: generator_post_ops(), ..resnet8_config(side) };
    Case { label: "ResNet-8".into(), graph, input, cfg, dram: DramTiming::new(40, 1).expect("DRAM timing") }
}

fn opts() -> RunOptions {
    RunOptions { timeout: Duration::from_secs(3600), wait: Wait::Irq, ..RunOptions::default() }
}

/// Runs the image `runs` times through the driver on `dev`; the last report and the mean wall
/// time of a run.
fn timed<D: Device>(dev: D, image: &Image, input: &Value, runs: u32) -> (RunReport, Duration) {
    let mut drv = Driver::open(dev, image.clone(), opts()).expect("driver opens");
    drv.load().expect("image loads");
    let one = std::slice::from_ref(input);
    let mut last = drv.run(one).expect("warm-up run");
    let t = Instant::now();
    for _ in 0..runs {
        last = drv.run(one).expect("run");
    }
    (last, t.elapsed() / runs.max(1))
}

fn engine_cycles(r: &RunReport) -> u64 {
    r.runs.iter().map(|x| x.busy_cycles).sum()
}

/// The generated top's module name for `cfg`: the same as hdl/tests/models.rs gives it, so the
/// cached Verilator build is shared.
fn build_name(cfg: &ArchConfig) -> String {
    format!("models_{:08x}", cfg.config_hash())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let measure = args.iter().any(|a| a == "--bench");
    let mut picks: Vec<&str> = args.iter().map(String::as_str).filter(|a| !a.starts_with('-')).collect();
    if picks.is_empty() {
        picks = vec!["tiny4", "resnet8-8"];
    }
    let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let mut rows = Vec::new();
    for pick in picks {
        let case = match pick {
            "tiny4" => resnet_tiny_4x4(),
            "resnet8-8" => resnet8_at(8),
            "resnet8-16" => resnet8_at(16),
            other => panic!("unknown case {other:?} (tiny4, resnet8-8, resnet8-16)"),
        };
        let cfg = ArchConfig { name: build_name(&case.cfg), ..case.cfg.clone() };
        let image = pack(&case.graph, &cfg, PackOptions { dram_base: 0 }).expect("packs");
        let plan = &image.plan.dram;
        let model = CycleModel::new(&cfg, case.dram).expect("config");
        let sim = SimDevice::new(model, &cfg, plan.base, plan.size).expect("device");
        let (on_model, model_wall) = timed(sim, &image, &case.input, if measure { 20 } else { 1 });
        let cycles = engine_cycles(&on_model);
        let array = format!("{}x{}", cfg.rows, cfg.cols);
        if !measure {
            println!("{} {array}: cycle model {cycles} engine cycles (RTL only under `cargo bench`)", case.label);
            continue;
        }
        let t = Instant::now();
        let design = emit_top(&cfg).expect("the generator builds this configuration");
        let mem = plan.end().next_power_of_two().max(1 << 16);
        let rtl = RtlDevice::start(&design, &RtlOptions::new(case.dram, mem, &scratch)).expect("Verilator builds");
        let build = t.elapsed();
        let (on_rtl, rtl_wall) = timed(rtl, &image, &case.input, 1);
        // Same bytes, same per-layer records, or the comparison is meaningless.
        assert_eq!(on_rtl.outputs, on_model.outputs, "{}: outputs differ between the engines", case.label);
        let perf = |r: &RunReport| r.runs.iter().flat_map(|x| x.layers.iter().map(|l| l.perf)).collect::<Vec<_>>();
        assert_eq!(perf(&on_rtl), perf(&on_model), "{}: per-layer perf records differ", case.label);
        assert_eq!(engine_cycles(&on_rtl), cycles, "{}: BUSY_CYCLES differ", case.label);
        let layers: usize = on_rtl.runs.iter().map(|x| x.layers.len()).sum();
        let rate = |d: Duration| cycles as f64 / d.as_secs_f64();
        rows.push(format!(
            "| {} | {array} | {layers} | {} | {cycles} | {:.3} ms | {:.3e} | {:.1} ms | {:.3e} | {:.0}x | {:.0} s |",
            case.label,
            on_rtl.host_steps,
            model_wall.as_secs_f64() * 1e3,
            rate(model_wall),
            rtl_wall.as_secs_f64() * 1e3,
            rate(rtl_wall),
            rtl_wall.as_secs_f64() / model_wall.as_secs_f64(),
            build.as_secs_f64(),
        ));
    }
    if measure {
        println!("\n## Cycle model vs Verilator RTL (same image, same driver, identical per-layer cycles)\n");
        println!(
            "| model | array | engine layers | host steps | engine cycles | cycle model per run | cycle model cycles/s \
             | Verilator per run | Verilator cycles/s | ratio | Verilator build + start |"
        );
        println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for r in rows {
            println!("{r}");
        }
    }
}
