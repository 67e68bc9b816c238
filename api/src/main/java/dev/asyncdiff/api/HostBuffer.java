package dev.asyncdiff.api;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.Consumer;

/**
 * Host memory in a direct, native-order {@link ByteBuffer}: the storage of every tensor on a CPU and
 * of tensors a backend hands over through the host.
 *
 * <p>{@link #close()} hands the memory back at once to whoever lent it (a worker's pool, through the
 * release action given to {@link #lend}); memory made by {@link #allocate} has no pool and is
 * reclaimed by the garbage collector once unreachable. A released buffer refuses every access, so a
 * view that outlives its tensor fails instead of reading memory that was lent out again.
 * Thread-safe.
 */
public final class HostBuffer implements DeviceBuffer {
    private final Device device;
    private final ByteBuffer memory;
    private final Consumer<ByteBuffer> onRelease;
    private volatile boolean released;

    private HostBuffer(Device device, ByteBuffer memory, Consumer<ByteBuffer> onRelease) {
        this.device = device;
        this.memory = memory;
        this.onRelease = onRelease;
    }

    /**
     * New zero-filled host memory of {@code bytes} bytes on {@code device}.
     *
     * @throws IllegalArgumentException when {@code bytes} is negative or above {@link Integer#MAX_VALUE}
     */
    public static HostBuffer allocate(long bytes, Device device) {
        if (bytes < 0 || bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a host buffer holds 0 to " + Integer.MAX_VALUE + " bytes, "
                    + bytes + " requested");
        }
        return new HostBuffer(requireDevice(device),
                ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.nativeOrder()), null);
    }

    /**
     * Storage over {@code memory} (a direct buffer, from its position to its limit) that calls
     * {@code onRelease} with it once, when closed, so a pool can lend it again.
     *
     * @throws IllegalArgumentException when {@code memory} is not direct
     */
    public static HostBuffer lend(ByteBuffer memory, Device device, Consumer<ByteBuffer> onRelease) {
        if (memory == null || !memory.isDirect()) {
            throw new IllegalArgumentException("host storage must be a direct ByteBuffer, was " + memory);
        }
        if (onRelease == null) {
            throw new IllegalArgumentException("a lent host buffer needs a release action");
        }
        return new HostBuffer(requireDevice(device), memory, onRelease);
    }

    /** Storage over {@code memory} without copying, reclaimed by the garbage collector. */
    static HostBuffer wrap(ByteBuffer memory, Device device) {
        return new HostBuffer(requireDevice(device), memory.slice().order(ByteOrder.nativeOrder()), null);
    }

    private static Device requireDevice(Device device) {
        if (device == null) {
            throw new IllegalArgumentException("a host buffer needs a device");
        }
        return device;
    }

    @Override
    public Device device() {
        return device;
    }

    @Override
    public long byteSize() {
        return memory.remaining();
    }

    @Override
    public boolean isHostAccessible() {
        return true;
    }

    @Override
    public ByteBuffer hostView() {
        if (released) {
            throw new IllegalStateException("HostBuffer of " + byteSize() + " bytes on " + device + " is released");
        }
        return memory.slice().order(ByteOrder.nativeOrder());
    }

    @Override
    public void copyToHost(long offset, ByteBuffer target) {
        ByteBuffer view = range(offset, target.remaining());
        target.put(view);
    }

    @Override
    public void copyFromHost(long offset, ByteBuffer source) {
        ByteBuffer view = range(offset, source.remaining());
        view.put(source);
    }

    private ByteBuffer range(long offset, int length) {
        if (offset < 0 || offset + length > byteSize()) {
            throw new IllegalArgumentException("bytes [" + offset + ", " + (offset + length) + ") are outside a "
                    + byteSize() + "-byte host buffer");
        }
        ByteBuffer view = hostView();
        view.position((int) offset).limit((int) offset + length);
        return view;
    }

    @Override
    public boolean isReleased() {
        return released;
    }

    @Override
    public void close() {
        Consumer<ByteBuffer> release;
        synchronized (this) {
            if (released) {
                return;
            }
            released = true;
            release = onRelease;
        }
        if (release != null) {
            release.accept(memory);
        }
    }

    @Override
    public String toString() {
        return "HostBuffer[" + byteSize() + " bytes on " + device + (released ? ", released" : "") + "]";
    }
}
