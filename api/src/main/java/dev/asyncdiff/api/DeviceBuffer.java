package dev.asyncdiff.api;

import java.nio.ByteBuffer;

/**
 * The storage behind a {@link Tensor}: bytes that belong to one {@link Device}, either host memory
 * ({@link HostBuffer}) or memory a backend owns on its device (a CUDA or TensorRT allocation), so
 * that a tensor produced on a GPU can stay there between the components that use it.
 *
 * <p>Ownership: the tensor built over a buffer owns it and closes it; {@link #close()} releases the
 * memory at once (to its pool or to the device's allocator) and is idempotent. Only host-accessible
 * buffers expose their bytes ({@link #hostView()}); moving bytes to or from a device buffer is an
 * explicit copy ({@link #copyToHost}, {@link #copyFromHost}). Implementations are thread-safe for
 * reads once published; writes are the producer's, before it hands the tensor on.
 */
public interface DeviceBuffer extends AutoCloseable {
    /** The device that holds the bytes. */
    Device device();

    /** The size in bytes. */
    long byteSize();

    /** Whether the bytes live in host memory that {@link #hostView()} can expose without a copy. */
    boolean isHostAccessible();

    /**
     * The bytes as a direct, native-order buffer (position 0, limit {@link #byteSize()}) sharing memory
     * with this storage.
     *
     * @throws IllegalStateException when the storage is not host accessible or is released
     */
    ByteBuffer hostView();

    /**
     * Copies {@code target.remaining()} bytes starting at {@code offset} into {@code target}.
     *
     * @throws IllegalArgumentException when the range is outside the buffer
     * @throws IllegalStateException    when the storage is released
     */
    void copyToHost(long offset, ByteBuffer target);

    /**
     * Copies {@code source.remaining()} bytes from the host into this storage at {@code offset}.
     *
     * @throws IllegalArgumentException when the range is outside the buffer
     * @throws IllegalStateException    when the storage is released
     */
    void copyFromHost(long offset, ByteBuffer source);

    /**
     * A copy of {@code length} bytes from {@code offset} into new memory on {@code target} that does not
     * pass through the host (a GPU-to-GPU peer copy), or empty when this storage cannot make one (the
     * default): the caller then copies through the host. The caller closes the copy.
     *
     * @throws IllegalArgumentException when the range is outside the buffer
     * @throws IllegalStateException    when the storage is released
     */
    default java.util.Optional<DeviceBuffer> copyToDevice(Device target, long offset, long length) {
        return java.util.Optional.empty();
    }

    /** Whether {@link #close()} has been called. */
    boolean isReleased();

    /** Releases the memory at once; idempotent. */
    @Override
    void close();
}
