package dev.asyncdiff.onnx.graph;

import dev.asyncdiff.api.DType;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.function.Supplier;

/**
 * A named constant tensor of a graph whose bytes are produced on demand, so that a writer can
 * stream one initializer at a time to disk.
 *
 * @param name  the tensor name
 * @param dtype the element type
 * @param shape the dimensions
 * @param data  produces the little-endian bytes, exactly {@link #byteCount()} of them remaining;
 *              may be called more than once and must give the same bytes each time
 */
public record Initializer(String name, DType dtype, long[] shape, Supplier<ByteBuffer> data) {
    public Initializer {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("initializer needs a name");
        }
        shape = shape.clone();
        for (long dim : shape) {
            if (dim < 0) {
                throw new IllegalArgumentException("initializer '" + name + "' has a negative dimension: "
                        + Arrays.toString(shape));
            }
        }
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** The number of elements. */
    public long elementCount() {
        long count = 1;
        for (long dim : shape) {
            count = Math.multiplyExact(count, dim);
        }
        return count;
    }

    /** The number of bytes of data. */
    public long byteCount() {
        return elementCount() * dtype.byteSize();
    }

    /**
     * The bytes, checked against the declared size.
     *
     * @throws IllegalStateException when the supplier gives the wrong number of bytes
     */
    public ByteBuffer bytes() {
        ByteBuffer bytes = data.get();
        if (bytes.remaining() != byteCount()) {
            throw new IllegalStateException("initializer '" + name + "' " + dtype + Arrays.toString(shape)
                    + " needs " + byteCount() + " bytes, its data has " + bytes.remaining());
        }
        return bytes;
    }
}
