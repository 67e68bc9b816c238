package dev.asyncdiff.spi;

import dev.asyncdiff.api.DiffusionPipeline;
import java.nio.file.Path;

/**
 * Discovers a model adapter: the pipelines of a family of exported model folders. The runtime picks
 * the adapter whose {@link #supports} accepts a folder (from its {@code model_index.json}
 * {@code _class_name}), then opens the pipeline with a {@link PipelineContext} that places and runs
 * its models.
 */
public interface ModelAdapterProvider extends Provider {
    /** Whether this adapter recognises the model folder (from its {@code model_index.json} and files). */
    boolean supports(Path modelDir);

    /**
     * Opens the pipeline in {@code modelDir}; the pipeline owns {@code context} and closes it when it
     * closes. When this method throws, the caller closes the context.
     *
     * @throws dev.asyncdiff.api.ModelNotFoundException  when a file of the folder is missing
     * @throws dev.asyncdiff.api.MalformedModelException when the folder is not one this adapter opens
     */
    DiffusionPipeline open(Path modelDir, PipelineContext context);
}
