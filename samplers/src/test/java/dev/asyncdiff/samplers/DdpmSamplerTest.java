package dev.asyncdiff.samplers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.asyncdiff.api.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * DDPM against diffusers' {@code tests/schedulers/test_scheduler_ddpm.py}. Its full loops add
 * torch-generated noise at every step, which Java cannot reproduce; the deterministic checks
 * (variances, timesteps, the posterior mean and the noise scale) are pinned instead.
 */
class DdpmSamplerTest {
    private static final String BASE = "\"num_train_timesteps\": 1000, \"beta_start\": 0.0001, \"beta_end\": 0.02,"
            + " \"beta_schedule\": \"linear\"";

    static DdpmSampler sampler(String extra) {
        return new DdpmSampler(SchedulerConfig.parse("{" + BASE + extra + "}"));
    }

    @Test
    void variance() {
        DdpmSampler ddpm = sampler("");
        assertThat(ddpm.variance(0)).isCloseTo(0.0, within(1e-5));
        assertThat(ddpm.variance(487)).isCloseTo(0.00979, within(1e-5));
        assertThat(ddpm.variance(999)).isCloseTo(0.02, within(1e-5));
    }

    @Test
    void stepsAllTrainingTimestepsBeforeSetTimesteps() {
        DdpmSampler ddpm = sampler("");
        assertThat(ddpm.timesteps()).hasSize(1000);
        assertThat(ddpm.timesteps()[0]).isEqualTo(999);
        assertThat(ddpm.previousTimestep(500)).isEqualTo(499);
        ddpm.setTimesteps(10);
        assertThat(ddpm.timesteps()).containsExactly(900, 800, 700, 600, 500, 400, 300, 200, 100, 0);
        assertThat(ddpm.previousTimestep(900)).isEqualTo(800);
        assertThat(ddpm.previousTimestep(0)).isEqualTo(-1);
    }

    @Test
    void noiseIsScaledByThePosteriorStandardDeviation() {
        DdpmSampler ddpm = sampler("");
        ddpm.setTimesteps(10);
        float[] x = DiffusersFixtures.sampleDeter();
        double t = 500;
        float[] noisy;
        float[] mean;
        try (Tensor in = Tensor.ofFloats(x, DiffusersFixtures.SHAPE);
             Tensor out = Tensor.ofFloats(DiffusersFixtures.model(x, t), DiffusersFixtures.SHAPE);
             Tensor a = ddpm.step(out, t, in, new SplittableRandom(11));
             Tensor b = ddpm.step(out, t, in, new ZeroGaussian())) {
            noisy = a.toFloatArray();
            mean = b.toFloatArray();
        }
        double std = Math.sqrt(ddpm.variance(500));
        SplittableRandom replay = new SplittableRandom(11);
        for (int i = 0; i < x.length; i++) {
            assertThat((double) noisy[i] - mean[i]).isCloseTo(std * (float) replay.nextGaussian(), within(1e-5));
        }
    }

    @Test
    void posteriorMeanOfTheLastStepIsTheClippedPrediction() {
        DdpmSampler ddpm = sampler("");
        ddpm.setTimesteps(10);
        float[] x = {0.3f, 2.5f};
        float[] eps = {0.1f, -0.2f};
        try (Tensor in = Tensor.ofFloats(x, 2); Tensor out = Tensor.ofFloats(eps, 2);
             Tensor next = ddpm.step(out, 0, in, null)) {
            // t = 0 -> prev = -1: alpha_prev = 1, so prev = x0 (no noise, no generator needed)
            double a0 = 1 - 0.0001;
            double expected0 = (0.3 - Math.sqrt(1 - a0) * 0.1) / Math.sqrt(a0);
            assertThat(next.toFloatArray()[0]).isCloseTo((float) expected0, within(1e-5f));
            assertThat(next.toFloatArray()[1]).isEqualTo(1.0f);
        }
    }

    @Test
    void addNoiseMatchesTheClosedForm() {
        DdpmSampler ddpm = sampler("");
        ddpm.setTimesteps(10);
        float[] noisy = DiffusersFixtures.addNoise(ddpm, DiffusersFixtures.sampleDeter(), 900);
        float[] x = DiffusersFixtures.sampleDeter();
        float[] n = DiffusersFixtures.noiseDeter();
        double alpha = 1;
        double[] betas = ScheduleMath.torchLinspaceF32(0.0001, 0.02, 1000);
        for (int i = 0; i <= 900; i++) {
            alpha *= 1 - betas[i];
        }
        for (int i = 0; i < x.length; i += 97) {
            assertThat((double) noisy[i]).isCloseTo(Math.sqrt(alpha) * x[i] + Math.sqrt(1 - alpha) * n[i],
                    within(1e-5));
        }
    }
}
