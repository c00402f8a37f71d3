//! The Markdown text of `report.md`.

use super::facts::Facts;
use super::{SimulateSummary, TargetSummary};
use std::fmt::Write as _;

fn opt(v: Option<f64>, digits: usize, unit: &str) -> String {
    v.map(|x| format!("{x:.digits$}{unit}")).unwrap_or_else(|| "n/a".into())
}

fn with_pct(used: String, pct: Option<f64>) -> String {
    match pct {
        Some(p) => format!("{used} ({p:.1} %)"),
        None => used,
    }
}

pub fn render(facts: &Facts, targets: &[TargetSummary], sims: &[SimulateSummary], charts: &[String]) -> String {
    let g = &facts.generate;
    let mut o = String::new();
    let _ = writeln!(o, "# {}: engine report\n", g.name);
    let _ = writeln!(
        o,
        "Model `{}` on a {} x {} INT8 weight-stationary array{}, psum depth {}, {}-bit AXI DMA, {} B activation \
         buffer, config hash `{:#010x}`. Cycles assume DRAM with {} cycles latency and a beat every {} cycle(s).\n",
        g.model,
        g.array[0],
        g.array[1],
        match g.fabric_pe_rows {
            0 => String::new(),
            n => format!(" (the last {n} rows with multipliers in LUTs, the others on DSPs)"),
        },
        g.psum_depth,
        g.dma_data_bits,
        g.act_buffer_bytes,
        g.config_hash,
        g.dram_latency,
        g.dram_interval
    );
    let host: Vec<&str> = g.partition.iter().filter(|p| p.placement == "host").map(|p| p.node.as_str()).collect();
    let _ = writeln!(o, "## Summary\n");
    let _ = writeln!(o, "| engine layers | engine cycles per inference | MACs | MAC utilisation | host nodes |");
    let _ = writeln!(o, "|---|---|---|---|---|");
    let _ = writeln!(
        o,
        "| {} | {} | {} | {:.1} % | {} |\n",
        g.layers.len(),
        g.total_cycles(),
        g.total_macs(),
        100.0 * g.utilization(),
        if host.is_empty() { "none".to_string() } else { host.join(", ") }
    );
    let _ = writeln!(o, "## Resources, Fmax and latency\n");
    if targets.is_empty() {
        let _ = writeln!(
            o,
            "No synthesis results yet: `systole synth DIR --target xc7z020` (or `ecp5-85k`, ...) adds them, then \
             `systole report DIR` re-renders this file.\n"
        );
    } else {
        let _ = writeln!(o, "| target | LUT | FF | DSP | BRAM | Fmax | latency per inference |");
        let _ = writeln!(o, "|---|---|---|---|---|---|---|");
        for t in targets {
            let s = &t.synth;
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} |",
                s.target,
                with_pct(s.luts.to_string(), t.lut_percent),
                s.ffs,
                with_pct(s.dsps.to_string(), t.dsp_percent),
                with_pct(format!("{}", s.brams), t.bram_percent),
                opt(s.fmax_mhz, 1, " MHz"),
                opt(t.latency_us, 1, " µs"),
            );
        }
        let _ = writeln!(
            o,
            "\nLatency = engine cycles per inference / Fmax (host steps and driver overhead not included; \
             Fmax is n/a where the flow has no place-and-route timing).\n"
        );
    }
    for c in charts {
        let _ = writeln!(o, "![{c}]({c})\n");
    }
    let _ = writeln!(o, "## Per-layer cycles on the generated engine\n");
    let _ = writeln!(
        o,
        "`exact` rows are the RTL's own timing (`arch::timing`, checked cycle for cycle in Verilator); `estimate` \
         rows use the analytic model. The sizing below ranks candidates by the analytic estimate of the overlapped \
         engine docs/ENGINE.md describes; the generated v1 units overlap only the k-tiles of a pixel block and run \
         their other phases one after another, so these exact counts are higher.\n"
    );
    let _ = writeln!(o, "| # | layer | op | cycles | MACs | utilisation | DMA stall | timing |");
    let _ = writeln!(o, "|---|---|---|---|---|---|---|---|");
    for l in &g.layers {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {:.1} % | {} | {} |",
            l.descriptor,
            l.name,
            l.op,
            l.cycles,
            l.macs,
            100.0 * l.utilization,
            l.stall_cycles,
            l.timing
        );
    }
    if !sims.is_empty() {
        let _ = writeln!(o, "\n## Simulated runs\n");
        let _ =
            writeln!(o, "| file | engine | total cycles (START to DONE) | layer cycles | per layer = table above |");
        let _ = writeln!(o, "|---|---|---|---|---|");
        for s in sims {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                s.file,
                s.engine,
                s.total_cycles,
                s.layer_cycles,
                if s.matches_generate { "yes" } else { "NO" }
            );
        }
    }
    let _ = writeln!(o, "\n{}", g.sizing_markdown.trim_end());
    let _ = writeln!(o, "\n## Partition\n");
    let _ = writeln!(o, "| node | op | runs on | detail |\n|---|---|---|---|");
    for p in &g.partition {
        let _ = writeln!(o, "| {} | {} | {} | {} |", p.node, p.op, p.placement, p.detail.replace('|', "\\|"));
    }
    let _ = writeln!(
        o,
        "\n## Files\n\n* `{}`: {} modules emitted, {} structurally identical ones merged; {}",
        g.verilog.file, g.verilog.modules_emitted, g.verilog.modules_merged, g.verilog.lint
    );
    o
}
