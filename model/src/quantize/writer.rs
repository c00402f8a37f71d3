//! The QDQ model: the float graph with QuantizeLinear -> DequantizeLinear pairs on activations
//! and DequantizeLinear on int8 weights and int32 biases, named and shaped as onnxruntime's
//! `quantize_static` (QuantFormat.QDQ) names and shapes them, encoded with prost.
//!
//! Names: activation `t` -> `t_scale`, `t_zero_point`, `t_QuantizeLinear_Output`,
//! `t_DequantizeLinear_Output` (a graph output keeps its name on the DequantizeLinear, its
//! producer writes `t_QuantizeLinear_Input`); weight `W` -> `W_quantized`, `W_scale`,
//! `W_zero_point`, `W_DequantizeLinear_Output`; bias `B` -> `B_quantized`, `B_quantized_scale`,
//! `B_quantized_zero_point`, dequantized back under the name `B`.

use super::calibrate::Ranges;
use super::error::{QResult, QuantizeError};
use super::graph::{FloatGraph, FloatOp};
use super::params::{self, ActType, QParams, WeightType};
use super::plan::{ParamSource, Plan};
use super::{Options, TensorKind, TensorReport};
use crate::import::onnx::proto::{
    attribute_type, data_type, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
};
use crate::import::onnx::tensor::ConstTensor;
use crate::ir::{int4, TensorData};
use prost::Message;
use std::collections::{HashMap, HashSet};

/// Quantized weight: values (source layout), per-channel or per-tensor parameters.
struct QWeight {
    data: Vec<i8>,
    ty: WeightType,
    shape: Vec<usize>,
    scales: Vec<f32>,
    axis: Option<usize>,
}

/// Quantized bias: int32 values, per-channel (or one) scales, source shape.
struct QBias {
    values: Vec<i32>,
    scales: Vec<f32>,
    shape: Vec<usize>,
}

/// Writes the QDQ model; returns the encoded bytes and every quantized tensor's parameters.
pub fn write(g: &FloatGraph, plan: &Plan, ranges: &Ranges, opts: &Options) -> QResult<(Vec<u8>, Vec<TensorReport>)> {
    let act = opts.activation;
    let (qmin, qmax) = act.range();
    let ranges = adjust_ranges(g, ranges);
    let mut report = Vec::new();

    // Activation parameters from calibrated ranges.
    let mut act_params: HashMap<&str, QParams> = HashMap::new();
    for (name, source) in &plan.activations {
        if *source != ParamSource::Own {
            continue;
        }
        let &(lo, hi) = ranges
            .get(name.as_str())
            .ok_or_else(|| QuantizeError::BadModel(format!("tensor '{name}' was never computed during calibration")))?;
        let p = params::compute_scale_zp(lo, hi, qmin, qmax, false);
        act_params.insert(name, p);
        report.push(TensorReport {
            name: name.clone(),
            kind: TensorKind::Activation,
            scale: vec![p.scale],
            zero_point: vec![p.zero_point],
            range: Some((lo, hi)),
        });
    }
    let effective = |t: &str| -> QResult<QParams> {
        let owner = plan.param_owner(t);
        act_params
            .get(owner)
            .copied()
            .ok_or_else(|| QuantizeError::BadModel(format!("tensor '{t}' has no quantisation parameters")))
    };

    // Weight parameters, then onnxruntime's int32-bias adjustment, then the int8 values.
    let mut weight_scales: HashMap<&str, (Vec<f32>, Option<usize>)> = HashMap::new();
    for w in &plan.weights {
        let (shape, data) =
            g.float_const(&w.name).ok_or_else(|| QuantizeError::BadModel(format!("'{}' is not float", w.name)))?;
        let scales = match w.axis {
            Some(axis) => channels(shape, data, axis)
                .iter()
                .map(|c| params::weight_params(c, opts.reduce_range, opts.weights).scale)
                .collect(),
            None => vec![params::weight_params(data, opts.reduce_range, opts.weights).scale],
        };
        weight_scales.insert(&w.name, (scales, w.axis));
    }
    for b in &plan.biases {
        let (_, bias) =
            g.float_const(&b.name).ok_or_else(|| QuantizeError::BadModel(format!("'{}' is not float", b.name)))?;
        // onnxruntime uses the input's own calibrated scale here (not a shared one).
        let in_scale = match act_params.get(b.input.as_str()) {
            Some(p) => p.scale,
            None => effective(&b.input)?.scale,
        };
        if let Some((scales, _)) = weight_scales.get_mut(b.weight.as_str()) {
            params::adjust_weight_scales_for_bias(in_scale, scales, bias);
        }
    }
    let mut qweights: HashMap<&str, QWeight> = HashMap::new();
    for w in &plan.weights {
        let (shape, data) =
            g.float_const(&w.name).ok_or_else(|| QuantizeError::BadModel(format!("'{}' is not float", w.name)))?;
        let (scales, axis) = weight_scales[w.name.as_str()].clone();
        let range = opts.weights.clip_range();
        let q: Vec<i8> = match axis {
            Some(axis) => {
                let inner: usize = shape[axis + 1..].iter().product();
                let n = shape[axis];
                data.iter()
                    .enumerate()
                    .map(|(i, &v)| {
                        let c = (i / inner.max(1)) % n.max(1);
                        params::quantize_value(v, QParams { scale: scales[c], zero_point: 0 }, range) as i8
                    })
                    .collect()
            }
            None => data
                .iter()
                .map(|&v| params::quantize_value(v, QParams { scale: scales[0], zero_point: 0 }, range) as i8)
                .collect(),
        };
        report.push(TensorReport {
            name: w.name.clone(),
            kind: TensorKind::Weight,
            scale: scales.clone(),
            zero_point: vec![0; scales.len()],
            range: None,
        });
        qweights.insert(&w.name, QWeight { data: q, ty: opts.weights, shape: shape.to_vec(), scales, axis });
    }

    // int32 biases with scale f32(s_x * s_w).
    let mut qbiases: HashMap<&str, QBias> = HashMap::new();
    for b in &plan.biases {
        let (shape, bias) =
            g.float_const(&b.name).ok_or_else(|| QuantizeError::BadModel(format!("'{}' is not float", b.name)))?;
        let in_scale = effective(&b.input)?.scale;
        let w = &qweights[b.weight.as_str()];
        let scales: Vec<f32> = w.scales.iter().map(|&s| params::bias_scale(in_scale, s)).collect();
        if scales.len() != 1 && scales.len() != bias.len() {
            return Err(QuantizeError::BadModel(format!(
                "bias '{}' has {} values, weight '{}' {} channels",
                b.name,
                bias.len(),
                b.weight,
                scales.len()
            )));
        }
        let q = bias
            .iter()
            .enumerate()
            .map(|(i, &v)| params::quantize_bias(v, scales[if scales.len() == 1 { 0 } else { i }]))
            .collect();
        report.push(TensorReport {
            name: b.name.clone(),
            kind: TensorKind::Bias,
            scale: scales.clone(),
            zero_point: vec![0; scales.len()],
            range: None,
        });
        qbiases.insert(&b.name, QBias { values: q, scales, shape: shape.to_vec() });
    }

    let mut out = Emitter::new(g);
    let act_type = match act {
        ActType::Int8 => data_type::INT8,
        ActType::Uint8 => data_type::UINT8,
    };
    let graph_outputs: HashSet<String> = g.output_names().into_iter().collect();
    let dq_out =
        |t: &str| if graph_outputs.contains(t) { t.to_string() } else { format!("{t}_DequantizeLinear_Output") };

    // Scale / zero-point initializers of every activation with its own parameters.
    for (name, p) in plan
        .activations
        .iter()
        .filter_map(|(n, s)| (*s == ParamSource::Own).then_some(n))
        .map(|n| (n, act_params[n.as_str()]))
    {
        out.init(scalar_f32(&format!("{name}_scale"), p.scale))?;
        out.init(int_tensor(&format!("{name}_zero_point"), act_type, &[], &[p.zero_point]))?;
    }
    let qdq_pair = |out: &mut Emitter, t: &str| {
        let owner = plan.param_owner(t);
        let (scale, zp) = (format!("{owner}_scale"), format!("{owner}_zero_point"));
        let q_in = if graph_outputs.contains(t) { format!("{t}_QuantizeLinear_Input") } else { t.to_string() };
        let q_out = format!("{t}_QuantizeLinear_Output");
        out.node("QuantizeLinear", &format!("{t}_QuantizeLinear"), vec![q_in, scale.clone(), zp.clone()], &q_out, None);
        out.node("DequantizeLinear", &format!("{t}_DequantizeLinear"), vec![q_out, scale, zp], &dq_out(t), None);
    };
    for input in g.input_names() {
        if plan.is_activation(&input) {
            qdq_pair(&mut out, &input);
        }
    }
    let mut emitted_consts: HashSet<String> = HashSet::new();
    for (i, node) in g.nodes.iter().enumerate() {
        if plan.removed.contains(&i) {
            continue;
        }
        let mut inputs = Vec::with_capacity(node.proto.input.len());
        for s in &node.proto.input {
            if let Some(w) = qweights.get(s.as_str()) {
                if emitted_consts.insert(s.clone()) {
                    out.weight_dq(s, w)?;
                }
                inputs.push(format!("{s}_DequantizeLinear_Output"));
            } else if let Some(QBias { values: q, scales, shape }) = qbiases.get(s.as_str()) {
                if emitted_consts.insert(s.clone()) {
                    out.bias_dq(s, q, scales, shape)?;
                }
                inputs.push(s.clone());
            } else if plan.is_activation(s) {
                inputs.push(dq_out(s));
            } else {
                if let Some(c) = g.consts.get(s.as_str()) {
                    if emitted_consts.insert(s.clone()) {
                        out.init(g.raw_inits.get(s.as_str()).cloned().map_or_else(|| const_tensor(c), Ok)?)?;
                    }
                }
                inputs.push(s.clone());
            }
        }
        let output = plan.output_of.get(&i).cloned().unwrap_or_else(|| node.output.clone());
        let quantized = plan.is_activation(&output);
        let written = if quantized && graph_outputs.contains(&output) {
            format!("{output}_QuantizeLinear_Input")
        } else {
            output.clone()
        };
        let mut proto = node.proto.clone();
        proto.input = inputs;
        proto.output = vec![written];
        out.nodes.push(proto);
        if quantized {
            qdq_pair(&mut out, &output);
        } else if !matches!(node.op, FloatOp::Relu | FloatOp::Clip { .. }) {
            return Err(QuantizeError::unsupported(&node.op_type, &node.name, "its output would stay float"));
        }
    }
    Ok((out.finish(g, opts.weights)?, report))
}

/// `BaseQuantizer.adjust_tensor_ranges`: the input of a Relu / Clip with a single consumer takes
/// the activation's output range.
fn adjust_ranges(g: &FloatGraph, ranges: &Ranges) -> Ranges {
    let mut r = ranges.clone();
    let consumers = g.consumer_counts();
    for n in &g.nodes {
        if matches!(n.op, FloatOp::Relu | FloatOp::Clip { .. }) {
            let Some(input) = n.inputs.first() else { continue };
            if consumers.get(input.as_str()) == Some(&1) && r.contains_key(input) {
                if let Some(&out) = r.get(&n.output) {
                    r.insert(input.clone(), out);
                }
            }
        }
    }
    r
}

/// The values of each index along `axis` (numpy `take(i, axis)`), in row-major order.
fn channels(shape: &[usize], data: &[f32], axis: usize) -> Vec<Vec<f32>> {
    let n = shape.get(axis).copied().unwrap_or(1).max(1);
    let inner: usize = shape.get(axis + 1..).map_or(1, |s| s.iter().product());
    let mut out = vec![Vec::new(); n];
    for (i, &v) in data.iter().enumerate() {
        out[(i / inner.max(1)) % n].push(v);
    }
    out
}

fn tensor(name: &str, dtype: i32, dims: &[usize], raw: Vec<u8>) -> TensorProto {
    TensorProto {
        name: Some(name.to_string()),
        data_type: Some(dtype),
        dims: dims.iter().map(|&d| d as i64).collect(),
        raw_data: Some(raw),
        ..Default::default()
    }
}

fn scalar_f32(name: &str, v: f32) -> TensorProto {
    tensor(name, data_type::FLOAT, &[], v.to_le_bytes().to_vec())
}

fn f32_tensor(name: &str, dims: &[usize], v: &[f32]) -> TensorProto {
    tensor(name, data_type::FLOAT, dims, v.iter().flat_map(|x| x.to_le_bytes()).collect())
}

/// int8 / uint8 / int32 tensor from i32 values (already in range).
fn int_tensor(name: &str, dtype: i32, dims: &[usize], v: &[i32]) -> TensorProto {
    let raw = match dtype {
        data_type::INT8 => v.iter().map(|&x| x as i8 as u8).collect(),
        data_type::UINT8 => v.iter().map(|&x| x as u8).collect(),
        _ => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    };
    tensor(name, dtype, dims, raw)
}

/// A decoded constant (from a `Constant` node) back to a `TensorProto`.
fn const_tensor(c: &ConstTensor) -> QResult<TensorProto> {
    let (dtype, raw): (i32, Vec<u8>) = match &c.data {
        TensorData::F32(v) => (data_type::FLOAT, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        TensorData::I64(v) => (data_type::INT64, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        TensorData::I32(v) => (data_type::INT32, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        TensorData::I8(v) => (data_type::INT8, v.iter().map(|&x| x as u8).collect()),
        TensorData::U8(v) => (data_type::UINT8, v.clone()),
        TensorData::I16(v) => (data_type::INT16, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
    };
    Ok(tensor(&c.name, dtype, &c.shape, raw))
}

struct Emitter {
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    names: HashSet<String>,
}

impl Emitter {
    fn new(g: &FloatGraph) -> Self {
        // Names already taken by the float graph's tensors: new initializers must not collide.
        let mut names: HashSet<String> = g.input_names().into_iter().collect();
        names.extend(g.nodes.iter().map(|n| n.output.clone()));
        Emitter { nodes: Vec::new(), inits: Vec::new(), names }
    }

    fn init(&mut self, t: TensorProto) -> QResult<()> {
        let name = t.name.clone().unwrap_or_default();
        if !self.names.insert(name.clone()) {
            return Err(QuantizeError::BadModel(format!(
                "the quantized model needs a tensor named '{name}', which the float model already uses"
            )));
        }
        self.inits.push(t);
        Ok(())
    }

    fn node(&mut self, op: &str, name: &str, inputs: Vec<String>, output: &str, axis: Option<usize>) {
        let attribute = axis
            .map(|a| AttributeProto {
                name: Some("axis".into()),
                r#type: Some(attribute_type::INT),
                i: Some(a as i64),
                ..Default::default()
            })
            .into_iter()
            .collect();
        self.nodes.push(NodeProto {
            input: inputs,
            output: vec![output.to_string()],
            name: Some(name.to_string()),
            op_type: Some(op.to_string()),
            attribute,
            domain: Some(String::new()),
        });
    }

    fn weight_dq(&mut self, name: &str, w: &QWeight) -> QResult<()> {
        let q = format!("{name}_quantized");
        let (scale, zp) = (format!("{name}_scale"), format!("{name}_zero_point"));
        let dims: Vec<usize> = if w.axis.is_some() { vec![w.scales.len()] } else { vec![] };
        let zeros = vec![0i8; w.scales.len()];
        match w.ty {
            WeightType::Int8 => {
                self.init(tensor(&q, data_type::INT8, &w.shape, w.data.iter().map(|&x| x as u8).collect()))?;
                self.init(f32_tensor(&scale, &dims, &w.scales))?;
                self.init(int_tensor(&zp, data_type::INT8, &dims, &vec![0; w.scales.len()]))?;
            }
            WeightType::Int4 => {
                // ONNX INT4 raw_data: two values per byte, low nibble first (as onnxruntime's
                // `pack_bytes_to_4bit`); the zero point has the weight's type.
                let pack = |v: &[i8]| {
                    int4::pack_i4(v).map_err(|e| QuantizeError::BadModel(format!("int4 weight '{name}': {e}")))
                };
                self.init(tensor(&q, data_type::INT4, &w.shape, pack(&w.data)?))?;
                self.init(f32_tensor(&scale, &dims, &w.scales))?;
                self.init(tensor(&zp, data_type::INT4, &dims, pack(&zeros)?))?;
            }
        }
        self.node(
            "DequantizeLinear",
            &format!("{name}_DequantizeLinear"),
            vec![q, scale, zp],
            &format!("{name}_DequantizeLinear_Output"),
            w.axis,
        );
        Ok(())
    }

    fn bias_dq(&mut self, name: &str, q: &[i32], scales: &[f32], shape: &[usize]) -> QResult<()> {
        let qn = format!("{name}_quantized");
        let (scale, zp) = (format!("{qn}_scale"), format!("{qn}_zero_point"));
        self.init(int_tensor(&qn, data_type::INT32, shape, q))?;
        // onnxruntime: scale reshaped to 1-D; zero point 1-D when per channel, else a scalar.
        self.init(f32_tensor(&scale, &[scales.len()], scales))?;
        let zp_dims: Vec<usize> = if scales.len() > 1 { vec![scales.len()] } else { vec![] };
        self.init(int_tensor(&zp, data_type::INT32, &zp_dims, &vec![0; scales.len()]))?;
        let axis = (scales.len() > 1).then_some(0);
        self.names.insert(name.to_string());
        self.node("DequantizeLinear", &format!("{name}_DequantizeLinear"), vec![qn, scale, zp], name, axis);
        Ok(())
    }

    fn finish(self, g: &FloatGraph, weights: WeightType) -> QResult<Vec<u8>> {
        // INT4 tensors need IR version 10 and DequantizeLinear-21 (onnxruntime's quantize_static
        // would put them in the com.microsoft domain below opset 21; the standard op is kept here).
        let (ir_version, opset) = match weights {
            WeightType::Int8 => (g.ir_version, g.opset),
            WeightType::Int4 => (g.ir_version.max(10), g.opset.max(21)),
        };
        let model = ModelProto {
            ir_version: Some(ir_version),
            producer_name: Some("systole".into()),
            producer_version: Some(env!("CARGO_PKG_VERSION").into()),
            graph: Some(GraphProto {
                node: self.nodes,
                name: Some(g.name.clone()),
                initializer: self.inits,
                input: g.inputs.clone(),
                output: g.outputs.clone(),
                value_info: Vec::new(),
                sparse_initializer: Vec::new(),
            }),
            opset_import: vec![OperatorSetIdProto { domain: Some(String::new()), version: Some(opset) }],
        };
        Ok(model.encode_to_vec())
    }
}
