package dev.asyncdiff.samplers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

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
}
