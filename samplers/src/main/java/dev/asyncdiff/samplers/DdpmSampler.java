package dev.asyncdiff.samplers;

import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.api.Tensor;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * Denoising diffusion probabilistic models (Ho et al. 2020), diffusers' {@code DDPMScheduler}:
 * ancestral sampling from the posterior q(x_{t-1} | x_t, x_0), with Gaussian noise drawn from the
 * generator passed to {@link #step} at every step but the last. Before {@link #setTimesteps} it
 * steps all training timesteps one by one, as diffusers does. Not thread-safe.
 */
public final class DdpmSampler implements NoiseScheduler {
    /** The config keys this sampler reads. */
    public static final Set<String> KEYS = Set.of("num_train_timesteps", "beta_start", "beta_end", "beta_schedule",
            "trained_betas", "rescale_betas_zero_snr", "variance_type", "clip_sample", "clip_sample_range",
            "prediction_type", "thresholding", "dynamic_thresholding_ratio", "sample_max_value", "timestep_spacing",
            "steps_offset");
    private static final String NAME = "DDPMScheduler";

    private final ScheduleMath.Training training;
    private final String varianceType;
    private final boolean clipSample;
    private final double clipSampleRange;
    private final String predictionType;
    private final boolean thresholding;
    private final double thresholdingRatio;
    private final double sampleMaxValue;
    private final String spacing;
    private final int stepsOffset;
    private boolean prepared;
    private double[] timesteps;

    /** Builds the sampler from a scheduler config (see {@link #KEYS}). */
    public DdpmSampler(SchedulerConfig config) {
        config.logUnusedKeys(NAME, KEYS);
        training = ScheduleMath.training(config, "linear", 0.0001, 0.02, ScheduleMath.ZeroSnr.PLAIN);
        varianceType = config.getChoice("variance_type", "fixed_small", "fixed_small", "fixed_small_log",
                "fixed_large", "learned", "learned_range");
        clipSample = config.getBoolean("clip_sample", true);
        clipSampleRange = config.getDouble("clip_sample_range", 1.0);
        predictionType = config.getChoice("prediction_type", "epsilon", "epsilon", "sample", "v_prediction");
        thresholding = config.getBoolean("thresholding", false);
        thresholdingRatio = config.getDouble("dynamic_thresholding_ratio", 0.995);
        sampleMaxValue = config.getDouble("sample_max_value", 1.0);
        spacing = config.getChoice("timestep_spacing", "leading", "linspace", "leading", "trailing");
        stepsOffset = config.getInt("steps_offset", 0);
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
        int count = training.numTrainTimesteps();
        timesteps = new double[count];
        for (int i = 0; i < count; i++) {
            timesteps[i] = count - 1 - i;
        }
    }

    @Override
    public void setTimesteps(int numInferenceSteps) {
        int numTrain = training.numTrainTimesteps();
        if (numInferenceSteps < 1 || numInferenceSteps > numTrain) {
            throw new IllegalArgumentException("numInferenceSteps must be in [1, num_train_timesteps = " + numTrain
                    + "], was " + numInferenceSteps);
        }
        timesteps = ScheduleMath.spacedTimesteps(spacing, numTrain, numInferenceSteps, stepsOffset, true);
        prepared = true;
    }

    @Override
    public double[] timesteps() {
        return timesteps.clone();
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

    /** The timestep after {@code t}: the next prepared one, -1 after the last, or t - 1 before setTimesteps. */
    int previousTimestep(int t) {
        if (!prepared) {
            return t - 1;
        }
        int first = firstIndex(t);
        if (first < 0) {
            throw ScheduleMath.unknownTimestep(NAME, t, timesteps);
        }
        return first == timesteps.length - 1 ? -1 : (int) timesteps[first + 1];
    }

    private int firstIndex(double t) {
        for (int i = 0; i < timesteps.length; i++) {
            if (timesteps[i] == t) {
                return i;
            }
        }
        return -1;
    }

    /** The posterior variance of step {@code t} (diffusers' {@code _get_variance} for fixed_small). */
    double variance(int t) {
        int prevT = previousTimestep(t);
        double alphaT = training.alphaCumprod(t);
        double alphaPrev = prevT >= 0 ? training.alphaCumprod(prevT) : 1.0;
        double currentBeta = 1 - alphaT / alphaPrev;
        return Math.max((1 - alphaPrev) / (1 - alphaT) * currentBeta, 1e-20);
    }

    @Override
    public Tensor step(Tensor modelOutput, double timestep, Tensor sample, RandomGenerator rng) {
        float[] x = ScheduleMath.read(sample, "sample");
        float[] raw = ScheduleMath.read(modelOutput, "modelOutput");
        float[] out = raw;
        float[] predictedVariance = null;
        boolean learned = varianceType.startsWith("learned");
        if (learned && raw.length == 2 * x.length) {
            float[][] halves = splitChannels(raw, modelOutput.shape());
            out = halves[0];
            predictedVariance = halves[1];
        } else if (learned) {
            throw new IllegalArgumentException(NAME + " with variance_type " + varianceType
                    + " needs a model output with twice the sample's channels, got " + raw.length
                    + " elements for a sample of " + x.length);
        }
        ScheduleMath.requireSameSize(out, "modelOutput", x, "sample");
        int t = ScheduleMath.discrete(NAME, timestep);
        int prevT = previousTimestep(t);
        double alphaT = training.alphaCumprod(t);
        double alphaPrev = prevT >= 0 ? training.alphaCumprod(prevT) : 1.0;
        double betaT = 1 - alphaT;
        double betaPrev = 1 - alphaPrev;
        double currentAlpha = alphaT / alphaPrev;
        double currentBeta = 1 - currentAlpha;
        float[] predX0 = switch (predictionType) {
            case "epsilon" -> ScheduleMath.combine(1 / Math.sqrt(alphaT), x, -Math.sqrt(betaT) / Math.sqrt(alphaT), out);
            case "sample" -> out;
            default -> ScheduleMath.combine(Math.sqrt(alphaT), x, -Math.sqrt(betaT), out);
        };
        if (thresholding) {
            predX0 = ScheduleMath.threshold(predX0, sample.shape(), thresholdingRatio, sampleMaxValue);
        } else if (clipSample) {
            predX0 = ScheduleMath.clamp(predX0, clipSampleRange);
        }
        double x0Coeff = Math.sqrt(alphaPrev) * currentBeta / betaT;
        double sampleCoeff = Math.sqrt(currentAlpha) * betaPrev / betaT;
        float[] prev = ScheduleMath.combine(x0Coeff, predX0, sampleCoeff, x);
        if (t > 0) {
            float[] noise = ScheduleMath.gaussian(rng, prev.length, NAME);
            prev = addVariance(prev, noise, t, predictedVariance, currentBeta);
        }
        return ScheduleMath.tensor(prev, sample.shape());
    }

    private float[] addVariance(float[] mean, float[] noise, int t, float[] predicted, double currentBeta) {
        double fixedSmall = variance(t);
        float[] out = new float[mean.length];
        for (int i = 0; i < out.length; i++) {
            double std = switch (varianceType) {
                case "fixed_small" -> Math.sqrt(fixedSmall);
                case "fixed_small_log" -> Math.exp(0.5 * Math.log(fixedSmall));
                case "fixed_large" -> Math.sqrt(currentBeta);
                case "learned" -> Math.sqrt(predicted[i]);
                default -> {
                    double frac = (predicted[i] + 1) / 2;
                    double logVariance = frac * Math.log(currentBeta) + (1 - frac) * Math.log(fixedSmall);
                    yield Math.exp(0.5 * logVariance);
                }
            };
            out[i] = (float) (mean[i] + std * noise[i]);
        }
        return out;
    }

    private static float[][] splitChannels(float[] data, long[] shape) {
        if (shape.length < 2) {
            throw new IllegalArgumentException("a learned-variance model output needs a channel axis, shape was "
                    + Arrays.toString(shape));
        }
        int batch = (int) shape[0];
        int perBatch = data.length / batch;
        int half = perBatch / 2;
        float[] first = new float[data.length / 2];
        float[] second = new float[data.length / 2];
        for (int b = 0; b < batch; b++) {
            System.arraycopy(data, b * perBatch, first, b * half, half);
            System.arraycopy(data, b * perBatch + half, second, b * half, half);
        }
        return new float[][] {first, second};
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

    /** The {@code ddpm} provider. */
    public static final class Provider extends BaseSamplerProvider {
        /** Creates the provider. */
        public Provider() {
            super("ddpm", NAME, "DDPM ancestral sampling (stochastic)", Map.of(), Map.of(), DdpmSampler::new);
        }
    }
}
