//! The graph walk: ONNX values to IR tensors, node dispatch, graph inputs and outputs.
//!
//! Every ONNX value maps to a [`Val`]. Constants and dequantized constants stay symbolic until an
//! op consumes them (a weight is transposed to OHWI only when a convolution reads it); the float
//! output of a `DequantizeLinear` of an activation stays a *view* of the quantized IR tensor
//! ([`Val::Dq`]), so the QDQ pattern matcher sees integer tensors and the float value is only
//! materialised (an IR `Dequantize`) where something outside a fused pattern needs it.

use super::attrs::NodeCtx;
use super::layout::{self, Layout};
use super::proto::{GraphProto, NodeProto, ValueInfoProto};
use super::tensor::{checked_count, decode_tensor, dtype_of, ConstTensor};
use crate::error::{ModelError, Result};
use crate::ir::{DType, Graph, Node, Numerics, Op, Quantization, SourceFormat, Tensor, TensorData, TensorId, Value};
use crate::shape;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

/// Quantisation parameters as an ONNX node gives them (scale / zero point inputs), with the
/// per-axis `axis` counted in the ONNX (source) layout of the quantized value.
#[derive(Clone, Debug, PartialEq)]
pub struct QParams {
    pub scale: Vec<f32>,
    /// One entry, or one per scale.
    pub zero_point: Vec<i32>,
    pub axis: Option<usize>,
    /// Element type of the quantized values (the zero point's type).
    pub dtype: DType,
}

impl QParams {
    pub fn per_tensor(scale: f32, zero_point: i32, dtype: DType) -> QParams {
        QParams { scale: vec![scale], zero_point: vec![zero_point], axis: None, dtype }
    }

    pub fn is_per_tensor(&self) -> bool {
        self.scale.len() == 1 && self.zero_point.len() == 1
    }

    /// The IR quantisation of a tensor holding these values in `layout`.
    pub fn to_ir(&self, layout: Layout) -> Quantization {
        match self.axis {
            Some(axis) if self.scale.len() > 1 || self.zero_point.len() > 1 => Quantization {
                scale: self.scale.clone(),
                zero_point: self.zero_point.clone(),
                axis: Some(layout::ir_axis(layout, axis)),
            },
            _ => Quantization::per_tensor(self.scale[0], self.zero_point[0]),
        }
    }

    /// Same scales (bit for bit), zero points and axis.
    pub fn same_as(&self, other: &QParams) -> bool {
        let bits = |v: &[f32]| v.iter().map(|s| s.to_bits()).collect::<Vec<_>>();
        self.dtype == other.dtype
            && bits(&self.scale) == bits(&other.scale)
            && self.zero_point == other.zero_point
            && (self.is_per_tensor() || self.axis == other.axis)
    }
}

/// What an ONNX value is, from the importer's point of view.
#[derive(Clone, Debug)]
pub enum Val {
    /// An initializer, `Constant` output or bound graph input (source layout).
    Const(Rc<ConstTensor>),
    /// `DequantizeLinear` of a constant: quantized data plus its parameters.
    DqConst(Rc<ConstTensor>, QParams),
    /// An IR tensor (float, quantized or int32), in the layout recorded for it.
    Act(TensorId),
    /// The float output of `DequantizeLinear` of quantized IR tensor `id`, with the tensor's own
    /// quantisation; not materialised unless needed.
    Dq(TensorId),
}

pub struct Converter<'m> {
    pub g: Graph,
    layouts: Vec<Layout>,
    vals: HashMap<String, Val>,
    pub nodes: &'m [NodeProto],
    consumers: HashMap<&'m str, Vec<usize>>,
    graph_outputs: HashSet<&'m str>,
    pub skip: Vec<bool>,
    /// Version of the default ONNX opset (defaults differ between versions, e.g. Softmax axis).
    pub opset: i64,
    transposed: HashMap<(TensorId, Layout), TensorId>,
    dequantized: HashMap<TensorId, TensorId>,
    node_names: HashSet<String>,
    tensor_names: HashSet<String>,
}

/// Decoded model plus the names bound to constants.
pub fn convert_graph(graph: &GraphProto, name: &str, opset: i64, constants: &[(String, Value)]) -> Result<Graph> {
    let mut c = Converter::new(graph, name, opset);
    c.load_initializers(graph)?;
    c.load_inputs(graph, constants)?;
    for (i, node) in graph.node.iter().enumerate() {
        if c.skip[i] {
            continue;
        }
        let ctx = NodeCtx { node, name: c.node_name_for(node, i) };
        c.convert_node(&ctx)?;
    }
    c.finish_outputs(&graph.output)?;
    shape::validate(&c.g)?;
    Ok(c.g)
}

impl<'m> Converter<'m> {
    fn new(graph: &'m GraphProto, name: &str, opset: i64) -> Self {
        let mut consumers: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, n) in graph.node.iter().enumerate() {
            for inp in n.input.iter().filter(|s| !s.is_empty()) {
                consumers.entry(inp.as_str()).or_default().push(i);
            }
        }
        let graph_outputs = graph.output.iter().filter_map(|o| o.name.as_deref()).collect();
        Converter {
            g: Graph::new(name, SourceFormat::Onnx, Numerics::Onnxruntime),
            layouts: Vec::new(),
            vals: HashMap::new(),
            nodes: &graph.node,
            consumers,
            graph_outputs,
            skip: vec![false; graph.node.len()],
            opset,
            transposed: HashMap::new(),
            dequantized: HashMap::new(),
            node_names: HashSet::new(),
            tensor_names: HashSet::new(),
        }
    }

    // ---------------------------------------------------------------- values ----

    pub fn val(&self, ctx: &NodeCtx, name: &str) -> Result<Val> {
        self.vals.get(name).cloned().ok_or_else(|| {
            ctx.invalid(format!(
                "reads '{name}', which no earlier node, initializer or graph input defines \
                 (ONNX graphs must list nodes in topological order)"
            ))
        })
    }

    pub fn opt_val(&self, ctx: &NodeCtx, i: usize) -> Result<Option<Val>> {
        ctx.input(i).map(|n| self.val(ctx, n)).transpose()
    }

    pub fn define(&mut self, ctx: &NodeCtx, name: &str, v: Val) -> Result<()> {
        if self.vals.insert(name.to_string(), v).is_some() {
            return Err(ctx.invalid(format!("writes '{name}', which is already defined")));
        }
        Ok(())
    }

    /// Nodes reading `value`, and whether it is a graph output.
    pub fn consumers_of(&self, value: &str) -> (&[usize], bool) {
        (self.consumers.get(value).map_or(&[][..], Vec::as_slice), self.graph_outputs.contains(value))
    }

    /// Shape of a value in ONNX terms (NCHW for a 4-D activation stored NHWC).
    pub fn source_shape(&self, v: &Val) -> Vec<usize> {
        match v {
            Val::Const(c) | Val::DqConst(c, _) => c.shape.clone(),
            Val::Act(t) | Val::Dq(t) => {
                let s = &self.g.tensors[*t].shape;
                match self.layouts[*t] {
                    Layout::Source => s.clone(),
                    Layout::Nhwc => layout::permute_shape(s, &layout::TO_NCHW),
                }
            }
        }
    }

    pub fn layout_of(&self, t: TensorId) -> Layout {
        self.layouts[t]
    }

    pub fn tensor(&self, t: TensorId) -> &Tensor {
        &self.g.tensors[t]
    }

    // --------------------------------------------------------------- tensors ----

    fn unique(set: &mut HashSet<String>, base: &str) -> String {
        let base = if base.is_empty() { "t" } else { base };
        if set.insert(base.to_string()) {
            return base.to_string();
        }
        let mut i = 1;
        loop {
            let candidate = format!("{base}_{i}");
            if set.insert(candidate.clone()) {
                return candidate;
            }
            i += 1;
        }
    }

    fn node_name_for(&mut self, node: &NodeProto, index: usize) -> String {
        let base = match node.name.as_deref() {
            Some(n) if !n.is_empty() => n.to_string(),
            _ => format!("{}_{index}", node.op()),
        };
        Self::unique(&mut self.node_names, &base)
    }

    pub fn fresh_node_name(&mut self, base: &str) -> String {
        Self::unique(&mut self.node_names, base)
    }

    pub fn new_tensor(
        &mut self,
        name: &str,
        shape: Vec<usize>,
        dtype: DType,
        quant: Option<Quantization>,
        layout: Layout,
    ) -> TensorId {
        let name = Self::unique(&mut self.tensor_names, name);
        let layout = if shape.len() == 4 { layout } else { Layout::Source };
        self.layouts.push(layout);
        self.g.add_tensor(Tensor::activation(name, shape, dtype, quant))
    }

    /// An IR constant (already in the layout the consuming op wants).
    pub fn new_const(
        &mut self,
        name: &str,
        shape: Vec<usize>,
        dtype: DType,
        quant: Option<Quantization>,
        data: TensorData,
    ) -> TensorId {
        let name = Self::unique(&mut self.tensor_names, name);
        self.layouts.push(Layout::Source);
        self.g.add_tensor(Tensor::constant(name, shape, dtype, quant, data))
    }

    pub fn push_node(&mut self, name: String, op: Op, inputs: Vec<TensorId>, output: TensorId) {
        self.g.nodes.push(Node { name, op, inputs, outputs: vec![output] });
    }

    /// Adds `op` with its output shape inferred from the inputs.
    #[allow(clippy::too_many_arguments)]
    pub fn emit(
        &mut self,
        ctx: &NodeCtx,
        node_name: String,
        op: Op,
        inputs: Vec<TensorId>,
        out_name: &str,
        dtype: DType,
        quant: Option<Quantization>,
        layout: Layout,
    ) -> Result<TensorId> {
        let shapes: Vec<&[usize]> = inputs.iter().map(|&i| self.g.tensors[i].shape.as_slice()).collect();
        let shape = shape::infer(&op, &shapes).map_err(|r| ctx.invalid(r))?;
        self.emit_with_shape(ctx, node_name, op, inputs, out_name, shape, dtype, quant, layout)
    }

    /// Adds `op` with an explicit output shape (Reshape).
    #[allow(clippy::too_many_arguments)]
    pub fn emit_with_shape(
        &mut self,
        ctx: &NodeCtx,
        node_name: String,
        op: Op,
        inputs: Vec<TensorId>,
        out_name: &str,
        shape: Vec<usize>,
        dtype: DType,
        quant: Option<Quantization>,
        layout: Layout,
    ) -> Result<TensorId> {
        if checked_count(&shape).is_none() {
            return Err(ctx.invalid(format!("output shape {shape:?} is too large")));
        }
        let out = self.new_tensor(out_name, shape, dtype, quant, layout);
        self.push_node(node_name, op, inputs, out);
        Ok(out)
    }

    /// `t` in layout `want`, inserting (once per tensor) a Transpose when needed. Only 4-D
    /// tensors ever differ between layouts.
    pub fn in_layout(&mut self, t: TensorId, want: Layout) -> TensorId {
        let have = self.layouts[t];
        if have == want || self.g.tensors[t].shape.len() != 4 {
            return t;
        }
        if let Some(&cached) = self.transposed.get(&(t, want)) {
            return cached;
        }
        let (perm, suffix) = match want {
            Layout::Nhwc => (layout::TO_NHWC, "nhwc"),
            Layout::Source => (layout::TO_NCHW, "nchw"),
        };
        let src = &self.g.tensors[t];
        let shape = layout::permute_shape(&src.shape, &perm);
        let quant = layout::permute_quant(&src.quant, &perm);
        let (dtype, base) = (src.dtype, src.name.clone());
        let out = self.new_tensor(&format!("{base}/{suffix}"), shape, dtype, quant, want);
        let node = self.fresh_node_name(&format!("{base}/to_{suffix}"));
        self.push_node(node, Op::Transpose { perm: perm.to_vec() }, vec![t], out);
        self.transposed.insert((t, want), out);
        // Transposing back gives the original tensor: reuse it instead of a second transpose.
        self.transposed.insert((out, have), t);
        out
    }

    /// The float value of a dequantized view, as an IR `Dequantize` (once per tensor).
    pub fn materialize_dq(&mut self, t: TensorId, name: &str) -> TensorId {
        if let Some(&d) = self.dequantized.get(&t) {
            return d;
        }
        let src = &self.g.tensors[t];
        let (shape, layout) = (src.shape.clone(), self.layouts[t]);
        let base = if name.is_empty() { format!("{}/dequant", src.name) } else { name.to_string() };
        let out = self.new_tensor(&base, shape, DType::F32, None, layout);
        let node = self.fresh_node_name(&format!("{base}/dequantize"));
        self.push_node(node, Op::Dequantize, vec![t], out);
        self.dequantized.insert(t, out);
        out
    }

    // ------------------------------------------------------------ graph I/O ----

    fn load_initializers(&mut self, graph: &GraphProto) -> Result<()> {
        if !graph.sparse_initializer.is_empty() {
            return Err(ModelError::malformed("onnx", "sparse initializers are not supported"));
        }
        for t in &graph.initializer {
            let c = decode_tensor(t)?;
            if c.name.is_empty() {
                return Err(ModelError::invalid_tensor("<unnamed initializer>", "initializers must be named"));
            }
            self.vals.insert(c.name.clone(), Val::Const(Rc::new(c)));
        }
        Ok(())
    }

    fn load_inputs(&mut self, graph: &GraphProto, constants: &[(String, Value)]) -> Result<()> {
        let mut bound: HashMap<&str, &Value> = HashMap::new();
        for (n, v) in constants {
            if bound.insert(n.as_str(), v).is_some() {
                return Err(ModelError::BadInput { name: n.clone(), reason: "bound twice".into() });
            }
        }
        let mut used = HashSet::new();
        for vi in &graph.input {
            let name = vi.name.clone().unwrap_or_default();
            if self.vals.contains_key(&name) && !bound.contains_key(name.as_str()) {
                // IR < 4 models list initializers among the inputs: they stay constants.
                continue;
            }
            let (dtype, shape) = input_type(vi)?;
            if let Some(v) = bound.get(name.as_str()) {
                used.insert(name.clone());
                let c = ConstTensor::from_value(&name, v, Some(dtype))?;
                self.vals.insert(name, Val::Const(Rc::new(c)));
                continue;
            }
            if name.is_empty() || self.vals.contains_key(&name) {
                return Err(ModelError::malformed("onnx", format!("graph input '{name}' is unnamed or defined twice")));
            }
            let t = self.new_tensor(&name, shape, dtype, None, Layout::Source);
            self.g.inputs.push(t);
            self.vals.insert(name, Val::Act(t));
        }
        if let Some((n, _)) = constants.iter().find(|(n, _)| !used.contains(n)) {
            return Err(ModelError::BadInput {
                name: n.clone(),
                reason: "is not a graph input of the model, so it cannot be bound to a constant".into(),
            });
        }
        Ok(())
    }

    fn finish_outputs(&mut self, outputs: &[ValueInfoProto]) -> Result<()> {
        if outputs.is_empty() {
            return Err(ModelError::malformed("onnx", "the graph has no outputs"));
        }
        for vi in outputs {
            let name = vi.name.clone().unwrap_or_default();
            let v = self.vals.get(&name).cloned().ok_or_else(|| {
                ModelError::invalid_tensor(&name, "is a graph output that no node, initializer or input defines")
            })?;
            let t = match v {
                Val::Act(t) => self.in_layout(t, Layout::Source),
                Val::Dq(t) => {
                    // Transpose on the narrow type first, then dequantize once.
                    let s = self.in_layout(t, Layout::Source);
                    self.materialize_dq(s, &name)
                }
                Val::Const(_) | Val::DqConst(..) => {
                    return Err(ModelError::unsupported_op(
                        "graph output",
                        &name,
                        "the output is a constant (constant folding of whole outputs is not supported)",
                    ))
                }
            };
            self.check_declared_output(vi, t)?;
            self.g.outputs.push(t);
        }
        Ok(())
    }

    /// Where the model declares an output's type and static shape, the import must agree.
    fn check_declared_output(&self, vi: &ValueInfoProto, t: TensorId) -> Result<()> {
        let Some(tt) = vi.r#type.as_ref().and_then(|t| t.tensor_type.as_ref()) else { return Ok(()) };
        let tensor = &self.g.tensors[t];
        if let Some(declared) = tt.elem_type.and_then(dtype_of) {
            if declared != tensor.dtype {
                return Err(ModelError::invalid_tensor(
                    &tensor.name,
                    format!("graph output is declared {declared} but the imported graph computes {}", tensor.dtype),
                ));
            }
        }
        if let Some(shape) = &tt.shape {
            let dims: Option<Vec<usize>> = shape
                .dim
                .iter()
                .map(|d| d.dim_value.and_then(|v| usize::try_from(v).ok()).filter(|&v| v > 0))
                .collect();
            if let Some(dims) = dims {
                if dims != tensor.shape {
                    return Err(ModelError::invalid_tensor(
                        &tensor.name,
                        format!("graph output is declared {dims:?} but the imported graph computes {:?}", tensor.shape),
                    ));
                }
            }
        }
        Ok(())
    }

    // -------------------------------------------------------------- dispatch ----

    fn convert_node(&mut self, ctx: &NodeCtx) -> Result<()> {
        let domain = ctx.node.domain();
        let op = ctx.op();
        match domain {
            "" | "ai.onnx" => match op {
                "Constant" => self.constant_node(ctx),
                "Identity" | "Dropout" => self.alias_node(ctx),
                "QuantizeLinear" => self.quantize_linear(ctx),
                "DequantizeLinear" => self.dequantize_linear(ctx),
                "Conv" => self.conv_node(ctx),
                "QLinearConv" => self.qlinear_conv(ctx),
                "ConvInteger" => self.conv_integer(ctx),
                "Gemm" => self.gemm_node(ctx),
                "MatMul" => self.matmul_node(ctx),
                "QLinearMatMul" => self.qlinear_matmul(ctx),
                "MatMulInteger" => self.matmul_integer(ctx),
                "Add" | "Mul" => self.binary_node(ctx),
                "AveragePool" | "GlobalAveragePool" => self.avg_pool_node(ctx),
                "MaxPool" => self.max_pool_node(ctx),
                "Concat" => self.concat_node(ctx),
                "Softmax" => self.softmax_node(ctx),
                "Relu" | "Clip" => self.activation_node(ctx),
                "Reshape" | "Flatten" | "Squeeze" | "Unsqueeze" => self.reshape_node(ctx),
                "Transpose" => self.transpose_node(ctx),
                "Pad" => self.pad_node(ctx),
                _ => Err(ctx.unsupported("no conversion to the systole IR exists for this operator")),
            },
            "com.microsoft" => match op {
                "QLinearConv" => self.qlinear_conv(ctx),
                "QGemm" => self.qgemm(ctx),
                "QLinearAdd" | "QLinearMul" => self.qlinear_binary(ctx),
                "QLinearGlobalAveragePool" => self.qlinear_global_average_pool(ctx),
                "QLinearAveragePool" => self.qlinear_average_pool(ctx),
                "QLinearConcat" => self.qlinear_concat(ctx),
                "QLinearSoftmax" => self.qlinear_softmax(ctx),
                "NhwcMaxPool" => Err(ctx.unsupported("onnxruntime-internal op; import the unoptimised model")),
                _ => Err(ctx.unsupported("no conversion to the systole IR exists for this com.microsoft operator")),
            },
            other => Err(ctx.unsupported(format!("operator domain '{other}' is not supported"))),
        }
    }

    fn constant_node(&mut self, ctx: &NodeCtx) -> Result<()> {
        let out = ctx.single_output()?;
        let mut c = if let Some(t) = ctx.tensor("value")? {
            t
        } else if let Some(f) = ctx.float("value_float")? {
            ConstTensor { name: String::new(), shape: vec![], dtype: DType::F32, data: TensorData::F32(vec![f]) }
        } else if let Some(v) = ctx.floats("value_floats")? {
            ConstTensor { name: String::new(), shape: vec![v.len()], dtype: DType::F32, data: TensorData::F32(v) }
        } else if let Some(i) = ctx.int("value_int")? {
            ConstTensor { name: String::new(), shape: vec![], dtype: DType::I64, data: TensorData::I64(vec![i]) }
        } else if let Some(v) = ctx.ints("value_ints")? {
            ConstTensor { name: String::new(), shape: vec![v.len()], dtype: DType::I64, data: TensorData::I64(v) }
        } else {
            return Err(ctx.unsupported("only value, value_float(s) and value_int(s) constants are supported"));
        };
        c.name = out.to_string();
        self.define(ctx, out, Val::Const(Rc::new(c)))
    }

    fn alias_node(&mut self, ctx: &NodeCtx) -> Result<()> {
        let out = ctx.single_output()?;
        let v = self.val(ctx, ctx.require_input(0, "input")?)?;
        self.define(ctx, out, v)
    }
}

/// Element type and static shape of a graph input. A symbolic leading (batch) dimension is
/// taken as 1; other symbolic dimensions are refused (the IR has static shapes).
fn input_type(vi: &ValueInfoProto) -> Result<(DType, Vec<usize>)> {
    let name = vi.name.clone().unwrap_or_default();
    let tt = vi
        .r#type
        .as_ref()
        .and_then(|t| t.tensor_type.as_ref())
        .ok_or_else(|| ModelError::invalid_tensor(&name, "graph input without a tensor type"))?;
    let code = tt.elem_type.unwrap_or(0);
    let dtype = dtype_of(code).ok_or_else(|| ModelError::UnsupportedDType {
        dtype: super::proto::data_type::name(code),
        tensor: name.clone(),
        reason: "graph inputs must be float32 or an integer type the IR carries".into(),
    })?;
    let dims = tt.shape.as_ref().ok_or_else(|| ModelError::invalid_tensor(&name, "graph input without a shape"))?;
    let mut shape = Vec::with_capacity(dims.dim.len());
    for (i, d) in dims.dim.iter().enumerate() {
        match d.dim_value {
            Some(v) if v >= 0 && d.dim_param.is_none() => {
                shape.push(usize::try_from(v).map_err(|_| ModelError::invalid_tensor(&name, "dimension too large"))?)
            }
            _ if i == 0 => shape.push(1),
            _ => {
                return Err(ModelError::invalid_tensor(
                    &name,
                    format!("dimension {i} is symbolic ({:?}); systole needs static shapes", d.dim_param),
                ))
            }
        }
    }
    if checked_count(&shape).is_none() {
        return Err(ModelError::invalid_tensor(&name, format!("shape {shape:?} is too large")));
    }
    Ok((dtype, shape))
}
