//! Test-only writer of small TFLite flatbuffers, so unit tests can exercise operators and error
//! paths the fixture models do not contain. It writes the same vtable slots the importer reads
//! (restated here, so a wrong offset in `schema.rs` would show up as a failing round trip).

use flatbuffers::{FlatBufferBuilder, VOffsetT, WIPOffset};

#[derive(Clone, Debug, Default)]
pub struct TQuant {
    pub scale: Vec<f32>,
    pub zero_point: Vec<i64>,
    pub quantized_dimension: i32,
}

impl TQuant {
    pub fn per_tensor(scale: f32, zero_point: i64) -> Self {
        TQuant { scale: vec![scale], zero_point: vec![zero_point], quantized_dimension: 0 }
    }

    pub fn per_axis(scale: Vec<f32>, axis: i32) -> Self {
        let zero_point = vec![0; scale.len()];
        TQuant { scale, zero_point, quantized_dimension: axis }
    }
}

#[derive(Clone, Debug)]
pub struct TTensor {
    pub name: String,
    pub shape: Vec<i32>,
    pub tensor_type: i8,
    /// Constant data (empty for activations).
    pub data: Vec<u8>,
    pub quant: Option<TQuant>,
    /// Overrides the buffer index (to test out-of-range indices).
    pub buffer_override: Option<u32>,
    /// Writes `Buffer.offset` / `size` (the >2 GB layout) instead of inline data.
    pub external_offset: Option<u64>,
}

#[derive(Clone, Copy, Debug)]
pub enum Field {
    I8(i8),
    I32(i32),
    F32(f32),
    Bool(bool),
}

/// A builtin options table: union type and (vtable offset, value) pairs.
#[derive(Clone, Debug)]
pub struct TOptions {
    pub union_type: u8,
    pub fields: Vec<(VOffsetT, Field)>,
}

#[derive(Clone, Debug)]
pub struct TOp {
    pub code: i32,
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
    pub options: Option<TOptions>,
}

#[derive(Clone, Debug)]
pub struct TestModel {
    pub version: u32,
    pub tensors: Vec<TTensor>,
    pub ops: Vec<TOp>,
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
    /// Old-converter style op codes: only `deprecated_builtin_code` is written.
    pub legacy_opcodes: bool,
    pub custom_code: Option<String>,
}

pub mod tt {
    pub const FLOAT32: i8 = 0;
    pub const INT32: i8 = 2;
    pub const UINT8: i8 = 3;
    pub const INT64: i8 = 4;
    pub const BOOL: i8 = 6;
    pub const INT8: i8 = 9;
    pub const INT4: i8 = 17;
}

impl TestModel {
    pub fn new() -> Self {
        TestModel {
            version: 3,
            tensors: Vec::new(),
            ops: Vec::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            legacy_opcodes: false,
            custom_code: None,
        }
    }

    /// An activation tensor; returns its index.
    pub fn act(&mut self, name: &str, shape: &[i32], tensor_type: i8, quant: Option<TQuant>) -> i32 {
        self.tensors.push(TTensor {
            name: name.into(),
            shape: shape.to_vec(),
            tensor_type,
            data: Vec::new(),
            quant,
            buffer_override: None,
            external_offset: None,
        });
        self.tensors.len() as i32 - 1
    }

    /// An int8 activation with a typical quantisation.
    pub fn act_i8(&mut self, name: &str, shape: &[i32]) -> i32 {
        self.act(name, shape, tt::INT8, Some(TQuant::per_tensor(0.05, -3)))
    }

    pub fn constant(
        &mut self,
        name: &str,
        shape: &[i32],
        tensor_type: i8,
        data: Vec<u8>,
        quant: Option<TQuant>,
    ) -> i32 {
        let i = self.act(name, shape, tensor_type, quant);
        self.tensors[i as usize].data = data;
        i
    }

    pub fn const_i8(&mut self, name: &str, shape: &[i32], values: &[i8], quant: Option<TQuant>) -> i32 {
        self.constant(name, shape, tt::INT8, values.iter().map(|&v| v as u8).collect(), quant)
    }

    pub fn const_i32(&mut self, name: &str, shape: &[i32], values: &[i32], quant: Option<TQuant>) -> i32 {
        self.constant(name, shape, tt::INT32, values.iter().flat_map(|v| v.to_le_bytes()).collect(), quant)
    }

    pub fn op(&mut self, code: i32, inputs: &[i32], outputs: &[i32], options: Option<TOptions>) {
        self.ops.push(TOp { code, inputs: inputs.to_vec(), outputs: outputs.to_vec(), options });
    }

    pub fn build(&self) -> Vec<u8> {
        let mut b = FlatBufferBuilder::new();

        // Buffers: 0 is the empty sentinel, then one per constant tensor.
        let mut buffers = vec![table(&mut b, |_| {})];
        let mut buffer_index = Vec::new();
        for t in &self.tensors {
            if let Some(offset) = t.external_offset {
                let size = t.data.len() as u64;
                buffers.push(table(&mut b, |b| {
                    b.push_slot_always::<u64>(6, offset);
                    b.push_slot_always::<u64>(8, size);
                }));
                buffer_index.push(buffers.len() as u32 - 1);
            } else if t.data.is_empty() {
                buffer_index.push(0);
            } else {
                let data = b.create_vector(&t.data);
                buffers.push(table(&mut b, |b| b.push_slot_always(4, data)));
                buffer_index.push(buffers.len() as u32 - 1);
            }
        }

        let mut tensors = Vec::new();
        for (t, &buf) in self.tensors.iter().zip(&buffer_index) {
            let shape = b.create_vector(&t.shape);
            let name = b.create_string(&t.name);
            let quant = t.quant.as_ref().map(|q| {
                let scale = b.create_vector(&q.scale);
                let zp = b.create_vector(&q.zero_point);
                let qd = q.quantized_dimension;
                table(&mut b, |b| {
                    b.push_slot_always(8, scale);
                    b.push_slot_always(10, zp);
                    b.push_slot::<i32>(16, qd, 0);
                })
            });
            let buffer = t.buffer_override.unwrap_or(buf);
            let tensor_type = t.tensor_type;
            tensors.push(table(&mut b, |b| {
                b.push_slot_always(4, shape);
                b.push_slot::<i8>(6, tensor_type, 0);
                b.push_slot::<u32>(8, buffer, 0);
                b.push_slot_always(10, name);
                if let Some(q) = quant {
                    b.push_slot_always(12, q);
                }
            }));
        }

        // Operator codes, deduplicated in first-use order.
        let mut codes: Vec<i32> = Vec::new();
        for op in &self.ops {
            if !codes.contains(&op.code) {
                codes.push(op.code);
            }
        }
        let mut opcode_tables = Vec::new();
        for &code in &codes {
            let custom = self.custom_code.as_ref().map(|c| b.create_string(c));
            let legacy = self.legacy_opcodes;
            opcode_tables.push(table(&mut b, |b| {
                b.push_slot::<i8>(4, code.min(127) as i8, 0);
                if !legacy {
                    b.push_slot::<i32>(10, code, 0);
                }
                if let Some(c) = custom {
                    b.push_slot_always(6, c);
                }
            }));
        }

        let mut ops = Vec::new();
        for op in &self.ops {
            let inputs = b.create_vector(&op.inputs);
            let outputs = b.create_vector(&op.outputs);
            let options = op.options.as_ref().map(|o| {
                let fields = o.fields.clone();
                (
                    o.union_type,
                    table(&mut b, |b| {
                        for (vt, f) in fields {
                            match f {
                                Field::I8(v) => b.push_slot_always(vt, v),
                                Field::I32(v) => b.push_slot_always(vt, v),
                                Field::F32(v) => b.push_slot_always(vt, v),
                                Field::Bool(v) => b.push_slot_always(vt, v),
                            }
                        }
                    }),
                )
            });
            let opcode_index = codes.iter().position(|&c| c == op.code).unwrap_or(0) as u32;
            ops.push(table(&mut b, |b| {
                b.push_slot::<u32>(4, opcode_index, 0);
                b.push_slot_always(6, inputs);
                b.push_slot_always(8, outputs);
                if let Some((ty, o)) = options {
                    b.push_slot::<u8>(10, ty, 0);
                    b.push_slot_always(12, o);
                }
            }));
        }

        let tensors = b.create_vector(&tensors);
        let inputs = b.create_vector(&self.inputs);
        let outputs = b.create_vector(&self.outputs);
        let ops = b.create_vector(&ops);
        let subgraph = table(&mut b, |b| {
            b.push_slot_always(4, tensors);
            b.push_slot_always(6, inputs);
            b.push_slot_always(8, outputs);
            b.push_slot_always(10, ops);
        });
        let subgraphs = b.create_vector(&[subgraph]);
        let opcodes = b.create_vector(&opcode_tables);
        let buffers = b.create_vector(&buffers);
        let version = self.version;
        let model = table(&mut b, |b| {
            b.push_slot::<u32>(4, version, 0);
            b.push_slot_always(6, opcodes);
            b.push_slot_always(8, subgraphs);
            b.push_slot_always(12, buffers);
        });
        b.finish(model, Some("TFL3"));
        b.finished_data().to_vec()
    }
}

/// Writes one table whose fields `f` pushes.
fn table<'b>(
    b: &mut FlatBufferBuilder<'b>,
    f: impl FnOnce(&mut FlatBufferBuilder<'b>),
) -> WIPOffset<flatbuffers::TableFinishedWIPOffset> {
    let start = b.start_table();
    f(b);
    b.end_table(start)
}

/// Option tables with the schema's vtable offsets.
pub mod opts {
    use super::{Field, TOptions};

    pub const SAME: i8 = 0;
    pub const VALID: i8 = 1;

    pub fn conv(padding: i8, stride: [i32; 2], dilation: [i32; 2], act: i8) -> TOptions {
        TOptions {
            union_type: 1,
            fields: vec![
                (4, Field::I8(padding)),
                (6, Field::I32(stride[1])),
                (8, Field::I32(stride[0])),
                (10, Field::I8(act)),
                (12, Field::I32(dilation[1])),
                (14, Field::I32(dilation[0])),
            ],
        }
    }

    pub fn depthwise(padding: i8, stride: [i32; 2], multiplier: i32, act: i8) -> TOptions {
        TOptions {
            union_type: 2,
            fields: vec![
                (4, Field::I8(padding)),
                (6, Field::I32(stride[1])),
                (8, Field::I32(stride[0])),
                (10, Field::I32(multiplier)),
                (12, Field::I8(act)),
            ],
        }
    }

    pub fn pool(padding: i8, stride: [i32; 2], filter: [i32; 2], act: i8) -> TOptions {
        TOptions {
            union_type: 5,
            fields: vec![
                (4, Field::I8(padding)),
                (6, Field::I32(stride[1])),
                (8, Field::I32(stride[0])),
                (10, Field::I32(filter[1])),
                (12, Field::I32(filter[0])),
                (14, Field::I8(act)),
            ],
        }
    }

    pub fn fully_connected(act: i8, keep_num_dims: bool) -> TOptions {
        TOptions { union_type: 8, fields: vec![(4, Field::I8(act)), (8, Field::Bool(keep_num_dims))] }
    }

    pub fn softmax(beta: f32) -> TOptions {
        TOptions { union_type: 9, fields: vec![(4, Field::F32(beta))] }
    }

    pub fn concat(axis: i32, act: i8) -> TOptions {
        TOptions { union_type: 10, fields: vec![(4, Field::I32(axis)), (6, Field::I8(act))] }
    }

    pub fn add(act: i8) -> TOptions {
        TOptions { union_type: 11, fields: vec![(4, Field::I8(act))] }
    }

    pub fn mul(act: i8) -> TOptions {
        TOptions { union_type: 21, fields: vec![(4, Field::I8(act))] }
    }

    pub fn reducer(keep_dims: bool) -> TOptions {
        TOptions { union_type: 27, fields: vec![(4, Field::Bool(keep_dims))] }
    }
}
