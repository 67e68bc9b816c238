package dev.asyncdiff.adapters.sd;

import dev.asyncdiff.api.GenerationRequest;
import dev.asyncdiff.api.GenerationResult;
import dev.asyncdiff.api.PipelineOutput;
import dev.asyncdiff.api.RequestKind;
import dev.asyncdiff.spi.PipelineContext;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;

/**
 * What the SD pipelines share beyond {@link DenoiserPipeline}: the detected folder, and generation at image and tensor
 * level from one {@link #produce}.
 */
abstract class ContextPipeline extends DenoiserPipeline {
    final ModelFolder model;

    /** A pipeline whose denoiser is the folder's {@code denoiserComponent} ({@code unet} or {@code transformer}). */
    ContextPipeline(ModelFolder model, PipelineContext context, String denoiserComponent) {
        this(model, context, model.modelFile(denoiserComponent));
    }

    /** A pipeline whose denoiser is the graph in {@code denoiserFile}. */
    ContextPipeline(ModelFolder model, PipelineContext context, Path denoiserFile) {
        super(model.directory(), context, denoiserFile);
        this.model = model;
    }

    /** One generation's latents, pixels and parameters. */
    abstract Generated produce(GenerationRequest request);

    /** The VAE, whose latent channels and scale factor shape {@link #run}'s output. */
    abstract Vae vae();

    /** The detected model folder. */
    public ModelFolder model() {
        return model;
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
}
