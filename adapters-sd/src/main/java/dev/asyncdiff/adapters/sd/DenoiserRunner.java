package dev.asyncdiff.adapters.sd;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.ParallelStrategy;
import dev.asyncdiff.spi.DenoiserSpec;
import dev.asyncdiff.spi.PipelineContext;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * A pipeline's denoiser as its context runs it: the configuration users set (AsyncDiff settings,
 * CFG-parallel) and the strategy for it, created on first use at a latent size and kept until the
 * configuration or the size changes. Not thread-safe.
 */
public final class DenoiserRunner implements AutoCloseable {
    private final PipelineContext context;
    private final Path model;
    private AsyncConfig config = AsyncConfig.SEQUENTIAL;
    private boolean cfgParallel;
    private ParallelStrategy strategy;
    private Object strategyKey;

    private record Key(AsyncConfig config, boolean cfgParallel, int latentHeight, int latentWidth, int frames) {
    }

    /** The runner of the denoiser graph {@code model}, whose strategies {@code context} creates. */
    public DenoiserRunner(PipelineContext context, Path model) {
        this.context = context;
        this.model = model;
    }

    public void setAsyncConfig(AsyncConfig value) {
        if (value == null) {
            throw new IllegalArgumentException("async config must not be null; use AsyncConfig.SEQUENTIAL");
        }
        context.requireDevices(value, cfgParallel);
        config = value;
    }

    public AsyncConfig asyncConfig() {
        return config;
    }

    public void setCfgParallel(boolean value) {
        context.requireDevices(config, value);
        cfgParallel = value;
    }

    public boolean cfgParallel() {
        return cfgParallel;
    }

    public String strategyName() {
        return context.strategyName(config);
    }

    /** How the denoiser runs, for the parameters text of an image. */
    public String description() {
        String name = strategyName();
        boolean split = config.modelN() > 1 || config.stride() > 1 || config.timeShift();
        return (split ? String.format(Locale.ROOT, "%s (model_n %d, stride %d, warm-up %d, time shift %s)", name,
                config.modelN(), config.stride(), config.warmUp(), config.timeShift()) : name)
                + (cfgParallel ? ", CFG-parallel" : "");
    }

    /**
     * The strategy for the current configuration at this latent size; the runner keeps and closes it.
     * {@code inputShapes} is asked only when a strategy has to be created.
     */
    public ParallelStrategy strategy(int latentHeight, int latentWidth, Supplier<Map<String, long[]>> inputShapes) {
        return strategy(latentHeight, latentWidth, 1, inputShapes);
    }

    /**
     * The strategy for the current configuration at this latent size and frame count (a video denoiser's shapes
     * depend on both); the runner keeps and closes it. {@code inputShapes} is asked only when a strategy has to be
     * created.
     */
    public ParallelStrategy strategy(int latentHeight, int latentWidth, int frames,
                                     Supplier<Map<String, long[]>> inputShapes) {
        Key key = new Key(config, cfgParallel, latentHeight, latentWidth, frames);
        if (strategy != null && key.equals(strategyKey)) {
            return strategy;
        }
        close();
        strategy = context.denoiser(new DenoiserSpec(model, latentHeight, latentWidth, inputShapes.get()), config,
                cfgParallel);
        strategyKey = key;
        return strategy;
    }

    /** Closes the strategy, if one was created; the runner can create another. */
    @Override
    public void close() {
        if (strategy != null) {
            ParallelStrategy old = strategy;
            strategy = null;
            strategyKey = null;
            old.close();
        }
    }
}
