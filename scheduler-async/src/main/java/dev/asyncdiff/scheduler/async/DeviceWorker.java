package dev.asyncdiff.scheduler.async;

import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.HostBufferPool;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One thread bound to one device — a rank of the engine: it loads and runs the components placed on
 * that device, owns what it loaded, and lends its components' outputs from its {@link HostBufferPool}. Work is submitted as tasks and runs in submission order. Closing it waits
 * for the running task (a native run cannot be interrupted), stops the thread and closes the
 * resources it owns; closing is idempotent.
 */
public final class DeviceWorker implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DeviceWorker.class);
    private static final long SHUTDOWN_WAIT_SECONDS = 60;

    private final Device device;
    private final ExecutorService thread;
    private final HostBufferPool pool;
    private final List<AutoCloseable> owned = new ArrayList<>();
    private boolean closed;

    /** Starts the worker thread for {@code device}. */
    public DeviceWorker(Device device) {
        this.device = device;
        this.pool = new HostBufferPool(device.isCpu() ? device : Device.CPU);
        this.thread = Executors.newSingleThreadExecutor(runnable -> {
            Thread t = new Thread(runnable, "asyncdiff-" + device);
            t.setDaemon(true);
            return t;
        });
    }

    public Device device() {
        return device;
    }

    /** The host memory this worker's components write their outputs into, reused round after round. */
    public HostBufferPool pool() {
        return pool;
    }

    /** Runs {@code task} on this worker's thread. */
    public <T> CompletableFuture<T> submit(Callable<T> task) {
        CompletableFuture<T> result = new CompletableFuture<>();
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("DeviceWorker for " + device + " is closed");
            }
            thread.execute(() -> {
                try {
                    result.complete(task.call());
                } catch (Throwable t) {
                    result.completeExceptionally(t);
                }
            });
        }
        return result;
    }

    /** Takes ownership of {@code resource}: it is closed when this worker closes. */
    public synchronized <T extends AutoCloseable> T own(T resource) {
        owned.add(resource);
        return resource;
    }

    @Override
    public void close() {
        List<AutoCloseable> toClose;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            toClose = new ArrayList<>(owned);
            owned.clear();
        }
        thread.shutdown();
        try {
            if (!thread.awaitTermination(SHUTDOWN_WAIT_SECONDS, TimeUnit.SECONDS)) {
                LOG.warn("worker for {} still busy after {} s; closing its sessions anyway", device,
                        SHUTDOWN_WAIT_SECONDS);
                thread.shutdownNow();
            }
        } catch (InterruptedException e) {
            thread.shutdownNow();
            Thread.currentThread().interrupt();
        }
        for (int i = toClose.size() - 1; i >= 0; i--) {
            try {
                toClose.get(i).close();
            } catch (Exception e) {
                LOG.warn("closing a resource of the worker for {} failed: {}", device, e.toString());
            }
        }
        pool.close();
    }
}
