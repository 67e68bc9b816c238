package dev.asyncdiff.examples.ddpm;

import dev.asyncdiff.api.GenerationResult;
import dev.asyncdiff.api.Images;
import dev.asyncdiff.api.PhaseTimings;
import dev.asyncdiff.api.PipelineOutput;
import dev.asyncdiff.api.Tensor;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;

/**
 * What one DDPM generation made: the final samples of the batch ({@code [batch, channels, height, width]}
 * in pixel space, nominally [-1, 1]), how long it took, and each image's parameters text. Turns them
 * into images ({@code round(clamp(x / 2 + 0.5, 0, 1) · 255)}, a grayscale plane repeated as R, G and B)
 * or into a {@link PipelineOutput}. Immutable once built.
 *
 * @param samples    the final samples, image after image
 * @param batch      the images in the batch
 * @param channels   1 or 3
 * @param height     image height
 * @param width      image width
 * @param steps      the denoising steps that ran
 * @param timings    time per phase
 * @param parameters one text per image
 */
record DdpmImages(float[] samples, int batch, int channels, int height, int width, int steps, PhaseTimings timings,
                  List<String> parameters) {
    /** The images of the batch, for {@code seed} (the first image's seed). */
    GenerationResult toResult(long seed) {
        List<BufferedImage> images = new ArrayList<>(batch);
        int perImage = channels * height * width;
        for (int i = 0; i < batch; i++) {
            images.add(Images.fromTensorData(rgb(i * perImage), 0, height, width));
        }
        return new GenerationResult(images, seed, steps, timings, parameters);
    }

    /**
     * The batch at the tensor level: its final samples {@code [batch, channels, height, width]} as the
     * "latents" (a pixel-space model has no others) and {@code clamp(x / 2 + 0.5, 0, 1)} of it as the pixels
     * (NaN stays NaN). The caller closes the output.
     */
    PipelineOutput toPipelineOutput() {
        float[] unit = new float[samples.length];
        for (int i = 0; i < samples.length; i++) {
            unit[i] = Math.min(1f, Math.max(0f, samples[i] / 2f + 0.5f));
        }
        Tensor latents = Tensor.ofFloats(samples.clone(), batch, channels, height, width);
        try {
            return new PipelineOutput(latents, Tensor.ofFloats(unit, batch, channels, height, width));
        } catch (RuntimeException e) {
            latents.close();
            throw e;
        }
    }

    /** The {@code [3, height, width]} planes of the image at {@code offset}. */
    private float[] rgb(int offset) {
        int plane = height * width;
        float[] out = new float[3 * plane];
        for (int c = 0; c < 3; c++) {
            System.arraycopy(samples, offset + (channels == 3 ? c : 0) * plane, out, c * plane, plane);
        }
        return out;
    }
}
