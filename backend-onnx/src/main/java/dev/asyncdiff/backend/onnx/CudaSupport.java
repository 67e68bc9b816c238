package dev.asyncdiff.backend.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession.SessionOptions;
import dev.asyncdiff.api.BackendException;
import dev.asyncdiff.api.Device;

/**
 * Enables ONNX Runtime's CUDA execution provider for {@code cuda:N} devices, checking the
 * capability by trying it: first whether the ONNX Runtime build on the class path has the provider
 * at all, then whether adding it for device N succeeds.
 */
final class CudaSupport {
    /** How a user gets the CUDA build, quoted in errors. */
    static final String HOW_TO_ENABLE = "build and run with the GPU artifact: ./mvnw -Pgpu ... (the gpu profile"
            + " swaps com.microsoft.onnxruntime:onnxruntime for com.microsoft.onnxruntime:onnxruntime_gpu, which"
            + " needs an NVIDIA driver and the CUDA and cuDNN libraries that ONNX Runtime release requires)";

    private CudaSupport() {
    }

    /**
     * Fails unless the ONNX Runtime on the class path has the CUDA execution provider.
     *
     * @throws IllegalArgumentException naming the device and saying how to enable CUDA
     */
    static void requireBuiltIn(Device device) {
        if (!OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA)) {
            throw new IllegalArgumentException("device " + device + " needs ONNX Runtime's CUDA execution provider,"
                    + " which is unavailable: the CPU-only ONNX Runtime is on the class path (providers: "
                    + OrtEnvironment.getAvailableProviders() + "); to enable CUDA, " + HOW_TO_ENABLE);
        }
    }

    /**
     * Adds the CUDA execution provider with device id {@code device.index()} to {@code options}.
     *
     * @throws IllegalArgumentException when the CUDA build is not on the class path
     * @throws BackendException         with ONNX Runtime's error code when the provider cannot start
     *                                  on that device (no driver, missing libraries, no such GPU)
     */
    static void add(SessionOptions options, Device device) {
        requireBuiltIn(device);
        try {
            options.addCUDA(device.index());
        } catch (OrtException e) {
            throw new BackendException(e.getCode().name(), "could not start ONNX Runtime's CUDA execution provider on "
                    + device + " (check the NVIDIA driver, the CUDA/cuDNN libraries and that GPU " + device.index()
                    + " exists): " + e.getMessage(), e);
        }
    }
}
