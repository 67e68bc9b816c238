package dev.asyncdiff.adapters.sd;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.GenerationRequest;
import dev.asyncdiff.api.GenerationResult;
import dev.asyncdiff.api.PipelineOutput;
import dev.asyncdiff.backend.onnx.OnnxBackend;
import dev.asyncdiff.spi.BackendOptions;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Generation on the real exports in {@code ../shared/data/real-exports} (Optimum layout: int64 {@code timestep}
 * on a {@code steps} axis, int64 ids, {@code latent_parameters}, dynamic channel and sequence axes); skipped
 * where that folder is absent.
 */
class RealExportGenerationTest {
    private static final List<Device> TWO_CPUS = List.of(Device.parse("cpu:0"), Device.parse("cpu:1"));
    private static OnnxBackend backend;
    @TempDir
    static Path splits;

    @BeforeAll
    static void openBackend() {
        backend = new OnnxBackend(new BackendOptions(TWO_CPUS, Map.of("intraOpThreads", "1")));
    }

    @AfterAll
    static void closeBackend() {
        backend.close();
    }

    private static Path export(String family) {
        String shared = System.getProperty("asyncdiff.shared.dir", "../shared");
        Path folder = Path.of(shared, "data", "real-exports", family);
        Assumptions.assumeTrue(Files.isRegularFile(folder.resolve("model_index.json")), "no real export at " + folder
                + " (../shared is absent in a user's clone); skipping");
        return folder;
    }

    private static StableDiffusionPipeline open(String family) {
        return StableDiffusionPipeline.open(export(family), TestContexts.on(backend, TWO_CPUS, splits));
    }

    private static float[] latents(StableDiffusionPipeline pipeline, AsyncConfig config) {
        pipeline.setAsyncConfig(config);
        try (PipelineOutput out = pipeline.run(GenerationRequest.builder("a red bicycle").steps(4).guidanceScale(7.5).seed(5)
                .size(64, 64).build())) {
            float[] values = out.latents().toFloatArray();
            for (float v : values) {
                assertThat(Float.isFinite(v)).isTrue();
            }
            return values;
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sd15", "sdxl"})
    void sequentialAndAsyncGenerateAndAgreeWhereTheyMust(String family) {
        try (StableDiffusionPipeline pipeline = open(family)) {
            float[] sequential = latents(pipeline, AsyncConfig.SEQUENTIAL);
            float[] async = latents(pipeline, AsyncConfig.of(2, 1, false));
            float[] warmAll = latents(pipeline, AsyncConfig.of(2, 1, false).withWarmUp(10));
            assertThat(warmAll).as("async with warm-up covering every step is sequential").containsExactly(sequential);
            assertThat(async).as("async N=2 differs from sequential after its warm-up step").isNotEqualTo(sequential);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sd15", "sdxl"})
    void imageToImageRunsOnTheLatentParametersEncoder(String family) {
        BufferedImage init = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 64; y++) {
            for (int x = 0; x < 64; x++) {
                init.setRGB(x, y, (x * 4) << 16 | (y * 4) << 8 | 128);
            }
        }
        try (StableDiffusionPipeline pipeline = open(family)) {
            pipeline.setAsyncConfig(AsyncConfig.of(2, 1, false));
            GenerationResult result = pipeline.generate(GenerationRequest.builder("a red bicycle").steps(4)
                    .initImage(init, 0.5).seed(3).build());
            assertThat(result.images()).singleElement().satisfies(image -> {
                assertThat(image.getWidth()).isEqualTo(64);
                assertThat(image.getHeight()).isEqualTo(64);
            });
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sd15"})
    void aSamplerWithFractionalTimestepsIsRefusedForAnInt64Timestep(String family, @TempDir Path copy)
            throws Exception {
        Path source = export(family);
        try (var files = Files.walk(source)) {
            for (Path file : files.toList()) {
                Path target = copy.resolve(source.relativize(file).toString());
                if (Files.isDirectory(file)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(file, target);
                }
            }
        }
        Path config = copy.resolve("scheduler/scheduler_config.json");
        Files.writeString(config, Files.readString(config).replace("PNDMScheduler", "EulerDiscreteScheduler")
                .replace("\"leading\"", "\"linspace\""));
        try (StableDiffusionPipeline pipeline = StableDiffusionPipeline.open(copy,
                TestContexts.on(backend, TWO_CPUS, splits))) {
            assertThatThrownBy(() -> pipeline.generate(GenerationRequest.builder("x").steps(5).size(64, 64).build()))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("'EulerDiscreteScheduler'")
                    .hasMessageContaining("declares its 'timestep' input as int64");
            GenerationResult leading = pipeline.generate(GenerationRequest.builder("x").steps(4).size(64, 64)
                    .scheduler("ddim").build());
            assertThat(leading.images()).hasSize(1);
        }
    }

    /** Inpainting by the blend on the real exports: kept latents are the init image's, repainted ones change. */
    @ParameterizedTest
    @ValueSource(strings = {"sd15", "sdxl"})
    void inpaintsByTheBlendInSequentialAndAsync(String family) {
        java.awt.image.BufferedImage init = PipelineBasicsTest.gradient(64, 64);
        java.awt.image.BufferedImage mask = new java.awt.image.BufferedImage(64, 64,
                java.awt.image.BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 64; y++) {
            for (int x = 0; x < 32; x++) {
                mask.setRGB(x, y, 0xFFFFFF);
            }
        }
        try (StableDiffusionPipeline pipeline = open(family);
             Vae vae = new Vae(ModelFolder.open(export(family)), TestContexts.on(backend))) {
            float[] encoded = vae.encode(init, 64, 64);
            for (AsyncConfig config : List.of(AsyncConfig.SEQUENTIAL, AsyncConfig.of(2, 1, false))) {
                pipeline.setAsyncConfig(config);
                try (PipelineOutput out = pipeline.run(GenerationRequest.builder("a red bicycle").steps(4)
                        .guidanceScale(7.5).seed(5).size(64, 64).initImage(init, 0.75).mask(mask).build())) {
                    float[] latents = out.latents().toFloatArray();
                    boolean repainted = false;
                    for (int i = 0; i < latents.length; i++) {
                        if (i % 8 >= 4) {
                            assertThat(latents[i]).as("%s %s kept latent %d", family, config, i).isEqualTo(encoded[i]);
                        } else {
                            repainted |= latents[i] != encoded[i];
                        }
                    }
                    assertThat(repainted).as("%s %s repaints the left half", family, config).isTrue();
                }
            }
        }
    }
}
