package dev.asyncdiff.adapters.video;

import dev.asyncdiff.api.GenerationResult;
import dev.asyncdiff.api.Images;
import dev.asyncdiff.api.PhaseTimings;
import dev.asyncdiff.api.PipelineOutput;
import dev.asyncdiff.api.Tensor;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;

/**
 * What one video generation made before it became images: the final latents in the denoiser's layout, every clip's
 * decoded frames {@code [3, height, width]} (nominally in [-1, 1]) clip after clip, and one parameters text per clip.
 */
record Clips(float[] latents, long[] latentShape, List<float[]> frames, int width, int height, int framesPerClip,
             double fps, int steps, PhaseTimings timings, List<String> parameters) {

    /** The frames as images, for {@code seed}. */
    GenerationResult toResult(long seed) {
        List<BufferedImage> images = new ArrayList<>(frames.size());
        for (float[] chw : frames) {
            images.add(Images.fromTensorData(chw, 0, height, width));
        }
        return new GenerationResult(images, seed, steps, timings, parameters, framesPerClip, fps);
    }

    /**
     * The latents in the denoiser's layout and the frames {@code [clips·frames, 3, height, width]} as
     * {@code clamp(x / 2 + 0.5, 0, 1)}; the caller closes it.
     */
    PipelineOutput toPipelineOutput() {
        int perFrame = 3 * height * width;
        float[] unit = new float[frames.size() * perFrame];
        for (int f = 0; f < frames.size(); f++) {
            float[] chw = frames.get(f);
            for (int i = 0; i < perFrame; i++) {
                unit[f * perFrame + i] = Math.min(1f, Math.max(0f, chw[i] / 2f + 0.5f));
            }
        }
        return new PipelineOutput(Tensor.ofFloats(latents, latentShape),
                Tensor.ofFloats(unit, frames.size(), 3, height, width));
    }
}
