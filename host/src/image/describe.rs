//! `systole inspect IMAGE.bin`: the image in human-readable form.

use super::reader::read_header;
use super::tensors::describe_descriptor;
use super::Image;
use crate::lower::partition::render;
use crate::schedule::{HostOperand, Step};
use std::fmt::Write as _;
use systole_model::ir::{Op, Tensor};

fn tensor(t: &Tensor) -> String {
    let q = match &t.quant {
        Some(q) if q.scale.len() == 1 => format!(" scale {} zp {}", q.scale[0], q.zero_point.first().unwrap_or(&0)),
        Some(q) => format!(" {} per-axis scales (axis {:?})", q.scale.len(), q.axis),
        None => String::new(),
    };
    format!("'{}' {} {:?}{q}", t.name, t.dtype, t.shape)
}

fn operand(o: &HostOperand) -> String {
    match o.buffer {
        Some(b) => format!("{} @buf{b}", tensor(&o.tensor)),
        None => format!("{} (constant)", tensor(&o.tensor)),
    }
}

fn op_detail(op: &Op) -> String {
    match op {
        Op::Softmax { beta } => format!("Softmax beta {beta}"),
        Op::Transpose { perm } => format!("Transpose perm {perm:?}"),
        Op::Pad { pads, value } => format!("Pad {pads:?} value {value:?}"),
        Op::Concat { axis, activation } => format!("Concat axis {axis} {activation}"),
        other => other.kind().to_string(),
    }
}

/// A multi-line description: header, sections, DRAM plan, I/O, schedule with every descriptor,
/// partition table.
pub fn describe(image: &Image) -> String {
    let mut o = String::new();
    let m = &image.metadata;
    let _ = writeln!(o, "systole image: model '{}' ({:?}), numerics {}", m.model_name, m.source, m.numerics);
    match image.arch() {
        Ok(a) => {
            let _ = writeln!(
                o,
                "engine: {} x {} array, PB {}, acc {} bits, DMA {} bits, requant fixed {} float {}, post-ops {:?}",
                a.rows, a.cols, a.psum_depth, a.acc_bits, a.dma_data_bits, a.requant.fixed, a.requant.float, a.post_ops
            );
        }
        Err(e) => {
            let _ = writeln!(o, "engine: {e}");
        }
    }
    let bytes = image.to_bytes();
    if let Ok(h) = read_header(&bytes) {
        let _ = writeln!(
            o,
            "format version {}, arch config hash {:#010x}, {} bytes\n\nsections:\n  kind      offset      bytes  crc32",
            h.version, h.config_hash, h.file_bytes
        );
        for s in &h.sections {
            let _ = writeln!(o, "  {:<8} {:>7}  {:>9}  {:#010x}", s.kind.name(), s.offset, s.size, s.crc32);
        }
    }
    let d = &image.plan.dram;
    let _ = writeln!(o, "\nDRAM plan: [{:#x}, {:#x}), {} bytes", d.base, d.end(), d.size);
    for (name, r) in d.regions() {
        let _ = writeln!(o, "  {:#010x} .. {:#010x}  {:>9} B  {name}", r.addr, r.end(), r.bytes);
    }
    let _ = writeln!(o, "\ninputs:");
    for b in &image.plan.inputs {
        let _ = writeln!(o, "  {} @buf{}", tensor(&b.tensor), b.buffer);
    }
    let _ = writeln!(o, "outputs:");
    for b in &image.plan.outputs {
        let _ = writeln!(o, "  {} @buf{}", tensor(&b.tensor), b.buffer);
    }
    let descs = image.descriptors();
    let _ = writeln!(o, "\nschedule:");
    for (i, s) in image.plan.steps.iter().enumerate() {
        match s {
            Step::Engine { first, count } => {
                let _ =
                    writeln!(o, "  {i:>3} engine: descriptors {first}..{} (END at {})", first + count, first + count);
                if let Ok(descs) = &descs {
                    for k in *first as usize..(first + count) as usize {
                        if let Some(d) = descs.get(k) {
                            let in2 =
                                if d.input2_addr != 0 { format!(" in2 {:#x}", d.input2_addr) } else { String::new() };
                            let _ = writeln!(
                                o,
                                "        #{k:<3} {}  in {:#x}{in2} out {:#x} w {:#x} p {:#x}",
                                describe_descriptor(d),
                                d.input_addr,
                                d.output_addr,
                                d.weight_addr,
                                d.param_addr
                            );
                        }
                    }
                }
            }
            Step::Host(h) => {
                let ins: Vec<String> = h.inputs.iter().map(operand).collect();
                let _ = writeln!(o, "  {i:>3} host: {} {}", h.node, op_detail(&h.op));
                let _ = writeln!(o, "        in  {}", ins.join("; "));
                let _ = writeln!(o, "        out {}", operand(&h.output));
            }
        }
    }
    if let Err(e) = &descs {
        let _ = writeln!(o, "  (descriptors: {e})");
    }
    let _ = writeln!(o, "\npartition:");
    o.push_str(&render(&m.partition));
    o
}
