package dev.asyncdiff.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.synthetic.Family;
import dev.asyncdiff.synthetic.Scale;
import dev.asyncdiff.synthetic.SyntheticModels;
import dev.asyncdiff.synthetic.TokenizerKind;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code asyncdiff bench --soak N}: open → generate → close cycles with the RSS after each. */
class SoakBenchTest {
    @TempDir
    Path dir;

    @Test
    void soakReportsTheRssOfEveryCycle() throws Exception {
        Path sd21 = SyntheticModels.write(Family.SD21, Scale.TINY, DType.FP32, 1, TokenizerKind.BPE,
                dir.resolve("sd21")).directory();
        CliRun run = CliRun.of("bench", "--soak", "3", "--model", sd21.toString(), "--steps", "1", "--devices",
                "cpu:0", "--json");
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.err()).contains("soak cycle 1/3: RSS").contains("soak cycle 3/3");
        JsonNode report = new ObjectMapper().readTree(run.out());
        assertThat(report.get("cycles").asInt()).isEqualTo(3);
        assertThat(report.get("rssBytes")).hasSize(3);
        report.get("rssBytes").forEach(rss -> assertThat(rss.asLong()).isGreaterThan(0));
        assertThat(report.get("maxRssBytes").asLong()).isGreaterThanOrEqualTo(report.get("rssBytes").get(0).asLong());

        CliRun zero = CliRun.of("bench", "--soak", "0", "--model", sd21.toString());
        assertThat(zero.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(zero.err()).contains("--soak must be >= 1");
    }
}
