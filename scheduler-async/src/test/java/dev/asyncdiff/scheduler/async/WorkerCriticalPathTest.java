package dev.asyncdiff.scheduler.async;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.ComponentFile;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.ParallelStrategy;
import dev.asyncdiff.api.StepInputs;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.spi.DenoiserSource;
import dev.asyncdiff.synthetic.Family;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What keeps a later component off rank 0's round trip (prediction in, sampler, latents out), with the latents
 * the same to the bit: when it reads the latent only for its shape (the UNet's up path sizing its upsampling by
 * it), it gets a tensor of that shape once per generation instead of the latents every step; and when its rank
 * is in another process, it gets its run of the next round before rank 0 has received this round's prediction.
 */
class WorkerCriticalPathTest {
    private static final int STEPS = 6;
    private static final long SEED = 5;

    @TempDir
    static Path dir;
    private static SyntheticUNetFixture fixture;

    @BeforeAll
    static void setUp() throws Exception {
        fixture = new SyntheticUNetFixture(Family.SD21, dir);
    }

    @AfterAll
    static void tearDown() {
        fixture.close();
    }

    @Test
    void theSplitMarksTheLatentOfTheUpPathAsReadForItsShapeOnly() {
        List<ComponentFile> files = fixture.source.components(2);
        assertThat(files.get(0).shapeOnlyInputs()).isEmpty();
        assertThat(files.get(1).shapeOnlyInputs()).containsExactly("sample");
    }

    @Test
    void aShapeOnlyLatentTravelsOncePerGenerationAndGivesTheSameLatents() {
        AsyncConfig config = new AsyncConfig(2, 1, 1, false);
        DenoiserSource valuesEverywhere = parts -> fixture.source.components(parts).stream()
                .map(f -> new ComponentFile(f.index(), f.file(), f.inputs(), f.outputs())).toList();
        List<String> everyStep = new ArrayList<>();
        float[] expected = denoise(config, valuesEverywhere, everyStep);
        List<String> once = new ArrayList<>();
        float[] actual = denoise(config, fixture.source, once);

        assertThat(actual).containsExactly(expected);
        assertThat(samplesTo(1, everyStep)).as("latents to component 1 when it reads their values")
                .hasSize(2 * STEPS);
        assertThat(samplesTo(1, once)).containsExactly("send 0->1 shape/sample", "send 0->1 shape/sample");
        assertThat(samplesTo(0, once)).hasSize(2 * STEPS);
    }

    /** Two generations on one strategy, recording every message's sender, receiver and tag in {@code sent}. */
    private static float[] denoise(AsyncConfig config, DenoiserSource source, List<String> sent) {
        List<String> events = new ArrayList<>();
        try (ParallelStrategy strategy = fixture.strategy("async", config, 1, source,
                RecordingCommunicator.provider(events, Set.of(), fixture.backend))) {
            float[] first = fixture.denoise(strategy, STEPS, SEED);
            assertThat(fixture.denoise(strategy, STEPS, SEED)).as("a second generation").containsExactly(first);
            sent.addAll(RecordingCommunicator.starting("send ", events));
            return first;
        }
    }

    private static List<String> samplesTo(int rank, List<String> sent) {
        return sent.stream().filter(m -> m.startsWith("send 0->" + rank + " ") && m.endsWith("sample")).toList();
    }

    @Test
    void aRemoteRankGetsItsNextRunBeforeRankZeroHasThePrediction() {
        AsyncConfig config = new AsyncConfig(2, 1, 1, false);
        float[] expected;
        try (ParallelStrategy strategy = fixture.strategy("async", config)) {
            expected = fixture.denoise(strategy, STEPS, SEED);
        }
        List<String> events = new ArrayList<>();
        try (ParallelStrategy strategy = fixture.strategy("async", config, 1, fixture.source,
                RecordingCommunicator.provider(events, Set.of(1), fixture.backend))) {
            assertThat(fixture.denoise(strategy, STEPS, SEED)).containsExactly(expected);
        }
        List<String> order = RecordingCommunicator.starting("", events);
        for (int k = 1; k < STEPS; k++) {
            int run = indexOf(order, "submit 1 ", " " + k);
            int previousPrediction = order.indexOf("recv 1->0 k" + (k - 1) + "/eps/g0");
            assertThat(run).as("rank 1's run of step %d is submitted", k + 1).isNotNegative();
            assertThat(run).as("rank 1's run of step %d is submitted before rank 0 waits for the prediction of step %d",
                    k + 1, k).isLessThan(previousPrediction);
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aRunHandedOutAheadWhoseInputNeverComesIsAbortedAndTheNextGenerationRuns() {
        AsyncConfig config = new AsyncConfig(2, 1, 1, false);
        StepInputs conditioningForTwoStepsOnly = (step, latents) -> {
            NamedTensors inputs = new NamedTensors().put(StepInputs.SAMPLE, latents.to(latents.dtype()));
            if (step.step() < 2) {
                inputs.put("encoder_hidden_states", Tensor.zeros(DType.FP32, 1, fixture.config.sequenceLength(),
                        fixture.config.crossAttentionDim()));
            }
            return inputs;
        };
        try (ParallelStrategy strategy = fixture.strategy("async", config, 1, fixture.source,
                RecordingCommunicator.provider(new ArrayList<>(), Set.of(1), fixture.backend))) {
            float[] plain = fixture.denoise(strategy, STEPS, SEED);
            assertThatThrownBy(() -> fixture.denoise(strategy, STEPS, SEED, conditioningForTwoStepsOnly))
                    .hasMessageContaining("at step 3, without 'encoder_hidden_states' it returned before");
            assertThat(fixture.denoise(strategy, STEPS, SEED)).as("the next generation").containsExactly(plain);
        }
    }

    private static int indexOf(List<String> events, String prefix, String suffix) {
        for (int i = 0; i < events.size(); i++) {
            if (events.get(i).startsWith(prefix) && events.get(i).endsWith(suffix)) {
                return i;
            }
        }
        return -1;
    }
}
