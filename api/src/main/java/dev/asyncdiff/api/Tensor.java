package dev.asyncdiff.api;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A dense, row-major tensor with a {@link DType}, a shape and the {@link Device} it belongs to,
 * stored on the host in a direct, native-order {@link ByteBuffer} so that backends can hand the
 * memory to native code without copying.
 *
 * <p>Ownership: whoever creates a tensor closes it. {@link #close()} is idempotent; any use after
 * it throws {@link IllegalStateException}. Methods that return a new {@code Tensor} return a copy
 * the caller must close, except {@link #reshape(long...)}, which returns a view over the same
 * memory. A tensor is not thread-safe for concurrent writes; reading it from several threads after
 * publication is safe.
 */
public final class Tensor implements AutoCloseable {
    private final DType dtype;
    private final long[] shape;
    private final Device device;
    private volatile ByteBuffer data;

    private Tensor(DType dtype, long[] shape, Device device, ByteBuffer data) {
        this.dtype = dtype;
        this.shape = shape;
        this.device = device;
        this.data = data;
    }

    /**
     * Wraps a direct buffer without copying; the tensor takes it over and the caller must not
     * write to it afterwards except through {@link #buffer()}.
     *
     * @throws IllegalArgumentException when the buffer is not direct, not in native order, or its
     *                                  remaining bytes do not equal the shape's element count
     *                                  times the dtype's size
     */
    public static Tensor wrap(DType dtype, ByteBuffer data, Device device, long... shape) {
        requireNonNull(dtype, "dtype");
        requireNonNull(device, "device");
        requireNonNull(data, "data");
        long[] checkedShape = checkShape(shape);
        if (!data.isDirect()) {
            throw new IllegalArgumentException("tensor storage must be a direct ByteBuffer");
        }
        if (data.order() != ByteOrder.nativeOrder()) {
            throw new IllegalArgumentException("tensor storage must be in native byte order ("
                    + ByteOrder.nativeOrder() + "), was " + data.order());
        }
        long expected = byteCount(dtype, checkedShape);
        if (data.remaining() != expected) {
            throw new IllegalArgumentException("a " + dtype + " tensor of shape "
                    + Arrays.toString(checkedShape) + " needs " + expected + " bytes, buffer has "
                    + data.remaining());
        }
        return new Tensor(dtype, checkedShape, device, data.slice().order(ByteOrder.nativeOrder()));
    }

    /** A new zero-filled tensor on the CPU. */
    public static Tensor zeros(DType dtype, long... shape) {
        requireNonNull(dtype, "dtype");
        long[] checkedShape = checkShape(shape);
        return new Tensor(dtype, checkedShape, Device.CPU, allocate(byteCount(dtype, checkedShape)));
    }

    /** A new FP32 tensor on the CPU holding a copy of {@code values}. */
    public static Tensor ofFloats(float[] values, long... shape) {
        Tensor tensor = zeros(DType.FP32, checkCount(values.length, shape));
        tensor.data.asFloatBuffer().put(values);
        return tensor;
    }

    /** A new INT64 tensor on the CPU holding a copy of {@code values}. */
    public static Tensor ofLongs(long[] values, long... shape) {
        Tensor tensor = zeros(DType.INT64, checkCount(values.length, shape));
        tensor.data.asLongBuffer().put(values);
        return tensor;
    }

    /** A new INT32 tensor on the CPU holding a copy of {@code values}. */
    public static Tensor ofInts(int[] values, long... shape) {
        Tensor tensor = zeros(DType.INT32, checkCount(values.length, shape));
        tensor.data.asIntBuffer().put(values);
        return tensor;
    }

    /** A new FP32 scalar (rank 0) on the CPU. */
    public static Tensor scalar(float value) {
        return ofFloats(new float[] {value});
    }

    public DType dtype() {
        return dtype;
    }

    /** The shape; a copy. */
    public long[] shape() {
        return shape.clone();
    }

    /** The size of dimension {@code axis}. */
    public long dim(int axis) {
        return shape[axis];
    }

    public int rank() {
        return shape.length;
    }

    public Device device() {
        return device;
    }

    /** The number of elements: the product of the shape (1 for a scalar). */
    public long elementCount() {
        return elementCount(shape);
    }

    /** The number of bytes of storage. */
    public long byteCount() {
        return byteCount(dtype, shape);
    }

    /**
     * A view of the storage (position 0, native order) sharing memory with this tensor: writes
     * through it change the tensor. Valid until the tensor is closed.
     */
    public ByteBuffer buffer() {
        return live().duplicate().order(ByteOrder.nativeOrder());
    }

    /** A copy of the elements as floats, converting from any dtype (BOOL gives 0 or 1). */
    public float[] toFloatArray() {
        ByteBuffer buffer = buffer();
        int count = Math.toIntExact(elementCount());
        float[] out = new float[count];
        switch (dtype) {
            case FP32 -> buffer.asFloatBuffer().get(out);
            case FP16 -> {
                for (int i = 0; i < count; i++) {
                    out[i] = FloatFormats.halfToFloat(buffer.getShort(2 * i));
                }
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) {
                    out[i] = FloatFormats.bfloat16ToFloat(buffer.getShort(2 * i));
                }
            }
            case INT64 -> {
                for (int i = 0; i < count; i++) {
                    out[i] = buffer.getLong(8 * i);
                }
            }
            case INT32 -> {
                for (int i = 0; i < count; i++) {
                    out[i] = buffer.getInt(4 * i);
                }
            }
            case BOOL, UINT8 -> {
                for (int i = 0; i < count; i++) {
                    out[i] = buffer.get(i) & 0xFF;
                }
            }
        }
        return out;
    }

    /**
     * A copy of the elements as longs; for an integer or boolean dtype.
     *
     * @throws IllegalStateException for a floating-point tensor
     */
    public long[] toLongArray() {
        if (dtype.isFloatingPoint()) {
            throw new IllegalStateException("toLongArray needs an integer tensor, this one is " + dtype);
        }
        ByteBuffer buffer = buffer();
        int count = Math.toIntExact(elementCount());
        long[] out = new long[count];
        for (int i = 0; i < count; i++) {
            out[i] = switch (dtype) {
                case INT64 -> buffer.getLong(8 * i);
                case INT32 -> buffer.getInt(4 * i);
                default -> buffer.get(i) & 0xFF;
            };
        }
        return out;
    }

    /**
     * A new tensor with the same shape converted to {@code target}; the caller must close it.
     * Floating-point types convert by value (rounding to nearest even); integers convert exactly
     * within range; a float converted to an integer type is rounded toward zero.
     */
    public Tensor to(DType target) {
        requireNonNull(target, "target");
        live();
        Tensor out = new Tensor(target, shape.clone(), device, allocate(byteCount(target, shape)));
        if (target == dtype) {
            out.data.put(buffer()).flip();
            return out;
        }
        ByteBuffer dst = out.data;
        int count = Math.toIntExact(elementCount());
        if (!dtype.isFloatingPoint() && !target.isFloatingPoint()) {
            long[] values = toLongArray();
            for (int i = 0; i < count; i++) {
                putLong(dst, target, i, values[i]);
            }
            return out;
        }
        float[] values = toFloatArray();
        for (int i = 0; i < count; i++) {
            float value = values[i];
            switch (target) {
                case FP32 -> dst.putFloat(4 * i, value);
                case FP16 -> dst.putShort(2 * i, FloatFormats.floatToHalf(value));
                case BF16 -> dst.putShort(2 * i, FloatFormats.floatToBfloat16(value));
                case BOOL -> dst.put(i, (byte) (value != 0f ? 1 : 0));
                default -> putLong(dst, target, i, (long) value);
            }
        }
        return out;
    }

    /**
     * A view of the same memory with another shape of the same element count. Closing the view
     * does not close this tensor, and the view is invalid once this tensor is closed.
     */
    public Tensor reshape(long... newShape) {
        long[] checked = checkShape(newShape);
        if (elementCount(checked) != elementCount()) {
            throw new IllegalArgumentException("cannot reshape " + Arrays.toString(shape) + " ("
                    + elementCount() + " elements) to " + Arrays.toString(checked) + " ("
                    + elementCount(checked) + " elements)");
        }
        return new Tensor(dtype, checked, device, buffer());
    }

    /** Whether {@link #close()} has been called. */
    public boolean isClosed() {
        return data == null;
    }

    /** Releases the storage; idempotent. */
    @Override
    public void close() {
        data = null;
    }

    @Override
    public String toString() {
        return "Tensor[" + dtype + " " + Arrays.toString(shape) + " on " + device
                + (isClosed() ? ", closed" : "") + "]";
    }

    private ByteBuffer live() {
        ByteBuffer current = data;
        if (current == null) {
            throw new IllegalStateException("Tensor " + dtype + Arrays.toString(shape) + " is closed");
        }
        return current;
    }

    private static void putLong(ByteBuffer dst, DType target, int index, long value) {
        switch (target) {
            case INT64 -> dst.putLong(8 * index, value);
            case INT32 -> dst.putInt(4 * index, Math.toIntExact(value));
            case BOOL -> dst.put(index, (byte) (value != 0 ? 1 : 0));
            case UINT8 -> {
                if (value < 0 || value > 255) {
                    throw new ArithmeticException("value " + value + " does not fit in uint8");
                }
                dst.put(index, (byte) value);
            }
            default -> throw new IllegalStateException("not an integer dtype: " + target);
        }
    }

    private static ByteBuffer allocate(long bytes) {
        if (bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a host tensor holds at most " + Integer.MAX_VALUE
                    + " bytes, " + bytes + " requested");
        }
        return ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.nativeOrder());
    }

    private static long[] checkCount(int count, long[] shape) {
        long[] checked = checkShape(shape);
        long expected = elementCount(checked);
        if (expected != count) {
            throw new IllegalArgumentException("shape " + Arrays.toString(checked) + " holds "
                    + expected + " elements but " + count + " values were given");
        }
        return checked;
    }

    private static long[] checkShape(long[] shape) {
        requireNonNull(shape, "shape");
        for (long dim : shape) {
            if (dim < 0) {
                throw new IllegalArgumentException("tensor dimensions must be >= 0, shape was "
                        + Arrays.toString(shape));
            }
        }
        return shape.clone();
    }

    private static long elementCount(long[] shape) {
        long count = 1;
        for (long dim : shape) {
            count = Math.multiplyExact(count, dim);
        }
        return count;
    }

    private static long byteCount(DType dtype, long[] shape) {
        return Math.multiplyExact(elementCount(shape), dtype.byteSize());
    }

    private static void requireNonNull(Object value, String what) {
        if (value == null) {
            throw new IllegalArgumentException(what + " must not be null");
        }
    }
}
