package dev.asyncdiff.spi;

import dev.asyncdiff.api.ComponentFile;
import java.util.List;

/**
 * Where a strategy gets the denoiser's model files: the whole denoiser as one component, or split
 * into N components (cut, or reused from a cache, by a {@link dev.asyncdiff.api.ComponentSplitter}).
 */
@FunctionalInterface
public interface DenoiserSource {
    /**
     * The denoiser cut into {@code parts} consecutive components, in order; for 1 part, the whole model.
     *
     * @throws IllegalArgumentException when the denoiser cannot be cut into that many parts
     */
    List<ComponentFile> components(int parts);

    /**
     * The SHA-256 of the whole denoiser (graph and weights), which a rank in another process compares
     * with the model it was started for; null when not known.
     */
    default String modelHash() {
        return null;
    }
}
