package dev.asyncdiff.samplers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.asyncdiff.api.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** DDIM against diffusers' {@code tests/schedulers/test_scheduler_ddim.py}. */
class DdimSamplerTest {
    private static final String BASE = "\"num_train_timesteps\": 1000, \"beta_start\": 0.0001, \"beta_end\": 0.02,"
            + " \"beta_schedule\": \"linear\", \"clip_sample\": true";

    static DdimSampler sampler(String extra) {
        return new DdimSampler(SchedulerConfig.parse("{" + BASE + extra + "}"));
    }

    @Test
    void fullLoopNoNoise() {
        ParityAssert.sumAndMean(DiffusersFixtures.plainLoop(sampler(""), 10), 172.0067, 0.223967);
    }

    @Test
    void fullLoopVPrediction() {
        ParityAssert.sumAndMean(DiffusersFixtures.plainLoop(sampler(", \"prediction_type\": \"v_prediction\""), 10),
                52.5302, 0.0684);
    }

    @Test
    void fullLoopSetAlphaToOne() {
        ParityAssert.sumAndMean(DiffusersFixtures.plainLoop(
                sampler(", \"set_alpha_to_one\": true, \"beta_start\": 0.01"), 10), 149.8295, 0.1951);
    }

    @Test
    void fullLoopNoSetAlphaToOne() {
        ParityAssert.sumAndMean(DiffusersFixtures.plainLoop(
                sampler(", \"set_alpha_to_one\": false, \"beta_start\": 0.01"), 10), 149.0784, 0.1941);
    }

    @Test
    void fullLoopWithNoiseFromTail() {
        DdimSampler ddim = sampler("");
        ddim.setTimesteps(10);
        double[] tail = java.util.Arrays.copyOfRange(ddim.timesteps(), 8, 10);
        float[] sample = DiffusersFixtures.addNoise(ddim, DiffusersFixtures.sampleDeter(), tail[0]);
        float[] result = DiffusersFixtures.run(ddim, sample, tail, false, null);
        ParityAssert.sumAndMean(result, 354.5418, 0.4616);
    }

    @Test
    void stepsOffset() {
        DdimSampler ddim = sampler(", \"steps_offset\": 1");
        ddim.setTimesteps(5);
        assertThat(ddim.timesteps()).containsExactly(801, 601, 401, 201, 1);
    }

    @Test
    void variance() {
        DdimSampler ddim = sampler("");
        assertThat(ddim.variance(0, 0)).isCloseTo(0.0, within(1e-5));
        assertThat(ddim.variance(420, 400)).isCloseTo(0.14771, within(1e-5));
        assertThat(ddim.variance(980, 960)).isCloseTo(0.32460, within(1e-5));
        assertThat(ddim.variance(487, 486)).isCloseTo(0.00979, within(1e-5));
        assertThat(ddim.variance(999, 998)).isCloseTo(0.02, within(1e-5));
    }

    @Test
    void trailingAndLinspaceSpacing() {
        DdimSampler trailing = sampler(", \"timestep_spacing\": \"trailing\"");
        trailing.setTimesteps(10);
        assertThat(trailing.timesteps()).containsExactly(999, 899, 799, 699, 599, 499, 399, 299, 199, 99);
        DdimSampler linspace = sampler(", \"timestep_spacing\": \"linspace\"");
        linspace.setTimesteps(10);
        assertThat(linspace.timesteps()).containsExactly(999, 888, 777, 666, 555, 444, 333, 222, 111, 0);
    }

    @Test
    void rejectsOutOfRangeValuesNamingTheKey() {
        assertThatThrownBy(() -> sampler(", \"prediction_type\": \"flow\""))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("prediction_type")
                .hasMessageContaining("epsilon");
        assertThatThrownBy(() -> sampler(", \"steps_offset\": -1"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("steps_offset");
        assertThatThrownBy(() -> sampler(", \"clip_sample\": \"yes\""))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("clip_sample");
        assertThatThrownBy(() -> sampler("").setTimesteps(1001))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("num_train_timesteps");
    }

    @Test
    void toleratesUnknownKeys() {
        DdimSampler ddim = sampler(", \"skip_prk_steps\": true, \"use_karras_sigmas\": false, \"made_up\": [1]");
        ddim.setTimesteps(4);
        assertThat(ddim.timesteps()).hasSize(4);
    }

    private static float noised(DdimSampler ddim, double t) {
        try (var one = Tensor.ofFloats(new float[] {1f}, 1);
             var noisy = ddim.addNoise(one, one, t)) {
            return noisy.toFloatArray()[0];
        }
    }

    @Test
    void rescaleBetasZeroSnrMakesTheLastStepPureNoise() {
        DdimSampler rescaled = sampler(", \"rescale_betas_zero_snr\": true");
        DdimSampler plain = sampler("");
        // sqrt(a) * 1 + sqrt(1 - a) * 1 with a = 0 at the last training step
        assertThat(noised(rescaled, 999)).isEqualTo(1.0f);
        assertThat(noised(plain, 999)).isGreaterThan(1.0f);
        assertThat(noised(rescaled, 0)).isCloseTo(noised(plain, 0), within(1e-6f));
    }

    @Test
    void squaredCosineSchedule() {
        DdimSampler cosine = sampler(", \"beta_schedule\": \"squaredcos_cap_v2\"");
        for (double[] tAndAlpha : new double[][] {{0, 0.9999586939811707}, {499, 0.4938434660434723}}) {
            double a = tAndAlpha[1];
            assertThat(noised(cosine, tAndAlpha[0])).isCloseTo((float) (Math.sqrt(a) + Math.sqrt(1 - a)), within(1e-6f));
        }
    }

    @Test
    void trainedBetas() {
        DdimSampler trained = new DdimSampler(SchedulerConfig.parse(
                "{\"num_train_timesteps\": 4, \"trained_betas\": [0.1, 0.1, 0.1, 0.1], \"beta_schedule\": \"linear\"}"));
        double a = 0.9 * 0.9 * 0.9;
        assertThat(noised(trained, 2)).isCloseTo((float) (Math.sqrt(a) + Math.sqrt(1 - a)), within(1e-6f));
        assertThatThrownBy(() -> new DdimSampler(SchedulerConfig.parse(
                "{\"num_train_timesteps\": 5, \"trained_betas\": [0.1, 0.1]}")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("trained_betas");
    }

    @Test
    void etaAddsScaledNoise() {
        DdimSampler noisy = sampler("");
        DdimSampler clean = sampler("");
        noisy.setEta(1.0);
        clean.setEta(1.0);
        noisy.setTimesteps(10);
        clean.setTimesteps(10);
        float[] x = DiffusersFixtures.sampleDeter();
        double std = Math.sqrt(noisy.variance(501, 401));
        try (var in = Tensor.ofFloats(x, DiffusersFixtures.SHAPE);
             var out = Tensor.ofFloats(DiffusersFixtures.model(x, 501), DiffusersFixtures.SHAPE);
             var a = noisy.step(out, 501, in, new SplittableRandom(8));
             var b = clean.step(out, 501, in, new ZeroGaussian())) {
            SplittableRandom replay = new SplittableRandom(8);
            float[] fa = a.toFloatArray();
            float[] fb = b.toFloatArray();
            for (int i = 0; i < fa.length; i++) {
                assertThat((double) fa[i] - fb[i]).isCloseTo(std * (float) replay.nextGaussian(), within(1e-5));
            }
        }
        assertThatThrownBy(() -> noisy.setEta(-1)).isInstanceOf(IllegalArgumentException.class);
    }
}
