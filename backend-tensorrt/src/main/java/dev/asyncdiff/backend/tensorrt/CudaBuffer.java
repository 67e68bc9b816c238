package dev.asyncdiff.backend.tensorrt;

import static org.bytedeco.cuda.global.cudart.cudaFree;
import static org.bytedeco.cuda.global.cudart.cudaMalloc;
import static org.bytedeco.cuda.global.cudart.cudaMemcpy;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyDeviceToHost;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyHostToDevice;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyPeer;

import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.DeviceBuffer;
import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;

/**
 * Memory on a CUDA device ({@code cudaMalloc}), freed at once by {@link #close()}. Its bytes are reached
 * from the host only by explicit copies. TensorRT writes a component's outputs here and the next
 * component on the same GPU reads them in place; a component on another GPU gets a peer copy. Public for the
 * {@code nccl} communicator, which receives tensors into it.
 */
public final class CudaBuffer implements DeviceBuffer {
    private final Device device;
    private final long bytes;
    private final Pointer address;
    private final AtomicBoolean released = new AtomicBoolean();

    private CudaBuffer(Device device, long bytes, Pointer address) {
        this.device = device;
        this.bytes = bytes;
        this.address = address;
    }

    /** {@code bytes} of device memory on {@code device} (current on the calling thread). */
    public static CudaBuffer allocate(Device device, long bytes) {
        Pointer address = new Pointer();
        Cuda.check(cudaMalloc(address, Math.max(bytes, 1)), "cudaMalloc(" + bytes + " bytes) on " + device);
        return new CudaBuffer(device, bytes, address);
    }

    /** The device address {@code offset} bytes in. */
    public Pointer address(long offset) {
        requireLive();
        return offset == 0 ? address : new BytePointer(address).position(offset);
    }

    @Override
    public Device device() {
        return device;
    }

    @Override
    public long byteSize() {
        return bytes;
    }

    @Override
    public boolean isHostAccessible() {
        return false;
    }

    @Override
    public ByteBuffer hostView() {
        throw new IllegalStateException("memory on " + device + " has no host view; copy it with toHost()");
    }

    @Override
    public void copyToHost(long offset, ByteBuffer target) {
        checkRange(offset, target.remaining());
        Cuda.use(device);
        Cuda.check(cudaMemcpy(new BytePointer(target), address(offset), target.remaining(), cudaMemcpyDeviceToHost),
                "cudaMemcpy device to host");
    }

    @Override
    public void copyFromHost(long offset, ByteBuffer source) {
        checkRange(offset, source.remaining());
        Cuda.use(device);
        Cuda.check(cudaMemcpy(address(offset), new BytePointer(source), source.remaining(), cudaMemcpyHostToDevice),
                "cudaMemcpy host to device");
    }

    /** A peer copy onto another CUDA device ({@code cudaMemcpyPeer}); empty for any other kind of device. */
    @Override
    public Optional<DeviceBuffer> copyToDevice(Device target, long offset, long length) {
        checkRange(offset, length);
        if (!Device.CUDA_KIND.equals(target.kind())) {
            return Optional.empty();
        }
        Cuda.use(target);
        CudaBuffer copy = allocate(target, length);
        try {
            Cuda.check(cudaMemcpyPeer(copy.address(0), target.index(), address(offset), device.index(), length),
                    "cudaMemcpyPeer from " + device + " to " + target);
        } catch (RuntimeException e) {
            copy.close();
            throw e;
        }
        return Optional.of(copy);
    }

    @Override
    public boolean isReleased() {
        return released.get();
    }

    @Override
    public void close() {
        if (released.compareAndSet(false, true)) {
            Cuda.check(cudaFree(address), "cudaFree on " + device);
        }
    }

    private void checkRange(long offset, long length) {
        requireLive();
        if (offset < 0 || length < 0 || offset + length > bytes) {
            throw new IllegalArgumentException("bytes " + offset + ".." + (offset + length) + " are outside a "
                    + bytes + "-byte buffer on " + device);
        }
    }

    private void requireLive() {
        if (released.get()) {
            throw new IllegalStateException("memory on " + device + " was released");
        }
    }
}
