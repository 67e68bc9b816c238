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

    /**
     * Opens a {@link StableDiffusionPipeline}, or an {@link Sd3Pipeline} for an SD 3 folder, on the
     * borrowed {@code backend} and the options' devices.
     */
    @Override
    public DiffusionPipeline open(Path modelDir, Backend backend, BackendOptions options) {
        if (ModelFolder.open(modelDir).family() == ModelFamily.SD3) {
            return Sd3Pipeline.open(modelDir, backend, options.devices(), null);
        }
        return StableDiffusionPipeline.builder(modelDir).backend(backend).devices(options.devices()).open();
    }
}
