package dev.asyncdiff.samplers;

import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.api.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * Pseudo numerical methods (Liu et al. 2022), diffusers' {@code PNDMScheduler}: a Runge-Kutta
 * warm-up (PRK, 12 model calls over the first 3 steps) followed by linear multistep (PLMS); with
 * {@code skip_prk_steps} (Stable Diffusion 1.x) PLMS starts at once with a one-step correction.
 * Deterministic; not thread-safe.
 */
public final class PndmSampler implements NoiseScheduler {
    /** The config keys this sampler reads. */
    public static final Set<String> KEYS = Set.of("num_train_timesteps", "beta_start", "beta_end", "beta_schedule",
            "trained_betas", "skip_prk_steps", "set_alpha_to_one", "prediction_type", "timestep_spacing",
            "steps_offset");
    private static final String NAME = "PNDMScheduler";
    private static final int PNDM_ORDER = 4;

    private final ScheduleMath.Training training;
    private final double finalAlphaCumprod;
    private final boolean skipPrkSteps;
    private final boolean vPrediction;
    private final String spacing;
    private final int stepsOffset;
    private int numInferenceSteps;
    private double[] prkTimesteps;
    private double[] timesteps;
    private final List<float[]> ets = new ArrayList<>();
    private float[] curModelOutput;
    private float[] curSample;
    private int counter;

    /** Builds the sampler from a scheduler config (see {@link #KEYS}). */
    public PndmSampler(SchedulerConfig config) {
        config.logUnusedKeys(NAME, KEYS);
        training = ScheduleMath.training(config, "linear", 0.0001, 0.02, ScheduleMath.ZeroSnr.NOT_READ);
        finalAlphaCumprod = config.getBoolean("set_alpha_to_one", false) ? 1.0 : training.alphasCumprod()[0];
        skipPrkSteps = config.getBoolean("skip_prk_steps", false);
        vPrediction = "v_prediction".equals(config.getChoice("prediction_type", "epsilon", "epsilon", "v_prediction"));
        spacing = config.getChoice("timestep_spacing", "leading", "linspace", "leading", "trailing");
        stepsOffset = config.getInt("steps_offset", 0);
        if (stepsOffset < 0) {
            throw config.outOfRange("steps_offset", ">= 0", stepsOffset);
        }
    }

    @Override
    public void setTimesteps(int numInferenceSteps) {
        int numTrain = training.numTrainTimesteps();
        int minimum = skipPrkSteps ? 1 : PNDM_ORDER;
        if (numInferenceSteps < minimum || numInferenceSteps > numTrain) {
            throw new IllegalArgumentException("numInferenceSteps must be in [" + minimum + ", num_train_timesteps = "
                    + numTrain + "] for PNDM" + (skipPrkSteps ? "" : " with PRK warm-up") + ", was "
                    + numInferenceSteps);
        }
        this.numInferenceSteps = numInferenceSteps;
        double[] ascending = ScheduleMath.reverse(
                ScheduleMath.spacedTimesteps(spacing, numTrain, numInferenceSteps, stepsOffset, true));
        int n = ascending.length;
        double[] plms;
        if (skipPrkSteps) {
            prkTimesteps = new double[0];
            double[] extended = new double[n + 1];
            System.arraycopy(ascending, 0, extended, 0, n - 1);
            extended[n - 1] = n >= 2 ? ascending[n - 2] : ascending[0];
            extended[n] = ascending[n - 1];
            plms = ScheduleMath.reverse(n >= 2 ? extended : new double[] {ascending[0]});
        } else {
            int half = numTrain / numInferenceSteps / 2;
            double[] tiled = new double[2 * PNDM_ORDER];
            for (int i = 0; i < PNDM_ORDER; i++) {
                double t = ascending[n - PNDM_ORDER + i];
                tiled[2 * i] = t;
                tiled[2 * i + 1] = t + half;
            }
            // prk_timesteps[:-1].repeat(2)[1:-1], reversed
            double[] repeated = new double[2 * (tiled.length - 1)];
            for (int i = 0; i < tiled.length - 1; i++) {
                repeated[2 * i] = tiled[i];
                repeated[2 * i + 1] = tiled[i];
            }
            double[] inner = Arrays.copyOfRange(repeated, 1, repeated.length - 1);
            prkTimesteps = ScheduleMath.reverse(inner);
            plms = ScheduleMath.reverse(Arrays.copyOfRange(ascending, 0, n - 3));
        }
        timesteps = new double[prkTimesteps.length + plms.length];
        System.arraycopy(prkTimesteps, 0, timesteps, 0, prkTimesteps.length);
        System.arraycopy(plms, 0, timesteps, prkTimesteps.length, plms.length);
        ets.clear();
        counter = 0;
        curModelOutput = null;
        curSample = null;
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
    public Tensor scaleModelInput(Tensor sample, double timestep) {
        return ScheduleMath.tensor(ScheduleMath.read(sample, "sample"), sample.shape());
    }

    @Override
    public Tensor step(Tensor modelOutput, double timestep, Tensor sample, RandomGenerator rng) {
        prepared();
        float[] x = ScheduleMath.read(sample, "sample");
        float[] out = ScheduleMath.read(modelOutput, "modelOutput");
        ScheduleMath.requireSameSize(out, "modelOutput", x, "sample");
        int t = ScheduleMath.discrete(NAME, timestep);
        float[] prev = counter < prkTimesteps.length && !skipPrkSteps ? stepPrk(out, t, x) : stepPlms(out, t, x);
        return ScheduleMath.tensor(prev, sample.shape());
    }

    private float[] stepPrk(float[] modelOutput, int timestep, float[] sample) {
        int diffToPrev = counter % 2 != 0 ? 0 : training.numTrainTimesteps() / numInferenceSteps / 2;
        int prevTimestep = timestep - diffToPrev;
        int t = (int) prkTimesteps[counter / 4 * 4];
        float[] output = modelOutput;
        switch (counter % 4) {
            case 0 -> {
                curModelOutput = accumulate(curModelOutput, 1.0 / 6, modelOutput);
                ets.add(modelOutput);
                curSample = sample;
            }
            case 1, 2 -> curModelOutput = accumulate(curModelOutput, 1.0 / 3, modelOutput);
            default -> {
                output = accumulate(curModelOutput, 1.0 / 6, modelOutput);
                curModelOutput = null;
            }
        }
        float[] base = curSample != null ? curSample : sample;
        float[] prev = prevSample(base, t, prevTimestep, output);
        counter++;
        return prev;
    }

    private static float[] accumulate(float[] sum, double weight, float[] value) {
        return sum == null ? ScheduleMath.scale(weight, value) : ScheduleMath.combine(1, sum, weight, value);
    }

    private float[] stepPlms(float[] modelOutput, int timestep, float[] sample) {
        int stride = training.numTrainTimesteps() / numInferenceSteps;
        int prevTimestep = timestep - stride;
        int t = timestep;
        if (counter != 1) {
            while (ets.size() > 3) {
                ets.remove(0);
            }
            ets.add(modelOutput);
        } else {
            prevTimestep = timestep;
            t = timestep + stride;
        }
        float[] x = sample;
        float[] output;
        int size = ets.size();
        if (size == 1 && counter == 0) {
            output = modelOutput;
            curSample = sample;
        } else if (size == 1 && counter == 1) {
            output = ScheduleMath.combine(0.5, modelOutput, 0.5, ets.get(0));
            x = curSample;
            curSample = null;
        } else if (size == 2) {
            output = ScheduleMath.combine(1.5, ets.get(1), -0.5, ets.get(0));
        } else if (size == 3) {
            output = ScheduleMath.linear(new double[] {23.0 / 12, -16.0 / 12, 5.0 / 12},
                    new float[][] {ets.get(2), ets.get(1), ets.get(0)});
        } else {
            output = ScheduleMath.linear(new double[] {55.0 / 24, -59.0 / 24, 37.0 / 24, -9.0 / 24},
                    new float[][] {ets.get(size - 1), ets.get(size - 2), ets.get(size - 3), ets.get(size - 4)});
        }
        float[] prev = prevSample(x, t, prevTimestep, output);
        counter++;
        return prev;
    }

    /** Formula (9) of the PNDM paper: x_{t-delta} from x_t and the (combined) noise estimate. */
    private float[] prevSample(float[] sample, int timestep, int prevTimestep, float[] modelOutput) {
        double alphaT = training.alphaCumprod(timestep);
        double alphaPrev = prevTimestep >= 0 ? training.alphaCumprod(prevTimestep) : finalAlphaCumprod;
        double betaT = 1 - alphaT;
        double betaPrev = 1 - alphaPrev;
        float[] eps = vPrediction
                ? ScheduleMath.combine(Math.sqrt(alphaT), modelOutput, Math.sqrt(betaT), sample)
                : modelOutput;
        double sampleCoeff = Math.sqrt(alphaPrev / alphaT);
        double denom = alphaT * Math.sqrt(betaPrev) + Math.sqrt(alphaT * betaT * alphaPrev);
        return ScheduleMath.combine(sampleCoeff, sample, -(alphaPrev - alphaT) / denom, eps);
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

    /** The {@code pndm} provider. */
    public static final class Provider extends BaseSamplerProvider {
        /** Creates the provider. */
        public Provider() {
            super("pndm", NAME, "PNDM / PLMS (PRK warm-up unless skip_prk_steps)", Map.of(), Map.of(),
                    PndmSampler::new);
        }
    }
}
