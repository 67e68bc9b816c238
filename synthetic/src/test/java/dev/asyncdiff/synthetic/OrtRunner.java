package dev.asyncdiff.synthetic;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.asyncdiff.api.FloatFormats;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * Runs one ONNX model on ONNX Runtime's CPU provider with inputs made to the shapes a test gives,
 * in the dtype each input declares, and returns the outputs as float arrays with their shapes.
 */
final class OrtRunner {
    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

    private OrtRunner() {
    }

    /** A float output (fp16 outputs widened) and its shape. */
    record Output(long[] shape, float[] values) {
        /** Asserts that every value is finite and that they are not all equal. */
        Output assertFiniteAndVaried(String what) {
            assertThat(values).as(what + " has values").isNotEmpty();
            for (float v : values) {
                assertThat(Float.isFinite(v)).as(what + " finite").isTrue();
            }
            float first = values[0];
            boolean varied = false;
            for (float v : values) {
                varied |= v != first;
            }
            assertThat(varied).as(what + " is not constant").isTrue();
            return this;
        }
    }

    /** An input: its shape and a value per element index (token ids are rounded). */
    record Input(long[] shape, java.util.function.LongToDoubleFunction value) {
        static Input random(long seed, long... shape) {
            Random random = new Random(seed);
            long count = Arrays.stream(shape).reduce(1, Math::multiplyExact);
            double[] values = new double[(int) count];
            for (int i = 0; i < values.length; i++) {
                values[i] = random.nextGaussian();
            }
            return new Input(shape, i -> values[(int) i]);
        }

        static Input of(java.util.function.LongToDoubleFunction value, long... shape) {
            return new Input(shape, value);
        }
    }

    /** The declared type and shape of every input of {@code model}. */
    static Map<String, TensorInfo> inputInfo(Path model) throws OrtException {
        try (OrtSession session = ENV.createSession(model.toString(), new OrtSession.SessionOptions())) {
            return tensorInfos(session.getInputInfo());
        }
    }

    /** Runs {@code model} on {@code inputs} and returns every output by name. */
    static Map<String, Output> run(Path model, Map<String, Input> inputs) throws OrtException {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(1);
            try (OrtSession session = ENV.createSession(model.toString(), options)) {
                Map<String, TensorInfo> declared = tensorInfos(session.getInputInfo());
                assertThat(declared.keySet()).as("inputs of " + model).isEqualTo(inputs.keySet());
                Map<String, OnnxTensor> tensors = new LinkedHashMap<>();
                try {
                    for (Map.Entry<String, Input> entry : inputs.entrySet()) {
                        tensors.put(entry.getKey(), tensor(declared.get(entry.getKey()), entry.getValue()));
                    }
                    try (OrtSession.Result result = session.run(tensors)) {
                        Map<String, Output> outputs = new LinkedHashMap<>();
                        for (Map.Entry<String, OnnxValue> entry : result) {
                            OnnxTensor tensor = (OnnxTensor) entry.getValue();
                            outputs.put(entry.getKey(), new Output(tensor.getInfo().getShape(), floats(tensor)));
                        }
                        return outputs;
                    }
                } finally {
                    tensors.values().forEach(OnnxTensor::close);
                }
            }
        }
    }

    private static Map<String, TensorInfo> tensorInfos(Map<String, NodeInfo> infos) {
        Map<String, TensorInfo> out = new LinkedHashMap<>();
        infos.forEach((name, info) -> out.put(name, (TensorInfo) info.getInfo()));
        return out;
    }

    private static OnnxTensor tensor(TensorInfo info, Input input) throws OrtException {
        long[] shape = input.shape();
        assertThat(shape.length).as("rank of input with declared shape " + Arrays.toString(info.getShape()))
                .isEqualTo(info.getShape().length);
        int count = (int) Arrays.stream(shape).reduce(1, Math::multiplyExact);
        OnnxJavaType type = info.type;
        switch (type) {
            case INT64 -> {
                long[] values = new long[count];
                for (int i = 0; i < count; i++) {
                    values[i] = Math.round(input.value().applyAsDouble(i));
                }
                return OnnxTensor.createTensor(ENV, LongBuffer.wrap(values), shape);
            }
            case FLOAT -> {
                float[] values = new float[count];
                for (int i = 0; i < count; i++) {
                    values[i] = (float) input.value().applyAsDouble(i);
                }
                return OnnxTensor.createTensor(ENV, FloatBuffer.wrap(values), shape);
            }
            case DOUBLE -> {
                double[] values = new double[count];
                for (int i = 0; i < count; i++) {
                    values[i] = input.value().applyAsDouble(i);
                }
                return OnnxTensor.createTensor(ENV, DoubleBuffer.wrap(values), shape);
            }
            case FLOAT16 -> {
                ByteBuffer bytes = ByteBuffer.allocateDirect(count * 2).order(ByteOrder.nativeOrder());
                for (int i = 0; i < count; i++) {
                    bytes.putShort(FloatFormats.floatToHalf((float) input.value().applyAsDouble(i)));
                }
                bytes.flip();
                return OnnxTensor.createTensor(ENV, bytes, shape, OnnxJavaType.FLOAT16);
            }
            default -> throw new AssertionError("unexpected input type " + type);
        }
    }

    private static float[] floats(OnnxTensor tensor) {
        OnnxJavaType type = tensor.getInfo().type;
        if (type == OnnxJavaType.FLOAT16) {
            ByteBuffer bytes = tensor.getByteBuffer().order(ByteOrder.nativeOrder());
            float[] values = new float[bytes.remaining() / 2];
            for (int i = 0; i < values.length; i++) {
                values[i] = FloatFormats.halfToFloat(bytes.getShort(i * 2));
            }
            return values;
        }
        if (type != OnnxJavaType.FLOAT) {
            throw new AssertionError("unexpected output type " + type);
        }
        FloatBuffer buffer = tensor.getFloatBuffer();
        float[] values = new float[buffer.remaining()];
        buffer.get(values);
        return values;
    }
}
