package dev.asyncdiff.backend.tensorrt;

import static org.bytedeco.cuda.global.cudart.cudaGetErrorString;
import static org.bytedeco.cuda.global.cudart.cudaSetDevice;

import dev.asyncdiff.api.BackendException;
import dev.asyncdiff.api.Device;

/**
 * CUDA runtime calls checked: a non-zero status becomes a {@link BackendException} naming the call. Public for
 * the {@code nccl} communicator, which moves this backend's device memory between ranks.
 */
public final class Cuda {
    private static final int SUCCESS = 0;

    private Cuda() {
    }

    /** Throws, naming {@code call} and CUDA's error text, when {@code status} is not success. */
    public static void check(int status, String call) {
        if (status != SUCCESS) {
            String text = cudaGetErrorString(status).getString();
            throw new BackendException("CUDA_" + status, call + " failed: " + text, null);
        }
    }

    /** Makes {@code device} current on the calling thread (CUDA's current device is per thread). */
    public static void use(Device device) {
        check(cudaSetDevice(device.index()), "cudaSetDevice(" + device.index() + ")");
    }
}
