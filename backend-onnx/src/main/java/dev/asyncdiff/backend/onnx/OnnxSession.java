package dev.asyncdiff.backend.onnx;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.api.TensorAllocator;
import dev.asyncdiff.api.TensorSpec;
import dev.asyncdiff.spi.DeclaredTensor;
import dev.asyncdiff.spi.InputConverter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An ONNX Runtime session bound to one device, created by {@link OnnxBackend#load}.
 *
 * <p>{@link #run} probes the declared inputs and adapts what it is given (see
 * {@link InferenceSession#run}): fp32, fp16 and bf16 convert into each other, int32, int64 and
 * uint8 into each other, integers into floating-point types, floats into integer types when every
 * value is a whole number; a scalar becomes a {@code [1]} or {@code [batch]} vector where the model declares rank 1. Inputs already in the declared dtype and
 * rank are passed to ONNX Runtime without copying; outputs come back in their declared dtype.
 *
 * <p>Ownership: the caller must close the session and every {@link NamedTensors} that
 * {@link #run} returns; the input tensors stay the caller's and are only read. {@link #close()}
 * is idempotent and releases the native session; any later use throws
 * {@link IllegalStateException}.
 *
 * <p>Thread safety: {@link #run} may be called from several threads at once (ONNX Runtime's run
 * is thread-safe and the conversion keeps no shared mutable state); {@link #close()} waits for
 * runs in progress.
 */
public final class OnnxSession implements InferenceSession {
    private static final Logger LOG = LoggerFactory.getLogger(OnnxSession.class);

    private final Path modelFile;
    private final Device device;
    private final OrtSession session;
    private final List<TensorSpec> inputs;
    private final List<TensorSpec> outputs;
    private final InputConverter converter;
    private final SessionRunner runner;
    private final Consumer<OnnxSession> onClose;
    private final ReadWriteLock lock = new ReentrantReadWriteLock();
    private volatile boolean closed;

    private OnnxSession(Path modelFile, Device device, OrtSession session, List<DeclaredTensor> inputs,
            List<DeclaredTensor> outputs, SessionRunner runner, Consumer<OnnxSession> onClose) {
        this.modelFile = modelFile;
        this.device = device;
        this.session = session;
        this.inputs = inputs.stream().map(DeclaredTensor::spec).toList();
        this.outputs = outputs.stream().map(DeclaredTensor::spec).toList();
        this.converter = new InputConverter(modelFile.toString(), inputs);
        this.runner = runner;
        this.onClose = onClose;
    }

    /**
     * Wraps a freshly created {@code session}, taking ownership of it: it is closed here when the
     * model declares something this backend cannot run.
     *
     * @throws IllegalArgumentException naming the input or output whose type is unsupported
     * @throws OrtException             when ONNX Runtime cannot describe the inputs or outputs
     */
    static OnnxSession create(OrtEnvironment env, Path modelFile, Device device, OrtSession session,
            Consumer<OnnxSession> onClose) throws OrtException {
        try {
            List<DeclaredTensor> inputs = declared("input", session.getInputInfo());
            List<DeclaredTensor> outputs = declared("output", session.getOutputInfo());
            SessionRunner runner = new SessionRunner(env, session, modelFile.toString(), inputs, outputs);
            OnnxSession created = new OnnxSession(modelFile, device, session, inputs, outputs, runner, onClose);
            LOG.debug("loaded {} on {}: inputs {}, outputs {}", modelFile, device, created.inputs, created.outputs);
            return created;
        } catch (OrtException | RuntimeException e) {
            closeQuietly(session);
            throw e;
        }
    }

    private static List<DeclaredTensor> declared(String kind, Map<String, NodeInfo> infos) {
        List<DeclaredTensor> declared = new ArrayList<>();
        infos.values().forEach(info -> declared.add(OnnxTypes.declared(kind, info)));
        return declared;
    }

    /** The model file this session was loaded from. */
    public Path modelFile() {
        return modelFile;
    }

    @Override
    public List<TensorSpec> inputs() {
        ensureOpen();
        return inputs;
    }

    @Override
    public List<TensorSpec> outputs() {
        ensureOpen();
        return outputs;
    }

    @Override
    public Device device() {
        return device;
    }

    /**
     * {@inheritDoc}
     *
     * @throws IllegalArgumentException                naming the input, expected and actual dtype or shape
     * @throws dev.asyncdiff.api.BackendException      with ONNX Runtime's error code when the run fails
     * @throws IllegalStateException                   when the session is closed
     */
    @Override
    public NamedTensors run(Map<String, Tensor> given) {
        return run(given, TensorAllocator.UNPOOLED);
    }

    /** {@inheritDoc} Every output, pinned or copied out of ONNX Runtime, is allocated from {@code outputs}. */
    @Override
    public NamedTensors run(Map<String, Tensor> given, TensorAllocator outputs) {
        lock.readLock().lock();
        try {
            ensureOpen();
            try (InputConverter.Prepared prepared = converter.prepare(given)) {
                return runner.run(prepared.feed(), outputs);
            }
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Package-private access to the zero-copy input wrapping, for tests. */
    SessionRunner runner() {
        return runner;
    }

    /** Releases the native session; idempotent, and waits for runs in progress. */
    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            closeQuietly(session);
        } finally {
            lock.writeLock().unlock();
        }
        onClose.accept(this);
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("OnnxSession for " + modelFile + " on " + device + " is closed");
        }
    }

    private static void closeQuietly(OrtSession session) {
        try {
            session.close();
        } catch (OrtException e) {
            LOG.warn("closing ONNX Runtime session failed [{}]: {}", e.getCode(), e.getMessage());
        }
    }

    @Override
    public String toString() {
        return "OnnxSession[" + modelFile + " on " + device + (closed ? ", closed" : "") + "]";
    }
}
