package dev.asyncdiff.cli;

/** Entry point of the runnable jar: runs {@link AsyncDiffCommand} and exits with its exit code. */
public final class Main {
    private Main() {
    }

    /** Runs the command line {@code args} and exits the JVM with the command's exit code. */
    public static void main(String[] args) {
        System.exit(AsyncDiffCommand.newCommandLine().execute(args));
    }
}
