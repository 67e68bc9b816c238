package dev.asyncdiff.examples.ddpm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.DiffusionPipeline;
import dev.asyncdiff.api.GenerationRequest;
import dev.asyncdiff.api.GenerationResult;
import dev.asyncdiff.api.MalformedModelException;
import dev.asyncdiff.api.ModelNotFoundException;
import dev.asyncdiff.api.PipelineOutput;
import dev.asyncdiff.engine.Engine;
import dev.asyncdiff.spi.AsyncDiffRuntime;
import dev.asyncdiff.spi.RuntimeConfig;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The plugin as a host runs it: the tiny DDPM folder written into {@code target/ddpm-tiny} (kept for CLI
 * runs), opened through the {@link Engine} with the ONNX Runtime backend on two CPU devices, the adapter
 * and the {@code ddim_eta} sampler found through {@code META-INF/services}.
 */
class DdpmPipelineTest {
    private static final int STEPS = 8;

    @TempDir
    static Path splitCache;

    private static Path folder;
    private static Engine engine;
    private static DiffusionPipeline pipeline;

    @BeforeAll
    static void openTinyModel() {
        folder = TinyDdpmModel.write(Path.of(System.getProperty("ddpm.tiny.dir", "target/ddpm-tiny")), 2024);
        engine = Engine.builder(AsyncDiffRuntime.create(RuntimeConfig.builder()
                .devices(Device.cpu(0), Device.cpu(1)).build())).splitCache(splitCache).build();
        pipeline = engine.open(folder);
    }

    @AfterAll
    static void closePipeline() {
        if (pipeline != null) {
            pipeline.close();
        }
    }

    @Test
    void theEngineFindsThePluginsProviders() {
        assertThat(engine.adapterFor(folder)).isInstanceOf(DdpmAdapterProvider.class);
        assertThat(engine.samplers().knows("ddim_eta")).isTrue();
        assertThat(pipeline.family()).isEqualTo("ddpm");
        assertThat(pipeline.strategyName()).isEqualTo("sequential");
    }

    @Test
    void generatesABatchWithTheFoldersScheduler() {
        GenerationResult result = pipeline.generate(request(7).numImages(2).build());
        assertThat(result.images()).hasSize(2).allSatisfy(image -> {
            assertThat(image.getWidth()).isEqualTo(TinyDdpmModel.SIZE);
            assertThat(image.getHeight()).isEqualTo(TinyDdpmModel.SIZE);
        });
        assertThat(result.steps()).isEqualTo(STEPS);
        assertThat(result.parameters().get(0)).isEqualTo("Steps: 8, Sampler: DDPMScheduler, Seed: 7, Size: 32x32, "
                + "Model: ddpm-tiny, Family: ddpm, Strategy: sequential");
        assertThat(result.parameters().get(1)).contains("Seed: 8");
        assertThat(result.timings().denoising()).isPositive();
        assertThat(distinctColours(result.images().get(0))).as("not a flat image").isGreaterThan(10);
    }

    @Test
    void imageOneOfSeedSIsImageZeroOfSeedSPlusOneWithADeterministicSampler() {
        // the initial noise of image i comes from seed + i; DDPM's own step noise is drawn for the whole batch,
        // so the equality holds for a deterministic sampler such as ddim (eta 0)
        GenerationResult batch = pipeline.generate(request(7).scheduler("ddim").numImages(2).build());
        GenerationResult single = pipeline.generate(request(8).scheduler("ddim").build());
        assertThat(same(batch.images().get(1), single.images().get(0))).isTrue();
        assertThat(same(batch.images().get(0), single.images().get(0))).isFalse();
    }

    @Test
    void theSameSeedGivesTheSamePixelsAndAnotherSeedOthers() {
        for (String sampler : new String[] {null, "ddim_eta"}) {
            BufferedImage first = pipeline.generate(request(3).scheduler(sampler).build()).images().get(0);
            BufferedImage again = pipeline.generate(request(3).scheduler(sampler).build()).images().get(0);
            BufferedImage other = pipeline.generate(request(4).scheduler(sampler).build()).images().get(0);
            assertThat(same(again, first)).as("sampler %s, same seed", sampler).isTrue();
            assertThat(same(other, first)).as("sampler %s, other seed", sampler).isFalse();
        }
    }

    @Test
    void generatesWithTheDdimEtaSampler() {
        GenerationResult result = pipeline.generate(request(5).scheduler("ddim_eta").numImages(2).build());
        assertThat(result.images()).hasSize(2);
        assertThat(result.images().get(0).getWidth()).isEqualTo(TinyDdpmModel.SIZE);
        assertThat(result.parameters().get(0)).contains("Sampler: ddim_eta");
        BufferedImage ddpm = pipeline.generate(request(5).build()).images().get(0);
        assertThat(same(result.images().get(0), ddpm)).as("another sampler, another image").isFalse();
    }

    @Test
    void asyncDenoisingIsCloseToSequentialAndExactWithWarmUpOverEveryStep() {
        GenerationRequest request = request(11).guidanceScale(1.0).build();
        float[] sequential = latents(request);
        try {
            pipeline.setAsyncConfig(AsyncConfig.of(2, 1, false));
            assertThat(pipeline.strategyName()).isEqualTo("async");
            float[] async = latents(request);
            assertThat(Arrays.equals(async, sequential)).as("stale activations change the result").isFalse();
            System.out.printf("async vs sequential: mean |difference| %.5f, mean |sequential| %.5f%n",
                    meanAbsDifference(async, sequential), meanAbs(sequential));
            assertThat(meanAbsDifference(async, sequential)).as("but only a little")
                    .isLessThan(0.25 * meanAbs(sequential));

            pipeline.setAsyncConfig(new AsyncConfig(2, 1, STEPS + 1, false));
            assertThat(Arrays.equals(latents(request), sequential)).as("warm-up over every step is sequential")
                    .isTrue();
            assertThat(pipeline.generate(request(11).build()).parameters().get(0))
                    .contains("Strategy: async (model_n 2, stride 1, warm-up 9, time shift false)");
        } finally {
            pipeline.setAsyncConfig(AsyncConfig.SEQUENTIAL);
        }
    }

    @Test
    void runReturnsTheFinalSampleAndItsPixels() {
        try (PipelineOutput output = pipeline.run(request(2).guidanceScale(1.0).build())) {
            assertThat(output.latents().shape()).containsExactly(1, 3, 32, 32);
            assertThat(output.pixels().shape()).containsExactly(1, 3, 32, 32);
            float[] x = output.latents().toFloatArray();
            float[] unit = output.pixels().toFloatArray();
            for (int i = 0; i < x.length; i++) {
                assertThat(unit[i]).isEqualTo(Math.min(1f, Math.max(0f, x[i] / 2f + 0.5f)));
            }
        }
    }

    @Test
    void refusesWhatAnUnconditionalModelCannotDo() {
        assertThatThrownBy(() -> pipeline.generate(request(1).guidanceScale(7.5).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("guidance scale 7.5")
                .hasMessageContaining("--guidance").hasMessageContaining("no classifier-free guidance");
        assertThatThrownBy(() -> pipeline.run(request(1).guidanceScale(7.5).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("guidance");
        BufferedImage init = new BufferedImage(32, 32, BufferedImage.TYPE_INT_RGB);
        assertThatThrownBy(() -> pipeline.generate(request(1).initImage(init, 0.5).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--image");
        assertThatThrownBy(() -> pipeline.generate(request(1).size(33, 32).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("multiples of 2");
        assertThatThrownBy(() -> pipeline.setCfgParallel(true))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("CFG-parallel");
        pipeline.setCfgParallel(false);
        assertThatThrownBy(() -> pipeline.setAsyncConfig(AsyncConfig.of(3, 1, false)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("devices");
        assertThat(pipeline.generate(request(1).guidanceScale(1.0).build()).images()).hasSize(1);
    }

    @Test
    void missingOrForeignFilesFailWithTheSpisExceptions(@TempDir Path scratch) throws IOException {
        Path copy = copyOf(folder, scratch.resolve("no-unet"));
        Files.delete(copy.resolve("unet").resolve("model.onnx"));
        assertThat(new DdpmAdapterProvider().supports(copy)).as("supports reads model_index.json only").isTrue();
        assertThatThrownBy(() -> engine.open(copy)).isInstanceOf(ModelNotFoundException.class)
                .hasMessageContaining("unet/model.onnx").hasMessageContaining(copy.toAbsolutePath().toString());

        Path badConfig = copyOf(folder, scratch.resolve("bad-config"));
        Files.writeString(badConfig.resolve("unet").resolve("config.json"), "{\"sample_size\": 32}");
        assertThatThrownBy(() -> engine.open(badConfig)).isInstanceOf(MalformedModelException.class)
                .hasMessageContaining("in_channels");

        Path other = copyOf(folder, scratch.resolve("sd"));
        Files.writeString(other.resolve("model_index.json"), "{\"_class_name\": \"StableDiffusionPipeline\"}");
        assertThat(new DdpmAdapterProvider().supports(other)).isFalse();
        assertThatThrownBy(() -> new DdpmAdapterProvider().open(other, engine.context()))
                .isInstanceOf(MalformedModelException.class).hasMessageContaining("DDPMPipeline");
    }

    private static GenerationRequest.Builder request(long seed) {
        return GenerationRequest.builder("ignored by unconditional models").steps(STEPS).seed(seed);
    }

    private static float[] latents(GenerationRequest request) {
        try (PipelineOutput output = pipeline.run(request)) {
            return output.latents().toFloatArray();
        }
    }

    private static int[] pixels(BufferedImage image) {
        return image.getRGB(0, 0, image.getWidth(), image.getHeight(), null, 0, image.getWidth());
    }

    private static boolean same(BufferedImage a, BufferedImage b) {
        return Arrays.equals(pixels(a), pixels(b));
    }

    private static long distinctColours(BufferedImage image) {
        return Arrays.stream(pixels(image)).distinct().count();
    }

    private static double meanAbs(float[] values) {
        double sum = 0;
        for (float v : values) {
            sum += Math.abs(v);
        }
        return sum / values.length;
    }

    private static double meanAbsDifference(float[] a, float[] b) {
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            sum += Math.abs(a[i] - b[i]);
        }
        return sum / a.length;
    }

    private static Path copyOf(Path source, Path target) throws IOException {
        try (Stream<Path> files = Files.walk(source)) {
            for (Path file : (Iterable<Path>) files::iterator) {
                Path destination = target.resolve(source.relativize(file).toString());
                if (Files.isDirectory(file)) {
                    Files.createDirectories(destination);
                } else {
                    Files.copy(file, destination);
                }
            }
        }
        return target;
    }
}
