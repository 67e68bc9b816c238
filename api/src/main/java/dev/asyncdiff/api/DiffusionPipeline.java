package dev.asyncdiff.api;

/**
 * A loaded diffusion model: its encoders, denoiser and decoder, ready to generate. Owns every
 * session it opened; closing it releases them. Not thread-safe: one generation at a time.
 */
public interface DiffusionPipeline extends AutoCloseable {
    /** The model family, e.g. {@code sd15}, {@code sd21} or {@code sdxl}. */
    String family();

    /**
     * Chooses how the denoiser runs from the next generation on: {@code modelN} 1 with stride 1 and no time shift
     * is plain sequential denoising, anything else AsyncDiff's asynchronous schedule on as many
     * devices as {@link AsyncConfig#devicesRequired()}.
     *
     * @throws IllegalArgumentException when the pipeline has too few devices for {@code config}
     */
    void setAsyncConfig(AsyncConfig config);

    /** The current denoising configuration ({@link AsyncConfig#SEQUENTIAL} until changed). */
    AsyncConfig asyncConfig();

    /**
     * Runs one generation at the tensor level, the same for every family: the final latents and the
     * decoded pixels in [0, 1]. The compatibility kit compares strategies with it. The caller closes
     * the output.
     *
     * @throws IllegalArgumentException when the request does not fit the model (e.g. a size not divisible by 8)
     * @throws AsyncDiffException       when a model fails to run
     */
    PipelineOutput run(TextToImageRequest request);

    @Override
    void close();
}
