package dev.asyncdiff.samplers;

import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.api.Tensor;
import java.util.Map;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * DPM-Solver and DPM-Solver++ multistep (Lu et al. 2022), diffusers'
 * {@code DPMSolverMultistepScheduler}: orders 1 to 3 in the data ({@code dpmsolver++}) or noise
 * ({@code dpmsolver}) parameterisation, midpoint or Heun second-order updates, the SDE variants
 * ({@code sde-dpmsolver++}, {@code sde-dpmsolver}, which draw noise from the generator passed to
 * {@link #step}), and Karras, exponential, Lu-lambda or flow sigmas. "DPM++ 2M Karras" is
 * {@code dpmsolver++}, order 2, {@code use_karras_sigmas}. Not thread-safe.
 */
public final class DpmSolverMultistepSampler implements NoiseScheduler {
    /** The config keys this sampler reads. */
    public static final Set<String> KEYS = Set.of("num_train_timesteps", "beta_start", "beta_end", "beta_schedule",
            "trained_betas", "rescale_betas_zero_snr", "solver_order", "prediction_type", "thresholding",
            "dynamic_thresholding_ratio", "sample_max_value", "algorithm_type", "solver_type", "lower_order_final",
            "euler_at_final", "use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas", "use_lu_lambdas",
            "use_flow_sigmas", "flow_shift", "final_sigmas_type", "lambda_min_clipped", "variance_type",
            "timestep_spacing", "steps_offset");
    private static final String NAME = "DPMSolverMultistepScheduler";

    private final ScheduleMath.Training training;
    private final boolean cosineSchedule;
    private final int solverOrder;
    private final String predictionType;
    private final boolean thresholding;
    private final double thresholdingRatio;
    private final double sampleMaxValue;
    private final String algorithm;
    private final boolean dataPrediction;
    private final boolean sde;
    private final boolean heun;
    private final boolean lowerOrderFinal;
    private final boolean eulerAtFinal;
    private final boolean karras;
    private final boolean exponential;
    private final boolean luLambdas;
    private final boolean flowSigmas;
    private final double flowShift;
    private final boolean finalSigmaZero;
    private final double lambdaMinClipped;
    private final boolean learnedVariance;
    private final String spacing;
    private final int stepsOffset;
    private final StepCursor cursor = new StepCursor(NAME, true);
    private double[] sigmas;
    private double[] timesteps;
    private float[][] modelOutputs;
    private int lowerOrderNums;

    /** Builds the sampler from a scheduler config (see {@link #KEYS}). */
    public DpmSolverMultistepSampler(SchedulerConfig config) {
        config.logUnusedKeys(NAME, KEYS);
        training = ScheduleMath.training(config, "linear", 0.0001, 0.02, ScheduleMath.ZeroSnr.PINNED);
        cosineSchedule = "squaredcos_cap_v2".equals(config.getChoice("beta_schedule", "linear", "linear",
                "scaled_linear", "squaredcos_cap_v2"));
        solverOrder = config.getInt("solver_order", 2);
        if (solverOrder < 1 || solverOrder > 3) {
            throw config.outOfRange("solver_order", "1, 2 or 3", solverOrder);
        }
        predictionType = config.getChoice("prediction_type", "epsilon", "epsilon", "sample", "v_prediction",
                "flow_prediction");
        thresholding = config.getBoolean("thresholding", false);
        thresholdingRatio = config.getDouble("dynamic_thresholding_ratio", 0.995);
        sampleMaxValue = config.getDouble("sample_max_value", 1.0);
        if (!(sampleMaxValue > 0)) {
            throw config.outOfRange("sample_max_value", "> 0", sampleMaxValue);
        }
        if (!(thresholdingRatio >= 0 && thresholdingRatio <= 1)) {
            throw config.outOfRange("dynamic_thresholding_ratio", "in [0, 1]", thresholdingRatio);
        }
        String type = config.getChoice("algorithm_type", "dpmsolver++", "dpmsolver", "dpmsolver++",
                "sde-dpmsolver", "sde-dpmsolver++", "deis");
        algorithm = "deis".equals(type) ? "dpmsolver++" : type;
        dataPrediction = algorithm.endsWith("++");
        sde = algorithm.startsWith("sde-");
        String solverType = config.getChoice("solver_type", "midpoint", "midpoint", "heun", "logrho", "bh1", "bh2");
        heun = "heun".equals(solverType);
        lowerOrderFinal = config.getBoolean("lower_order_final", true);
        eulerAtFinal = config.getBoolean("euler_at_final", false);
        karras = config.getBoolean("use_karras_sigmas", false);
        exponential = config.getBoolean("use_exponential_sigmas", false);
        if (config.getBoolean("use_beta_sigmas", false)) {
            throw config.outOfRange("use_beta_sigmas", "false (beta sigmas are not supported; use Karras or "
                    + "exponential sigmas)", true);
        }
        if (karras && exponential) {
            throw config.outOfRange("use_karras_sigmas", "false when use_exponential_sigmas is true", true);
        }
        luLambdas = config.getBoolean("use_lu_lambdas", false);
        flowSigmas = config.getBoolean("use_flow_sigmas", false);
        flowShift = config.getDouble("flow_shift", 1.0);
        if (!(flowShift > 0)) {
            throw config.outOfRange("flow_shift", "> 0", flowShift);
        }
        finalSigmaZero = "zero".equals(config.getChoice("final_sigmas_type", "zero", "zero", "sigma_min"));
        lambdaMinClipped = config.getDouble("lambda_min_clipped", Double.NEGATIVE_INFINITY);
        learnedVariance = !"none".equals(config.getChoice("variance_type", "none", "learned", "learned_range"));
        spacing = config.getChoice("timestep_spacing", "linspace", "linspace", "leading", "trailing");
        stepsOffset = config.getInt("steps_offset", 0);
        if (stepsOffset < 0) {
            throw config.outOfRange("steps_offset", ">= 0", stepsOffset);
        }
        if (!dataPrediction && finalSigmaZero) {
            throw config.outOfRange("final_sigmas_type", "sigma_min for algorithm_type " + algorithm, "zero");
        }
        if (!dataPrediction && "flow_prediction".equals(predictionType)) {
            throw config.outOfRange("prediction_type", "epsilon, sample or v_prediction for algorithm_type "
                    + algorithm, predictionType);
        }
        if ("sde-dpmsolver".equals(algorithm) && solverOrder == 3) {
            throw config.outOfRange("solver_order", "1 or 2 for algorithm_type sde-dpmsolver", solverOrder);
        }
    }

    @Override
    public void setTimesteps(int numInferenceSteps) {
        int numTrain = training.numTrainTimesteps();
        if (numInferenceSteps < 1 || numInferenceSteps > numTrain) {
            throw new IllegalArgumentException("numInferenceSteps must be in [1, num_train_timesteps = " + numTrain
                    + "], was " + numInferenceSteps);
        }
        double[] trainSigmas = training.sigmas();
        double[] logSigmas = training.logSigmas();
        int lastTimestep = numTrain - clippedIndex();
        double[] ts = ScheduleMath.multistepTimesteps(spacing, numTrain, lastTimestep, numInferenceSteps,
                stepsOffset);
        double[] s;
        if (karras || exponential) {
            double low = trainSigmas[0];
            double high = trainSigmas[numTrain - 1];
            s = karras ? ScheduleMath.karrasSigmas(low, high, numInferenceSteps)
                    : ScheduleMath.exponentialSigmas(low, high, numInferenceSteps);
            ts = timestepsOf(s, logSigmas, karras && !cosineSchedule);
        } else if (luLambdas) {
            double[] lambdas = ScheduleMath.linspace(logSigmas[numTrain - 1], logSigmas[0], numInferenceSteps);
            s = new double[lambdas.length];
            for (int i = 0; i < s.length; i++) {
                s[i] = Math.exp(lambdas[i]);
            }
            ts = timestepsOf(s, logSigmas, !cosineSchedule);
        } else if (flowSigmas) {
            double[] alphas = ScheduleMath.linspace(1, 1.0 / numTrain, numInferenceSteps + 1);
            s = new double[numInferenceSteps];
            ts = new double[numInferenceSteps];
            for (int i = 0; i < numInferenceSteps; i++) {
                // flip(shifted(1 - alphas))[:-1]
                s[i] = ScheduleMath.shift(flowShift, 1 - alphas[numInferenceSteps - i]);
                ts[i] = (long) (s[i] * numTrain);
            }
        } else {
            s = new double[ts.length];
            for (int i = 0; i < ts.length; i++) {
                s[i] = ScheduleMath.interp(ts[i], trainSigmas);
            }
        }
        double last = finalSigmaZero ? 0.0 : trainSigmas[0];
        sigmas = ScheduleMath.f32(ScheduleMath.append(s, last));
        timesteps = ts;
        modelOutputs = new float[solverOrder][];
        lowerOrderNums = 0;
        cursor.reset();
    }

    /** Integer timesteps of sigmas, rounded or (as a float-to-int64 cast) truncated. */
    private static double[] timestepsOf(double[] sigmas, double[] logSigmas, boolean round) {
        double[] out = new double[sigmas.length];
        for (int i = 0; i < out.length; i++) {
            double t = ScheduleMath.sigmaToT(sigmas[i], logSigmas);
            out[i] = round ? Math.rint(t) : (long) t;
        }
        return out;
    }

    /** {@code searchsorted(flip(lambda_t), lambda_min_clipped)}: how many training lambdas lie below it. */
    private int clippedIndex() {
        if (lambdaMinClipped == Double.NEGATIVE_INFINITY) {
            return 0;
        }
        int count = 0;
        for (double a : training.alphasCumprod()) {
            double lambda = ScheduleMath.f32(Math.log(ScheduleMath.f32(Math.sqrt(a)))
                    - Math.log(ScheduleMath.f32(Math.sqrt(ScheduleMath.f32(1 - a)))));
            if (lambda < lambdaMinClipped) {
                count++;
            }
        }
        return count;
    }

    @Override
    public double[] timesteps() {
        return prepared().clone();
    }

    /** The sigmas of the prepared generation, one more than the timesteps. */
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

    private double alphaOf(double sigma) {
        return ScheduleMath.alphaOfSigma(sigma, flowSigmas);
    }

    private double sigmaTOf(double sigma) {
        return ScheduleMath.noiseOfSigma(sigma, flowSigmas);
    }

    private double lambdaOf(double sigma) {
        return ScheduleMath.lambdaOfSigma(sigma, flowSigmas);
    }

    /** The model output in the solver's parameterisation: x0 for DPM-Solver++, epsilon for DPM-Solver. */
    private float[] convert(float[] out, float[] x, long[] shape, int index) {
        double sigma = sigmas[index];
        double alphaT = alphaOf(sigma);
        double sigmaT = sigmaTOf(sigma);
        if (dataPrediction) {
            float[] x0 = ScheduleMath.x0FromOutput(predictionType, out, x, alphaT, sigmaT, sigma);
            return thresholding ? ScheduleMath.threshold(x0, shape, thresholdingRatio, sampleMaxValue) : x0;
        }
        float[] eps = ScheduleMath.epsFromOutput(predictionType, out, x, alphaT, sigmaT);
        if (thresholding) {
            float[] x0 = ScheduleMath.threshold(ScheduleMath.combine(1 / alphaT, x, -sigmaT / alphaT, eps), shape,
                    thresholdingRatio, sampleMaxValue);
            eps = ScheduleMath.combine(1 / sigmaT, x, -alphaT / sigmaT, x0);
        }
        return eps;
    }

    @Override
    public Tensor step(Tensor modelOutput, double timestep, Tensor sample, RandomGenerator rng) {
        float[] x = ScheduleMath.read(sample, "sample");
        float[] out = ScheduleMath.read(modelOutput, "modelOutput");
        if (learnedVariance && out.length == 2 * x.length) {
            out = firstHalfOfChannels(out, modelOutput.shape());
        }
        ScheduleMath.requireSameSize(out, "modelOutput", x, "sample");
        double[] ts = prepared();
        int index = cursor.current(ts, timestep);
        int count = ts.length;
        boolean finalFirstOrder = index == count - 1
                && (eulerAtFinal || (lowerOrderFinal && count < 15) || finalSigmaZero);
        boolean finalSecondOrder = index == count - 2 && lowerOrderFinal && count < 15;
        float[] converted = convert(out, x, sample.shape(), index);
        System.arraycopy(modelOutputs, 1, modelOutputs, 0, solverOrder - 1);
        modelOutputs[solverOrder - 1] = converted;
        float[] noise = sde ? ScheduleMath.gaussian(rng, x.length, NAME) : null;
        float[] prev;
        if (solverOrder == 1 || lowerOrderNums < 1 || finalFirstOrder) {
            prev = firstOrder(converted, x, noise, index);
        } else if (solverOrder == 2 || lowerOrderNums < 2 || finalSecondOrder) {
            prev = secondOrder(x, noise, index);
        } else {
            prev = thirdOrder(x, noise, index);
        }
        if (lowerOrderNums < solverOrder) {
            lowerOrderNums++;
        }
        cursor.advance();
        return ScheduleMath.tensor(prev, sample.shape());
    }

    private float[] firstOrder(float[] m, float[] x, float[] noise, int index) {
        double sigmaNext = sigmas[index + 1];
        double sigmaNow = sigmas[index];
        double alphaT = alphaOf(sigmaNext);
        double sigmaT = sigmaTOf(sigmaNext);
        double alphaS = alphaOf(sigmaNow);
        double sigmaS = sigmaTOf(sigmaNow);
        double h = lambdaOf(sigmaNext) - lambdaOf(sigmaNow);
        return switch (algorithm) {
            case "dpmsolver++" -> ScheduleMath.combine(sigmaT / sigmaS, x, -alphaT * (Math.exp(-h) - 1), m);
            case "dpmsolver" -> ScheduleMath.combine(alphaT / alphaS, x, -sigmaT * (Math.exp(h) - 1), m);
            case "sde-dpmsolver++" -> ScheduleMath.combine(sigmaT / sigmaS * Math.exp(-h), x,
                    alphaT * (1 - Math.exp(-2 * h)), m, sigmaT * Math.sqrt(1 - Math.exp(-2 * h)), noise);
            default -> ScheduleMath.combine(alphaT / alphaS, x, -2 * sigmaT * (Math.exp(h) - 1), m,
                    sigmaT * Math.sqrt(Math.exp(2 * h) - 1), noise);
        };
    }

    private float[] secondOrder(float[] x, float[] noise, int index) {
        double sigmaT0 = sigmas[index + 1];
        double alphaT = alphaOf(sigmaT0);
        double sigmaT = sigmaTOf(sigmaT0);
        double alphaS0 = alphaOf(sigmas[index]);
        double sigmaS0 = sigmaTOf(sigmas[index]);
        double lambdaT = lambdaOf(sigmaT0);
        double lambdaS0 = lambdaOf(sigmas[index]);
        double lambdaS1 = lambdaOf(sigmas[index - 1]);
        float[] m0 = modelOutputs[solverOrder - 1];
        float[] m1 = modelOutputs[solverOrder - 2];
        double h = lambdaT - lambdaS0;
        double r0 = (lambdaS0 - lambdaS1) / h;
        // D0 = m0, D1 = (m0 - m1) / r0
        double c0;
        double c1;
        double cx;
        double cNoise = 0;
        switch (algorithm) {
            case "dpmsolver++" -> {
                cx = sigmaT / sigmaS0;
                c0 = -alphaT * (Math.exp(-h) - 1);
                c1 = heun ? alphaT * ((Math.exp(-h) - 1) / h + 1) : -0.5 * alphaT * (Math.exp(-h) - 1);
            }
            case "dpmsolver" -> {
                cx = alphaT / alphaS0;
                c0 = -sigmaT * (Math.exp(h) - 1);
                c1 = heun ? -sigmaT * ((Math.exp(h) - 1) / h - 1) : -0.5 * sigmaT * (Math.exp(h) - 1);
            }
            case "sde-dpmsolver++" -> {
                cx = sigmaT / sigmaS0 * Math.exp(-h);
                c0 = alphaT * (1 - Math.exp(-2 * h));
                c1 = heun ? alphaT * ((1 - Math.exp(-2 * h)) / (-2 * h) + 1) : 0.5 * alphaT * (1 - Math.exp(-2 * h));
                cNoise = sigmaT * Math.sqrt(1 - Math.exp(-2 * h));
            }
            default -> {
                cx = alphaT / alphaS0;
                c0 = -2 * sigmaT * (Math.exp(h) - 1);
                c1 = heun ? -2 * sigmaT * ((Math.exp(h) - 1) / h - 1) : -sigmaT * (Math.exp(h) - 1);
                cNoise = sigmaT * Math.sqrt(Math.exp(2 * h) - 1);
            }
        }
        // cx x + c0 m0 + c1 (m0 - m1) / r0 (+ noise)
        double[] coefficients = {cx, c0 + c1 / r0, -c1 / r0, cNoise};
        float[][] terms = {x, m0, m1, noise == null ? x : noise};
        if (noise == null) {
            coefficients[3] = 0;
        }
        return ScheduleMath.linear(coefficients, terms);
    }

    private float[] thirdOrder(float[] x, float[] noise, int index) {
        double sigmaNext = sigmas[index + 1];
        double alphaT = alphaOf(sigmaNext);
        double sigmaT = sigmaTOf(sigmaNext);
        double alphaS0 = alphaOf(sigmas[index]);
        double sigmaS0 = sigmaTOf(sigmas[index]);
        double lambdaT = lambdaOf(sigmaNext);
        double lambdaS0 = lambdaOf(sigmas[index]);
        double lambdaS1 = lambdaOf(sigmas[index - 1]);
        double lambdaS2 = lambdaOf(sigmas[index - 2]);
        float[] m0 = modelOutputs[2];
        float[] m1 = modelOutputs[1];
        float[] m2 = modelOutputs[0];
        double h = lambdaT - lambdaS0;
        double r0 = (lambdaS0 - lambdaS1) / h;
        double r1 = (lambdaS1 - lambdaS2) / h;
        // D1_0 = (m0 - m1) / r0, D1_1 = (m1 - m2) / r1
        // D1 = D1_0 + r0 / (r0 + r1) (D1_0 - D1_1), D2 = (D1_0 - D1_1) / (r0 + r1)
        double cx;
        double c0;
        double c1;
        double c2;
        double cNoise = 0;
        switch (algorithm) {
            case "dpmsolver++" -> {
                cx = sigmaT / sigmaS0;
                c0 = -alphaT * (Math.exp(-h) - 1);
                c1 = alphaT * ((Math.exp(-h) - 1) / h + 1);
                c2 = -alphaT * ((Math.exp(-h) - 1 + h) / (h * h) - 0.5);
            }
            case "dpmsolver" -> {
                cx = alphaT / alphaS0;
                c0 = -sigmaT * (Math.exp(h) - 1);
                c1 = -sigmaT * ((Math.exp(h) - 1) / h - 1);
                c2 = -sigmaT * ((Math.exp(h) - 1 - h) / (h * h) - 0.5);
            }
            default -> {
                cx = sigmaT / sigmaS0 * Math.exp(-h);
                c0 = alphaT * (1 - Math.exp(-2 * h));
                c1 = alphaT * ((1 - Math.exp(-2 * h)) / (-2 * h) + 1);
                c2 = alphaT * ((1 - Math.exp(-2 * h) - 2 * h) / (4 * h * h) - 0.5);
                cNoise = sigmaT * Math.sqrt(1 - Math.exp(-2 * h));
            }
        }
        // express D1 and D2 in m0, m1, m2
        double a = r0 / (r0 + r1);
        double d10m0 = 1 / r0;
        double d10m1 = -1 / r0;
        double d11m1 = 1 / r1;
        double d11m2 = -1 / r1;
        double d1m0 = d10m0 + a * d10m0;
        double d1m1 = d10m1 + a * (d10m1 - d11m1);
        double d1m2 = -a * d11m2;
        double d2m0 = d10m0 / (r0 + r1);
        double d2m1 = (d10m1 - d11m1) / (r0 + r1);
        double d2m2 = -d11m2 / (r0 + r1);
        double[] coefficients = {cx, c0 + c1 * d1m0 + c2 * d2m0, c1 * d1m1 + c2 * d2m1, c1 * d1m2 + c2 * d2m2,
            noise == null ? 0 : cNoise};
        float[][] terms = {x, m0, m1, m2, noise == null ? x : noise};
        return ScheduleMath.linear(coefficients, terms);
    }

    private static float[] firstHalfOfChannels(float[] data, long[] shape) {
        int batch = (int) shape[0];
        int perBatch = data.length / batch;
        int half = perBatch / 2;
        float[] out = new float[data.length / 2];
        for (int b = 0; b < batch; b++) {
            System.arraycopy(data, b * perBatch, out, b * half, half);
        }
        return out;
    }

    @Override
    public Tensor addNoise(Tensor original, Tensor noise, double timestep) {
        float[] x = ScheduleMath.read(original, "original");
        float[] n = ScheduleMath.read(noise, "noise");
        ScheduleMath.requireSameSize(n, "noise", x, "original");
        double sigma = sigmas[cursor.noiseIndex(prepared(), timestep)];
        return ScheduleMath.tensor(ScheduleMath.combine(alphaOf(sigma), x, sigmaTOf(sigma), n), original.shape());
    }

    private double[] prepared() {
        if (timesteps == null) {
            throw new IllegalStateException(NAME + ": call setTimesteps before stepping");
        }
        return timesteps;
    }

    /** The {@code dpm_multistep} provider: the diffusers class with the config as given. */
    public static final class Provider extends BaseSamplerProvider {
        /** Creates the provider. */
        public Provider() {
            super("dpm_multistep", NAME, "DPM-Solver(++) multistep, as configured", Map.of(), Map.of(),
                    DpmSolverMultistepSampler::new);
        }
    }

    /** The {@code dpmpp_2m} provider: DPM-Solver++ order 2. */
    public static final class Dpmpp2mProvider extends BaseSamplerProvider {
        /** Creates the provider. */
        public Dpmpp2mProvider() {
            super("dpmpp_2m", NAME, "DPM++ 2M", Map.of("algorithm_type", "dpmsolver++", "solver_order", 2,
                    "use_karras_sigmas", false), Map.of(), DpmSolverMultistepSampler::new);
        }
    }

    /** The {@code dpmpp_2m_karras} provider: DPM-Solver++ order 2 with Karras sigmas. */
    public static final class Dpmpp2mKarrasProvider extends BaseSamplerProvider {
        /** Creates the provider. */
        public Dpmpp2mKarrasProvider() {
            super("dpmpp_2m_karras", NAME, "DPM++ 2M Karras", Map.of("algorithm_type", "dpmsolver++",
                    "solver_order", 2, "use_karras_sigmas", true), Map.of(), DpmSolverMultistepSampler::new);
        }
    }

    /** The {@code dpmpp_2m_sde} provider: SDE DPM-Solver++ order 2 (stochastic). */
    public static final class Dpmpp2mSdeProvider extends BaseSamplerProvider {
        /** Creates the provider. */
        public Dpmpp2mSdeProvider() {
            super("dpmpp_2m_sde", NAME, "DPM++ 2M SDE (stochastic)", Map.of("algorithm_type", "sde-dpmsolver++",
                    "solver_order", 2), Map.of(), DpmSolverMultistepSampler::new);
        }
    }
}
