package dev.asyncdiff.adapters.sd;

import dev.asyncdiff.api.DiffusionPipeline;
import dev.asyncdiff.spi.ModelAdapterProvider;
import dev.asyncdiff.spi.PipelineContext;
import java.nio.file.Path;

/**
 * The {@code sd} model adapter: Stable Diffusion 1.x, 2.x, XL and 3 folders (text-to-image, image-to-image and
 * inpainting pipelines) and the x4 upscaler ({@link ModelFolder#PIPELINE_CLASSES}).
 */
public final class SdAdapterProvider implements ModelAdapterProvider {
    /** The name users select this adapter by. */
    public static final String NAME = "sd";

    @Override
    public String name() {
        return NAME;
    }

    /** Whether {@code modelDir}'s {@code model_index.json} names a supported pipeline class. */
    @Override
    public boolean supports(Path modelDir) {
        return ModelFolder.looksSupported(modelDir);
    }

    /**
     * Opens a {@link StableDiffusionPipeline}, an {@link Sd3Pipeline} for an SD 3 folder, or an
     * {@link UpscalePipeline} for an x4 upscaler folder.
     */
    @Override
    public DiffusionPipeline open(Path modelDir, PipelineContext context) {
        return switch (ModelFolder.open(modelDir).family()) {
            case SD3 -> Sd3Pipeline.open(modelDir, context);
            case X4_UPSCALER -> UpscalePipeline.open(modelDir, context);
            default -> StableDiffusionPipeline.open(modelDir, context);
        };
    }
}
