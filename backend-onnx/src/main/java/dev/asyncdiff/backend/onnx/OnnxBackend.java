package dev.asyncdiff.backend.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession.SessionOptions;
import ai.onnxruntime.OrtSession;
import dev.asyncdiff.api.BackendException;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.api.MalformedModelException;
import dev.asyncdiff.api.ModelNotFoundException;
import dev.asyncdiff.spi.Backend;
import dev.asyncdiff.spi.BackendOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code onnx} backend: loads {@code .onnx} files into {@link OnnxSession}s on {@code cpu:N}
 * devices (ONNX Runtime's CPU execution provider with the configured thread counts) or
 * {@code cuda:N} devices (the CUDA execution provider with device id N, which needs the
 * {@code onnxruntime_gpu} artifact: build with {@code ./mvnw -Pgpu}). Models are loaded by path,
 * so ONNX Runtime finds external data files ({@code model.onnx_data}) beside the model.
 *
 * <p>Ownership: the caller closes the backend and every session it loads. Closing the backend is
 * idempotent and closes sessions still open (with a warning); ONNX Runtime's process-wide
 * environment stays alive until the JVM exits. Thread-safe: sessions may be loaded from several
 * threads.
 */
public final class OnnxBackend implements Backend {
    /** The SLF4J logger whose level decides how much of ONNX Runtime's own log is printed. */
    public static final String ORT_LOGGER = "ai.onnxruntime";
    private static final Logger LOG = LoggerFactory.getLogger(OnnxBackend.class);
    private static final long MIN_ENVIRONMENT_STACK = 64L << 20;
    private static volatile OrtEnvironment environment;

    private final OrtEnvironment env;
    private final OnnxOptions options;
    private final Set<OnnxSession> sessions = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    /**
     * Opens the backend over ONNX Runtime's environment, loading its native library.
     *
     * @throws IllegalArgumentException naming the option when an option is invalid, or when a
     *                                  {@code cuda:N} device is configured but the CUDA build of
     *                                  ONNX Runtime is not on the class path, or a device is of
     *                                  another kind than {@code cpu} or {@code cuda}
     * @throws BackendException         when the native library cannot be loaded
     */
    public OnnxBackend(BackendOptions backendOptions) {
        this.options = OnnxOptions.from(backendOptions);
        this.env = environment();
        for (Device device : backendOptions.devices()) {
            if (device.kind().equals(Device.CUDA_KIND)) {
                CudaSupport.requireBuiltIn(device);
            } else if (!device.isCpu()) {
                throw new IllegalArgumentException("the onnx backend runs on cpu:N and cuda:N devices, not " + device
                        + "; choose a backend for '" + device.kind() + "' devices with --backend");
            }
        }
        LOG.debug("opened ONNX Runtime {} for devices {} with {}", env.getVersion(), backendOptions.devices(), options);
    }

    /**
     * ONNX Runtime's process-wide environment, created once on a thread of its own with a large stack.
     *
     * <p>Why: ONNX Runtime 1.29 recurses over the process's command line while it creates its environment,
     * about 800 bytes of native stack per character, so a JVM started with any argument over ~4,000
     * characters (a 400-word {@code --prompt}, a long {@code -D} option) dies with a segmentation fault on
     * a default 8 MiB main thread or 1-2 MiB worker thread. The stack given here grows with the command
     * line ({@link #environmentStackBytes()}); it is only reserved, not committed, so it costs no memory.
     * The environment logs at {@link #ortLoggingLevel()}: ONNX Runtime's Java API cannot hand its log to
     * SLF4J, so its native lines (printed raw on stderr, with terminal colour codes) stay off unless the
     * {@value #ORT_LOGGER} logger is at debug; its errors reach the caller as exceptions anyway.
     *
     * @throws BackendException when the native library cannot be loaded or the environment cannot be created
     */
    public static OrtEnvironment environment() {
        OrtEnvironment env = environment;
        if (env != null) {
            return env;
        }
        synchronized (OnnxBackend.class) {
            if (environment == null) {
                environment = createEnvironment();
            }
            return environment;
        }
    }

    private static OrtEnvironment createEnvironment() {
        AtomicReference<Object> outcome = new AtomicReference<>();
        OrtLoggingLevel level = ortLoggingLevel();
        Thread creator = new Thread(null, () -> {
            try {
                outcome.set(OrtEnvironment.getEnvironment(level, "asyncdiff"));
            } catch (Throwable e) {
                outcome.set(e);
            }
        }, "asyncdiff-ort-environment", environmentStackBytes());
        creator.setDaemon(true);
        creator.start();
        boolean interrupted = false;
        while (true) {
            try {
                creator.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;   // the environment is process-wide: finish creating it, then re-interrupt
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        Object result = outcome.get();
        if (result instanceof OrtEnvironment created) {
            return created;
        }
        if (result instanceof LinkageError e) {
            throw new BackendException("NATIVE_LOAD_FAILED", "could not load ONNX Runtime's native library for this"
                    + " platform (" + System.getProperty("os.name") + "/" + System.getProperty("os.arch") + "): " + e, e);
        }
        Throwable failure = (Throwable) result;
        throw new BackendException("ENVIRONMENT_FAILED", "could not create ONNX Runtime's environment: " + failure,
                failure);
    }

    /**
     * The stack of the thread that creates the environment: 64 MiB, or 1 KiB per character of this
     * process's command line when that is more (capped at 1 GiB; Linux limits one argument to 128 KiB).
     */
    static long environmentStackBytes() {
        long perCharacter = 1024L * commandLineLength();
        return Math.min(1L << 30, Math.max(MIN_ENVIRONMENT_STACK, perCharacter));
    }

    private static long commandLineLength() {
        Path cmdline = Path.of("/proc/self/cmdline");
        try {
            if (Files.isReadable(cmdline)) {
                return Files.readAllBytes(cmdline).length;   // /proc reports a size of 0: read it
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("cannot read {}: {}", cmdline, e.toString());
        }
        return ProcessHandle.current().info().commandLine().map(String::length).orElse(0);
    }

    /** ONNX Runtime's log level for the environment, from the SLF4J level of {@value #ORT_LOGGER}. */
    static OrtLoggingLevel ortLoggingLevel() {
        Logger ort = LoggerFactory.getLogger(ORT_LOGGER);
        if (ort.isTraceEnabled()) {
            return OrtLoggingLevel.ORT_LOGGING_LEVEL_VERBOSE;
        }
        return ort.isDebugEnabled() ? OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING : OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL;
    }

    /** The options this backend applies to every session. */
    public OnnxOptions options() {
        return options;
    }

    @Override
    public String name() {
        return OnnxBackendProvider.NAME;
    }

    /** The backend, the device kind, and for CPU devices the intra-op threads and the optimization level. */
    @Override
    public String timingProfile(Device device) {
        String profile = Backend.super.timingProfile(device);
        if (!device.isCpu()) {
            return profile;
        }
        int threads = options.intraOpThreads();
        return profile + ", " + (threads == 0 ? "default intra-op threads" : threads + " intra-op thread"
                + (threads == 1 ? "" : "s")) + ", " + options.optimizationLevel().name().toLowerCase(Locale.ROOT);
    }

    /**
     * {@inheritDoc}
     *
     * @throws ModelNotFoundException   when {@code modelFile} does not exist
     * @throws MalformedModelException  naming the file when it is a directory, truncated, not an
     *                                  ONNX model, misses its external data, or declares inputs or
     *                                  outputs of a type this backend cannot run
     * @throws IllegalArgumentException for {@code cuda:N} without the CUDA build (the message says
     *                                  how to enable it)
     * @throws BackendException         with ONNX Runtime's error code for any other native failure
     */
    @Override
    public InferenceSession load(Path modelFile, Device device) {
        ensureOpen();
        if (modelFile == null || device == null) {
            throw new IllegalArgumentException("load needs a model file and a device, got " + modelFile + " and "
                    + device);
        }
        if (!Files.exists(modelFile)) {
            throw new ModelNotFoundException(modelFile, "ONNX model file");
        }
        if (Files.isDirectory(modelFile)) {
            throw new MalformedModelException(modelFile, "is a directory; expected an .onnx file");
        }
        OrtSession session;
        try (SessionOptions sessionOptions = sessionOptions(device)) {
            session = env.createSession(modelFile.toAbsolutePath().toString(), sessionOptions);
        } catch (OrtException e) {
            throw OrtErrors.onLoad(modelFile, e);
        }
        try {
            OnnxSession created = OnnxSession.create(env, modelFile, device, session, sessions::remove);
            sessions.add(created);
            return created;
        } catch (OrtException e) {
            throw OrtErrors.onLoad(modelFile, e);
        } catch (IllegalArgumentException e) {
            throw new MalformedModelException(modelFile, e.getMessage(), e);
        }
    }

    /** Session options for {@code device}; the caller must close them. */
    SessionOptions sessionOptions(Device device) {
        SessionOptions sessionOptions = new SessionOptions();
        try {
            sessionOptions.setOptimizationLevel(options.optimizationLevel());
            if (options.intraOpThreads() > 0) {
                sessionOptions.setIntraOpNumThreads(options.intraOpThreads());
            }
            if (options.interOpThreads() > 0) {
                sessionOptions.setInterOpNumThreads(options.interOpThreads());
            }
            if (!options.cpuArena()) {
                sessionOptions.setCPUArenaAllocator(false);
            }
            if (device.kind().equals(Device.CUDA_KIND)) {
                CudaSupport.add(sessionOptions, device);
                if (options.disableCpuFallback()) {
                    sessionOptions.addConfigEntry("session.disable_cpu_ep_fallback", "1");
                }
            }
            return sessionOptions;
        } catch (OrtException e) {
            sessionOptions.close();
            throw OrtErrors.onCall("configure a session for " + device, e);
        } catch (RuntimeException e) {
            sessionOptions.close();
            throw e;
        }
    }

    /** Closes sessions still open, then marks the backend closed; idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<OnnxSession> open = List.copyOf(sessions);
        if (!open.isEmpty()) {
            LOG.warn("closing the onnx backend with {} session(s) still open; closing them: {}", open.size(), open);
            open.forEach(OnnxSession::close);
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("OnnxBackend is closed");
        }
    }
}
