package dev.asyncdiff.samplers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.asyncdiff.api.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * LCM against diffusers' {@code tests/schedulers/test_scheduler_lcm.py}. The one-step loop is
 * deterministic and matched; the multistep loop re-noises with torch's generator between steps,
 * so its deterministic part and noise scale are pinned instead.
 */
class LcmSamplerTest {
    private static final String CONFIG = "{\"num_train_timesteps\": 1000, \"beta_start\": 0.00085,"
            + " \"beta_end\": 0.0120, \"beta_schedule\": \"scaled_linear\", \"prediction_type\": \"epsilon\"}";

    static LcmSampler sampler() {
        return new LcmSampler(SchedulerConfig.parse(CONFIG));
    }

    @Test
    void fullLoopOneStep() {
        LcmSampler lcm = sampler();
        lcm.setTimesteps(1);
        float[] result = DiffusersFixtures.run(lcm, DiffusersFixtures.sampleDeter(), lcm.timesteps(), false, null);
        ParityAssert.sumAndMean(result, 18.7097, 1e-3, 0.0244, 1e-3);
    }

    @Test
    void timestepsFollowTheDistillationSchedule() {
        LcmSampler lcm = sampler();
        lcm.setTimesteps(4);
        assertThat(lcm.timesteps()).containsExactly(999, 759, 499, 259);
        lcm.setTimesteps(1);
        assertThat(lcm.timesteps()).containsExactly(999);
        assertThatThrownBy(() -> lcm.setTimesteps(51)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("original_inference_steps");
    }

    @Test
    void strengthLimitsTheDistillationSchedule() {
        LcmSampler lcm = sampler();
        double[] tail = lcm.setTimestepsForStrength(4, 0.5);
        // origin timesteps 20 i - 1 for i = 25..1, picked at 0, 6, 12, 18
        assertThat(tail).containsExactly(499, 379, 259, 139);
    }

    @Test
    void boundaryScalings() {
        double[] s = sampler().boundaryScalings(999);
        double scaled = 9990;
        assertThat(s[0]).isCloseTo(0.25 / (scaled * scaled + 0.25), within(1e-15));
        assertThat(s[1]).isCloseTo(scaled / Math.sqrt(scaled * scaled + 0.25), within(1e-12));
    }

    @Test
    void intermediateStepsRenoiseToTheNextTimestep() {
        LcmSampler noisy = sampler();
        LcmSampler clean = sampler();
        noisy.setTimesteps(4);
        clean.setTimesteps(4);
        float[] x = DiffusersFixtures.sampleDeter();
        float[] a;
        float[] b;
        try (Tensor in = Tensor.ofFloats(x, DiffusersFixtures.SHAPE);
             Tensor out = Tensor.ofFloats(DiffusersFixtures.model(x, 999), DiffusersFixtures.SHAPE);
             Tensor r1 = noisy.step(out, 999, in, new SplittableRandom(9));
             Tensor r2 = clean.step(out, 999, in, new ZeroGaussian())) {
            a = r1.toFloatArray();
            b = r2.toFloatArray();
        }
        double[] betas = ScheduleMath.torchLinspaceF32(Math.sqrt(0.00085), Math.sqrt(0.012), 1000);
        double alphaPrev = 1;
        for (int i = 0; i <= 759; i++) {
            alphaPrev *= 1 - (float) (betas[i] * betas[i]);
        }
        SplittableRandom replay = new SplittableRandom(9);
        for (int i = 0; i < x.length; i++) {
            assertThat((double) a[i] - b[i]).isCloseTo(Math.sqrt(1 - alphaPrev) * (float) replay.nextGaussian(),
                    within(1e-5));
        }
    }
}
