//! ARM CMSIS-NN int8 unit-test vectors as engine programs (shared by sim/tests/cmsis_nn.rs and
//! hdl/tests/models.rs, which includes this file by path): each conv, depthwise, grouped conv,
//! fully-connected, average / max pool and add case of `<fixtures>/cmsis-nn` becomes one
//! descriptor in a fresh device memory image, with the case's own multipliers and shifts in the
//! parameter area and its weights in the packer's tile order (`arch::plan::tile_weights`).
//!
//! Not engine layers, so [`family`] leaves them out: `requantize_s64` (int16), mul, softmax,
//! pad (host steps). `*_int4` cases (two signed 4-bit weights per byte, low nibble first) are
//! left out of [`family`] too and come from [`int4_family`]: their weights are unpacked and
//! sign-extended to bytes, as lowering does for an int4 model on an 8-bit engine. Only the int4
//! folders whose arrays belong together are listed (model/tests/cmsis_nn.rs, `INCONSISTENT_INT4`).
#![allow(dead_code)]

use serde_json::Value as Json;
use std::path::Path;
use systole_arch::descriptor::{ChannelParams, PostParams, DESCRIPTOR_BYTES};
use systole_arch::plan::{plan_conv, tile_weights};
use systole_arch::{ArchConfig, LayerDescriptor, Opcode, RequantMode};
use systole_model::ir::int4::unpack_i4;
use systole_sim::functional::Dram;

pub struct Case {
    pub name: String,
    config: serde_json::Map<String, Json>,
    arrays: serde_json::Map<String, Json>,
}

impl Case {
    fn cfg(&self, key: &str) -> i64 {
        self.config.get(key).and_then(Json::as_i64).unwrap_or_else(|| panic!("{}: config {key}", self.name))
    }
    fn cfg_or(&self, key: &str, default: i64) -> i64 {
        self.config.get(key).and_then(Json::as_i64).unwrap_or(default)
    }
    fn u(&self, key: &str) -> usize {
        usize::try_from(self.cfg(key)).unwrap_or_else(|_| panic!("{}: {key} negative", self.name))
    }
    fn has(&self, key: &str) -> bool {
        self.arrays.contains_key(key)
    }
    fn arr(&self, key: &str) -> Vec<i64> {
        let a = self.arrays.get(key).unwrap_or_else(|| panic!("{}: array {key}", self.name));
        let data = a.get("data").unwrap_or(a);
        let list = data.as_array().unwrap_or_else(|| panic!("{}: {key} is not a list", self.name));
        list.iter().map(|v| v.as_i64().unwrap_or_else(|| panic!("{}: {key} non-integer", self.name))).collect()
    }
    fn bytes(&self, key: &str) -> Vec<u8> {
        self.arr(key).into_iter().map(|v| i8::try_from(v).expect("int8") as u8).collect()
    }
    /// The first of `keys` present, as weight bytes: `count` int4 values unpacked and
    /// sign-extended for `*_int4` cases, the int8 bytes otherwise.
    fn weight_bytes(&self, keys: &[&str], count: usize) -> Vec<u8> {
        let key = keys.iter().find(|k| self.has(k)).unwrap_or_else(|| panic!("{}: no weights", self.name));
        if !self.name.contains("int4") {
            return self.bytes(key);
        }
        // Some headers hold the packed bytes as 0..255 under an int8_t type.
        let packed: Vec<u8> = self.arr(key).into_iter().map(|v| v as u8).collect();
        assert_eq!(packed.len(), count.div_ceil(2), "{}: {key} size", self.name);
        unpack_i4(&packed, count).into_iter().map(|v| v as u8).collect()
    }
    fn i32s(&self, key: &str) -> Vec<i32> {
        self.arr(key).into_iter().map(|v| i32::try_from(v).expect("int32")).collect()
    }
    pub fn expected(&self, len: usize) -> Vec<u8> {
        let key = if self.has("output_ref") { "output_ref" } else { "output" };
        let v = self.bytes(key);
        assert!(v.len() >= len, "{}: {key} has {} values, need {len}", self.name, v.len());
        v[..len].to_vec()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Conv,
    Depthwise,
    Grouped,
    FullyConnected,
    AvgPool,
    MaxPool,
    Add,
}

pub fn family(c: &Case) -> Option<Family> {
    let n = c.name.as_str();
    if n.contains("int4") || n == "requantize_s64" {
        return None;
    }
    let has = |k: &str| c.config.contains_key(k);
    Some(if has("CH_MULT") {
        Family::Depthwise
    } else if has("FILTER_CH") || n.starts_with("grouped_conv") {
        Family::Grouped
    } else if has("ACCUMULATION_DEPTH") {
        Family::FullyConnected
    } else if n.starts_with("avgpooling") {
        Family::AvgPool
    } else if n.starts_with("maxpooling") {
        Family::MaxPool
    } else if has("INPUT1_MULT") {
        Family::Add
    } else if has("FILTER_X") && !has("ROW_SIZE") && !has("PRE_PAD_N") {
        Family::Conv
    } else {
        return None;
    })
}

fn unpack_check(c: &Case, r: Result<Vec<u8>, systole_model::ir::int4::Int4RangeError>) -> Result<Vec<u8>, String> {
    r.map_err(|e| format!("{}: the engine cannot take this case: weights on a 4-bit engine: {e}", c.name))
}

/// The `*_int4` cases whose arrays are mutually consistent (the reference reproduces them:
/// model/tests/cmsis_nn.rs) and their family: every depthwise and fully-connected case and three
/// conv cases.
pub fn int4_family(c: &Case) -> Option<Family> {
    let n = c.name.as_str();
    if !n.contains("int4") {
        return None;
    }
    if n.starts_with("depthwise_int4") {
        Some(Family::Depthwise)
    } else if n.starts_with("fully_connected_int4") {
        Some(Family::FullyConnected)
    } else if ["basic_int4", "kernel1x1_int4", "kernel1x1_stride_x_y_1_int4"].contains(&n) {
        Some(Family::Conv)
    } else {
        None
    }
}

/// Trailing pad that makes the window produce `out` positions.
fn trailing_pad(input: usize, out: usize, kernel: usize, stride: usize, dilation: usize, lead: usize) -> usize {
    let needed = (out - 1) * stride + (kernel - 1) * dilation + 1;
    needed.saturating_sub(input + lead)
}

/// A device memory with a bump allocator (64-byte aligned regions after the program).
pub struct Device {
    pub dram: Dram,
    /// End of the last region placed.
    pub next: u64,
}

impl Device {
    fn new() -> Device {
        Device { dram: Dram::new(0, 1 << 22).expect("memory"), next: 4 * DESCRIPTOR_BYTES as u64 }
    }
    fn put(&mut self, bytes: &[u8]) -> u64 {
        let addr = self.next;
        self.dram.write(addr, bytes).expect("fits");
        self.next = (addr + bytes.len() as u64).next_multiple_of(64).max(addr + 64);
        addr
    }
    fn alloc(&mut self, len: usize) -> u64 {
        self.put(&vec![0x5a; len])
    }
}

fn i16_of(c: &Case, v: i64, what: &str) -> Result<i16, String> {
    i16::try_from(v).map_err(|_| format!("{}: {what} {v} out of range", c.name))
}

/// The descriptor of one case for `cfg`, its memory, where the output is and how long it is.
pub fn build(c: &Case, fam: Family, cfg: &ArchConfig) -> Result<(Device, LayerDescriptor, u64, usize), String> {
    let mut dev = Device::new();
    let mut d = LayerDescriptor {
        in_signed: true,
        out_signed: true,
        batch: 1,
        act_min: -128,
        act_max: 127,
        ..LayerDescriptor::default()
    };
    let expected_len;
    match fam {
        Family::Conv | Family::Depthwise | Family::Grouped | Family::FullyConnected => {
            // Geometry, OHWI weights, bias, multipliers and shifts, zero points.
            let (w, bias, mult, shift, wzp) = if fam == Family::FullyConnected {
                let (k, o) = (c.u("ACCUMULATION_DEPTH"), c.u("OUT_CH"));
                d.batch = c.cfg_or("INPUT_BATCHES", 1) as u16;
                (d.in_h, d.in_w, d.in_c, d.out_h, d.out_w, d.out_c) = (1, 1, k as u16, 1, 1, o as u16);
                (d.kernel_h, d.kernel_w, d.stride_h, d.stride_w, d.dilation_h, d.dilation_w) = (1, 1, 1, 1, 1, 1);
                d.groups = 1;
                let bias = ["biases", "bias", "input_bias"].iter().find(|k| c.has(k)).map_or(vec![0; o], |k| c.i32s(k));
                let (mult, shift) = if c.config.contains_key("OUTPUT_MULTIPLIER") {
                    (vec![c.cfg("OUTPUT_MULTIPLIER") as i32; o], vec![c.cfg("OUTPUT_SHIFT") as i32; o])
                } else {
                    (c.i32s("output_multiplier"), c.i32s("output_shift"))
                };
                let wzp = i16_of(c, -c.cfg_or("FILTER_OFFSET", 0), "weight zero point")?;
                (c.weight_bytes(&["weights", "input_weights"], o * k), bias, mult, shift, wzp)
            } else {
                let (in_c, out_c) = (c.u("IN_CH"), c.u("OUT_CH"));
                let (kh, kw) = (c.u("FILTER_Y"), c.u("FILTER_X"));
                let (sh, sw) = (c.u("STRIDE_Y"), c.u("STRIDE_X"));
                let (dh, dw) = (c.cfg_or("DILATION_Y", 1) as usize, c.cfg_or("DILATION_X", 1) as usize);
                let (ih, iw, oh, ow) = (c.u("INPUT_H"), c.u("INPUT_W"), c.u("OUTPUT_H"), c.u("OUTPUT_W"));
                let (pt, pl) = (c.u("PAD_Y"), c.u("PAD_X"));
                d.batch = c.cfg_or("INPUT_BATCHES", 1) as u16;
                (d.in_h, d.in_w, d.in_c, d.out_h, d.out_w, d.out_c) =
                    (ih as u16, iw as u16, in_c as u16, oh as u16, ow as u16, out_c as u16);
                (d.kernel_h, d.kernel_w, d.stride_h, d.stride_w) = (kh as u8, kw as u8, sh as u8, sw as u8);
                (d.dilation_h, d.dilation_w) = (dh as u8, dw as u8);
                (d.pad_top, d.pad_left) = (pt as u8, pl as u8);
                d.pad_bottom = trailing_pad(ih, oh, kh, sh, dh, pt) as u8;
                d.pad_right = trailing_pad(iw, ow, kw, sw, dw, pl) as u8;
                let w_in = match fam {
                    Family::Depthwise => 1,
                    Family::Grouped => c.cfg_or("FILTER_CH", in_c as i64) as usize,
                    _ => in_c,
                };
                let mut w = c.weight_bytes(&["weights"], out_c * kh * kw * w_in);
                d.groups = match fam {
                    Family::Depthwise => {
                        // [1, KH, KW, C_out] -> OHWI [C_out, KH, KW, 1]
                        let mut t = vec![0u8; w.len()];
                        for k in 0..kh * kw {
                            for o in 0..out_c {
                                t[o * kh * kw + k] = w[k * out_c + o];
                            }
                        }
                        w = t;
                        in_c as u16
                    }
                    Family::Grouped => (in_c / c.cfg_or("FILTER_CH", in_c as i64) as usize) as u16,
                    _ => 1,
                };
                (w, c.i32s("biases"), c.i32s("output_mult"), c.i32s("output_shift"), 0)
            };
            d.opcode = Some(Opcode::Conv);
            d.requant = RequantMode::Fixed;
            d.weight_signed = true;
            d.weight_zp = wzp;
            d.in_zp = i16_of(c, -c.cfg("INPUT_OFFSET"), "input zero point")?;
            d.out_zp = i16_of(c, c.cfg("OUTPUT_OFFSET"), "output zero point")?;
            d.act_min = i16_of(c, c.cfg("OUT_ACTIVATION_MIN"), "act min")?;
            d.act_max = i16_of(c, c.cfg("OUT_ACTIVATION_MAX"), "act max")?;
            d.out_ch_stride = d.out_c;
            let g = d.conv_geometry();
            let plan = plan_conv(&g, cfg).map_err(|e| format!("{}: {e}", c.name))?;
            d.set_conv_tiles(&plan);
            // Weight tiles in the packer's order; structural zeros hold the weight zero point.
            let mut tiles = Vec::new();
            for ot in &plan.o_tiles {
                for kt in &ot.k_tiles {
                    for wi in tile_weights(&plan, ot, kt) {
                        tiles.push(match wi {
                            Some(i) => w[((i.o * g.kernel[0] + i.ky) * g.kernel[1] + i.kx) * g.group_in() + i.ci],
                            None => wzp as i8 as u8,
                        });
                    }
                }
            }
            // A 4-bit engine stores each tile two weights per byte, low nibble first.
            let tiles = if cfg.int4_weights() {
                let values: Vec<i8> = tiles.iter().map(|&b| b as i8).collect();
                unpack_check(c, systole_model::ir::int4::pack_i4(&values))?
            } else {
                tiles
            };
            let params: Vec<u8> = (0..g.out_c)
                .flat_map(|o| {
                    let p = ChannelParams {
                        bias: bias[o],
                        multiplier_or_scale: mult[o] as u32,
                        shift: shift[o],
                        weight_zp: 0,
                    };
                    p.to_words().into_iter().flat_map(u32::to_le_bytes)
                })
                .collect();
            let input = c.bytes("input");
            assert!(input.len() >= g.input_bytes(), "{}: input has {} bytes", c.name, input.len());
            d.input_addr = dev.put(&input[..g.input_bytes()]);
            d.weight_addr = dev.put(&tiles);
            d.param_addr = dev.put(&params);
            expected_len = g.output_bytes();
        }
        Family::AvgPool | Family::MaxPool => {
            let (ih, iw, ch) = (c.u("INPUT_H"), c.u("INPUT_W"), c.u("INPUT_C"));
            let (kh, kw, sh, sw) = (c.u("FILTER_H"), c.u("FILTER_W"), c.u("STRIDE_H"), c.u("STRIDE_W"));
            let (oh, ow, pt, pl) = (c.u("OUTPUT_H"), c.u("OUTPUT_W"), c.u("PADDING_H"), c.u("PADDING_W"));
            d.opcode = Some(if fam == Family::AvgPool { Opcode::AvgPool } else { Opcode::MaxPool });
            d.batch = c.u("BATCH_SIZE") as u16;
            (d.in_h, d.in_w, d.in_c, d.out_h, d.out_w, d.out_c) =
                (ih as u16, iw as u16, ch as u16, oh as u16, ow as u16, ch as u16);
            (d.kernel_h, d.kernel_w, d.stride_h, d.stride_w) = (kh as u8, kw as u8, sh as u8, sw as u8);
            (d.pad_top, d.pad_left) = (pt as u8, pl as u8);
            d.pad_bottom = trailing_pad(ih, oh, kh, sh, 1, pt) as u8;
            d.pad_right = trailing_pad(iw, ow, kw, sw, 1, pl) as u8;
            d.act_min = i16_of(c, c.cfg("ACTIVATION_MIN"), "act min")?;
            d.act_max = i16_of(c, c.cfg("ACTIVATION_MAX"), "act max")?;
            d.out_ch_stride = ch as u16;
            let n = d.batch as usize * ih * iw * ch;
            d.input_addr = dev.put(&c.bytes("input_tensor")[..n]);
            expected_len = d.batch as usize * oh * ow * ch;
        }
        Family::Add => {
            let n = c.u("DST_SIZE");
            d.opcode = Some(Opcode::Add);
            d.requant = RequantMode::Fixed;
            d.in2_signed = true;
            (d.in_h, d.in_w, d.in_c, d.out_h, d.out_w, d.out_c) = (1, 1, n as u16, 1, 1, n as u16);
            d.in_zp = i16_of(c, -c.cfg("INPUT1_OFFSET"), "input 1 zero point")?;
            d.in2_zp = i16_of(c, -c.cfg("INPUT2_OFFSET"), "input 2 zero point")?;
            d.out_zp = i16_of(c, c.cfg("OUTPUT_OFFSET"), "output zero point")?;
            d.act_min = i16_of(c, c.cfg("OUT_ACTIVATION_MIN"), "act min")?;
            d.act_max = i16_of(c, c.cfg("OUT_ACTIVATION_MAX"), "act max")?;
            d.out_ch_stride = n as u16;
            let rec = PostParams::AddFixed {
                left_shift: c.cfg("LEFT_SHIFT") as i32,
                input1_multiplier: c.cfg("INPUT1_MULT") as i32,
                input1_shift: c.cfg("INPUT1_SHIFT") as i32,
                input2_multiplier: c.cfg("INPUT2_MULT") as i32,
                input2_shift: c.cfg("INPUT2_SHIFT") as i32,
                output_multiplier: c.cfg("OUTPUT_MULT") as i32,
                output_shift: c.cfg("OUTPUT_SHIFT") as i32,
            };
            let rec: Vec<u8> = rec.to_words().into_iter().flat_map(u32::to_le_bytes).collect();
            d.input_addr = dev.put(&c.bytes("input1")[..n]);
            d.input2_addr = dev.put(&c.bytes("input2")[..n]);
            d.param_addr = dev.put(&rec);
            expected_len = n;
        }
    }
    d.output_addr = dev.alloc(expected_len);
    d.validate().map_err(|e| format!("{}: the engine cannot take this case: {e}", c.name))?;
    let out = d.output_addr;
    Ok((dev, d, out, expected_len))
}

/// Every case of `<fixtures>/cmsis-nn`, sorted by file name; `None` (with a loud SKIP line) when
/// the folder is absent.
pub fn cases(fixtures: &Path) -> Option<Vec<Case>> {
    let dir = fixtures.join("cmsis-nn");
    if !dir.is_dir() {
        eprintln!("!!! SKIP: no CMSIS-NN vectors at {} (set SYSTOLE_FIXTURES) !!!", dir.display());
        return None;
    }
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .expect("read fixtures dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    Some(
        files
            .iter()
            .map(|p| {
                let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                let j: Json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                let obj = |k: &str| j.get(k).and_then(Json::as_object).cloned().unwrap_or_default();
                let name = j.get("case").and_then(Json::as_str).unwrap_or("?").to_string();
                Case { name, config: obj("config"), arrays: obj("arrays") }
            })
            .collect(),
    )
}
