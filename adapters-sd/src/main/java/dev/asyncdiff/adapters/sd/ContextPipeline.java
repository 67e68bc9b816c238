package dev.asyncdiff.adapters.sd;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.DiffusionPipeline;
import dev.asyncdiff.api.GenerationRequest;
import dev.asyncdiff.api.GenerationResult;
import dev.asyncdiff.api.PipelineOutput;
import dev.asyncdiff.api.RequestKind;
import dev.asyncdiff.spi.PipelineContext;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the SD pipelines share: the folder, the context that places and runs their models, the
 * denoiser's configuration and strategy ({@link DenoiserRunner}), generation at image and tensor
 * level from one {@link #produce}, and closing in order (strategy, models, then the context).
 */
abstract class ContextPipeline implements DiffusionPipeline {
    private static final Logger LOG = LoggerFactory.getLogger(ContextPipeline.class);

    final ModelFolder model;
    final PipelineContext context;
    final DenoiserRunner denoiser;
    private boolean closed;

    /** A pipeline whose denoiser is the folder's {@code denoiserComponent} ({@code unet} or {@code transformer}). */
    ContextPipeline(ModelFolder model, PipelineContext context, String denoiserComponent) {
        this(model, context, model.modelFile(denoiserComponent));
    }

    /** A pipeline whose denoiser is the graph in {@code denoiserFile}. */
    ContextPipeline(ModelFolder model, PipelineContext context, Path denoiserFile) {
        this.model = model;
        this.context = context;
        this.denoiser = new DenoiserRunner(context, denoiserFile);
    }

    /** One generation's latents, pixels and parameters. */
    abstract Generated produce(GenerationRequest request);

    /** The VAE, whose latent channels and scale factor shape {@link #run}'s output. */
    abstract Vae vae();

    /** The models the pipeline loaded around the loop (conditioner, VAE), closed by {@link #close()}. */
    abstract List<AutoCloseable> models();

    /** The detected model folder. */
    public ModelFolder model() {
        return model;
    }

    @Override
    public void setAsyncConfig(AsyncConfig newConfig) {
        requireOpen();
        denoiser.setAsyncConfig(newConfig);
    }

    @Override
    public AsyncConfig asyncConfig() {
        return denoiser.asyncConfig();
    }

    @Override
    public void setCfgParallel(boolean value) {
        requireOpen();
        denoiser.setCfgParallel(value);
    }

    @Override
    public boolean cfgParallel() {
        return denoiser.cfgParallel();
    }

    @Override
    public String strategyName() {
        return denoiser.strategyName();
    }

    /**
     * Runs one generation.
     *
     * @throws IllegalArgumentException when the size does not fit the family or the sampler is unknown
     * @throws java.util.concurrent.CancellationException when the request's token is cancelled
     * @throws dev.asyncdiff.api.AsyncDiffException when a model fails to run
     */
    @Override
    public GenerationResult generate(GenerationRequest request) {
        return produce(served(request)).toResult(request.seed());
    }

    /**
     * Runs a generation at the tensor level: the final latents {@code [numImages, channels, h, w]} and the
     * decoded pixels {@code [numImages, 3, height, width]} as {@code clamp(x / 2 + 0.5, 0, 1)} of the decoder's
     * output (NaN stays NaN). The caller closes the output.
     *
     * @throws IllegalArgumentException when the size does not fit the family or the sampler is unknown
     */
    @Override
    public PipelineOutput run(GenerationRequest request) {
        return produce(served(request)).toPipelineOutput(vae().latentChannels(), vae().scaleFactor());
    }

    /** Text-to-image and image-to-image. */
    @Override
    public Set<RequestKind> requestKinds() {
        return EnumSet.of(RequestKind.TEXT_TO_IMAGE, RequestKind.IMAGE_TO_IMAGE);
    }

    /**
     * {@code request}, when its kind is one the pipeline serves.
     *
     * @throws IllegalArgumentException naming the kinds served otherwise
     */
    private GenerationRequest served(GenerationRequest request) {
        if (request == null) {
            throw new IllegalArgumentException("a generation request is required");
        }
        Set<RequestKind> kinds = requestKinds();
        if (!kinds.contains(request.kind())) {
            throw new IllegalArgumentException("the " + family() + " pipeline for " + model.directory() + " serves "
                    + kinds.stream().map(RequestKind::id).sorted().toList() + ", not " + request.kind().id()
                    + (kinds.equals(Set.of(RequestKind.INPAINTING))
                    ? " (an inpainting model: give an init image and a mask, --image and --mask)"
                    : request.kind() == RequestKind.CONTROLNET ? " (open the folder with its ControlNets: --controlnet "
                    + "DIR, or Engine.open(folder, List.of(AddOn.controlNet(dir))))"
                    : kinds.contains(RequestKind.CONTROLNET) ? " (give one control image per ControlNet)" : ""));
        }
        return request;
    }

    void requireOpen() {
        if (closed) {
            throw new IllegalStateException(getClass().getSimpleName() + " for " + model.directory() + " is closed");
        }
    }

    /** Closes the strategy, the models, then the context; idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            denoiser.close();
        } finally {
            models().forEach(ContextPipeline::closeQuietly);
            closeQuietly(context);
        }
    }

    static <T extends AutoCloseable> T track(List<AutoCloseable> loaded, T resource) {
        loaded.add(resource);
        return resource;
    }

    static void closeQuietly(AutoCloseable resource) {
        try {
            resource.close();
        } catch (Exception e) {
            LOG.warn("closing {} failed: {}", resource, e.toString());
        }
    }
}
