package dev.asyncdiff.api;

import java.nio.file.Path;
import java.util.List;

/** Cuts a whole exported denoiser into consecutive components that, chained, reproduce it. */
public interface ComponentSplitter {
    /**
     * Splits {@code denoiserModel} (an {@code .onnx} file, external data beside it) into
     * {@code parts} components for latents of {@code latentHeight × latentWidth}, written under
     * {@code outputDir}.
     *
     * @throws IllegalArgumentException when the model has fewer units than {@code parts}
     * @throws ModelNotFoundException   when the model or its external data is missing
     */
    List<ComponentFile> split(Path denoiserModel, int parts, int latentHeight, int latentWidth, Path outputDir);
}
