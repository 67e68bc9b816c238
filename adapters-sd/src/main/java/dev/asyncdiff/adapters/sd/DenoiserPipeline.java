package dev.asyncdiff.adapters.sd;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.DiffusionPipeline;
import dev.asyncdiff.spi.PipelineContext;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every pipeline over one split denoiser shares, whatever its family (the SD pipelines here, the video ones in
 * {@code adapters-video}): the context that places and runs its models, the denoiser's configuration and strategy
 * ({@link DenoiserRunner}), and closing in order (strategy, models, then the context).
 */
public abstract class DenoiserPipeline implements DiffusionPipeline {
    private static final Logger LOG = LoggerFactory.getLogger(DenoiserPipeline.class);

    /** Places and runs the pipeline's models; the pipeline owns it. */
    protected final PipelineContext context;
    /** The denoiser and its strategy. */
    protected final DenoiserRunner denoiser;
    private final Path directory;
    private boolean closed;

    /** A pipeline of the folder {@code directory} whose denoiser is the graph in {@code denoiserFile}. */
    protected DenoiserPipeline(Path directory, PipelineContext context, Path denoiserFile) {
        this.directory = directory;
        this.context = context;
        this.denoiser = new DenoiserRunner(context, denoiserFile);
    }

    /** The models the pipeline loaded around the loop (encoders, VAE), closed by {@link #close()}. */
    protected abstract List<AutoCloseable> models();

    @Override
    public final void setAsyncConfig(AsyncConfig config) {
        requireOpen();
        denoiser.setAsyncConfig(config);
    }

    @Override
    public final AsyncConfig asyncConfig() {
        return denoiser.asyncConfig();
    }

    @Override
    public final void setCfgParallel(boolean value) {
        requireOpen();
        denoiser.setCfgParallel(value);
    }

    @Override
    public final boolean cfgParallel() {
        return denoiser.cfgParallel();
    }

    @Override
    public final String strategyName() {
        return denoiser.strategyName();
    }

    /**
     * Checks that the pipeline is open.
     *
     * @throws IllegalStateException when it is closed
     */
    protected final void requireOpen() {
        if (closed) {
            throw new IllegalStateException(getClass().getSimpleName() + " for " + directory + " is closed");
        }
    }

    /** Closes the strategy, the models, then the context; idempotent. */
    @Override
    public final void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            denoiser.close();
        } finally {
            models().forEach(DenoiserPipeline::closeQuietly);
            closeQuietly(context);
        }
    }

    /** Adds {@code resource} to {@code loaded}, the models to close should opening fail later, and returns it. */
    protected static <T extends AutoCloseable> T track(List<AutoCloseable> loaded, T resource) {
        loaded.add(resource);
        return resource;
    }

    /** Closes {@code resource}, logging rather than throwing a failure (for clean-up paths). */
    protected static void closeQuietly(AutoCloseable resource) {
        try {
            resource.close();
        } catch (Exception e) {
            LOG.warn("closing {} failed: {}", resource, e.toString());
        }
    }
}
