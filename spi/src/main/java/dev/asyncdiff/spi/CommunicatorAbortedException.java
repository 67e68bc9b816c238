package dev.asyncdiff.spi;

/** A receive that cannot complete because another rank failed; the cause is that rank's failure. */
public final class CommunicatorAbortedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CommunicatorAbortedException(String message, Throwable cause) {
        super(message, cause);
    }
}
