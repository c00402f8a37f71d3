//! The PLAN and METADATA sections.
//!
//! PLAN: `base u64, size u64`, the program / weights / params regions (`addr u64, bytes u64`),
//! buffers (`name, addr, bytes`), inputs and outputs (`tensor, buffer u32`), steps (`0: engine
//! first u32, count u32` | `1: host node, op, inputs (tensor, has-buffer, buffer), output`).
//! METADATA: `model name, source u8, numerics u8, arch.json, partition rows (node, op,
//! placement u8, detail)`. Strings are `u32 length + UTF-8`.

use super::codec::{Reader, Writer};
use super::format::{ImageError, SectionKind};
use super::ir_codec::{get_numerics, get_op, get_source, get_tensor, put_numerics, put_op, put_source, put_tensor};
use super::{Metadata, Plan};
use crate::dram::{BufferPlacement, DramLayout, Region};
use crate::lower::partition::{PartitionRow, Placement};
use crate::schedule::{HostOperand, HostStep, IoBinding, Step};

fn put_region(w: &mut Writer, r: &Region) {
    w.u64(r.addr);
    w.u64(r.bytes);
}

fn get_region(r: &mut Reader, field: &str) -> Result<Region, ImageError> {
    Ok(Region { addr: r.u64(field)?, bytes: r.u64(field)? })
}

fn put_binding(w: &mut Writer, b: &IoBinding) {
    put_tensor(w, &b.tensor);
    w.u32(b.buffer);
}

fn get_binding(r: &mut Reader) -> Result<IoBinding, ImageError> {
    Ok(IoBinding { tensor: get_tensor(r)?, buffer: r.u32("buffer")? })
}

fn put_operand(w: &mut Writer, o: &HostOperand) {
    put_tensor(w, &o.tensor);
    w.bool(o.buffer.is_some());
    w.u32(o.buffer.unwrap_or(0));
}

fn get_operand(r: &mut Reader) -> Result<HostOperand, ImageError> {
    let tensor = get_tensor(r)?;
    let has = r.bool("buffer flag")?;
    let buffer = r.u32("buffer")?;
    Ok(HostOperand { tensor, buffer: has.then_some(buffer) })
}

pub fn encode_plan(p: &Plan) -> Vec<u8> {
    let mut w = Writer::default();
    let d = &p.dram;
    w.u64(d.base);
    w.u64(d.size);
    put_region(&mut w, &d.program);
    put_region(&mut w, &d.weights);
    put_region(&mut w, &d.params);
    w.len(d.buffers.len());
    for b in &d.buffers {
        w.str(&b.name);
        put_region(&mut w, &b.region);
    }
    for list in [&p.inputs, &p.outputs] {
        w.len(list.len());
        list.iter().for_each(|b| put_binding(&mut w, b));
    }
    w.len(p.steps.len());
    for s in &p.steps {
        match s {
            Step::Engine { first, count } => {
                w.u8(0);
                w.u32(*first);
                w.u32(*count);
            }
            Step::Host(h) => {
                w.u8(1);
                w.str(&h.node);
                put_op(&mut w, &h.op);
                w.len(h.inputs.len());
                h.inputs.iter().for_each(|o| put_operand(&mut w, o));
                put_operand(&mut w, &h.output);
            }
        }
    }
    w.buf
}

pub fn decode_plan(bytes: &[u8]) -> Result<Plan, ImageError> {
    let mut r = Reader::new(SectionKind::Plan, bytes);
    let base = r.u64("dram base")?;
    let size = r.u64("dram size")?;
    let program = get_region(&mut r, "program region")?;
    let weights = get_region(&mut r, "weights region")?;
    let params = get_region(&mut r, "params region")?;
    let n = r.count("buffers", 20)?;
    let mut buffers = Vec::with_capacity(n);
    for _ in 0..n {
        let name = r.str("buffer name")?;
        buffers.push(BufferPlacement { name, region: get_region(&mut r, "buffer region")? });
    }
    let mut io = Vec::new();
    for what in ["inputs", "outputs"] {
        let n = r.count(what, 8)?;
        io.push((0..n).map(|_| get_binding(&mut r)).collect::<Result<Vec<_>, _>>()?);
    }
    let outputs = io.pop().unwrap_or_default();
    let inputs = io.pop().unwrap_or_default();
    let n = r.count("steps", 5)?;
    let mut steps = Vec::with_capacity(n);
    for _ in 0..n {
        steps.push(match r.u8("step kind")? {
            0 => Step::Engine { first: r.u32("first descriptor")?, count: r.u32("layer count")? },
            1 => {
                let node = r.str("host node")?;
                let op = get_op(&mut r)?;
                let k = r.count("host inputs", 8)?;
                let inputs = (0..k).map(|_| get_operand(&mut r)).collect::<Result<Vec<_>, _>>()?;
                let output = get_operand(&mut r)?;
                Step::Host(Box::new(HostStep { node, op, inputs, output }))
            }
            k => return Err(r.err(format!("unknown step kind {k}"))),
        });
    }
    r.finish()?;
    Ok(Plan { dram: DramLayout { base, size, program, weights, params, buffers }, steps, inputs, outputs })
}

pub fn encode_metadata(m: &Metadata) -> Vec<u8> {
    let mut w = Writer::default();
    w.str(&m.model_name);
    put_source(&mut w, m.source);
    put_numerics(&mut w, m.numerics);
    w.str(&m.arch_json);
    w.len(m.partition.len());
    for row in &m.partition {
        w.str(&row.node);
        w.str(&row.op);
        w.u8(row.placement as u8);
        w.str(&row.detail);
    }
    w.buf
}

pub fn decode_metadata(bytes: &[u8]) -> Result<Metadata, ImageError> {
    let mut r = Reader::new(SectionKind::Metadata, bytes);
    let model_name = r.str("model name")?;
    let source = get_source(&mut r)?;
    let numerics = get_numerics(&mut r)?;
    let arch_json = r.str("arch.json")?;
    let n = r.count("partition rows", 13)?;
    let mut partition = Vec::with_capacity(n);
    for _ in 0..n {
        let node = r.str("partition node")?;
        let op = r.str("partition op")?;
        let code = r.u8("placement")?;
        let placement = Placement::from_code(code).ok_or_else(|| r.err(format!("placement code {code}")))?;
        let detail = r.str("partition detail")?;
        partition.push(PartitionRow { node, op, placement, detail });
    }
    r.finish()?;
    Ok(Metadata { model_name, source, numerics, arch_json, partition })
}
