package dev.asyncdiff.api;

/**
 * A loaded diffusion model: its encoders, denoiser and decoder, ready to generate. Owns every
 * session it opened; closing it releases them.
 */
public interface DiffusionPipeline extends AutoCloseable {
    /** The model family, e.g. {@code sd15}, {@code sd21} or {@code sdxl}. */
    String family();

    @Override
    void close();
}
