package dev.asyncdiff.api;

import java.awt.image.BufferedImage;
import java.util.List;

/**
 * What a generation made.
 *
 * @param images     the images, in batch order (image {@code i} started from the noise of seed {@code seed + i};
 *                   stochastic samplers draw one stream for the whole batch)
 * @param seed       the seed of the first image
 * @param steps      the denoising steps that ran (fewer than requested for image-to-image)
 * @param timings    time per phase
 * @param parameters per image, the generation parameters as one text (the prompt, {@code Negative prompt: …},
 *                   then {@code Steps: …, Sampler: …, CFG scale: …, Seed: …, Size: …, Model: …}), as PNG files carry them
 */
public record GenerationResult(List<BufferedImage> images, long seed, int steps, PhaseTimings timings,
                               List<String> parameters) {
    /** Copies the lists and checks that there are parameters for each image. */
    public GenerationResult {
        images = List.copyOf(images);
        parameters = List.copyOf(parameters);
        if (parameters.size() != images.size()) {
            throw new IllegalArgumentException(images.size() + " images but " + parameters.size() + " parameter texts");
        }
    }
}
