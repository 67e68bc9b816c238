package dev.asyncdiff.samplers;

import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.api.Tensor;
import java.util.Map;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * Latent consistency models (Luo et al. 2023), diffusers' {@code LCMScheduler}: each step maps
 * the sample to a consistency-model estimate of x0 and, except at the last step, re-noises it to the
 * next timestep with Gaussian noise from the generator passed to {@link #step}. The timesteps are
 * picked from the {@code original_inference_steps} the model was distilled with. Not thread-safe.
 */
public final class LcmSampler implements NoiseScheduler {
    /** The config keys this sampler reads. */
    public static final Set<String> KEYS = Set.of("num_train_timesteps", "beta_start", "beta_end", "beta_schedule",
            "trained_betas", "rescale_betas_zero_snr", "original_inference_steps", "clip_sample", "clip_sample_range",
            "set_alpha_to_one", "prediction_type", "thresholding", "dynamic_thresholding_ratio", "sample_max_value",
            "timestep_scaling");
    private static final String NAME = "LCMScheduler";
    private static final double SIGMA_DATA = 0.5;

    private final ScheduleMath.Training training;
    private final int originalInferenceSteps;
    private final boolean clipSample;
    private final double clipSampleRange;
    private final double finalAlphaCumprod;
    private final String predictionType;
    private final boolean thresholding;
    private final double thresholdingRatio;
    private final double sampleMaxValue;
    private final double timestepScaling;
    private final StepCursor cursor = new StepCursor(NAME, false);
    private double[] timesteps;

    /** Builds the sampler from a scheduler config (see {@link #KEYS}). */
    public LcmSampler(SchedulerConfig config) {
        config.logUnusedKeys(NAME, KEYS);
        training = ScheduleMath.training(config, "scaled_linear", 0.00085, 0.012, ScheduleMath.ZeroSnr.PLAIN);
        originalInferenceSteps = config.getInt("original_inference_steps", 50);
        if (originalInferenceSteps < 1 || originalInferenceSteps > training.numTrainTimesteps()) {
            throw config.outOfRange("original_inference_steps", "in [1, num_train_timesteps = "
                    + training.numTrainTimesteps() + "]", originalInferenceSteps);
        }
        clipSample = config.getBoolean("clip_sample", false);
        clipSampleRange = config.getDouble("clip_sample_range", 1.0);
        if (clipSampleRange <= 0) {
            throw config.outOfRange("clip_sample_range", "> 0", clipSampleRange);
        }
        finalAlphaCumprod = config.getBoolean("set_alpha_to_one", true) ? 1.0 : training.alphasCumprod()[0];
        predictionType = config.getChoice("prediction_type", "epsilon", "epsilon", "sample", "v_prediction");
        thresholding = config.getBoolean("thresholding", false);
        thresholdingRatio = config.getDouble("dynamic_thresholding_ratio", 0.995);
        sampleMaxValue = config.getDouble("sample_max_value", 1.0);
        if (!(thresholdingRatio >= 0 && thresholdingRatio <= 1)) {
            throw config.outOfRange("dynamic_thresholding_ratio", "in [0, 1]", thresholdingRatio);
        }
        if (!(sampleMaxValue > 0)) {
            throw config.outOfRange("sample_max_value", "> 0", sampleMaxValue);
        }
        timestepScaling = config.getDouble("timestep_scaling", 10.0);
        if (!(timestepScaling > 0)) {
            throw config.outOfRange("timestep_scaling", "> 0", timestepScaling);
        }
    }

    @Override
    public void setTimesteps(int numInferenceSteps) {
        setTimesteps(numInferenceSteps, 1.0);
    }

    /**
     * Prepares {@code numInferenceSteps} steps among the first {@code strength} of the distillation
     * schedule (diffusers' {@code set_timesteps(..., strength)}; image-to-image uses strength below 1).
     */
    public void setTimesteps(int numInferenceSteps, double strength) {
        if (!(strength > 0 && strength <= 1)) {
            throw new IllegalArgumentException(NAME + ": strength must be in (0, 1], was " + strength);
        }
        int k = training.numTrainTimesteps() / originalInferenceSteps;
        int count = (int) (originalInferenceSteps * strength);
        if (numInferenceSteps < 1 || numInferenceSteps > originalInferenceSteps || numInferenceSteps > count) {
            throw new IllegalArgumentException(NAME + ": numInferenceSteps must be in [1, " + Math.min(count,
                    originalInferenceSteps) + "] (original_inference_steps " + originalInferenceSteps
                    + " at strength " + strength + "), was " + numInferenceSteps);
        }
        // the origin timesteps k*i - 1 for i = count..1, picked at floor(linspace(0, count, n, endpoint=False))
        timesteps = new double[numInferenceSteps];
        for (int i = 0; i < numInferenceSteps; i++) {
            int position = (int) Math.floor(i * ((double) count / numInferenceSteps));
            timesteps[i] = (double) (count - position) * k - 1;
        }
        cursor.reset();
    }

    /**
     * LCM's image-to-image rule: the generation keeps all its steps, chosen from the first
     * {@code strength} of the distillation schedule, as diffusers' LCM image-to-image pipeline does.
     */
    @Override
    public double[] setTimestepsForStrength(int numInferenceSteps, double strength) {
        setTimesteps(numInferenceSteps, strength);
        return timesteps.clone();
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
    public void setBeginIndex(int index) {
        cursor.setBegin(index, prepared().length);
    }

    @Override
    public Tensor scaleModelInput(Tensor sample, double timestep) {
        return ScheduleMath.tensor(ScheduleMath.read(sample, "sample"), sample.shape());
    }

    /** The consistency-model boundary scalings {c_skip, c_out} at a timestep. */
    double[] boundaryScalings(double timestep) {
        double scaled = timestep * timestepScaling;
        double cSkip = SIGMA_DATA * SIGMA_DATA / (scaled * scaled + SIGMA_DATA * SIGMA_DATA);
        double cOut = scaled / Math.sqrt(scaled * scaled + SIGMA_DATA * SIGMA_DATA);
        return new double[] {cSkip, cOut};
    }

    @Override
    public Tensor step(Tensor modelOutput, double timestep, Tensor sample, RandomGenerator rng) {
        float[] x = ScheduleMath.read(sample, "sample");
        float[] out = ScheduleMath.read(modelOutput, "modelOutput");
        ScheduleMath.requireSameSize(out, "modelOutput", x, "sample");
        double[] ts = prepared();
        int index = cursor.current(ts, timestep);
        int t = ScheduleMath.discrete(NAME, timestep);
        int prevT = index + 1 < ts.length ? (int) ts[index + 1] : t;
        double alphaT = training.alphaCumprod(t);
        double alphaPrev = prevT >= 0 ? training.alphaCumprod(prevT) : finalAlphaCumprod;
        double betaT = 1 - alphaT;
        double[] scalings = boundaryScalings(t);
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
        float[] denoised = ScheduleMath.combine(scalings[1], predX0, scalings[0], x);
        float[] prev = denoised;
        if (index != ts.length - 1) {
            float[] noise = ScheduleMath.gaussian(rng, x.length, NAME);
            prev = ScheduleMath.combine(Math.sqrt(alphaPrev), denoised, Math.sqrt(1 - alphaPrev), noise);
        }
        cursor.advance();
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

    private double[] prepared() {
        if (timesteps == null) {
            throw new IllegalStateException(NAME + ": call setTimesteps before stepping");
        }
        return timesteps;
    }

    /** The {@code lcm} provider. */
    public static final class Provider extends BaseSamplerProvider {
        /** Creates the provider. */
        public Provider() {
            super("lcm", NAME, "latent consistency model sampling (stochastic between steps)", Map.of(), Map.of(),
                    LcmSampler::new);
        }
    }
}
