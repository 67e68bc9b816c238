package dev.asyncdiff.cli;

import com.google.inject.CreationException;
import com.google.inject.ProvisionException;
import dev.asyncdiff.api.AsyncDiffException;
import dev.asyncdiff.spi.ConfigException;
import java.io.PrintWriter;
import java.lang.reflect.InvocationTargetException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.IParameterExceptionHandler;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

/**
 * Turns every failure into one line on stderr, {@code asyncdiff: error: <what went wrong>}, and an
 * exit code ({@link ExitCodes}); the stack trace follows only with {@code --verbose}.
 */
final class ErrorHandler implements IExecutionExceptionHandler, IParameterExceptionHandler {
    private static final String PREFIX = "asyncdiff: error: ";

    @Override
    public int handleParseException(ParameterException ex, String[] args) {
        CommandLine command = ex.getCommandLine();
        PrintWriter err = command.getErr();
        err.println(PREFIX + oneLine(ex.getMessage()) + " (see '"
                + command.getCommandSpec().qualifiedName() + " --help')");
        err.flush();
        return ExitCodes.USAGE;
    }

    @Override
    public int handleExecutionException(Exception ex, CommandLine command, ParseResult parseResult) {
        if (ex instanceof ParameterException parameterException) {
            return handleParseException(parameterException, parseResult.originalArgs().toArray(String[]::new));
        }
        Throwable cause = unwrap(ex);
        PrintWriter err = command.getErr();
        err.println(PREFIX + describe(cause));
        if (isVerbose(parseResult)) {
            ex.printStackTrace(err);
        }
        err.flush();
        return cause instanceof ConfigException ? ExitCodes.USAGE : ExitCodes.FAILURE;
    }

    /** The one-line description of {@code error}: its message, prefixed by its type where that helps. */
    static String describe(Throwable error) {
        String message = error.getMessage() == null || error.getMessage().isBlank() ? null : oneLine(error.getMessage());
        boolean selfExplaining = error instanceof AsyncDiffException
                || error instanceof IllegalArgumentException
                || error instanceof IllegalStateException;
        if (message == null) {
            return error.getClass().getSimpleName();
        }
        return selfExplaining ? message : error.getClass().getSimpleName() + ": " + message;
    }

    /** The exception that says what went wrong, without the wrappers around it. */
    static Throwable unwrap(Throwable error) {
        Throwable current = error;
        while (current.getCause() != null && current.getCause() != current
                && (current instanceof ProvisionException
                    || current instanceof CreationException
                    || current instanceof ExecutionException
                    || current instanceof CompletionException
                    || current instanceof InvocationTargetException)) {
            current = current.getCause();
        }
        return current;
    }

    private static boolean isVerbose(ParseResult parseResult) {
        for (ParseResult level = parseResult; level != null; level = level.subcommand()) {
            if (level.hasMatchedOption("--verbose")) {
                return true;
            }
        }
        return false;
    }

    private static String oneLine(String text) {
        return text.strip().replaceAll("\\s*\\R\\s*", " ");
    }
}
