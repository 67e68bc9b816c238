package dev.asyncdiff.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.synthetic.Family;
import dev.asyncdiff.synthetic.Scale;
import dev.asyncdiff.synthetic.SyntheticModels;
import dev.asyncdiff.synthetic.TokenizerKind;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TckCommandTest {
    @TempDir
    Path dir;

    @Test
    void runsEveryCheckAndWritesReports() throws Exception {
        Path model = tinySd15();
        CliRun run = CliRun.of("tck", "--model", model.toString(), "--json", dir.resolve("r.json").toString(),
                "--markdown", dir.resolve("r.md").toString(), "--html", dir.resolve("r.html").toString());
        assertThat(run.exitCode()).as(run.out()).isEqualTo(ExitCodes.OK);
        assertThat(run.out()).contains("adapter sd").contains("passed  split-exactness").contains("passed  guidance")
                .contains("passed  input-validation").contains("all checks passed");
        assertThat(run.err()).as("progress while it runs").contains("tck check 1/8: split-exactness …")
                .contains("tck check 8/8: input-validation done in");
        JsonNode json = new ObjectMapper().readTree(dir.resolve("r.json").toFile());
        assertThat(json.get("passed").asBoolean()).isTrue();
        assertThat(json.get("checks")).hasSize(8);
        JsonNode closeness = json.get("checks").get(2);
        assertThat(closeness.get("check").asText()).isEqualTo("closeness");
        assertThat(closeness.get("curves").get("text-to-image N=2 stride=1 async")).hasSize(13);
        assertThat(Files.readString(dir.resolve("r.md"))).contains("| closeness | passed |")
                .contains("data:image/svg+xml;base64,");
        assertThat(Files.readString(dir.resolve("r.html"))).contains("<svg").contains("<polyline");
    }

    @Test
    void aSeedFractionNothingReachesFailsClosenessWithExitOne() throws Exception {
        CliRun run = CliRun.of("tck", "--model", tinySd15().toString(), "--seed-fraction", "0.001",
                "--stochastic-sampler", "none", "--json", dir.resolve("strict.json").toString());
        assertThat(run.exitCode()).isEqualTo(ExitCodes.FAILURE);
        JsonNode checks = new ObjectMapper().readTree(dir.resolve("strict.json").toFile()).get("checks");
        for (JsonNode check : checks) {
            assertThat(check.get("status").asText()).as(check.get("check").asText())
                    .isEqualTo(check.get("check").asText().equals("closeness") ? "failed" : "passed");
        }
    }

    private Path tinySd15() throws java.io.IOException {
        Path model = dir.resolve("sd15");
        if (!Files.isDirectory(model)) {
            SyntheticModels.write(Family.SD15, Scale.TINY, DType.FP32, 0, TokenizerKind.BPE, model);
        }
        return model;
    }

    @Test
    void anUnknownAdapterOrMissingFolderIsAUsageError() {
        CliRun missing = CliRun.of("tck", "--model", dir.resolve("nope").toString());
        assertThat(missing.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(missing.errLines()).singleElement().asString().contains("nope").contains("does not exist");
        CliRun unknown = CliRun.of("tck", "--model", dir.toString(), "--adapter", "xyz");
        assertThat(unknown.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(unknown.errLines()).singleElement().asString().contains("unknown adapter 'xyz'");
    }
}
