package dev.asyncdiff.backend.tensorrt;

import dev.asyncdiff.api.BackendException;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.spi.Backend;
import dev.asyncdiff.spi.BackendOptions;
import dev.asyncdiff.spi.BackendProvider;
import org.bytedeco.javacpp.Loader;

/**
 * Finds the {@code tensorrt} backend through {@link java.util.ServiceLoader}. Creating the provider is
 * cheap and touches no native code; {@link #open} checks the options and devices first, then loads
 * TensorRT and the CUDA runtime, which a default (CPU-only) build does not carry: build with
 * {@code -Ptensorrt} on a host with an NVIDIA driver.
 */
public final class TensorRtBackendProvider implements BackendProvider {
    /** The name users select this backend by. */
    public static final String NAME = "tensorrt";

    /** A provider; loads nothing. */
    public TensorRtBackendProvider() {
    }

    @Override
    public String name() {
        return NAME;
    }

    /**
     * Opens a TensorRT backend for {@code options}' devices; the caller must close it.
     *
     * @throws IllegalArgumentException naming the option or device when an option is invalid or no device
     *                                  is {@code cuda:N} (a CPU device among GPUs is refused when a model is
     *                                  loaded on it)
     * @throws BackendException         naming what is missing when TensorRT's or CUDA's natives cannot load
     */
    @Override
    public Backend open(BackendOptions options) {
        if (options == null) {
            throw new IllegalArgumentException("backend options must not be null");
        }
        TensorRtOptions parsed = TensorRtOptions.from(options);
        if (options.devices().stream().noneMatch(device -> Device.CUDA_KIND.equals(device.kind()))) {
            requireCuda(options.devices().get(0));
        }
        loadNatives();
        return new TensorRtBackend(parsed, options.devices());
    }

    static void requireCuda(Device device) {
        if (!Device.CUDA_KIND.equals(device.kind())) {
            throw new IllegalArgumentException("the tensorrt backend runs on cuda:N devices, not " + device
                    + "; run the components on the CPU with the onnx backend (components.N.backend=onnx)");
        }
    }

    private static void loadNatives() {
        try {
            Loader.load(org.bytedeco.cuda.global.cudart.class);
            Loader.load(org.bytedeco.tensorrt.global.nvinfer.class);
            Loader.load(org.bytedeco.tensorrt.global.nvonnxparser.class);
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            throw new BackendException("TRT_NATIVES", "TensorRT or the CUDA runtime could not load on this machine ("
                    + e.getMessage() + "): build with -Ptensorrt (JavaCPP's linux-x86_64 natives and NVIDIA's "
                    + "TensorRT 11.2 and CUDA 13 redistributables), and run on a host with an NVIDIA driver for CUDA 13",
                    e);
        }
    }
}
