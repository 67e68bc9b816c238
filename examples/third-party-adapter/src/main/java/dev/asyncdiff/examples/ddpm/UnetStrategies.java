package dev.asyncdiff.examples.ddpm;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.ParallelStrategy;
import dev.asyncdiff.spi.DenoiserSpec;
import dev.asyncdiff.spi.PipelineContext;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * The pipeline's UNet as its context runs it: the AsyncDiff configuration users set and the strategy
 * for it, created on first use for a batch and image size and kept until the configuration or the
 * shape changes (the old strategy is closed then). Not thread-safe.
 */
final class UnetStrategies implements AutoCloseable {
    private final PipelineContext context;
    private final Path unet;
    private AsyncConfig config = AsyncConfig.SEQUENTIAL;
    private ParallelStrategy strategy;
    private Key key;

    /** What a strategy was made for. */
    private record Key(AsyncConfig config, int batch, int channels, int height, int width) {
    }

    UnetStrategies(PipelineContext context, Path unet) {
        this.context = context;
        this.unet = unet;
    }

    /**
     * Uses {@code value} from the next generation on.
     *
     * @throws IllegalArgumentException when the runtime has too few devices for it
     */
    void setAsyncConfig(AsyncConfig value) {
        if (value == null) {
            throw new IllegalArgumentException("async config must not be null; use AsyncConfig.SEQUENTIAL");
        }
        context.requireDevices(value, false);
        config = value;
    }

    AsyncConfig asyncConfig() {
        return config;
    }

    String strategyName() {
        return context.strategyName(config);
    }

    /** How the UNet runs, for the parameters text of an image, e.g. {@code async (model_n 2, stride 1, …)}. */
    String description() {
        boolean split = config.modelN() > 1 || config.stride() > 1 || config.timeShift();
        return split ? String.format(Locale.ROOT, "%s (model_n %d, stride %d, warm-up %d, time shift %s)",
                strategyName(), config.modelN(), config.stride(), config.warmUp(), config.timeShift()) : strategyName();
    }

    /** The strategy for the current configuration at this shape; this object keeps and closes it. */
    ParallelStrategy strategy(int batch, int channels, int height, int width) {
        Key wanted = new Key(config, batch, channels, height, width);
        if (strategy != null && wanted.equals(key)) {
            return strategy;
        }
        close();
        strategy = context.denoiser(new DenoiserSpec(unet, height, width,
                Map.of("sample", new long[] {batch, channels, height, width})), config, false);
        key = wanted;
        return strategy;
    }

    /** Closes the current strategy, if any; another can be created afterwards. */
    @Override
    public void close() {
        if (strategy != null) {
            ParallelStrategy old = strategy;
            strategy = null;
            key = null;
            old.close();
        }
    }
}
