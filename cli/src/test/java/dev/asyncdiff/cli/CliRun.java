package dev.asyncdiff.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import picocli.CommandLine;

/** The outcome of running the CLI in-process: exit code and captured stdout and stderr. */
record CliRun(int exitCode, String out, String err) {
    /** Runs {@link AsyncDiffCommand} with {@code args}. */
    static CliRun of(String... args) {
        return of(AsyncDiffCommand.newCommandLine(), args);
    }

    /** Runs {@code commandLine} (built by {@link AsyncDiffCommand#newCommandLine()}) with {@code args}. */
    static CliRun of(CommandLine commandLine, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        int code = commandLine.execute(args);
        return new CliRun(code, out.toString(), err.toString());
    }

    /** Stdout split into lines. */
    List<String> outLines() {
        return out.lines().toList();
    }

    /** Stderr split into lines. */
    List<String> errLines() {
        return err.lines().toList();
    }
}
