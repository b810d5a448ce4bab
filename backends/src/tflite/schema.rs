//! The subset of the TFLite flatbuffer schema that sgc writes and reads, by hand.
//!
//! A table field with id `n` lives at vtable offset `4 + 2n` ([`field`]). Every field id, enum value and
//! union tag below was checked against the generated Python schema of the PyPI `tflite` package (the
//! `PrependXxxSlot(id, …)` calls in `tflite/<Table>.py`, the constants in `tflite/BuiltinOperator.py`,
//! `BuiltinOptions.py`, `TensorType.py`, `Padding.py`); the test `matches_python_schema` at the end of
//! this file re-checks them in every test run (the package is in `tools/requirements-test.txt`).

use flatbuffers::{FlatBufferBuilder, UnionWIPOffset, VOffsetT, WIPOffset};

/// The vtable offset of the field with id `id`.
pub const fn field(id: u16) -> VOffsetT {
    4 + 2 * id
}

pub const FILE_IDENTIFIER: &str = "TFL3";
pub const SCHEMA_VERSION: u32 = 3;

/// `table Model`.
pub mod model {
    use super::field;
    use flatbuffers::VOffsetT;
    pub const VERSION: VOffsetT = field(0); // uint
    pub const OPERATOR_CODES: VOffsetT = field(1); // [OperatorCode]
    pub const SUBGRAPHS: VOffsetT = field(2); // [SubGraph]
    pub const DESCRIPTION: VOffsetT = field(3); // string
    pub const BUFFERS: VOffsetT = field(4); // [Buffer]
    pub const METADATA: VOffsetT = field(6); // [Metadata] (id 5 is the deprecated metadata_buffer)
    pub const SIGNATURE_DEFS: VOffsetT = field(7); // [SignatureDef]
}

/// `table OperatorCode`.
pub mod operator_code {
    use super::field;
    use flatbuffers::VOffsetT;
    pub const DEPRECATED_BUILTIN_CODE: VOffsetT = field(0); // byte
    pub const CUSTOM_CODE: VOffsetT = field(1); // string
    pub const VERSION: VOffsetT = field(2); // int = 1
    pub const BUILTIN_CODE: VOffsetT = field(3); // int (BuiltinOperator)
}

/// `table SubGraph`.
pub mod subgraph {
    use super::field;
    use flatbuffers::VOffsetT;
    pub const TENSORS: VOffsetT = field(0);
    pub const INPUTS: VOffsetT = field(1); // [int]
    pub const OUTPUTS: VOffsetT = field(2); // [int]
    pub const OPERATORS: VOffsetT = field(3);
    pub const NAME: VOffsetT = field(4);
}

/// `table Tensor`.
pub mod tensor {
    use super::field;
    use flatbuffers::VOffsetT;
    pub const SHAPE: VOffsetT = field(0); // [int]
    pub const TYPE: VOffsetT = field(1); // TensorType (byte)
    pub const BUFFER: VOffsetT = field(2); // uint
    pub const NAME: VOffsetT = field(3); // string
    pub const QUANTIZATION: VOffsetT = field(4); // QuantizationParameters
    pub const SHAPE_SIGNATURE: VOffsetT = field(7); // [int]
}

/// `table QuantizationParameters`: real = scale × (q − zero_point), per tensor or per slice along
/// `quantized_dimension`.
pub mod quantization {
    use super::field;
    use flatbuffers::VOffsetT;
    pub const SCALE: VOffsetT = field(2); // [float]
    pub const ZERO_POINT: VOffsetT = field(3); // [long]
    pub const QUANTIZED_DIMENSION: VOffsetT = field(6); // int
}

/// `table Buffer`.
pub mod buffer {
    use super::field;
    use flatbuffers::VOffsetT;
    pub const DATA: VOffsetT = field(0); // [ubyte] (force_align: 16)
    pub const OFFSET: VOffsetT = field(1); // ulong, for models over 2 GB
    pub const SIZE: VOffsetT = field(2); // ulong
}

/// `table Operator`.
pub mod operator {
    use super::field;
    use flatbuffers::VOffsetT;
    pub const OPCODE_INDEX: VOffsetT = field(0); // uint
    pub const INPUTS: VOffsetT = field(1); // [int], -1 for an omitted optional input
    pub const OUTPUTS: VOffsetT = field(2); // [int]
    pub const BUILTIN_OPTIONS_TYPE: VOffsetT = field(3); // BuiltinOptions union tag (ubyte)
    pub const BUILTIN_OPTIONS: VOffsetT = field(4); // the union's table
    pub const CUSTOM_OPTIONS: VOffsetT = field(5); // [ubyte]
    pub const CUSTOM_OPTIONS_FORMAT: VOffsetT = field(6); // CustomOptionsFormat (byte)
}

/// `CustomOptionsFormat.FLEXBUFFERS`, the only value of the enum.
pub const CUSTOM_OPTIONS_FLEXBUFFERS: i8 = 0;

/// `table Metadata`.
pub mod metadata {
    use super::field;
    use flatbuffers::VOffsetT;
    pub const NAME: VOffsetT = field(0);
    pub const BUFFER: VOffsetT = field(1); // uint
}

/// `table SignatureDef`.
pub mod signature_def {
    use super::field;
    use flatbuffers::VOffsetT;
    pub const INPUTS: VOffsetT = field(0); // [TensorMap]
    pub const OUTPUTS: VOffsetT = field(1); // [TensorMap]
    pub const SIGNATURE_KEY: VOffsetT = field(2); // string
    pub const SUBGRAPH_INDEX: VOffsetT = field(4); // uint (id 3 is deprecated)
}

/// `table TensorMap`.
pub mod tensor_map {
    use super::field;
    use flatbuffers::VOffsetT;
    pub const NAME: VOffsetT = field(0);
    pub const TENSOR_INDEX: VOffsetT = field(1); // uint
}

macro_rules! code_table {
    ($(#[$m:meta])* $modname:ident, $ty:ty, $table:ident { $($name:ident = $val:expr),* $(,)? }) => {
        $(#[$m])*
        pub mod $modname {
            $(pub const $name: $ty = $val;)*
            /// Every `(name, value)` pair of this subset, as the schema spells the names.
            pub const $table: &[(&str, $ty)] = &[$((stringify!($name), $name)),*];
        }
    };
}

code_table! {
    /// `enum BuiltinOperator : int32` (the subset sgc emits or recognises when reading).
    builtin, i32, ALL {
        ADD = 0, AVERAGE_POOL_2D = 1, CONCATENATION = 2, CONV_2D = 3, DEPTHWISE_CONV_2D = 4, DEPTH_TO_SPACE = 5,
        DEQUANTIZE = 6,
        FULLY_CONNECTED = 9,
        LOGISTIC = 14, MAX_POOL_2D = 17, MUL = 18, RELU = 19, RELU_N1_TO_1 = 20, RELU6 = 21, RESHAPE = 22,
        RESIZE_BILINEAR = 23, SOFTMAX = 25, SPACE_TO_DEPTH = 26,
        TANH = 28, CUSTOM = 32, PAD = 34,
        TRANSPOSE = 39, MEAN = 40, SUB = 41, DIV = 42, STRIDED_SLICE = 45, EXP = 47, SPLIT = 49,
        LOG_SOFTMAX = 50,
        CAST = 53, MAXIMUM = 55, ARG_MAX = 56, MINIMUM = 57, LESS = 58, NEG = 59, GREATER = 61,
        GREATER_EQUAL = 62,
        LESS_EQUAL = 63, SELECT = 64, SLICE = 65, TRANSPOSE_CONV = 67, TILE = 69, EQUAL = 71, LOG = 73,
        SUM = 74,
        SQRT = 75, RSQRT = 76, SHAPE = 77, POW = 78, REDUCE_PROD = 81, REDUCE_MAX = 82, PACK = 83,
        LOGICAL_OR = 84, LOGICAL_AND = 86, LOGICAL_NOT = 87, UNPACK = 88, REDUCE_MIN = 89,
        FLOOR_DIV = 90,
        SQUARE = 92, FILL = 94, RANGE = 96, RESIZE_NEAREST_NEIGHBOR = 97, LEAKY_RELU = 98,
        SQUARED_DIFFERENCE = 99, MIRROR_PAD = 100, ABS = 101, SPLIT_V = 102, ADD_N = 106, ELU = 111,
        QUANTIZE = 114, SELECT_V2 = 123, BROADCAST_TO = 130,
        RANDOM_STANDARD_NORMAL = 146, RANDOM_UNIFORM = 148,
    }
}

code_table! {
    /// `union BuiltinOptions` tags (ubyte) of the option tables sgc writes, named as the schema names
    /// the union members.
    #[allow(non_upper_case_globals)]
    options_tag, u8, ALL {
        NONE = 0, Conv2DOptions = 1, DepthwiseConv2DOptions = 2, Pool2DOptions = 5, FullyConnectedOptions = 8,
        SoftmaxOptions = 9,
        ConcatenationOptions = 10, AddOptions = 11, ResizeBilinearOptions = 15, ReshapeOptions = 17,
        SpaceToDepthOptions = 19, MulOptions = 21,
        ReducerOptions = 27, SubOptions = 28, DivOptions = 29, StridedSliceOptions = 32,
        SplitOptions = 35, CastOptions = 37, ArgMaxOptions = 40, TransposeConvOptions = 49,
        PackOptions = 59,
        UnpackOptions = 64, ResizeNearestNeighborOptions = 74, LeakyReluOptions = 75,
        MirrorPadOptions = 77, SplitVOptions = 79,
        DepthToSpaceOptions = 94, RandomOptions = 114,
    }
}

code_table! {
    /// `enum TensorType : byte`.
    tensor_type, i8, ALL {
        FLOAT32 = 0, FLOAT16 = 1, INT32 = 2, UINT8 = 3, INT64 = 4, STRING = 5, BOOL = 6, INT16 = 7,
        INT8 = 9, FLOAT64 = 10, INT4 = 17,
    }
}

/// `enum Padding : byte`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i8)]
pub enum Padding {
    Same = 0,
    Valid = 1,
}

/// `enum ActivationFunctionType : byte`: the activations an op's `fused_activation_function` applies
/// to its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(i8)]
pub enum Activation {
    #[default]
    None = 0,
    Relu = 1,
    ReluN1To1 = 2,
    Relu6 = 3,
    Tanh = 4,
}

/// `ActivationFunctionType.NONE`, for option tables that never fuse one.
pub const ACTIVATION_NONE: i8 = Activation::None as i8;

/// The `OperatorCode.version` sgc writes for a builtin. Version 1 everywhere except where LiteRT's
/// resolver registers no version 1: BROADCAST_TO starts at 2 (found by running it in LiteRT 2.x, which
/// rejects version 1 with "Didn't find op for builtin opcode 'BROADCAST_TO' version '1'").
pub fn op_version(code: i32) -> i32 {
    match code {
        builtin::BROADCAST_TO => 2,
        _ => 1,
    }
}

/// The version an operator needs for what its options ask ([`op_version`] at least): the resizes take
/// `half_pixel_centers` from version 3 (an older kernel would ignore it).
pub fn options_version(code: i32, options: &BuiltinOptions) -> i32 {
    let needs = match options {
        BuiltinOptions::ResizeBilinear {
            half_pixel_centers: true,
            ..
        }
        | BuiltinOptions::ResizeNearestNeighbor {
            half_pixel_centers: true,
            ..
        } => 3,
        _ => 1,
    };
    op_version(code).max(needs)
}

/// The name of a builtin operator code, for reports (`None` outside sgc's subset).
pub fn builtin_name(code: i32) -> Option<&'static str> {
    builtin::ALL
        .iter()
        .find(|(_, c)| *c == code)
        .map(|(n, _)| *n)
}

/// The options table of one operator: one variant per `*Options` table sgc writes, holding exactly the
/// fields it sets (the rest keep their schema defaults).
#[derive(Debug, Clone, PartialEq)]
pub enum BuiltinOptions {
    /// No options table (ops whose options are empty or absent).
    None,
    Conv2D {
        padding: Padding,
        stride_w: i32,
        stride_h: i32,
        dilation_w: i32,
        dilation_h: i32,
        activation: Activation,
    },
    DepthwiseConv2D {
        padding: Padding,
        stride_w: i32,
        stride_h: i32,
        depth_multiplier: i32,
        dilation_w: i32,
        dilation_h: i32,
        activation: Activation,
    },
    TransposeConv {
        padding: Padding,
        stride_w: i32,
        stride_h: i32,
        activation: Activation,
    },
    Pool2D {
        padding: Padding,
        stride_w: i32,
        stride_h: i32,
        filter_width: i32,
        filter_height: i32,
    },
    Softmax {
        beta: f32,
    },
    FullyConnected {
        keep_num_dims: bool,
        activation: Activation,
        /// A dynamic-range FULLY_CONNECTED quantizes each input row with its own zero point instead
        /// of symmetrically (written only when true).
        asymmetric_quantize_inputs: bool,
    },
    Add {
        activation: Activation,
    },
    Sub,
    Mul,
    Div,
    Reducer {
        keep_dims: bool,
    },
    LeakyRelu {
        alpha: f32,
    },
    Reshape {
        new_shape: Vec<i32>,
    },
    StridedSlice {
        begin_mask: i32,
        end_mask: i32,
        ellipsis_mask: i32,
        new_axis_mask: i32,
        shrink_axis_mask: i32,
    },
    Concatenation {
        axis: i32,
    },
    Pack {
        values_count: i32,
        axis: i32,
    },
    Unpack {
        num: i32,
        axis: i32,
    },
    Split {
        num_splits: i32,
    },
    ResizeNearestNeighbor {
        align_corners: bool,
        half_pixel_centers: bool,
    },
    DepthToSpace {
        block_size: i32,
    },
    SpaceToDepth {
        block_size: i32,
    },
    ResizeBilinear {
        align_corners: bool,
        half_pixel_centers: bool,
    },
    ArgMax {
        output_type: i8,
    },
    MirrorPad {
        /// `MirrorPadMode`: REFLECT = 0, SYMMETRIC = 1.
        mode: i8,
    },
    SplitV {
        num_splits: i32,
    },
    Random {
        seed: i64,
        seed2: i64,
    },
    Cast {
        in_type: i8,
        out_type: i8,
    },
}

/// Field ids of the option tables (`tflite/<Name>Options.py`).
pub mod opt {
    use super::field;
    use flatbuffers::VOffsetT;
    // Conv2DOptions
    pub const CONV_PADDING: VOffsetT = field(0);
    pub const CONV_STRIDE_W: VOffsetT = field(1);
    pub const CONV_STRIDE_H: VOffsetT = field(2);
    pub const CONV_ACTIVATION: VOffsetT = field(3);
    pub const CONV_DILATION_W: VOffsetT = field(4);
    pub const CONV_DILATION_H: VOffsetT = field(5);
    // DepthwiseConv2DOptions
    pub const DW_PADDING: VOffsetT = field(0);
    pub const DW_STRIDE_W: VOffsetT = field(1);
    pub const DW_STRIDE_H: VOffsetT = field(2);
    pub const DW_DEPTH_MULTIPLIER: VOffsetT = field(3);
    pub const DW_ACTIVATION: VOffsetT = field(4);
    pub const DW_DILATION_W: VOffsetT = field(5);
    pub const DW_DILATION_H: VOffsetT = field(6);
    // TransposeConvOptions
    pub const TCONV_PADDING: VOffsetT = field(0);
    pub const TCONV_STRIDE_W: VOffsetT = field(1);
    pub const TCONV_STRIDE_H: VOffsetT = field(2);
    pub const TCONV_ACTIVATION: VOffsetT = field(3);
    // Pool2DOptions
    pub const POOL_PADDING: VOffsetT = field(0);
    pub const POOL_STRIDE_W: VOffsetT = field(1);
    pub const POOL_STRIDE_H: VOffsetT = field(2);
    pub const POOL_FILTER_WIDTH: VOffsetT = field(3);
    pub const POOL_FILTER_HEIGHT: VOffsetT = field(4);
    pub const POOL_ACTIVATION: VOffsetT = field(5);
    // SoftmaxOptions
    pub const SOFTMAX_BETA: VOffsetT = field(0);
    // FullyConnectedOptions
    pub const FC_ACTIVATION: VOffsetT = field(0);
    pub const FC_KEEP_NUM_DIMS: VOffsetT = field(2);
    pub const FC_ASYMMETRIC_QUANTIZE_INPUTS: VOffsetT = field(3);
    // AddOptions, SubOptions, MulOptions, DivOptions
    pub const ARITH_ACTIVATION: VOffsetT = field(0);
    // ReducerOptions
    pub const REDUCER_KEEP_DIMS: VOffsetT = field(0);
    // LeakyReluOptions
    pub const LEAKY_RELU_ALPHA: VOffsetT = field(0);
    // ReshapeOptions
    pub const RESHAPE_NEW_SHAPE: VOffsetT = field(0);
    // StridedSliceOptions
    pub const SS_BEGIN_MASK: VOffsetT = field(0);
    pub const SS_END_MASK: VOffsetT = field(1);
    pub const SS_ELLIPSIS_MASK: VOffsetT = field(2);
    pub const SS_NEW_AXIS_MASK: VOffsetT = field(3);
    pub const SS_SHRINK_AXIS_MASK: VOffsetT = field(4);
    // ConcatenationOptions
    pub const CONCAT_AXIS: VOffsetT = field(0);
    pub const CONCAT_ACTIVATION: VOffsetT = field(1);
    // PackOptions
    pub const PACK_VALUES_COUNT: VOffsetT = field(0);
    pub const PACK_AXIS: VOffsetT = field(1);
    // UnpackOptions
    pub const UNPACK_NUM: VOffsetT = field(0);
    pub const UNPACK_AXIS: VOffsetT = field(1);
    // SplitOptions
    pub const SPLIT_NUM_SPLITS: VOffsetT = field(0);
    // ResizeNearestNeighborOptions
    pub const RESIZE_ALIGN_CORNERS: VOffsetT = field(0);
    pub const RESIZE_HALF_PIXEL_CENTERS: VOffsetT = field(1);
    // DepthToSpaceOptions
    pub const D2S_BLOCK_SIZE: VOffsetT = field(0);
    // SpaceToDepthOptions
    pub const S2D_BLOCK_SIZE: VOffsetT = field(0);
    // ResizeBilinearOptions (ids 0 and 1 are deprecated)
    pub const BILINEAR_ALIGN_CORNERS: VOffsetT = field(2);
    pub const BILINEAR_HALF_PIXEL_CENTERS: VOffsetT = field(3);
    // ArgMaxOptions
    pub const ARG_MAX_OUTPUT_TYPE: VOffsetT = field(0);
    // MirrorPadOptions
    pub const MIRROR_PAD_MODE: VOffsetT = field(0);
    // SplitVOptions
    pub const SPLIT_V_NUM_SPLITS: VOffsetT = field(0);
    // RandomOptions
    pub const RANDOM_SEED: VOffsetT = field(0);
    pub const RANDOM_SEED2: VOffsetT = field(1);
    // CastOptions
    pub const CAST_IN_TYPE: VOffsetT = field(0);
    pub const CAST_OUT_TYPE: VOffsetT = field(1);
}

impl BuiltinOptions {
    /// The union tag of this options table.
    pub fn tag(&self) -> u8 {
        use options_tag as t;
        match self {
            BuiltinOptions::None => t::NONE,
            BuiltinOptions::Conv2D { .. } => t::Conv2DOptions,
            BuiltinOptions::DepthwiseConv2D { .. } => t::DepthwiseConv2DOptions,
            BuiltinOptions::TransposeConv { .. } => t::TransposeConvOptions,
            BuiltinOptions::Pool2D { .. } => t::Pool2DOptions,
            BuiltinOptions::Softmax { .. } => t::SoftmaxOptions,
            BuiltinOptions::FullyConnected { .. } => t::FullyConnectedOptions,
            BuiltinOptions::Add { .. } => t::AddOptions,
            BuiltinOptions::Sub => t::SubOptions,
            BuiltinOptions::Mul => t::MulOptions,
            BuiltinOptions::Div => t::DivOptions,
            BuiltinOptions::Reducer { .. } => t::ReducerOptions,
            BuiltinOptions::LeakyRelu { .. } => t::LeakyReluOptions,
            BuiltinOptions::Reshape { .. } => t::ReshapeOptions,
            BuiltinOptions::StridedSlice { .. } => t::StridedSliceOptions,
            BuiltinOptions::Concatenation { .. } => t::ConcatenationOptions,
            BuiltinOptions::Pack { .. } => t::PackOptions,
            BuiltinOptions::Unpack { .. } => t::UnpackOptions,
            BuiltinOptions::Split { .. } => t::SplitOptions,
            BuiltinOptions::ResizeNearestNeighbor { .. } => t::ResizeNearestNeighborOptions,
            BuiltinOptions::DepthToSpace { .. } => t::DepthToSpaceOptions,
            BuiltinOptions::SpaceToDepth { .. } => t::SpaceToDepthOptions,
            BuiltinOptions::ResizeBilinear { .. } => t::ResizeBilinearOptions,
            BuiltinOptions::ArgMax { .. } => t::ArgMaxOptions,
            BuiltinOptions::MirrorPad { .. } => t::MirrorPadOptions,
            BuiltinOptions::SplitV { .. } => t::SplitVOptions,
            BuiltinOptions::Random { .. } => t::RandomOptions,
            BuiltinOptions::Cast { .. } => t::CastOptions,
        }
    }

    /// Writes the options table; `None` for [`BuiltinOptions::None`].
    pub fn write(&self, fbb: &mut FlatBufferBuilder) -> Option<WIPOffset<UnionWIPOffset>> {
        use opt::*;
        // Vectors must be written before the table that refers to them.
        let new_shape = match self {
            BuiltinOptions::Reshape { new_shape } => Some(fbb.create_vector(new_shape)),
            _ => None,
        };
        if *self == BuiltinOptions::None {
            return None;
        }
        let t = fbb.start_table();
        match *self {
            BuiltinOptions::None => unreachable!("handled above"),
            BuiltinOptions::Conv2D {
                padding,
                stride_w,
                stride_h,
                dilation_w,
                dilation_h,
                activation,
            } => {
                fbb.push_slot_always(CONV_PADDING, padding as i8);
                fbb.push_slot_always(CONV_STRIDE_W, stride_w);
                fbb.push_slot_always(CONV_STRIDE_H, stride_h);
                fbb.push_slot_always(CONV_ACTIVATION, activation as i8);
                fbb.push_slot_always(CONV_DILATION_W, dilation_w);
                fbb.push_slot_always(CONV_DILATION_H, dilation_h);
            }
            BuiltinOptions::DepthwiseConv2D {
                padding,
                stride_w,
                stride_h,
                depth_multiplier,
                dilation_w,
                dilation_h,
                activation,
            } => {
                fbb.push_slot_always(DW_PADDING, padding as i8);
                fbb.push_slot_always(DW_STRIDE_W, stride_w);
                fbb.push_slot_always(DW_STRIDE_H, stride_h);
                fbb.push_slot_always(DW_DEPTH_MULTIPLIER, depth_multiplier);
                fbb.push_slot_always(DW_ACTIVATION, activation as i8);
                fbb.push_slot_always(DW_DILATION_W, dilation_w);
                fbb.push_slot_always(DW_DILATION_H, dilation_h);
            }
            BuiltinOptions::TransposeConv {
                padding,
                stride_w,
                stride_h,
                activation,
            } => {
                fbb.push_slot_always(TCONV_PADDING, padding as i8);
                fbb.push_slot_always(TCONV_STRIDE_W, stride_w);
                fbb.push_slot_always(TCONV_STRIDE_H, stride_h);
                fbb.push_slot_always(TCONV_ACTIVATION, activation as i8);
            }
            BuiltinOptions::FullyConnected {
                keep_num_dims,
                activation,
                asymmetric_quantize_inputs,
            } => {
                fbb.push_slot_always(FC_ACTIVATION, activation as i8);
                fbb.push_slot_always(FC_KEEP_NUM_DIMS, keep_num_dims);
                fbb.push_slot(
                    FC_ASYMMETRIC_QUANTIZE_INPUTS,
                    asymmetric_quantize_inputs,
                    false,
                );
            }
            BuiltinOptions::Add { activation } => {
                fbb.push_slot_always(ARITH_ACTIVATION, activation as i8);
            }
            BuiltinOptions::Sub | BuiltinOptions::Mul | BuiltinOptions::Div => {
                fbb.push_slot_always(ARITH_ACTIVATION, ACTIVATION_NONE);
            }
            BuiltinOptions::Reducer { keep_dims } => {
                fbb.push_slot_always(REDUCER_KEEP_DIMS, keep_dims);
            }
            BuiltinOptions::LeakyRelu { alpha } => {
                fbb.push_slot_always(LEAKY_RELU_ALPHA, alpha);
            }
            BuiltinOptions::Reshape { .. } => {
                fbb.push_slot_always(RESHAPE_NEW_SHAPE, new_shape.expect("written above"));
            }
            BuiltinOptions::StridedSlice {
                begin_mask,
                end_mask,
                ellipsis_mask,
                new_axis_mask,
                shrink_axis_mask,
            } => {
                fbb.push_slot(SS_BEGIN_MASK, begin_mask, 0);
                fbb.push_slot(SS_END_MASK, end_mask, 0);
                fbb.push_slot(SS_ELLIPSIS_MASK, ellipsis_mask, 0);
                fbb.push_slot(SS_NEW_AXIS_MASK, new_axis_mask, 0);
                fbb.push_slot(SS_SHRINK_AXIS_MASK, shrink_axis_mask, 0);
            }
            BuiltinOptions::Concatenation { axis } => {
                fbb.push_slot_always(CONCAT_AXIS, axis);
                fbb.push_slot_always(CONCAT_ACTIVATION, ACTIVATION_NONE);
            }
            BuiltinOptions::Pack { values_count, axis } => {
                fbb.push_slot_always(PACK_VALUES_COUNT, values_count);
                fbb.push_slot_always(PACK_AXIS, axis);
            }
            BuiltinOptions::Unpack { num, axis } => {
                fbb.push_slot_always(UNPACK_NUM, num);
                fbb.push_slot_always(UNPACK_AXIS, axis);
            }
            BuiltinOptions::Split { num_splits } => {
                fbb.push_slot_always(SPLIT_NUM_SPLITS, num_splits);
            }
            BuiltinOptions::ResizeNearestNeighbor {
                align_corners,
                half_pixel_centers,
            } => {
                fbb.push_slot_always(RESIZE_ALIGN_CORNERS, align_corners);
                fbb.push_slot_always(RESIZE_HALF_PIXEL_CENTERS, half_pixel_centers);
            }
            BuiltinOptions::DepthToSpace { block_size } => {
                fbb.push_slot_always(D2S_BLOCK_SIZE, block_size);
            }
            BuiltinOptions::SpaceToDepth { block_size } => {
                fbb.push_slot_always(S2D_BLOCK_SIZE, block_size);
            }
            BuiltinOptions::ResizeBilinear {
                align_corners,
                half_pixel_centers,
            } => {
                fbb.push_slot_always(BILINEAR_ALIGN_CORNERS, align_corners);
                fbb.push_slot_always(BILINEAR_HALF_PIXEL_CENTERS, half_pixel_centers);
            }
            BuiltinOptions::ArgMax { output_type } => {
                fbb.push_slot_always(ARG_MAX_OUTPUT_TYPE, output_type);
            }
            BuiltinOptions::MirrorPad { mode } => {
                fbb.push_slot_always(MIRROR_PAD_MODE, mode);
            }
            BuiltinOptions::SplitV { num_splits } => {
                fbb.push_slot_always(SPLIT_V_NUM_SPLITS, num_splits);
            }
            BuiltinOptions::Pool2D {
                padding,
                stride_w,
                stride_h,
                filter_width,
                filter_height,
            } => {
                fbb.push_slot_always(POOL_PADDING, padding as i8);
                fbb.push_slot_always(POOL_STRIDE_W, stride_w);
                fbb.push_slot_always(POOL_STRIDE_H, stride_h);
                fbb.push_slot_always(POOL_FILTER_WIDTH, filter_width);
                fbb.push_slot_always(POOL_FILTER_HEIGHT, filter_height);
                fbb.push_slot_always(POOL_ACTIVATION, ACTIVATION_NONE);
            }
            BuiltinOptions::Softmax { beta } => {
                fbb.push_slot_always(SOFTMAX_BETA, beta);
            }
            BuiltinOptions::Random { seed, seed2 } => {
                fbb.push_slot_always(RANDOM_SEED, seed);
                fbb.push_slot_always(RANDOM_SEED2, seed2);
            }
            BuiltinOptions::Cast { in_type, out_type } => {
                fbb.push_slot_always(CAST_IN_TYPE, in_type);
                fbb.push_slot_always(CAST_OUT_TYPE, out_type);
            }
        }
        Some(fbb.end_table(t).as_union_value())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(file, python argument name, field id)` of every `PrependXxxSlot(id, name, …)` the generated
    /// Python schema must contain, for each vtable offset used in this module.
    fn slots() -> Vec<(&'static str, &'static str, VOffsetT)> {
        use opt::*;
        vec![
            ("Model", "version", model::VERSION),
            ("Model", "operatorCodes", model::OPERATOR_CODES),
            ("Model", "subgraphs", model::SUBGRAPHS),
            ("Model", "description", model::DESCRIPTION),
            ("Model", "buffers", model::BUFFERS),
            ("Model", "metadata", model::METADATA),
            ("Model", "signatureDefs", model::SIGNATURE_DEFS),
            (
                "OperatorCode",
                "deprecatedBuiltinCode",
                operator_code::DEPRECATED_BUILTIN_CODE,
            ),
            ("OperatorCode", "customCode", operator_code::CUSTOM_CODE),
            ("OperatorCode", "version", operator_code::VERSION),
            ("OperatorCode", "builtinCode", operator_code::BUILTIN_CODE),
            ("SubGraph", "tensors", subgraph::TENSORS),
            ("SubGraph", "inputs", subgraph::INPUTS),
            ("SubGraph", "outputs", subgraph::OUTPUTS),
            ("SubGraph", "operators", subgraph::OPERATORS),
            ("SubGraph", "name", subgraph::NAME),
            ("Tensor", "shape", tensor::SHAPE),
            ("Tensor", "type", tensor::TYPE),
            ("Tensor", "buffer", tensor::BUFFER),
            ("Tensor", "name", tensor::NAME),
            ("Tensor", "shapeSignature", tensor::SHAPE_SIGNATURE),
            ("Tensor", "quantization", tensor::QUANTIZATION),
            ("QuantizationParameters", "scale", quantization::SCALE),
            (
                "QuantizationParameters",
                "zeroPoint",
                quantization::ZERO_POINT,
            ),
            (
                "QuantizationParameters",
                "quantizedDimension",
                quantization::QUANTIZED_DIMENSION,
            ),
            ("Buffer", "data", buffer::DATA),
            ("Buffer", "offset", buffer::OFFSET),
            ("Buffer", "size", buffer::SIZE),
            ("Operator", "opcodeIndex", operator::OPCODE_INDEX),
            ("Operator", "inputs", operator::INPUTS),
            ("Operator", "outputs", operator::OUTPUTS),
            (
                "Operator",
                "builtinOptionsType",
                operator::BUILTIN_OPTIONS_TYPE,
            ),
            ("Operator", "builtinOptions", operator::BUILTIN_OPTIONS),
            ("Operator", "customOptions", operator::CUSTOM_OPTIONS),
            (
                "Operator",
                "customOptionsFormat",
                operator::CUSTOM_OPTIONS_FORMAT,
            ),
            ("Metadata", "name", metadata::NAME),
            ("Metadata", "buffer", metadata::BUFFER),
            ("SignatureDef", "inputs", signature_def::INPUTS),
            ("SignatureDef", "outputs", signature_def::OUTPUTS),
            ("SignatureDef", "signatureKey", signature_def::SIGNATURE_KEY),
            (
                "SignatureDef",
                "subgraphIndex",
                signature_def::SUBGRAPH_INDEX,
            ),
            ("TensorMap", "name", tensor_map::NAME),
            ("TensorMap", "tensorIndex", tensor_map::TENSOR_INDEX),
            ("Conv2DOptions", "padding", CONV_PADDING),
            ("Conv2DOptions", "strideW", CONV_STRIDE_W),
            ("Conv2DOptions", "strideH", CONV_STRIDE_H),
            ("Conv2DOptions", "fusedActivationFunction", CONV_ACTIVATION),
            ("Conv2DOptions", "dilationWFactor", CONV_DILATION_W),
            ("Conv2DOptions", "dilationHFactor", CONV_DILATION_H),
            ("DepthwiseConv2DOptions", "padding", DW_PADDING),
            ("DepthwiseConv2DOptions", "strideW", DW_STRIDE_W),
            ("DepthwiseConv2DOptions", "strideH", DW_STRIDE_H),
            (
                "DepthwiseConv2DOptions",
                "depthMultiplier",
                DW_DEPTH_MULTIPLIER,
            ),
            (
                "DepthwiseConv2DOptions",
                "fusedActivationFunction",
                DW_ACTIVATION,
            ),
            ("DepthwiseConv2DOptions", "dilationWFactor", DW_DILATION_W),
            ("DepthwiseConv2DOptions", "dilationHFactor", DW_DILATION_H),
            ("TransposeConvOptions", "padding", TCONV_PADDING),
            ("TransposeConvOptions", "strideW", TCONV_STRIDE_W),
            ("TransposeConvOptions", "strideH", TCONV_STRIDE_H),
            (
                "TransposeConvOptions",
                "fusedActivationFunction",
                TCONV_ACTIVATION,
            ),
            (
                "FullyConnectedOptions",
                "fusedActivationFunction",
                FC_ACTIVATION,
            ),
            ("FullyConnectedOptions", "keepNumDims", FC_KEEP_NUM_DIMS),
            (
                "FullyConnectedOptions",
                "asymmetricQuantizeInputs",
                FC_ASYMMETRIC_QUANTIZE_INPUTS,
            ),
            ("AddOptions", "fusedActivationFunction", ARITH_ACTIVATION),
            ("SubOptions", "fusedActivationFunction", ARITH_ACTIVATION),
            ("MulOptions", "fusedActivationFunction", ARITH_ACTIVATION),
            ("DivOptions", "fusedActivationFunction", ARITH_ACTIVATION),
            ("ReducerOptions", "keepDims", REDUCER_KEEP_DIMS),
            ("LeakyReluOptions", "alpha", LEAKY_RELU_ALPHA),
            ("ReshapeOptions", "newShape", RESHAPE_NEW_SHAPE),
            ("StridedSliceOptions", "beginMask", SS_BEGIN_MASK),
            ("StridedSliceOptions", "endMask", SS_END_MASK),
            ("StridedSliceOptions", "ellipsisMask", SS_ELLIPSIS_MASK),
            ("StridedSliceOptions", "newAxisMask", SS_NEW_AXIS_MASK),
            ("StridedSliceOptions", "shrinkAxisMask", SS_SHRINK_AXIS_MASK),
            ("ConcatenationOptions", "axis", CONCAT_AXIS),
            (
                "ConcatenationOptions",
                "fusedActivationFunction",
                CONCAT_ACTIVATION,
            ),
            ("PackOptions", "valuesCount", PACK_VALUES_COUNT),
            ("PackOptions", "axis", PACK_AXIS),
            ("UnpackOptions", "num", UNPACK_NUM),
            ("UnpackOptions", "axis", UNPACK_AXIS),
            ("SplitOptions", "numSplits", SPLIT_NUM_SPLITS),
            (
                "ResizeNearestNeighborOptions",
                "alignCorners",
                RESIZE_ALIGN_CORNERS,
            ),
            (
                "ResizeNearestNeighborOptions",
                "halfPixelCenters",
                RESIZE_HALF_PIXEL_CENTERS,
            ),
            ("DepthToSpaceOptions", "blockSize", D2S_BLOCK_SIZE),
            ("SpaceToDepthOptions", "blockSize", S2D_BLOCK_SIZE),
            (
                "ResizeBilinearOptions",
                "alignCorners",
                BILINEAR_ALIGN_CORNERS,
            ),
            (
                "ResizeBilinearOptions",
                "halfPixelCenters",
                BILINEAR_HALF_PIXEL_CENTERS,
            ),
            ("ArgMaxOptions", "outputType", ARG_MAX_OUTPUT_TYPE),
            ("MirrorPadOptions", "mode", MIRROR_PAD_MODE),
            ("SplitVOptions", "numSplits", SPLIT_V_NUM_SPLITS),
            ("Pool2DOptions", "padding", POOL_PADDING),
            ("Pool2DOptions", "strideW", POOL_STRIDE_W),
            ("Pool2DOptions", "strideH", POOL_STRIDE_H),
            ("Pool2DOptions", "filterWidth", POOL_FILTER_WIDTH),
            ("Pool2DOptions", "filterHeight", POOL_FILTER_HEIGHT),
            ("Pool2DOptions", "fusedActivationFunction", POOL_ACTIVATION),
            ("SoftmaxOptions", "beta", SOFTMAX_BETA),
            ("RandomOptions", "seed", RANDOM_SEED),
            ("RandomOptions", "seed2", RANDOM_SEED2),
            ("CastOptions", "inDataType", CAST_IN_TYPE),
            ("CastOptions", "outDataType", CAST_OUT_TYPE),
        ]
    }

    /// `NAME = value` lines of a generated Python enum class.
    fn python_enum(dir: &std::path::Path, file: &str) -> Vec<(String, i64)> {
        let text = std::fs::read_to_string(dir.join(format!("{file}.py"))).unwrap();
        text.lines()
            .filter_map(|l| {
                let (name, value) = l.trim().split_once(" = ")?;
                Some((name.to_string(), value.trim().parse().ok()?))
            })
            .collect()
    }

    #[test]
    fn field_offsets_follow_the_vtable_rule() {
        assert_eq!(field(0), 4);
        assert_eq!(signature_def::SUBGRAPH_INDEX, 12);
        assert_eq!(builtin_name(builtin::CONV_2D), Some("CONV_2D"));
        assert_eq!(builtin_name(9999), None);
    }

    /// The directory of the `tflite` Python package's generated schema: `SGC_TFLITE_SCHEMA_PY`, else
    /// where the test Python (`SGC_PYTHON`, else the repository's `.venv`, both made by `tools/test.sh`
    /// from `tools/requirements-test.txt`) has it installed. Panics without it: the cross-check must run.
    fn python_schema_dir() -> std::path::PathBuf {
        if let Some(d) = std::env::var_os("SGC_TFLITE_SCHEMA_PY") {
            return d.into();
        }
        let python = sgc_ir::testing::python("tflite");
        let out = std::process::Command::new(&python)
            .args([
                "-c",
                "import os, tflite; print(os.path.dirname(tflite.__file__))",
            ])
            .output()
            .expect("the test Python runs");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .to_string()
            .into()
    }

    #[test]
    fn matches_python_schema() {
        let dir = python_schema_dir();
        assert!(
            dir.join("Model.py").is_file(),
            "{}: no Model.py",
            dir.display()
        );
        for (file, arg, voff) in slots() {
            let text = std::fs::read_to_string(dir.join(format!("{file}.py")))
                .unwrap_or_else(|e| panic!("{file}.py: {e}"));
            let id = (voff - 4) / 2;
            let needle = format!("Slot({id}, ");
            let found = text.lines().any(|l| {
                l.contains(&needle)
                    && l.contains("builder.Prepend")
                    && l.split(&needle).nth(1).is_some_and(|rest| {
                        rest.starts_with(&format!("{arg},")) || rest.contains(&format!("({arg})"))
                    })
            });
            assert!(found, "{file}.{arg} is not field {id} in {}", dir.display());
        }
        let check = |file: &str, ours: Vec<(&str, i64)>| {
            let theirs = python_enum(&dir, file);
            for (name, value) in ours {
                assert!(
                    theirs.iter().any(|(n, v)| n == name && *v == value),
                    "{file}.{name} != {value}"
                );
            }
        };
        check(
            "BuiltinOperator",
            builtin::ALL.iter().map(|&(n, v)| (n, v as i64)).collect(),
        );
        check(
            "BuiltinOptions",
            options_tag::ALL
                .iter()
                .map(|&(n, v)| (n, v as i64))
                .collect(),
        );
        check(
            "TensorType",
            tensor_type::ALL
                .iter()
                .map(|&(n, v)| (n, v as i64))
                .collect(),
        );
        check(
            "Padding",
            vec![
                ("SAME", Padding::Same as i64),
                ("VALID", Padding::Valid as i64),
            ],
        );
        check(
            "ActivationFunctionType",
            vec![
                ("NONE", Activation::None as i64),
                ("RELU", Activation::Relu as i64),
                ("RELU_N1_TO_1", Activation::ReluN1To1 as i64),
                ("RELU6", Activation::Relu6 as i64),
                ("TANH", Activation::Tanh as i64),
            ],
        );
        check("MirrorPadMode", vec![("REFLECT", 0), ("SYMMETRIC", 1)]);
    }
}
