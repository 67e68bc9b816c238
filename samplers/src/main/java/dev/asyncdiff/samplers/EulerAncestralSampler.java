package dev.asyncdiff.samplers;

import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.api.Tensor;
import java.util.Map;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * Euler ancestral sampling ("Euler a"), diffusers' {@code EulerAncestralDiscreteScheduler}: an
 * Euler step down to {@code sigma_down}, then fresh Gaussian noise of standard deviation
 * {@code sigma_up} drawn from the generator passed to {@link #step}. Not thread-safe.
 */
public final class EulerAncestralSampler implements NoiseScheduler {
    /** The config keys this sampler reads. */
    public static final Set<String> KEYS = Set.of("num_train_timesteps", "beta_start", "beta_end", "beta_schedule",
            "trained_betas", "rescale_betas_zero_snr", "prediction_type", "timestep_spacing", "steps_offset");
    private static final String NAME = "EulerAncestralDiscreteScheduler";

    private final ScheduleMath.Training training;
    private final boolean vPrediction;
    private final String spacing;
    private final int stepsOffset;
    private final StepCursor cursor = new StepCursor(NAME, false);
    private double[] sigmas;
    private double[] timesteps;

    /** Builds the sampler from a scheduler config (see {@link #KEYS}). */
    public EulerAncestralSampler(SchedulerConfig config) {
        config.logUnusedKeys(NAME, KEYS);
        training = ScheduleMath.training(config, "linear", 0.0001, 0.02, ScheduleMath.ZeroSnr.PINNED);
        vPrediction = "v_prediction".equals(config.getChoice("prediction_type", "epsilon", "epsilon", "v_prediction"));
        spacing = config.getChoice("timestep_spacing", "linspace", "linspace", "leading", "trailing");
        stepsOffset = config.getInt("steps_offset", 0);
        if (stepsOffset < 0) {
            throw config.outOfRange("steps_offset", ">= 0", stepsOffset);
        }
    }

    @Override
    public void setTimesteps(int numInferenceSteps) {
        int numTrain = training.numTrainTimesteps();
        if (numInferenceSteps < 1 || numInferenceSteps > numTrain) {
            throw new IllegalArgumentException("numInferenceSteps must be in [1, num_train_timesteps = " + numTrain
                    + "], was " + numInferenceSteps);
        }
        timesteps = ScheduleMath.f32(ScheduleMath.spacedTimesteps(spacing, numTrain, numInferenceSteps,
                stepsOffset, false));
        double[] trainSigmas = training.sigmas();
        double[] s = new double[timesteps.length];
        for (int i = 0; i < s.length; i++) {
            s[i] = ScheduleMath.interp(timesteps[i], trainSigmas);
        }
        sigmas = ScheduleMath.f32(ScheduleMath.append(s, 0.0));
        cursor.reset();
    }

    @Override
    public double[] timesteps() {
        return prepared().clone();
    }

    /** The sigmas of the prepared generation, ending with 0. */
    public double[] sigmas() {
        prepared();
        return sigmas.clone();
    }

    @Override
    public double initNoiseSigma() {
        prepared();
        return ScheduleMath.initNoiseSigma(sigmas, spacing);
    }

    @Override
    public int order() {
        return 1;
    }

    @Override
    public void setBeginIndex(int index) {
        cursor.setBegin(index, prepared().length);
    }

    @Override
    public Tensor scaleModelInput(Tensor sample, double timestep) {
        return ScheduleMath.scaleBySigma(sample, sigmas[cursor.current(prepared(), timestep)]);
    }

    /**
     * The ancestral split of the step from {@code from} to {@code to}: {@code {sigma_down, sigma_up}}
     * with {@code sigma_up = sqrt(to^2 (from^2 - to^2) / from^2)} and
     * {@code sigma_down = sqrt(to^2 - sigma_up^2)}.
     */
    static double[] ancestral(double from, double to) {
        double up = Math.sqrt(to * to * (from * from - to * to) / (from * from));
        double down = Math.sqrt(Math.max(0, to * to - up * up));
        return new double[] {down, up};
    }

    @Override
    public Tensor step(Tensor modelOutput, double timestep, Tensor sample, RandomGenerator rng) {
        float[] x = ScheduleMath.read(sample, "sample");
        float[] out = ScheduleMath.read(modelOutput, "modelOutput");
        ScheduleMath.requireSameSize(out, "modelOutput", x, "sample");
        int index = cursor.current(prepared(), timestep);
        double sigma = sigmas[index];
        float[] predX0 = vPrediction
                ? ScheduleMath.combine(-sigma / Math.sqrt(sigma * sigma + 1), out, 1 / (sigma * sigma + 1), x)
                : ScheduleMath.combine(1, x, -sigma, out);
        double[] split = ancestral(sigma, sigmas[index + 1]);
        double dt = split[0] - sigma;
        float[] noise = ScheduleMath.gaussian(rng, x.length, NAME);
        // x + (x - x0) / sigma * dt + noise * sigma_up
        float[] prev = ScheduleMath.combine(1 + dt / sigma, x, -dt / sigma, predX0, split[1], noise);
        cursor.advance();
        return ScheduleMath.tensor(prev, sample.shape());
    }

    @Override
    public Tensor addNoise(Tensor original, Tensor noise, double timestep) {
        return ScheduleMath.addNoiseBySigma(original, noise, sigmas[cursor.noiseIndex(prepared(), timestep)]);
    }

    private double[] prepared() {
        if (timesteps == null) {
            throw new IllegalStateException(NAME + ": call setTimesteps before stepping");
        }
        return timesteps;
    }

    /** The {@code euler_a} provider. */
    public static final class Provider extends BaseSamplerProvider {
        /** Creates the provider. */
        public Provider() {
            super("euler_a", NAME, "Euler ancestral (stochastic)", Map.of(), Map.of(), EulerAncestralSampler::new);
        }
    }
}
