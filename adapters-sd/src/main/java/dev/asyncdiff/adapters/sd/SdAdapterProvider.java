package dev.asyncdiff.adapters.sd;

import dev.asyncdiff.api.DiffusionPipeline;
import dev.asyncdiff.spi.Backend;
import dev.asyncdiff.spi.BackendOptions;
import dev.asyncdiff.spi.ModelAdapterProvider;
import java.nio.file.Path;

/**
 * The {@code sd} model adapter: Stable Diffusion 1.x, 2.x and XL folders, text-to-image and
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

    /** Opens a {@link StableDiffusionPipeline} on the borrowed {@code backend} and the options' devices. */
    @Override
    public DiffusionPipeline open(Path modelDir, Backend backend, BackendOptions options) {
        return StableDiffusionPipeline.builder(modelDir).backend(backend).devices(options.devices()).open();
    }
}
