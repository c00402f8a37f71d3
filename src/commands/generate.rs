//! `systole generate MODEL --out DIR [--budget-macs N | --part P]`: size an engine for the
//! model, emit its Verilog and everything that must agree with it.
//!
//! DIR receives `<name>.v` (the whole accelerator, structurally identical modules merged, top
//! module named after the model), `arch.json`, `<name>_regs.h`, `REGISTERS.md`,
//! `DESCRIPTOR.md` and `report.md` (sizing decision with the runners-up, the partition of the
//! model between engine and host, per-layer cycles on the chosen engine). With the tools
//! installed the Verilog is linted (`verilator --lint-only -Wall`) before anything is reported.

use anyhow::{bail, Context, Result};
use std::fmt::Write as _;
use std::path::Path;
use systole_arch::axi_timing::DramTiming;
use systole_arch::gen::{c_header, descriptor_markdown, header_file_name, registers_markdown};
use systole_arch::timing::{layer_timing, TimingSource};
use systole_arch::{size_model, ArchConfig, Budget, DramModel, Opcode};
use systole_hdl::blocks::top::{emit_top, fit_to_generator, generator_sizing_options};
use systole_hdl::check;
use systole_host::lower::render_partition;
use systole_host::{pack, PackOptions};
use systole_model::ir::Graph;
use systole_model::load::load_model;

pub struct Options<'a> {
    pub model: &'a Path,
    pub out: &'a Path,
    pub budget: Budget,
    /// Skip `verilator --lint-only -Wall` even when Verilator is installed.
    pub no_lint: bool,
}

/// The DRAM the sizing assumed, as the DMA's cycle model sees it.
pub fn dram_timing(cfg: &ArchConfig, dram: &DramModel) -> Result<DramTiming> {
    let beat = cfg.dma_bytes().max(1) as u64;
    let interval = beat.div_ceil(dram.bytes_per_cycle.max(1) as u64).max(1);
    Ok(DramTiming::new(dram.latency_cycles.max(1) as u64, interval)?)
}

pub fn run(opts: &Options) -> Result<()> {
    let graph = load_model(opts.model).with_context(|| format!("loading {}", opts.model.display()))?;
    let sizing = size_model(&graph, &opts.budget, &generator_sizing_options())
        .with_context(|| format!("sizing an engine for {} under {}", opts.model.display(), opts.budget.label()))?;
    let cfg = fit_to_generator(sizing.config());
    let dram = dram_timing(&cfg, &sizing.dram)?;

    let design = emit_top(&cfg).with_context(|| format!("generating the Verilog of {}", cfg.name))?;
    std::fs::create_dir_all(opts.out).with_context(|| format!("creating {}", opts.out.display()))?;
    let verilog = design.write_to(opts.out)?;
    let lint = if opts.no_lint {
        "not linted (--no-lint)".to_string()
    } else if check::tool_available("verilator") {
        check::lint(&verilog, &cfg.name).with_context(|| format!("linting {}", verilog.display()))?;
        "verilator --lint-only -Wall: clean".to_string()
    } else {
        eprintln!("!!! verilator not found: {} was not linted (tools/ensure-deps.sh installs it)", verilog.display());
        "not linted (verilator missing)".to_string()
    };

    let write = |name: &str, text: &str| -> Result<()> {
        let path = opts.out.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
    };
    write("arch.json", &cfg.to_json())?;
    write(&header_file_name(&cfg), &c_header(&cfg)?)?;
    write("REGISTERS.md", &registers_markdown(Some(&cfg)))?;
    write("DESCRIPTOR.md", &descriptor_markdown())?;
    let mut report = sizing.to_markdown();
    if cfg.act_buffer_bytes != sizing.config().act_buffer_bytes {
        let _ = writeln!(
            report,
            "\nGenerated with a {} B activation buffer (the sizing asked for {} B; the generator builds {:?} B).",
            cfg.act_buffer_bytes,
            sizing.config().act_buffer_bytes,
            systole_hdl::blocks::top::GENERATOR_ACT_BUFFERS
        );
    }
    report.push_str(&engine_section(&graph, &cfg, &dram)?);
    let _ = writeln!(
        report,
        "\n## Files\n\n* `{}`: {} modules emitted, {} structurally identical ones merged; {lint}",
        verilog.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
        design.stats.modules_emitted,
        design.stats.modules_merged,
    );
    write("report.md", &report)?;

    println!(
        "{}: {} x {} array, PB {}, {}-bit DMA, {} B activation buffer, config hash {:#010x}",
        cfg.name,
        cfg.rows,
        cfg.cols,
        cfg.psum_depth,
        cfg.dma_data_bits,
        cfg.act_buffer_bytes,
        cfg.config_hash()
    );
    println!(
        "wrote {} ({lint}) and arch.json, {}, REGISTERS.md, DESCRIPTOR.md, report.md",
        verilog.display(),
        header_file_name(&cfg)
    );
    Ok(())
}

/// The partition and the per-layer cycles of the model on the generated engine.
fn engine_section(graph: &Graph, cfg: &ArchConfig, dram: &DramTiming) -> Result<String> {
    let image = pack(graph, cfg, PackOptions { dram_base: 0 }).context("packing the model for the generated engine")?;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "\n## Partition on the generated engine\n\n```\n{}```",
        render_partition(&image.metadata.partition)
    );
    let descriptors = image.descriptors()?;
    let _ = writeln!(
        o,
        "\n## Per-layer cycles on the generated engine\n\nDRAM: {} cycles latency, one {}-byte beat every {} cycles. \
         `exact` rows are the RTL's own timing (`arch::timing`, checked cycle for cycle in Verilator); `estimate` rows \
         use the analytic model. The candidates above are ranked by the analytic estimate of the overlapped engine \
         ENGINE.md describes; the generated v1 units overlap only the k-tiles of a pixel block and run their other \
         phases one after another, so these exact counts are higher.\n",
        dram.read_latency,
        cfg.dma_bytes(),
        dram.interval
    );
    let _ = writeln!(o, "| # | op | cycles | MACs | utilisation | DMA stall | timing |\n|---|---|---|---|---|---|---|");
    let (mut total, mut macs) = (0u64, 0u64);
    for (i, d) in descriptors.iter().enumerate() {
        let op = d.opcode.unwrap_or(Opcode::End);
        if op == Opcode::End {
            continue;
        }
        let t = layer_timing(d, cfg, dram).with_context(|| format!("timing descriptor {i}"))?;
        let util = t.macs as f64 / (cfg.rows as f64 * cfg.cols as f64 * t.cycles.max(1) as f64);
        let source = match t.source {
            TimingSource::Exact => "exact",
            TimingSource::Estimate => "estimate",
        };
        let _ = writeln!(
            o,
            "| {i} | {} | {} | {} | {:.1} % | {} | {source} |",
            op.name(),
            t.cycles,
            t.macs,
            100.0 * util,
            t.dma_stall_cycles
        );
        total += t.cycles;
        macs += t.macs;
    }
    if total == 0 {
        bail!("no layer of {} runs on the generated engine", graph.name);
    }
    let _ = writeln!(
        o,
        "\nEngine layers: {total} cycles, {macs} MACs, utilisation {:.1} %.",
        100.0 * macs as f64 / (cfg.rows as f64 * cfg.cols as f64 * total as f64)
    );
    Ok(o)
}
