package dev.asyncdiff.samplers;

import static org.assertj.core.api.Assertions.assertThat;

import dev.asyncdiff.api.Tensor;
import org.junit.jupiter.api.Test;

/** PNDM against diffusers' {@code tests/schedulers/test_scheduler_pndm.py} and the SD 1.5 config. */
class PndmSamplerTest {
    private static final String BASE = "\"num_train_timesteps\": 1000, \"beta_start\": 0.0001, \"beta_end\": 0.02,"
            + " \"beta_schedule\": \"linear\"";

    /** Stable Diffusion 1.5's shipped scheduler/scheduler_config.json. */
    static final String SD15 = "{\"_class_name\": \"PNDMScheduler\", \"_diffusers_version\": \"0.6.0\","
            + " \"beta_end\": 0.012, \"beta_schedule\": \"scaled_linear\", \"beta_start\": 0.00085,"
            + " \"num_train_timesteps\": 1000, \"set_alpha_to_one\": false, \"skip_prk_steps\": true,"
            + " \"steps_offset\": 1, \"trained_betas\": null, \"clip_sample\": false}";

    static PndmSampler sampler(String extra) {
        return new PndmSampler(SchedulerConfig.parse("{" + BASE + extra + "}"));
    }

    @Test
    void fullLoopNoNoise() {
        ParityAssert.sumAndMean(DiffusersFixtures.plainLoop(sampler(""), 10), 198.1318, 0.2580);
    }

    @Test
    void fullLoopVPrediction() {
        ParityAssert.sumAndMean(DiffusersFixtures.plainLoop(sampler(", \"prediction_type\": \"v_prediction\""), 10),
                67.3986, 0.0878);
    }

    @Test
    void fullLoopSetAlphaToOne() {
        ParityAssert.sumAndMean(DiffusersFixtures.plainLoop(
                sampler(", \"set_alpha_to_one\": true, \"beta_start\": 0.01"), 10), 230.0399, 0.2995);
    }

    @Test
    void fullLoopNoSetAlphaToOne() {
        ParityAssert.sumAndMean(DiffusersFixtures.plainLoop(
                sampler(", \"set_alpha_to_one\": false, \"beta_start\": 0.01"), 10), 186.9482, 0.2434);
    }

    @Test
    void prkWarmupTimestepsWithStepsOffset() {
        PndmSampler pndm = sampler(", \"steps_offset\": 1");
        pndm.setTimesteps(10);
        assertThat(pndm.timesteps()).containsExactly(
                901, 851, 851, 801, 801, 751, 751, 701, 701, 651, 651, 601, 601, 501, 401, 301, 201, 101, 1);
    }

    @Test
    void stableDiffusion15Timesteps() {
        PndmSampler pndm = new PndmSampler(SchedulerConfig.parse(SD15));
        pndm.setTimesteps(10);
        assertThat(pndm.timesteps()).containsExactly(901, 801, 801, 701, 601, 501, 401, 301, 201, 101, 1);
        pndm.setTimesteps(50);
        double[] fifty = pndm.timesteps();
        assertThat(fifty).hasSize(51);
        assertThat(fifty[0]).isEqualTo(981);
        assertThat(fifty[1]).isEqualTo(961);
        assertThat(fifty[2]).isEqualTo(961);
        assertThat(fifty[50]).isEqualTo(1);
        assertThat(pndm.initNoiseSigma()).isEqualTo(1.0);
    }

    @Test
    void setTimestepsResetsTheMultistepHistory() {
        PndmSampler pndm = new PndmSampler(SchedulerConfig.parse(SD15));
        float[] first = DiffusersFixtures.plainLoop(pndm, 10);
        float[] again = DiffusersFixtures.plainLoop(pndm, 10);
        assertThat(again).containsExactly(first);
        PndmSampler fresh = new PndmSampler(SchedulerConfig.parse(SD15));
        pndm.setTimesteps(10);
        fresh.setTimesteps(10);
        double t = pndm.timesteps()[0];
        float[] x = DiffusersFixtures.sampleDeter();
        try (Tensor out = Tensor.ofFloats(DiffusersFixtures.model(x, t), DiffusersFixtures.SHAPE);
             Tensor in = Tensor.ofFloats(x, DiffusersFixtures.SHAPE);
             Tensor a = pndm.step(out, t, in, null);
             Tensor b = fresh.step(out, t, in, null)) {
            assertThat(a.toFloatArray()).containsExactly(b.toFloatArray());
        }
    }
}
