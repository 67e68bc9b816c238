package dev.asyncdiff.api;

import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A flag that asks long work (a generation, a denoising loop) to stop; the work checks it at least
 * once per step. Thread-safe; cancelling is permanent.
 */
public final class CancellationToken {
    private final AtomicBoolean cancelled = new AtomicBoolean();

    /** A token nobody cancels, for callers that do not need cancellation. */
    public static CancellationToken none() {
        return new CancellationToken();
    }

    /** Asks the work to stop. */
    public void cancel() {
        cancelled.set(true);
    }

    public boolean isCancelled() {
        return cancelled.get();
    }

    /**
     * @throws CancellationException when cancelled or when the current thread was interrupted
     */
    public void throwIfCancelled() {
        if (Thread.currentThread().isInterrupted()) {
            throw new CancellationException("generation interrupted");
        }
        if (cancelled.get()) {
            throw new CancellationException("generation cancelled");
        }
    }
}
