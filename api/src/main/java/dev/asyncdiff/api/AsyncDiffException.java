package dev.asyncdiff.api;

/** The root of AsyncDiff's own unchecked exceptions. */
public class AsyncDiffException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public AsyncDiffException(String message) {
        super(message);
    }

    public AsyncDiffException(String message, Throwable cause) {
        super(message, cause);
    }
}
