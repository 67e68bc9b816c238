package dev.asyncdiff.adapters.sd;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.GenerationListener;
import dev.asyncdiff.api.GenerationPhase;
import dev.asyncdiff.api.GenerationRequest;
import dev.asyncdiff.api.GenerationResult;
import dev.asyncdiff.api.Images;
import dev.asyncdiff.backend.onnx.OnnxBackend;
import dev.asyncdiff.spi.BackendOptions;
import dev.asyncdiff.spi.ProviderRegistry;
import dev.asyncdiff.spi.StrategyProvider;
import dev.asyncdiff.synthetic.Family;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Pipeline behaviour that needs no denoising strategy: image-to-image at strength 0, validation, PNG files. */
class PipelineBasicsTest {
    private static OnnxBackend backend;

    @BeforeAll
    static void openBackend() {
        backend = new OnnxBackend(BackendOptions.defaults());
    }

    @AfterAll
    static void closeBackend() {
        backend.close();
    }

    private static StableDiffusionPipeline open(Family family) {
        return StableDiffusionPipeline.open(TestModels.tiny(family), TestContexts.on(backend));
    }

    static BufferedImage gradient(int width, int height) {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                image.setRGB(x, y, ((x * 255 / width) << 16) | ((y * 255 / height) << 8) | 128);
            }
        }
        return image;
    }

    static int[] pixels(BufferedImage image) {
        return image.getRGB(0, 0, image.getWidth(), image.getHeight(), null, 0, image.getWidth());
    }

    @Test
    void imageToImageAtStrengthZeroReturnsTheVaeRoundTrip() {
        BufferedImage input = gradient(64, 48);
        try (StableDiffusionPipeline pipeline = open(Family.SD15);
             Vae vae = new Vae(pipeline.model(), TestContexts.on(backend))) {
            GenerationResult result = pipeline.generate(GenerationRequest.builder("a cat").steps(10)
                    .initImage(input, 0.0).numImages(2).build());
            BufferedImage roundTrip = vae.decode(vae.encode(input, 64, 48), 0, 6, 8);
            assertThat(result.steps()).isZero();
            assertThat(result.images()).hasSize(2);
            for (BufferedImage image : result.images()) {
                assertThat(image.getWidth()).isEqualTo(64);
                assertThat(image.getHeight()).isEqualTo(48);
                assertThat(pixels(image)).containsExactly(pixels(roundTrip));
            }
            assertThat(result.parameters().get(0)).contains("Denoising strength: 0.0").contains("Size: 64x48");
        }
    }

    @Test
    void imageToImageSizeDefaultsToTheImageRoundedDownToEight() {
        try (StableDiffusionPipeline pipeline = open(Family.SD21)) {
            GenerationResult result = pipeline.generate(GenerationRequest.builder("x").steps(4)
                    .initImage(gradient(70, 41), 0.0).build());
            assertThat(result.images().get(0).getWidth()).isEqualTo(64);
            assertThat(result.images().get(0).getHeight()).isEqualTo(40);
        }
    }

    @Test
    void sizesMustBeMultiplesOfEight() {
        try (StableDiffusionPipeline pipeline = open(Family.SD15)) {
            assertThatThrownBy(() -> pipeline.generate(GenerationRequest.builder("x").size(100, 64).build()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("multiples of 8")
                    .hasMessageContaining("100x64");
        }
    }

    @Test
    void requestsValidateTheirParts() {
        assertThatThrownBy(() -> GenerationRequest.builder("x").steps(0).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("steps");
        assertThatThrownBy(() -> GenerationRequest.builder("x").initImage(gradient(8, 8), 1.5).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("strength");
        assertThatThrownBy(() -> GenerationRequest.builder("x").numImages(0).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("numImages");
        assertThatThrownBy(() -> GenerationRequest.builder(null).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("prompt");
    }

    @Test
    void asyncConfigNeedsEnoughDevicesAndClosedPipelinesRefuseWork() {
        StableDiffusionPipeline pipeline = open(Family.SD15);
        assertThat(pipeline.family()).isEqualTo("sd15");
        assertThat(pipeline.asyncConfig()).isEqualTo(AsyncConfig.SEQUENTIAL);
        assertThat(pipeline.strategyName()).isEqualTo("sequential");
        assertThatThrownBy(() -> pipeline.setAsyncConfig(AsyncConfig.of(2, 1, false)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs 2 devices");
        pipeline.close();
        pipeline.close();
        assertThatThrownBy(() -> pipeline.generate(GenerationRequest.builder("x").build()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    }

    @Test
    void listenerSeesThePhasesInOrder() {
        List<GenerationPhase> phases = new ArrayList<>();
        try (StableDiffusionPipeline pipeline = open(Family.SD15)) {
            pipeline.generate(GenerationRequest.builder("x").steps(3).initImage(gradient(16, 16), 0.0)
                    .listener(new GenerationListener() {
                        @Override
                        public void onPhase(GenerationPhase phase) {
                            phases.add(phase);
                        }
                    }).build());
        }
        assertThat(phases).containsExactly(GenerationPhase.ENCODE_TEXT, GenerationPhase.ENCODE_IMAGE,
                GenerationPhase.DENOISE, GenerationPhase.DECODE);
    }

    @Test
    void pngFilesCarryTheParametersChunk(@TempDir Path dir) {
        BufferedImage image = gradient(16, 8);
        Path latin = dir.resolve("a.png");
        Images.writePng(image, latin, Map.of("parameters", "a cat\nSteps: 3, Seed: 7"));
        assertThat(Images.readPngText(latin, "parameters")).isEqualTo("a cat\nSteps: 3, Seed: 7");
        assertThat(pixels(Images.read(latin))).containsExactly(pixels(image));
        Path unicode = dir.resolve("sub/b.png");
        Images.writePng(image, unicode, Map.of("parameters", "東京タワー 🐱"));
        assertThat(Images.readPngText(unicode, "parameters")).isEqualTo("東京タワー 🐱");
        assertThat(Images.readPngText(unicode, "other")).isNull();
    }

    @Test
    void readingSomethingThatIsNotAnImageSaysSo(@TempDir Path dir) throws IOException {
        Path text = Files.writeString(dir.resolve("notes.png"), "not a picture");
        assertThatThrownBy(() -> Images.read(text)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("notes.png").hasMessageContaining("not an image");
        assertThatThrownBy(() -> Images.read(dir.resolve("missing.png"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("missing.png").hasMessageContaining("does not exist");
    }

    @Test
    void noiseDependsOnlyOnSeedAndIndex() {
        float[] batch = LatentNoise.batch(5, 3, 101);
        assertThat(java.util.Arrays.copyOfRange(batch, 101, 202)).containsExactly(LatentNoise.gaussian(6, 0, 101));
        float[] big = LatentNoise.gaussian(1, 0, 200_000);
        double mean = 0;
        double square = 0;
        for (float v : big) {
            mean += v;
            square += v * v;
        }
        mean /= big.length;
        double variance = square / big.length - mean * mean;
        assertThat(mean).isBetween(-0.01, 0.01);
        assertThat(variance).isBetween(0.98, 1.02);
    }
}
