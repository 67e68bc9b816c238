package dev.asyncdiff.synthetic;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import dev.asyncdiff.onnx.graph.GraphBuilder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/** Writes a graph and runs it once on ONNX Runtime's CPU provider (fp32 models), for the graph tests. */
final class GraphRun implements AutoCloseable {
    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();
    private final OrtSession session;
    private final Map<String, OnnxTensor> inputs = new LinkedHashMap<>();

    /** Writes {@code graph} to {@code file} and opens a one-thread session on it; the caller closes. */
    GraphRun(GraphBuilder graph, Path file) throws OrtException {
        this(write(graph, file));
    }

    /** Opens a one-thread session on the model already written to {@code file}; the caller closes. */
    GraphRun(Path file) throws OrtException {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(1);
            session = ENV.createSession(file.toString(), options);
        }
    }

    private static Path write(GraphBuilder graph, Path file) {
        graph.write(file, ExternalDataPolicy.AUTO);
        return file;
    }

    /** The declared inputs' infos by name. */
    Map<String, TensorInfo> inputInfo() throws OrtException {
        Map<String, TensorInfo> infos = new LinkedHashMap<>();
        session.getInputInfo().forEach((name, info) -> infos.put(name, (TensorInfo) info.getInfo()));
        return infos;
    }

    /** The declared outputs' infos by name, in graph order. */
    Map<String, TensorInfo> outputInfo() throws OrtException {
        Map<String, TensorInfo> infos = new LinkedHashMap<>();
        session.getOutputInfo().forEach((name, info) -> infos.put(name, (TensorInfo) info.getInfo()));
        return infos;
    }

    /** Sets a float input of {@code shape} to standard normal values from {@code seed}. */
    GraphRun randomInput(String name, long seed, long... shape) throws OrtException {
        SplittableRandom random = new SplittableRandom(seed);
        float[] values = new float[(int) count(shape)];
        for (int i = 0; i < values.length; i++) {
            double u1 = random.nextDouble(1e-12, 1);
            values[i] = (float) (Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * random.nextDouble()));
        }
        return floatInput(name, values, shape);
    }

    /** Sets a float input. */
    GraphRun floatInput(String name, float[] values, long... shape) throws OrtException {
        replace(name, OnnxTensor.createTensor(ENV, FloatBuffer.wrap(values), shape));
        return this;
    }

    /** Sets a float64 input. */
    GraphRun doubleInput(String name, double[] values, long... shape) throws OrtException {
        replace(name, OnnxTensor.createTensor(ENV, DoubleBuffer.wrap(values), shape));
        return this;
    }

    /** Sets an int64 input. */
    GraphRun longInput(String name, long[] values, long... shape) throws OrtException {
        replace(name, OnnxTensor.createTensor(ENV, LongBuffer.wrap(values), shape));
        return this;
    }

    /** Runs the session and returns every output as a float array, checking each is finite. */
    Map<String, Result> run() throws OrtException {
        Map<String, Result> results = new LinkedHashMap<>();
        try (OrtSession.Result outputs = session.run(inputs)) {
            for (Map.Entry<String, OnnxValue> entry : outputs) {
                OnnxTensor tensor = (OnnxTensor) entry.getValue();
                FloatBuffer buffer = tensor.getFloatBuffer();
                float[] values = new float[buffer.remaining()];
                buffer.get(values);
                for (float value : values) {
                    assertThat(Float.isFinite(value)).as("output %s is finite", entry.getKey()).isTrue();
                }
                results.put(entry.getKey(), new Result(tensor.getInfo().getShape(), values));
            }
        }
        return results;
    }

    @Override
    public void close() throws OrtException {
        for (OnnxTensor tensor : inputs.values()) {
            tensor.close();
        }
        session.close();
    }

    private void replace(String name, OnnxTensor tensor) {
        OnnxTensor old = inputs.put(name, tensor);
        if (old != null) {
            old.close();
        }
    }

    private static long count(long[] shape) {
        long count = 1;
        for (long dim : shape) {
            count *= dim;
        }
        return count;
    }

    /** An output's shape and values. */
    record Result(long[] shape, float[] values) {
        /** The standard deviation of the values. */
        double std() {
            double mean = 0;
            for (float v : values) {
                mean += v;
            }
            mean /= values.length;
            double squares = 0;
            for (float v : values) {
                squares += (v - mean) * (v - mean);
            }
            return Math.sqrt(squares / values.length);
        }
    }
}
