package dev.asyncdiff.samplers;

import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.api.Tensor;
import java.util.Map;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * DDIM (Song et al. 2020), diffusers' {@code DDIMScheduler}: the deterministic implicit sampler,
 * stochastic when {@link #setEta(double) eta} is above 0. Not thread-safe; one generation at a time.
 */
public final class DdimSampler implements NoiseScheduler {
    /** The config keys this sampler reads. */
    public static final Set<String> KEYS = Set.of("num_train_timesteps", "beta_start", "beta_end", "beta_schedule",
            "trained_betas", "rescale_betas_zero_snr", "clip_sample", "clip_sample_range", "set_alpha_to_one",
            "steps_offset", "prediction_type", "thresholding", "dynamic_thresholding_ratio", "sample_max_value",
            "timestep_spacing");
    private static final String NAME = "DDIMScheduler";

    private final ScheduleMath.Training training;
    private final double finalAlphaCumprod;
    private final boolean clipSample;
    private final double clipSampleRange;
    private final int stepsOffset;
    private final String predictionType;
    private final boolean thresholding;
    private final double thresholdingRatio;
    private final double sampleMaxValue;
    private final String spacing;
    private double eta;
    private int numInferenceSteps;
    private double[] timesteps;

    /** Builds the sampler from a scheduler config (see {@link #KEYS}). */
    public DdimSampler(SchedulerConfig config) {
        config.logUnusedKeys(NAME, KEYS);
        training = ScheduleMath.training(config, "linear", 0.0001, 0.02, ScheduleMath.ZeroSnr.PLAIN);
        finalAlphaCumprod = config.getBoolean("set_alpha_to_one", true) ? 1.0 : training.alphasCumprod()[0];
        clipSample = config.getBoolean("clip_sample", true);
        clipSampleRange = config.getDouble("clip_sample_range", 1.0);
        stepsOffset = config.getInt("steps_offset", 0);
        predictionType = config.getChoice("prediction_type", "epsilon", "epsilon", "sample", "v_prediction");
        thresholding = config.getBoolean("thresholding", false);
        thresholdingRatio = config.getDouble("dynamic_thresholding_ratio", 0.995);
        sampleMaxValue = config.getDouble("sample_max_value", 1.0);
        spacing = config.getChoice("timestep_spacing", "leading", "linspace", "leading", "trailing");
        if (clipSampleRange <= 0) {
            throw config.outOfRange("clip_sample_range", "> 0", clipSampleRange);
        }
        if (stepsOffset < 0) {
            throw config.outOfRange("steps_offset", ">= 0", stepsOffset);
        }
        if (!(thresholdingRatio >= 0 && thresholdingRatio <= 1)) {
            throw config.outOfRange("dynamic_thresholding_ratio", "in [0, 1]", thresholdingRatio);
        }
        if (!(sampleMaxValue > 0)) {
            throw config.outOfRange("sample_max_value", "> 0", sampleMaxValue);
        }
    }

    /** Sets DDIM's eta: 0 (the default) is deterministic, 1 is DDPM-like ancestral sampling. */
    public void setEta(double eta) {
        if (!(eta >= 0)) {
            throw new IllegalArgumentException("DDIM eta must be >= 0, was " + eta);
        }
        this.eta = eta;
    }

    @Override
    public void setTimesteps(int numInferenceSteps) {
        if (numInferenceSteps < 1 || numInferenceSteps > training.numTrainTimesteps()) {
            throw new IllegalArgumentException("numInferenceSteps must be in [1, num_train_timesteps = "
                    + training.numTrainTimesteps() + "], was " + numInferenceSteps);
        }
        this.numInferenceSteps = numInferenceSteps;
        timesteps = ScheduleMath.spacedTimesteps(spacing, training.numTrainTimesteps(), numInferenceSteps,
                stepsOffset, true);
    }

    @Override
    public double[] timesteps() {
        return prepared().clone();
    }

    @Override
    public double initNoiseSigma() {
        return 1.0;
    }

    @Override
    public int order() {
        return 1;
    }

    @Override
    public Tensor scaleModelInput(Tensor sample, double timestep) {
        return ScheduleMath.tensor(ScheduleMath.read(sample, "sample"), sample.shape());
    }

    @Override
    public Tensor step(Tensor modelOutput, double timestep, Tensor sample, RandomGenerator rng) {
        prepared();
        float[] x = ScheduleMath.read(sample, "sample");
        float[] out = ScheduleMath.read(modelOutput, "modelOutput");
        ScheduleMath.requireSameSize(out, "modelOutput", x, "sample");
        int t = ScheduleMath.discrete(NAME, timestep);
        int prevT = t - training.numTrainTimesteps() / numInferenceSteps;
        double alphaT = training.alphaCumprod(t);
        double alphaPrev = prevT >= 0 ? training.alphaCumprod(prevT) : finalAlphaCumprod;
        double betaT = 1 - alphaT;
        float[] predX0;
        float[] predEps;
        switch (predictionType) {
            case "epsilon" -> {
                predX0 = ScheduleMath.combine(1 / Math.sqrt(alphaT), x, -Math.sqrt(betaT) / Math.sqrt(alphaT), out);
                predEps = out;
            }
            case "sample" -> {
                predX0 = out;
                predEps = ScheduleMath.combine(1 / Math.sqrt(betaT), x, -Math.sqrt(alphaT) / Math.sqrt(betaT), out);
            }
            default -> {
                predX0 = ScheduleMath.combine(Math.sqrt(alphaT), x, -Math.sqrt(betaT), out);
                predEps = ScheduleMath.combine(Math.sqrt(alphaT), out, Math.sqrt(betaT), x);
            }
        }
        if (thresholding) {
            predX0 = ScheduleMath.threshold(predX0, sample.shape(), thresholdingRatio, sampleMaxValue);
        } else if (clipSample) {
            predX0 = ScheduleMath.clamp(predX0, clipSampleRange);
        }
        double variance = ((1 - alphaPrev) / betaT) * (1 - alphaT / alphaPrev);
        double stdDev = eta * Math.sqrt(variance);
        float[] prev = ScheduleMath.combine(Math.sqrt(alphaPrev), predX0,
                Math.sqrt(Math.max(0, 1 - alphaPrev - stdDev * stdDev)), predEps);
        if (eta > 0) {
            float[] noise = ScheduleMath.gaussian(rng, prev.length, NAME);
            prev = ScheduleMath.combine(1, prev, stdDev, noise);
        }
        return ScheduleMath.tensor(prev, sample.shape());
    }

    @Override
    public Tensor addNoise(Tensor original, Tensor noise, double timestep) {
        float[] x = ScheduleMath.read(original, "original");
        float[] n = ScheduleMath.read(noise, "noise");
        ScheduleMath.requireSameSize(n, "noise", x, "original");
        double alpha = training.alphaCumprod(ScheduleMath.discrete(NAME, timestep));
        return ScheduleMath.tensor(ScheduleMath.combine(Math.sqrt(alpha), x, Math.sqrt(1 - alpha), n),
                original.shape());
    }

    /** The variance of the step from {@code timestep} to {@code prevTimestep} (DDIM's sigma_t squared over eta squared). */
    double variance(int timestep, int prevTimestep) {
        double alphaT = training.alphaCumprod(timestep);
        double alphaPrev = prevTimestep >= 0 ? training.alphaCumprod(prevTimestep) : finalAlphaCumprod;
        return ((1 - alphaPrev) / (1 - alphaT)) * (1 - alphaT / alphaPrev);
    }

    private double[] prepared() {
        if (timesteps == null) {
            throw new IllegalStateException(NAME + ": call setTimesteps before stepping");
        }
        return timesteps;
    }

    /** The {@code ddim} provider. */
    public static final class Provider extends BaseSamplerProvider {
        /** Creates the provider. */
        public Provider() {
            super("ddim", NAME, "DDIM, deterministic (eta 0)", Map.of(), Map.of(), DdimSampler::new);
        }
    }
}
