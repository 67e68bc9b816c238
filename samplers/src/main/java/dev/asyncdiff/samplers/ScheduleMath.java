package dev.asyncdiff.samplers;

import dev.asyncdiff.api.Tensor;
import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * The math the samplers share, written from diffusers' published formulas: beta schedules and
 * {@code alphas_cumprod}, timestep spacing, sigma interpolation and inversion, Karras and
 * exponential sigmas, flow-matching shifts, and elementwise operations on latent data.
 *
 * <p>Where diffusers keeps a schedule in float32 torch tensors (betas, {@code alphas_cumprod},
 * sigmas, timesteps) the values here are rounded to float32 at the same points ({@link #f32}), so
 * timesteps and sigmas match diffusers' bit for bit or within one float32 ulp; where diffusers uses
 * float64 numpy arrays the math stays in double. Elementwise updates compute each element in
 * double and store float32.
 */
final class ScheduleMath {
    private ScheduleMath() {
    }

    /** {@code x} rounded to float32 and widened back. */
    static double f32(double x) {
        return (float) x;
    }

    /**
     * The training noise schedule of a DDPM-family model.
     *
     * @param numTrainTimesteps the number of training steps, {@code alphasCumprod.length}
     * @param alphasCumprod the cumulative products of {@code 1 - beta}, float32-rounded
     */
    record Training(int numTrainTimesteps, double[] alphasCumprod) {
        /** {@code sqrt((1 - a) / a)} for every training step, float32 as diffusers computes it. */
        double[] sigmas() {
            double[] out = new double[alphasCumprod.length];
            for (int i = 0; i < out.length; i++) {
                out[i] = sigmaOf(alphasCumprod[i]);
            }
            return out;
        }

        /** The float32 log of {@link #sigmas()}. */
        double[] logSigmas() {
            double[] sigmas = sigmas();
            for (int i = 0; i < sigmas.length; i++) {
                sigmas[i] = f32(Math.log(sigmas[i]));
            }
            return sigmas;
        }

        /** The {@code alphas_cumprod} entry of an integer timestep, checking its range. */
        double alphaCumprod(int timestep) {
            if (timestep < 0 || timestep >= numTrainTimesteps) {
                throw new IllegalArgumentException("timestep " + timestep + " is outside [0, "
                        + (numTrainTimesteps - 1) + "] of the training schedule");
            }
            return alphasCumprod[timestep];
        }
    }

    /** How a sampler treats the {@code rescale_betas_zero_snr} key. */
    enum ZeroSnr {
        /** The sampler has no such key (diffusers ignores it): never rescale. */
        NOT_READ,
        /** Rescale to zero terminal SNR as is (DDIM, DDPM, LCM). */
        PLAIN,
        /**
         * Rescale and pin the last cumulative alpha to 2^-24 so that the last sigma stays finite
         * (the Euler family and the multistep solvers).
         */
        PINNED
    }

    /** The sigma {@code sqrt((1 - a) / a)} of a cumulative alpha, in float32 as diffusers does. */
    static double sigmaOf(double alphaCumprod) {
        return f32(Math.sqrt(f32(f32(1.0 - alphaCumprod) / alphaCumprod)));
    }

    /**
     * Builds the training schedule from the config keys {@code num_train_timesteps}, {@code beta_start},
     * {@code beta_end}, {@code beta_schedule}, {@code trained_betas} and {@code rescale_betas_zero_snr}.
     *
     * @param defaultSchedule the sampler's default {@code beta_schedule}
     * @param defaultStart the sampler's default {@code beta_start}
     * @param defaultEnd the sampler's default {@code beta_end}
     * @param zeroSnr how the sampler treats {@code rescale_betas_zero_snr}
     */
    static Training training(SchedulerConfig config, String defaultSchedule, double defaultStart,
                             double defaultEnd, ZeroSnr zeroSnr) {
        int count = config.getInt("num_train_timesteps", 1000);
        if (count < 1) {
            throw config.outOfRange("num_train_timesteps", ">= 1", count);
        }
        double[] betas;
        double[] trained = config.getDoubleArray("trained_betas");
        if (trained != null) {
            if (trained.length != count) {
                throw config.outOfRange("trained_betas", "a list of num_train_timesteps (" + count + ") numbers",
                        trained.length + " numbers");
            }
            betas = new double[count];
            for (int i = 0; i < count; i++) {
                betas[i] = f32(trained[i]);
            }
            checkBetas(config, "trained_betas", betas);
        } else {
            double start = config.getDouble("beta_start", defaultStart);
            double end = config.getDouble("beta_end", defaultEnd);
            String schedule = config.getChoice("beta_schedule", defaultSchedule,
                    "linear", "scaled_linear", "squaredcos_cap_v2");
            if (!(start >= 0)) {
                throw config.outOfRange("beta_start", ">= 0", start);
            }
            if (!(end >= 0)) {
                throw config.outOfRange("beta_end", ">= 0", end);
            }
            betas = switch (schedule) {
                case "linear" -> torchLinspaceF32(start, end, count);
                case "scaled_linear" -> {
                    double[] b = torchLinspaceF32(Math.sqrt(start), Math.sqrt(end), count);
                    for (int i = 0; i < count; i++) {
                        b[i] = f32(b[i] * b[i]);
                    }
                    yield b;
                }
                default -> squaredCosCapV2(count);
            };
            checkBetas(config, "beta_start/beta_end", betas);
        }
        boolean rescale = zeroSnr != ZeroSnr.NOT_READ && config.getBoolean("rescale_betas_zero_snr", false);
        if (rescale) {
            betas = rescaleZeroTerminalSnr(betas);
        }
        // torch's CPU cumprod accumulates in double and rounds each output to float32
        double[] alphasCumprod = new double[count];
        double product = 1.0;
        for (int i = 0; i < count; i++) {
            product *= f32(1.0 - betas[i]);
            alphasCumprod[i] = f32(product);
        }
        if (rescale && zeroSnr == ZeroSnr.PINNED) {
            alphasCumprod[count - 1] = Math.pow(2, -24);
        }
        return new Training(count, alphasCumprod);
    }

    private static void checkBetas(SchedulerConfig config, String key, double[] betas) {
        for (int i = 0; i < betas.length; i++) {
            if (!(betas[i] >= 0 && betas[i] < 1)) {
                throw config.outOfRange(key, "values giving every beta in [0, 1)",
                        "beta[" + i + "] = " + betas[i]);
            }
        }
    }

    /** The "squaredcos_cap_v2" (Nichol and Dhariwal cosine) betas, float32. */
    static double[] squaredCosCapV2(int count) {
        double[] betas = new double[count];
        for (int i = 0; i < count; i++) {
            double t1 = (double) i / count;
            double t2 = (double) (i + 1) / count;
            betas[i] = f32(Math.min(1 - cosineAlphaBar(t2) / cosineAlphaBar(t1), 0.999));
        }
        return betas;
    }

    private static double cosineAlphaBar(double t) {
        double c = Math.cos((t + 0.008) / 1.008 * Math.PI / 2);
        return c * c;
    }

    /** Rescales betas to zero terminal SNR (Lin et al. 2023, algorithm 1), in float32 steps. */
    static double[] rescaleZeroTerminalSnr(double[] betas) {
        int n = betas.length;
        double[] sqrtBar = new double[n];
        double product = 1.0;
        for (int i = 0; i < n; i++) {
            product *= f32(1.0 - betas[i]);
            sqrtBar[i] = f32(Math.sqrt(f32(product)));
        }
        double first = sqrtBar[0];
        double last = sqrtBar[n - 1];
        double scale = f32(first / f32(first - last));
        double[] bar = new double[n];
        for (int i = 0; i < n; i++) {
            double shifted = f32(f32(sqrtBar[i] - last) * scale);
            bar[i] = f32(shifted * shifted);
        }
        double[] out = new double[n];
        out[0] = f32(1.0 - bar[0]);
        for (int i = 1; i < n; i++) {
            out[i] = f32(1.0 - f32(bar[i] / bar[i - 1]));
        }
        return out;
    }

    /**
     * {@code torch.linspace(start, end, num, dtype=float32)} as torch's CPU kernel computes it: a
     * float32 step, the first half counted up from start and the second half down from end.
     */
    static double[] torchLinspaceF32(double start, double end, int num) {
        float from = (float) start;
        float to = (float) end;
        double[] out = new double[num];
        if (num == 1) {
            out[0] = from;
            return out;
        }
        float step = (to - from) / (float) (num - 1);
        int halfway = num / 2;
        for (int i = 0; i < num; i++) {
            out[i] = i < halfway ? from + step * (float) i : to - step * (float) (num - i - 1);
        }
        return out;
    }

    /** numpy's {@code linspace(start, stop, num)}: {@code start + i * step}, the last exactly stop. */
    static double[] linspace(double start, double stop, int num) {
        double[] out = new double[num];
        if (num == 1) {
            out[0] = start;
            return out;
        }
        double step = (stop - start) / (num - 1);
        for (int i = 0; i < num; i++) {
            out[i] = i * step + start;
        }
        out[num - 1] = stop;
        return out;
    }

    /** numpy's {@code arange(start, stop, step)} for a negative step. */
    static double[] arangeDown(double start, double stop, double step) {
        int count = (int) Math.ceil((stop - start) / step);
        double[] out = new double[Math.max(count, 0)];
        for (int i = 0; i < out.length; i++) {
            out[i] = start + i * step;
        }
        return out;
    }

    /**
     * The descending timesteps diffusers' {@code timestep_spacing} gives for {@code steps} steps,
     * before any float32 cast: "linspace" rounds an even spread of [0, T-1], "leading" takes
     * multiples of {@code T / steps} plus {@code stepsOffset}, "trailing" counts down from T in
     * steps of {@code T / steps} and subtracts 1; "linspace" is rounded only when {@code round}.
     */
    static double[] spacedTimesteps(String spacing, int numTrain, int steps, int stepsOffset, boolean round) {
        double[] out;
        switch (spacing) {
            case "linspace" -> {
                out = reverse(linspace(0, numTrain - 1, steps));
                if (round) {
                    for (int i = 0; i < out.length; i++) {
                        out[i] = Math.rint(out[i]);
                    }
                }
            }
            case "leading" -> {
                int ratio = numTrain / steps;
                out = new double[steps];
                for (int i = 0; i < steps; i++) {
                    out[i] = (double) (steps - 1 - i) * ratio + stepsOffset;
                }
            }
            case "trailing" -> {
                out = arangeDown(numTrain, 0, -((double) numTrain / steps));
                for (int i = 0; i < out.length; i++) {
                    out[i] = Math.rint(out[i]) - 1;
                }
            }
            default -> throw new IllegalArgumentException("unknown timestep_spacing " + spacing);
        }
        return out;
    }

    /**
     * The spacing of the DPM-Solver and UniPC multistep samplers, which space {@code steps + 1}
     * points and drop the last: "linspace" and "leading" over [0, lastTimestep), "trailing" from
     * {@code lastTimestep} down in steps of {@code numTrain / steps}; integer timesteps.
     */
    static double[] multistepTimesteps(String spacing, int numTrain, int lastTimestep, int steps, int stepsOffset) {
        double[] out = new double[steps];
        switch (spacing) {
            case "linspace" -> {
                double[] points = linspace(0, lastTimestep - 1, steps + 1);
                for (int i = 0; i < steps; i++) {
                    out[i] = Math.rint(points[steps - i]);
                }
            }
            case "leading" -> {
                int ratio = lastTimestep / (steps + 1);
                for (int i = 0; i < steps; i++) {
                    out[i] = (double) (steps - i) * ratio + stepsOffset;
                }
            }
            case "trailing" -> {
                double[] points = arangeDown(lastTimestep, 0, -((double) numTrain / steps));
                out = new double[points.length];
                for (int i = 0; i < points.length; i++) {
                    out[i] = Math.rint(points[i]) - 1;
                }
            }
            default -> throw new IllegalArgumentException("unknown timestep_spacing " + spacing);
        }
        return out;
    }

    /** numpy's {@code interp(x, arange(len(fp)), fp)} for one point. */
    static double interp(double x, double[] fp) {
        if (x <= 0) {
            return fp[0];
        }
        int last = fp.length - 1;
        if (x >= last) {
            return fp[last];
        }
        int j = (int) Math.floor(x);
        if (x == j) {
            return fp[j];
        }
        double slope = fp[j + 1] - fp[j];
        return slope * (x - j) + fp[j];
    }

    /** diffusers' {@code _sigma_to_t}: the fractional training timestep of {@code sigma}. */
    static double sigmaToT(double sigma, double[] logSigmas) {
        double logSigma = Math.log(Math.max(sigma, 1e-10));
        int low = 0;
        for (int i = 0; i < logSigmas.length; i++) {
            if (logSigma - logSigmas[i] >= 0) {
                low = i;
            }
        }
        low = Math.min(low, logSigmas.length - 2);
        int high = low + 1;
        double lowLog = logSigmas[low];
        double highLog = logSigmas[high];
        double w = (lowLog - logSigma) / (lowLog - highLog);
        w = Math.max(0, Math.min(1, w));
        return (1 - w) * low + w * high;
    }

    /** Karras et al. (2022) sigmas: {@code steps} values from sigmaMax down to sigmaMin, rho 7. */
    static double[] karrasSigmas(double sigmaMin, double sigmaMax, int steps) {
        double rho = 7.0;
        double[] ramp = linspace(0, 1, steps);
        double minInv = Math.pow(sigmaMin, 1 / rho);
        double maxInv = Math.pow(sigmaMax, 1 / rho);
        double[] out = new double[steps];
        for (int i = 0; i < steps; i++) {
            out[i] = Math.pow(maxInv + ramp[i] * (minInv - maxInv), rho);
        }
        return out;
    }

    /** Sigmas evenly spaced in log from sigmaMax down to sigmaMin. */
    static double[] exponentialSigmas(double sigmaMin, double sigmaMax, int steps) {
        double[] logs = linspace(Math.log(sigmaMax), Math.log(sigmaMin), steps);
        for (int i = 0; i < steps; i++) {
            logs[i] = Math.exp(logs[i]);
        }
        return logs;
    }

    /** The flow-matching shift {@code s * x / (1 + (s - 1) * x)}. */
    static double shift(double shift, double sigma) {
        return shift * sigma / (1 + (shift - 1) * sigma);
    }

    /** The exponential time shift of resolution-dependent flow matching: {@code e^mu / (e^mu + (1/t - 1))}. */
    static double timeShiftExponential(double mu, double t) {
        return Math.exp(mu) / (Math.exp(mu) + (1 / t - 1));
    }

    /** The linear time shift: {@code mu / (mu + (1/t - 1))}. */
    static double timeShiftLinear(double mu, double t) {
        return mu / (mu + (1 / t - 1));
    }

    /** A reversed copy. */
    static double[] reverse(double[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[values.length - 1 - i];
        }
        return out;
    }

    /** {@code values} with {@code last} appended. */
    static double[] append(double[] values, double last) {
        double[] out = Arrays.copyOf(values, values.length + 1);
        out[values.length] = last;
        return out;
    }

    /** Every value rounded to float32. */
    static double[] f32(double[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = f32(values[i]);
        }
        return out;
    }

    /**
     * diffusers' {@code index_for_timestep}: the position of {@code timestep} in {@code schedule},
     * the second one when it occurs more than once (so image-to-image starting mid-schedule does
     * not skip a sigma); {@code -1} when it does not occur. One deviation: a timestep equal to the
     * schedule's first maps to 0, so a generation that starts at the beginning takes every step even
     * when clipped Karras sigmas repeat the first timestep (diffusers would skip one and run past
     * the end).
     */
    static int indexOf(double[] schedule, double timestep) {
        int first = -1;
        for (int i = 0; i < schedule.length; i++) {
            if (sameTimestep(schedule[i], timestep)) {
                if (first == 0) {
                    return 0;
                }
                if (first >= 0) {
                    return i;
                }
                first = i;
            }
        }
        return first;
    }

    private static boolean sameTimestep(double a, double b) {
        return a == b || (float) a == (float) b;
    }

    /** The message for a timestep that is not in the prepared schedule. */
    static IllegalArgumentException unknownTimestep(String sampler, double timestep, double[] schedule) {
        return new IllegalArgumentException(sampler + ": timestep " + timestep
                + " is not one of the prepared timesteps " + Arrays.toString(schedule));
    }

    /** {@code timestep} as an integer training step, checking that it is integral. */
    static int discrete(String sampler, double timestep) {
        if (timestep != Math.rint(timestep) || Double.isInfinite(timestep)) {
            throw new IllegalArgumentException(sampler + " steps integer timesteps, got " + timestep);
        }
        return (int) timestep;
    }

    // ---- latent data -------------------------------------------------------------------------

    /**
     * The elements of a floating-point tensor as float32 (FP16 and BF16 are widened).
     *
     * @throws IllegalArgumentException naming {@code what} when it is null, closed or not floating point
     */
    /**
     * diffusers' {@code init_noise_sigma} of the sigma-based (Karras-style) samplers: the largest sigma
     * for {@code linspace} and {@code trailing} spacing, else {@code sqrt(max² + 1)}, in float32.
     */
    static double initNoiseSigma(double[] sigmas, String spacing) {
        double max = 0;
        for (double s : sigmas) {
            max = Math.max(max, s);
        }
        return "linspace".equals(spacing) || "trailing".equals(spacing) ? max : f32(Math.sqrt(max * max + 1));
    }

    /** The signal scale α_t of a sigma: {@code 1 − σ} for flow-matching sigmas, else {@code 1/sqrt(σ² + 1)}. */
    static double alphaOfSigma(double sigma, boolean flow) {
        return flow ? 1 - sigma : 1 / Math.sqrt(sigma * sigma + 1);
    }

    /** The noise scale σ_t of a sigma: {@code σ} for flow-matching sigmas, else {@code σ/sqrt(σ² + 1)}. */
    static double noiseOfSigma(double sigma, boolean flow) {
        return flow ? sigma : sigma / Math.sqrt(sigma * sigma + 1);
    }

    /**
     * The predicted clean sample x0 from a model output of {@code predictionType} (epsilon, sample,
     * v_prediction; otherwise flow velocity) at signal scale α_t, noise scale σ_t and sigma σ.
     */
    static float[] x0FromOutput(String predictionType, float[] out, float[] x, double alphaT, double sigmaT,
                                double sigma) {
        return switch (predictionType) {
            case "epsilon" -> combine(1 / alphaT, x, -sigmaT / alphaT, out);
            case "sample" -> out;
            case "v_prediction" -> combine(alphaT, x, -sigmaT, out);
            default -> combine(1, x, -sigma, out);
        };
    }

    /** The predicted noise ε from a model output of {@code predictionType} at scales α_t and σ_t. */
    static float[] epsFromOutput(String predictionType, float[] out, float[] x, double alphaT, double sigmaT) {
        return switch (predictionType) {
            case "epsilon" -> out;
            case "sample" -> combine(1 / sigmaT, x, -alphaT / sigmaT, out);
            default -> combine(alphaT, out, sigmaT, x);
        };
    }

    /** The half log-SNR λ_t = log α_t − log σ_t of a sigma. */
    static double lambdaOfSigma(double sigma, boolean flow) {
        return Math.log(alphaOfSigma(sigma, flow)) - Math.log(noiseOfSigma(sigma, flow));
    }

    /** {@code original + sigma · noise}: image-to-image noising of the sigma-based samplers. */
    static Tensor addNoiseBySigma(Tensor original, Tensor noise, double sigma) {
        float[] x = read(original, "original");
        float[] n = read(noise, "noise");
        requireSameSize(n, "noise", x, "original");
        return tensor(combine(1, x, sigma, n), original.shape());
    }

    /** {@code sample / sqrt(sigma² + 1)}: the model input of the sigma-based samplers. */
    static Tensor scaleBySigma(Tensor sample, double sigma) {
        float[] x = read(sample, "sample");
        return tensor(scale(1 / Math.sqrt(sigma * sigma + 1), x), sample.shape());
    }

    static float[] read(Tensor tensor, String what) {
        if (tensor == null) {
            throw new IllegalArgumentException(what + " must not be null");
        }
        if (tensor.isClosed()) {
            throw new IllegalArgumentException(what + " is closed");
        }
        if (!tensor.dtype().isFloatingPoint()) {
            throw new IllegalArgumentException(what + " must be a floating-point tensor, was " + tensor.dtype());
        }
        return tensor.toFloatArray();
    }

    /** Checks that two latents have the same element count. */
    static void requireSameSize(float[] a, String aName, float[] b, String bName) {
        if (a.length != b.length) {
            throw new IllegalArgumentException(aName + " has " + a.length + " elements but " + bName + " has "
                    + b.length + "; they must have the same shape");
        }
    }

    /** A new FP32 tensor (caller closes) with {@code shape} holding {@code data}. */
    static Tensor tensor(float[] data, long[] shape) {
        return Tensor.ofFloats(data, shape);
    }

    /** {@code a * x + b * y}, elementwise. */
    static float[] combine(double a, float[] x, double b, float[] y) {
        float[] out = new float[x.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) (a * x[i] + b * y[i]);
        }
        return out;
    }

    /** {@code a * x + b * y + c * z}, elementwise. */
    static float[] combine(double a, float[] x, double b, float[] y, double c, float[] z) {
        float[] out = new float[x.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) (a * x[i] + b * y[i] + c * z[i]);
        }
        return out;
    }

    /** {@code a * x}, elementwise. */
    static float[] scale(double a, float[] x) {
        float[] out = new float[x.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) (a * x[i]);
        }
        return out;
    }

    /** {@code sum_k coefficients[k] * arrays[k]}, elementwise. */
    static float[] linear(double[] coefficients, float[][] arrays) {
        int n = arrays[0].length;
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            double sum = 0;
            for (int k = 0; k < coefficients.length; k++) {
                sum += coefficients[k] * arrays[k][i];
            }
            out[i] = (float) sum;
        }
        return out;
    }

    /** A copy with every element clamped to [-range, range]. */
    static float[] clamp(float[] x, double range) {
        float[] out = new float[x.length];
        float r = (float) range;
        for (int i = 0; i < x.length; i++) {
            out[i] = Math.max(-r, Math.min(r, x[i]));
        }
        return out;
    }

    /** Standard Gaussian noise of {@code count} elements drawn from {@code rng}. */
    static float[] gaussian(RandomGenerator rng, int count, String sampler) {
        if (rng == null) {
            throw new IllegalArgumentException(sampler + " is stochastic and needs a random generator, got null");
        }
        float[] out = new float[count];
        for (int i = 0; i < count; i++) {
            out[i] = (float) rng.nextGaussian();
        }
        return out;
    }

    /**
     * Dynamic thresholding (Saharia et al. 2022) as diffusers' {@code _threshold_sample}: per batch
     * row, s = quantile(|x|, ratio) clamped to at least 1 and at most maxValue, then x = clamp(x, -s, s) / s. The
     * quantile interpolates linearly between order statistics, as {@code torch.quantile}.
     */
    static float[] threshold(float[] x, long[] shape, double ratio, double maxValue) {
        int batch = shape.length == 0 ? 1 : (int) shape[0];
        if (batch <= 0 || x.length % batch != 0) {
            throw new IllegalArgumentException("cannot threshold a sample of shape " + Arrays.toString(shape));
        }
        int row = x.length / batch;
        float[] out = new float[x.length];
        double[] sorted = new double[row];
        for (int b = 0; b < batch; b++) {
            int base = b * row;
            for (int i = 0; i < row; i++) {
                sorted[i] = Math.abs(x[base + i]);
            }
            Arrays.sort(sorted);
            double position = ratio * (row - 1);
            int lower = (int) Math.floor(position);
            int upper = Math.min(lower + 1, row - 1);
            double s = sorted[lower] + (position - lower) * (sorted[upper] - sorted[lower]);
            // torch.clamp(s, min=1, max=maxValue) = min(max(s, 1), maxValue), so maxValue wins below 1
            s = Math.min(Math.max(s, 1.0), maxValue);
            float sf = (float) s;
            for (int i = 0; i < row; i++) {
                float v = Math.max(-sf, Math.min(sf, x[base + i]));
                out[base + i] = v / sf;
            }
        }
        return out;
    }
}
