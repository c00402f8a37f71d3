//! Ranking and the pruning decision: layers joined by shared channels form a group; a group
//! with a frozen channel stays whole; otherwise the channel classes with the smallest summed
//! norm of their producers' weights are removed, `floor(ratio * classes)` of them, at least one
//! class kept.

use super::coupling::Coupling;
use super::Criterion;
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// The decision: removed channel classes (union-find roots) and the groups for the report.
pub struct Decision {
    pub removed: HashSet<usize>,
    pub groups: Vec<Group>,
}

/// Layers whose channels are tied, pruned (or kept) together.
pub struct Group {
    pub layers: Vec<usize>,
    pub removed: usize,
    /// Why the group stays whole (a frozen channel's reason).
    pub frozen: Option<String>,
}

pub fn decide(c: &Coupling, ratio: f64, criterion: Criterion) -> Decision {
    // Classes per layer, then groups = connected layers through shared classes.
    let mut class_layers: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    let mut frozen_reason: BTreeMap<usize, String> = BTreeMap::new();
    for e in 0..c.owner.len() {
        let root = c.root(e);
        if let Some((layer, _)) = c.owner[e] {
            class_layers.entry(root).or_default().insert(layer);
        }
        if let Some(r) = &c.frozen[e] {
            frozen_reason.entry(root).or_insert_with(|| r.clone());
        }
    }
    let mut layer_group: Vec<usize> = (0..c.layers.len()).collect();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    for layers in class_layers.values() {
        let mut it = layers.iter();
        if let Some(&first) = it.next() {
            for &l in it {
                let (a, b) = (find(&mut layer_group, first), find(&mut layer_group, l));
                layer_group[a.max(b)] = a.min(b);
            }
        }
    }
    let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for l in 0..c.layers.len() {
        let g = find(&mut layer_group, l);
        members.entry(g).or_default().push(l);
    }
    let mut removed = HashSet::new();
    let mut groups = Vec::new();
    for layers in members.into_values() {
        // Score of each class: summed norm of its producers' channels.
        let mut score: BTreeMap<usize, f64> = BTreeMap::new();
        for &l in &layers {
            let layer = &c.layers[l];
            let norms = match criterion {
                Criterion::L1 => &layer.l1,
                Criterion::L2 => &layer.l2,
            };
            for (ch, &n) in norms.iter().enumerate() {
                *score.entry(c.root(layer.first + ch)).or_default() += n;
            }
        }
        let frozen = score.keys().find_map(|r| frozen_reason.get(r).cloned());
        let classes = score.len();
        let mut count = 0;
        if frozen.is_none() && classes > 1 {
            count = ((ratio * classes as f64).floor() as usize).min(classes - 1);
            let mut order: Vec<(usize, f64)> = score.into_iter().collect();
            // Lowest norm first; ties broken by the class's first channel (deterministic).
            order.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
            removed.extend(order.iter().take(count).map(|&(root, _)| root));
        }
        groups.push(Group { layers, removed: count, frozen });
    }
    Decision { removed, groups }
}
