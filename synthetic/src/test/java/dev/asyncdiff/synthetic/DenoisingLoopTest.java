package dev.asyncdiff.synthetic;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OrtException;
import dev.asyncdiff.api.DType;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The weight scaling keeps a whole generation stable: 50 DDIM steps with classifier-free guidance
 * (epsilon prediction; v-prediction for SD 2.1) through the tiny UNet, then the tiny VAE decoder,
 * give finite, non-constant latents and images.
 */
class DenoisingLoopTest {
    private static final int STEPS = 50;
    private static final int TRAIN_STEPS = 1000;
    private static final int LATENT = 16;
    private static final float GUIDANCE = 7.5f;

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(value = Family.class, names = {"SD15", "SD21", "SDXL"}) // text-to-image UNets; SD 3 in Sd3*Test
    void fiftyStepsStayFiniteAndVaried(Family family) throws OrtException {
        FamilyPreset preset = FamilyPreset.of(family, Scale.TINY);
        UNetConfig cfg = preset.unet();
        double[] alphasCumprod = alphasCumprod();
        int size = 4 * LATENT * LATENT;
        float[] x = gaussian(11, size);
        float[] latents;
        try (GraphRun unet = new GraphRun(UNetGraph.build(cfg, new Weights(5), DType.FP32), dir.resolve("unet.onnx"))) {
            unet.randomInput("encoder_hidden_states", 12, 2, 77, cfg.crossAttentionDim());
            if (cfg.hasAddEmbedding()) {
                unet.randomInput("text_embeds", 13, 2, cfg.textEmbedsDim()).floatInput("time_ids",
                        new float[] {128, 128, 0, 0, 128, 128, 128, 128, 0, 0, 128, 128}, 2, 6);
            }
            int stride = TRAIN_STEPS / STEPS;
            for (int t = TRAIN_STEPS - stride + 1; t > 0; t -= stride) {
                float[] batch = new float[2 * size];
                System.arraycopy(x, 0, batch, 0, size);
                System.arraycopy(x, 0, batch, size, size);
                float[] out = unet.floatInput("sample", batch, 2, 4, LATENT, LATENT)
                        .floatInput("timestep", new float[] {t}, new long[0]).run().get("out_sample").values();
                double at = alphasCumprod[t];
                double prev = t - stride >= 0 ? alphasCumprod[t - stride] : alphasCumprod[0];
                for (int i = 0; i < size; i++) {
                    double prediction = out[i] + GUIDANCE * (out[size + i] - out[i]);
                    double eps;
                    double x0;
                    if (family.base() == Family.SD21) {
                        x0 = Math.sqrt(at) * x[i] - Math.sqrt(1 - at) * prediction;
                        eps = Math.sqrt(at) * prediction + Math.sqrt(1 - at) * x[i];
                    } else {
                        eps = prediction;
                        x0 = (x[i] - Math.sqrt(1 - at) * eps) / Math.sqrt(at);
                    }
                    x[i] = (float) (Math.sqrt(prev) * x0 + Math.sqrt(1 - prev) * eps);
                }
            }
            latents = x;
        }
        GraphRun.Result latentStats = new GraphRun.Result(new long[] {1, 4, LATENT, LATENT}, latents);
        for (float v : latents) {
            assertThat(Float.isFinite(v)).as("latents finite").isTrue();
        }
        assertThat(latentStats.std()).as("latents vary").isBetween(1e-3, 1e3);

        float[] scaled = new float[size];
        for (int i = 0; i < size; i++) {
            scaled[i] = (float) (latents[i] / preset.vae().scalingFactor());
        }
        try (GraphRun decoder = new GraphRun(VaeGraphs.decoder(preset.vae(), new Weights(5), DType.FP32),
                dir.resolve("decoder.onnx"))) {
            GraphRun.Result image = decoder.floatInput("latent_sample", scaled, 1, 4, LATENT, LATENT).run().get("sample");
            assertThat(image.shape()).containsExactly(1, 3, 8 * LATENT, 8 * LATENT);
            assertThat(image.std()).as("the image varies").isBetween(1e-2, 10.0);
        }
    }

    /** Stable Diffusion's scaled-linear schedule: betas from sqrt(0.00085) to sqrt(0.012), squared. */
    private static double[] alphasCumprod() {
        double[] cumprod = new double[TRAIN_STEPS];
        double product = 1;
        double start = Math.sqrt(0.00085);
        double end = Math.sqrt(0.012);
        for (int i = 0; i < TRAIN_STEPS; i++) {
            double root = start + (end - start) * i / (TRAIN_STEPS - 1);
            product *= 1 - root * root;
            cumprod[i] = product;
        }
        return cumprod;
    }

    private static float[] gaussian(long seed, int count) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] values = new float[count];
        for (int i = 0; i < count; i++) {
            double u1 = random.nextDouble(1e-12, 1);
            values[i] = (float) (Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * random.nextDouble()));
        }
        return values;
    }
}
