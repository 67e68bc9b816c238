package dev.asyncdiff.api;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * A worker's host memory for session outputs: closing a tensor it lent hands the memory back at once,
 * and the next request of the same byte size reuses it, so a worker that runs the same components
 * round after round stops allocating after its first rounds. Memory is reclaimed by the garbage
 * collector once the pool is closed and the tensors it lent are closed.
 *
 * <p>Lent tensors' contents are undefined (see {@link TensorAllocator#allocate}). Thread-safe: the
 * worker allocates while the loop's thread closes the previous round's tensors.
 */
public final class HostBufferPool implements TensorAllocator, AutoCloseable {
    private final Device device;
    private final Map<Integer, ArrayDeque<ByteBuffer>> free = new HashMap<>();
    private long allocations;
    private long reuses;
    private boolean closed;

    /** A pool whose tensors report {@code device} (the worker's CPU device; host memory otherwise). */
    public HostBufferPool(Device device) {
        if (device == null) {
            throw new IllegalArgumentException("a host buffer pool needs a device");
        }
        this.device = device;
    }

    /**
     * A tensor over pooled memory; the caller closes it, which returns the memory to this pool.
     *
     * @throws IllegalArgumentException when the tensor would exceed {@link Integer#MAX_VALUE} bytes
     * @throws IllegalStateException    when the pool is closed
     */
    @Override
    public Tensor allocate(DType dtype, long... shape) {
        long count = 1;
        for (long dim : shape) {
            if (dim < 0) {
                throw new IllegalArgumentException("tensor dimensions must be >= 0, shape was "
                        + java.util.Arrays.toString(shape));
            }
            count = Math.multiplyExact(count, dim);
        }
        long bytes = Math.multiplyExact(count, dtype.byteSize());
        if (bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a pooled host tensor holds at most " + Integer.MAX_VALUE + " bytes, "
                    + bytes + " requested");
        }
        ByteBuffer memory;
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("HostBufferPool of " + device + " is closed");
            }
            ArrayDeque<ByteBuffer> sized = free.get((int) bytes);
            memory = sized == null ? null : sized.pollFirst();
            if (memory == null) {
                allocations++;
            } else {
                reuses++;
            }
        }
        if (memory == null) {
            memory = ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.nativeOrder());
        }
        return Tensor.of(dtype, HostBuffer.lend(memory, device, this::release), shape);
    }

    private synchronized void release(ByteBuffer memory) {
        if (!closed) {
            memory.clear();
            free.computeIfAbsent(memory.capacity(), size -> new ArrayDeque<>()).addFirst(memory);
        }
    }

    /** How many buffers this pool allocated from the system so far. */
    public synchronized long allocationCount() {
        return allocations;
    }

    /** How many requests were served from returned memory. */
    public synchronized long reuseCount() {
        return reuses;
    }

    /** The bytes held for reuse now. */
    public synchronized long idleBytes() {
        long bytes = 0;
        for (Map.Entry<Integer, ArrayDeque<ByteBuffer>> entry : free.entrySet()) {
            bytes += (long) entry.getKey() * entry.getValue().size();
        }
        return bytes;
    }

    /** Drops the idle memory and refuses further requests; memory still lent is dropped when returned. Idempotent. */
    @Override
    public synchronized void close() {
        closed = true;
        free.clear();
    }

    @Override
    public String toString() {
        return "HostBufferPool[" + device + ", " + allocations + " allocations, " + reuses + " reuses]";
    }
}
