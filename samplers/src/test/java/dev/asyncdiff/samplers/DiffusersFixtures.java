package dev.asyncdiff.samplers;

import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.api.Tensor;
import java.util.random.RandomGenerator;

/**
 * The deterministic fixtures of diffusers' {@code SchedulerCommonTest}: the 4x3x8x8
 * {@code dummy_sample_deter} / {@code dummy_noise_deter} built from {@code arange}, the dummy model
 * {@code sample * t / (t + 1)}, and the full loops its {@code test_scheduler_*.py} files run.
 */
final class DiffusersFixtures {
    static final long[] SHAPE = {4, 3, 8, 8};

    private DiffusersFixtures() {
    }

    /** {@code arange(768).reshape(3, 8, 8, 4) / 768} permuted to (4, 3, 8, 8). */
    static float[] sampleDeter() {
        return deter(false, SHAPE);
    }

    /** As {@link #sampleDeter()} from {@code arange(768).flip(-1)}. */
    static float[] noiseDeter() {
        return deter(true, SHAPE);
    }

    /** The construction for any (batch, channels, spatial...) shape, as the 1D UniPC test uses. */
    static float[] deter(boolean flipped, long[] shape) {
        int batch = (int) shape[0];
        int count = 1;
        for (long d : shape) {
            count *= (int) d;
        }
        int perBatch = count / batch;
        float[] out = new float[count];
        for (int b = 0; b < batch; b++) {
            for (int rest = 0; rest < perBatch; rest++) {
                int source = rest * batch + b;
                int value = flipped ? count - 1 - source : source;
                out[b * perBatch + rest] = (float) value / count;
            }
        }
        return out;
    }

    /** The dummy model {@code sample * t / (t + 1)} in float32. */
    static float[] model(float[] sample, double timestep) {
        float t = (float) timestep;
        float[] out = new float[sample.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (sample[i] * t) / (t + 1f);
        }
        return out;
    }

    /** {@code sum(abs(x))}. */
    static double absSum(float[] x) {
        double sum = 0;
        for (float v : x) {
            sum += Math.abs(v);
        }
        return sum;
    }

    /** {@code mean(abs(x))}. */
    static double absMean(float[] x) {
        return absSum(x) / x.length;
    }

    /** The loop of the DDIM/PNDM/DPM/UniPC tests: no input scaling, start from {@code dummy_sample_deter}. */
    static float[] plainLoop(NoiseScheduler sampler, int steps) {
        sampler.setTimesteps(steps);
        return run(sampler, sampleDeter(), sampler.timesteps(), false, null);
    }

    /**
     * The loop of the Euler/LMS/Heun tests: start from {@code dummy_sample_deter * init_noise_sigma},
     * and (as those tests do) feed the scaled sample to both the model and the step.
     */
    static float[] scaledLoop(NoiseScheduler sampler, int steps) {
        sampler.setTimesteps(steps);
        float[] sample = ScheduleMath.scale(sampler.initNoiseSigma(), sampleDeter());
        return run(sampler, sample, sampler.timesteps(), true, null);
    }

    /** Runs {@code timesteps} from {@code start}. */
    static float[] run(NoiseScheduler sampler, float[] start, double[] timesteps, boolean scaleInput,
                       RandomGenerator rng) {
        return run(sampler, start, timesteps, scaleInput, rng, SHAPE);
    }

    /** Runs {@code timesteps} from {@code start} for a sample of {@code shape}. */
    static float[] run(NoiseScheduler sampler, float[] start, double[] timesteps, boolean scaleInput,
                       RandomGenerator rng, long[] shape) {
        float[] sample = start;
        for (double t : timesteps) {
            if (scaleInput) {
                try (Tensor in = Tensor.ofFloats(sample, shape); Tensor scaled = sampler.scaleModelInput(in, t)) {
                    sample = scaled.toFloatArray();
                }
            }
            float[] residual = model(sample, t);
            try (Tensor out = Tensor.ofFloats(residual, shape);
                 Tensor x = Tensor.ofFloats(sample, shape);
                 Tensor next = sampler.step(out, t, x, rng)) {
                sample = next.toFloatArray();
            }
        }
        return sample;
    }

    /** {@code add_noise(dummy_sample_deter * initScale, dummy_noise_deter, t)}. */
    static float[] addNoise(NoiseScheduler sampler, float[] original, double timestep) {
        return addNoise(sampler, original, noiseDeter(), timestep, SHAPE);
    }

    /** {@code add_noise(original, noise, t)} for a sample of {@code shape}. */
    static float[] addNoise(NoiseScheduler sampler, float[] original, float[] noise, double timestep, long[] shape) {
        try (Tensor x = Tensor.ofFloats(original, shape);
             Tensor n = Tensor.ofFloats(noise, shape);
             Tensor noisy = sampler.addNoise(x, n, timestep)) {
            return noisy.toFloatArray();
        }
    }
}
