package dev.asyncdiff.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.asyncdiff.spi.ConfigLoader;
import dev.asyncdiff.spi.RuntimeConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

class RuntimeOptionsTest {
    private static final Map<String, String> ENV = Map.of(
            ConfigLoader.ENV_BACKEND, "env-backend", ConfigLoader.ENV_DEVICES, "cpu:1,cpu:2");

    /** Prints the configuration its runtime options resolve to, with a fixed environment. */
    @Command(name = "probe")
    static final class Probe implements Callable<Integer> {
        @Mixin
        RuntimeOptions runtime;

        @Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            RuntimeConfig config = runtime.toConfig(ENV);
            spec.commandLine().getOut().println(config.backend() + " " + config.devices() + " "
                    + config.backendOptions());
            return 0;
        }
    }

    /** Selects the configured backend through the Guice runtime. */
    @Command(name = "select")
    static final class Select implements Callable<Integer> {
        @Mixin
        RuntimeOptions runtime;

        @Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            spec.commandLine().getOut().println(runtime.runtime().backendProvider().name());
            return 0;
        }
    }

    private static CommandLine withTestCommands() {
        CommandLine commandLine = AsyncDiffCommand.newCommandLine();
        commandLine.addSubcommand(new Probe());
        commandLine.addSubcommand(new Select());
        return commandLine;
    }

    @TempDir
    Path dir;

    @Test
    void theEnvironmentWinsOverTheFileAndFlagsWinOverTheEnvironment() throws IOException {
        Path file = Files.writeString(dir.resolve("asyncdiff.yaml"), """
                backend: file-backend
                devices: [cpu:0]
                backendOptions:
                  flag-backend: {intraOpThreads: 4, arena: "false"}
                """);

        CliRun envOverFile = CliRun.of(withTestCommands(), "probe", "--config", file.toString());
        assertThat(envOverFile.outLines()).containsExactly("env-backend [cpu:1, cpu:2] {}");

        CliRun flags = CliRun.of(withTestCommands(), "probe", "--config", file.toString(),
                "--backend", "flag-backend", "--devices", "cpu:3", "--backend-option", "intraOpThreads=2");
        assertThat(flags.exitCode()).isZero();
        assertThat(flags.outLines()).singleElement().asString()
                .startsWith("flag-backend [cpu:3] {")
                .contains("intraOpThreads=2", "arena=false");
    }

    @Test
    void aBadDeviceFlagIsAUsageErrorNamingTheFlag() {
        CliRun run = CliRun.of(withTestCommands(), "probe", "--devices", "cpu:0,gpu:one");

        assertThat(run.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(run.errLines()).singleElement().asString()
                .startsWith("asyncdiff: error: invalid device 'gpu:one'")
                .endsWith("(from flag --devices)");
    }

    @Test
    void aMissingConfigFileIsAUsageErrorNamingTheFile() {
        Path missing = dir.resolve("missing.json");

        CliRun run = CliRun.of(withTestCommands(), "probe", "--config", missing.toString());

        assertThat(run.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(run.errLines()).containsExactly("asyncdiff: error: config file " + missing + " not found");
    }

    @Test
    void theRuntimeSelectsTheBackendNamedByTheFlag() {
        CliRun run = CliRun.of(withTestCommands(), "select", "--backend", "cli-test-backend");

        assertThat(run.exitCode()).isZero();
        assertThat(run.outLines()).containsExactly("cli-test-backend");
    }

    @Test
    void anUnknownBackendFailsWithTheKnownOnes() {
        CliRun run = CliRun.of(withTestCommands(), "select", "--backend", "warp-drive");

        assertThat(run.exitCode()).isEqualTo(ExitCodes.FAILURE);
        assertThat(run.errLines()).singleElement().asString()
                .startsWith("asyncdiff: error: unknown backend 'warp-drive'; known backends: ")
                .contains("cli-test-backend");
    }
}
