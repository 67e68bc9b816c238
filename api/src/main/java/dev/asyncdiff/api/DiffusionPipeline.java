package dev.asyncdiff.api;

import java.util.Set;

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
     * Runs the two halves of classifier-free guidance on two device groups (CFG-parallel) from the next
     * generation on, each with the configured schedule: the unconditional half on the first
     * {@code devicesRequired()} devices, the conditional half on the next ones. With fp32 models the images
     * are the same bytes as with both halves in one batch; half-precision kernels may round a batch of two
     * differently from two batches of one.
     *
     * <p>By default a pipeline runs guidance in one batch only and refuses {@code true}.
     *
     * @throws IllegalArgumentException when there are fewer than twice the devices the configuration needs,
     *                                  or the pipeline cannot run guidance in parallel
     */
    default void setCfgParallel(boolean value) {
        if (value) {
            throw new IllegalArgumentException("the " + family() + " pipeline does not run guidance CFG-parallel");
        }
    }

    /** Whether guidance runs CFG-parallel on two device groups (by default never). */
    default boolean cfgParallel() {
        return false;
    }

    /** The name of the strategy that runs the current configuration, e.g. {@code sequential} or {@code async}. */
    String strategyName();

    /**
     * Runs one generation: images, each with a text of the parameters that regenerate it.
     *
     * @throws IllegalArgumentException when the request does not fit the model (size, sampler, an init
     *                                  image the family cannot take)
     * @throws java.util.concurrent.CancellationException when the request's token is cancelled
     * @throws AsyncDiffException       when a model fails to run
     */
    GenerationResult generate(GenerationRequest request);

    /**
     * Runs one generation at the tensor level, the same for every family: the final latents
     * {@code [numImages, channels, h, w]} and the decoded pixels {@code [numImages, 3, height, width]} in [0, 1].
     * The compatibility kit compares strategies with it. The caller closes the output.
     *
     * @throws IllegalArgumentException when the request does not fit the model (size, sampler, a kind the
     *                                  pipeline does not serve)
     * @throws java.util.concurrent.CancellationException when the request's token is cancelled
     * @throws AsyncDiffException       when a model fails to run
     */
    PipelineOutput run(GenerationRequest request);

    /** The kinds of request the pipeline serves (by default text-to-image only). */
    default Set<RequestKind> requestKinds() {
        return Set.of(RequestKind.TEXT_TO_IMAGE);
    }

    @Override
    void close();
}
