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
        Path model = dir.resolve("sd15");
        SyntheticModels.write(Family.SD15, Scale.TINY, DType.FP32, 0, TokenizerKind.BPE, model);
        CliRun run = CliRun.of("tck", "--model", model.toString(), "--json", dir.resolve("r.json").toString(),
                "--markdown", dir.resolve("r.md").toString());
        assertThat(run.exitCode()).isEqualTo(ExitCodes.OK);
        assertThat(run.out()).contains("adapter sd").contains("passed  split-exactness")
                .contains("passed  input-validation").contains("all checks passed");
        assertThat(run.err()).as("progress while it runs").contains("tck check 1/6: split-exactness …")
                .contains("tck check 6/6: input-validation done in");
        JsonNode json = new ObjectMapper().readTree(dir.resolve("r.json").toFile());
        assertThat(json.get("passed").asBoolean()).isTrue();
        assertThat(json.get("checks")).hasSize(6);
        assertThat(Files.readString(dir.resolve("r.md"))).contains("| closeness | passed |");
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
