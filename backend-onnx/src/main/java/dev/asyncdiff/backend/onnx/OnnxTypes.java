package dev.asyncdiff.backend.onnx;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.TensorInfo;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.TensorSpec;
import dev.asyncdiff.spi.DeclaredTensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** Maps between ONNX Runtime's element types and tensor infos and AsyncDiff's {@link DType}. */
final class OnnxTypes {
    private OnnxTypes() {
    }

    /** The ONNX Runtime element type of {@code dtype}. */
    static OnnxJavaType toOrt(DType dtype) {
        return switch (dtype) {
            case FP32 -> OnnxJavaType.FLOAT;
            case FP16 -> OnnxJavaType.FLOAT16;
            case BF16 -> OnnxJavaType.BFLOAT16;
            case INT64 -> OnnxJavaType.INT64;
            case INT32 -> OnnxJavaType.INT32;
            case BOOL -> OnnxJavaType.BOOL;
            case UINT8 -> OnnxJavaType.UINT8;
        };
    }

    /**
     * The {@link DType} of an ONNX Runtime element type.
     *
     * @throws IllegalArgumentException naming {@code what} and the supported types for any other type
     */
    static DType toDType(OnnxJavaType type, String what) {
        return switch (type) {
            case FLOAT -> DType.FP32;
            case FLOAT16 -> DType.FP16;
            case BFLOAT16 -> DType.BF16;
            case INT64 -> DType.INT64;
            case INT32 -> DType.INT32;
            case BOOL -> DType.BOOL;
            case UINT8 -> DType.UINT8;
            default -> throw new IllegalArgumentException(what + " has element type " + type
                    + ", which the onnx backend does not support; supported: "
                    + Arrays.toString(DType.values()).toLowerCase(Locale.ROOT));
        };
    }

    /**
     * Reads a declared input or output; dynamic dimensions become {@code -1}.
     *
     * @param kind "input" or "output", for messages
     * @throws IllegalArgumentException when the value is not a tensor or has an unsupported type
     */
    static DeclaredTensor declared(String kind, NodeInfo node) {
        String what = kind + " '" + node.getName() + "'";
        if (!(node.getInfo() instanceof TensorInfo info)) {
            throw new IllegalArgumentException(what + " is a " + node.getInfo().getClass().getSimpleName()
                    + ", but the onnx backend only runs tensor inputs and outputs");
        }
        DType dtype = toDType(info.type, what);
        long[] shape = info.getShape();
        for (int i = 0; i < shape.length; i++) {
            shape[i] = Math.max(shape[i], -1);
        }
        String[] names = info.getDimensionNames();
        List<String> dimensionNames = new ArrayList<>(shape.length);
        for (int i = 0; i < shape.length; i++) {
            String name = names != null && i < names.length && names[i] != null ? names[i] : "";
            dimensionNames.add(shape[i] >= 0 ? "" : name);
        }
        return new DeclaredTensor(new TensorSpec(node.getName(), dtype, shape), dimensionNames);
    }
}
