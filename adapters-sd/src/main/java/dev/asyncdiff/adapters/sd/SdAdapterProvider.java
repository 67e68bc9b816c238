package dev.asyncdiff.adapters.sd;

import dev.asyncdiff.api.DiffusionPipeline;
import dev.asyncdiff.spi.ModelAdapterProvider;
import dev.asyncdiff.spi.PipelineContext;
import java.nio.file.Path;

/**
 * The {@code sd} model adapter: Stable Diffusion 1.x, 2.x, XL and 3 folders, text-to-image and
 * image-to-image pipelines ({@link ModelFolder#PIPELINE_CLASSES}).
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

    /** Opens a {@link StableDiffusionPipeline}, or an {@link Sd3Pipeline} for an SD 3 folder. */
    @Override
    public DiffusionPipeline open(Path modelDir, PipelineContext context) {
        if (ModelFolder.open(modelDir).family() == ModelFamily.SD3) {
            return Sd3Pipeline.open(modelDir, context);
        }
        return StableDiffusionPipeline.open(modelDir, context);
    }
}
