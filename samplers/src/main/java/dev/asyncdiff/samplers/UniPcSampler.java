package dev.asyncdiff.samplers;

import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.api.Tensor;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * UniPC (Zhao et al. 2023), diffusers' {@code UniPCMultistepScheduler}: a multistep predictor
 * (UniP) followed, at the next step, by a corrector (UniC) that reuses that step's model output, with
 * the B(h) variants {@code bh1} and {@code bh2}. Deterministic; not thread-safe.
 */
public final class UniPcSampler implements NoiseScheduler {
    /** The config keys this sampler reads. */
    public static final Set<String> KEYS = Set.of("num_train_timesteps", "beta_start", "beta_end", "beta_schedule",
            "trained_betas", "rescale_betas_zero_snr", "solver_order", "prediction_type", "thresholding",
            "dynamic_thresholding_ratio", "sample_max_value", "predict_x0", "solver_type", "lower_order_final",
            "disable_corrector", "use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas", "use_flow_sigmas",
            "flow_shift", "timestep_spacing", "steps_offset", "final_sigmas_type", "sigma_min", "sigma_max");
    private static final String NAME = "UniPCMultistepScheduler";

    private final ScheduleMath.Training training;
    private final int solverOrder;
    private final String predictionType;
    private final boolean thresholding;
    private final double thresholdingRatio;
    private final double sampleMaxValue;
    private final boolean predictX0;
    private final boolean bh1;
    private final boolean lowerOrderFinal;
    private final Set<Integer> disableCorrector;
    private final boolean karras;
    private final boolean exponential;
    private final boolean flowSigmas;
    private final double flowShift;
    private final String spacing;
    private final int stepsOffset;
    private final boolean finalSigmaZero;
    private final Double sigmaMin;
    private final Double sigmaMax;
    private final StepCursor cursor = new StepCursor(NAME, true);
    private double[] sigmas;
    private double[] timesteps;
    private float[][] modelOutputs;
    private float[] lastSample;
    private int lowerOrderNums;
    private int thisOrder;

    /** Builds the sampler from a scheduler config (see {@link #KEYS}). */
    public UniPcSampler(SchedulerConfig config) {
        config.logUnusedKeys(NAME, KEYS);
        training = ScheduleMath.training(config, "linear", 0.0001, 0.02, ScheduleMath.ZeroSnr.PINNED);
        solverOrder = config.getInt("solver_order", 2);
        if (solverOrder < 1 || solverOrder > 4) {
            throw config.outOfRange("solver_order", "in [1, 4]", solverOrder);
        }
        predictionType = config.getChoice("prediction_type", "epsilon", "epsilon", "sample", "v_prediction",
                "flow_prediction");
        thresholding = config.getBoolean("thresholding", false);
        thresholdingRatio = config.getDouble("dynamic_thresholding_ratio", 0.995);
        sampleMaxValue = config.getDouble("sample_max_value", 1.0);
        if (!(thresholdingRatio >= 0 && thresholdingRatio <= 1)) {
            throw config.outOfRange("dynamic_thresholding_ratio", "in [0, 1]", thresholdingRatio);
        }
        if (!(sampleMaxValue > 0)) {
            throw config.outOfRange("sample_max_value", "> 0", sampleMaxValue);
        }
        predictX0 = config.getBoolean("predict_x0", true);
        if (!predictX0 && "flow_prediction".equals(predictionType)) {
            throw config.outOfRange("prediction_type", "epsilon, sample or v_prediction when predict_x0 is false",
                    predictionType);
        }
        bh1 = "bh1".equals(config.getChoice("solver_type", "bh2", "bh1", "bh2", "midpoint", "heun", "logrho"));
        lowerOrderFinal = config.getBoolean("lower_order_final", true);
        disableCorrector = new HashSet<>();
        for (int step : config.getIntArray("disable_corrector")) {
            disableCorrector.add(step);
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
        flowSigmas = config.getBoolean("use_flow_sigmas", false);
        flowShift = config.getDouble("flow_shift", 1.0);
        if (!(flowShift > 0)) {
            throw config.outOfRange("flow_shift", "> 0", flowShift);
        }
        spacing = config.getChoice("timestep_spacing", "linspace", "linspace", "leading", "trailing");
        stepsOffset = config.getInt("steps_offset", 0);
        if (stepsOffset < 0) {
            throw config.outOfRange("steps_offset", ">= 0", stepsOffset);
        }
        finalSigmaZero = "zero".equals(config.getChoice("final_sigmas_type", "zero", "zero", "sigma_min"));
        sigmaMin = config.getOptionalDouble("sigma_min");
        sigmaMax = config.getOptionalDouble("sigma_max");
        if (sigmaMin != null && !(sigmaMin > 0)) {
            throw config.outOfRange("sigma_min", "> 0", sigmaMin);
        }
        if (sigmaMax != null && !(sigmaMax > (sigmaMin == null ? 0 : sigmaMin))) {
            throw config.outOfRange("sigma_max", "> sigma_min", sigmaMax);
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
        double[] ts = ScheduleMath.multistepTimesteps(spacing, numTrain, numTrain, numInferenceSteps, stepsOffset);
        double[] s;
        double last;
        if (karras || exponential) {
            double[] logSigmas = training.logSigmas();
            double low = sigmaMin != null ? sigmaMin : trainSigmas[0];
            double high = sigmaMax != null ? sigmaMax : trainSigmas[numTrain - 1];
            s = karras ? ScheduleMath.karrasSigmas(low, high, numInferenceSteps)
                    : ScheduleMath.exponentialSigmas(low, high, numInferenceSteps);
            ts = new double[s.length];
            for (int i = 0; i < s.length; i++) {
                if (flowSigmas && karras) {
                    s[i] = s[i] / (s[i] + 1);
                    ts[i] = (long) (s[i] * numTrain);
                } else {
                    double t = ScheduleMath.sigmaToT(s[i], logSigmas);
                    ts[i] = karras ? Math.rint(t) : (long) t;
                }
            }
            last = s[s.length - 1];
        } else if (flowSigmas) {
            double[] points = ScheduleMath.linspace(1, 1.0 / numTrain, numInferenceSteps + 1);
            s = new double[numInferenceSteps];
            ts = new double[numInferenceSteps];
            for (int i = 0; i < numInferenceSteps; i++) {
                s[i] = ScheduleMath.shift(flowShift, points[i]);
            }
            if (Math.abs(s[0] - 1) < 1e-6) {
                s[0] -= 1e-6;
            }
            for (int i = 0; i < numInferenceSteps; i++) {
                ts[i] = (long) (s[i] * numTrain);
            }
            last = s[s.length - 1];
        } else {
            s = new double[ts.length];
            for (int i = 0; i < ts.length; i++) {
                s[i] = ScheduleMath.interp(ts[i], trainSigmas);
            }
            last = trainSigmas[0];
        }
        sigmas = ScheduleMath.f32(ScheduleMath.append(s, finalSigmaZero ? 0.0 : last));
        timesteps = ts;
        modelOutputs = new float[solverOrder][];
        lastSample = null;
        lowerOrderNums = 0;
        thisOrder = 0;
        cursor.reset();
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

    private float[] convert(float[] out, float[] x, long[] shape, int index) {
        double sigma = sigmas[index];
        double alphaT = alphaOf(sigma);
        double sigmaT = sigmaTOf(sigma);
        if (predictX0) {
            float[] x0 = ScheduleMath.x0FromOutput(predictionType, out, x, alphaT, sigmaT, sigma);
            return thresholding ? ScheduleMath.threshold(x0, shape, thresholdingRatio, sampleMaxValue) : x0;
        }
        return ScheduleMath.epsFromOutput(predictionType, out, x, alphaT, sigmaT);
    }

    @Override
    public Tensor step(Tensor modelOutput, double timestep, Tensor sample, RandomGenerator rng) {
        float[] x = ScheduleMath.read(sample, "sample");
        float[] out = ScheduleMath.read(modelOutput, "modelOutput");
        ScheduleMath.requireSameSize(out, "modelOutput", x, "sample");
        double[] ts = prepared();
        int index = cursor.current(ts, timestep);
        boolean useCorrector = index > 0 && !disableCorrector.contains(index - 1) && lastSample != null;
        float[] converted = convert(out, x, sample.shape(), index);
        if (useCorrector) {
            x = corrector(converted, lastSample, x, thisOrder, index);
        }
        System.arraycopy(modelOutputs, 1, modelOutputs, 0, solverOrder - 1);
        modelOutputs[solverOrder - 1] = converted;
        int order = lowerOrderFinal ? Math.min(solverOrder, ts.length - index) : solverOrder;
        thisOrder = Math.min(order, lowerOrderNums + 1);
        lastSample = x;
        float[] prev = predictor(x, thisOrder, index);
        if (lowerOrderNums < solverOrder) {
            lowerOrderNums++;
        }
        cursor.advance();
        return ScheduleMath.tensor(prev, sample.shape());
    }

    /** The B(h) quantities of order {@code order}: {hh, h_phi_1, B_h} and the right-hand side b. */
    private double[][] phi(double h, int order) {
        double hh = predictX0 ? -h : h;
        double hPhi1 = Math.expm1(hh);
        double hPhiK = hPhi1 / hh - 1;
        double factorial = 1;
        double bH = bh1 ? hh : Math.expm1(hh);
        double[] b = new double[order];
        for (int i = 1; i <= order; i++) {
            b[i - 1] = hPhiK * factorial / bH;
            factorial *= i + 1;
            hPhiK = hPhiK / hh - 1 / factorial;
        }
        return new double[][] {{hh, hPhi1, bH}, b};
    }

    /** UniP: the predictor from step {@code index} to {@code index + 1}. */
    private float[] predictor(float[] x, int order, int index) {
        double sigmaNext = sigmas[index + 1];
        double sigmaNow = sigmas[index];
        double alphaT = alphaOf(sigmaNext);
        double sigmaT = sigmaTOf(sigmaNext);
        double alphaS0 = alphaOf(sigmaNow);
        double sigmaS0 = sigmaTOf(sigmaNow);
        double lambdaS0 = lambdaOf(sigmaNow);
        double h = lambdaOf(sigmaNext) - lambdaS0;
        float[] m0 = modelOutputs[solverOrder - 1];
        double[] rks = new double[order];
        float[][] mis = new float[order - 1][];
        for (int i = 1; i < order; i++) {
            rks[i - 1] = (lambdaOf(sigmas[index - i]) - lambdaS0) / h;
            mis[i - 1] = modelOutputs[solverOrder - 1 - i];
        }
        rks[order - 1] = 1;
        double[][] phi = phi(h, order);
        double hPhi1 = phi[0][1];
        double bH = phi[0][2];
        double[] rhos = new double[0];
        if (order == 2) {
            rhos = new double[] {0.5};
        } else if (order > 2) {
            rhos = solve(vandermonde(rks, order - 1), Arrays.copyOf(phi[1], order - 1));
        }
        double scale = predictX0 ? alphaT : sigmaT;
        double cx = predictX0 ? sigmaT / sigmaS0 : alphaT / alphaS0;
        // x_t = cx x - scale h_phi_1 m0 - scale B_h sum_k rho_k (m_k - m0) / r_k
        double[] coefficients = new double[order + 1];
        float[][] terms = new float[order + 1][];
        coefficients[0] = cx;
        terms[0] = x;
        double m0Coefficient = -scale * hPhi1;
        for (int k = 0; k < order - 1; k++) {
            double c = -scale * bH * rhos[k] / rks[k];
            coefficients[k + 2] = c;
            terms[k + 2] = mis[k];
            m0Coefficient -= c;
        }
        coefficients[1] = m0Coefficient;
        terms[1] = m0;
        return ScheduleMath.linear(coefficients, terms);
    }

    /** UniC: corrects this step's sample using this step's (converted) model output. */
    private float[] corrector(float[] modelT, float[] last, float[] current, int order, int index) {
        double sigmaNow = sigmas[index];
        double sigmaPrev = sigmas[index - 1];
        double alphaT = alphaOf(sigmaNow);
        double sigmaT = sigmaTOf(sigmaNow);
        double alphaS0 = alphaOf(sigmaPrev);
        double sigmaS0 = sigmaTOf(sigmaPrev);
        double lambdaS0 = lambdaOf(sigmaPrev);
        double h = lambdaOf(sigmaNow) - lambdaS0;
        float[] m0 = modelOutputs[solverOrder - 1];
        double[] rks = new double[order];
        float[][] mis = new float[order - 1][];
        for (int i = 1; i < order; i++) {
            rks[i - 1] = (lambdaOf(sigmas[index - (i + 1)]) - lambdaS0) / h;
            mis[i - 1] = modelOutputs[solverOrder - 1 - i];
        }
        rks[order - 1] = 1;
        double[][] phi = phi(h, order);
        double hPhi1 = phi[0][1];
        double bH = phi[0][2];
        double[] rhos = order == 1 ? new double[] {0.5} : solve(vandermonde(rks, order), phi[1]);
        double scale = predictX0 ? alphaT : sigmaT;
        double cx = predictX0 ? sigmaT / sigmaS0 : alphaT / alphaS0;
        // x_t = cx x - scale h_phi_1 m0 - scale B_h (sum_{k<K-1} rho_k (m_k - m0) / r_k + rho_last (model_t - m0))
        double rhoLast = rhos[rhos.length - 1];
        double[] coefficients = new double[order + 2];
        float[][] terms = new float[order + 2][];
        coefficients[0] = cx;
        terms[0] = last;
        double m0Coefficient = -scale * hPhi1 + scale * bH * rhoLast;
        coefficients[2] = -scale * bH * rhoLast;
        terms[2] = modelT;
        for (int k = 0; k < order - 1; k++) {
            double c = -scale * bH * rhos[k] / rks[k];
            coefficients[k + 3] = c;
            terms[k + 3] = mis[k];
            m0Coefficient -= c;
        }
        coefficients[1] = m0Coefficient;
        terms[1] = m0;
        return ScheduleMath.linear(coefficients, terms);
    }

    /** R[i][j] = r_j^i for i, j below {@code size}. */
    private static double[][] vandermonde(double[] rks, int size) {
        double[][] r = new double[size][size];
        for (int i = 0; i < size; i++) {
            for (int j = 0; j < size; j++) {
                r[i][j] = Math.pow(rks[j], i);
            }
        }
        return r;
    }

    /** Solves {@code a x = b} by Gaussian elimination with partial pivoting. */
    static double[] solve(double[][] a, double[] b) {
        int n = b.length;
        double[][] m = new double[n][];
        double[] y = b.clone();
        for (int i = 0; i < n; i++) {
            m[i] = a[i].clone();
        }
        for (int col = 0; col < n; col++) {
            int pivot = col;
            for (int row = col + 1; row < n; row++) {
                if (Math.abs(m[row][col]) > Math.abs(m[pivot][col])) {
                    pivot = row;
                }
            }
            double[] swap = m[col];
            m[col] = m[pivot];
            m[pivot] = swap;
            double t = y[col];
            y[col] = y[pivot];
            y[pivot] = t;
            for (int row = col + 1; row < n; row++) {
                double factor = m[row][col] / m[col][col];
                for (int k = col; k < n; k++) {
                    m[row][k] -= factor * m[col][k];
                }
                y[row] -= factor * y[col];
            }
        }
        double[] x = new double[n];
        for (int row = n - 1; row >= 0; row--) {
            double sum = y[row];
            for (int k = row + 1; k < n; k++) {
                sum -= m[row][k] * x[k];
            }
            x[row] = sum / m[row][row];
        }
        return x;
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

    /** The {@code unipc} provider. */
    public static final class Provider extends BaseSamplerProvider {
        /** Creates the provider. */
        public Provider() {
            super("unipc", NAME, "UniPC multistep predictor-corrector", Map.of(), Map.of(), UniPcSampler::new);
        }
    }
}
