package dev.asyncdiff.backend.onnx;

import dev.asyncdiff.spi.Backend;
import dev.asyncdiff.spi.BackendOptions;
import dev.asyncdiff.spi.BackendProvider;

/**
 * Finds the {@code onnx} backend through {@link java.util.ServiceLoader}. Creating the provider is
 * cheap and touches no native code; ONNX Runtime loads in {@link #open}.
 */
public final class OnnxBackendProvider implements BackendProvider {
    /** The name users select this backend by. */
    public static final String NAME = "onnx";

    /** A provider; loads nothing. */
    public OnnxBackendProvider() {
    }

    @Override
    public String name() {
        return NAME;
    }

    /**
     * Opens an {@link OnnxBackend}; the caller must close it.
     *
     * @throws IllegalArgumentException naming the option or device when the options are invalid
     * @throws dev.asyncdiff.api.BackendException when ONNX Runtime's native library cannot load
     */
    @Override
    public Backend open(BackendOptions options) {
        if (options == null) {
            throw new IllegalArgumentException("backend options must not be null");
        }
        return new OnnxBackend(options);
    }
}
