package dev.asyncdiff.spi;

import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.InferenceSession;
import java.nio.file.Path;

/**
 * An opened inference backend (ONNX Runtime, TensorRT) that loads model files into sessions on
 * devices. Owns its native environment; closing it is idempotent. Sessions it loaded are owned by
 * the caller and must be closed before the backend. Thread-safe: sessions may be loaded from
 * several threads.
 */
public interface Backend extends AutoCloseable {
    /** The provider name this backend came from. */
    String name();

    /**
     * Loads {@code modelFile} (with any external data file beside it) into a session on
     * {@code device}; the caller must close it.
     *
     * @throws dev.asyncdiff.api.ModelNotFoundException   when the file is missing
     * @throws dev.asyncdiff.api.MalformedModelException  when it is not a readable model
     * @throws IllegalArgumentException                   when the device is not usable by this backend
     */
    InferenceSession load(Path modelFile, Device device);

    /**
     * What decides how fast this backend's sessions run on {@code device}, in words, e.g.
     * {@code onnx on cpu, 1 intra-op thread}: measured unit times are stored and reused under it, so
     * that times taken under one setting never balance a split that runs under another.
     */
    default String timingProfile(Device device) {
        return name() + " on " + device.kind();
    }

    @Override
    void close();
}
