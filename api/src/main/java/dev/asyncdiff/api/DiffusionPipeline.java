package dev.asyncdiff.api;

/**
 * A loaded diffusion model: its encoders, denoiser and decoder, ready to generate. Owns every
 * session it opened; closing it releases them. Not thread-safe: one generation at a time.
 */
public interface DiffusionPipeline extends AutoCloseable {
    /** The model family, e.g. {@code sd15}, {@code sd21} or {@code sdxl}. */
    String family();

    /**
     * Chooses how the denoiser runs from the next generation on: {@code modelN} 1 with stride 1
     * is plain sequential denoising, anything else AsyncDiff's asynchronous schedule on as many
     * devices as {@link AsyncConfig#devicesRequired()}.
     *
     * @throws IllegalArgumentException when the pipeline has too few devices for {@code config}
     */
    void setAsyncConfig(AsyncConfig config);

    /** The current denoising configuration ({@link AsyncConfig#SEQUENTIAL} until changed). */
    AsyncConfig asyncConfig();

    @Override
    void close();
}
