package dev.asyncdiff.samplers;

import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.api.Tensor;
import java.util.Map;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * Euler steps on a rectified-flow ODE, diffusers' {@code FlowMatchEulerDiscreteScheduler} (Stable
 * Diffusion 3, Flux): sigmas fall linearly from 1, are shifted by {@code shift} (or, with
 * {@code use_dynamic_shifting}, by an exponential or linear time shift of {@code mu}, set through
 * {@link #setTimesteps(int, double)} or {@link #setImageSequenceLength(int)}), the model predicts the
 * velocity and a step is {@code x + (sigma_next - sigma) v}. The timestep the model sees is
 * {@code 1000 sigma}. Deterministic unless {@code stochastic_sampling}. Not thread-safe.
 */
public final class FlowMatchEulerSampler implements NoiseScheduler {
    /** The config keys this sampler reads. */
    public static final Set<String> KEYS = Set.of("num_train_timesteps", "shift", "use_dynamic_shifting",
            "base_shift", "max_shift", "base_image_seq_len", "max_image_seq_len", "invert_sigmas", "shift_terminal",
            "use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas", "time_shift_type",
            "stochastic_sampling");
    private static final String NAME = "FlowMatchEulerDiscreteScheduler";

    private final int numTrain;
    private final double shift;
    private final boolean dynamicShifting;
    private final double baseShift;
    private final double maxShift;
    private final int baseImageSeqLen;
    private final int maxImageSeqLen;
    private final boolean invertSigmas;
    private final Double shiftTerminal;
    private final boolean karras;
    private final boolean exponential;
    private final boolean linearTimeShift;
    private final boolean stochastic;
    private final double sigmaMin;
    private final double sigmaMax;
    private final StepCursor cursor = new StepCursor(NAME, false);
    private Double mu;
    private double[] sigmas;
    private double[] timesteps;

    /** Builds the sampler from a scheduler config (see {@link #KEYS}). */
    public FlowMatchEulerSampler(SchedulerConfig config) {
        config.logUnusedKeys(NAME, KEYS);
        numTrain = config.getInt("num_train_timesteps", 1000);
        if (numTrain < 1) {
            throw config.outOfRange("num_train_timesteps", ">= 1", numTrain);
        }
        shift = config.getDouble("shift", 1.0);
        if (!(shift > 0)) {
            throw config.outOfRange("shift", "> 0", shift);
        }
        dynamicShifting = config.getBoolean("use_dynamic_shifting", false);
        baseShift = config.getDouble("base_shift", 0.5);
        maxShift = config.getDouble("max_shift", 1.15);
        baseImageSeqLen = config.getInt("base_image_seq_len", 256);
        maxImageSeqLen = config.getInt("max_image_seq_len", 4096);
        if (maxImageSeqLen <= baseImageSeqLen) {
            throw config.outOfRange("max_image_seq_len", "> base_image_seq_len (" + baseImageSeqLen + ")",
                    maxImageSeqLen);
        }
        invertSigmas = config.getBoolean("invert_sigmas", false);
        shiftTerminal = config.getOptionalDouble("shift_terminal");
        if (shiftTerminal != null && !(shiftTerminal >= 0 && shiftTerminal < 1)) {
            throw config.outOfRange("shift_terminal", "in [0, 1)", shiftTerminal);
        }
        karras = config.getBoolean("use_karras_sigmas", false);
        exponential = config.getBoolean("use_exponential_sigmas", false);
        if (config.getBoolean("use_beta_sigmas", false)) {
            throw config.outOfRange("use_beta_sigmas", "false (beta sigmas are not supported; use Karras or "
                    + "exponential sigmas)", true);
        }
        if (karras && exponential) {
            throw config.outOfRange("use_karras_sigmas", "false when use_exponential_sigmas is true", true);
        }
        linearTimeShift = "linear".equals(config.getChoice("time_shift_type", "exponential", "exponential", "linear"));
        stochastic = config.getBoolean("stochastic_sampling", false);
        // the training sigmas, in float32 as diffusers' constructor computes them
        double first = 1.0;
        double last = ScheduleMath.f32(ScheduleMath.f32(1.0) / numTrain);
        if (!dynamicShifting) {
            first = shifted32(first);
            last = shifted32(last);
        }
        sigmaMax = first;
        sigmaMin = last;
    }

    private double shifted32(double sigma) {
        double numerator = ScheduleMath.f32(shift * sigma);
        double denominator = ScheduleMath.f32(1 + ScheduleMath.f32((shift - 1) * sigma));
        return ScheduleMath.f32(numerator / denominator);
    }

    /**
     * Sets {@code mu} from the latent image's token count as diffusers' pipelines do:
     * linear between (base_image_seq_len, base_shift) and (max_image_seq_len, max_shift).
     */
    public void setImageSequenceLength(int imageSeqLen) {
        if (imageSeqLen < 1) {
            throw new IllegalArgumentException(NAME + ": image sequence length must be >= 1, was " + imageSeqLen);
        }
        double m = (maxShift - baseShift) / (maxImageSeqLen - baseImageSeqLen);
        double b = baseShift - m * baseImageSeqLen;
        mu = imageSeqLen * m + b;
    }

    /** Prepares the steps with the dynamic-shifting parameter {@code mu} (with use_dynamic_shifting). */
    public void setTimesteps(int numInferenceSteps, double mu) {
        if (!Double.isFinite(mu)) {
            throw new IllegalArgumentException(NAME + ": mu must be finite, was " + mu);
        }
        this.mu = mu;
        setTimesteps(numInferenceSteps);
    }

    @Override
    public void setTimesteps(int numInferenceSteps) {
        if (numInferenceSteps < 1) {
            throw new IllegalArgumentException(NAME + ": numInferenceSteps must be >= 1, was " + numInferenceSteps);
        }
        if (dynamicShifting && mu == null) {
            throw new IllegalStateException(NAME + " has use_dynamic_shifting: call setImageSequenceLength or "
                    + "setTimesteps(steps, mu) first");
        }
        double[] t = ScheduleMath.linspace(sigmaMax * numTrain, sigmaMin * numTrain, numInferenceSteps);
        double[] s = new double[numInferenceSteps];
        for (int i = 0; i < s.length; i++) {
            double sigma = t[i] / numTrain;
            if (dynamicShifting) {
                s[i] = linearTimeShift ? ScheduleMath.timeShiftLinear(mu, sigma)
                        : ScheduleMath.timeShiftExponential(mu, sigma);
            } else {
                s[i] = ScheduleMath.shift(shift, sigma);
            }
        }
        if (shiftTerminal != null && shiftTerminal > 0) {
            double scale = (1 - s[s.length - 1]) / (1 - shiftTerminal);
            for (int i = 0; i < s.length; i++) {
                s[i] = 1 - (1 - s[i]) / scale;
            }
        }
        if (karras) {
            s = ScheduleMath.karrasSigmas(s[s.length - 1], s[0], numInferenceSteps);
        } else if (exponential) {
            s = ScheduleMath.exponentialSigmas(s[s.length - 1], s[0], numInferenceSteps);
        }
        s = ScheduleMath.f32(s);
        timesteps = new double[s.length];
        for (int i = 0; i < s.length; i++) {
            if (invertSigmas) {
                s[i] = ScheduleMath.f32(1 - s[i]);
            }
            timesteps[i] = ScheduleMath.f32(s[i] * numTrain);
        }
        sigmas = ScheduleMath.append(s, invertSigmas ? 1.0 : 0.0);
        cursor.reset();
    }

    @Override
    public double[] timesteps() {
        return prepared().clone();
    }

    /** The sigmas of the prepared generation, ending with 0 (1 with invert_sigmas). */
    public double[] sigmas() {
        prepared();
        return sigmas.clone();
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

    @Override
    public Tensor step(Tensor modelOutput, double timestep, Tensor sample, RandomGenerator rng) {
        float[] x = ScheduleMath.read(sample, "sample");
        float[] out = ScheduleMath.read(modelOutput, "modelOutput");
        ScheduleMath.requireSameSize(out, "modelOutput", x, "sample");
        int index = cursor.current(prepared(), timestep);
        double sigma = sigmas[index];
        double next = sigmas[index + 1];
        float[] prev;
        if (stochastic) {
            float[] x0 = ScheduleMath.combine(1, x, -sigma, out);
            float[] noise = ScheduleMath.gaussian(rng, x.length, NAME);
            prev = ScheduleMath.combine(1 - next, x0, next, noise);
        } else {
            prev = ScheduleMath.combine(1, x, next - sigma, out);
        }
        cursor.advance();
        return ScheduleMath.tensor(prev, sample.shape());
    }

    /** diffusers' {@code scale_noise}: {@code sigma * noise + (1 - sigma) * original}. */
    @Override
    public Tensor addNoise(Tensor original, Tensor noise, double timestep) {
        float[] x = ScheduleMath.read(original, "original");
        float[] n = ScheduleMath.read(noise, "noise");
        ScheduleMath.requireSameSize(n, "noise", x, "original");
        double sigma = sigmas[cursor.noiseIndex(prepared(), timestep)];
        return ScheduleMath.tensor(ScheduleMath.combine(1 - sigma, x, sigma, n), original.shape());
    }

    private double[] prepared() {
        if (timesteps == null) {
            throw new IllegalStateException(NAME + ": call setTimesteps before stepping");
        }
        return timesteps;
    }

    /** The {@code flow_euler} provider. */
    public static final class Provider extends BaseSamplerProvider {
        /** Creates the provider. */
        public Provider() {
            super("flow_euler", NAME, "flow-matching Euler (SD3, Flux)", Map.of(), Map.of(),
                    FlowMatchEulerSampler::new);
        }
    }
}
