package dev.asyncdiff.api;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A dense, row-major tensor with a {@link DType} and a shape, over {@link DeviceBuffer} storage that
 * belongs to a {@link Device}: host direct memory ({@link HostBuffer}, handed to native code without
 * copying) or memory a backend owns on its device.
 *
 * <p>Ownership: whoever creates a tensor closes it; closing releases its storage at once (to the pool
 * it came from, or to the device). {@link #close()} is idempotent; any use after it throws
 * {@link IllegalStateException}. Methods that return a new {@code Tensor} return a copy the caller
 * must close, except {@link #reshape(long...)}, {@link #view()} and {@link #batchSlice(long, long)},
 * which return views over the same memory: closing a view releases nothing, and a view fails once
 * the tensor it came from is closed. A tensor is not thread-safe for concurrent writes; reading it
 * from several threads after publication is safe.
 */
public final class Tensor implements AutoCloseable {
    private final DType dtype;
    private final long[] shape;
    private final DeviceBuffer storage;
    private final long offset;
    private final boolean ownsStorage;
    private final ByteBuffer host;
    private volatile boolean closed;

    private Tensor(DType dtype, long[] shape, DeviceBuffer storage, long offset, boolean ownsStorage) {
        this.dtype = dtype;
        this.shape = shape;
        this.storage = storage;
        this.offset = offset;
        this.ownsStorage = ownsStorage;
        if (storage.isHostAccessible()) {
            ByteBuffer all = storage.hostView();
            all.position(Math.toIntExact(offset)).limit(Math.toIntExact(offset + byteCount(dtype, shape)));
            this.host = all.slice().order(ByteOrder.nativeOrder());
        } else {
            this.host = null;
        }
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
        return new Tensor(dtype, checkedShape, HostBuffer.wrap(data, device), 0, true);
    }

    /**
     * A tensor over {@code storage}, which it takes over: closing the tensor closes the storage.
     *
     * @throws IllegalArgumentException when the storage's size is not the shape's element count times
     *                                  the dtype's size
     */
    public static Tensor of(DType dtype, DeviceBuffer storage, long... shape) {
        requireNonNull(dtype, "dtype");
        requireNonNull(storage, "storage");
        long[] checkedShape = checkShape(shape);
        long expected = byteCount(dtype, checkedShape);
        if (storage.byteSize() != expected) {
            throw new IllegalArgumentException("a " + dtype + " tensor of shape " + Arrays.toString(checkedShape)
                    + " needs " + expected + " bytes, storage " + storage + " has " + storage.byteSize());
        }
        return new Tensor(dtype, checkedShape, storage, 0, true);
    }

    /** A new zero-filled tensor on the CPU. */
    public static Tensor zeros(DType dtype, long... shape) {
        requireNonNull(dtype, "dtype");
        long[] checkedShape = checkShape(shape);
        return new Tensor(dtype, checkedShape, allocate(byteCount(dtype, checkedShape)), 0, true);
    }

    /** A new FP32 tensor on the CPU holding a copy of {@code values}. */
    public static Tensor ofFloats(float[] values, long... shape) {
        Tensor tensor = zeros(DType.FP32, checkCount(values.length, shape));
        tensor.host.asFloatBuffer().put(values);
        return tensor;
    }

    /** A new INT64 tensor on the CPU holding a copy of {@code values}. */
    public static Tensor ofLongs(long[] values, long... shape) {
        Tensor tensor = zeros(DType.INT64, checkCount(values.length, shape));
        tensor.host.asLongBuffer().put(values);
        return tensor;
    }

    /** A new INT32 tensor on the CPU holding a copy of {@code values}. */
    public static Tensor ofInts(int[] values, long... shape) {
        Tensor tensor = zeros(DType.INT32, checkCount(values.length, shape));
        tensor.host.asIntBuffer().put(values);
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

    /** The device that holds the storage. */
    public Device device() {
        return storage.device();
    }

    /** Where this tensor's first element lies in its {@link #storage()}, in bytes (non-zero for slices). */
    public long byteOffset() {
        return offset;
    }

    /** The storage; owned by this tensor (by the tensor it was viewed from, for a view). */
    public DeviceBuffer storage() {
        live();
        return storage;
    }

    /** Whether the bytes are in host memory, readable through {@link #buffer()} without a copy. */
    public boolean isHostResident() {
        return host != null;
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
     *
     * @throws IllegalStateException when the tensor is closed or lives in device memory (copy it with
     *                               {@link #toHost()} first)
     */
    public ByteBuffer buffer() {
        live();
        if (host == null) {
            throw new IllegalStateException("Tensor " + dtype + Arrays.toString(shape) + " lives in " + device()
                    + " memory; copy it to the host with toHost() to read its bytes");
        }
        return host.duplicate().order(ByteOrder.nativeOrder());
    }

    /**
     * The tensor in host memory: a view of this one when it already is ({@link #isHostResident()}),
     * else a copy on {@link Device#CPU}. Either way the caller closes the result.
     */
    public Tensor toHost() {
        live();
        if (host != null) {
            return view();
        }
        HostBuffer copy = HostBuffer.allocate(byteCount(), Device.CPU);
        ByteBuffer target = copy.hostView();
        storage.copyToHost(offset, target);
        return new Tensor(dtype, shape.clone(), copy, 0, true);
    }

    /**
     * A copy of this tensor in memory of {@code target} made device to device (see
     * {@link DeviceBuffer#copyToDevice}), or empty when its storage cannot; the caller closes the copy.
     */
    public java.util.Optional<Tensor> copyToDevice(Device target) {
        live();
        return storage.copyToDevice(target, offset, byteCount())
                .map(copy -> new Tensor(dtype, shape.clone(), copy, 0, true));
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
        ByteBuffer source = buffer();
        Tensor out = new Tensor(target, shape.clone(), allocate(byteCount(target, shape), device()), 0, true);
        if (target == dtype) {
            out.host.put(source).flip();
            return out;
        }
        ByteBuffer dst = out.host;
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
        live();
        return new Tensor(dtype, checked, storage, offset, false);
    }

    /** A view of the same memory with the same shape; see {@link #reshape(long...)}. */
    public Tensor view() {
        live();
        return new Tensor(dtype, shape.clone(), storage, offset, false);
    }

    /**
     * A view of {@code count} consecutive entries of the first axis from {@code start} (rows are
     * contiguous in row-major order, so nothing is copied), e.g. one half of a classifier-free
     * guidance batch. Closing it releases nothing; it fails once this tensor is closed.
     *
     * @throws IllegalArgumentException when the tensor is a scalar or the range is outside the first axis
     */
    public Tensor batchSlice(long start, long count) {
        live();
        if (shape.length == 0 || start < 0 || count < 0 || start + count > shape[0]) {
            throw new IllegalArgumentException("cannot take entries [" + start + ", " + (start + count)
                    + ") of the first axis of shape " + Arrays.toString(shape));
        }
        long[] sliced = shape.clone();
        sliced[0] = count;
        long rowBytes = shape[0] == 0 ? 0 : byteCount() / shape[0];
        return new Tensor(dtype, sliced, storage, offset + start * rowBytes, false);
    }

    /** Whether this tensor, or the one it is a view of, has been closed. */
    public boolean isClosed() {
        return closed || storage.isReleased();
    }

    /** Releases the storage at once (for a view: nothing); idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (ownsStorage) {
            storage.close();
        }
    }

    @Override
    public String toString() {
        return "Tensor[" + dtype + " " + Arrays.toString(shape) + " on " + device()
                + (isClosed() ? ", closed" : "") + "]";
    }

    private void live() {
        if (isClosed()) {
            throw new IllegalStateException("Tensor " + dtype + Arrays.toString(shape) + " is closed");
        }
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

    private static HostBuffer allocate(long bytes) {
        return allocate(bytes, Device.CPU);
    }

    private static HostBuffer allocate(long bytes, Device device) {
        if (bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a host tensor holds at most " + Integer.MAX_VALUE
                    + " bytes, " + bytes + " requested");
        }
        return HostBuffer.allocate(bytes, device);
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
