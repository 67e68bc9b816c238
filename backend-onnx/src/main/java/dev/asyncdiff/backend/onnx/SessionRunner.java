package dev.asyncdiff.backend.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.asyncdiff.api.BackendException;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.api.TensorAllocator;
import dev.asyncdiff.spi.DeclaredTensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs an {@link OrtSession} on tensors that already match the declared inputs.
 *
 * <p>What is copied: nothing on the way in (each input's direct buffer is wrapped as an
 * {@link OnnxTensor}); on the way out, an output whose shape {@link OutputShapes} predicts is
 * written by ONNX Runtime straight into a {@link Tensor} from the caller's allocator (a pinned output, no
 * copy); any other output is allocated by ONNX Runtime and copied out, which costs ONNX Runtime's
 * own copy into a heap buffer and one bulk copy into the tensor's direct buffer. Every native
 * value is released before {@link #run} returns.
 *
 * <p>Thread-safe: it keeps no per-call state (the shapes it learns live in a concurrent map).
 */
final class SessionRunner {
    private static final Logger LOG = LoggerFactory.getLogger(SessionRunner.class);

    private final OrtEnvironment env;
    private final OrtSession session;
    private final String model;
    private final List<DeclaredTensor> outputs;
    private final OutputShapes shapes;
    private final AtomicLong copiedOutputs = new AtomicLong();

    /** A runner for {@code session}, which stays owned by the caller. */
    SessionRunner(OrtEnvironment env, OrtSession session, String model, List<DeclaredTensor> inputs,
            List<DeclaredTensor> outputs) {
        this.env = env;
        this.session = session;
        this.model = model;
        this.outputs = List.copyOf(outputs);
        this.shapes = new OutputShapes(inputs, outputs);
    }

    /**
     * Runs the model and returns every declared output, in declared order; the caller must close
     * the result.
     *
     * @param feed one tensor per declared input, of the declared dtype and rank
     * @throws BackendException with ONNX Runtime's error code when the run fails
     */
    NamedTensors run(Map<String, Tensor> feed) {
        return run(feed, TensorAllocator.UNPOOLED);
    }

    /**
     * {@link #run(Map)} with every output tensor allocated from {@code allocator} (a worker's pool):
     * pinned outputs are written there by ONNX Runtime, others copied there.
     */
    NamedTensors run(Map<String, Tensor> feed, TensorAllocator allocator) {
        Map<String, long[]> inputShapes = new LinkedHashMap<>();
        feed.forEach((name, tensor) -> inputShapes.put(name, tensor.shape()));
        Map<String, long[]> predicted = shapes.predict(inputShapes);
        if (!predicted.isEmpty()) {
            try (OrtSession.RunOptions quiet = new OrtSession.RunOptions()) {
                // A wrong prediction is recovered from below; keep ONNX Runtime from logging it as an error.
                quiet.setLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL);
                return runOnce(feed, predicted, quiet, allocator);
            } catch (OrtException e) {
                LOG.debug("run of {} with pinned outputs failed ({}); retrying with outputs allocated by ONNX Runtime",
                        model, e.getMessage());
                shapes.forget(inputShapes);
            }
        }
        try {
            NamedTensors result = runOnce(feed, Map.of(), null, allocator);
            Map<String, long[]> outputShapes = new LinkedHashMap<>();
            result.asMap().forEach((name, tensor) -> outputShapes.put(name, tensor.shape()));
            shapes.learn(inputShapes, outputShapes);
            return result;
        } catch (OrtException e) {
            throw OrtErrors.onCall("run " + model, e);
        }
    }

    /**
     * Wraps {@code tensor}'s direct buffer as an {@link OnnxTensor} without copying; the caller
     * must close the result before closing {@code tensor}.
     */
    OnnxTensor wrap(Tensor tensor) throws OrtException {
        return OnnxTensor.createTensor(env, tensor.buffer(), tensor.shape(), OnnxTypes.toOrt(tensor.dtype()));
    }

    private NamedTensors runOnce(Map<String, Tensor> feed, Map<String, long[]> pinnedShapes,
            OrtSession.RunOptions runOptions, TensorAllocator allocator) throws OrtException {
        List<OnnxTensor> natives = new ArrayList<>();
        Map<String, Tensor> pinnedTensors = new LinkedHashMap<>();
        NamedTensors result = new NamedTensors();
        boolean done = false;
        try {
            Map<String, OnnxTensor> inputs = new LinkedHashMap<>();
            for (Map.Entry<String, Tensor> entry : feed.entrySet()) {
                inputs.put(entry.getKey(), track(natives, wrap(entry.getValue())));
            }
            Map<String, OnnxValue> pinned = new LinkedHashMap<>();
            Set<String> requested = new LinkedHashSet<>();
            for (DeclaredTensor output : outputs) {
                long[] shape = pinnedShapes.get(output.name());
                if (shape == null) {
                    requested.add(output.name());
                } else {
                    Tensor tensor = allocator.allocate(output.spec().dtype(), shape);
                    pinnedTensors.put(output.name(), tensor);
                    pinned.put(output.name(), track(natives, wrap(tensor)));
                }
            }
            try (OrtSession.Result run = runOptions == null
                    ? session.run(inputs, requested, pinned) : session.run(inputs, requested, pinned, runOptions)) {
                for (DeclaredTensor output : outputs) {
                    Tensor tensor = pinnedTensors.remove(output.name());
                    result.put(output.name(), tensor != null ? tensor : copyOut(output, run, allocator));
                }
            }
            done = true;
            return result;
        } finally {
            natives.forEach(OnnxTensor::close);
            if (!done) {
                pinnedTensors.values().forEach(Tensor::close);
                result.close();
            }
        }
    }

    /** How many outputs so far were copied out of ONNX Runtime's memory rather than written in place. */
    long copiedOutputs() {
        return copiedOutputs.get();
    }

    private Tensor copyOut(DeclaredTensor output, OrtSession.Result run, TensorAllocator allocator) {
        OnnxValue value = run.get(output.name()).orElseThrow(() -> new BackendException("ORT_FAIL",
                "ONNX Runtime returned no value for output '" + output.name() + "' of " + model, null));
        if (!(value instanceof OnnxTensor onnxTensor)) {
            throw new BackendException("ORT_FAIL", "output '" + output.name() + "' of " + model + " is a "
                    + value.getType() + ", not a tensor", null);
        }
        TensorInfo info = onnxTensor.getInfo();
        DType dtype = OnnxTypes.toDType(info.type, "output '" + output.name() + "' of " + model);
        Tensor tensor = allocator.allocate(dtype, info.getShape());
        if (tensor.byteCount() > 0) {
            tensor.buffer().put(onnxTensor.getByteBuffer());
        }
        copiedOutputs.incrementAndGet();
        return tensor;
    }

    private static OnnxTensor track(List<OnnxTensor> natives, OnnxTensor tensor) {
        natives.add(tensor);
        return tensor;
    }
}
