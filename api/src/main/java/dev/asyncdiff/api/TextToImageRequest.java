package dev.asyncdiff.api;

/**
 * A text-conditioned generation any {@link DiffusionPipeline} runs at the tensor level, whatever its
 * family: what compatibility checks and tools use to compare strategies.
 *
 * @param prompt         what to generate
 * @param negativePrompt what to steer away from ({@code ""} for none)
 * @param steps          denoising steps (&ge; 1)
 * @param guidanceScale  classifier-free guidance scale; at most 1 runs without guidance
 * @param seed           the seed of the initial noise
 * @param width          output width in pixels, or 0 for the model's default
 * @param height         output height in pixels, or 0 for the model's default
 */
public record TextToImageRequest(String prompt, String negativePrompt, int steps, double guidanceScale, long seed,
                                 int width, int height) {
    public TextToImageRequest {
        if (prompt == null) {
            throw new IllegalArgumentException("a generation needs a prompt (it may be empty)");
        }
        negativePrompt = negativePrompt == null ? "" : negativePrompt;
        if (steps < 1) {
            throw new IllegalArgumentException("steps must be >= 1, was " + steps);
        }
        if (!(guidanceScale >= 0) || !Double.isFinite(guidanceScale)) {
            throw new IllegalArgumentException("guidance scale must be a finite number >= 0, was " + guidanceScale);
        }
        if (width < 0 || height < 0) {
            throw new IllegalArgumentException("width and height must be >= 0 (0 for the model's default), was "
                    + width + "x" + height);
        }
    }

    /** A request at the model's default size. */
    public static TextToImageRequest of(String prompt, int steps, double guidanceScale, long seed) {
        return new TextToImageRequest(prompt, "", steps, guidanceScale, seed, 0, 0);
    }
}
