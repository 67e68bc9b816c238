package dev.asyncdiff.samplers;

import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.api.Tensor;
import java.util.Map;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * Euler's method on the probability-flow ODE (Karras et al. 2022, algorithm 2), diffusers'
 * {@code EulerDiscreteScheduler}, including its EDM setup for Stable Video Diffusion
 * ({@code timestep_type: continuous} with Karras sigmas between {@code sigma_min} and
 * {@code sigma_max}, where the model's timestep input is {@code 0.25 * ln(sigma)}). Deterministic
 * unless {@link #setChurn churn} is set. Not thread-safe.
 */
public final class EulerSampler implements NoiseScheduler {
    /** The config keys this sampler reads. */
    public static final Set<String> KEYS = Set.of("num_train_timesteps", "beta_start", "beta_end", "beta_schedule",
            "trained_betas", "rescale_betas_zero_snr", "prediction_type", "interpolation_type", "use_karras_sigmas",
            "use_exponential_sigmas", "use_beta_sigmas", "sigma_min", "sigma_max", "timestep_spacing",
            "timestep_type", "steps_offset", "final_sigmas_type");
    private static final String NAME = "EulerDiscreteScheduler";

    private final ScheduleMath.Training training;
    private final String predictionType;
    private final boolean logLinear;
    private final boolean karras;
    private final boolean exponential;
    private final Double sigmaMin;
    private final Double sigmaMax;
    private final String spacing;
    private final boolean continuous;
    private final int stepsOffset;
    private final boolean finalSigmaMin;
    private final StepCursor cursor = new StepCursor(NAME, false);
    private double sChurn;
    private double sTmin;
    private double sTmax = Double.POSITIVE_INFINITY;
    private double sNoise = 1.0;
    private double[] sigmas;
    private double[] timesteps;

    /** Builds the sampler from a scheduler config (see {@link #KEYS}). */
    public EulerSampler(SchedulerConfig config) {
        config.logUnusedKeys(NAME, KEYS);
        training = ScheduleMath.training(config, "linear", 0.0001, 0.02, ScheduleMath.ZeroSnr.PINNED);
        predictionType = config.getChoice("prediction_type", "epsilon", "epsilon", "v_prediction", "sample",
                "original_sample");
        logLinear = "log_linear".equals(config.getChoice("interpolation_type", "linear", "linear", "log_linear"));
        karras = config.getBoolean("use_karras_sigmas", false);
        exponential = config.getBoolean("use_exponential_sigmas", false);
        if (config.getBoolean("use_beta_sigmas", false)) {
            throw config.outOfRange("use_beta_sigmas", "false (beta sigmas are not supported; use Karras or "
                    + "exponential sigmas)", true);
        }
        if (karras && exponential) {
            throw config.outOfRange("use_karras_sigmas", "false when use_exponential_sigmas is true (only one "
                    + "sigma schedule may be chosen)", true);
        }
        sigmaMin = config.getOptionalDouble("sigma_min");
        sigmaMax = config.getOptionalDouble("sigma_max");
        if (sigmaMin != null && !(sigmaMin > 0)) {
            throw config.outOfRange("sigma_min", "> 0", sigmaMin);
        }
        if (sigmaMax != null && !(sigmaMax > (sigmaMin == null ? 0 : sigmaMin))) {
            throw config.outOfRange("sigma_max", "> sigma_min", sigmaMax);
        }
        spacing = config.getChoice("timestep_spacing", "linspace", "linspace", "leading", "trailing");
        continuous = "continuous".equals(config.getChoice("timestep_type", "discrete", "discrete", "continuous"))
                && "v_prediction".equals(predictionType);
        stepsOffset = config.getInt("steps_offset", 0);
        if (stepsOffset < 0) {
            throw config.outOfRange("steps_offset", ">= 0", stepsOffset);
        }
        finalSigmaMin = "sigma_min".equals(config.getChoice("final_sigmas_type", "zero", "zero", "sigma_min"));
    }

    /**
     * Sets the stochastic churn of Karras et al.'s algorithm 2: while {@code sTmin <= sigma <= sTmax}
     * the step first adds noise raising sigma by {@code min(sChurn / steps, sqrt 2 - 1)}; 0 (the
     * default) is deterministic.
     */
    public void setChurn(double sChurn, double sTmin, double sTmax, double sNoise) {
        if (!(sChurn >= 0) || !(sNoise >= 0) || !(sTmin <= sTmax)) {
            throw new IllegalArgumentException("churn needs sChurn >= 0, sNoise >= 0 and sTmin <= sTmax, was "
                    + sChurn + ", " + sNoise + ", " + sTmin + ", " + sTmax);
        }
        this.sChurn = sChurn;
        this.sTmin = sTmin;
        this.sTmax = sTmax;
        this.sNoise = sNoise;
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
        double[] logSigmas = training.logSigmas();
        double[] s;
        if (logLinear) {
            // torch.linspace(log(sigma_max), log(sigma_min), steps + 1).exp() in float32; as in diffusers
            // this gives one sigma more than there are timesteps, and the last one is never reached
            double[] logs = ScheduleMath.torchLinspaceF32(Math.log(trainSigmas[numTrain - 1]),
                    Math.log(trainSigmas[0]), numInferenceSteps + 1);
            s = new double[logs.length];
            for (int i = 0; i < s.length; i++) {
                s[i] = ScheduleMath.f32(Math.exp(logs[i]));
            }
        } else {
            s = new double[ts.length];
            for (int i = 0; i < ts.length; i++) {
                s[i] = ScheduleMath.interp(ts[i], trainSigmas);
            }
        }
        if (karras || exponential) {
            double low = sigmaMin != null ? sigmaMin : s[s.length - 1];
            double high = sigmaMax != null ? sigmaMax : s[0];
            s = karras ? ScheduleMath.karrasSigmas(low, high, numInferenceSteps)
                    : ScheduleMath.exponentialSigmas(low, high, numInferenceSteps);
            ts = new double[s.length];
            for (int i = 0; i < s.length; i++) {
                ts[i] = ScheduleMath.f32(ScheduleMath.sigmaToT(s[i], logSigmas));
            }
        }
        double last = finalSigmaMin ? trainSigmas[0] : 0.0;
        sigmas = ScheduleMath.f32(ScheduleMath.append(s, last));
        if (continuous) {
            ts = new double[sigmas.length - 1];
            for (int i = 0; i < ts.length; i++) {
                ts[i] = ScheduleMath.f32(0.25 * ScheduleMath.f32(Math.log(sigmas[i])));
            }
        }
        timesteps = ts;
        cursor.reset();
    }

    @Override
    public double[] timesteps() {
        prepared();
        return timesteps.clone();
    }

    /** The sigmas of the prepared generation, one more than the timesteps (the final sigma). */
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

    @Override
    public Tensor step(Tensor modelOutput, double timestep, Tensor sample, RandomGenerator rng) {
        float[] x = ScheduleMath.read(sample, "sample");
        float[] out = ScheduleMath.read(modelOutput, "modelOutput");
        ScheduleMath.requireSameSize(out, "modelOutput", x, "sample");
        int index = cursor.current(prepared(), timestep);
        double sigma = sigmas[index];
        double gamma = sTmin <= sigma && sigma <= sTmax ? Math.min(sChurn / (sigmas.length - 1), Math.sqrt(2) - 1) : 0;
        double sigmaHat = sigma * (gamma + 1);
        if (gamma > 0) {
            float[] noise = ScheduleMath.gaussian(rng, x.length, NAME);
            x = ScheduleMath.combine(1, x, sNoise * Math.sqrt(sigmaHat * sigmaHat - sigma * sigma), noise);
        }
        float[] predX0 = switch (predictionType) {
            case "epsilon" -> ScheduleMath.combine(1, x, -sigmaHat, out);
            case "v_prediction" -> ScheduleMath.combine(-sigma / Math.sqrt(sigma * sigma + 1), out,
                    1 / (sigma * sigma + 1), x);
            default -> out;
        };
        double dt = sigmas[index + 1] - sigmaHat;
        // prev = x + (x - x0) / sigmaHat * dt
        float[] prev = ScheduleMath.combine(1 + dt / sigmaHat, x, -dt / sigmaHat, predX0);
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

    /** The {@code euler} provider. */
    public static final class Provider extends BaseSamplerProvider {
        /** Creates the provider. */
        public Provider() {
            super("euler", NAME, "Euler (Karras et al. algorithm 2)", Map.of(), Map.of(), EulerSampler::new);
        }
    }

    /**
     * The {@code edm_euler} provider: Euler with SVD's EDM setup, forcing continuous timesteps and
     * Karras sigmas, with sigma_min 0.002 and sigma_max 700 unless the config gives them.
     */
    public static final class EdmProvider extends BaseSamplerProvider {
        /** Creates the provider. */
        public EdmProvider() {
            super("edm_euler", NAME, "Euler with EDM continuous timesteps and Karras sigmas (SVD)",
                    Map.of("timestep_type", "continuous", "use_karras_sigmas", true),
                    Map.of("sigma_min", 0.002, "sigma_max", 700.0), EulerSampler::new);
        }
    }
}
