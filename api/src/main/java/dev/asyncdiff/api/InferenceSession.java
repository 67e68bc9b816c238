package dev.asyncdiff.api;

import java.util.List;
import java.util.Map;

/**
 * A loaded model bound to a device, run with named tensors: a text encoder, a VAE, a denoiser or a
 * denoiser component.
 *
 * <p>Ownership: the caller owns the input tensors (they are only read) and must close the returned
 * {@link NamedTensors}. Closing the session releases its native resources; it is idempotent, and
 * any use after it throws {@link IllegalStateException}. A session is not required to be
 * thread-safe: use it from one thread at a time.
 */
public interface InferenceSession extends AutoCloseable {
    /** The inputs the model declares, in order. */
    List<TensorSpec> inputs();

    /** The outputs the model declares, in order. */
    List<TensorSpec> outputs();

    /** The device the session runs on. */
    Device device();

    /**
     * Runs the model on {@code inputs} (every declared input, by name) and returns every declared
     * output. Implementations convert between compatible dtypes (fp32/fp16, int32/int64) and
     * between a scalar and a one-element {@code [batch]} tensor where the model declares the other.
     *
     * @throws IllegalArgumentException when an input is missing, unknown, or of the wrong shape
     */
    NamedTensors run(Map<String, Tensor> inputs);

    /**
     * {@link #run(Map)} with the outputs allocated from {@code outputs} where the session can write them
     * in place (a worker passes its pool, so output memory is reused from round to round). Sessions
     * that cannot allocate their outputs themselves ignore it.
     */
    default NamedTensors run(Map<String, Tensor> inputs, TensorAllocator outputs) {
        return run(inputs);
    }

    @Override
    void close();
}
