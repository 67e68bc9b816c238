package dev.asyncdiff.api;

import java.util.Map;

/**
 * Runs denoising loops over a denoiser's components placed on devices: sequentially, or
 * asynchronously across devices. A strategy owns the sessions and worker threads it created;
 * {@link #close()} releases them all and is idempotent. One loop runs at a time per strategy.
 */
public interface ParallelStrategy extends AutoCloseable {
    /** The strategy's name, e.g. {@code sequential} or {@code async}. */
    String name();

    /**
     * Denoises {@code request.latents()} over every timestep of {@code request.scheduler()}.
     *
     * @return the final latents; the caller closes them
     * @throws java.util.concurrent.CancellationException when cancelled through the request or an interrupt
     * @throws AsyncDiffException                          wrapping the first failure of any device worker
     */
    Tensor denoise(DenoiseRequest request);

    /**
     * The inputs the denoiser's first component declares, as its backend session probed them (names,
     * dtypes such as an int64 {@code timestep}, ranks), so callers can check a request against the
     * export before the loop starts.
     */
    java.util.List<TensorSpec> denoiserInputs();

    /** The bytes of weights each device holds for this strategy. */
    Map<Device, Long> weightBytesPerDevice();

    @Override
    void close();
}
