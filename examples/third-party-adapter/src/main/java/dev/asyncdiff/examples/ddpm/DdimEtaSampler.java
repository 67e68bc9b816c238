package dev.asyncdiff.examples.ddpm;

import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.api.Tensor;
import java.util.random.RandomGenerator;

/**
 * DDIM (Song et al. 2020) with stochasticity η, as diffusers' {@code DDIMScheduler.step(..., eta)}
 * computes it for an epsilon-predicting model. With ᾱ<sub>t</sub> the cumulative alpha of the
 * current timestep and ᾱ<sub>prev</sub> that of the timestep {@code T / steps} below it (or 1 with
 * {@code set_alpha_to_one}, else ᾱ<sub>0</sub>, past the start):
 *
 * <pre>
 * x̂0      = (x − sqrt(1 − ᾱ_t)·ε) / sqrt(ᾱ_t)                    (clipped to ±clip_sample_range with clip_sample)
 * σ_t     = η · sqrt((1 − ᾱ_prev) / (1 − ᾱ_t)) · sqrt(1 − ᾱ_t / ᾱ_prev)
 * x_prev  = sqrt(ᾱ_prev)·x̂0 + sqrt(1 − ᾱ_prev − σ_t²)·ε + σ_t·z,   z ~ N(0, 1)
 * </pre>
 *
 * <p>η 0 is plain deterministic DDIM; η 1 has DDPM's posterior variance. The noise z is drawn element by
 * element, in order, with {@link RandomGenerator#nextGaussian()} of the step's generator. Timesteps use
 * diffusers' {@code leading} spacing: {@code (steps − 1 − i)·(T / steps) + steps_offset}.
 *
 * <p>Stateful (the prepared timesteps) and not thread-safe: one generation at a time. Tensors passed in
 * are only read; returned tensors are new FP32 tensors the caller closes.
 */
public final class DdimEtaSampler implements NoiseScheduler {
    private static final String NAME = DdimEtaSamplerProvider.NAME;

    private final TrainingSchedule training;
    private final double eta;
    private final double finalAlphaCumprod;
    private final boolean clipSample;
    private final float clipSampleRange;
    private final int stepsOffset;
    private int numInferenceSteps;
    private double[] timesteps;

    private DdimEtaSampler(TrainingSchedule training, double eta, boolean setAlphaToOne, boolean clipSample,
                           double clipSampleRange, int stepsOffset) {
        this.training = training;
        this.eta = eta;
        this.finalAlphaCumprod = setAlphaToOne ? 1.0 : training.alphaCumprod(0);
        this.clipSample = clipSample;
        this.clipSampleRange = (float) clipSampleRange;
        this.stepsOffset = stepsOffset;
    }

    /**
     * A sampler from the keys of a diffusers {@code scheduler_config.json}: the training schedule,
     * {@code set_alpha_to_one} (default true), {@code clip_sample} (true), {@code clip_sample_range} (1.0),
     * {@code steps_offset} (0) and {@code eta} (1.0). Other keys are ignored, except values this sampler
     * cannot honour: a {@code prediction_type} other than {@code epsilon}, a {@code timestep_spacing} other
     * than {@code leading}, and {@code thresholding} or {@code rescale_betas_zero_snr} set to true.
     *
     * @throws IllegalArgumentException naming the key when a value is out of range or not supported
     */
    public static DdimEtaSampler fromConfig(String schedulerConfigJson) {
        SchedulerKeys keys = SchedulerKeys.parse(NAME, schedulerConfigJson);
        keys.getChoice("prediction_type", "epsilon", "epsilon");
        keys.getChoice("timestep_spacing", "leading", "leading");
        if (keys.getBoolean("thresholding", false)) {
            throw keys.outOfRange("thresholding", "false (dynamic thresholding is not supported)", true);
        }
        if (keys.getBoolean("rescale_betas_zero_snr", false)) {
            throw keys.outOfRange("rescale_betas_zero_snr", "false (zero-terminal-SNR rescaling is not supported)",
                    true);
        }
        double eta = keys.getDouble("eta", 1.0);
        if (!(eta >= 0) || Double.isInfinite(eta)) {
            throw keys.outOfRange("eta", "a finite number >= 0", eta);
        }
        double range = keys.getDouble("clip_sample_range", 1.0);
        if (!(range > 0)) {
            throw keys.outOfRange("clip_sample_range", "> 0", range);
        }
        int offset = keys.getInt("steps_offset", 0);
        if (offset < 0) {
            throw keys.outOfRange("steps_offset", ">= 0", offset);
        }
        return new DdimEtaSampler(TrainingSchedule.from(keys), eta, keys.getBoolean("set_alpha_to_one", true),
                keys.getBoolean("clip_sample", true), range, offset);
    }

    /** The stochasticity η of every step. */
    public double eta() {
        return eta;
    }

    /**
     * Prepares {@code numInferenceSteps} steps with {@code leading} spacing.
     *
     * @throws IllegalArgumentException when the count is outside [1, num_train_timesteps], or the offset
     *                                  pushes the first timestep past the training schedule
     */
    @Override
    public void setTimesteps(int numInferenceSteps) {
        int train = training.numTrainTimesteps();
        if (numInferenceSteps < 1 || numInferenceSteps > train) {
            throw new IllegalArgumentException(NAME + ": the number of steps must be in [1, num_train_timesteps = "
                    + train + "], was " + numInferenceSteps);
        }
        int ratio = train / numInferenceSteps;
        double[] spaced = new double[numInferenceSteps];
        for (int i = 0; i < numInferenceSteps; i++) {
            spaced[i] = (double) (numInferenceSteps - 1 - i) * ratio + stepsOffset;
        }
        if (spaced[0] >= train) {
            throw new IllegalArgumentException(NAME + ": steps_offset " + stepsOffset + " with " + numInferenceSteps
                    + " steps gives timestep " + (long) spaced[0] + ", past num_train_timesteps " + train);
        }
        this.numInferenceSteps = numInferenceSteps;
        this.timesteps = spaced;
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

    /** DDIM does not scale the model input: a copy of {@code sample} as FP32. */
    @Override
    public Tensor scaleModelInput(Tensor sample, double timestep) {
        return Tensor.ofFloats(read(sample, "sample"), sample.shape());
    }

    /**
     * One DDIM step from {@code timestep} with the model's noise prediction {@code modelOutput}.
     *
     * @throws IllegalArgumentException when the tensors differ in size, the timestep is not an integer of the
     *                                  training schedule, or η > 0 and {@code rng} is null
     * @throws IllegalStateException    before {@link #setTimesteps}
     */
    @Override
    public Tensor step(Tensor modelOutput, double timestep, Tensor sample, RandomGenerator rng) {
        prepared();
        float[] x = read(sample, "sample");
        float[] epsilon = read(modelOutput, "modelOutput");
        if (x.length != epsilon.length) {
            throw new IllegalArgumentException(NAME + ": modelOutput has " + epsilon.length + " elements but sample has "
                    + x.length + "; they must have the same shape");
        }
        if (eta > 0 && rng == null) {
            throw new IllegalArgumentException(NAME + " with eta " + eta + " is stochastic and needs a random generator");
        }
        int t = discrete(timestep);
        int prevT = t - training.numTrainTimesteps() / numInferenceSteps;
        double alphaT = training.alphaCumprod(t);
        double alphaPrev = prevT >= 0 ? training.alphaCumprod(prevT) : finalAlphaCumprod;
        double betaT = 1 - alphaT;
        double variance = ((1 - alphaPrev) / betaT) * (1 - alphaT / alphaPrev);
        double sigma = eta * Math.sqrt(variance);
        double x0FromSample = 1 / Math.sqrt(alphaT);
        double x0FromEpsilon = -Math.sqrt(betaT) / Math.sqrt(alphaT);
        double keepX0 = Math.sqrt(alphaPrev);
        double direction = Math.sqrt(Math.max(0, 1 - alphaPrev - sigma * sigma));
        float[] prev = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            float predX0 = (float) (x0FromSample * x[i] + x0FromEpsilon * epsilon[i]);
            if (clipSample) {
                predX0 = Math.max(-clipSampleRange, Math.min(clipSampleRange, predX0));
            }
            prev[i] = (float) (keepX0 * predX0 + direction * epsilon[i]);
        }
        if (eta > 0) {
            for (int i = 0; i < prev.length; i++) {
                float z = (float) rng.nextGaussian();
                prev[i] = (float) (prev[i] + sigma * z);
            }
        }
        return Tensor.ofFloats(prev, sample.shape());
    }

    /** {@code sqrt(ᾱ_t)·original + sqrt(1 − ᾱ_t)·noise}. */
    @Override
    public Tensor addNoise(Tensor original, Tensor noise, double timestep) {
        float[] x = read(original, "original");
        float[] n = read(noise, "noise");
        if (x.length != n.length) {
            throw new IllegalArgumentException(NAME + ": noise has " + n.length + " elements but original has "
                    + x.length + "; they must have the same shape");
        }
        double alpha = training.alphaCumprod(discrete(timestep));
        double a = Math.sqrt(alpha);
        double b = Math.sqrt(1 - alpha);
        float[] out = new float[x.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) (a * x[i] + b * n[i]);
        }
        return Tensor.ofFloats(out, original.shape());
    }

    /** σ<sub>t</sub> of the step from {@code timestep}, for the prepared number of steps. */
    double sigma(int timestep) {
        prepared();
        int prevT = timestep - training.numTrainTimesteps() / numInferenceSteps;
        double alphaT = training.alphaCumprod(timestep);
        double alphaPrev = prevT >= 0 ? training.alphaCumprod(prevT) : finalAlphaCumprod;
        return eta * Math.sqrt((1 - alphaPrev) / (1 - alphaT)) * Math.sqrt(1 - alphaT / alphaPrev);
    }

    private double[] prepared() {
        if (timesteps == null) {
            throw new IllegalStateException(NAME + ": call setTimesteps before stepping");
        }
        return timesteps;
    }

    private static int discrete(double timestep) {
        if (timestep != Math.rint(timestep)) {
            throw new IllegalArgumentException(NAME + " steps at integer timesteps, got " + timestep);
        }
        return (int) timestep;
    }

    private static float[] read(Tensor tensor, String what) {
        if (tensor == null) {
            throw new IllegalArgumentException(NAME + ": " + what + " must not be null");
        }
        if (!tensor.dtype().isFloatingPoint()) {
            throw new IllegalArgumentException(NAME + ": " + what + " must be a floating-point tensor, was "
                    + tensor.dtype());
        }
        return tensor.toFloatArray();
    }

    @Override
    public String toString() {
        return NAME + "[eta " + eta + ", clip_sample " + clipSample + ", steps_offset " + stepsOffset + "]";
    }
}
