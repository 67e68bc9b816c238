package dev.asyncdiff.samplers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.spi.ProviderRegistry;
import dev.asyncdiff.spi.SamplerProvider;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The facade, the providers and the invariants every sampler keeps. */
class SamplersTest {
    /** Stable Diffusion 2.1's shipped scheduler/scheduler_config.json. */
    static final String SD21 = "{\"_class_name\": \"DDIMScheduler\", \"_diffusers_version\": \"0.8.0\","
            + " \"beta_end\": 0.012, \"beta_schedule\": \"scaled_linear\", \"beta_start\": 0.00085,"
            + " \"clip_sample\": false, \"num_train_timesteps\": 1000, \"prediction_type\": \"v_prediction\","
            + " \"set_alpha_to_one\": false, \"skip_prk_steps\": true, \"steps_offset\": 1, \"trained_betas\": null}";
    private static final double SD_SIGMA_MAX = 14.614646911621094;
    private static final double SD_SIGMA_MIN = Math.sqrt((1 - 0.9991499781608582) / 0.9991499781608582);

    static String[] names() {
        return Samplers.names().toArray(String[]::new);
    }

    @Test
    void picksTheClassOfEachShippedConfig() {
        assertThat(Samplers.fromConfig(PndmSamplerTest.SD15)).isInstanceOf(PndmSampler.class);
        assertThat(Samplers.fromConfig(SD21)).isInstanceOf(DdimSampler.class);
        assertThat(Samplers.fromConfig(EulerSamplerTest.SDXL)).isInstanceOf(EulerSampler.class);
        assertThat(Samplers.fromConfig(FlowMatchEulerSamplerTest.SD3)).isInstanceOf(FlowMatchEulerSampler.class);
        assertThat(Samplers.fromConfig(EulerSamplerTest.SVD)).isInstanceOf(EulerSampler.class);
    }

    @Test
    void stableDiffusion21UsesScaledLinearBetas() {
        NoiseScheduler ddim = Samplers.fromConfig(SD21);
        ddim.setTimesteps(10);
        assertThat(ddim.timesteps()).containsExactly(901, 801, 701, 601, 501, 401, 301, 201, 101, 1);
        // add_noise(x=1, noise=1, t) = sqrt(a_t) + sqrt(1 - a_t), with diffusers' alphas_cumprod
        for (double[] tAndAlpha : new double[][] {{1, 0.9982960224151611}, {501, 0.27499884366989136},
            {901, 0.014004888944327831}, {999, 0.00466009508818388}}) {
            try (Tensor one = Tensor.ofFloats(new float[] {1f}, 1);
                 Tensor noisy = ddim.addNoise(one, one, tAndAlpha[0])) {
                double a = tAndAlpha[1];
                assertThat(noisy.toFloatArray()[0]).as("t=%s", tAndAlpha[0])
                        .isCloseTo((float) (Math.sqrt(a) + Math.sqrt(1 - a)), within(2e-7f));
            }
        }
    }

    @Test
    void overrideReusesTheCheckpointBetas() {
        EulerAncestralSampler ancestral = (EulerAncestralSampler) Samplers.fromConfig(PndmSamplerTest.SD15, "euler_a");
        ancestral.setTimesteps(10);
        assertThat(ancestral.sigmas()[0]).isCloseTo(SD_SIGMA_MAX, within(1e-5));
        EulerSampler byClass = (EulerSampler) Samplers.fromConfig(PndmSamplerTest.SD15, "EulerDiscreteScheduler");
        byClass.setTimesteps(10);
        assertThat(byClass.sigmas()[0]).isCloseTo(SD_SIGMA_MAX, within(1e-5));
        DpmSolverMultistepSampler karras = (DpmSolverMultistepSampler) Samplers.fromConfig(PndmSamplerTest.SD15,
                "dpmpp_2m_karras");
        karras.setTimesteps(10);
        double[] sigmas = karras.sigmas();
        assertThat(sigmas[0]).isCloseTo(SD_SIGMA_MAX, within(1e-5));
        assertThat(sigmas[9]).isCloseTo(SD_SIGMA_MIN, within(1e-6));
        assertThat(sigmas[10]).isZero();
        // Karras spacing: sigma^(1/7) is linear in the step
        double first = Math.pow(sigmas[0], 1 / 7.0);
        double last = Math.pow(sigmas[9], 1 / 7.0);
        assertThat(Math.pow(sigmas[3], 1 / 7.0)).isCloseTo(first + (last - first) * 3 / 9, within(1e-5));
    }

    @Test
    void overrideByShortNameForcesTheVariant() {
        DpmSolverMultistepSampler plain = (DpmSolverMultistepSampler) Samplers.fromConfig(
                "{\"_class_name\": \"DPMSolverMultistepScheduler\", \"use_karras_sigmas\": true}", "dpmpp_2m");
        plain.setTimesteps(10);
        DpmSolverMultistepSampler asConfigured = (DpmSolverMultistepSampler) Samplers.fromConfig(
                "{\"_class_name\": \"DPMSolverMultistepScheduler\", \"use_karras_sigmas\": false}");
        asConfigured.setTimesteps(10);
        assertThat(plain.sigmas()).containsExactly(asConfigured.sigmas());
    }

    @Test
    void unknownNamesAndClassesListTheKnownOnes() {
        assertThatThrownBy(() -> Samplers.fromConfig(PndmSamplerTest.SD15, "eulr"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("eulr")
                .hasMessageContaining("euler_a").hasMessageContaining("dpmpp_2m_karras");
        assertThatThrownBy(() -> Samplers.fromConfig("{\"_class_name\": \"KDPM2DiscreteScheduler\"}"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("KDPM2DiscreteScheduler")
                .hasMessageContaining("EulerDiscreteScheduler");
        assertThatThrownBy(() -> Samplers.fromConfig("{\"num_train_timesteps\": 1000}"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("_class_name");
        assertThatThrownBy(() -> Samplers.fromConfig("[1, 2]"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("JSON object");
        assertThatThrownBy(() -> Samplers.fromConfig("{\"_class_name\": \"DDIMScheduler\", \"beta_end\": \"x\"}"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("beta_end");
        assertThatThrownBy(() -> Samplers.fromConfig("{\"_class_name\": \"DDIMScheduler\", \"beta_end\": 1.5}"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("beta");
    }

    @Test
    void readsConfigFiles(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("scheduler_config.json");
        Files.writeString(file, EulerSamplerTest.SDXL);
        assertThat(Samplers.fromConfig(file)).isInstanceOf(EulerSampler.class);
        assertThat(Samplers.fromConfig(file, "unipc")).isInstanceOf(UniPcSampler.class);
        Path missing = dir.resolve("nope.json");
        assertThatThrownBy(() -> Samplers.fromConfig(missing)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("nope.json");
        Path broken = dir.resolve("broken.json");
        Files.writeString(broken, "{\"_class_name\": ");
        assertThatThrownBy(() -> Samplers.fromConfig(broken)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("broken.json");
    }

    @Test
    void serviceLoaderFindsEveryProvider() {
        ProviderRegistry<SamplerProvider> registry = ProviderRegistry.load("sampler", SamplerProvider.class);
        assertThat(registry.names()).containsExactlyInAnyOrderElementsOf(Samplers.names());
        assertThat(Samplers.names()).contains("ddim", "pndm", "ddpm", "euler", "euler_a", "lms", "heun",
                "dpm_multistep", "dpmpp_2m", "dpmpp_2m_karras", "dpmpp_2m_sde", "unipc", "lcm", "flow_euler",
                "edm_euler");
        assertThat(Samplers.classNames()).containsExactly("DDIMScheduler", "DDPMScheduler",
                "DPMSolverMultistepScheduler", "EulerAncestralDiscreteScheduler", "EulerDiscreteScheduler",
                "FlowMatchEulerDiscreteScheduler", "HeunDiscreteScheduler", "LCMScheduler", "LMSDiscreteScheduler",
                "PNDMScheduler", "UniPCMultistepScheduler");
        NoiseScheduler viaSpi = registry.get("heun").create(PndmSamplerTest.SD15);
        assertThat(viaSpi).isInstanceOf(HeunSampler.class);
    }

    @Test
    void strengthStartStepFollowsDiffusers() {
        assertThat(NoiseScheduler.strengthStartStep(50, 0.75)).isEqualTo(13);
        assertThat(NoiseScheduler.strengthStartStep(10, 1.0)).isZero();
        assertThat(NoiseScheduler.strengthStartStep(10, 0.0)).isEqualTo(10);
        assertThat(NoiseScheduler.strengthStartStep(3, 0.5)).isEqualTo(2);
        assertThatThrownBy(() -> NoiseScheduler.strengthStartStep(10, 1.5))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("strength");
    }

    @ParameterizedTest
    @MethodSource("names")
    void timestepsHaveTheRightLengthAndOrder(String name) {
        NoiseScheduler sampler = Samplers.fromConfig(PndmSamplerTest.SD15, name);
        sampler.setTimesteps(20);
        double[] ts = sampler.timesteps();
        int expected = switch (name) {
            case "heun" -> 39;
            case "pndm" -> 21;
            default -> 20;
        };
        assertThat(ts).as(name).hasSize(expected);
        for (int i = 1; i < ts.length; i++) {
            assertThat(ts[i]).as("%s timesteps %s", name, Arrays.toString(ts)).isLessThanOrEqualTo(ts[i - 1]);
            assertThat(ts[i]).isFinite();
        }
        assertThat(sampler.initNoiseSigma()).isPositive();
    }

    @ParameterizedTest
    @MethodSource("names")
    void strengthKeepsDiffusersTail(String name) {
        if (name.equals("lcm")) {
            return; // LCM picks its steps within the strength (LcmSamplerTest)
        }
        NoiseScheduler sampler = Samplers.fromConfig(PndmSamplerTest.SD15, name);
        sampler.setTimesteps(20);
        double[] all = sampler.timesteps();
        double[] tail = sampler.setTimestepsForStrength(20, 0.4);
        int start = (20 - 8) * sampler.order();
        assertThat(tail).as(name).containsExactly(Arrays.copyOfRange(all, start, all.length));
        // an image-to-image run from the tail completes
        float[] noisy = DiffusersFixtures.addNoise(sampler, DiffusersFixtures.sampleDeter(), tail[0]);
        float[] result = DiffusersFixtures.run(sampler, noisy, tail, true, new SplittableRandom(1));
        assertThat(DiffusersFixtures.absMean(result)).as(name).isFinite();
    }

    @ParameterizedTest
    @MethodSource("names")
    void setTimestepsStartsAFreshGeneration(String name) {
        NoiseScheduler used = Samplers.fromConfig(PndmSamplerTest.SD15, name);
        used.setTimesteps(12);
        DiffusersFixtures.run(used, DiffusersFixtures.noiseDeter(), used.timesteps(), true, new SplittableRandom(2));
        used.setTimesteps(12);
        float[] second = DiffusersFixtures.run(used, DiffusersFixtures.sampleDeter(), used.timesteps(), true,
                new SplittableRandom(3));
        NoiseScheduler fresh = Samplers.fromConfig(PndmSamplerTest.SD15, name);
        fresh.setTimesteps(12);
        float[] expected = DiffusersFixtures.run(fresh, DiffusersFixtures.sampleDeter(), fresh.timesteps(), true,
                new SplittableRandom(3));
        assertThat(second).as(name).containsExactly(expected);
    }

    @ParameterizedTest
    @MethodSource("names")
    void acceptsHalfPrecisionAndReturnsNewFp32Tensors(String name) {
        NoiseScheduler a = Samplers.fromConfig(PndmSamplerTest.SD15, name);
        NoiseScheduler b = Samplers.fromConfig(PndmSamplerTest.SD15, name);
        a.setTimesteps(8);
        b.setTimesteps(8);
        double t = a.timesteps()[0];
        try (Tensor x32 = Tensor.ofFloats(DiffusersFixtures.sampleDeter(), DiffusersFixtures.SHAPE);
             Tensor x16 = x32.to(DType.FP16);
             Tensor x16as32 = x16.to(DType.FP32);
             Tensor e16 = x16.to(DType.FP16);
             Tensor r16 = a.step(e16, t, x16, new SplittableRandom(4));
             Tensor r32 = b.step(x16as32, t, x16as32, new SplittableRandom(4))) {
            assertThat(r16.dtype()).isEqualTo(DType.FP32);
            assertThat(r16.shape()).containsExactly(DiffusersFixtures.SHAPE);
            assertThat(r16.toFloatArray()).containsExactly(r32.toFloatArray());
            assertThat(x16.isClosed()).isFalse();
        }
    }

    @ParameterizedTest
    @MethodSource("names")
    void misuseIsAClearError(String name) {
        NoiseScheduler sampler = Samplers.fromConfig(PndmSamplerTest.SD15, name);
        try (Tensor x = Tensor.ofFloats(new float[] {1f, 2f}, 2); Tensor y = Tensor.ofFloats(new float[] {1f}, 1);
             Tensor ints = Tensor.ofLongs(new long[] {1, 2}, 2)) {
            if (!name.equals("ddpm")) {
                assertThatThrownBy(() -> sampler.step(x, 1, x, null)).as(name)
                        .isInstanceOf(IllegalStateException.class).hasMessageContaining("setTimesteps");
            }
            sampler.setTimesteps(5);
            double t = sampler.timesteps()[0];
            assertThatThrownBy(() -> sampler.step(y, t, x, new SplittableRandom(1))).as(name)
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("modelOutput");
            assertThatThrownBy(() -> sampler.step(ints, t, x, new SplittableRandom(1))).as(name)
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("floating-point");
            assertThatThrownBy(() -> sampler.setTimesteps(0)).as(name).isInstanceOf(IllegalArgumentException.class);
        }
    }
}
