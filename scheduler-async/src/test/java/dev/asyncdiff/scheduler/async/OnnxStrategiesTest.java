package dev.asyncdiff.scheduler.async;

import static org.assertj.core.api.Assertions.assertThat;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.ParallelStrategy;
import dev.asyncdiff.synthetic.Family;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The strategies on a synthetic tiny SD 2.1 UNet with ONNX Runtime CPU. */
class OnnxStrategiesTest {
    private static final Logger LOG = LoggerFactory.getLogger(OnnxStrategiesTest.class);
    private static final int STEPS = 10;
    private static final long SEED = 17;

    @TempDir
    static Path dir;
    private static SyntheticUNetFixture fixture;
    private static float[] sequential;

    @BeforeAll
    static void setUp() throws Exception {
        fixture = new SyntheticUNetFixture(Family.SD21, dir);
        try (ParallelStrategy strategy = fixture.strategy("sequential", AsyncConfig.SEQUENTIAL)) {
            sequential = fixture.denoise(strategy, STEPS, SEED);
        }
    }

    @AfterAll
    static void tearDown() {
        fixture.close();
    }

    private static float[] run(String name, AsyncConfig config) {
        try (ParallelStrategy strategy = fixture.strategy(name, config)) {
            return fixture.denoise(strategy, STEPS, SEED);
        }
    }

    @Test
    void aWrongDtypeUnderAsyncNamesTheComponentItsFileAndTheTensor() {
        try (ParallelStrategy strategy = fixture.strategy("async", AsyncConfig.of(2, 1, false));
             dev.asyncdiff.api.Tensor latents = dev.asyncdiff.api.Tensor.zeros(dev.asyncdiff.api.DType.FP32, 1,
                     fixture.config.inChannels(), SyntheticUNetFixture.LATENT, SyntheticUNetFixture.LATENT);
             dev.asyncdiff.api.Tensor context = dev.asyncdiff.api.Tensor.zeros(dev.asyncdiff.api.DType.BOOL, 2,
                     fixture.config.sequenceLength(), fixture.config.crossAttentionDim())) {
            dev.asyncdiff.api.NoiseScheduler scheduler = fixture.scheduler(4);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> strategy.denoise(new dev.asyncdiff.api.DenoiseRequest(
                    scheduler, latents, java.util.Map.of("encoder_hidden_states", context), 5.0,
                    new java.util.SplittableRandom(1), null, null)))
                    .hasMessageContaining("component 0 on cpu:0 failed at step 1")
                    .hasMessageContaining("input 'encoder_hidden_states'")
                    .hasMessageContaining("component-0.onnx")
                    .hasMessageContaining("expects dtype fp32, got bool");
        }
    }

    @Test
    void oneComponentEqualsSequentialBitForBit() {
        assertThat(run("async", AsyncConfig.of(1, 1, false))).containsExactly(sequential);
    }

    @Test
    void oneComponentWithStrideTwoOrTimeShiftEqualsSequentialBitForBit() {
        assertThat(run("async", AsyncConfig.of(1, 2, false))).containsExactly(sequential);
        assertThat(run("async", AsyncConfig.of(1, 2, true))).containsExactly(sequential);
        assertThat(run("async", AsyncConfig.of(1, 1, true))).containsExactly(sequential);
    }

    @Test
    void cfgParallelEqualsGuidanceInOneBatchBitForBitOnOnnxRuntime() {
        try (ParallelStrategy strategy = fixture.strategy("sequential", AsyncConfig.SEQUENTIAL, 2)) {
            assertThat(fixture.denoise(strategy, STEPS, SEED)).as("sequential, CFG-parallel on 2 devices")
                    .containsExactly(sequential);
        }
        float[] batched = run("async", AsyncConfig.of(2, 1, false));
        try (ParallelStrategy strategy = fixture.strategy("async", AsyncConfig.of(2, 1, false), 2)) {
            assertThat(fixture.denoise(strategy, STEPS, SEED)).as("async N=2 in each of 2 groups on 4 devices")
                    .containsExactly(batched);
        }
    }

    @Test
    void warmUpCoveringEveryStepEqualsSequentialBitForBit() {
        for (int n = 2; n <= 3; n++) {
            float[] chained = run("sequential", new AsyncConfig(n, 1, 1, false));
            assertThat(SyntheticUNetFixture.relativeL2(chained, sequential)).as("components chained, N=" + n)
                    .isLessThan(1e-5);
            for (int stride = 1; stride <= 2; stride++) {
                assertThat(run("async", new AsyncConfig(n, stride, STEPS, false)))
                        .as("N=%d stride=%d warm-up %d", n, stride, STEPS).containsExactly(chained);
            }
        }
    }

    @Test
    void asynchronousRunsStayCloseAndImproveWithWarmUp() {
        StringBuilder table = new StringBuilder("relative L2 error of final latents vs sequential (SD 2.1 tiny, "
                + STEPS + " DDIM steps, guidance 5):\n");
        for (int n = 2; n <= 4; n++) {
            for (int stride = 1; stride <= 2; stride++) {
                double early = SyntheticUNetFixture.relativeL2(run("async", new AsyncConfig(n, stride, 1, false)),
                        sequential);
                double late = SyntheticUNetFixture.relativeL2(run("async", new AsyncConfig(n, stride, STEPS / 2, false)),
                        sequential);
                table.append(String.format(Locale.ROOT, "  N=%d stride=%d  warm-up 1: %.4f  warm-up %d: %.4f%n",
                        n, stride, early, STEPS / 2, late));
                assertThat(early).as("N=%d stride=%d warm-up 1", n, stride).isGreaterThan(0).isLessThan(1.0);
                assertThat(late).as("N=%d stride=%d: error shrinks as warm-up grows", n, stride).isLessThan(early);
            }
        }
        LOG.info("{}", table);
    }

    @Test
    void eachDeviceHoldsOnlyItsComponents() {
        long whole;
        try (ParallelStrategy strategy = fixture.strategy("sequential", AsyncConfig.SEQUENTIAL)) {
            whole = strategy.weightBytesPerDevice().values().stream().mapToLong(Long::longValue).sum();
        }
        try (ParallelStrategy strategy = fixture.strategy("async", AsyncConfig.of(3, 2, false))) {
            Map<Device, Long> perDevice = strategy.weightBytesPerDevice();
            assertThat(perDevice).hasSize(4);
            perDevice.values().forEach(bytes -> assertThat(bytes).isPositive().isLessThan(whole * 3 / 4));
            Device replica = Device.cpu(3);
            assertThat(perDevice.get(replica)).as("the replica holds the last component")
                    .isEqualTo(perDevice.get(Device.cpu(2)));
            LOG.info("weights per device for N=3 stride 2: {} (whole UNet {} bytes)", perDevice, whole);
        }
    }
}
