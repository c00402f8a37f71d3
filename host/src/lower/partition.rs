//! The per-node partition table: where each IR node runs and why.

use std::fmt::Write as _;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// An engine layer (descriptor).
    Engine,
    /// Costs nothing at run time: an alias of bytes that are already in place, or folded into a
    /// neighbouring engine layer (padding, clamp, channel slices, weight order).
    Folded,
    /// Run by the host with the model crate's kernels.
    Host,
}

impl Placement {
    pub fn name(self) -> &'static str {
        match self {
            Placement::Engine => "engine",
            Placement::Folded => "folded",
            Placement::Host => "host",
        }
    }

    pub fn from_code(code: u8) -> Option<Placement> {
        [Placement::Engine, Placement::Folded, Placement::Host].into_iter().find(|p| *p as u8 == code)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionRow {
    pub node: String,
    pub op: String,
    pub placement: Placement,
    /// Engine: what the layer is; folded: into what; host: why not the engine.
    pub detail: String,
}

/// A text table: node, op, placement, detail; then the counts.
pub fn render(rows: &[PartitionRow]) -> String {
    let w_node = rows.iter().map(|r| r.node.len()).max().unwrap_or(4).max(4);
    let w_op = rows.iter().map(|r| r.op.len()).max().unwrap_or(2).max(2);
    let mut o = String::new();
    let _ = writeln!(o, "{:<w_node$}  {:<w_op$}  {:<6}  detail", "node", "op", "where");
    for r in rows {
        let _ = writeln!(o, "{:<w_node$}  {:<w_op$}  {:<6}  {}", r.node, r.op, r.placement.name(), r.detail);
    }
    let count = |p: Placement| rows.iter().filter(|r| r.placement == p).count();
    let _ = writeln!(
        o,
        "{} nodes: {} engine, {} folded, {} host",
        rows.len(),
        count(Placement::Engine),
        count(Placement::Folded),
        count(Placement::Host)
    );
    o
}
