package dev.asyncdiff.samplers;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** UniPC against diffusers' {@code tests/schedulers/test_scheduler_unipc.py} (2D and 1D samples). */
class UniPcSamplerTest {
    private static final String BASE = "\"num_train_timesteps\": 1000, \"beta_start\": 0.0001, \"beta_end\": 0.02,"
            + " \"beta_schedule\": \"linear\", \"solver_order\": 2, \"solver_type\": \"bh2\","
            + " \"final_sigmas_type\": \"sigma_min\"";
    private static final long[] SHAPE_1D = {4, 3, 8};

    static UniPcSampler sampler(String extra) {
        return new UniPcSampler(SchedulerConfig.parse("{" + BASE + extra + "}"));
    }

    static float[] loop1d(UniPcSampler sampler) {
        sampler.setTimesteps(10);
        return DiffusersFixtures.run(sampler, DiffusersFixtures.deter(false, SHAPE_1D), sampler.timesteps(), false,
                null, SHAPE_1D);
    }

    @Test
    void fullLoopNoNoise() {
        ParityAssert.mean(DiffusersFixtures.plainLoop(sampler(""), 10), 0.2464);
    }

    @Test
    void fullLoopKarras() {
        ParityAssert.mean(DiffusersFixtures.plainLoop(sampler(", \"use_karras_sigmas\": true"), 10), 0.2925);
    }

    @Test
    void fullLoopVPrediction() {
        ParityAssert.mean(DiffusersFixtures.plainLoop(sampler(", \"prediction_type\": \"v_prediction\""), 10), 0.1014);
    }

    @Test
    void fullLoopKarrasAndVPrediction() {
        ParityAssert.mean(DiffusersFixtures.plainLoop(sampler(", \"prediction_type\": \"v_prediction\","
                + " \"use_karras_sigmas\": true"), 10), 0.1966);
    }

    @Test
    void fullLoopWithNoiseFromTail() {
        UniPcSampler unipc = sampler("");
        unipc.setTimesteps(10);
        double[] tail = Arrays.copyOfRange(unipc.timesteps(), 8, 10);
        float[] noisy = DiffusersFixtures.addNoise(unipc, DiffusersFixtures.sampleDeter(), tail[0]);
        ParityAssert.sumAndMean(DiffusersFixtures.run(unipc, noisy, tail, false, null), 315.5757, 0.4109);
    }

    @Test
    void oneDimensionalSamples() {
        ParityAssert.mean(loop1d(sampler("")), 0.2441);
        ParityAssert.mean(loop1d(sampler(", \"use_karras_sigmas\": true")), 0.2898);
        ParityAssert.mean(loop1d(sampler(", \"prediction_type\": \"v_prediction\"")), 0.1014);
        ParityAssert.mean(loop1d(sampler(", \"prediction_type\": \"v_prediction\", \"use_karras_sigmas\": true")),
                0.1944);
    }

    @Test
    void oneDimensionalWithNoiseFromTail() {
        UniPcSampler unipc = sampler("");
        unipc.setTimesteps(10);
        double[] tail = Arrays.copyOfRange(unipc.timesteps(), 8, 10);
        float[] noisy = DiffusersFixtures.addNoise(unipc, DiffusersFixtures.deter(false, SHAPE_1D),
                DiffusersFixtures.deter(true, SHAPE_1D), tail[0], SHAPE_1D);
        ParityAssert.sumAndMean(DiffusersFixtures.run(unipc, noisy, tail, false, null, SHAPE_1D), 39.0870, 0.4072);
    }

    @Test
    void flowAndKarrasSigmaValues() {
        UniPcSampler unipc = new UniPcSampler(SchedulerConfig.parse("{\"sigma_min\": 0.01, \"sigma_max\": 200.0,"
                + " \"use_flow_sigmas\": true, \"use_karras_sigmas\": true, \"num_train_timesteps\": 1000}"));
        unipc.setTimesteps(5);
        double[] expected = {0.9950248599052429, 0.9787454605102539, 0.8774884343147278, 0.3604971766471863,
            0.009900986216962337, 0.0};
        ParityAssert.allClose(unipc.sigmas(), expected, 1e-5, 1e-8);
        assertThat(unipc.timesteps()).containsExactly(995, 978, 877, 360, 9);
    }

    @Test
    void higherOrdersAndBh1StayFinite() {
        for (String type : new String[] {"bh1", "bh2"}) {
            for (int order = 1; order <= 3; order++) {
                float[] result = DiffusersFixtures.plainLoop(sampler(", \"solver_type\": \"" + type
                        + "\", \"solver_order\": " + order), 10);
                assertThat(DiffusersFixtures.absMean(result)).as("%s order %d", type, order).isFinite().isPositive();
            }
        }
        float[] noiseSpace = DiffusersFixtures.plainLoop(sampler(", \"predict_x0\": false"), 10);
        assertThat(DiffusersFixtures.absMean(noiseSpace)).isFinite().isPositive();
    }

    @Test
    void setTimestepsResetsHistory() {
        UniPcSampler unipc = sampler("");
        float[] first = DiffusersFixtures.plainLoop(unipc, 10);
        float[] second = DiffusersFixtures.plainLoop(unipc, 10);
        assertThat(second).containsExactly(first);
    }

    @Test
    void solvesSmallSystems() {
        double[] x = UniPcSampler.solve(new double[][] {{1, 1, 1}, {2, 3, 5}, {4, 9, 25}}, new double[] {6, 23, 97});
        ParityAssert.allClose(x, new double[] {1, 2, 3}, 0, 1e-12);
    }
}
