package dev.asyncdiff.adapters.sd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.GenerationRequest;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.PipelineOutput;
import dev.asyncdiff.api.RequestKind;
import dev.asyncdiff.api.StepContext;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.backend.onnx.OnnxBackend;
import dev.asyncdiff.spi.BackendOptions;
import dev.asyncdiff.synthetic.Family;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Inpainting: diffusers' mask processing, the 9-channel UNet's step inputs, the 4-channel blend, every strategy. */
class InpaintingTest {
    private static final int SIZE = 64;
    private static OnnxBackend backend;

    @TempDir
    static Path splits;

    @BeforeAll
    static void openBackend() {
        backend = new OnnxBackend(BackendOptions.defaults());
    }

    @AfterAll
    static void closeBackend() {
        backend.close();
    }

    @Test
    void theMaskIsLumaBinarisedAtOneHalfAndSampledNearestOntoTheLatentGrid() {
        BufferedImage mask = new BufferedImage(16, 16, BufferedImage.TYPE_INT_RGB);
        mask.setRGB(0, 0, new Color(127, 127, 127).getRGB());
        mask.setRGB(8, 0, new Color(128, 128, 128).getRGB());
        mask.setRGB(0, 8, new Color(255, 0, 0).getRGB());     // luma 76: kept
        mask.setRGB(8, 8, new Color(0, 255, 0).getRGB());     // luma 149: repainted
        mask.setRGB(9, 9, Color.WHITE.getRGB());              // not on the latent grid's sample points
        float[] pixels = Inpainting.binaryMask(mask, 16, 16);
        assertThat(pixels[0]).isZero();
        assertThat(pixels[8]).isEqualTo(1f);
        assertThat(pixels[8 * 16]).isZero();
        assertThat(pixels[8 * 16 + 8]).isEqualTo(1f);
        assertThat(pixels[9 * 16 + 9]).isEqualTo(1f);
        assertThat(Inpainting.latentMask(pixels, 16, 16, 8)).containsExactly(0f, 1f, 0f, 1f);
        float[] image = new float[3 * 256];
        Arrays.fill(image, 0.5f);
        float[] masked = Inpainting.maskedImage(image, pixels);
        assertThat(masked[8]).isZero();
        assertThat(masked[256 + 8]).isZero();
        assertThat(masked[0]).isEqualTo(0.5f);
    }

    @Test
    void theNineChannelSampleIsLatentsThenMaskThenMaskedLatents() {
        float[] mask = {0, 1, 1, 0};
        float[] masked = {10, 11, 12, 13, 20, 21, 22, 23};
        Inpainting inpainting = new Inpainting(2, 2, 2, 2, mask, masked, new float[8], new float[16]);
        float[] latents = new float[16];
        for (int i = 0; i < latents.length; i++) {
            latents[i] = -i;
        }
        try (Tensor scaled = Tensor.ofFloats(latents, 2, 2, 2, 2);
             NamedTensors inputs = inpainting.stepInputs().build(new StepContext(0, 1, 999, 0, 1, false), scaled)) {
            Tensor sample = inputs.get("sample");
            assertThat(sample.shape()).containsExactly(2, 5, 2, 2);
            float[] values = sample.toFloatArray();
            assertThat(Arrays.copyOfRange(values, 0, 8)).containsExactly(Arrays.copyOfRange(latents, 0, 8));
            assertThat(Arrays.copyOfRange(values, 8, 12)).containsExactly(mask);
            assertThat(Arrays.copyOfRange(values, 12, 20)).containsExactly(masked);
            assertThat(Arrays.copyOfRange(values, 20, 28)).containsExactly(Arrays.copyOfRange(latents, 8, 16));
        }
    }

    @Test
    void nineChannelModelsServeInpaintingInEveryStrategy() {
        for (Family family : List.of(Family.SDXL_INPAINT, Family.SD15_INPAINT)) {
            try (StableDiffusionPipeline pipeline = open(family, 5)) {
                assertThat(pipeline.requestKinds()).containsExactly(RequestKind.INPAINTING);
                float[] sequential = latents(pipeline, request());
                assertThat(latents(pipeline, request())).as("deterministic").containsExactly(sequential);
                for (int n = 1; n <= 4; n++) {
                    for (int stride = 1; stride <= 2; stride++) {
                        if (n + stride - 1 > 4) {
                            continue;
                        }
                        pipeline.setAsyncConfig(new AsyncConfig(n, stride, 100, false));
                        assertThat(latents(pipeline, request())).as(family + " N=%d stride=%d with warm-up over "
                                + "every step", n, stride).containsExactly(sequential);
                        pipeline.setAsyncConfig(new AsyncConfig(n, stride, 1, false));
                        float[] async = latents(pipeline, request());
                        assertThat(async).as(family + " N=%d stride=%d", n, stride).hasSameSizeAs(sequential);
                        if (n > 1) {
                            assertThat(async).isNotEqualTo(sequential);
                        }
                    }
                }
                pipeline.setAsyncConfig(AsyncConfig.SEQUENTIAL);
                assertThatThrownBy(() -> pipeline.run(GenerationRequest.builder("a cat").steps(2).size(SIZE, SIZE)
                        .build())).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[inpainting]")
                        .hasMessageContaining("not text-to-image").hasMessageContaining("--mask");
            }
        }
    }

    @Test
    void theMaskDecidesWhatIsRepainted() {
        try (StableDiffusionPipeline pipeline = open(Family.SDXL_INPAINT, 1)) {
            float[] left = latents(pipeline, request().mask(halves(true)).build());
            float[] right = latents(pipeline, request().mask(halves(false)).build());
            assertThat(left).isNotEqualTo(right);
        }
    }

    @Test
    void aFourChannelUnetKeepsTheUnmaskedLatentsOnTheInitImage() {
        BufferedImage init = PipelineBasicsTest.gradient(SIZE, SIZE);
        try (StableDiffusionPipeline pipeline = open(Family.SD15, 1);
             Vae vae = new Vae(ModelFolder.open(TestModels.tiny(Family.SD15)), TestContexts.on(backend))) {
            assertThat(pipeline.requestKinds()).contains(RequestKind.TEXT_TO_IMAGE, RequestKind.INPAINTING);
            float[] encoded = vae.encode(init, SIZE, SIZE);
            float[] keepAll = latents(pipeline, request().mask(filled(Color.BLACK)).build());
            assertThat(keepAll).as("a black mask keeps the init image's latents").containsExactly(encoded);
            float[] img2img = latents(pipeline, request().mask(null).build());
            float[] repaintAll = latents(pipeline, request().mask(filled(Color.WHITE)).build());
            assertThat(repaintAll).as("a white mask is image-to-image").containsExactly(img2img);
            float[] half = latents(pipeline, request().mask(halves(true)).build());
            int plane = (SIZE / 8) * (SIZE / 8);
            boolean changed = false;
            for (int i = 0; i < half.length; i++) {
                boolean repainted = (i % plane) % (SIZE / 8) < SIZE / 16;
                if (repainted) {
                    changed |= half[i] != encoded[i];
                } else {
                    assertThat(half[i]).as("kept latent %d", i).isEqualTo(encoded[i]);
                }
            }
            assertThat(changed).as("the left half is repainted").isTrue();
        }
    }

    @Test
    void aMaskOfAnotherSizeIsResizedAndAMaskAloneIsRefused() {
        try (StableDiffusionPipeline pipeline = open(Family.SDXL_INPAINT, 1)) {
            BufferedImage small = new BufferedImage(16, 16, BufferedImage.TYPE_INT_RGB);
            Graphics2D g = small.createGraphics();
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, 8, 16);
            g.dispose();
            assertThat(latents(pipeline, request().mask(small).build()))
                    .containsExactly(latents(pipeline, request().mask(halves(true)).build()));
        }
        assertThatThrownBy(() -> GenerationRequest.builder("x").mask(halves(true)).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("mask needs an init image");
    }

    private StableDiffusionPipeline open(Family family, int devices) {
        List<Device> list = new java.util.ArrayList<>();
        for (int i = 0; i < devices; i++) {
            list.add(Device.cpu(i));
        }
        return StableDiffusionPipeline.open(TestModels.tiny(family), TestContexts.on(backend, list, splits));
    }

    private static GenerationRequest.Builder request() {
        return GenerationRequest.builder("a cat on a sofa").negativePrompt("blurry").steps(4).guidanceScale(5.0)
                .seed(3).size(SIZE, SIZE).initImage(PipelineBasicsTest.gradient(SIZE, SIZE), 0.75).mask(halves(true));
    }

    private static float[] latents(StableDiffusionPipeline pipeline, GenerationRequest.Builder request) {
        return latents(pipeline, request.build());
    }

    private static float[] latents(StableDiffusionPipeline pipeline, GenerationRequest request) {
        try (PipelineOutput out = pipeline.run(request)) {
            return out.latents().toFloatArray();
        }
    }

    /** White (repainted) on the left half, or on the right half. */
    private static BufferedImage halves(boolean left) {
        BufferedImage mask = filled(Color.BLACK);
        Graphics2D g = mask.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(left ? 0 : SIZE / 2, 0, SIZE / 2, SIZE);
        g.dispose();
        return mask;
    }

    private static BufferedImage filled(Color color) {
        BufferedImage image = new BufferedImage(SIZE, SIZE, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setColor(color);
        g.fillRect(0, 0, SIZE, SIZE);
        g.dispose();
        return image;
    }
}
