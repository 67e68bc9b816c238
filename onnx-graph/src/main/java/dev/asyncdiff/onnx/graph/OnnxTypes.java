package dev.asyncdiff.onnx.graph;

import ai.onnx.proto.OnnxMl.TensorProto;
import dev.asyncdiff.api.DType;

/** Maps between {@link DType} and ONNX's {@code TensorProto.DataType}. */
public final class OnnxTypes {
    private OnnxTypes() {
    }

    /** The ONNX element type of {@code dtype}. */
    public static TensorProto.DataType toOnnx(DType dtype) {
        return switch (dtype) {
            case FP32 -> TensorProto.DataType.FLOAT;
            case FP16 -> TensorProto.DataType.FLOAT16;
            case BF16 -> TensorProto.DataType.BFLOAT16;
            case INT64 -> TensorProto.DataType.INT64;
            case INT32 -> TensorProto.DataType.INT32;
            case BOOL -> TensorProto.DataType.BOOL;
            case UINT8 -> TensorProto.DataType.UINT8;
        };
    }

    /**
     * The {@link DType} of an ONNX element type number.
     *
     * @throws IllegalArgumentException for element types AsyncDiff does not handle
     */
    public static DType fromOnnx(int dataType) {
        TensorProto.DataType type = TensorProto.DataType.forNumber(dataType);
        if (type == null) {
            throw new IllegalArgumentException("unknown ONNX element type " + dataType);
        }
        return switch (type) {
            case FLOAT -> DType.FP32;
            case FLOAT16 -> DType.FP16;
            case BFLOAT16 -> DType.BF16;
            case INT64 -> DType.INT64;
            case INT32 -> DType.INT32;
            case BOOL -> DType.BOOL;
            case UINT8 -> DType.UINT8;
            default -> throw new IllegalArgumentException("unsupported ONNX element type " + type
                    + "; expected one of FLOAT, FLOAT16, BFLOAT16, INT64, INT32, BOOL, UINT8");
        };
    }
}
