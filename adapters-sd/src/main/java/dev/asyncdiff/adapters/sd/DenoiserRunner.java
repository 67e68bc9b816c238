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
final class DenoiserRunner implements AutoCloseable {
    private final PipelineContext context;
    private final Path model;
    private AsyncConfig config = AsyncConfig.SEQUENTIAL;
    private boolean cfgParallel;
    private ParallelStrategy strategy;
    private Object strategyKey;

    private record Key(AsyncConfig config, boolean cfgParallel, int latentHeight, int latentWidth) {
    }

    DenoiserRunner(PipelineContext context, Path model) {
        this.context = context;
        this.model = model;
    }

    void setAsyncConfig(AsyncConfig value) {
        if (value == null) {
            throw new IllegalArgumentException("async config must not be null; use AsyncConfig.SEQUENTIAL");
        }
        context.requireDevices(value, cfgParallel);
        config = value;
    }

    AsyncConfig asyncConfig() {
        return config;
    }

    void setCfgParallel(boolean value) {
        context.requireDevices(config, value);
        cfgParallel = value;
    }

    boolean cfgParallel() {
        return cfgParallel;
    }

    String strategyName() {
        return context.strategyName(config);
    }

    /** How the denoiser runs, for the parameters text of an image. */
    String description() {
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
    ParallelStrategy strategy(int latentHeight, int latentWidth, Supplier<Map<String, long[]>> inputShapes) {
        Key key = new Key(config, cfgParallel, latentHeight, latentWidth);
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
