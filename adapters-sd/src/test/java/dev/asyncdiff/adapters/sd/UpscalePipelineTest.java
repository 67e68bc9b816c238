package dev.asyncdiff.adapters.sd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.GenerationRequest;
import dev.asyncdiff.api.GenerationResult;
import dev.asyncdiff.api.PipelineOutput;
import dev.asyncdiff.api.RequestKind;
import dev.asyncdiff.backend.onnx.OnnxBackend;
import dev.asyncdiff.spi.BackendOptions;
import dev.asyncdiff.synthetic.Family;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The x4 upscaler: 7-channel UNet through the step-input hook, every strategy, noise level, tiling, bad input. */
class UpscalePipelineTest {
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
    void upscalesFourTimesInEveryStrategy() {
        try (UpscalePipeline pipeline = open(5)) {
            assertThat(pipeline.requestKinds()).containsExactly(RequestKind.UPSCALING);
            assertThat(pipeline.family()).isEqualTo("x4-upscaler");
            float[] sequential;
            try (PipelineOutput out = pipeline.run(request(32, GenerationRequest.DEFAULT_NOISE_LEVEL).build())) {
                assertThat(out.latents().shape()).containsExactly(1, 4, 32, 32);
                assertThat(out.pixels().shape()).containsExactly(1, 3, 128, 128);
                sequential = out.latents().toFloatArray();
            }
            for (int n = 1; n <= 4; n++) {
                for (int stride = 1; stride <= 2 && n + stride - 1 <= 4; stride++) {
                    pipeline.setAsyncConfig(new AsyncConfig(n, stride, 100, false));
                    assertThat(latents(pipeline, request(32, 20).build())).as("N=%d stride=%d, warm-up over every step",
                            n, stride).containsExactly(sequential);
                    pipeline.setAsyncConfig(new AsyncConfig(n, stride, 1, false));
                    float[] async = latents(pipeline, request(32, 20).build());
                    if (n > 1) {
                        assertThat(async).as("N=%d stride=%d", n, stride).isNotEqualTo(sequential);
                    }
                }
            }
        }
    }

    @Test
    void theNoiseLevelConditionsTheUnetAndIsBounded() {
        try (UpscalePipeline pipeline = open(1)) {
            float[] quiet = latents(pipeline, request(32, 0).build());
            float[] noisy = latents(pipeline, request(32, 300).build());
            assertThat(quiet).isNotEqualTo(noisy);
            assertThatThrownBy(() -> pipeline.run(request(32, 351).build())).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("351").hasMessageContaining("max_noise_level 350");
            assertThatThrownBy(() -> pipeline.run(request(36, 20).build())).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("36x36").hasMessageContaining("multiple of 8");
            assertThatThrownBy(() -> pipeline.run(GenerationRequest.builder("x").steps(2).size(32, 32).build()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[upscaling]");
        }
    }

    @Test
    void largeInputsAreUpscaledInBlendedTiles() {
        try (UpscalePipeline pipeline = open(1)) {
            pipeline.setTileSize(32);
            GenerationResult tiled = pipeline.generate(request(48, 20).build());
            BufferedImage image = tiled.images().get(0);
            assertThat(image.getWidth()).isEqualTo(192);
            assertThat(image.getHeight()).isEqualTo(192);
            assertThat(tiled.parameters().get(0)).contains("Tiles: 4").contains("Upscaled from: 48x48");
            pipeline.setTileSize(0);
            assertThat(pipeline.generate(request(48, 20).build()).parameters().get(0)).contains("Tiles: 1");
            assertThatThrownBy(() -> pipeline.setTileSize(20)).hasMessageContaining("multiple of 8");
        }
    }

    @Test
    void tilesCoverTheImageAndBlendToWhatEveryTileAgreesOn() {
        Tiles tiles = new Tiles(48, 40, 32, 16);
        assertThat(tiles.all()).containsExactly(new Tiles.Tile(0, 0, 32, 32), new Tiles.Tile(16, 0, 32, 32),
                new Tiles.Tile(0, 8, 32, 32), new Tiles.Tile(16, 8, 32, 32));
        float[] sum = new float[2 * 96 * 80];
        for (Tiles.Tile tile : tiles.all()) {
            float[] constant = new float[2 * 64 * 64];
            Arrays.fill(constant, 0, 64 * 64, 3f);
            Arrays.fill(constant, 64 * 64, constant.length, -1f);
            tiles.accumulate(tile, constant, 2, 2, sum);
        }
        float[] blended = Tiles.normalize(sum, tiles.weights(2));
        for (int i = 0; i < blended.length; i++) {
            assertThat(blended[i]).as("value %d", i).isCloseTo(i < 96 * 80 ? 3f : -1f,
                    org.assertj.core.data.Offset.offset(1e-5f));
        }
        assertThat(new Tiles(20, 20, 32, 16).all()).containsExactly(new Tiles.Tile(0, 0, 20, 20));
    }

    private UpscalePipeline open(int devices) {
        List<Device> list = new ArrayList<>();
        for (int i = 0; i < devices; i++) {
            list.add(Device.cpu(i));
        }
        return UpscalePipeline.open(TestModels.tiny(Family.X4_UPSCALER), TestContexts.on(backend, list, splits));
    }

    private static GenerationRequest.Builder request(int size, int noiseLevel) {
        return GenerationRequest.builder("a white cat").negativePrompt("blurry").steps(3).guidanceScale(7.0).seed(5)
                .upscale(PipelineBasicsTest.gradient(size, size), noiseLevel);
    }

    private static float[] latents(UpscalePipeline pipeline, GenerationRequest request) {
        try (PipelineOutput out = pipeline.run(request)) {
            return out.latents().toFloatArray();
        }
    }
}
