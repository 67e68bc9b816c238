package dev.asyncdiff.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class BenchCommandTest {
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
}
