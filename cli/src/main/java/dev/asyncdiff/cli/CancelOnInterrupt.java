package dev.asyncdiff.cli;

import dev.asyncdiff.api.CancellationToken;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Ctrl-C cancels the running generation through its token and waits (up to 30 s) for it to stop cleanly, so nothing
 * is left half-written; closing this ends the wait and removes the hook.
 */
final class CancelOnInterrupt implements AutoCloseable {
    private static final long SHUTDOWN_WAIT_SECONDS = 30;

    private final CountDownLatch finished = new CountDownLatch(1);
    private final Thread hook;

    CancelOnInterrupt(CancellationToken cancellation) {
        this.hook = new Thread(() -> {
            cancellation.cancel();
            try {
                finished.await(SHUTDOWN_WAIT_SECONDS, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "asyncdiff-cancel");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    @Override
    public void close() {
        finished.countDown();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the JVM is exiting (Ctrl-C): the hook runs and returns now that we are done
        }
    }
}
