package dev.asyncdiff.spi;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.api.ParallelStrategy;
import java.nio.file.Path;

/**
 * What the runtime gives a model adapter to open a pipeline with. The adapter names model files and
 * what they mean; the runtime decides where each runs (encoders and VAE on the device it keeps for
 * them, the denoiser's components on the strategy's devices), which backend loads them, how the
 * denoiser is split and which strategy runs it. An adapter never sees devices, backends or strategy
 * names.
 *
 * <p>Ownership: the pipeline an adapter opens owns its context and closes it last, in its own
 * {@code close()}; when {@link ModelAdapterProvider#open} fails, the caller closes the context.
 * Not thread-safe: one pipeline uses it at a time.
 */
public interface PipelineContext extends AutoCloseable {
    /**
     * Loads a model that runs around the denoising loop (a text encoder, a VAE, an image encoder) on
     * the device the runtime keeps for such models; the caller closes the session.
     *
     * @throws dev.asyncdiff.api.ModelNotFoundException  when the file is missing
     * @throws dev.asyncdiff.api.MalformedModelException when the backend cannot load it
     */
    InferenceSession loadModel(Path modelFile);

    /**
     * A fresh sampler from the {@code scheduler_config.json} at {@code schedulerConfig}: the one called
     * {@code name} (a sampler provider's name such as {@code euler_a}, or a diffusers class name), built
     * from the checkpoint's betas and other keys; {@code null} means the config's own {@code _class_name}.
     * Samplers come from the {@link SamplerProvider}s on the class path, plugins included.
     *
     * @throws IllegalArgumentException listing the known samplers when none matches
     */
    NoiseScheduler sampler(Path schedulerConfig, String name);

    /**
     * Checks that the runtime has the devices {@code config} needs, twice over with CFG-parallel.
     *
     * @throws IllegalArgumentException saying how many devices are needed and which there are
     */
    void requireDevices(AsyncConfig config, boolean cfgParallel);

    /**
     * A strategy that runs {@code denoiser} as {@code config} asks: the runtime chooses the
     * {@link StrategyProvider}, splits the denoiser into {@code config.modelN()} components (cached)
     * and places them on its devices, one group per guidance half with CFG-parallel. The caller
     * closes the strategy.
     *
     * @throws IllegalArgumentException when the devices do not fit {@code config}
     */
    ParallelStrategy denoiser(DenoiserSpec denoiser, AsyncConfig config, boolean cfgParallel);

    /**
     * A folder, under the runtime's cache, where an adapter keeps the models it derives from a folder's (a
     * ControlNet merged into a UNet), so that later runs reuse them; created when absent.
     */
    Path cacheDirectory();

    /** The name of the strategy {@link #denoiser} uses for {@code config}, e.g. {@code sequential} or {@code async}. */
    String strategyName(AsyncConfig config);

    /** Releases what the runtime opened for this pipeline (its backend when it owns one); idempotent. */
    @Override
    void close();
}
