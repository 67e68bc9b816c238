package dev.asyncdiff.api;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;

/**
 * What a generation made: images, or clips whose frames follow one another.
 *
 * @param images        the images in batch order (image {@code i} started from the noise of seed {@code seed + i};
 *                      stochastic samplers draw one stream for the whole batch); for video, every clip's frames in
 *                      order, clip after clip ({@link #clips()})
 * @param seed          the seed of the first image or clip
 * @param steps         the denoising steps that ran (fewer than requested for image-to-image)
 * @param timings       time per phase
 * @param parameters    per image (per clip for video), the generation parameters as one text (the prompt,
 *                      {@code Negative prompt: …}, then {@code Steps: …, Sampler: …, CFG scale: …, Seed: …, Size: …,
 *                      Model: …}), as PNG files carry them
 * @param framesPerClip 1 for images, the frames of each clip for video
 * @param fps           the clips' frame rate; 0 for images
 */
public record GenerationResult(List<BufferedImage> images, long seed, int steps, PhaseTimings timings,
                               List<String> parameters, int framesPerClip, double fps) {
    /** Copies the lists and checks that there are parameters for each image or clip. */
    public GenerationResult {
        images = List.copyOf(images);
        parameters = List.copyOf(parameters);
        if (framesPerClip < 1 || images.size() % framesPerClip != 0) {
            throw new IllegalArgumentException(images.size() + " images do not make clips of " + framesPerClip
                    + " frames");
        }
        if (parameters.size() != images.size() / framesPerClip) {
            throw new IllegalArgumentException(images.size() / framesPerClip + (framesPerClip > 1 ? " clips" : " images")
                    + " but " + parameters.size() + " parameter texts");
        }
        if (framesPerClip > 1 && !(fps > 0)) {
            throw new IllegalArgumentException("clips need a positive frame rate, was " + fps);
        }
    }

    /** A result of still images. */
    public GenerationResult(List<BufferedImage> images, long seed, int steps, PhaseTimings timings,
                            List<String> parameters) {
        this(images, seed, steps, timings, parameters, 1, 0);
    }

    /** Whether this holds clips rather than images. */
    public boolean video() {
        return fps > 0;
    }

    /** The clips, each its frames in order; for images, one single-frame clip per image. */
    public List<List<BufferedImage>> clips() {
        List<List<BufferedImage>> clips = new ArrayList<>();
        for (int start = 0; start < images.size(); start += framesPerClip) {
            clips.add(images.subList(start, start + framesPerClip));
        }
        return List.copyOf(clips);
    }
}
