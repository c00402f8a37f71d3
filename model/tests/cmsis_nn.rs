//! ARM CMSIS-NN int8 unit-test vectors through the reference kernels, bit for bit.
//!
//! Every case of `../shared/fixtures/cmsis-nn` (or `$SYSTOLE_FIXTURES/cmsis-nn`) that is a conv,
//! depthwise conv, grouped conv, fully connected, pooling, add, mul, softmax or pad is run and its
//! `output_ref` (or `output`) must match exactly. `*_int4` cases (two signed 4-bit weights per
//! byte, low nibble first, the whole tensor packed as one stream) are unpacked with
//! `ir::int4::unpack_i4` and run through the same kernels; see [`INCONSISTENT_INT4`] for the conv
//! cases whose stored vectors do not belong together. Skipped on purpose: `requantize_s64` (int16
//! activations). The conventions are those of the fixtures README: INPUT_OFFSET = -zp, PAD_X /
//! PAD_Y leading pads, OHWI conv weights, depthwise weights [1, KH, KW, C_out], per-channel
//! `output_mult` / `output_shift` (positive = left shift).

use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::path::PathBuf;
use systole_model::ir::int4::unpack_i4;
use systole_model::ir::{Activation, Conv2dAttrs, Padding2d, Pool2dAttrs};
use systole_model::kernels::conv::{conv2d_q, Conv2dGeometry, ConvQuant};
use systole_model::kernels::elementwise::{add_tflite, mul_tflite, TfliteAddParams, TfliteMulParams};
use systole_model::kernels::fc::{fully_connected_q, FcGeometry, FcQuant};
use systole_model::kernels::layout::pad;
use systole_model::kernels::pool::{avg_pool_tflite, max_pool, Pool2dGeometry};
use systole_model::kernels::softmax::{softmax_tflite, TfliteSoftmaxParams};
use systole_model::quant::{OutputStage, Requant};

fn fixtures_dir() -> PathBuf {
    std::env::var_os("SYSTOLE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures")))
}

struct Case {
    name: String,
    config: serde_json::Map<String, Json>,
    arrays: serde_json::Map<String, Json>,
}

impl Case {
    fn cfg(&self, key: &str) -> i64 {
        self.config
            .get(key)
            .and_then(Json::as_i64)
            .unwrap_or_else(|| panic!("{}: config {key} missing or not an integer", self.name))
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
        let a = self.arrays.get(key).unwrap_or_else(|| panic!("{}: array {key} missing", self.name));
        let data = a.get("data").unwrap_or(a);
        data.as_array()
            .unwrap_or_else(|| panic!("{}: array {key} is not a list", self.name))
            .iter()
            .map(|v| v.as_i64().unwrap_or_else(|| panic!("{}: {key} holds a non-integer", self.name)))
            .collect()
    }
    fn i8s(&self, key: &str) -> Vec<i8> {
        self.arr(key).into_iter().map(|v| i8::try_from(v).expect("int8 value")).collect()
    }
    /// The first array of `keys` that exists, as weights: unpacked from 4-bit nibbles for
    /// `*_int4` cases (`count` values), else the int8 values as they are.
    fn weights(&self, keys: &[&str], count: usize) -> Vec<i8> {
        let key = keys.iter().find(|k| self.has(k)).unwrap_or_else(|| panic!("{}: no weights", self.name));
        if !self.is_int4() {
            return self.i8s(key);
        }
        // The converter keeps the C type (int8_t) but some headers store the bytes as 0..255.
        let bytes: Vec<u8> = self.arr(key).into_iter().map(|v| v as u8).collect();
        assert_eq!(
            bytes.len(),
            count.div_ceil(2),
            "{}: {key} holds {} bytes for {count} int4 values",
            self.name,
            bytes.len()
        );
        unpack_i4(&bytes, count)
    }
    fn is_int4(&self) -> bool {
        self.name.contains("int4")
    }
    fn i32s(&self, key: &str) -> Vec<i32> {
        self.arr(key).into_iter().map(|v| i32::try_from(v).expect("int32 value")).collect()
    }
    /// The expected output: `output_ref`, else `output`, truncated to `len` elements.
    fn expected(&self, len: usize) -> Vec<i8> {
        let key = if self.has("output_ref") { "output_ref" } else { "output" };
        let v = self.i8s(key);
        assert!(v.len() >= len, "{}: {key} has {} values, need {len}", self.name, v.len());
        v[..len].to_vec()
    }
}

/// `*_int4` conv cases whose stored arrays cannot come from one convolution: with the test's
/// own `weights`, `input`, `biases`, `output_mult` / `output_shift` (the arrays
/// `test_arm_convolve_s4.c` passes to `arm_convolve_s4`) no reading of the packed weights (low or
/// high nibble first, OHWI / HWIO / OIHW / IHWO / OWHI, the leftover `input_weights`,
/// `output_multiplier`, `input_bias` arrays, `output` instead of `output_ref`) reproduces
/// `output_ref`, while the same kernels reproduce all int4 depthwise and fully-connected cases and
/// the three int4 conv cases not listed here (`basic_int4`, `kernel1x1_int4`,
/// `kernel1x1_stride_x_y_1_int4`). The plainest witness is `conv_5_int4`: bias 0,
/// output offset 0 and 16384 random inputs, yet its `output_ref` is -88 in all 32 positions. The
/// fixture's headers were evidently taken from different generator runs (several folders also
/// hold stale `input_weights` / `output` arrays). The test requires each of these to still
/// mismatch, so a corrected fixture makes it fail and the case moves to the exact set.
const INCONSISTENT_INT4: [&str; 23] = [
    "basic_2_int4",
    "conv_1_x_n_1_int4",
    "conv_1_x_n_2_int4",
    "conv_1_x_n_3_int4",
    "conv_1_x_n_4_int4",
    "conv_1_x_n_5_int4",
    "conv_2_int4",
    "conv_2x2_dilation_5x5_input_int4",
    "conv_2x2_dilation_int4",
    "conv_2x3_dilation_int4",
    "conv_3_int4",
    "conv_3x2_dilation_int4",
    "conv_3x3_dilation_5x5_input_int4",
    "conv_4_int4",
    "conv_5_int4",
    "conv_dilation_golden_int4",
    "conv_out_activation_int4",
    "kernel1x1_int4_2",
    "kernel1x1_int4_3",
    "kernel1x1_stride_x_int4",
    "kernel1x1_stride_x_y_2_int4",
    "kernel1x1_stride_x_y_int4",
    "stride2pad1_int4",
];

fn stage(mult: Vec<i32>, shift: Vec<i32>, zp: i32, act_min: i32, act_max: i32) -> OutputStage {
    OutputStage {
        requant: Requant::Fixed { multiplier: mult, shift },
        zero_point: zp,
        qmin: -128,
        qmax: 127,
        act_min,
        act_max,
    }
}

/// Trailing pad that makes `window_output` produce `out`.
fn trailing_pad(input: usize, out: usize, kernel: usize, stride: usize, dilation: usize, lead: usize) -> usize {
    let needed = (out - 1) * stride + (kernel - 1) * dilation + 1;
    needed.saturating_sub(input + lead)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Family {
    Conv,
    Depthwise,
    Grouped,
    FullyConnected,
    AvgPool,
    MaxPool,
    Add,
    Mul,
    Softmax,
    Pad,
}

fn family(c: &Case) -> Option<Family> {
    let n = c.name.as_str();
    if n == "requantize_s64" {
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
    } else if n == "mul" {
        Family::Mul
    } else if has("ROW_SIZE") {
        Family::Softmax
    } else if has("PRE_PAD_N") {
        Family::Pad
    } else if has("FILTER_X") {
        Family::Conv
    } else {
        return None;
    })
}

fn run_conv(c: &Case, fam: Family) -> (Vec<i8>, Vec<i8>) {
    let (in_c, out_c) = (c.u("IN_CH"), c.u("OUT_CH"));
    let (kh, kw) = (c.u("FILTER_Y"), c.u("FILTER_X"));
    let (sh, sw) = (c.u("STRIDE_Y"), c.u("STRIDE_X"));
    let (dh, dw) = (c.cfg_or("DILATION_Y", 1) as usize, c.cfg_or("DILATION_X", 1) as usize);
    let (ih, iw) = (c.u("INPUT_H"), c.u("INPUT_W"));
    let (oh, ow) = (c.u("OUTPUT_H"), c.u("OUTPUT_W"));
    let (pt, pl) = (c.u("PAD_Y"), c.u("PAD_X"));
    let batch = c.cfg_or("INPUT_BATCHES", 1) as usize;
    let padding = Padding2d {
        top: pt,
        left: pl,
        bottom: trailing_pad(ih, oh, kh, sh, dh, pt),
        right: trailing_pad(iw, ow, kw, sw, dw, pl),
    };
    let w_in_plain = match fam {
        Family::Depthwise => 1,
        Family::Grouped => c.cfg_or("FILTER_CH", in_c as i64) as usize,
        _ => in_c,
    };
    let mut weights = c.weights(&["weights"], out_c * kh * kw * w_in_plain);
    let (groups, w_in) = match fam {
        Family::Depthwise => {
            // [1, KH, KW, C_out] -> OHWI [C_out, KH, KW, 1]
            let mut t = vec![0i8; weights.len()];
            for k in 0..kh * kw {
                for o in 0..out_c {
                    t[o * kh * kw + k] = weights[k * out_c + o];
                }
            }
            weights = t;
            (in_c, 1)
        }
        Family::Grouped => {
            let filter_ch = c.cfg_or("FILTER_CH", in_c as i64) as usize;
            (in_c / filter_ch, filter_ch)
        }
        _ => (1, in_c),
    };
    let attrs = Conv2dAttrs { stride: [sh, sw], dilation: [dh, dw], padding, groups, activation: Activation::None };
    let g = Conv2dGeometry::new(&[batch, ih, iw, in_c], &[out_c, kh, kw, w_in], &attrs)
        .unwrap_or_else(|e| panic!("{}: {e}", c.name));
    assert_eq!((g.out_h, g.out_w), (oh, ow), "{}: output size", c.name);
    let input = c.i8s("input");
    // Some int4 folders hold longer `input` arrays than their config (see INCONSISTENT_INT4).
    let input = input.get(..g.input_len()).unwrap_or(&input).to_vec();
    let bias = c.i32s("biases");
    let st = stage(
        c.i32s("output_mult"),
        c.i32s("output_shift"),
        c.cfg("OUTPUT_OFFSET") as i32,
        c.cfg("OUT_ACTIVATION_MIN") as i32,
        c.cfg("OUT_ACTIVATION_MAX") as i32,
    );
    let q = ConvQuant::symmetric(-(c.cfg("INPUT_OFFSET") as i32));
    let mut out = vec![0i8; g.output_len()];
    conv2d_q(&g, &q, &input, &weights, Some(&bias), &st, &mut out).unwrap_or_else(|e| panic!("{}: {e}", c.name));
    (out, c.expected(g.output_len()))
}

fn run_fc(c: &Case) -> (Vec<i8>, Vec<i8>) {
    let k = c.u("ACCUMULATION_DEPTH");
    let out_c = c.u("OUT_CH");
    let batches = c.cfg_or("INPUT_BATCHES", 1) as usize;
    let input = c.i8s("input");
    let input = input[..batches * k].to_vec();
    let weights = c.weights(&["weights", "input_weights"], out_c * k);
    let g = FcGeometry::new(input.len(), &[out_c, k]).unwrap_or_else(|e| panic!("{}: {e}", c.name));
    let bias = ["biases", "bias", "input_bias"].iter().find(|k| c.has(k)).map(|k| c.i32s(k));
    let (mult, shift) = if c.config.contains_key("OUTPUT_MULTIPLIER") {
        (vec![c.cfg("OUTPUT_MULTIPLIER") as i32], vec![c.cfg("OUTPUT_SHIFT") as i32])
    } else {
        (c.i32s("output_multiplier"), c.i32s("output_shift"))
    };
    let st = stage(
        mult,
        shift,
        c.cfg("OUTPUT_OFFSET") as i32,
        c.cfg("OUT_ACTIVATION_MIN") as i32,
        c.cfg("OUT_ACTIVATION_MAX") as i32,
    );
    // CMSIS adds FILTER_OFFSET to the weights: zero point = -FILTER_OFFSET.
    let q = FcQuant {
        input_zero_point: -(c.cfg("INPUT_OFFSET") as i32),
        weight_zero_points: vec![-(c.cfg_or("FILTER_OFFSET", 0) as i32)],
    };
    let mut out = vec![0i8; batches * out_c];
    fully_connected_q(&g, &q, &input, &weights, bias.as_deref(), &st, &mut out)
        .unwrap_or_else(|e| panic!("{}: {e}", c.name));
    (out, c.expected(batches * out_c))
}

fn run_pool(c: &Case, fam: Family) -> (Vec<i8>, Vec<i8>) {
    let batch = c.u("BATCH_SIZE");
    let (ih, iw, ch) = (c.u("INPUT_H"), c.u("INPUT_W"), c.u("INPUT_C"));
    let (kh, kw) = (c.u("FILTER_H"), c.u("FILTER_W"));
    let (sh, sw) = (c.u("STRIDE_H"), c.u("STRIDE_W"));
    let (oh, ow) = (c.u("OUTPUT_H"), c.u("OUTPUT_W"));
    let (pt, pl) = (c.u("PADDING_H"), c.u("PADDING_W"));
    let padding = Padding2d {
        top: pt,
        left: pl,
        bottom: trailing_pad(ih, oh, kh, sh, 1, pt),
        right: trailing_pad(iw, ow, kw, sw, 1, pl),
    };
    let attrs = Pool2dAttrs {
        kernel: [kh, kw],
        stride: [sh, sw],
        padding,
        activation: Activation::None,
        count_include_pad: false,
    };
    let g = Pool2dGeometry::new(&[batch, ih, iw, ch], &attrs).unwrap_or_else(|e| panic!("{}: {e}", c.name));
    assert_eq!((g.out_h, g.out_w), (oh, ow), "{}: output size", c.name);
    let input = c.i8s("input_tensor");
    let input = input[..g.input_len()].to_vec();
    let (lo, hi) = (c.cfg("ACTIVATION_MIN") as i32, c.cfg("ACTIVATION_MAX") as i32);
    let mut out = vec![0i8; g.output_len()];
    match fam {
        Family::AvgPool => avg_pool_tflite(&g, false, lo, hi, &input, &mut out),
        _ => max_pool(&g, lo, hi, &input, &mut out),
    }
    .unwrap_or_else(|e| panic!("{}: {e}", c.name));
    (out, c.expected(g.output_len()))
}

fn run_add(c: &Case) -> (Vec<i8>, Vec<i8>) {
    let n = c.u("DST_SIZE");
    let p = TfliteAddParams {
        input1_offset: c.cfg("INPUT1_OFFSET") as i32,
        input2_offset: c.cfg("INPUT2_OFFSET") as i32,
        left_shift: c.cfg("LEFT_SHIFT") as i32,
        input1_multiplier: c.cfg("INPUT1_MULT") as i32,
        input1_shift: c.cfg("INPUT1_SHIFT") as i32,
        input2_multiplier: c.cfg("INPUT2_MULT") as i32,
        input2_shift: c.cfg("INPUT2_SHIFT") as i32,
        output_multiplier: c.cfg("OUTPUT_MULT") as i32,
        output_shift: c.cfg("OUTPUT_SHIFT") as i32,
        output_offset: c.cfg("OUTPUT_OFFSET") as i32,
        act_min: c.cfg("OUT_ACTIVATION_MIN") as i32,
        act_max: c.cfg("OUT_ACTIVATION_MAX") as i32,
    };
    let mut out = vec![0i8; n];
    add_tflite(&p, &[n], &c.i8s("input1"), &[n], &c.i8s("input2"), &[n], &mut out).expect("add");
    (out, c.expected(n))
}

fn run_mul(c: &Case) -> (Vec<i8>, Vec<i8>) {
    let n = c.u("DST_SIZE");
    let p = TfliteMulParams {
        input1_offset: c.cfg("INPUT1_OFFSET") as i32,
        input2_offset: c.cfg("INPUT2_OFFSET") as i32,
        output_multiplier: c.cfg("OUTPUT_MULT") as i32,
        output_shift: c.cfg("OUTPUT_SHIFT") as i32,
        output_offset: c.cfg("OUTPUT_OFFSET") as i32,
        act_min: c.cfg("OUT_ACTIVATION_MIN") as i32,
        act_max: c.cfg("OUT_ACTIVATION_MAX") as i32,
    };
    let mut out = vec![0i8; n];
    mul_tflite(&p, &[n], &c.i8s("input1"), &[n], &c.i8s("input2"), &[n], &mut out).expect("mul");
    (out, c.expected(n))
}

fn run_softmax(c: &Case) -> (Vec<i8>, Vec<i8>) {
    let (rows, depth) = (c.u("NUM_ROWS"), c.u("ROW_SIZE"));
    let p = TfliteSoftmaxParams {
        input_multiplier: c.cfg("INPUT_MULT") as i32,
        input_left_shift: c.cfg("INPUT_LEFT_SHIFT") as i32,
        diff_min: c.cfg("DIFF_MIN") as i32,
    };
    let mut out = vec![0i8; rows * depth];
    softmax_tflite(&p, rows, depth, &c.i8s("input"), &mut out).expect("softmax");
    (out, c.expected(rows * depth))
}

fn run_pad(c: &Case) -> (Vec<i8>, Vec<i8>) {
    let shape = [c.u("INPUT_N"), c.u("INPUT_H"), c.u("INPUT_W"), c.u("INPUT_C")];
    let pads = [
        (c.u("PRE_PAD_N"), c.u("POST_PAD_N")),
        (c.u("PRE_PAD_H"), c.u("POST_PAD_H")),
        (c.u("PRE_PAD_W"), c.u("POST_PAD_W")),
        (c.u("PRE_PAD_C"), c.u("POST_PAD_C")),
    ];
    let n: usize = shape.iter().zip(&pads).map(|(&d, &(b, a))| d + b + a).product();
    assert_eq!(n, c.u("OUTPUT_SIZE"), "{}: output size", c.name);
    let mut out = vec![0i8; n];
    pad(&shape, &pads, c.cfg("PAD_VALUE") as i8, &c.i8s("input_tensor"), &mut out).expect("pad");
    (out, c.expected(n))
}

#[test]
fn cmsis_nn_int8_vectors_match_exactly() {
    let dir = fixtures_dir().join("cmsis-nn");
    if !dir.is_dir() {
        eprintln!("SKIP: CMSIS-NN fixtures not found at {} (set SYSTOLE_FIXTURES)", dir.display());
        eprintln!("SKIP: ******** cmsis_nn_int8_vectors_match_exactly ran NO cases ********");
        return;
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read fixtures dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut matched: BTreeMap<Family, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    let (mut int4_exact, mut int4_inconsistent) = (Vec::new(), Vec::new());
    for path in &files {
        let text = std::fs::read_to_string(path).expect("read case");
        let json: Json = serde_json::from_str(&text).expect("parse case");
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        let obj = |k: &str| json.get(k).and_then(Json::as_object).cloned().unwrap_or_default();
        let case = Case { name, config: obj("config"), arrays: obj("arrays") };
        let Some(fam) = family(&case) else { continue };
        let (got, want) = match fam {
            Family::Conv | Family::Depthwise | Family::Grouped => run_conv(&case, fam),
            Family::FullyConnected => run_fc(&case),
            Family::AvgPool | Family::MaxPool => run_pool(&case, fam),
            Family::Add => run_add(&case),
            Family::Mul => run_mul(&case),
            Family::Softmax => run_softmax(&case),
            Family::Pad => run_pad(&case),
        };
        if INCONSISTENT_INT4.contains(&case.name.as_str()) {
            if got == want {
                failures.push(format!("{}: listed as inconsistent but now matches; move it", case.name));
            } else {
                int4_inconsistent.push(case.name.clone());
            }
            continue;
        }
        if case.is_int4() && got == want {
            int4_exact.push(format!("{} ({fam:?})", case.name));
        }
        let entry = matched.entry(fam).or_default();
        entry.1 += 1;
        if got == want {
            entry.0 += 1;
        } else {
            let diffs = got.iter().zip(&want).filter(|(a, b)| a != b).count();
            failures.push(format!("{} ({fam:?}): {diffs} of {} outputs differ", case.name, want.len()));
        }
    }
    for (fam, (ok, total)) in &matched {
        println!("cmsis-nn {fam:?}: {ok}/{total} exact");
    }
    println!("cmsis-nn int4: {} exact: {}", int4_exact.len(), int4_exact.join(", "));
    println!("cmsis-nn int4: {} inconsistent fixtures (see INCONSISTENT_INT4)", int4_inconsistent.len());
    assert!(failures.is_empty(), "mismatches:\n{}", failures.join("\n"));
    assert_eq!(int4_inconsistent.len(), INCONSISTENT_INT4.len(), "an INCONSISTENT_INT4 case is missing");
    assert!(int4_exact.len() >= 19, "only {} int4 cases ran exact", int4_exact.len());
    // A conformance test that silently ran nothing must fail.
    let minimum = [
        (Family::Conv, 20),
        (Family::Depthwise, 10),
        (Family::Grouped, 4),
        (Family::FullyConnected, 5),
        (Family::AvgPool, 6),
        (Family::MaxPool, 8),
        (Family::Add, 1),
        (Family::Mul, 1),
        (Family::Softmax, 1),
        (Family::Pad, 2),
    ];
    for (fam, min) in minimum {
        let n = matched.get(&fam).map_or(0, |e| e.1);
        assert!(n >= min, "only {n} {fam:?} cases ran, expected at least {min}");
    }
}
