package dev.asyncdiff.api;

/**
 * Enables asynchronous denoising on a pipeline, mirroring the original AsyncDiff's two lines:
 *
 * <pre>{@code
 * AsyncDiff async = AsyncDiff.enable(pipeline, AsyncConfig.of(2, 1, false));
 * async.resetState(1);   // one warm-up step
 * }</pre>
 *
 * <p>Later generations of {@code pipeline} then run the denoiser split across its devices.
 */
public final class AsyncDiff {
    private final DiffusionPipeline pipeline;

    private AsyncDiff(DiffusionPipeline pipeline) {
        this.pipeline = pipeline;
    }

    /**
     * Switches {@code pipeline} to {@code config}.
     *
     * @throws IllegalArgumentException when the pipeline has too few devices for {@code config}
     */
    public static AsyncDiff enable(DiffusionPipeline pipeline, AsyncConfig config) {
        if (pipeline == null || config == null) {
            throw new IllegalArgumentException("AsyncDiff.enable needs a pipeline and a config");
        }
        pipeline.setAsyncConfig(config);
        return new AsyncDiff(pipeline);
    }

    /** Sets the number of sequential warm-up steps for the following generations, as the original's {@code reset_state}. */
    public void resetState(int warmUp) {
        pipeline.setAsyncConfig(pipeline.asyncConfig().withWarmUp(warmUp));
    }

    /** The configuration in force. */
    public AsyncConfig config() {
        return pipeline.asyncConfig();
    }
}
