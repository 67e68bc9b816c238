package dev.asyncdiff.examples.ddpm;

import dev.asyncdiff.api.DiffusionPipeline;
import dev.asyncdiff.spi.ModelAdapterProvider;
import dev.asyncdiff.spi.PipelineContext;
import java.nio.file.Path;

/**
 * The {@code ddpm} model adapter: folders of diffusers' unconditional {@code DDPMPipeline} and
 * {@code DDIMPipeline} (a pixel-space {@code UNet2DModel} exported to {@code unet/model.onnx}), opened as
 * a {@link DdpmPipeline}. Found through {@code META-INF/services}; cheap to create, stateless and
 * thread-safe.
 */
public final class DdpmAdapterProvider implements ModelAdapterProvider {
    /** The name users select this adapter by. */
    public static final String NAME = "ddpm";

    @Override
    public String name() {
        return NAME;
    }

    /** Whether {@code modelDir}'s {@code model_index.json} {@code _class_name} is DDPMPipeline or DDIMPipeline. */
    @Override
    public boolean supports(Path modelDir) {
        return DdpmModelFolder.looksSupported(modelDir);
    }

    @Override
    public DiffusionPipeline open(Path modelDir, PipelineContext context) {
        return DdpmPipeline.open(modelDir, context);
    }
}
