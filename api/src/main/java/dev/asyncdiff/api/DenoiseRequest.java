package dev.asyncdiff.api;

import java.util.Map;
import java.util.random.RandomGenerator;

/**
 * One denoising loop to run: initial latents, the conditioning every component may read, the
 * guidance stage, the adapter's per-step inputs and the scheduler whose timesteps are set. The
 * tensors are borrowed: the strategy reads them and the caller closes them after
 * {@link ParallelStrategy#denoise} returns.
 *
 * @param scheduler    a scheduler with {@link NoiseScheduler#setTimesteps} called, used for this loop only
 * @param latents      the initial latents {@code [batch, channels, h, w]}
 * @param conditioning the denoiser's other inputs by name ({@code encoder_hidden_states}, …), fixed for
 *                     the loop and stacked {@code [unconditional; conditional]} on the first axis when
 *                     {@code guidance} has two branches
 * @param guidance     how the branches' predictions combine ({@link Guidance#none()} for one branch)
 * @param stepInputs   the adapter's per-step inputs, or null for the scaled latents alone as {@code sample}
 * @param rng          randomness for ancestral and stochastic samplers
 * @param progress     told after each step
 * @param cancellation checked at least once per step
 * @param timesteps    the timesteps to step, in order: all of the scheduler's, or the tail an
 *                     image-to-image generation starts from ({@link NoiseScheduler#setTimestepsForStrength})
 */
public record DenoiseRequest(NoiseScheduler scheduler, Tensor latents, Map<String, Tensor> conditioning,
                             Guidance guidance, StepInputs stepInputs, RandomGenerator rng,
                             ProgressListener progress, CancellationToken cancellation, double[] timesteps) {
    /**
     * A request with classifier-free guidance at {@code guidanceScale} (at most 1: none) and no
     * per-step inputs beyond the latents.
     */
    public DenoiseRequest(NoiseScheduler scheduler, Tensor latents, Map<String, Tensor> conditioning,
                          double guidanceScale, RandomGenerator rng, ProgressListener progress,
                          CancellationToken cancellation, double[] timesteps) {
        this(scheduler, latents, conditioning, Guidance.of(guidanceScale), null, rng, progress, cancellation,
                timesteps);
    }

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
        guidance = guidance == null ? Guidance.none() : guidance;
        progress = progress == null ? ProgressListener.NONE : progress;
        cancellation = cancellation == null ? CancellationToken.none() : cancellation;
        timesteps = timesteps == null ? scheduler.timesteps() : timesteps.clone();
    }

    @Override
    public double[] timesteps() {
        return timesteps.clone();
    }

    /** A copy with other per-step inputs. */
    public DenoiseRequest withStepInputs(StepInputs value) {
        return new DenoiseRequest(scheduler, latents, conditioning, guidance, value, rng, progress, cancellation,
                timesteps);
    }

    /** A copy with another guidance stage. */
    public DenoiseRequest withGuidance(Guidance value) {
        return new DenoiseRequest(scheduler, latents, conditioning, value, stepInputs, rng, progress, cancellation,
                timesteps);
    }

    /** Whether guidance runs two branches (the conditioning holds both, stacked). */
    public boolean guided() {
        return guidance.branches() > 1;
    }

    /** The single guidance scale (1 without guidance; the first of several per-frame scales). */
    public double guidanceScale() {
        return guidance instanceof Guidance.Classifier classifier ? classifier.scales()[0] : 1.0;
    }
}
