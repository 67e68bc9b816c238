package dev.asyncdiff.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * The root {@code asyncdiff} command. Subcommands are registered in the {@code subcommands} list
 * below and nowhere else; each is a {@link Callable} returning its exit code.
 *
 * <p>Exit codes: {@value ExitCodes#OK} on success, {@value ExitCodes#FAILURE} when a command fails,
 * {@value ExitCodes#USAGE} for bad usage or configuration.
 */
@Command(name = "asyncdiff",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "Diffusion-model inference with asynchronous denoising across devices.",
        synopsisSubcommandLabel = "COMMAND",
        subcommands = {
            // One line per subcommand; keep the list sorted by command name.
            BenchCommand.class,
            GenerateCommand.class,
            UpscaleCommand.class,
            CommandLine.HelpCommand.class,
            ProvidersCommand.class,
            SplitCommand.class,
            SynthCommand.class,
            TckCommand.class,
            TokenizeCommand.class,
            VideoCommand.class,
            WorkerCommand.class,
        })
public final class AsyncDiffCommand implements Callable<Integer> {
    /** System property slf4j-simple reads for its default level. */
    static final String LOG_LEVEL_PROPERTY = "org.slf4j.simpleLogger.defaultLogLevel";

    @Spec
    CommandSpec spec;

    /**
     * A {@link CommandLine} for the root command with the error handlers installed; the caller runs
     * it with {@link CommandLine#execute}.
     */
    public static CommandLine newCommandLine() {
        CommandLine commandLine = new CommandLine(new AsyncDiffCommand());
        commandLine.setCaseInsensitiveEnumValuesAllowed(true);   // --external-data auto, as the README writes it
        ErrorHandler errors = new ErrorHandler();
        commandLine.setExecutionExceptionHandler(errors);
        commandLine.setParameterExceptionHandler(errors);
        return commandLine;
    }

    /** {@code --verbose}: stack traces for errors, and debug logging unless a level was set with -D. */
    @Option(names = "--verbose", scope = ScopeType.INHERIT,
            description = "Print stack traces of errors and debug log messages.")
    void setVerbose(boolean verbose) {
        if (verbose && System.getProperty(LOG_LEVEL_PROPERTY) == null) {
            System.setProperty(LOG_LEVEL_PROPERTY, "debug");
        }
    }

    /** Without a subcommand: an error naming the commands there are. */
    @Override
    public Integer call() {
        throw new CommandLine.ParameterException(spec.commandLine(),
                "missing command; expected one of " + String.join(", ", spec.subcommands().keySet()));
    }
}
