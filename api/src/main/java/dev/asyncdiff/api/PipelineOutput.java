package dev.asyncdiff.api;

/**
 * What a {@link DiffusionPipeline#run} made: the final latents and the decoded pixels
 * ({@code [batch, channels, height, width]}, FP32 in [0, 1]; frames along the batch for video).
 * Owns both tensors; closing it closes them.
 */
public record PipelineOutput(Tensor latents, Tensor pixels) implements AutoCloseable {
    public PipelineOutput {
        if (latents == null || pixels == null) {
            throw new IllegalArgumentException("a pipeline output needs latents and pixels");
        }
    }

    @Override
    public void close() {
        latents.close();
        pixels.close();
    }
}
