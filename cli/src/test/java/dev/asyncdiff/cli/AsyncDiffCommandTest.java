package dev.asyncdiff.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;

class AsyncDiffCommandTest {
    @Test
    void helpListsTheCommandsAndOptions() {
        CliRun run = CliRun.of("--help");

        assertThat(run.exitCode()).isZero();
        assertThat(run.err()).isEmpty();
        assertThat(run.out()).startsWith("Usage: asyncdiff [-hV] [--verbose] COMMAND")
                .contains("providers", "--verbose", "--version", "--help");
    }

    @Test
    void versionPrintsTheProjectVersionAndTheJvm() {
        CliRun run = CliRun.of("--version");

        assertThat(run.exitCode()).isZero();
        assertThat(run.outLines()).hasSize(2);
        assertThat(run.outLines().get(0)).isEqualTo("asyncdiff " + VersionProvider.projectVersion())
                .matches("asyncdiff \\d+\\.\\d+\\.\\d+.*");
        assertThat(run.outLines().get(1)).startsWith("Java " + System.getProperty("java.version"));
    }

    @Test
    void noCommandIsAUsageErrorThatNamesTheCommands() {
        CliRun run = CliRun.of();

        assertThat(run.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(run.out()).isEmpty();
        assertThat(run.errLines()).singleElement().asString()
                .startsWith("asyncdiff: error: missing command; expected one of ")
                .contains("help").contains("providers")
                .endsWith(" (see 'asyncdiff --help')");
    }

    @Test
    void anUnknownCommandIsOneClearErrorLine() {
        CliRun run = CliRun.of("frobnicate");

        assertThat(run.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(run.errLines()).singleElement().asString()
                .startsWith("asyncdiff: error: Unmatched argument at index 0: 'frobnicate'")
                .endsWith("(see 'asyncdiff --help')");
    }

    @Test
    void anUnknownOptionNamesTheOptionAndTheCommand() {
        CliRun run = CliRun.of("providers", "--frob");

        assertThat(run.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(run.out()).isEmpty();
        assertThat(run.errLines()).containsExactly(
                "asyncdiff: error: Unknown option: '--frob' (see 'asyncdiff providers --help')");
    }

    @Command(name = "boom")
    static final class Boom implements Callable<Integer> {
        @Override
        public Integer call() {
            throw new IllegalStateException("the widget\nbroke");
        }
    }

    private static CommandLine withBoom() {
        CommandLine commandLine = AsyncDiffCommand.newCommandLine();
        commandLine.addSubcommand(new Boom());
        return commandLine;
    }

    @Test
    void aFailingCommandPrintsOneLineAndExitsWithFailure() {
        CliRun run = CliRun.of(withBoom(), "boom");

        assertThat(run.exitCode()).isEqualTo(ExitCodes.FAILURE);
        assertThat(run.errLines()).containsExactly("asyncdiff: error: the widget broke");
    }

    @Test
    void verboseAddsTheStackTraceWhereverItIsGiven() {
        String before = System.getProperty(AsyncDiffCommand.LOG_LEVEL_PROPERTY);
        try {
            for (String[] args : new String[][] {{"--verbose", "boom"}, {"boom", "--verbose"}}) {
                CliRun run = CliRun.of(withBoom(), args);

                assertThat(run.exitCode()).isEqualTo(ExitCodes.FAILURE);
                assertThat(run.errLines().get(0)).isEqualTo("asyncdiff: error: the widget broke");
                assertThat(run.err()).contains("java.lang.IllegalStateException: the widget")
                        .contains("at dev.asyncdiff.cli.AsyncDiffCommandTest$Boom.call");
            }
        } finally {
            if (before == null) {
                System.clearProperty(AsyncDiffCommand.LOG_LEVEL_PROPERTY);
            }
        }
    }

    @Test
    void describeKeepsTheTypeOnlyWhereTheMessageNeedsIt() {
        assertThat(ErrorHandler.describe(new IllegalArgumentException("bad value"))).isEqualTo("bad value");
        assertThat(ErrorHandler.describe(new java.nio.file.NoSuchFileException("/x/model.onnx")))
                .isEqualTo("NoSuchFileException: /x/model.onnx");
        assertThat(ErrorHandler.describe(new NullPointerException())).isEqualTo("NullPointerException");
    }
}
