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
use systole_arch::timing::{layer_timing_masked, TimingSource};
use systole_arch::{ArchConfig, Budget, Opcode};
use systole_hdl::blocks::top::emit_top;
use systole_hdl::check;
use systole_hdl::sizing::{size_for_generator, GeneratedEngine};
use systole_host::{pack, Image, PackOptions};
use systole_model::load::load_model;
use systole_sim::cycle::report::{descriptor_names, utilization};

use crate::report::{self, facts::*};

pub struct Options<'a> {
    pub model: &'a Path,
    pub out: &'a Path,
    pub budget: Budget,
    /// Skip `verilator --lint-only -Wall` even when Verilator is installed.
    pub no_lint: bool,
}

pub fn run(opts: &Options) -> Result<()> {
    let graph = load_model(opts.model).with_context(|| format!("loading {}", opts.model.display()))?;
    let GeneratedEngine { sizing, config: cfg, dram } =
        size_for_generator(&graph, &opts.budget).with_context(|| format!("model {}", opts.model.display()))?;

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
    let mut sizing_markdown = sizing.to_markdown();
    if cfg.act_buffer_bytes != sizing.config().act_buffer_bytes {
        let _ = writeln!(
            sizing_markdown,
            "\nGenerated with a {} B activation buffer (the sizing asked for {} B; the generator builds {:?} B).",
            cfg.act_buffer_bytes,
            sizing.config().act_buffer_bytes,
            systole_hdl::blocks::top::GENERATOR_ACT_BUFFERS
        );
    }
    let image =
        pack(&graph, &cfg, PackOptions { dram_base: 0 }).context("packing the model for the generated engine")?;
    // Zero-tile skipping (sized on only when the packer finds zero tiles): say how much.
    let skipping = zero_skip_summary(&image, &cfg)?;
    if let Some(line) = &skipping {
        let _ = writeln!(sizing_markdown, "\nZero-tile skipping: {line}.");
    }
    let facts = GenerateFacts {
        model: opts.model.display().to_string(),
        name: cfg.name.clone(),
        array: [cfg.rows, cfg.cols],
        fabric_pe_rows: cfg.fabric_pe_rows,
        psum_depth: cfg.psum_depth,
        dma_data_bits: cfg.dma_data_bits,
        act_buffer_bytes: cfg.act_buffer_bytes,
        config_hash: cfg.config_hash(),
        dram_latency: dram.read_latency,
        dram_interval: dram.interval,
        sizing_markdown,
        partition: partition_facts(&image),
        layers: layer_facts(&image, &cfg, &dram)?,
        verilog: VerilogFact {
            file: verilog.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
            modules_emitted: design.stats.modules_emitted,
            modules_merged: design.stats.modules_merged,
            lint: lint.clone(),
        },
    };
    if facts.layers.is_empty() {
        bail!("no layer of {} runs on the generated engine", graph.name);
    }
    write(GENERATE_FACTS, &(serde_json::to_string_pretty(&facts).context("serialising generate.json")? + "\n"))?;
    let rendered = report::render(opts.out)?;

    println!(
        "{}: {} x {} array{}{}, PB {}, {}-bit DMA, {} B activation buffer, config hash {:#010x}",
        cfg.name,
        cfg.rows,
        cfg.cols,
        match cfg.fabric_pe_rows {
            0 => String::new(),
            n => format!(" (last {n} rows: multipliers in LUTs)"),
        },
        if cfg.int4_weights() { ", 4-bit weights" } else { "" },
        cfg.psum_depth,
        cfg.dma_data_bits,
        cfg.act_buffer_bytes,
        cfg.config_hash()
    );
    if let Some(line) = &skipping {
        println!("zero-tile skipping: {line}");
    }
    println!(
        "wrote {} ({lint}) and arch.json, {}, REGISTERS.md, DESCRIPTOR.md, {} with {} chart(s)",
        verilog.display(),
        header_file_name(&cfg),
        rendered.markdown.display(),
        rendered.charts.len()
    );
    Ok(())
}

/// One line on zero-tile skipping for an engine that has it: the mask size and the tiles the
/// packer left out of DRAM.
fn zero_skip_summary(image: &Image, cfg: &ArchConfig) -> Result<Option<String>> {
    if !cfg.zero_skip() {
        return Ok(None);
    }
    let descriptors = image.descriptors().context("reading the packed descriptors back")?;
    let skipping: Vec<_> = descriptors.iter().filter(|d| d.zero_skip).collect();
    let total: u64 = skipping.iter().map(|d| u64::from(d.k_tiles_total)).sum();
    let stored: u64 = skipping.iter().map(|d| u64::from(d.k_tiles_stored)).sum();
    Ok(Some(format!(
        "masks of {} k-tiles; {} CONV layers skip {} of their {} weight tiles",
        cfg.zero_skip_tiles,
        skipping.len(),
        total.saturating_sub(stored),
        total
    )))
}

/// Where every node of the model runs.
fn partition_facts(image: &Image) -> Vec<PartitionFact> {
    image
        .metadata
        .partition
        .iter()
        .map(|r| PartitionFact {
            node: r.node.clone(),
            op: r.op.clone(),
            placement: r.placement.name().to_string(),
            detail: r.detail.clone(),
        })
        .collect()
}

/// The exact (or, where the RTL has no formula, estimated) cycles of every engine layer.
fn layer_facts(image: &Image, cfg: &ArchConfig, dram: &DramTiming) -> Result<Vec<LayerFact>> {
    let descriptors = image.descriptors()?;
    let names = descriptor_names(image);
    let mut layers = Vec::new();
    for (i, d) in descriptors.iter().enumerate() {
        let op = d.opcode.unwrap_or(Opcode::End);
        if op == Opcode::End {
            continue;
        }
        let mask = image.zero_mask(i, d)?;
        let t = layer_timing_masked(d, cfg, dram, mask.as_ref()).with_context(|| format!("timing descriptor {i}"))?;
        layers.push(LayerFact {
            descriptor: i as u32,
            name: names.get(i).cloned().unwrap_or_else(|| format!("#{i}")),
            op: op.name().to_string(),
            cycles: t.cycles,
            macs: t.macs,
            utilization: utilization(t.macs, cfg, t.cycles),
            stall_cycles: t.dma_stall_cycles,
            timing: match t.source {
                TimingSource::Exact => "exact",
                TimingSource::Estimate => "estimate",
            }
            .to_string(),
        });
    }
    Ok(layers)
}
