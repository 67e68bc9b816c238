package dev.asyncdiff.adapters.sd;

import dev.asyncdiff.api.GenerationRequest;
import dev.asyncdiff.api.GenerationResult;
import dev.asyncdiff.api.Images;
import dev.asyncdiff.api.PhaseTimings;
import dev.asyncdiff.api.PipelineOutput;
import dev.asyncdiff.api.Tensor;
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
    /** The images, for {@code seed}. */
    GenerationResult toResult(long seed) {
        List<BufferedImage> images = new ArrayList<>(pixels.size());
        for (float[] chw : pixels) {
            images.add(Images.fromTensorData(chw, 0, height, width));
        }
        return new GenerationResult(images, seed, steps, timings, parameters);
    }

    /**
     * The batch at the tensor level: latents {@code [images, channels, h, w]} and pixels
     * {@code [images, 3, height, width]} as {@code clamp(x / 2 + 0.5, 0, 1)} (NaN stays NaN); the caller closes it.
     */
    PipelineOutput toPipelineOutput(int latentChannels, int scaleFactor) {
        int perImage = 3 * height * width;
        float[] unit = new float[pixels.size() * perImage];
        for (int image = 0; image < pixels.size(); image++) {
            float[] chw = pixels.get(image);
            for (int i = 0; i < perImage; i++) {
                unit[image * perImage + i] = Math.min(1f, Math.max(0f, chw[i] / 2f + 0.5f));
            }
        }
        Tensor latentTensor = Tensor.ofFloats(latents, pixels.size(), latentChannels, height / scaleFactor,
                width / scaleFactor);
        return new PipelineOutput(latentTensor, Tensor.ofFloats(unit, pixels.size(), 3, height, width));
    }
}
