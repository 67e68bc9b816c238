package dev.asyncdiff.samplers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.asyncdiff.api.Tensor;
import org.junit.jupiter.api.Test;

/**
 * Flow-matching Euler against values derived from diffusers' {@code FlowMatchEulerDiscreteScheduler}
 * formulas (diffusers ships no full-loop test for it) and the SD3 shipped config.
 */
class FlowMatchEulerSamplerTest {
    /** Stable Diffusion 3 medium's shipped scheduler/scheduler_config.json. */
    static final String SD3 = "{\"_class_name\": \"FlowMatchEulerDiscreteScheduler\","
            + " \"_diffusers_version\": \"0.29.0.dev0\", \"num_train_timesteps\": 1000, \"shift\": 3.0}";

    @Test
    void stableDiffusion3TimestepsAndSigmas() {
        FlowMatchEulerSampler flow = new FlowMatchEulerSampler(SchedulerConfig.parse(SD3));
        flow.setTimesteps(10);
        ParityAssert.allClose(flow.timesteps(), new double[] {1000.0, 960.1293334960938, 913.3489990234375,
            857.6923217773438, 790.3682861328125, 707.2785034179688, 602.1505737304688, 464.87603759765625,
            278.0487976074219, 8.928571701049805}, 2e-7, 0);
        ParityAssert.allClose(flow.sigmas(), new double[] {1.0, 0.9601293206214905, 0.9133489727973938,
            0.857692301273346, 0.7903682589530945, 0.7072784900665283, 0.602150559425354, 0.4648760259151459,
            0.2780487835407257, 0.008928571827709675, 0.0}, 2e-7, 0);
        assertThat(flow.initNoiseSigma()).isEqualTo(1.0);
    }

    @Test
    void unshiftedSigmasAreLinear() {
        FlowMatchEulerSampler flow = new FlowMatchEulerSampler(SchedulerConfig.parse("{\"shift\": 1.0}"));
        flow.setTimesteps(4);
        ParityAssert.allClose(flow.sigmas(), new double[] {1.0, 0.667, 0.334, 0.001, 0.0}, 1e-6, 1e-7);
    }

    @Test
    void stepIsEulerOnTheVelocity() {
        FlowMatchEulerSampler flow = new FlowMatchEulerSampler(SchedulerConfig.parse(SD3));
        flow.setTimesteps(10);
        double[] ts = flow.timesteps();
        double[] sigmas = flow.sigmas();
        try (Tensor x = Tensor.ofFloats(new float[] {1f, -2f}, 2); Tensor v = Tensor.ofFloats(new float[] {0.5f, 3f}, 2);
             Tensor next = flow.step(v, ts[0], x, null)) {
            double dt = sigmas[1] - sigmas[0];
            assertThat(next.toFloatArray()[0]).isCloseTo((float) (1 + dt * 0.5), within(1e-6f));
            assertThat(next.toFloatArray()[1]).isCloseTo((float) (-2 + dt * 3), within(1e-6f));
        }
    }

    @Test
    void integratingAConstantVelocityFromNoiseReachesTheData() {
        // x_sigma = (1 - sigma) x0 + sigma eps has velocity eps - x0; Euler is exact for it
        FlowMatchEulerSampler flow = new FlowMatchEulerSampler(SchedulerConfig.parse(SD3));
        flow.setTimesteps(7);
        float[] x0 = DiffusersFixtures.sampleDeter();
        float[] eps = DiffusersFixtures.noiseDeter();
        float[] velocity = ScheduleMath.combine(1, eps, -1, x0);
        float[] x = eps;
        for (double t : flow.timesteps()) {
            try (Tensor in = Tensor.ofFloats(x, DiffusersFixtures.SHAPE);
                 Tensor v = Tensor.ofFloats(velocity, DiffusersFixtures.SHAPE);
                 Tensor next = flow.step(v, t, in, null)) {
                x = next.toFloatArray();
            }
        }
        for (int i = 0; i < x.length; i++) {
            assertThat(x[i]).isCloseTo(x0[i], within(1e-5f));
        }
    }

    @Test
    void addNoiseInterpolatesTowardNoise() {
        FlowMatchEulerSampler flow = new FlowMatchEulerSampler(SchedulerConfig.parse(SD3));
        double[] tail = flow.setTimestepsForStrength(10, 0.6);
        assertThat(tail).hasSize(6);
        double sigma = flow.sigmas()[4];
        try (Tensor x = Tensor.ofFloats(new float[] {1f}, 1); Tensor n = Tensor.ofFloats(new float[] {-1f}, 1);
             Tensor noisy = flow.addNoise(x, n, tail[0])) {
            assertThat(noisy.toFloatArray()[0]).isCloseTo((float) (1 - 2 * sigma), within(1e-6f));
        }
    }

    @Test
    void dynamicShiftingNeedsMu() {
        FlowMatchEulerSampler flux = new FlowMatchEulerSampler(SchedulerConfig.parse(
                "{\"use_dynamic_shifting\": true, \"base_shift\": 0.5, \"max_shift\": 1.15}"));
        assertThatThrownBy(() -> flux.setTimesteps(4)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("setImageSequenceLength");
        flux.setImageSequenceLength(4096);
        flux.setTimesteps(4);
        double mu = 1.15;
        double[] sigmas = flux.sigmas();
        // time_shift(mu, 1, t) = e^mu / (e^mu + 1/t - 1) on t = linspace(1, 0.001, 4)
        double t1 = 1 - 0.999 / 3;
        assertThat(sigmas[1]).isCloseTo(Math.exp(mu) / (Math.exp(mu) + 1 / t1 - 1), within(1e-6));
        assertThat(sigmas[0]).isCloseTo(1.0, within(1e-7));
    }
}
