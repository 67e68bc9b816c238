package dev.asyncdiff.onnx.graph.split;

import dev.asyncdiff.api.DType;
import java.util.Arrays;

/**
 * What shape inference knows about one value: its dtype, its shape (null when unknown), and, for a
 * small constant such as a shape vector, its elements (null when not constant).
 */
record ValueInfo(DType dtype, long[] shape, double[] values) {
    static final ValueInfo UNKNOWN = new ValueInfo(null, null, null);

    static ValueInfo of(DType dtype, long... shape) {
        return new ValueInfo(dtype, shape, null);
    }

    boolean known() {
        return shape != null;
    }

    boolean constant() {
        return values != null;
    }

    long elementCount() {
        long count = 1;
        for (long dim : shape) {
            count *= dim;
        }
        return count;
    }

    long byteCount() {
        return dtype == null || shape == null ? 0 : elementCount() * dtype.byteSize();
    }

    long[] longValues() {
        long[] out = new long[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (long) values[i];
        }
        return out;
    }

    @Override
    public String toString() {
        return dtype + Arrays.toString(shape) + (values == null ? "" : "=" + Arrays.toString(values));
    }
}
