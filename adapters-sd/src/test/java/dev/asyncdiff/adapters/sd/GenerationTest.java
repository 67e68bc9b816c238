package dev.asyncdiff.adapters.sd;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.AsyncDiff;
import dev.asyncdiff.api.CancellationToken;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.GenerationListener;
import dev.asyncdiff.api.GenerationRequest;
import dev.asyncdiff.api.GenerationResult;
import dev.asyncdiff.api.StepProgress;
import dev.asyncdiff.backend.onnx.OnnxBackend;
import dev.asyncdiff.spi.BackendOptions;
import dev.asyncdiff.synthetic.Family;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** End to end on the synthetic tiny folders with the real strategies (scheduler-async) on ONNX Runtime CPU. */
class GenerationTest {
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

    private static StableDiffusionPipeline open(Family family) {
        return StableDiffusionPipeline.open(TestModels.tiny(family), TestContexts.on(backend, TWO_CPUS, splits));
    }

    private static int[] pixels(BufferedImage image) {
        return PipelineBasicsTest.pixels(image);
    }

    /** Mean absolute difference per colour channel, 0 to 255. */
    static double meanAbsDifference(BufferedImage a, BufferedImage b) {
        int[] x = pixels(a);
        int[] y = pixels(b);
        double sum = 0;
        for (int i = 0; i < x.length; i++) {
            for (int shift = 0; shift <= 16; shift += 8) {
                sum += Math.abs(((x[i] >> shift) & 0xFF) - ((y[i] >> shift) & 0xFF));
            }
        }
        return sum / (3.0 * x.length);
    }

    @ParameterizedTest
    @EnumSource(value = Family.class, names = {"SD15", "SD21", "SDXL"}) // SD 3: Sd3PipelineTest; inpainting: InpaintingTest
    void textToImageMakesImagesOfTheRequestedSize(Family family) {
        List<StepProgress> steps = new ArrayList<>();
        try (StableDiffusionPipeline pipeline = open(family)) {
            GenerationResult result = pipeline.generate(GenerationRequest.builder("a lighthouse at dawn")
                    .negativePrompt("blurry").steps(3).size(64, 64).numImages(2).seed(11)
                    .listener(new GenerationListener() {
                        @Override
                        public void onStep(StepProgress progress) {
                            steps.add(progress);
                        }
                    }).build());
            assertThat(result.images()).hasSize(2);
            for (BufferedImage image : result.images()) {
                assertThat(image.getWidth()).isEqualTo(64);
                assertThat(image.getHeight()).isEqualTo(64);
                Set<Integer> colours = new HashSet<>();
                for (int pixel : pixels(image)) {
                    colours.add(pixel);
                }
                assertThat(colours).as("distinct colours of a %s image", family).hasSizeGreaterThan(100);
            }
            assertThat(pixels(result.images().get(0))).isNotEqualTo(pixels(result.images().get(1)));
            assertThat(steps).isNotEmpty();
            assertThat(steps.get(steps.size() - 1).step()).isEqualTo(steps.get(steps.size() - 1).total());
            assertThat(result.parameters().get(1)).startsWith("a lighthouse at dawn\nNegative prompt: blurry\n")
                    .contains("Seed: 12").contains("Size: 64x64").contains("Family: " + pipeline.family());
            assertThat(result.timings().denoising()).isPositive();
        }
    }

    @Test
    void seedsReproduceBytesAndEachImageHasItsOwnSeed() {
        try (StableDiffusionPipeline pipeline = open(Family.SD21)) {
            GenerationRequest.Builder request = GenerationRequest.builder("a cat").steps(3).size(64, 64);
            GenerationResult first = pipeline.generate(request.seed(7).numImages(2).build());
            GenerationResult again = pipeline.generate(request.seed(7).numImages(2).build());
            GenerationResult next = pipeline.generate(request.seed(8).numImages(1).build());
            assertThat(pixels(again.images().get(0))).containsExactly(pixels(first.images().get(0)));
            assertThat(pixels(again.images().get(1))).containsExactly(pixels(first.images().get(1)));
            assertThat(pixels(next.images().get(0))).isNotEqualTo(pixels(first.images().get(0)));
            // image 1 of seed 7 starts from image 0 of seed 8's noise; only batch arithmetic may differ
            assertThat(meanAbsDifference(next.images().get(0), first.images().get(1))).isLessThan(0.5);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Family.class, names = {"SD15", "SD21", "SDXL"}) // SD 3: Sd3PipelineTest; inpainting: InpaintingTest
    void cfgParallelMakesTheSameImageAsGuidanceInOneBatch(Family family) {
        try (StableDiffusionPipeline pipeline = open(family)) {
            GenerationRequest request = GenerationRequest.builder("a red boat").negativePrompt("fog").steps(4)
                    .size(64, 64).seed(3).build();
            int[] batched = pixels(pipeline.generate(request).images().get(0));
            pipeline.setCfgParallel(true);
            GenerationResult result = pipeline.generate(request);
            assertThat(pixels(result.images().get(0))).as("%s CFG-parallel", family).containsExactly(batched);
            assertThat(result.parameters().get(0)).contains("CFG-parallel");
            assertThatThrownBy(() -> pipeline.setAsyncConfig(AsyncConfig.of(2, 1, false)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("in 2 CFG-parallel groups needs 4");
        }
    }

    @ParameterizedTest
    @EnumSource(value = Family.class, names = {"SD15", "SD21", "SDXL"}) // SD 3: Sd3PipelineTest; inpainting: InpaintingTest
    void asyncOnTwoDevicesCompletesAndStaysCloseToSequential(Family family) {
        try (StableDiffusionPipeline pipeline = open(family)) {
            GenerationRequest request = GenerationRequest.builder("a red boat").steps(8).size(64, 64).seed(3).build();
            BufferedImage sequential = pipeline.generate(request).images().get(0);
            AsyncDiff async = AsyncDiff.enable(pipeline, AsyncConfig.of(2, 1, false));
            async.resetState(1);
            assertThat(pipeline.asyncConfig()).isEqualTo(new AsyncConfig(2, 1, 1, false));
            assertThat(pipeline.strategyName()).isEqualTo("async");
            GenerationResult result = pipeline.generate(request);
            BufferedImage parallel = result.images().get(0);
            double difference = meanAbsDifference(parallel, sequential);
            assertThat(difference).as("mean absolute pixel difference async vs sequential, %s", family)
                    .isLessThan(12.0);
            assertThat(result.parameters().get(0)).contains("Strategy: async (model_n 2, stride 1, warm-up 1");
            // warm-up covering every step runs the split components in order: sequential up to float rounding
            async.resetState(8);
            double warmOnly = meanAbsDifference(pipeline.generate(request).images().get(0), sequential);
            System.out.printf("%s: async n2 w1 differs from sequential by %.3f, w8 by %.4f (mean abs, 0-255)%n",
                    family, difference, warmOnly);
            assertThat(warmOnly).isLessThan(0.05);
            assertThat(difference).isGreaterThan(warmOnly);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Family.class, names = {"SD15", "SD21", "SDXL"}) // SD 3: Sd3PipelineTest; inpainting: InpaintingTest
    void imageToImageRunsTheStrengthTailAndMovesAwayFromTheRoundTrip(Family family) {
        BufferedImage input = PipelineBasicsTest.gradient(64, 64);
        try (StableDiffusionPipeline pipeline = open(family)) {
            GenerationRequest.Builder request = GenerationRequest.builder("a cat").steps(10).seed(5).scheduler("ddim");
            GenerationResult kept = pipeline.generate(request.initImage(input, 0.0).build());
            GenerationResult half = pipeline.generate(request.initImage(input, 0.5).build());
            GenerationResult full = pipeline.generate(request.initImage(input, 1.0).build());
            assertThat(kept.steps()).isZero();
            assertThat(half.steps()).isEqualTo(5);
            assertThat(full.steps()).isEqualTo(10);
            double halfAway = meanAbsDifference(half.images().get(0), kept.images().get(0));
            double fullAway = meanAbsDifference(full.images().get(0), kept.images().get(0));
            assertThat(halfAway).isPositive();
            assertThat(fullAway).isGreaterThan(halfAway);
        }
    }

    @Test
    void anotherSamplerGivesAnotherImageAndUnknownSamplersAreNamed() {
        try (StableDiffusionPipeline pipeline = open(Family.SD15)) {
            GenerationRequest.Builder request = GenerationRequest.builder("a cat").steps(4).size(64, 64).seed(1);
            BufferedImage own = pipeline.generate(request.build()).images().get(0);
            GenerationResult euler = pipeline.generate(request.scheduler("euler_a").build());
            assertThat(pixels(euler.images().get(0))).isNotEqualTo(pixels(own));
            assertThat(euler.parameters().get(0)).contains("Sampler: euler_a");
            assertThatThrownBy(() -> pipeline.generate(request.scheduler("warp_drive").build()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("warp_drive")
                    .hasMessageContaining("euler_a");
        }
    }

    @Test
    void guidanceAtMostOneRunsTheConditionalBatchAlone() {
        try (StableDiffusionPipeline pipeline = open(Family.SD15)) {
            GenerationRequest.Builder request = GenerationRequest.builder("a cat").steps(3).size(64, 64).seed(2);
            BufferedImage unguided = pipeline.generate(request.guidanceScale(1.0).build()).images().get(0);
            BufferedImage guided = pipeline.generate(request.guidanceScale(7.5).build()).images().get(0);
            assertThat(pixels(unguided)).isNotEqualTo(pixels(guided));
        }
    }

    @Test
    void cancellingStopsTheGenerationAndThePipelineStaysUsable() {
        CancellationToken token = new CancellationToken();
        try (StableDiffusionPipeline pipeline = open(Family.SD15)) {
            GenerationRequest cancelled = GenerationRequest.builder("a cat").steps(10).size(64, 64)
                    .cancellation(token).listener(new GenerationListener() {
                        @Override
                        public void onStep(StepProgress progress) {
                            if (progress.step() == 2) {
                                token.cancel();
                            }
                        }
                    }).build();
            assertThatThrownBy(() -> pipeline.generate(cancelled)).isInstanceOf(CancellationException.class);
            assertThat(pipeline.generate(GenerationRequest.builder("a cat").steps(2).size(64, 64).build()).images())
                    .hasSize(1);
        }
    }
}
