package dev.asyncdiff.tck;

import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.api.TensorSpec;
import dev.asyncdiff.spi.Backend;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A backend wrapper that records every session it loads, tells which are still open, and can make
 * the sessions of one model file fail, to check that pipelines release sessions and surface failures.
 * Thread-safe. Closing it closes the wrapped backend.
 */
final class TrackingBackend implements Backend {
    private final Backend delegate;
    private final List<Tracked> sessions = new ArrayList<>();
    private volatile Tracked failing;
    private volatile int failOnRun;

    TrackingBackend(Backend delegate) {
        this.delegate = delegate;
    }

    /**
     * Makes a denoiser session fail {@code laterRuns} runs from now: the session loaded last among
     * those that ran most (a denoiser component runs once per step, encoders and decoders once).
     *
     * @return the session that will fail, as "file on device"
     * @throws IllegalStateException when no session has run yet
     */
    synchronized String failDenoiserRun(int laterRuns) {
        Tracked target = null;
        for (Tracked session : sessions) {
            if (!session.closed && (target == null || session.runs.get() >= target.runs.get())) {
                target = session;
            }
        }
        if (target == null || target.runs.get() == 0) {
            throw new IllegalStateException("no session has run yet; run a generation before injecting a failure");
        }
        failOnRun = target.runs.get() + laterRuns;
        failing = target;
        return target.toString();
    }

    /** The sessions loaded and not closed yet, as "file on device". */
    synchronized List<String> openSessions() {
        return sessions.stream().filter(s -> !s.closed).map(Tracked::toString).toList();
    }

    synchronized int loadedCount() {
        return sessions.size();
    }

    @Override
    public String name() {
        return delegate.name();
    }

    @Override
    public InferenceSession load(Path modelFile, Device device) {
        Tracked tracked = new Tracked(delegate.load(modelFile, device), modelFile);
        synchronized (this) {
            sessions.add(tracked);
        }
        return tracked;
    }

    @Override
    public void close() {
        delegate.close();
    }

    /** The exception an injected failure throws. */
    static final class InjectedFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;

        InjectedFailure(String message) {
            super(message);
        }
    }

    private final class Tracked implements InferenceSession {
        private final InferenceSession session;
        private final Path file;
        private final AtomicInteger runs = new AtomicInteger();
        private volatile boolean closed;

        Tracked(InferenceSession session, Path file) {
            this.session = session;
            this.file = file;
        }

        @Override
        public List<TensorSpec> inputs() {
            return session.inputs();
        }

        @Override
        public List<TensorSpec> outputs() {
            return session.outputs();
        }

        @Override
        public Device device() {
            return session.device();
        }

        @Override
        public NamedTensors run(Map<String, Tensor> inputs) {
            int run = runs.incrementAndGet();
            if (failing == this && run == failOnRun) {
                throw new InjectedFailure("injected failure in run " + run + " of " + file.getFileName());
            }
            return session.run(inputs);
        }

        @Override
        public void close() {
            closed = true;
            session.close();
        }

        @Override
        public String toString() {
            return file + " on " + session.device();
        }
    }
}
