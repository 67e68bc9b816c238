package dev.asyncdiff.adapters.sd;

import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.GenerationRequest;
import dev.asyncdiff.api.GenerationResult;
import dev.asyncdiff.api.MalformedModelException;
import dev.asyncdiff.api.PipelineOutput;
import dev.asyncdiff.backend.onnx.OnnxBackend;
import dev.asyncdiff.spi.BackendOptions;
import dev.asyncdiff.synthetic.Family;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** SD 3 text-to-image and image-to-image on the synthetic tiny folder. */
class Sd3PipelineTest {
    private static final int T5_TOKENS = 16;
    private static OnnxBackend backend;

    @TempDir
    Path dir;

    @BeforeAll
    static void openBackend() {
        backend = new OnnxBackend(BackendOptions.defaults());
    }

    @AfterAll
    static void closeBackend() {
        backend.close();
    }

    private Sd3Pipeline open(Path model) {
        return Sd3Pipeline.open(model, TestContexts.on(backend, List.of(Device.CPU), dir.resolve("splits")), T5_TOKENS);
    }

    private static float[] latents(Sd3Pipeline pipeline, String prompt) {
        try (PipelineOutput out = pipeline.run(GenerationRequest.builder(prompt).steps(3).guidanceScale(5.0).seed(7L)
                .size(64, 64).build())) {
            assertThat(out.latents().shape()).containsExactly(1, 16, 8, 8);
            assertThat(out.pixels().shape()).containsExactly(1, 3, 64, 64);
            float[] values = out.latents().toFloatArray();
            for (float v : values) {
                assertThat(Float.isFinite(v)).isTrue();
            }
            return values;
        }
    }

    @Test
    void generatesReproduciblyAndFollowsThePrompt() {
        try (Sd3Pipeline pipeline = open(TestModels.tiny(Family.SD3))) {
            assertThat(pipeline.family()).isEqualTo("sd3");
            float[] first = latents(pipeline, "a red house");
            assertThat(latents(pipeline, "a red house")).containsExactly(first);
            assertThat(latents(pipeline, "a blue car")).isNotEqualTo(first);
            GenerationResult result = pipeline.generate(GenerationRequest.builder("a red house").steps(2).seed(3)
                    .size(48, 32).numImages(2).build());
            assertThat(result.images()).hasSize(2).allSatisfy(image -> {
                assertThat(image.getWidth()).isEqualTo(48);
                assertThat(image.getHeight()).isEqualTo(32);
            });
            assertThat(result.parameters().get(1)).contains("Seed: 4").contains("Family: sd3")
                    .contains("FlowMatchEulerDiscreteScheduler");
        }
    }

    @Test
    void imageToImageAtFullStrengthIsTextToImageAndAtZeroTheVaeRoundTrip() {
        BufferedImage input = PipelineBasicsTest.gradient(64, 48);
        try (Sd3Pipeline pipeline = open(TestModels.tiny(Family.SD3));
             Vae vae = new Vae(ModelFolder.open(TestModels.tiny(Family.SD3)), TestContexts.on(backend))) {
            GenerationResult fromText = pipeline.generate(GenerationRequest.builder("a red house").steps(4).seed(5)
                    .size(64, 48).build());
            // strength 1 starts at sigma 1: sigma * noise + (1 - sigma) * image is the noise alone
            GenerationResult full = pipeline.generate(GenerationRequest.builder("a red house").steps(4).seed(5)
                    .initImage(input, 1.0).build());
            assertThat(full.steps()).isEqualTo(4);
            assertThat(PipelineBasicsTest.pixels(full.images().get(0)))
                    .containsExactly(PipelineBasicsTest.pixels(fromText.images().get(0)));

            GenerationResult half = pipeline.generate(GenerationRequest.builder("a red house").steps(4).seed(5)
                    .initImage(input, 0.5).build());
            assertThat(half.steps()).isEqualTo(2);
            assertThat(half.parameters().get(0)).contains("Steps: 4").contains("Denoising strength: 0.5");
            assertThat(PipelineBasicsTest.pixels(half.images().get(0)))
                    .isNotEqualTo(PipelineBasicsTest.pixels(fromText.images().get(0)));

            GenerationResult none = pipeline.generate(GenerationRequest.builder("a red house").steps(4).seed(5)
                    .initImage(input, 0.0).build());
            BufferedImage roundTrip = vae.decode(vae.encode(input, 64, 48), 0, 6, 8);
            assertThat(none.steps()).isZero();
            assertThat(PipelineBasicsTest.pixels(none.images().get(0))).containsExactly(
                    PipelineBasicsTest.pixels(roundTrip));
        }
    }

    /** Time shift at any batch: each image of a batch of 3 is what it is alone (the original hard-codes 2). */
    @Test
    void timeShiftWorksAtAnyBatchSize() {
        try (Sd3Pipeline pipeline = Sd3Pipeline.open(TestModels.tiny(Family.SD3), TestContexts.on(backend,
                List.of(Device.parse("cpu:0"), Device.parse("cpu:1"), Device.parse("cpu:2")), dir.resolve("splits")),
                T5_TOKENS)) {
            pipeline.setAsyncConfig(dev.asyncdiff.api.AsyncConfig.of(2, 2, true));
            GenerationRequest.Builder request = GenerationRequest.builder("a red house").steps(4).guidanceScale(5.0)
                    .size(64, 64);
            float[] batch;
            try (PipelineOutput out = pipeline.run(request.seed(7).numImages(3).build())) {
                assertThat(out.latents().shape()).containsExactly(3, 16, 8, 8);
                batch = out.latents().toFloatArray();
            }
            int perImage = batch.length / 3;
            for (int image = 0; image < 3; image++) {
                try (PipelineOutput alone = pipeline.run(request.seed(7 + image).numImages(1).build())) {
                    assertThat(java.util.Arrays.copyOfRange(batch, image * perImage, (image + 1) * perImage))
                            .as("image %d of the batch", image)
                            .containsExactly(alone.latents().toFloatArray(), org.assertj.core.data.Offset.offset(1e-4f));
                }
            }
        }
    }

    /** The text stream (77 CLIP + max_sequence_length T5 tokens) crosses the cut with its length dynamic. */
    @Test
    void asyncOnTwoComponentsRunsAndDiffersFromSequential() {
        try (Sd3Pipeline pipeline = Sd3Pipeline.open(TestModels.tiny(Family.SD3), TestContexts.on(backend,
                List.of(Device.parse("cpu:0"), Device.parse("cpu:1")), dir.resolve("splits")), T5_TOKENS)) {
            float[] sequential = latents(pipeline, "a red house");
            pipeline.setAsyncConfig(dev.asyncdiff.api.AsyncConfig.of(2, 1, false));
            assertThat(pipeline.strategyName()).isEqualTo("async");
            float[] async = latents(pipeline, "a red house");
            assertThat(async).isNotEqualTo(sequential);
            pipeline.setAsyncConfig(dev.asyncdiff.api.AsyncConfig.of(2, 1, false).withWarmUp(100));
            assertThat(latents(pipeline, "a red house")).as("warm-up over every step is sequential")
                    .containsExactly(sequential);
        }
    }

    @Test
    void sizesMustBeMultiplesOfSixteen() {
        try (Sd3Pipeline pipeline = open(TestModels.tiny(Family.SD3))) {
            assertThatThrownBy(() -> pipeline.generate(GenerationRequest.builder("x").size(72, 64).steps(1).build()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("multiples of 16")
                    .hasMessageContaining("72x64");
        }
    }

    @Test
    void withoutT5ItConditionsOnZerosAndATokenizerlessT5IsAnError() throws IOException {
        Path copy = TestModels.copy(Family.SD3, dir.resolve("no-t5"));
        deleteFolder(copy.resolve("tokenizer_3"));
        assertThatThrownBy(() -> open(copy)).isInstanceOf(MalformedModelException.class)
                .hasMessageContaining("tokenizer_3");
        deleteFolder(copy.resolve("text_encoder_3"));
        try (Sd3Pipeline withT5 = open(TestModels.tiny(Family.SD3)); Sd3Pipeline without = open(copy)) {
            assertThat(latents(without, "a red house")).isNotEqualTo(latents(withT5, "a red house"));
        }
    }

    @Test
    void otherFamiliesAreRefusedEachByTheirPipeline() {
        assertThatThrownBy(() -> open(TestModels.tiny(Family.SD21))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not Stable Diffusion 3");
        assertThatThrownBy(() -> StableDiffusionPipeline.open(TestModels.tiny(Family.SD3), TestContexts.on(backend)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Sd3Pipeline");
    }

    private static void deleteFolder(Path folder) throws IOException {
        try (var paths = Files.walk(folder)) {
            for (Path path : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        }
    }
}
