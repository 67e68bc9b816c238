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

class BenchCommandTest {
    @TempDir
    Path dir;

    @Test
    void anUnknownConfigurationIsAUsageError() {
        CliRun run = CliRun.of("bench", "--model", "/nonexistent", "--configs", "sequential,n2s9");
        assertThat(run.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(run.errLines()).singleElement().asString().contains("unknown benchmark configuration 'n2s9'");
    }

    @Test
    void aMissingModelFolderIsNamed() {
        CliRun run = CliRun.of("bench", "--model", "/nonexistent/model", "--configs", "sequential");
        assertThat(run.exitCode()).isEqualTo(ExitCodes.FAILURE);
        assertThat(run.errLines()).anySatisfy(line -> assertThat(line).contains("/nonexistent/model"));
    }

    @Test
    void theTransportBenchmarkPrintsItsPairedRoundsAsJson() throws Exception {
        Path sd21 = SyntheticModels.write(Family.SD21, Scale.TINY, DType.FP32, 1, TokenizerKind.BPE,
                dir.resolve("sd21")).directory();
        CliRun run = CliRun.of("bench", "--communicator", "inprocess", "--model", sd21.toString(), "--devices",
                "cpu:0,cpu:1", "--size", "64", "--steps", "2", "--repeats", "3", "--warm-up-rounds", "1", "--json");
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.err()).contains("warm-up round 1 of 1").contains("round 3 of 3: in process");
        JsonNode report = new ObjectMapper().readTree(run.out());
        assertThat(report.get("communicator").asText()).isEqualTo("inprocess");
        assertThat(report.get("rounds").asInt()).isEqualTo(3);
        assertThat(report.get("steps").asInt()).isEqualTo(2);
        assertThat(report.get("warmUpRounds").asInt()).isEqualTo(1);
        assertThat(report.get("inProcessMillis").asDouble()).isPositive();
        assertThat(report.get("overheadPercent").asDouble()).isBetween(report.get("minOverheadPercent").asDouble(),
                report.get("maxOverheadPercent").asDouble());
        assertThat(report.get("plannedBytesPerStep").asDouble()).isPositive();

        CliRun unknown = CliRun.of("bench", "--communicator", "carrier-pigeon", "--model", sd21.toString(),
                "--devices", "cpu:0,cpu:1", "--size", "64");
        assertThat(unknown.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(unknown.err()).contains("--communicator").contains("carrier-pigeon");
    }
}
