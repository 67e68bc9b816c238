package dev.asyncdiff.samplers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** DPM-Solver multistep against diffusers' {@code tests/schedulers/test_scheduler_dpm_multi.py}. */
class DpmSolverMultistepSamplerTest {
    private static final String BASE = "\"num_train_timesteps\": 1000, \"beta_start\": 0.0001, \"beta_end\": 0.02,"
            + " \"beta_schedule\": \"linear\", \"solver_order\": 2, \"prediction_type\": \"epsilon\","
            + " \"thresholding\": false, \"sample_max_value\": 1.0, \"algorithm_type\": \"dpmsolver++\","
            + " \"solver_type\": \"midpoint\", \"lower_order_final\": false, \"euler_at_final\": false,"
            + " \"lambda_min_clipped\": null, \"variance_type\": null, \"final_sigmas_type\": \"sigma_min\"";

    static DpmSolverMultistepSampler sampler(String extra) {
        return new DpmSolverMultistepSampler(SchedulerConfig.parse("{" + BASE + extra + "}"));
    }

    @Test
    void fullLoopNoNoise() {
        ParityAssert.mean(DiffusersFixtures.plainLoop(sampler(""), 10), 0.3301);
    }

    @Test
    void fullLoopWithNoiseFromTail() {
        DpmSolverMultistepSampler dpm = sampler("");
        dpm.setTimesteps(10);
        double[] tail = Arrays.copyOfRange(dpm.timesteps(), 5, 10);
        float[] noisy = DiffusersFixtures.addNoise(dpm, DiffusersFixtures.sampleDeter(), tail[0]);
        ParityAssert.sumAndMean(DiffusersFixtures.run(dpm, noisy, tail, false, null), 318.4111, 0.4146);
    }

    @Test
    void fullLoopThresholding() {
        ParityAssert.mean(DiffusersFixtures.plainLoop(sampler(", \"thresholding\": true,"
                + " \"dynamic_thresholding_ratio\": 0.87, \"sample_max_value\": 0.5"), 10), 1.1364);
    }

    @Test
    void fullLoopVPrediction() {
        ParityAssert.mean(DiffusersFixtures.plainLoop(sampler(", \"prediction_type\": \"v_prediction\""), 10), 0.2251);
    }

    @Test
    void fullLoopKarrasAndVPrediction() {
        ParityAssert.mean(DiffusersFixtures.plainLoop(sampler(", \"prediction_type\": \"v_prediction\","
                + " \"use_karras_sigmas\": true"), 10), 0.2096);
    }

    @Test
    void fullLoopLuLambdasAndVPrediction() {
        ParityAssert.mean(DiffusersFixtures.plainLoop(sampler(", \"prediction_type\": \"v_prediction\","
                + " \"use_lu_lambdas\": true"), 10), 0.1554);
    }

    @Test
    void everyOrderAndAlgorithmStaysFinite() {
        for (String algorithm : new String[] {"dpmsolver++", "dpmsolver"}) {
            for (String solverType : new String[] {"midpoint", "heun"}) {
                for (int order = 1; order <= 3; order++) {
                    float[] result = DiffusersFixtures.plainLoop(sampler(", \"algorithm_type\": \"" + algorithm
                            + "\", \"solver_type\": \"" + solverType + "\", \"solver_order\": " + order), 10);
                    assertThat(DiffusersFixtures.absMean(result)).as("%s %s order %d", algorithm, solverType, order)
                            .isFinite().isPositive();
                }
            }
        }
    }

    @Test
    void orderOneDpmSolverAndDpmSolverPlusPlusAgree() {
        // at first order both parameterisations are the same exponential integrator (DDIM)
        float[] plus = DiffusersFixtures.plainLoop(sampler(", \"solver_order\": 1"), 10);
        float[] plain = DiffusersFixtures.plainLoop(sampler(", \"solver_order\": 1, \"algorithm_type\":"
                + " \"dpmsolver\""), 10);
        for (int i = 0; i < plus.length; i++) {
            assertThat(plain[i]).isCloseTo(plus[i], org.assertj.core.api.Assertions.within(1e-4f));
        }
    }

    @Test
    void sdeVariantIsSeededAndReproducible() {
        DpmSolverMultistepSampler sde = sampler(", \"algorithm_type\": \"sde-dpmsolver++\"");
        sde.setTimesteps(10);
        float[] a = DiffusersFixtures.run(sde, DiffusersFixtures.sampleDeter(), sde.timesteps(), false,
                new SplittableRandom(5));
        sde.setTimesteps(10);
        float[] b = DiffusersFixtures.run(sde, DiffusersFixtures.sampleDeter(), sde.timesteps(), false,
                new SplittableRandom(5));
        assertThat(b).containsExactly(a);
    }

    @Test
    void setTimestepsResetsHistory() {
        DpmSolverMultistepSampler dpm = sampler("");
        float[] first = DiffusersFixtures.plainLoop(dpm, 10);
        float[] second = DiffusersFixtures.plainLoop(dpm, 10);
        assertThat(second).containsExactly(first);
    }

    @Test
    void timestepsAreDescendingIntegers() {
        DpmSolverMultistepSampler dpm = sampler("");
        dpm.setTimesteps(10);
        assertThat(dpm.timesteps()).containsExactly(999, 899, 799, 699, 599, 500, 400, 300, 200, 100);
        DpmSolverMultistepSampler all = sampler("");
        all.setTimesteps(1000);
        assertThat(all.timesteps()).hasSize(1000);
    }

    @Test
    void dpmSolverRejectsZeroFinalSigma() {
        assertThatThrownBy(() -> sampler(", \"algorithm_type\": \"dpmsolver\", \"final_sigmas_type\": \"zero\""))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("final_sigmas_type");
        assertThatThrownBy(() -> sampler(", \"solver_order\": 4"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("solver_order");
    }

    @Test
    void dpmPlusPlus2mKarrasOnStableDiffusion15() {
        DpmSolverMultistepSampler dpm = (DpmSolverMultistepSampler) Samplers.fromConfig(PndmSamplerTest.SD15,
                "dpmpp_2m_karras");
        dpm.setTimesteps(10);
        assertThat(dpm.timesteps()).containsExactly(999, 916, 815, 687, 523, 327, 146, 41, 7, 0);
        ParityAssert.allClose(dpm.sigmas(), new double[] {14.614646911621094, 9.102936744689941, 5.478401184082031,
            3.1686110496520996, 1.7494231462478638, 0.9140765070915222, 0.44692090153694153, 0.20139986276626587,
            0.08191104978322983, 0.029167532920837402, 0.0}, 3e-7, 0);
    }

    @Test
    void lambdaMinClippedShortensACosineSchedule() {
        DpmSolverMultistepSampler dpm = sampler(", \"beta_schedule\": \"squaredcos_cap_v2\","
                + " \"lambda_min_clipped\": -5.1");
        dpm.setTimesteps(10);
        assertThat(dpm.timesteps()).containsExactly(995, 896, 796, 696, 597, 498, 398, 298, 199, 100);
    }
}
