package dev.asyncdiff.samplers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.asyncdiff.api.Tensor;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Euler against diffusers' {@code tests/schedulers/test_scheduler_euler.py}, and the SDXL and SVD
 * shipped configs against values derived from diffusers' {@code set_timesteps} formulas.
 */
class EulerSamplerTest {
    private static final String BASE = "\"num_train_timesteps\": 1100, \"beta_start\": 0.0001, \"beta_end\": 0.02,"
            + " \"beta_schedule\": \"linear\"";

    /** SDXL base 1.0's shipped scheduler/scheduler_config.json. */
    static final String SDXL = "{\"_class_name\": \"EulerDiscreteScheduler\", \"_diffusers_version\": \"0.19.0.dev0\","
            + " \"beta_end\": 0.012, \"beta_schedule\": \"scaled_linear\", \"beta_start\": 0.00085,"
            + " \"clip_sample\": false, \"interpolation_type\": \"linear\", \"num_train_timesteps\": 1000,"
            + " \"prediction_type\": \"epsilon\", \"sample_max_value\": 1.0, \"set_alpha_to_one\": false,"
            + " \"skip_prk_steps\": true, \"steps_offset\": 1, \"timestep_spacing\": \"leading\","
            + " \"trained_betas\": null, \"use_karras_sigmas\": false}";

    /** Stable Video Diffusion (img2vid-xt)'s shipped scheduler/scheduler_config.json. */
    static final String SVD = "{\"_class_name\": \"EulerDiscreteScheduler\", \"_diffusers_version\": \"0.24.0.dev0\","
            + " \"beta_end\": 0.012, \"beta_schedule\": \"scaled_linear\", \"beta_start\": 0.00085,"
            + " \"clip_sample\": false, \"interpolation_type\": \"linear\", \"num_train_timesteps\": 1000,"
            + " \"prediction_type\": \"v_prediction\", \"set_alpha_to_one\": false, \"sigma_max\": 700.0,"
            + " \"sigma_min\": 0.002, \"skip_prk_steps\": true, \"steps_offset\": 1,"
            + " \"timestep_spacing\": \"leading\", \"timestep_type\": \"continuous\", \"trained_betas\": null,"
            + " \"use_karras_sigmas\": true}";

    static EulerSampler sampler(String extra) {
        return new EulerSampler(SchedulerConfig.parse("{" + BASE + extra + "}"));
    }

    @Test
    void fullLoopNoNoise() {
        ParityAssert.sumAndMean(DiffusersFixtures.scaledLoop(sampler(""), 10), 10.0807, 0.0131);
    }

    @Test
    void fullLoopVPrediction() {
        ParityAssert.sumAndMean(DiffusersFixtures.scaledLoop(sampler(", \"prediction_type\": \"v_prediction\""), 10),
                0.0002, 2.2676e-06);
    }

    @Test
    void fullLoopKarrasSigmas() {
        ParityAssert.sumAndMean(DiffusersFixtures.scaledLoop(sampler(", \"use_karras_sigmas\": true"), 10),
                124.52299499511719, 0.16213932633399963);
    }

    @Test
    void fullLoopWithNoiseFromTail() {
        EulerSampler euler = sampler("");
        euler.setTimesteps(10);
        float[] start = ScheduleMath.scale(euler.initNoiseSigma(), DiffusersFixtures.sampleDeter());
        double[] tail = Arrays.copyOfRange(euler.timesteps(), 8, 10);
        float[] noisy = DiffusersFixtures.addNoise(euler, start, tail[0]);
        float[] result = DiffusersFixtures.run(euler, noisy, tail, true, null);
        ParityAssert.sumAndMean(result, 57062.9297, 1e-2, 74.3007, 1e-3);
    }

    @Test
    void stableDiffusionXlTimestepsAndSigmas() {
        EulerSampler euler = new EulerSampler(SchedulerConfig.parse(SDXL));
        euler.setTimesteps(10);
        assertThat(euler.timesteps()).containsExactly(901, 801, 701, 601, 501, 401, 301, 201, 101, 1);
        ParityAssert.allClose(euler.sigmas(), new double[] {8.390686988830566, 5.134433269500732,
            3.3477649688720703, 2.2928547859191895, 1.6236929893493652, 1.1682164669036865, 0.8356532454490662,
            0.5740507245063782, 0.3461872935295105, 0.04131447896361351, 0.0}, 3e-7, 0);
        assertThat(euler.initNoiseSigma()).isCloseTo(8.450066566467285, within(2e-6));
    }

    @Test
    void stableVideoDiffusionEdmTimestepsAndSigmas() {
        EulerSampler euler = new EulerSampler(SchedulerConfig.parse(SVD));
        euler.setTimesteps(10);
        ParityAssert.allClose(euler.timesteps(), new double[] {1.6377700567245483, 1.4666115045547485,
            1.2768797874450684, 1.064047932624817, 0.8217008709907532, 0.5403138399124146, 0.20484761893749237,
            -0.21055081486701965, -0.7562934756278992, -1.553652048110962}, 3e-7, 1e-7);
        ParityAssert.allClose(euler.sigmas(), new double[] {700.0, 352.9922180175781, 165.2598876953125,
            70.54084014892578, 26.757198333740234, 8.682029724121094, 2.2691164016723633, 0.4307604134082794,
            0.04854938015341759, 0.0020000000949949026, 0.0}, 3e-7, 0);
        assertThat(euler.initNoiseSigma()).isCloseTo(700.000732421875, within(1e-4));
        // the model input is scaled by 1 / sqrt(sigma^2 + 1)
        try (var in = Tensor.ofFloats(new float[] {1f}, 1);
             var scaled = euler.scaleModelInput(in, euler.timesteps()[0])) {
            assertThat(scaled.toFloatArray()[0]).isCloseTo((float) (1 / Math.sqrt(700.0 * 700.0 + 1)), within(1e-9f));
        }
    }

    @Test
    void edmProviderForcesContinuousKarras() {
        EulerSampler edm = (EulerSampler) new EulerSampler.EdmProvider().create(
                "{\"beta_schedule\": \"scaled_linear\", \"beta_start\": 0.00085, \"beta_end\": 0.012,"
                        + " \"prediction_type\": \"v_prediction\", \"timestep_spacing\": \"leading\","
                        + " \"steps_offset\": 1, \"use_karras_sigmas\": false}");
        EulerSampler svd = new EulerSampler(SchedulerConfig.parse(SVD));
        edm.setTimesteps(25);
        svd.setTimesteps(25);
        assertThat(edm.timesteps()).containsExactly(svd.timesteps());
        assertThat(edm.sigmas()).containsExactly(svd.sigmas());
    }

    @Test
    void linspaceTimestepsAreFractional() {
        EulerSampler euler = sampler("");
        euler.setTimesteps(10);
        double[] ts = euler.timesteps();
        assertThat(ts).hasSize(10);
        assertThat(ts[0]).isEqualTo(1099.0);
        assertThat(ts[1]).isCloseTo(1099.0 * 8 / 9, within(1e-3));
        assertThat(ts[9]).isEqualTo(0.0);
        assertThat(euler.sigmas()).hasSize(11);
        assertThat(euler.sigmas()[10]).isEqualTo(0.0);
    }

    @Test
    void finalSigmaMinKeepsTheSmallestTrainingSigma() {
        EulerSampler euler = sampler(", \"final_sigmas_type\": \"sigma_min\"");
        euler.setTimesteps(5);
        // sqrt((1 - a0) / a0) with a0 = 1 - 0.0001 in float32, as torch computes it
        assertThat(euler.sigmas()[5]).isCloseTo(0.010001329705119133, within(1e-9));
    }

    @Test
    void churnWithoutGeneratorIsAClearError() {
        EulerSampler euler = sampler("");
        euler.setChurn(1.0, 0, Double.POSITIVE_INFINITY, 1.0);
        euler.setTimesteps(4);
        double t = euler.timesteps()[0];
        try (var x = Tensor.ofFloats(new float[] {1f, 2f}, 2)) {
            assertThatThrownBy(() -> euler.step(x, t, x, null)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("random generator");
        }
    }

    @Test
    void rejectsConflictingSigmaSchedules() {
        assertThatThrownBy(() -> sampler(", \"use_karras_sigmas\": true, \"use_exponential_sigmas\": true"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("use_karras_sigmas");
        assertThatThrownBy(() -> sampler(", \"sigma_min\": -1"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("sigma_min");
    }

    @Test
    void unknownTimestepIsAClearError() {
        EulerSampler euler = sampler("");
        euler.setTimesteps(4);
        try (var x = Tensor.ofFloats(new float[] {1f}, 1)) {
            assertThatThrownBy(() -> euler.scaleModelInput(x, 3.5)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("3.5");
        }
    }

    @Test
    void zeroSnrRescalePinsTheLastAlpha() {
        EulerSampler euler = sampler(", \"rescale_betas_zero_snr\": true, \"timestep_spacing\": \"trailing\"");
        euler.setTimesteps(10);
        assertThat(euler.timesteps()[0]).isEqualTo(1099.0);
        // alphas_cumprod[-1] = 2^-24, so the largest sigma is sqrt((1 - 2^-24) / 2^-24)
        assertThat(euler.sigmas()[0]).isCloseTo(4096.0, within(1e-3));
    }

    @Test
    void logLinearInterpolationIsGeometric() {
        EulerSampler euler = sampler(", \"interpolation_type\": \"log_linear\"");
        euler.setTimesteps(10);
        double[] sigmas = euler.sigmas();
        assertThat(sigmas).hasSize(12);
        double ratio = sigmas[1] / sigmas[0];
        for (int i = 1; i < 10; i++) {
            assertThat(sigmas[i + 1] / sigmas[i]).isCloseTo(ratio, within(1e-5));
        }
        float[] result = DiffusersFixtures.scaledLoop(euler, 10);
        assertThat(DiffusersFixtures.absMean(result)).isFinite();
    }
}
