//! Markdown rendering of a [`SizingReport`].

use crate::sizing::{Candidate, SizingReport};
use crate::workload::Placement;
use std::fmt::Write as _;

fn kib(bytes: u32) -> String {
    if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} B")
    }
}

fn pct(x: f64) -> String {
    format!("{:.1} %", 100.0 * x)
}

fn shape(c: &Candidate) -> String {
    format!("{} x {}", c.config.rows, c.config.cols)
}

impl SizingReport {
    /// The report as Markdown: chosen configuration and runners-up, the accumulator proof, and
    /// per-layer cycles and utilisation.
    pub fn to_markdown(&self) -> String {
        let mut o = String::new();
        let all: Vec<&Candidate> = std::iter::once(&self.chosen).chain(&self.alternatives).collect();
        let c = &self.chosen.config;
        let _ = writeln!(o, "# Sizing of `{}` for {}\n", self.model, self.budget.label());
        let _ = writeln!(
            o,
            "Chosen: **{} x {} array**, PB {}, {}-bit DMA, {} activation buffer, {}-bit accumulators, \
             config hash `{:#010x}`.\n",
            c.rows,
            c.cols,
            c.psum_depth,
            c.dma_data_bits,
            kib(c.act_buffer_bytes),
            c.acc_bits,
            c.config_hash()
        );
        let _ = writeln!(
            o,
            "DRAM model: {} bytes/cycle, {} cycles latency. {} configurations evaluated (R, C in {:?}; PB in {:?}; \
             DMA bits in {:?}). Cycles are the analytic estimate of `arch::cycles`; resources are pre-synthesis \
             heuristics (`arch::resources`).\n",
            self.dram.bytes_per_cycle,
            self.dram.latency_cycles,
            self.candidates_evaluated,
            self.options.dims,
            self.options.psum_depths,
            self.options.dma_bits
        );

        let _ = writeln!(o, "## Candidates\n");
        let header: Vec<String> = all
            .iter()
            .enumerate()
            .map(|(i, c)| if i == 0 { format!("**{}** (chosen)", shape(c)) } else { shape(c) })
            .collect();
        let _ = writeln!(o, "| | {} |", header.join(" | "));
        let _ = writeln!(o, "|---|{}", "---|".repeat(all.len()));
        let row = |o: &mut String, label: &str, f: &dyn Fn(&Candidate) -> String| {
            let cells: Vec<String> = all.iter().map(|c| f(c)).collect();
            let _ = writeln!(o, "| {label} | {} |", cells.join(" | "));
        };
        row(&mut o, "total cycles (estimate)", &|c| c.total_cycles.to_string());
        row(&mut o, "MAC utilisation", &|c| pct(c.utilisation()));
        row(&mut o, "physical bound MACs/(R*C)", &|c| c.ideal_cycles().to_string());
        row(&mut o, "SCALE-Sim WS compute cycles", &|c| c.scalesim_cycles.to_string());
        row(&mut o, "PB", &|c| c.config.psum_depth.to_string());
        row(&mut o, "DMA bits", &|c| c.config.dma_data_bits.to_string());
        row(&mut o, "activation buffer", &|c| kib(c.config.act_buffer_bytes));
        row(&mut o, "DSP (heuristic)", &|c| c.resources.dsp.to_string());
        row(&mut o, "RAM blocks (heuristic)", &|c| c.resources.ram_blocks.to_string());
        row(&mut o, "LUT (heuristic)", &|c| c.resources.lut.to_string());
        row(&mut o, "multipliers in LUTs", &|c| c.resources.fabric_multipliers.to_string());

        let a = &self.acc;
        let _ = writeln!(
            o,
            "\n## Accumulator width\n\nBound: max over MAC layers of |bias| + K * 256 * 256 = {} + {} * 65536 = {} \
             (layer `{}`), so {} bits suffice (bound < 2^{}); accumulators are {} bits{}.\n",
            a.max_abs_bias,
            a.k,
            a.bound,
            a.layer,
            a.min_bits,
            a.min_bits.saturating_sub(1),
            a.acc_bits,
            if a.acc_bits == 32 { " (int32, as the reference runtimes)" } else { "" }
        );

        let _ = writeln!(o, "## Per-layer cycles\n");
        let heads: Vec<String> = all.iter().map(|c| format!("{} cycles | util", shape(c))).collect();
        let _ = writeln!(o, "| # | layer | op | MACs | {} |", heads.join(" | "));
        let _ = writeln!(o, "|---|---|---|---|{}", "---|---|".repeat(all.len()));
        for (i, l) in self.chosen.layers.iter().enumerate() {
            if l.placement != Placement::Engine {
                continue;
            }
            let cells: Vec<String> = all
                .iter()
                .map(|c| {
                    let e = &c.layers[i];
                    let util = if e.macs > 0 { pct(e.utilisation(&c.config)) } else { "-".into() };
                    format!("{} | {util}", e.cycles.total)
                })
                .collect();
            let _ =
                writeln!(o, "| {i} | {} | {} | {} | {} |", l.name.replace('|', "\\|"), l.op, l.macs, cells.join(" | "));
        }
        let off_engine: Vec<String> = self
            .chosen
            .layers
            .iter()
            .filter(|l| l.placement != Placement::Engine)
            .map(|l| {
                format!("`{}` ({}, {})", l.name, l.op, if l.placement == Placement::Host { "host" } else { "folded" })
            })
            .collect();
        if !off_engine.is_empty() {
            let _ = writeln!(o, "\nNot on the engine: {}.", off_engine.join(", "));
        }
        let b = self.chosen.layers.iter().fold(crate::cycles::LayerCycles::default(), |mut s, l| {
            s.descriptor += l.cycles.descriptor;
            s.input_load += l.cycles.input_load;
            s.param_load += l.cycles.param_load;
            s.compute += l.cycles.compute;
            s.weight_shift += l.cycles.weight_shift;
            s.weight_dma += l.cycles.weight_dma;
            s.writeback += l.cycles.writeback;
            s.fill_drain += l.cycles.fill_drain;
            s
        });
        let _ = writeln!(
            o,
            "\nWhere the chosen configuration's cycles go: compute {}, weight shift-in {}, weight DMA {}, input \
             loads {}, parameter loads {}, write-back {}, descriptors {}, fill/drain {}.",
            b.compute,
            b.weight_shift,
            b.weight_dma,
            b.input_load,
            b.param_load,
            b.writeback,
            b.descriptor,
            b.fill_drain
        );
        o
    }
}
