package dev.asyncdiff.tck;

import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.api.TensorAllocator;
import dev.asyncdiff.api.TensorSpec;
import dev.asyncdiff.spi.Backend;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A backend wrapper that records every session it loads (file, the device asked for, the device it
 * runs on), tells which are still open, can make the sessions of one model file fail, and can feed
 * later denoiser components stale activations (the kit's known-bad reference). Thread-safe. Closing it
 * closes the wrapped backend.
 */
final class TrackingBackend implements Backend {
    private static final Pattern COMPONENT = Pattern.compile("component-(\\d+)\\.onnx");
    /** How many runs older than what the schedule sends the known-bad reference's activations are. */
    static final int STALENESS = 3;

    private final Backend delegate;
    private final List<Tracked> sessions = new ArrayList<>();
    /** The inputs of the first component: the denoiser's own inputs, which stay current when activations go stale. */
    private final Set<String> denoiserInputs = ConcurrentHashMap.newKeySet();
    private volatile Tracked failing;
    private volatile int failOnRun;
    private volatile boolean staleActivations;

    /**
     * Where a session was asked to run and where it says it runs.
     *
     * @param file      the model file
     * @param requested the device the session was loaded for
     * @param actual    the device the session reports
     * @param component the denoiser component index from the file name, or -1 for other models
     * @param runs      how many times it ran
     */
    record Placement(Path file, Device requested, Device actual, int component, int runs) {
    }

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

    /**
     * From now on, every denoiser component after the first gets, for each input that another component
     * produced, what it received {@link #STALENESS} runs before instead of what it receives: activations
     * several steps older than the asynchronous schedule's.
     */
    void staleActivations(boolean value) {
        staleActivations = value;
    }

    /** The sessions loaded and not closed yet, as "file on device". */
    synchronized List<String> openSessions() {
        return sessions.stream().filter(s -> !s.closed).map(Tracked::toString).toList();
    }

    /** Every session loaded so far, in load order. */
    synchronized List<Placement> placements() {
        return sessions.stream().map(s -> new Placement(s.file, s.requested, s.session.device(), s.component,
                s.runs.get())).toList();
    }

    synchronized int loadedCount() {
        return sessions.size();
    }

    @Override
    public String name() {
        return delegate.name();
    }

    @Override
    public String timingProfile(Device device) {
        return delegate.timingProfile(device);
    }

    @Override
    public InferenceSession load(Path modelFile, Device device) {
        Matcher matcher = COMPONENT.matcher(modelFile.getFileName().toString());
        int component = matcher.matches() ? Integer.parseInt(matcher.group(1)) : -1;
        Tracked tracked = new Tracked(delegate.load(modelFile, device), modelFile, device, component);
        if (component == 0) {
            tracked.inputs().forEach(spec -> denoiserInputs.add(spec.name()));
        }
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
        private final Device requested;
        private final int component;
        private final AtomicInteger runs = new AtomicInteger();
        /** Copies of the activations of the last runs, oldest first, for {@link #staleActivations}. */
        private final Map<String, ArrayDeque<Tensor>> previous = new HashMap<>();
        private volatile boolean closed;

        Tracked(InferenceSession session, Path file, Device requested, int component) {
            this.session = session;
            this.file = file;
            this.requested = requested;
            this.component = component;
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
            return run(inputs, null);
        }

        @Override
        public NamedTensors run(Map<String, Tensor> inputs, TensorAllocator outputs) {
            int run = runs.incrementAndGet();
            if (failing == this && run == failOnRun) {
                throw new InjectedFailure("injected failure in run " + run + " of " + file.getFileName());
            }
            List<Tensor> retired = new ArrayList<>();
            Map<String, Tensor> fed = staleActivations && component > 0 ? staled(inputs, retired) : inputs;
            try {
                return outputs == null ? session.run(fed) : session.run(fed, outputs);
            } finally {
                retired.forEach(Tensor::close);
            }
        }

        /**
         * The inputs with each activation replaced by the one received {@link #STALENESS} runs before (or the
         * oldest kept, early in a generation), keeping a copy of this run's; copies this run reads and drops go
         * to {@code retired}, to be closed after it.
         */
        private synchronized Map<String, Tensor> staled(Map<String, Tensor> inputs, List<Tensor> retired) {
            Map<String, Tensor> fed = new LinkedHashMap<>(inputs);
            for (Map.Entry<String, Tensor> input : inputs.entrySet()) {
                String name = input.getKey();
                if (denoiserInputs.contains(name)) {
                    continue;
                }
                Tensor current = input.getValue();
                ArrayDeque<Tensor> kept = previous.computeIfAbsent(name, n -> new ArrayDeque<>());
                Tensor older = kept.peekFirst();
                if (older != null && Arrays.equals(older.shape(), current.shape())) {
                    fed.put(name, older);
                }
                try (Tensor host = current.toHost()) {
                    kept.addLast(host.to(host.dtype()));
                }
                if (kept.size() > STALENESS) {
                    retired.add(kept.removeFirst());
                }
            }
            return fed;
        }

        @Override
        public void close() {
            closed = true;
            synchronized (this) {
                previous.values().forEach(kept -> kept.forEach(Tensor::close));
                previous.clear();
            }
            session.close();
        }

        @Override
        public String toString() {
            return file + " on " + session.device();
        }
    }
}
