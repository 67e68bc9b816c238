package dev.asyncdiff.scheduler.async;

import static org.assertj.core.api.Assertions.assertThat;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.ParallelStrategy;
import dev.asyncdiff.synthetic.Family;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A rank in another process gets its run of the next round before rank 0 has received this round's prediction,
 * so the round trip through rank 0's sampler is off that rank's critical path; the latents stay the same.
 */
class RunAheadTest {
    private static final int STEPS = 6;
    private static final long SEED = 11;

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

    private static int indexOf(List<String> events, String prefix, String suffix) {
        for (int i = 0; i < events.size(); i++) {
            if (events.get(i).startsWith(prefix) && events.get(i).endsWith(suffix)) {
                return i;
            }
        }
        return -1;
    }
}
