package dev.asyncdiff.samplers;

import static org.assertj.core.api.Assertions.assertThat;

import dev.asyncdiff.api.NoiseScheduler;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Heun against diffusers' {@code tests/schedulers/test_scheduler_heun.py}. */
class HeunSamplerTest {
    private static final String BASE = "\"num_train_timesteps\": 1100, \"beta_start\": 0.0001, \"beta_end\": 0.02,"
            + " \"beta_schedule\": \"linear\"";

    static HeunSampler sampler(String extra) {
        return new HeunSampler(SchedulerConfig.parse("{" + BASE + extra + "}"));
    }

    @Test
    void fullLoopNoNoise() {
        ParityAssert.sumAndMean(DiffusersFixtures.scaledLoop(sampler(""), 10), 0.1233, 0.0002);
    }

    @Test
    void fullLoopVPrediction() {
        ParityAssert.sumAndMean(DiffusersFixtures.scaledLoop(sampler(", \"prediction_type\": \"v_prediction\""), 10),
                4.6934e-07, 6.1112e-10);
    }

    @Test
    void fullLoopKarrasSigmas() {
        ParityAssert.sumAndMean(DiffusersFixtures.scaledLoop(sampler(", \"use_karras_sigmas\": true"), 10),
                0.00015, 1e-2, 1.9869554535034695e-07, 1e-2);
    }

    @Test
    void fullLoopWithNoiseFromTail() {
        HeunSampler heun = sampler("");
        heun.setTimesteps(10);
        float[] start = ScheduleMath.scale(heun.initNoiseSigma(), DiffusersFixtures.sampleDeter());
        double[] all = heun.timesteps();
        double[] tail = Arrays.copyOfRange(all, 8 * heun.order(), all.length);
        float[] noisy = DiffusersFixtures.addNoise(heun, start, tail[0]);
        float[] result = DiffusersFixtures.run(heun, noisy, tail, true, null);
        ParityAssert.sumAndMean(result, 75074.8906, 1e-2, 97.7538, 1e-3);
    }

    @Test
    void timestepsRepeatForTheSecondEvaluation() {
        HeunSampler heun = sampler("");
        heun.setTimesteps(10);
        double[] ts = heun.timesteps();
        assertThat(ts).hasSize(19);
        assertThat(heun.order()).isEqualTo(2);
        for (int i = 1; i < 10; i++) {
            assertThat(ts[2 * i - 1]).isEqualTo(ts[2 * i]);
        }
        assertThat(heun.sigmas()).hasSize(20);
        assertThat(heun.sigmas()[19]).isZero();
    }

    @Test
    void strengthKeepsTheTailScaledByOrder() {
        NoiseScheduler heun = sampler("");
        heun.setTimesteps(10);
        double[] all = heun.timesteps();
        double[] tail = heun.setTimestepsForStrength(10, 0.3);
        // init = int(10 * 0.3) = 3, start = 7, tail = timesteps[7 * 2:]
        assertThat(tail).containsExactly(Arrays.copyOfRange(all, 14, all.length));
    }
}
