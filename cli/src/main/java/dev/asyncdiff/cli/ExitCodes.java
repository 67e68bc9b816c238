package dev.asyncdiff.cli;

/** The exit codes of {@code asyncdiff}. */
public final class ExitCodes {
    /** The command succeeded. */
    public static final int OK = 0;
    /** The command failed while running. */
    public static final int FAILURE = 1;
    /** The command line or the configuration was wrong. */
    public static final int USAGE = 2;

    private ExitCodes() {
    }
}
