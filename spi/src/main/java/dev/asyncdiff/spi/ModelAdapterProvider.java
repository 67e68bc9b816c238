package dev.asyncdiff.spi;

import dev.asyncdiff.api.DiffusionPipeline;
import java.nio.file.Path;

/** Discovers a model adapter: the pipeline for a family of exported model folders. */
public interface ModelAdapterProvider extends Provider {
    /** Whether this adapter recognises the model folder (from its {@code model_index.json} and files). */
    boolean supports(Path modelDir);

    /** Opens the pipeline in {@code modelDir} on {@code backend}; the caller must close it. */
    DiffusionPipeline open(Path modelDir, Backend backend, BackendOptions options);
}
