package dev.asyncdiff.samplers;

import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.api.Tensor;
import java.util.Map;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * Heun's second-order method (Karras et al. 2022, algorithm 1), diffusers'
 * {@code HeunDiscreteScheduler}: each step takes two model evaluations, so {@link #timesteps()}
 * repeats every timestep after the first ({@code 2n - 1} entries) and {@link #order()} is 2.
 * Deterministic; not thread-safe.
 */
public final class HeunSampler implements NoiseScheduler {
    /** The config keys this sampler reads. */
    public static final Set<String> KEYS = Set.of("num_train_timesteps", "beta_start", "beta_end", "beta_schedule",
            "trained_betas", "prediction_type", "use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas",
            "clip_sample", "clip_sample_range", "timestep_spacing", "steps_offset");
    private static final String NAME = "HeunDiscreteScheduler";

    private final ScheduleMath.Training training;
    private final String predictionType;
    private final boolean karras;
    private final boolean exponential;
    private final boolean clipSample;
    private final double clipSampleRange;
    private final String spacing;
    private final int stepsOffset;
    private final StepCursor cursor = new StepCursor(NAME, false);
    private double[] sigmas;
    private double[] timesteps;
    private float[] prevDerivative;
    private double dt = Double.NaN;
    private float[] firstSample;

    /** Builds the sampler from a scheduler config (see {@link #KEYS}). */
    public HeunSampler(SchedulerConfig config) {
        config.logUnusedKeys(NAME, KEYS);
        training = ScheduleMath.training(config, "linear", 0.00085, 0.012, ScheduleMath.ZeroSnr.NOT_READ);
        predictionType = config.getChoice("prediction_type", "epsilon", "epsilon", "v_prediction", "sample");
        karras = config.getBoolean("use_karras_sigmas", false);
        exponential = config.getBoolean("use_exponential_sigmas", false);
        if (config.getBoolean("use_beta_sigmas", false)) {
            throw config.outOfRange("use_beta_sigmas", "false (beta sigmas are not supported; use Karras or "
                    + "exponential sigmas)", true);
        }
        if (karras && exponential) {
            throw config.outOfRange("use_karras_sigmas", "false when use_exponential_sigmas is true", true);
        }
        clipSample = config.getBoolean("clip_sample", false);
        clipSampleRange = config.getDouble("clip_sample_range", 1.0);
        if (clipSampleRange <= 0) {
            throw config.outOfRange("clip_sample_range", "> 0", clipSampleRange);
        }
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
        double[] ts = ScheduleMath.f32(ScheduleMath.spacedTimesteps(spacing, numTrain, numInferenceSteps,
                stepsOffset, false));
        double[] trainSigmas = training.sigmas();
        double[] s = new double[ts.length];
        for (int i = 0; i < s.length; i++) {
            s[i] = ScheduleMath.interp(ts[i], trainSigmas);
        }
        if (karras || exponential) {
            double[] logSigmas = training.logSigmas();
            s = karras ? ScheduleMath.karrasSigmas(s[s.length - 1], s[0], numInferenceSteps)
                    : ScheduleMath.exponentialSigmas(s[s.length - 1], s[0], numInferenceSteps);
            ts = new double[s.length];
            for (int i = 0; i < s.length; i++) {
                ts[i] = ScheduleMath.sigmaToT(s[i], logSigmas);
            }
        }
        double[] base = ScheduleMath.f32(ScheduleMath.append(s, 0.0));
        int n = base.length;
        // sigmas: first, the interior ones twice, last; timesteps: first, the rest twice
        sigmas = new double[2 * n - 2];
        sigmas[0] = base[0];
        for (int i = 1; i < n - 1; i++) {
            sigmas[2 * i - 1] = base[i];
            sigmas[2 * i] = base[i];
        }
        sigmas[2 * n - 3] = base[n - 1];
        timesteps = new double[2 * ts.length - 1];
        timesteps[0] = ScheduleMath.f32(ts[0]);
        for (int i = 1; i < ts.length; i++) {
            timesteps[2 * i - 1] = ScheduleMath.f32(ts[i]);
            timesteps[2 * i] = ScheduleMath.f32(ts[i]);
        }
        prevDerivative = null;
        dt = Double.NaN;
        firstSample = null;
        cursor.reset();
    }

    @Override
    public double[] timesteps() {
        return prepared().clone();
    }

    /** The sigmas of the prepared generation in diffusers' doubled layout. */
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
        return 2;
    }

    @Override
    public void setBeginIndex(int index) {
        cursor.setBegin(index, prepared().length);
    }

    @Override
    public Tensor scaleModelInput(Tensor sample, double timestep) {
        return ScheduleMath.scaleBySigma(sample, sigmas[cursor.current(prepared(), timestep)]);
    }

    @Override
    public Tensor step(Tensor modelOutput, double timestep, Tensor sample, RandomGenerator rng) {
        float[] x = ScheduleMath.read(sample, "sample");
        float[] out = ScheduleMath.read(modelOutput, "modelOutput");
        ScheduleMath.requireSameSize(out, "modelOutput", x, "sample");
        int index = cursor.current(prepared(), timestep);
        boolean firstOrder = prevDerivative == null;
        double sigma = firstOrder ? sigmas[index] : sigmas[index - 1];
        double sigmaNext = firstOrder ? sigmas[index + 1] : sigmas[index];
        double sigmaInput = firstOrder ? sigma : sigmaNext;
        float[] predX0 = switch (predictionType) {
            case "epsilon" -> ScheduleMath.combine(1, x, -sigmaInput, out);
            case "v_prediction" -> ScheduleMath.combine(-sigmaInput / Math.sqrt(sigmaInput * sigmaInput + 1), out,
                    1 / (sigmaInput * sigmaInput + 1), x);
            default -> out;
        };
        if (clipSample) {
            predX0 = ScheduleMath.clamp(predX0, clipSampleRange);
        }
        float[] prev;
        if (firstOrder) {
            float[] derivative = ScheduleMath.combine(1 / sigma, x, -1 / sigma, predX0);
            dt = sigmaNext - sigma;
            prevDerivative = derivative;
            firstSample = x;
            prev = ScheduleMath.combine(1, x, dt, derivative);
        } else {
            float[] derivative = ScheduleMath.combine(1 / sigmaNext, x, -1 / sigmaNext, predX0);
            float[] average = ScheduleMath.combine(0.5, prevDerivative, 0.5, derivative);
            prev = ScheduleMath.combine(1, firstSample, dt, average);
            prevDerivative = null;
            dt = Double.NaN;
            firstSample = null;
        }
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

    /** The {@code heun} provider. */
    public static final class Provider extends BaseSamplerProvider {
        /** Creates the provider. */
        public Provider() {
            super("heun", NAME, "Heun (second order, two model calls per step)", Map.of(), Map.of(),
                    HeunSampler::new);
        }
    }
}
