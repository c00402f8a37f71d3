//! Applies a decision to the ONNX file: sliced initializers, depthwise `group` attributes and
//! the shapes declared in `value_info`, written into a copy of the original bytes (every other
//! field is copied unchanged, see [`super::wire`]).

use super::coupling::{Coupling, Req, View};
use super::error::{PResult, PruneError};
use super::rank::Decision;
use super::shapes::{self, Shapes};
use super::wire::{self, put_bytes};
use crate::import::onnx::proto::{attribute_type, AttributeProto, GraphProto, TensorProto, ValueInfoProto};
use crate::import::onnx::tensor::ConstTensor;
use crate::ir::TensorData;
use prost::Message;
use std::collections::{BTreeMap, HashMap};

/// What changes in the file.
pub struct Edits {
    /// Initializer name -> its new contents.
    pub tensors: BTreeMap<String, ConstTensor>,
    /// Node index -> new `group`.
    pub groups: BTreeMap<usize, i64>,
}

fn keep_mask(c: &Coupling, d: &Decision, map: &[usize]) -> Vec<bool> {
    map.iter().map(|&e| !d.removed.contains(&c.root(e))).collect()
}

/// Resolves every request against the decision.
pub fn plan(v: &View, c: &Coupling, d: &Decision) -> PResult<Edits> {
    let mut slices: BTreeMap<String, BTreeMap<usize, Vec<bool>>> = BTreeMap::new();
    let mut entries: BTreeMap<String, BTreeMap<usize, i64>> = BTreeMap::new();
    let mut groups = BTreeMap::new();
    for req in &c.reqs {
        match req {
            Req::Slice { init, axis, map } => {
                let mask = keep_mask(c, d, map);
                if mask.iter().all(|&k| k) {
                    continue;
                }
                let per_axis = slices.entry(init.clone()).or_default();
                match per_axis.get(axis) {
                    Some(m) if *m != mask => {
                        return Err(PruneError::rewrite(
                            format!("initializer '{init}'"),
                            format!("two different channel selections on axis {axis}"),
                        ))
                    }
                    _ => {
                        per_axis.insert(*axis, mask);
                    }
                }
            }
            Req::ShapeEntry { init, index, map } => {
                let kept = keep_mask(c, d, map).iter().filter(|&&k| k).count() as i64;
                if kept as usize != map.len() {
                    entries.entry(init.clone()).or_default().insert(*index, kept);
                }
            }
            Req::Group { node, map } => {
                let kept = keep_mask(c, d, map).iter().filter(|&&k| k).count() as i64;
                if kept as usize != map.len() {
                    groups.insert(*node, kept);
                }
            }
        }
    }
    let mut tensors = BTreeMap::new();
    for (name, axes) in slices {
        let mut t = v.inits.get(&name).cloned().ok_or_else(|| PruneError::rewrite(&name, "not an initializer"))?;
        for (axis, mask) in axes {
            t = slice(&t, axis, &mask)?;
        }
        tensors.insert(name, t);
    }
    for (name, values) in entries {
        let mut t = v.inits.get(&name).cloned().ok_or_else(|| PruneError::rewrite(&name, "not an initializer"))?;
        let TensorData::I64(data) = &mut t.data else {
            return Err(PruneError::rewrite(format!("shape '{name}'"), "not int64"));
        };
        for (i, value) in values {
            let slot = data.get_mut(i).ok_or_else(|| PruneError::rewrite(&name, format!("no entry {i}")))?;
            *slot = value;
        }
        tensors.insert(name, t);
    }
    Ok(Edits { tensors, groups })
}

/// Keeps the positions of `axis` whose mask entry is true.
fn slice(t: &ConstTensor, axis: usize, mask: &[bool]) -> PResult<ConstTensor> {
    let len = t.shape.get(axis).copied().unwrap_or(0);
    if axis >= t.shape.len() || len != mask.len() {
        return Err(PruneError::rewrite(
            format!("initializer '{}' of shape {:?}", t.name, t.shape),
            format!("axis {axis} has {len} entries, the channel selection {}", mask.len()),
        ));
    }
    let inner: usize = t.shape[axis + 1..].iter().product();
    let keep = |i: usize| mask[(i / inner.max(1)) % len.max(1)];
    fn filter<T: Copy>(v: &[T], keep: impl Fn(usize) -> bool) -> Vec<T> {
        v.iter().enumerate().filter(|(i, _)| keep(*i)).map(|(_, &x)| x).collect()
    }
    let data = match &t.data {
        TensorData::I8(v) => TensorData::I8(filter(v, keep)),
        TensorData::U8(v) => TensorData::U8(filter(v, keep)),
        TensorData::I16(v) => TensorData::I16(filter(v, keep)),
        TensorData::I32(v) => TensorData::I32(filter(v, keep)),
        TensorData::I64(v) => TensorData::I64(filter(v, keep)),
        TensorData::F32(v) => TensorData::F32(filter(v, keep)),
    };
    let mut shape = t.shape.clone();
    shape[axis] = mask.iter().filter(|&&k| k).count();
    Ok(ConstTensor { name: t.name.clone(), shape, dtype: t.dtype, data })
}

fn raw_bytes(data: &TensorData) -> Vec<u8> {
    match data {
        TensorData::I8(v) => v.iter().map(|&x| x as u8).collect(),
        TensorData::U8(v) => v.clone(),
        TensorData::I16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        TensorData::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        TensorData::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        TensorData::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    }
}

/// Fields of `TensorProto` that hold dims or data (replaced by `dims` + `raw_data`).
const TENSOR_DATA_FIELDS: [u64; 7] = [1, 4, 5, 7, 9, 10, 11];

/// The initializer message with new dims and data; name, type, doc string etc. are kept.
fn tensor_bytes(original: &[u8], t: &ConstTensor) -> PResult<Vec<u8>> {
    let mut out = Vec::with_capacity(original.len());
    for f in wire::fields(original)? {
        if !TENSOR_DATA_FIELDS.contains(&f.number) {
            out.extend_from_slice(f.raw);
        }
    }
    let fresh = TensorProto {
        dims: t.shape.iter().map(|&d| d as i64).collect(),
        raw_data: Some(raw_bytes(&t.data)),
        ..Default::default()
    };
    fresh.encode(&mut out).map_err(|e| PruneError::Wire(e.to_string()))?;
    Ok(out)
}

/// The node with its `group` attribute replaced.
fn node_bytes(original: &[u8], group: i64) -> PResult<Vec<u8>> {
    let mut out = Vec::with_capacity(original.len());
    for f in wire::fields(original)? {
        if f.number == 5 {
            let attr =
                AttributeProto::decode(wire::payload(&f, "attribute")?).map_err(|e| PruneError::Wire(e.to_string()))?;
            if attr.name.as_deref() == Some("group") {
                let new = AttributeProto { i: Some(group), r#type: Some(attribute_type::INT), ..attr };
                put_bytes(&mut out, 5, &new.encode_to_vec());
                continue;
            }
        }
        out.extend_from_slice(f.raw);
    }
    Ok(out)
}

/// A value_info with the inferred static shape when its declared static shape differs.
fn value_info_bytes(original: &[u8], shapes: &Shapes) -> PResult<Option<Vec<u8>>> {
    let vi = ValueInfoProto::decode(original).map_err(|e| PruneError::Wire(e.to_string()))?;
    let Some(new) = vi.name.as_ref().and_then(|n| shapes.get(n)) else { return Ok(None) };
    let Some(mut ty) = vi.r#type.clone() else { return Ok(None) };
    let Some(shape) = ty.tensor_type.as_mut().and_then(|t| t.shape.as_mut()) else { return Ok(None) };
    if shape.dim.len() != new.len() {
        return Ok(None);
    }
    let mut changed = false;
    for (d, &n) in shape.dim.iter_mut().zip(new) {
        if let Some(old) = d.dim_value {
            if old != n as i64 {
                d.dim_value = Some(n as i64);
                changed = true;
            }
        }
    }
    if !changed {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(original.len());
    for f in wire::fields(original)? {
        if f.number != 2 {
            out.extend_from_slice(f.raw);
        }
    }
    put_bytes(&mut out, 2, &ty.encode_to_vec());
    Ok(Some(out))
}

/// The graph after the edits, decoded (for shape inference of the result).
pub fn edited_graph(graph: &GraphProto, edits: &Edits) -> GraphProto {
    let mut g = graph.clone();
    for t in &mut g.initializer {
        if let Some(new) = t.name.as_ref().and_then(|n| edits.tensors.get(n)) {
            t.dims = new.shape.iter().map(|&d| d as i64).collect();
            t.raw_data = Some(raw_bytes(&new.data));
            t.float_data.clear();
            t.int32_data.clear();
            t.int64_data.clear();
            t.double_data.clear();
            t.uint64_data.clear();
        }
    }
    for (&node, &group) in &edits.groups {
        if let Some(a) =
            g.node.get_mut(node).and_then(|n| n.attribute.iter_mut().find(|a| a.name.as_deref() == Some("group")))
        {
            a.i = Some(group);
        }
    }
    g
}

/// Writes the pruned model: the original `ModelProto` bytes with the graph's initializers,
/// nodes and value_info entries replaced where they changed.
pub fn write(model: &[u8], graph: &GraphProto, edits: &Edits) -> PResult<Vec<u8>> {
    let new_graph = edited_graph(graph, edits);
    let consts: HashMap<String, ConstTensor> = new_graph
        .initializer
        .iter()
        .filter_map(|t| crate::import::onnx::tensor::decode_tensor(t).ok().map(|c| (c.name.clone(), c)))
        .collect();
    let shapes = shapes::infer(&new_graph, &consts);
    for out in &graph.output {
        let name = out.name.clone().unwrap_or_default();
        let declared: Option<Vec<i64>> = out
            .r#type
            .as_ref()
            .and_then(|t| t.tensor_type.as_ref())
            .and_then(|t| t.shape.as_ref())
            .map(|s| s.dim.iter().map(|d| d.dim_value.unwrap_or(0)).collect());
        if let (Some(decl), Some(new)) = (declared, shapes.get(&name)) {
            if decl.iter().zip(new).any(|(&d, &n)| d > 0 && d != n as i64) {
                return Err(PruneError::rewrite(
                    format!("graph output '{name}'"),
                    format!("its shape would become {new:?}"),
                ));
            }
        }
    }
    let mut out = Vec::with_capacity(model.len());
    for f in wire::fields(model)? {
        if f.number != 7 {
            out.extend_from_slice(f.raw);
            continue;
        }
        let g = wire::payload(&f, "graph")?;
        let mut gout = Vec::with_capacity(g.len());
        let (mut node_i, mut init_i) = (0usize, 0usize);
        for gf in wire::fields(g)? {
            match gf.number {
                1 => {
                    match edits.groups.get(&node_i) {
                        Some(&group) => put_bytes(&mut gout, 1, &node_bytes(wire::payload(&gf, "node")?, group)?),
                        None => gout.extend_from_slice(gf.raw),
                    }
                    node_i += 1;
                }
                5 => {
                    let name = graph.initializer.get(init_i).and_then(|t| t.name.clone()).unwrap_or_default();
                    match edits.tensors.get(&name) {
                        Some(t) => put_bytes(&mut gout, 5, &tensor_bytes(wire::payload(&gf, "initializer")?, t)?),
                        None => gout.extend_from_slice(gf.raw),
                    }
                    init_i += 1;
                }
                13 => match value_info_bytes(wire::payload(&gf, "value_info")?, &shapes)? {
                    Some(b) => put_bytes(&mut gout, 13, &b),
                    None => gout.extend_from_slice(gf.raw),
                },
                _ => gout.extend_from_slice(gf.raw),
            }
        }
        put_bytes(&mut out, 7, &gout);
    }
    Ok(out)
}
