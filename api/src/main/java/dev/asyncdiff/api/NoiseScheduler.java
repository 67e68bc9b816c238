package dev.asyncdiff.api;

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
}
