package dev.asyncdiff.api;

import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * A diffusion sampler: the timesteps of a generation and the update from one latent to the next.
 *
 * <p>An instance is stateful (multistep history) and serves one generation at a time; call
 * {@link #setTimesteps(int)} before each generation, which also clears that history. Not
 * thread-safe. Tensors passed in are only read; returned tensors are new and the caller closes them.
 */
public interface NoiseScheduler {
    /** Prepares {@code numInferenceSteps} steps and resets any history. */
    void setTimesteps(int numInferenceSteps);

    /** The timesteps of the prepared generation, in the order they are stepped. */
    double[] timesteps();

    /** The standard deviation of the initial noise. */
    double initNoiseSigma();

    /** The number of model evaluations per step (2 for Heun, 1 for most). */
    int order();

    /** Scales the denoiser input for {@code timestep} (identity for most samplers). */
    Tensor scaleModelInput(Tensor sample, double timestep);

    /** Steps {@code sample} from {@code timestep} using the model's output. */
    Tensor step(Tensor modelOutput, double timestep, Tensor sample, RandomGenerator rng);

    /** Noises {@code original} to the level of {@code timestep} (image-to-image). */
    Tensor addNoise(Tensor original, Tensor noise, double timestep);

    /**
     * Makes the next generation start at position {@code index} of {@link #timesteps()} instead of
     * locating its first timestep by value (diffusers' {@code set_begin_index}); samplers that do
     * not track a step index need nothing and ignore it. {@link #setTimesteps(int)} clears it.
     */
    default void setBeginIndex(int index) {
        if (index < 0) {
            throw new IllegalArgumentException("begin index must be >= 0, was " + index);
        }
    }

    /**
     * Prepares an image-to-image generation at {@code strength}: calls {@link #setTimesteps(int)},
     * keeps the tail diffusers keeps ({@link #strengthStartStep(int, double)} times {@link #order()}),
     * sets the begin index to it and returns the timesteps to step, the first of which is the one to
     * pass to {@link #addNoise(Tensor, Tensor, double)}. The result may be empty at strength 0.
     *
     * @throws IllegalArgumentException when {@code strength} is outside [0, 1]
     */
    default double[] setTimestepsForStrength(int numInferenceSteps, double strength) {
        int start = strengthStartStep(numInferenceSteps, strength);
        setTimesteps(numInferenceSteps);
        double[] all = timesteps();
        int begin = Math.min(start * order(), all.length);
        setBeginIndex(begin);
        return Arrays.copyOfRange(all, begin, all.length);
    }

    /**
     * diffusers' image-to-image start step: {@code init = min(floor(steps * strength), steps)},
     * {@code start = max(steps - init, 0)}.
     *
     * @throws IllegalArgumentException when {@code strength} is outside [0, 1] or steps is < 1
     */
    static int strengthStartStep(int numInferenceSteps, double strength) {
        if (numInferenceSteps < 1) {
            throw new IllegalArgumentException("numInferenceSteps must be >= 1, was " + numInferenceSteps);
        }
        if (!(strength >= 0.0 && strength <= 1.0)) {
            throw new IllegalArgumentException("strength must be in [0, 1], was " + strength);
        }
        int initTimestep = Math.min((int) (numInferenceSteps * strength), numInferenceSteps);
        return Math.max(numInferenceSteps - initTimestep, 0);
    }
}
