//! Minimal, hand-written flatbuffer accessors for the part of the TFLite schema the importer reads.
//!
//! This follows what `flatc --rust` generates (a `Table` wrapper per schema table, `Follow` to
//! construct it, `Table::get` with the vtable offset of each field, and a `Verifiable` impl that
//! checks exactly the fields the accessors read), without depending on flatc or on a generated
//! 10k-line file. Only [`root_as_model`] touches untrusted bytes: it runs the flatbuffers verifier
//! first, so every accessor below reads a range the verifier has already checked.
//!
//! Field offsets and enum values were checked against `tensorflow/compiler/mlir/lite/schema/
//! schema.fbs` (tensorflow/tensorflow) and the flatc-generated `schema_py_generated.py` shipped in
//! the `tflite-micro` wheel. A field's vtable offset is `4 + 2 * field_id`, where a union field
//! takes two ids (its `_type` byte first, then the value).

use flatbuffers::{Follow, ForwardsUOffset, InvalidFlatbuffer, Table, VOffsetT, Vector, Verifiable, Verifier};

/// The flatbuffer file identifier of TFLite models (`file_identifier "TFL3"`), at bytes 4..8.
pub const FILE_IDENTIFIER: &[u8; 4] = b"TFL3";

/// The only schema version the importer reads (`Model.version`; TFLite rejects others too).
pub const SCHEMA_VERSION: u32 = 3;

/// Declares a read-only table wrapper: scalar fields (with their schema default) and offset
/// fields (vectors, strings, sub-tables; `None` when absent). The verifier visits exactly the
/// declared fields with exactly the accessor's type, which is what makes the `unsafe` reads sound.
macro_rules! fb_table {
    (
        $(#[$doc:meta])*
        $name:ident {
            scalars { $( $(#[$sdoc:meta])* $s:ident : $st:ty = $sdef:expr => $svt:expr ),* $(,)? }
            refs { $( $(#[$rdoc:meta])* $r:ident : $rt:ty => $rvt:expr ),* $(,)? }
        }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug)]
        pub struct $name<'a> {
            tab: Table<'a>,
        }

        impl<'a> Follow<'a> for $name<'a> {
            type Inner = $name<'a>;

            #[inline]
            unsafe fn follow(buf: &'a [u8], loc: usize) -> Self::Inner {
                // SAFETY: the caller guarantees a (verified) table of this type at `loc`.
                Self { tab: unsafe { Table::new(buf, loc) } }
            }
        }

        #[allow(dead_code)]
        impl<'a> $name<'a> {
            $(
                $(#[$sdoc])*
                #[inline]
                pub fn $s(&self) -> $st {
                    // SAFETY: the verifier checked this slot as `$st`.
                    unsafe { self.tab.get::<$st>($svt, Some($sdef)) }.unwrap_or($sdef)
                }
            )*
            $(
                $(#[$rdoc])*
                #[inline]
                pub fn $r(&self) -> Option<$rt> {
                    // SAFETY: the verifier checked this slot as an offset to `$rt`.
                    unsafe { self.tab.get::<ForwardsUOffset<$rt>>($rvt, None) }
                }
            )*

            /// True when the field at vtable offset `vt` is present, without reading it (for
            /// fields whose mere presence makes the model unsupported).
            #[inline]
            pub fn has_field(&self, vt: VOffsetT) -> bool {
                self.tab.vtable().get(vt) != 0
            }
        }

        impl<'a> Verifiable for $name<'a> {
            #[inline]
            fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
                v.visit_table(pos)?
                    $( .visit_field::<$st>(stringify!($s), $svt, false)? )*
                    $( .visit_field::<ForwardsUOffset<$rt>>(stringify!($r), $rvt, false)? )*
                    .finish();
                Ok(())
            }
        }
    };
}

fb_table! {
    /// `table Model` (root type).
    Model {
        scalars {
            version: u32 = 0 => 4,
        }
        refs {
            operator_codes: Vector<'a, ForwardsUOffset<OperatorCode<'a>>> => 6,
            subgraphs: Vector<'a, ForwardsUOffset<SubGraph<'a>>> => 8,
            // description (10) is not read: a non-UTF-8 description must not reject the model.
            buffers: Vector<'a, ForwardsUOffset<Buffer<'a>>> => 12,
        }
    }
}

fb_table! {
    /// `table OperatorCode`.
    OperatorCode {
        scalars {
            /// The code as a byte; models older than schema 3a only have this one.
            deprecated_builtin_code: i8 = 0 => 4,
            version: i32 = 1 => 8,
            /// The code as int32 (schema 3a+); 0 (= ADD) in old models, hence [`builtin_code`].
            builtin_code: i32 = 0 => 10,
        }
        refs {
            custom_code: &'a str => 6,
        }
    }
}

impl OperatorCode<'_> {
    /// The effective builtin code, as TFLite's `GetBuiltinCode` computes it: old converters fill
    /// only the byte field (the int32 one reads as 0), new ones write 127
    /// (PLACEHOLDER_FOR_GREATER_OP_CODES) into the byte for codes above 126.
    pub fn code(&self) -> i32 {
        self.builtin_code().max(i32::from(self.deprecated_builtin_code()))
    }
}

fb_table! {
    /// `table SubGraph`.
    SubGraph {
        scalars {}
        refs {
            tensors: Vector<'a, ForwardsUOffset<Tensor<'a>>> => 4,
            inputs: Vector<'a, i32> => 6,
            outputs: Vector<'a, i32> => 8,
            operators: Vector<'a, ForwardsUOffset<Operator<'a>>> => 10,
        }
    }
}

/// `Tensor.sparsity` (field 6): sparse constants are not supported, only detected.
pub const TENSOR_VT_SPARSITY: VOffsetT = 16;

fb_table! {
    /// `table Tensor`.
    Tensor {
        scalars {
            /// A [`tensor_type`] value.
            tensor_type: i8 = tensor_type::FLOAT32 => 6,
            /// Index into `Model.buffers`; 0 is the always-empty sentinel buffer.
            buffer: u32 = 0 => 8,
            /// `external_buffer` (field 10), only in tflite-micro's schema: data stored in an
            /// external buffer group. Non-zero is rejected.
            external_buffer: u32 = 0 => 24,
        }
        refs {
            shape: Vector<'a, i32> => 4,
            name: &'a str => 10,
            quantization: QuantizationParameters<'a> => 12,
        }
    }
}

fb_table! {
    /// `table QuantizationParameters`.
    QuantizationParameters {
        scalars {
            /// `details_type` of the `QuantizationDetails` union (0 = none, 1 = custom).
            details_type: u8 = 0 => 12,
            quantized_dimension: i32 = 0 => 16,
        }
        refs {
            scale: Vector<'a, f32> => 8,
            zero_point: Vector<'a, i64> => 10,
        }
    }
}

fb_table! {
    /// `table Buffer`.
    Buffer {
        scalars {
            /// For models over 2 GB: data lives outside the flatbuffer at this file offset
            /// (valid when > 1). Not supported.
            offset: u64 = 0 => 6,
            size: u64 = 0 => 8,
        }
        refs {
            data: Vector<'a, u8> => 4,
        }
    }
}

/// `table Operator`, written by hand because of the `builtin_options` union.
#[derive(Clone, Copy, Debug)]
pub struct Operator<'a> {
    tab: Table<'a>,
}

impl<'a> Follow<'a> for Operator<'a> {
    type Inner = Operator<'a>;

    #[inline]
    unsafe fn follow(buf: &'a [u8], loc: usize) -> Self::Inner {
        // SAFETY: the caller guarantees a (verified) Operator table at `loc`.
        Self { tab: unsafe { Table::new(buf, loc) } }
    }
}

impl<'a> Operator<'a> {
    const VT_OPCODE_INDEX: VOffsetT = 4;
    const VT_INPUTS: VOffsetT = 6;
    const VT_OUTPUTS: VOffsetT = 8;
    const VT_BUILTIN_OPTIONS_TYPE: VOffsetT = 10;
    const VT_BUILTIN_OPTIONS: VOffsetT = 12;

    pub fn opcode_index(&self) -> u32 {
        // SAFETY: verified as u32.
        unsafe { self.tab.get::<u32>(Self::VT_OPCODE_INDEX, Some(0)) }.unwrap_or(0)
    }

    /// Tensor indices; -1 marks an absent optional input.
    pub fn inputs(&self) -> Option<Vector<'a, i32>> {
        // SAFETY: verified as an offset to [int].
        unsafe { self.tab.get::<ForwardsUOffset<Vector<'a, i32>>>(Self::VT_INPUTS, None) }
    }

    pub fn outputs(&self) -> Option<Vector<'a, i32>> {
        // SAFETY: verified as an offset to [int].
        unsafe { self.tab.get::<ForwardsUOffset<Vector<'a, i32>>>(Self::VT_OUTPUTS, None) }
    }

    /// The union discriminant, a [`builtin_options`] value (0 = none).
    pub fn builtin_options_type(&self) -> u8 {
        // SAFETY: verified as u8.
        unsafe { self.tab.get::<u8>(Self::VT_BUILTIN_OPTIONS_TYPE, Some(0)) }.unwrap_or(0)
    }

    /// The options table, when the union holds variant `T`.
    pub fn options<T: OptionsTable<'a>>(&self) -> Option<T> {
        if self.builtin_options_type() != T::UNION_TYPE {
            return None;
        }
        // SAFETY: the verifier checked the union value as a `T` table for this discriminant
        // (every `OptionsTable` is listed in `run_verifier` below).
        unsafe { self.tab.get::<ForwardsUOffset<T>>(Self::VT_BUILTIN_OPTIONS, None) }
    }
}

impl Verifiable for Operator<'_> {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        fn variant<'o, T: OptionsTable<'o>>(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
            v.verify_union_variant::<ForwardsUOffset<T>>(T::NAME, pos)
        }
        v.visit_table(pos)?
            .visit_field::<u32>("opcode_index", Self::VT_OPCODE_INDEX, false)?
            .visit_field::<ForwardsUOffset<Vector<'_, i32>>>("inputs", Self::VT_INPUTS, false)?
            .visit_field::<ForwardsUOffset<Vector<'_, i32>>>("outputs", Self::VT_OUTPUTS, false)?
            .visit_union::<u8, _>(
                "builtin_options_type",
                Self::VT_BUILTIN_OPTIONS_TYPE,
                "builtin_options",
                Self::VT_BUILTIN_OPTIONS,
                false,
                |key, v, pos| match key {
                    builtin_options::CONV_2D => variant::<Conv2DOptions>(v, pos),
                    builtin_options::DEPTHWISE_CONV_2D => variant::<DepthwiseConv2DOptions>(v, pos),
                    builtin_options::POOL_2D => variant::<Pool2DOptions>(v, pos),
                    builtin_options::FULLY_CONNECTED => variant::<FullyConnectedOptions>(v, pos),
                    builtin_options::SOFTMAX => variant::<SoftmaxOptions>(v, pos),
                    builtin_options::CONCATENATION => variant::<ConcatenationOptions>(v, pos),
                    builtin_options::ADD => variant::<AddOptions>(v, pos),
                    builtin_options::MUL => variant::<MulOptions>(v, pos),
                    builtin_options::REDUCER => variant::<ReducerOptions>(v, pos),
                    // Variants the importer never reads need no verification.
                    _ => Ok(()),
                },
            )?
            .finish();
        Ok(())
    }
}

/// An options table that can sit in `Operator.builtin_options`.
pub trait OptionsTable<'a>: Follow<'a, Inner = Self> + Verifiable + 'a {
    /// Its `BuiltinOptions` union discriminant.
    const UNION_TYPE: u8;
    const NAME: &'static str;
}

macro_rules! options_table {
    ($name:ident = $ty:expr) => {
        impl<'a> OptionsTable<'a> for $name<'a> {
            const UNION_TYPE: u8 = $ty;
            const NAME: &'static str = stringify!($name);
        }
    };
}

fb_table! {
    Conv2DOptions {
        scalars {
            padding: i8 = padding::SAME => 4,
            stride_w: i32 = 0 => 6,
            stride_h: i32 = 0 => 8,
            fused_activation_function: i8 = activation::NONE => 10,
            dilation_w_factor: i32 = 1 => 12,
            dilation_h_factor: i32 = 1 => 14,
        }
        refs {}
    }
}
options_table!(Conv2DOptions = builtin_options::CONV_2D);

fb_table! {
    DepthwiseConv2DOptions {
        scalars {
            padding: i8 = padding::SAME => 4,
            stride_w: i32 = 0 => 6,
            stride_h: i32 = 0 => 8,
            /// Redundant with the weight shape (and ignored by TFLite >= 2.x kernels).
            depth_multiplier: i32 = 0 => 10,
            fused_activation_function: i8 = activation::NONE => 12,
            dilation_w_factor: i32 = 1 => 14,
            dilation_h_factor: i32 = 1 => 16,
        }
        refs {}
    }
}
options_table!(DepthwiseConv2DOptions = builtin_options::DEPTHWISE_CONV_2D);

fb_table! {
    Pool2DOptions {
        scalars {
            padding: i8 = padding::SAME => 4,
            stride_w: i32 = 0 => 6,
            stride_h: i32 = 0 => 8,
            filter_width: i32 = 0 => 10,
            filter_height: i32 = 0 => 12,
            fused_activation_function: i8 = activation::NONE => 14,
        }
        refs {}
    }
}
options_table!(Pool2DOptions = builtin_options::POOL_2D);

fb_table! {
    FullyConnectedOptions {
        scalars {
            fused_activation_function: i8 = activation::NONE => 4,
            /// 0 = DEFAULT, 1 = SHUFFLED4x16INT8 (not supported).
            weights_format: i8 = 0 => 6,
            keep_num_dims: bool = false => 8,
        }
        refs {}
    }
}
options_table!(FullyConnectedOptions = builtin_options::FULLY_CONNECTED);

fb_table! {
    SoftmaxOptions {
        scalars {
            beta: f32 = 0.0 => 4,
        }
        refs {}
    }
}
options_table!(SoftmaxOptions = builtin_options::SOFTMAX);

fb_table! {
    ConcatenationOptions {
        scalars {
            axis: i32 = 0 => 4,
            fused_activation_function: i8 = activation::NONE => 6,
        }
        refs {}
    }
}
options_table!(ConcatenationOptions = builtin_options::CONCATENATION);

fb_table! {
    AddOptions {
        scalars {
            fused_activation_function: i8 = activation::NONE => 4,
        }
        refs {}
    }
}
options_table!(AddOptions = builtin_options::ADD);

fb_table! {
    MulOptions {
        scalars {
            fused_activation_function: i8 = activation::NONE => 4,
        }
        refs {}
    }
}
options_table!(MulOptions = builtin_options::MUL);

fb_table! {
    /// Options of MEAN / SUM / REDUCE_MAX ... (`ReducerOptions`).
    ReducerOptions {
        scalars {
            keep_dims: bool = false => 4,
        }
        refs {}
    }
}
options_table!(ReducerOptions = builtin_options::REDUCER);

/// Verifies `bytes` as a TFLite flatbuffer and returns its root table. The caller checks the file
/// identifier first (the verifier does not).
pub fn root_as_model(bytes: &[u8]) -> Result<Model<'_>, InvalidFlatbuffer> {
    flatbuffers::root::<Model>(bytes)
}

/// `enum TensorType : byte` (the values the IR can carry; [`tensor_type::name`] knows all).
pub mod tensor_type {
    pub const FLOAT32: i8 = 0;
    pub const INT32: i8 = 2;
    pub const UINT8: i8 = 3;
    pub const INT64: i8 = 4;
    pub const INT16: i8 = 7;
    pub const INT8: i8 = 9;
    pub const INT4: i8 = 17;

    /// Schema name of a tensor type, for error messages.
    pub fn name(t: i8) -> String {
        const NAMES: [&str; 19] = [
            "FLOAT32",
            "FLOAT16",
            "INT32",
            "UINT8",
            "INT64",
            "STRING",
            "BOOL",
            "INT16",
            "COMPLEX64",
            "INT8",
            "FLOAT64",
            "COMPLEX128",
            "UINT64",
            "RESOURCE",
            "VARIANT",
            "UINT32",
            "UINT16",
            "INT4",
            "BFLOAT16",
        ];
        usize::try_from(t)
            .ok()
            .and_then(|i| NAMES.get(i))
            .map_or_else(|| format!("TensorType({t})"), |s| (*s).to_string())
    }
}

/// `enum Padding : byte { SAME, VALID }`.
pub mod padding {
    pub const SAME: i8 = 0;
    pub const VALID: i8 = 1;
}

/// `enum ActivationFunctionType : byte`.
pub mod activation {
    pub const NONE: i8 = 0;
    pub const RELU: i8 = 1;
    pub const RELU_N1_TO_1: i8 = 2;
    pub const RELU6: i8 = 3;
    pub const TANH: i8 = 4;
    pub const SIGN_BIT: i8 = 5;
}

/// `union BuiltinOptions` discriminants (1-based, in declaration order) of the tables read here.
pub mod builtin_options {
    pub const CONV_2D: u8 = 1;
    pub const DEPTHWISE_CONV_2D: u8 = 2;
    pub const POOL_2D: u8 = 5;
    pub const FULLY_CONNECTED: u8 = 8;
    pub const SOFTMAX: u8 = 9;
    pub const CONCATENATION: u8 = 10;
    pub const ADD: u8 = 11;
    pub const MUL: u8 = 21;
    pub const REDUCER: u8 = 27;
}

/// `enum BuiltinOperator : int32` values the importer converts.
pub mod builtin_op {
    pub const ADD: i32 = 0;
    pub const AVERAGE_POOL_2D: i32 = 1;
    pub const CONCATENATION: i32 = 2;
    pub const CONV_2D: i32 = 3;
    pub const DEPTHWISE_CONV_2D: i32 = 4;
    pub const DEQUANTIZE: i32 = 6;
    pub const FULLY_CONNECTED: i32 = 9;
    pub const MAX_POOL_2D: i32 = 17;
    pub const MUL: i32 = 18;
    pub const RELU: i32 = 19;
    pub const RELU_N1_TO_1: i32 = 20;
    pub const RELU6: i32 = 21;
    pub const RESHAPE: i32 = 22;
    pub const SOFTMAX: i32 = 25;
    pub const CUSTOM: i32 = 32;
    pub const PAD: i32 = 34;
    pub const TRANSPOSE: i32 = 39;
    pub const MEAN: i32 = 40;
    pub const SQUEEZE: i32 = 43;
    pub const PADV2: i32 = 60;
    pub const QUANTIZE: i32 = 114;

    /// Schema name of a builtin operator code (codes 0..=206; later codes differ between
    /// TensorFlow and tflite-micro schema revisions, so they are printed as numbers).
    pub fn name(code: i32) -> String {
        usize::try_from(code)
            .ok()
            .and_then(|i| NAMES.get(i))
            .map_or_else(|| format!("BUILTIN_OPERATOR_{code}"), |s| (*s).to_string())
    }

    const NAMES: [&str; 207] = [
        "ADD",
        "AVERAGE_POOL_2D",
        "CONCATENATION",
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "DEPTH_TO_SPACE",
        "DEQUANTIZE",
        "EMBEDDING_LOOKUP",
        "FLOOR",
        "FULLY_CONNECTED",
        "HASHTABLE_LOOKUP",
        "L2_NORMALIZATION",
        "L2_POOL_2D",
        "LOCAL_RESPONSE_NORMALIZATION",
        "LOGISTIC",
        "LSH_PROJECTION",
        "LSTM",
        "MAX_POOL_2D",
        "MUL",
        "RELU",
        "RELU_N1_TO_1",
        "RELU6",
        "RESHAPE",
        "RESIZE_BILINEAR",
        "RNN",
        "SOFTMAX",
        "SPACE_TO_DEPTH",
        "SVDF",
        "TANH",
        "CONCAT_EMBEDDINGS",
        "SKIP_GRAM",
        "CALL",
        "CUSTOM",
        "EMBEDDING_LOOKUP_SPARSE",
        "PAD",
        "UNIDIRECTIONAL_SEQUENCE_RNN",
        "GATHER",
        "BATCH_TO_SPACE_ND",
        "SPACE_TO_BATCH_ND",
        "TRANSPOSE",
        "MEAN",
        "SUB",
        "DIV",
        "SQUEEZE",
        "UNIDIRECTIONAL_SEQUENCE_LSTM",
        "STRIDED_SLICE",
        "BIDIRECTIONAL_SEQUENCE_RNN",
        "EXP",
        "TOPK_V2",
        "SPLIT",
        "LOG_SOFTMAX",
        "DELEGATE",
        "BIDIRECTIONAL_SEQUENCE_LSTM",
        "CAST",
        "PRELU",
        "MAXIMUM",
        "ARG_MAX",
        "MINIMUM",
        "LESS",
        "NEG",
        "PADV2",
        "GREATER",
        "GREATER_EQUAL",
        "LESS_EQUAL",
        "SELECT",
        "SLICE",
        "SIN",
        "TRANSPOSE_CONV",
        "SPARSE_TO_DENSE",
        "TILE",
        "EXPAND_DIMS",
        "EQUAL",
        "NOT_EQUAL",
        "LOG",
        "SUM",
        "SQRT",
        "RSQRT",
        "SHAPE",
        "POW",
        "ARG_MIN",
        "FAKE_QUANT",
        "REDUCE_PROD",
        "REDUCE_MAX",
        "PACK",
        "LOGICAL_OR",
        "ONE_HOT",
        "LOGICAL_AND",
        "LOGICAL_NOT",
        "UNPACK",
        "REDUCE_MIN",
        "FLOOR_DIV",
        "REDUCE_ANY",
        "SQUARE",
        "ZEROS_LIKE",
        "FILL",
        "FLOOR_MOD",
        "RANGE",
        "RESIZE_NEAREST_NEIGHBOR",
        "LEAKY_RELU",
        "SQUARED_DIFFERENCE",
        "MIRROR_PAD",
        "ABS",
        "SPLIT_V",
        "UNIQUE",
        "CEIL",
        "REVERSE_V2",
        "ADD_N",
        "GATHER_ND",
        "COS",
        "WHERE",
        "RANK",
        "ELU",
        "REVERSE_SEQUENCE",
        "MATRIX_DIAG",
        "QUANTIZE",
        "MATRIX_SET_DIAG",
        "ROUND",
        "HARD_SWISH",
        "IF",
        "WHILE",
        "NON_MAX_SUPPRESSION_V4",
        "NON_MAX_SUPPRESSION_V5",
        "SCATTER_ND",
        "SELECT_V2",
        "DENSIFY",
        "SEGMENT_SUM",
        "BATCH_MATMUL",
        "PLACEHOLDER_FOR_GREATER_OP_CODES",
        "CUMSUM",
        "CALL_ONCE",
        "BROADCAST_TO",
        "RFFT2D",
        "CONV_3D",
        "IMAG",
        "REAL",
        "COMPLEX_ABS",
        "HASHTABLE",
        "HASHTABLE_FIND",
        "HASHTABLE_IMPORT",
        "HASHTABLE_SIZE",
        "REDUCE_ALL",
        "CONV_3D_TRANSPOSE",
        "VAR_HANDLE",
        "READ_VARIABLE",
        "ASSIGN_VARIABLE",
        "BROADCAST_ARGS",
        "RANDOM_STANDARD_NORMAL",
        "BUCKETIZE",
        "RANDOM_UNIFORM",
        "MULTINOMIAL",
        "GELU",
        "DYNAMIC_UPDATE_SLICE",
        "RELU_0_TO_1",
        "UNSORTED_SEGMENT_PROD",
        "UNSORTED_SEGMENT_MAX",
        "UNSORTED_SEGMENT_SUM",
        "ATAN2",
        "UNSORTED_SEGMENT_MIN",
        "SIGN",
        "BITCAST",
        "BITWISE_XOR",
        "RIGHT_SHIFT",
        "STABLEHLO_LOGISTIC",
        "STABLEHLO_ADD",
        "STABLEHLO_DIVIDE",
        "STABLEHLO_MULTIPLY",
        "STABLEHLO_MAXIMUM",
        "STABLEHLO_RESHAPE",
        "STABLEHLO_CLAMP",
        "STABLEHLO_CONCATENATE",
        "STABLEHLO_BROADCAST_IN_DIM",
        "STABLEHLO_CONVOLUTION",
        "STABLEHLO_SLICE",
        "STABLEHLO_CUSTOM_CALL",
        "STABLEHLO_REDUCE",
        "STABLEHLO_ABS",
        "STABLEHLO_AND",
        "STABLEHLO_COSINE",
        "STABLEHLO_EXPONENTIAL",
        "STABLEHLO_FLOOR",
        "STABLEHLO_LOG",
        "STABLEHLO_MINIMUM",
        "STABLEHLO_NEGATE",
        "STABLEHLO_OR",
        "STABLEHLO_POWER",
        "STABLEHLO_REMAINDER",
        "STABLEHLO_RSQRT",
        "STABLEHLO_SELECT",
        "STABLEHLO_SUBTRACT",
        "STABLEHLO_TANH",
        "STABLEHLO_SCATTER",
        "STABLEHLO_COMPARE",
        "STABLEHLO_CONVERT",
        "STABLEHLO_DYNAMIC_SLICE",
        "STABLEHLO_DYNAMIC_UPDATE_SLICE",
        "STABLEHLO_PAD",
        "STABLEHLO_IOTA",
        "STABLEHLO_DOT_GENERAL",
        "STABLEHLO_REDUCE_WINDOW",
        "STABLEHLO_SORT",
        "STABLEHLO_WHILE",
        "STABLEHLO_GATHER",
        "STABLEHLO_TRANSPOSE",
        "DILATE",
        "STABLEHLO_RNG_BIT_GENERATOR",
        "REDUCE_WINDOW",
        "STABLEHLO_COMPOSITE",
    ];
}
