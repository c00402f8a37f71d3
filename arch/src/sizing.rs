//! Choosing an `ArchConfig` for a model under a budget: the array shape, psum depth, buffers, DMA
//! width and accumulator width that minimise the estimated total cycles.
//!
//! The search is exhaustive over a small candidate grid (R, C, PB, DMA width); the activation
//! buffer is sized to hold the largest engine-layer input, halved while the part's RAM cannot
//! hold it. Cycle numbers come from [`crate::cycles`], resources from the heuristics of
//! [`crate::resources`].

use crate::config::{sanitize_name, ArchConfig, ConfigError, PostOps, RequantModes, DMA_DATA_BITS};
use crate::cycles::{
    add_cycles, conv_cycles, global_avg_pool_cycles, pool_cycles, scalesim_ws_cycles, DramModel, LayerCycles,
};
use crate::plan::{plan_conv, PlanError};
use crate::resources::{estimate, fabric_rows_needed, part, Family, Part, Resources};
use crate::workload::{all_weights_int4, layers, post_ops_needed, LayerWork, Placement, Work};
use serde::Serialize;
use systole_model::ir::{Graph, Numerics};
use thiserror::Error;

/// What the accelerator may use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Budget {
    /// At most this many PEs (R * C); memory and logic unconstrained.
    MaxMacs(u32),
    /// Everything must fit this part (heuristic estimate).
    Part(Part),
}

impl Budget {
    /// `"xc7z020"`, or a number of MACs (`"256"`).
    pub fn parse(s: &str) -> Option<Budget> {
        if let Ok(n) = s.parse::<u32>() {
            return (n > 0).then_some(Budget::MaxMacs(n));
        }
        part(s).map(|p| Budget::Part(*p))
    }

    pub fn label(&self) -> String {
        match self {
            Budget::MaxMacs(n) => format!("at most {n} MACs"),
            Budget::Part(p) => format!("{} ({} DSP, {} RAM blocks, {} LUT)", p.name, p.dsp, p.ram_blocks, p.lut),
        }
    }

    /// DRAM model assumed when the caller gives none: the part's board memory, or a generic
    /// 64-bit interface (8 bytes/cycle, 40 cycles latency) for a MAC budget.
    pub fn default_dram(&self) -> DramModel {
        match self {
            Budget::MaxMacs(_) => DramModel { bytes_per_cycle: 8, latency_cycles: 40 },
            Budget::Part(p) => p.dram,
        }
    }
}

/// The candidate grid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SizingOptions {
    /// Values tried for R and for C.
    pub dims: Vec<u32>,
    pub psum_depths: Vec<u32>,
    pub dma_bits: Vec<u32>,
    /// `None`: [`Budget::default_dram`].
    pub dram: Option<DramModel>,
    /// How many runner-up shapes the report lists.
    pub alternatives: usize,
    /// Post-op units the generator can build: layers needing another unit are sized as host
    /// layers (and the chosen config does not claim the unit).
    pub post_ops_available: PostOps,
    /// Of those, the ops whose onnxruntime float mode (ADD, AVG_POOL, GLOBAL_AVG_POOL of an
    /// onnxruntime model) the generator builds; MAX_POOL has no requant and needs no float mode.
    pub post_ops_float: PostOps,
}

impl Default for SizingOptions {
    fn default() -> Self {
        SizingOptions {
            dims: vec![1, 2, 4, 8, 16, 32, 64],
            psum_depths: vec![32, 64, 128, 256, 512, 1024],
            dma_bits: DMA_DATA_BITS.to_vec(),
            dram: None,
            alternatives: 3,
            post_ops_available: PostOps { add: true, avg_pool: true, max_pool: true, global_avg_pool: true },
            post_ops_float: PostOps { add: true, avg_pool: true, max_pool: true, global_avg_pool: true },
        }
    }
}

#[derive(Debug, Error)]
pub enum SizingError {
    #[error("the model has no layer the engine runs")]
    NoEngineLayers,
    #[error("no candidate fits {budget}; the smallest ({smallest}) needs {needs}")]
    NoFit { budget: String, smallest: String, needs: Resources },
    #[error("accumulator bound {bound} of layer {layer} needs {bits} bits; the engine supports 64")]
    AccTooWide { bound: u128, layer: String, bits: u32 },
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// The accumulator-width proof: every MAC layer's |acc| <= max|bias| + K * 256 * 256, since
/// each product `(x - zx) * (w - zw)` has both factors in [-255, 255].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccProof {
    /// The largest bound over the MAC layers, and where it occurs.
    pub bound: u128,
    pub layer: String,
    pub k: u64,
    pub max_abs_bias: u64,
    /// Smallest width with bound < 2^(bits - 1).
    pub min_bits: u32,
    /// The width used: 32 (ENGINE.md: int32 like the runtimes) unless the proof needs more.
    pub acc_bits: u32,
}

/// One layer's estimate on one candidate.
#[derive(Clone, Debug, Serialize)]
pub struct LayerEstimate {
    pub name: String,
    pub op: &'static str,
    pub placement: Placement,
    pub macs: u64,
    pub cycles: LayerCycles,
}

impl LayerEstimate {
    /// MACs / (R * C * cycles): 0 for layers without MACs.
    pub fn utilisation(&self, cfg: &ArchConfig) -> f64 {
        if self.cycles.total == 0 {
            return 0.0;
        }
        self.macs as f64 / (cfg.rows as f64 * cfg.cols as f64 * self.cycles.total as f64)
    }
}

/// One evaluated configuration.
#[derive(Clone, Debug, Serialize)]
pub struct Candidate {
    pub config: ArchConfig,
    pub resources: Resources,
    pub total_cycles: u64,
    pub layers: Vec<LayerEstimate>,
    /// SCALE-Sim's weight-stationary compute cycles of the MAC layers on the same R x C.
    pub scalesim_cycles: u64,
}

impl Candidate {
    pub fn total_macs(&self) -> u64 {
        self.layers.iter().map(|l| l.macs).sum()
    }

    /// Model MACs / (R * C * total cycles).
    pub fn utilisation(&self) -> f64 {
        let peak = self.config.rows as f64 * self.config.cols as f64 * self.total_cycles.max(1) as f64;
        self.total_macs() as f64 / peak
    }

    /// The physical bound: MACs / (R * C) cycles.
    pub fn ideal_cycles(&self) -> u64 {
        self.total_macs().div_ceil(self.config.rows as u64 * self.config.cols as u64)
    }
}

/// The sizing result.
#[derive(Clone, Debug, Serialize)]
pub struct SizingReport {
    pub model: String,
    pub budget: Budget,
    pub dram: DramModel,
    pub acc: AccProof,
    pub chosen: Candidate,
    /// The best configuration of the next-best array shapes.
    pub alternatives: Vec<Candidate>,
    pub candidates_evaluated: usize,
    pub options: SizingOptions,
}

impl SizingReport {
    pub fn config(&self) -> &ArchConfig {
        &self.chosen.config
    }
}

/// Bits needed for a signed value of magnitude up to `bound`: bound < 2^(bits - 1).
fn signed_bits(bound: u128) -> u32 {
    129 - bound.leading_zeros()
}

/// The accumulator proof over the MAC layers of `work`.
pub fn acc_proof(work: &[LayerWork]) -> Result<AccProof, SizingError> {
    let mut proof = AccProof { bound: 0, layer: String::new(), k: 0, max_abs_bias: 0, min_bits: 0, acc_bits: 32 };
    for l in work {
        if let Work::Conv { geometry, max_abs_bias } = &l.work {
            let k = geometry.k() as u64;
            let bound = *max_abs_bias as u128 + k as u128 * 256 * 256;
            if bound > proof.bound {
                proof = AccProof { bound, layer: l.name.clone(), k, max_abs_bias: *max_abs_bias, ..proof };
            }
        }
    }
    proof.min_bits = signed_bits(proof.bound);
    proof.acc_bits = proof.min_bits.max(32);
    if proof.acc_bits > 64 {
        return Err(SizingError::AccTooWide { bound: proof.bound, layer: proof.layer, bits: proof.acc_bits });
    }
    Ok(proof)
}

/// Estimates every layer of `work` on `cfg`.
pub fn estimate_layers(
    work: &[LayerWork],
    cfg: &ArchConfig,
    dram: &DramModel,
) -> Result<Vec<LayerEstimate>, SizingError> {
    work.iter()
        .map(|l| {
            let cycles = match &l.work {
                _ if l.placement != Placement::Engine => LayerCycles::default(),
                Work::Conv { geometry, .. } => conv_cycles(&plan_conv(geometry, cfg)?, cfg, dram),
                Work::Add { pixels, channels } => add_cycles(*pixels, *channels, cfg, dram),
                Work::Pool { geometry, .. } => pool_cycles(geometry, cfg, dram),
                Work::GlobalAvgPool { pixels, channels } => global_avg_pool_cycles(*pixels, *channels, cfg, dram),
                Work::None => LayerCycles::default(),
            };
            Ok(LayerEstimate { name: l.name.clone(), op: l.op, placement: l.placement, macs: l.macs, cycles })
        })
        .collect()
}

/// Bytes the activation buffer must hold (`descriptor::buffered_input_bytes`): the largest
/// input of a CONV or pool layer, and the post-op unit's inputs (ADD, global pooling).
fn act_bytes_needed(work: &[LayerWork]) -> u64 {
    work.iter()
        .filter(|l| l.placement == Placement::Engine)
        .map(|l| match &l.work {
            Work::Conv { geometry, .. } | Work::Pool { geometry, .. } => geometry.input_bytes() as u64,
            Work::Add { pixels, channels } | Work::GlobalAvgPool { pixels, channels } => pixels * channels,
            Work::None => 0,
        })
        .max()
        .unwrap_or(0)
}

/// Marks post-op layers whose unit is not `available` as host layers; for an onnxruntime model,
/// also the requantising post ops (ADD, average pools: float mode) not in `float`.
fn restrict_to_units(work: &mut [LayerWork], available: &PostOps, float: &PostOps, numerics: Numerics) {
    let float_mode = numerics == Numerics::Onnxruntime;
    for l in work.iter_mut().filter(|l| l.placement == Placement::Engine) {
        let has_float = match &l.work {
            Work::Add { .. } => float.add,
            Work::Pool { max: false, .. } => float.avg_pool,
            Work::GlobalAvgPool { .. } => float.global_avg_pool,
            Work::Pool { max: true, .. } | Work::Conv { .. } | Work::None => true,
        };
        if float_mode && !has_float {
            l.placement = Placement::Host;
        }
        let has_unit = match &l.work {
            Work::Add { .. } => available.add,
            Work::Pool { max: true, .. } => available.max_pool,
            Work::Pool { max: false, .. } => available.avg_pool,
            Work::GlobalAvgPool { .. } => available.global_avg_pool,
            Work::Conv { .. } | Work::None => true,
        };
        if !has_unit {
            l.placement = Placement::Host;
        }
    }
}

/// Sizes an engine for `graph` under `budget`.
pub fn size_model(graph: &Graph, budget: &Budget, opts: &SizingOptions) -> Result<SizingReport, SizingError> {
    let mut work = layers(graph)?;
    restrict_to_units(&mut work, &opts.post_ops_available, &opts.post_ops_float, graph.numerics);
    if !work.iter().any(|l| l.placement == Placement::Engine) {
        return Err(SizingError::NoEngineLayers);
    }
    let acc = acc_proof(&work)?;
    let dram = opts.dram.unwrap_or_else(|| budget.default_dram());
    let requant = match graph.numerics {
        Numerics::Tflite => RequantModes { fixed: true, float: false },
        Numerics::Onnxruntime => RequantModes { fixed: false, float: true },
    };
    let post_ops = post_ops_needed(&work);
    let act_needed = act_bytes_needed(&work).max(1);
    let name = sanitize_name(&graph.name);
    // An int4 model gets the 4-bit weight path (half the weight DMA and tile buffer) wherever the
    // array holds whole bytes of weights (R x C even); 8-bit engines take int4 weights too.
    let int4 = all_weights_int4(graph);

    let mut per_shape: Vec<Candidate> = Vec::new();
    let mut evaluated = 0;
    let mut smallest: Option<(ArchConfig, Resources)> = None;
    for &rows in &opts.dims {
        for &cols in &opts.dims {
            if let Budget::MaxMacs(max) = budget {
                if rows as u64 * cols as u64 > *max as u64 {
                    continue;
                }
            }
            let mut best: Option<Candidate> = None;
            for &psum_depth in &opts.psum_depths {
                for &dma_data_bits in &opts.dma_bits {
                    let base = ArchConfig {
                        acc_bits: acc.acc_bits,
                        dma_data_bits,
                        psum_depth,
                        param_buffer_channels: 2 * cols,
                        weight_bits: if int4 && (rows * cols).is_multiple_of(2) { 4 } else { 8 },
                        requant,
                        post_ops,
                        ..ArchConfig::new(name.clone(), rows, cols)
                    };
                    let Some((cfg, resources)) = fit_act_buffer(base, act_needed, budget, &mut smallest) else {
                        continue;
                    };
                    cfg.validate()?;
                    evaluated += 1;
                    let layers = estimate_layers(&work, &cfg, &dram)?;
                    let total_cycles = layers.iter().map(|l| l.cycles.total).sum();
                    let candidate = Candidate { config: cfg, resources, total_cycles, layers, scalesim_cycles: 0 };
                    if best.as_ref().is_none_or(|b| better(&candidate, b)) {
                        best = Some(candidate);
                    }
                }
            }
            per_shape.extend(best);
        }
    }
    per_shape.sort_by_key(rank);
    let mut shapes = per_shape.into_iter();
    let Some(mut chosen) = shapes.next() else {
        let (cfg, needs) = smallest.unwrap_or_else(|| (ArchConfig::new(name, 1, 1), Resources::default()));
        return Err(SizingError::NoFit {
            budget: budget.label(),
            smallest: format!(
                "{} x {}, PB {}, {} B activation buffer",
                cfg.rows, cfg.cols, cfg.psum_depth, cfg.act_buffer_bytes
            ),
            needs,
        });
    };
    let mut alternatives: Vec<Candidate> = shapes.take(opts.alternatives).collect();
    for c in std::iter::once(&mut chosen).chain(alternatives.iter_mut()) {
        c.scalesim_cycles = work
            .iter()
            .filter_map(|l| match &l.work {
                Work::Conv { geometry, .. } => {
                    Some(scalesim_ws_cycles(geometry, c.config.rows as u64, c.config.cols as u64))
                }
                _ => None,
            })
            .sum();
    }
    Ok(SizingReport {
        model: graph.name.clone(),
        budget: budget.clone(),
        dram,
        acc,
        chosen,
        alternatives,
        candidates_evaluated: evaluated,
        options: opts.clone(),
    })
}

/// Ranking key: fewer cycles, then fewer PEs, RAM blocks, LUTs, narrower DMA, fewer rows.
fn rank(c: &Candidate) -> (u64, u32, u32, u32, u32, u32) {
    (
        c.total_cycles,
        c.config.rows * c.config.cols,
        c.resources.ram_blocks,
        c.resources.lut,
        c.config.dma_data_bits,
        c.config.rows,
    )
}

fn better(a: &Candidate, b: &Candidate) -> bool {
    rank(a) < rank(b)
}

/// Sizes the activation buffer: the whole largest input (banks rounded to a power of two), halved
/// until the part holds the configuration. `None` when even the smallest buffer does not fit;
/// `smallest` remembers the cheapest failure for the error message.
fn fit_act_buffer(
    mut cfg: ArchConfig,
    needed: u64,
    budget: &Budget,
    smallest: &mut Option<(ArchConfig, Resources)>,
) -> Option<(ArchConfig, Resources)> {
    let rows = cfg.rows as u64;
    // HEURISTIC floor: 64 bytes per bank keeps a few pixel rows of small layers resident.
    let min_bank = 64u64;
    let mut bank = needed.div_ceil(rows).next_power_of_two().max(min_bank);
    loop {
        cfg.act_buffer_bytes = u32::try_from(bank * rows).unwrap_or(1 << 28).min(1 << 28);
        let family = match budget {
            Budget::MaxMacs(_) => Family::Xilinx7,
            Budget::Part(p) => p.family,
        };
        // Under a part, PE rows that get no DSP are built from LUTs (the fewest such rows).
        let fabric_rows = match budget {
            Budget::MaxMacs(_) => Some(0),
            Budget::Part(p) => fabric_rows_needed(&cfg, p.dsp),
        };
        cfg.fabric_pe_rows = fabric_rows.unwrap_or(cfg.rows);
        let res = estimate(&cfg, family);
        let fits = match budget {
            Budget::MaxMacs(_) => true,
            Budget::Part(p) => fabric_rows.is_some() && res.fits(p),
        };
        if fits {
            return Some((cfg, res));
        }
        if bank <= min_bank {
            let cost = |r: &Resources| (r.lut, r.ram_blocks, r.dsp);
            if smallest.as_ref().is_none_or(|(_, s)| cost(&res) < cost(s)) {
                *smallest = Some((cfg, res));
            }
            return None;
        }
        bank /= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::ConvGeometry;
    use systole_model::ir::Padding2d;

    fn conv_layer(name: &str, g: ConvGeometry, bias: u64) -> LayerWork {
        LayerWork {
            name: name.into(),
            op: "Conv2d",
            placement: Placement::Engine,
            macs: g.macs(),
            work: Work::Conv { geometry: g, max_abs_bias: bias },
        }
    }

    #[test]
    fn accumulator_proof_takes_the_largest_k() {
        let small = ConvGeometry::fully_connected(1, 64, 10);
        let big = ConvGeometry::fully_connected(1, 40_000, 10);
        let p = acc_proof(&[conv_layer("a", small.clone(), 100)]).unwrap();
        assert_eq!(p.bound, 100 + 64 * 65536);
        assert_eq!((p.min_bits, p.acc_bits), (24, 32));
        // 40000 * 65536 + 2^31 > 2^32 needs 34 bits.
        let p = acc_proof(&[conv_layer("a", small, 0), conv_layer("b", big, 1 << 31)]).unwrap();
        assert_eq!((p.layer.as_str(), p.k, p.acc_bits), ("b", 40_000, 34));
        assert_eq!(signed_bits(127), 8);
        assert_eq!(signed_bits(128), 9);
    }

    #[test]
    fn budgets_parse() {
        assert_eq!(Budget::parse("256"), Some(Budget::MaxMacs(256)));
        assert!(matches!(Budget::parse("xc7z020"), Some(Budget::Part(p)) if p.dsp == 220));
        assert_eq!(Budget::parse("0"), None);
        assert_eq!(Budget::parse("virtex"), None);
    }

    #[test]
    fn single_layer_model_prefers_the_largest_useful_array() {
        let g = ConvGeometry {
            batch: 1,
            in_h: 32,
            in_w: 32,
            in_c: 32,
            out_c: 32,
            kernel: [3, 3],
            stride: [1, 1],
            dilation: [1, 1],
            padding: Padding2d { top: 1, left: 1, bottom: 1, right: 1 },
            groups: 1,
        };
        let work = vec![conv_layer("c", g, 0)];
        let cfg = ArchConfig {
            psum_depth: 1024,
            act_buffer_bytes: 32 * 1024,
            dma_data_bits: 512,
            ..ArchConfig::new("t", 32, 32)
        };
        let dram = DramModel { bytes_per_cycle: 64, latency_cycles: 10 };
        let est = estimate_layers(&work, &cfg, &dram).unwrap();
        let util = est[0].utilisation(&cfg);
        assert!(util > 0.8 && util <= 1.0, "{util}");
    }
}

#[cfg(test)]
mod unit_tests {
    use super::*;
    use crate::workload::Work;

    #[test]
    fn layers_without_a_unit_are_sized_as_host_layers() {
        let layer = |work| LayerWork { name: "l".into(), op: "x", placement: Placement::Engine, work, macs: 0 };
        let mut work = vec![
            layer(Work::Add { pixels: 4, channels: 4 }),
            layer(Work::GlobalAvgPool { pixels: 4, channels: 4 }),
            layer(Work::None),
        ];
        let only_gap = PostOps { global_avg_pool: true, ..PostOps::default() };
        restrict_to_units(&mut work, &only_gap, &only_gap, Numerics::Tflite);
        let placements: Vec<Placement> = work.iter().map(|l| l.placement).collect();
        assert_eq!(placements, [Placement::Host, Placement::Engine, Placement::Engine]);
        assert_eq!(post_ops_needed(&work), only_gap);
    }

    /// An onnxruntime model's ADD / average pools requantise in float mode: without that mode
    /// they are host layers, MAX_POOL (no requant) stays on the engine; a TFLite model keeps all.
    #[test]
    fn float_mode_post_ops_need_their_float_unit() {
        let layer = |work| LayerWork { name: "l".into(), op: "x", placement: Placement::Engine, work, macs: 0 };
        let g = crate::plan::ConvGeometry::fully_connected(1, 2, 2);
        let work = || {
            vec![
                layer(Work::Add { pixels: 4, channels: 4 }),
                layer(Work::Pool { geometry: g.clone(), max: false }),
                layer(Work::Pool { geometry: g.clone(), max: true }),
                layer(Work::GlobalAvgPool { pixels: 4, channels: 4 }),
            ]
        };
        let all = PostOps { add: true, avg_pool: true, max_pool: true, global_avg_pool: true };
        let (e, h) = (Placement::Engine, Placement::Host);
        for (numerics, want) in [(Numerics::Onnxruntime, [h, h, e, h]), (Numerics::Tflite, [e, e, e, e])] {
            let mut w = work();
            restrict_to_units(&mut w, &all, &PostOps::default(), numerics);
            let got: Vec<Placement> = w.iter().map(|l| l.placement).collect();
            assert_eq!(got, want, "{numerics:?}");
        }
    }
}
