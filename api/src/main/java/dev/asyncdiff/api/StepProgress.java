package dev.asyncdiff.api;

import java.time.Duration;

/**
 * Progress of a denoising loop after a step.
 *
 * @param step    the step just finished, from 1
 * @param total   the number of steps
 * @param phase   whether the step was a sequential warm-up step or a parallel one
 * @param elapsed time since the loop started
 * @param latents the latents after the step, borrowed: valid only during the callback (copy what you
 *                keep, e.g. with {@link Tensor#toFloatArray()}); null where the caller has none
 */
public record StepProgress(int step, int total, Phase phase, Duration elapsed, Tensor latents) {
    /** The phase of a step. */
    public enum Phase {
        /** An ordinary sequential step (every step of the sequential strategy). */
        WARM_UP,
        /** A step where components ran at the same time on their devices. */
        PARALLEL
    }

    /** Progress without latents. */
    public StepProgress(int step, int total, Phase phase, Duration elapsed) {
        this(step, total, phase, elapsed, null);
    }
}
