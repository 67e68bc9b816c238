package dev.asyncdiff.spi;

import dev.asyncdiff.api.AddOn;
import dev.asyncdiff.api.DiffusionPipeline;
import java.nio.file.Path;
import java.util.List;

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

    /**
     * Whether this adapter opens the folder with these add-on models (ControlNets …); by default, only a folder
     * it {@link #supports(Path) supports} without add-ons.
     */
    default boolean supports(Path modelDir, List<AddOn> addOns) {
        return addOns.isEmpty() && supports(modelDir);
    }

    /**
     * Opens the pipeline in {@code modelDir} with {@code addOns}; by default, the folder alone, and no add-ons.
     *
     * @throws IllegalArgumentException when the adapter takes none of these add-ons
     */
    default DiffusionPipeline open(Path modelDir, List<AddOn> addOns, PipelineContext context) {
        if (!addOns.isEmpty()) {
            throw new IllegalArgumentException("the '" + name() + "' adapter takes no add-on models, was given "
                    + addOns.stream().map(a -> a.kind() + " " + a.folder()).toList());
        }
        return open(modelDir, context);
    }
}
