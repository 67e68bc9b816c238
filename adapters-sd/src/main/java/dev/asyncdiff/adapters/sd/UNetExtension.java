package dev.asyncdiff.adapters.sd;

import dev.asyncdiff.api.GenerationRequest;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.RequestKind;
import dev.asyncdiff.api.StepInputs;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * What an add-on model (a ControlNet) changes in a {@link StableDiffusionPipeline}: the denoiser graph it splits
 * and runs, the request kinds it serves, and the inputs the add-on needs beside the prompt's — conditioning fixed
 * for a generation and inputs built every step. The pipeline owns the extension and closes it.
 */
public interface UNetExtension extends AutoCloseable {
    /** The denoiser graph to split and run instead of the folder's {@code unet/model.onnx}. */
    Path denoiser();

    /** The kinds of request the pipeline serves with the extension. */
    Set<RequestKind> requestKinds();

    /** The shapes at batch 1 of the inputs the extension adds to the denoiser, at an image size in pixels. */
    Map<String, long[]> inputShapes(int width, int height);

    /**
     * The inputs the extension adds for one generation, stacked along the first axis per guidance branch like the
     * prompt's ({@code branches × batch} entries, unconditional first); the caller closes them.
     *
     * @throws IllegalArgumentException naming what in {@code request} does not fit the extension
     */
    NamedTensors conditioning(GenerationRequest request, int width, int height, int branches);

    /**
     * The denoiser's inputs at each step: {@code sample} and whatever the extension adds then.
     *
     * @param prompt the prompt's conditioning of the generation (borrowed for the generation's length)
     */
    StepInputs stepInputs(GenerationRequest request, NamedTensors prompt);

    /** What the extension adds to an image's parameters text, e.g. {@code , ControlNet: canny (scale 1.0)}. */
    String describe(GenerationRequest request);

    @Override
    void close();
}
