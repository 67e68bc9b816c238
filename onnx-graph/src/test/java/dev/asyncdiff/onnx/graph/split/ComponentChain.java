package dev.asyncdiff.onnx.graph.split;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.TensorInfo;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** Runs models on ONNX Runtime CPU with float inputs (converted where a model declares int64), and split components chained in order. */
public final class ComponentChain {
    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

    private ComponentChain() {
    }

    /** A float input: its values and shape. */
    public record Input(float[] values, long[] shape) {
    }

    /** Runs {@code model} and returns its float outputs by name. */
    public static Map<String, float[]> run(Path model, Map<String, Input> inputs) throws Exception {
        Map<String, float[]> out = new HashMap<>();
        Map<String, long[]> shapes = new HashMap<>();
        runInto(model, inputs, out, shapes);
        return out;
    }

    /** Runs every component of {@code split} in order, feeding each from the model inputs and earlier outputs. */
    public static Map<String, float[]> chain(SplitResult split, Map<String, Input> inputs) throws Exception {
        Map<String, Input> available = new HashMap<>(inputs);
        Map<String, float[]> produced = new HashMap<>();
        for (SplitManifest.Component component : split.manifest().components()) {
            Map<String, float[]> values = new HashMap<>();
            Map<String, long[]> shapes = new HashMap<>();
            runInto(split.directory().resolve(component.file()), available, values, shapes);
            for (Map.Entry<String, float[]> value : values.entrySet()) {
                available.put(value.getKey(), new Input(value.getValue(), shapes.get(value.getKey())));
                produced.put(value.getKey(), value.getValue());
            }
        }
        return produced;
    }

    private static LongBuffer longs(float[] values) {
        long[] out = new long[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (long) values[i];
        }
        return LongBuffer.wrap(out);
    }

    private static void runInto(Path model, Map<String, Input> inputs, Map<String, float[]> out,
                                Map<String, long[]> shapes) throws Exception {
        try (OrtSession session = ENV.createSession(model.toString(), new OrtSession.SessionOptions())) {
            Map<String, OnnxTensor> feeds = new HashMap<>();
            try {
                for (String name : session.getInputNames()) {
                    Input input = inputs.get(name);
                    if (input == null) {
                        throw new IllegalStateException(model + " needs '" + name + "', which nothing produced");
                    }
                    TensorInfo info = (TensorInfo) session.getInputInfo().get(name).getInfo();
                    feeds.put(name, info.type == OnnxJavaType.INT64
                            ? OnnxTensor.createTensor(ENV, longs(input.values()), input.shape())
                            : OnnxTensor.createTensor(ENV, FloatBuffer.wrap(input.values()), input.shape()));
                }
                try (OrtSession.Result result = session.run(feeds)) {
                    for (Map.Entry<String, OnnxValue> entry : result) {
                        OnnxTensor tensor = (OnnxTensor) entry.getValue();
                        FloatBuffer buffer = tensor.getFloatBuffer();
                        float[] values = new float[buffer.remaining()];
                        buffer.get(values);
                        out.put(entry.getKey(), values);
                        shapes.put(entry.getKey(), tensor.getInfo().getShape());
                    }
                }
            } finally {
                feeds.values().forEach(OnnxTensor::close);
            }
        }
    }
}
