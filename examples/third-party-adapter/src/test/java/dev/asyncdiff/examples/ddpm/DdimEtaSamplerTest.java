package dev.asyncdiff.examples.ddpm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.samplers.DdimSampler;
import dev.asyncdiff.samplers.SchedulerConfig;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DdimEtaSamplerTest {
    private static final String DDPM_CONFIG = """
            {"_class_name": "DDPMScheduler", "num_train_timesteps": 1000, "beta_start": 0.0001, "beta_end": 0.02,
             "beta_schedule": "linear", "clip_sample": true, "steps_offset": 0}
            """;
    private static final String SD_CONFIG = """
            {"_class_name": "DDIMScheduler", "num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012,
             "beta_schedule": "scaled_linear", "clip_sample": false, "set_alpha_to_one": false, "steps_offset": 1}
            """;
    private static final long[] SHAPE = {2, 3, 4, 4};

    @ParameterizedTest
    @ValueSource(strings = {DDPM_CONFIG, SD_CONFIG})
    void etaZeroEqualsTheBuiltInDdimOverAWholeLoop(String config) {
        NoiseScheduler mine = DdimEtaSampler.fromConfig(withEta(config, 0.0));
        NoiseScheduler reference = new DdimSampler(SchedulerConfig.parse(config));
        mine.setTimesteps(20);
        reference.setTimesteps(20);
        assertThat(mine.timesteps()).containsExactly(reference.timesteps());

        SplittableRandom data = new SplittableRandom(11);
        float[] start = gaussian(data, count());
        float[] x = start.clone();
        float[] y = start.clone();
        for (double t : mine.timesteps()) {
            float[] epsilon = gaussian(data, count());
            x = step(mine, epsilon, t, x, new SplittableRandom(1));
            y = step(reference, epsilon, t, y, new SplittableRandom(1));
            assertThat(maxAbsDifference(x, y)).as("after timestep %s", t).isLessThanOrEqualTo(1e-6);
        }
        assertThat(maxAbsDifference(x, start)).as("the loop changes the sample").isGreaterThan(0.1);
    }

    @Test
    void etaOneAddsTheFormulasVarianceToTheDeterministicStep() {
        DdimEtaSampler sampler = DdimEtaSampler.fromConfig(DDPM_CONFIG);
        assertThat(sampler.eta()).as("eta defaults to 1").isEqualTo(1.0);
        sampler.setTimesteps(10);
        assertThat(sampler.timesteps()).containsExactly(900, 800, 700, 600, 500, 400, 300, 200, 100, 0);

        SplittableRandom data = new SplittableRandom(5);
        float[] x = gaussian(data, count());
        float[] epsilon = gaussian(data, count());
        float[] stepped = step(sampler, epsilon, 500, x, new SplittableRandom(42));

        // by hand, in double precision: linear betas, cumulative alphas, then DDIM with eta 1 from t=500 to 400
        double alphaT = 1;
        double alphaPrev = 1;
        for (int i = 0; i <= 500; i++) {
            alphaT *= 1 - (0.0001 + (0.02 - 0.0001) * i / 999.0);
            if (i == 400) {
                alphaPrev = alphaT;
            }
        }
        double sigma = Math.sqrt((1 - alphaPrev) / (1 - alphaT)) * Math.sqrt(1 - alphaT / alphaPrev);
        assertThat(sampler.sigma(500)).isCloseTo(sigma, offset(1e-6));
        assertThat(sigma).as("eta 1 is DDPM's posterior standard deviation").isGreaterThan(0.01);
        SplittableRandom noise = new SplittableRandom(42);
        for (int i = 0; i < x.length; i++) {
            double x0 = (x[i] - Math.sqrt(1 - alphaT) * epsilon[i]) / Math.sqrt(alphaT);
            x0 = Math.max(-1, Math.min(1, x0));
            double z = (float) noise.nextGaussian();
            double expected = Math.sqrt(alphaPrev) * x0 + Math.sqrt(1 - alphaPrev - sigma * sigma) * epsilon[i]
                    + sigma * z;
            assertThat((double) stepped[i]).as("element %d", i).isCloseTo(expected,
                    offset(2e-5));
        }
    }

    @Test
    void etaOneEqualsTheBuiltInDdimWithTheSameEtaAndGenerator() {
        NoiseScheduler mine = DdimEtaSampler.fromConfig(DDPM_CONFIG);
        DdimSampler reference = new DdimSampler(SchedulerConfig.parse(DDPM_CONFIG));
        reference.setEta(1.0);
        mine.setTimesteps(8);
        reference.setTimesteps(8);
        SplittableRandom data = new SplittableRandom(3);
        float[] x = gaussian(data, count());
        float[] y = x.clone();
        SplittableRandom mineRng = new SplittableRandom(9);
        SplittableRandom referenceRng = new SplittableRandom(9);
        for (double t : mine.timesteps()) {
            float[] epsilon = gaussian(data, count());
            x = step(mine, epsilon, t, x, mineRng);
            y = step(reference, epsilon, t, y, referenceRng);
        }
        assertThat(maxAbsDifference(x, y)).isLessThanOrEqualTo(1e-6);
    }

    @Test
    void providerIsChosenByNameOnlyAndNamesBadKeys() {
        DdimEtaSamplerProvider provider = new DdimEtaSamplerProvider();
        assertThat(provider.name()).isEqualTo("ddim_eta");
        assertThat(provider.defaultForClass()).isNull();
        assertThat(((DdimEtaSampler) provider.create(withEta(DDPM_CONFIG, 0.3))).eta()).isEqualTo(0.3);
        assertThatThrownBy(() -> provider.create(withEta(DDPM_CONFIG, -1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'eta'");
        assertThatThrownBy(() -> provider.create("{\"prediction_type\": \"v_prediction\"}"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'prediction_type'")
                .hasMessageContaining("epsilon");
        assertThatThrownBy(() -> provider.create("{\"timestep_spacing\": \"trailing\"}"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'timestep_spacing'");
        assertThatThrownBy(() -> provider.create("{\"beta_schedule\": \"squaredcos_cap_v2\"}"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'beta_schedule'");
        assertThatThrownBy(() -> provider.create("[1, 2]"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("JSON object");
    }

    @Test
    void stepsNeedPreparedIntegerTimesteps() {
        DdimEtaSampler sampler = DdimEtaSampler.fromConfig(DDPM_CONFIG);
        try (Tensor x = Tensor.ofFloats(new float[] {0.5f}, 1)) {
            assertThatThrownBy(() -> sampler.step(x, 10, x, new SplittableRandom(1)))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("setTimesteps");
            sampler.setTimesteps(10);
            assertThatThrownBy(() -> sampler.step(x, 10.5, x, new SplittableRandom(1)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("integer");
        }
        assertThatThrownBy(() -> sampler.setTimesteps(1001)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("num_train_timesteps");
    }

    private static String withEta(String config, double eta) {
        return config.replaceFirst("\\{", "{\"eta\": " + eta + ", ");
    }

    private static float[] step(NoiseScheduler sampler, float[] epsilon, double t, float[] x, SplittableRandom rng) {
        try (Tensor sample = Tensor.ofFloats(x, SHAPE);
             Tensor output = Tensor.ofFloats(epsilon, SHAPE);
             Tensor next = sampler.step(output, t, sample, rng)) {
            return next.toFloatArray();
        }
    }

    private static int count() {
        int n = 1;
        for (long d : SHAPE) {
            n *= (int) d;
        }
        return n;
    }

    private static float[] gaussian(SplittableRandom random, int count) {
        float[] out = new float[count];
        for (int i = 0; i < count; i++) {
            out[i] = (float) random.nextGaussian();
        }
        return out;
    }

    private static double maxAbsDifference(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }
}
