package dev.asyncdiff.samplers;

import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.api.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * Linear multistep (Karras et al. 2022's k-diffusion LMS), diffusers' {@code LMSDiscreteScheduler}:
 * up to four past derivatives weighted by integrals of Lagrange basis polynomials over each sigma
 * interval. Deterministic; not thread-safe.
 */
public final class LmsSampler implements NoiseScheduler {
    /** The config keys this sampler reads. */
    public static final Set<String> KEYS = Set.of("num_train_timesteps", "beta_start", "beta_end", "beta_schedule",
            "trained_betas", "use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas", "prediction_type",
            "timestep_spacing", "steps_offset");
    private static final String NAME = "LMSDiscreteScheduler";
    private static final int MAX_ORDER = 4;
    /** Three-point Gauss-Legendre nodes and weights on [-1, 1]: exact for the cubic integrands of order 4. */
    private static final double[] GL_NODES = {-Math.sqrt(0.6), 0.0, Math.sqrt(0.6)};
    private static final double[] GL_WEIGHTS = {5.0 / 9, 8.0 / 9, 5.0 / 9};

    private final ScheduleMath.Training training;
    private final boolean karras;
    private final boolean exponential;
    private final String predictionType;
    private final String spacing;
    private final int stepsOffset;
    private final StepCursor cursor = new StepCursor(NAME, false);
    private final List<float[]> derivatives = new ArrayList<>();
    private double[] sigmas;
    private double[] timesteps;

    /** Builds the sampler from a scheduler config (see {@link #KEYS}). */
    public LmsSampler(SchedulerConfig config) {
        config.logUnusedKeys(NAME, KEYS);
        training = ScheduleMath.training(config, "linear", 0.0001, 0.02, ScheduleMath.ZeroSnr.NOT_READ);
        karras = config.getBoolean("use_karras_sigmas", false);
        exponential = config.getBoolean("use_exponential_sigmas", false);
        if (config.getBoolean("use_beta_sigmas", false)) {
            throw config.outOfRange("use_beta_sigmas", "false (beta sigmas are not supported; use Karras or "
                    + "exponential sigmas)", true);
        }
        if (karras && exponential) {
            throw config.outOfRange("use_karras_sigmas", "false when use_exponential_sigmas is true", true);
        }
        predictionType = config.getChoice("prediction_type", "epsilon", "epsilon", "v_prediction", "sample");
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
                ts[i] = ScheduleMath.f32(ScheduleMath.sigmaToT(s[i], logSigmas));
            }
        }
        sigmas = ScheduleMath.f32(ScheduleMath.append(s, 0.0));
        timesteps = ts;
        derivatives.clear();
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
     * The LMS weight of the derivative {@code currentOrder} steps back: the integral over
     * [sigma_t, sigma_{t+1}] of the Lagrange basis polynomial through the last {@code order} sigmas.
     */
    double coefficient(int order, int t, int currentOrder) {
        double a = sigmas[t];
        double b = sigmas[t + 1];
        double half = (b - a) / 2;
        double mid = (a + b) / 2;
        double sum = 0;
        for (int q = 0; q < GL_NODES.length; q++) {
            double tau = mid + half * GL_NODES[q];
            double product = 1.0;
            for (int k = 0; k < order; k++) {
                if (k != currentOrder) {
                    product *= (tau - sigmas[t - k]) / (sigmas[t - currentOrder] - sigmas[t - k]);
                }
            }
            sum += GL_WEIGHTS[q] * product;
        }
        return sum * half;
    }

    @Override
    public Tensor step(Tensor modelOutput, double timestep, Tensor sample, RandomGenerator rng) {
        float[] x = ScheduleMath.read(sample, "sample");
        float[] out = ScheduleMath.read(modelOutput, "modelOutput");
        ScheduleMath.requireSameSize(out, "modelOutput", x, "sample");
        int index = cursor.current(prepared(), timestep);
        double sigma = sigmas[index];
        float[] predX0 = switch (predictionType) {
            case "epsilon" -> ScheduleMath.combine(1, x, -sigma, out);
            case "v_prediction" -> ScheduleMath.combine(-sigma / Math.sqrt(sigma * sigma + 1), out,
                    1 / (sigma * sigma + 1), x);
            default -> out;
        };
        derivatives.add(ScheduleMath.combine(1 / sigma, x, -1 / sigma, predX0));
        if (derivatives.size() > MAX_ORDER) {
            derivatives.remove(0);
        }
        int order = Math.min(index + 1, MAX_ORDER);
        int used = Math.min(order, derivatives.size());
        double[] coefficients = new double[used + 1];
        float[][] terms = new float[used + 1][];
        coefficients[0] = 1;
        terms[0] = x;
        for (int k = 0; k < used; k++) {
            coefficients[k + 1] = coefficient(order, index, k);
            terms[k + 1] = derivatives.get(derivatives.size() - 1 - k);
        }
        float[] prev = ScheduleMath.linear(coefficients, terms);
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

    /** The {@code lms} provider. */
    public static final class Provider extends BaseSamplerProvider {
        /** Creates the provider. */
        public Provider() {
            super("lms", NAME, "linear multistep (order 4)", Map.of(), Map.of(), LmsSampler::new);
        }
    }
}
