package dev.asyncdiff.samplers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** LMS against diffusers' {@code tests/schedulers/test_scheduler_lms.py}. */
class LmsSamplerTest {
    private static final String BASE = "\"num_train_timesteps\": 1100, \"beta_start\": 0.0001, \"beta_end\": 0.02,"
            + " \"beta_schedule\": \"linear\"";

    static LmsSampler sampler(String extra) {
        return new LmsSampler(SchedulerConfig.parse("{" + BASE + extra + "}"));
    }

    @Test
    void fullLoopNoNoise() {
        ParityAssert.sumAndMean(DiffusersFixtures.scaledLoop(sampler(""), 10), 1006.388, 1.31);
    }

    @Test
    void fullLoopVPrediction() {
        ParityAssert.sumAndMean(DiffusersFixtures.scaledLoop(sampler(", \"prediction_type\": \"v_prediction\""), 10),
                0.0017, 2.2676e-06);
    }

    @Test
    void fullLoopKarrasSigmas() {
        ParityAssert.sumAndMean(DiffusersFixtures.scaledLoop(sampler(", \"use_karras_sigmas\": true"), 10),
                3812.9927, 2e-2, 4.9648, 1e-3);
    }

    @Test
    void fullLoopWithNoiseFromTail() {
        LmsSampler lms = sampler("");
        lms.setTimesteps(10);
        float[] start = ScheduleMath.scale(lms.initNoiseSigma(), DiffusersFixtures.sampleDeter());
        double[] tail = Arrays.copyOfRange(lms.timesteps(), 8, 10);
        float[] noisy = DiffusersFixtures.addNoise(lms, start, tail[0]);
        float[] result = DiffusersFixtures.run(lms, noisy, tail, true, null);
        ParityAssert.sumAndMean(result, 27663.6895, 1e-2, 36.0204, 1e-3);
    }

    @Test
    void coefficientsIntegrateTheLagrangeBasis() {
        LmsSampler lms = sampler("");
        lms.setTimesteps(10);
        double[] sigmas = lms.sigmas();
        // order 1: the integral of 1 over [sigma_t, sigma_{t+1}]
        assertThat(lms.coefficient(1, 0, 0)).isCloseTo(sigmas[1] - sigmas[0], within(1e-12));
        // the basis polynomials sum to 1, so the coefficients of any order sum to the interval length
        double sum = 0;
        for (int k = 0; k < 4; k++) {
            sum += lms.coefficient(4, 5, k);
        }
        assertThat(sum).isCloseTo(sigmas[6] - sigmas[5], within(1e-9));
    }

    @Test
    void setTimestepsClearsTheDerivativeHistory() {
        LmsSampler lms = sampler("");
        float[] first = DiffusersFixtures.scaledLoop(lms, 10);
        float[] second = DiffusersFixtures.scaledLoop(lms, 10);
        assertThat(second).containsExactly(first);
    }
}
