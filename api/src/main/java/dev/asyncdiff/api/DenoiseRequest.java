package dev.asyncdiff.api;

import java.util.Map;
import java.util.random.RandomGenerator;

/**
 * One denoising loop to run: initial latents, the conditioning every component may read, and the
 * scheduler whose timesteps are set. The tensors are borrowed: the strategy reads them and the
 * caller closes them after {@link ParallelStrategy#denoise} returns.
 *
 * @param scheduler     a scheduler with {@link NoiseScheduler#setTimesteps} called, used for this loop only
 * @param latents       the initial latents {@code [batch, channels, h, w]}
 * @param conditioning  the denoiser's other inputs by name ({@code encoder_hidden_states}, …), already
 *                      doubled to {@code [unconditional; conditional]} when {@code guidanceScale > 1}
 * @param guidanceScale the classifier-free guidance scale; at most 1 runs the conditional batch alone
 * @param rng           randomness for ancestral and stochastic samplers
 * @param progress      told after each step
 * @param cancellation  checked at least once per step
 * @param timesteps     the timesteps to step, in order: all of the scheduler's, or the tail an
 *                      image-to-image generation starts from ({@link NoiseScheduler#setTimestepsForStrength})
 */
public record DenoiseRequest(NoiseScheduler scheduler, Tensor latents, Map<String, Tensor> conditioning,
                             double guidanceScale, RandomGenerator rng, ProgressListener progress,
                             CancellationToken cancellation, double[] timesteps) {
    /** A request over every timestep the scheduler has prepared. */
    public DenoiseRequest(NoiseScheduler scheduler, Tensor latents, Map<String, Tensor> conditioning,
                          double guidanceScale, RandomGenerator rng, ProgressListener progress,
                          CancellationToken cancellation) {
        this(scheduler, latents, conditioning, guidanceScale, rng, progress, cancellation, null);
    }

    public DenoiseRequest {
        if (scheduler == null || latents == null || conditioning == null || rng == null) {
            throw new IllegalArgumentException("a denoise request needs a scheduler, latents, conditioning and an rng");
        }
        conditioning = Map.copyOf(conditioning);
        progress = progress == null ? ProgressListener.NONE : progress;
        cancellation = cancellation == null ? CancellationToken.none() : cancellation;
        timesteps = timesteps == null ? scheduler.timesteps() : timesteps.clone();
    }

    @Override
    public double[] timesteps() {
        return timesteps.clone();
    }

    /** Whether classifier-free guidance doubles the batch. */
    public boolean guided() {
        return guidanceScale > 1.0;
    }
}
