package dev.asyncdiff.adapters.sd;

import dev.asyncdiff.api.GenerationRequest;
import dev.asyncdiff.api.GenerationResult;
import dev.asyncdiff.api.Images;
import dev.asyncdiff.api.PhaseTimings;
import dev.asyncdiff.api.PipelineOutput;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.api.TextToImageRequest;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;

/**
 * What one generation of a pipeline made before it became images: the final latents of the batch, each
 * image's decoder output {@code [3, height, width]} (nominally in [-1, 1]), and its description. Shared by
 * the pipelines of every family, which differ in how they condition and denoise, not in what they return.
 */
record Generated(float[] latents, List<float[]> pixels, int width, int height, int steps, PhaseTimings timings,
                 List<String> parameters) {
    /** The generation request a tensor-level text-to-image request stands for. */
    static GenerationRequest request(TextToImageRequest request) {
        if (request == null) {
            throw new IllegalArgumentException("a text-to-image request is required");
        }
        return GenerationRequest.builder(request.prompt()).negativePrompt(request.negativePrompt())
                .steps(request.steps()).guidanceScale(request.guidanceScale()).seed(request.seed())
                .size(request.width(), request.height()).build();
    }

    /** The images, for {@code seed}. */
    GenerationResult toResult(long seed) {
        List<BufferedImage> images = new ArrayList<>(pixels.size());
        for (float[] chw : pixels) {
            images.add(Images.fromTensorData(chw, 0, height, width));
        }
        return new GenerationResult(images, seed, steps, timings, parameters);
    }

    /**
     * The first image at the tensor level: latents {@code [1, channels, h, w]} and pixels
     * {@code [1, 3, height, width]} as {@code clamp(x / 2 + 0.5, 0, 1)} (NaN stays NaN); the caller closes it.
     */
    PipelineOutput toPipelineOutput(int latentChannels, int scaleFactor) {
        float[] chw = pixels.get(0);
        float[] unit = new float[chw.length];
        for (int i = 0; i < chw.length; i++) {
            unit[i] = Math.min(1f, Math.max(0f, chw[i] / 2f + 0.5f));
        }
        Tensor latentTensor = Tensor.ofFloats(latents, 1, latentChannels, height / scaleFactor, width / scaleFactor);
        return new PipelineOutput(latentTensor, Tensor.ofFloats(unit, 1, 3, height, width));
    }
}
