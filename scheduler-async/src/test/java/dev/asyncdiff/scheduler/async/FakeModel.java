package dev.asyncdiff.scheduler.async;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.DenoiserComponent;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.api.TensorAllocator;
import dev.asyncdiff.api.TensorSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.random.RandomGenerator;

/**
 * A denoiser of N stages made of small deterministic functions, with the wiring of a split UNet:
 * stage 0 reads {@code sample}, stage i reads stage i−1's hidden state, the last stage also reads
 * a long skip from stage 0, every stage reads {@code timestep} and the conditioning
 * {@code encoder_hidden_states}; the last yields {@code out_sample}.
 */
final class FakeModel {
    static final long[] SHAPE = {1, 2, 3, 2};

    private FakeModel() {
    }

    /** Stage {@code i} of {@code n} on plain arrays: inputs by name, outputs by name. */
    static Map<String, float[]> stage(int i, int n, Map<String, float[]> in, float timestep) {
        float[] condition = in.get("encoder_hidden_states");
        float bias = 0;
        for (float c : condition) {
            bias += c;
        }
        bias /= condition.length;
        if (n == 1) {
            float[] x = in.get("sample");
            float[] out = new float[x.length];
            for (int j = 0; j < x.length; j++) {
                out[j] = (float) Math.tanh(x[j] * 0.8f + timestep * 1e-3f + bias) * 0.5f;
            }
            return Map.of("out_sample", out);
        }
        if (i == 0) {
            float[] x = in.get("sample");
            float[] hidden = new float[x.length];
            float[] skip = new float[x.length];
            for (int j = 0; j < x.length; j++) {
                hidden[j] = (float) Math.tanh(x[j] * 1.1f + timestep * 2e-3f) + bias;
                skip[j] = x[j] * 0.5f - j * 0.01f;
            }
            return Map.of("h0", hidden, "skip0", skip);
        }
        float[] h = in.get("h" + (i - 1));
        float[] out = new float[h.length];
        if (i < n - 1) {
            for (int j = 0; j < h.length; j++) {
                out[j] = (float) Math.sin(h[j] * 0.9f + timestep * 1e-3f * (i + 1)) + bias * 0.1f;
            }
            return Map.of("h" + i, out);
        }
        float[] skip = in.get("skip0");
        for (int j = 0; j < h.length; j++) {
            out[j] = h[j] * 0.7f + skip[j] * 0.3f + timestep * 1e-4f;
        }
        return Map.of("out_sample", out);
    }

    static List<String> inputNames(int i, int n) {
        List<String> names = new ArrayList<>();
        names.add(i == 0 ? "sample" : "h" + (i - 1));
        if (i == n - 1 && n > 1) {
            names.add("skip0");
        }
        names.add("timestep");
        names.add("encoder_hidden_states");
        return names;
    }

    static List<String> outputNames(int i, int n) {
        if (i == n - 1) {
            return List.of("out_sample");
        }
        return i == 0 ? List.of("h0", "skip0") : List.of("h" + i);
    }

    /** Stage {@code i} as a component; {@code onRun} sees each call's inputs (tests use it to fail or wait). */
    static DenoiserComponent component(int i, int n, Device device, Consumer<Map<String, Tensor>> onRun) {
        return new DenoiserComponent() {
            private boolean closed;

            @Override
            public int index() {
                return i;
            }

            @Override
            public List<TensorSpec> inputs() {
                return inputNames(i, n).stream().map(name -> new TensorSpec(name, DType.FP32,
                        name.equals("timestep") ? new long[0] : new long[] {-1, 2, 3, 2})).toList();
            }

            @Override
            public List<TensorSpec> outputs() {
                return outputNames(i, n).stream().map(name -> new TensorSpec(name, DType.FP32,
                        new long[] {-1, 2, 3, 2})).toList();
            }

            @Override
            public Device device() {
                return device;
            }

            @Override
            public NamedTensors run(Map<String, Tensor> inputs) {
                return run(inputs, TensorAllocator.UNPOOLED);
            }

            /** Writes the outputs into tensors from {@code allocator}, as a backend with pinned outputs does. */
            @Override
            public NamedTensors run(Map<String, Tensor> inputs, TensorAllocator allocator) {
                if (closed) {
                    throw new IllegalStateException("component " + i + " is closed");
                }
                onRun.accept(inputs);
                Map<String, float[]> arrays = new java.util.HashMap<>();
                long[] shape = null;
                for (String name : inputNames(i, n)) {
                    Tensor t = inputs.get(name);
                    arrays.put(name, t.toFloatArray());
                    if (!name.equals("timestep") && !name.equals("encoder_hidden_states")) {
                        shape = t.shape();
                    }
                }
                NamedTensors out = new NamedTensors();
                float timestep = inputs.get("timestep").toFloatArray()[0];
                for (Map.Entry<String, float[]> e : stage(i, n, arrays, timestep).entrySet()) {
                    Tensor tensor = allocator.allocate(DType.FP32, shape);
                    tensor.buffer().asFloatBuffer().put(e.getValue());
                    out.put(e.getKey(), tensor);
                }
                return out;
            }

            @Override
            public void close() {
                closed = true;
            }
        };
    }

    /** A deterministic scheduler over {@code steps} timesteps with a non-trivial input scaling. */
    static final class Scheduler implements NoiseScheduler {
        private double[] timesteps = new double[0];

        @Override
        public void setTimesteps(int numInferenceSteps) {
            timesteps = new double[numInferenceSteps];
            for (int k = 0; k < numInferenceSteps; k++) {
                timesteps[k] = 999 - k * (1000.0 / numInferenceSteps);
            }
        }

        @Override
        public double[] timesteps() {
            return timesteps.clone();
        }

        @Override
        public double initNoiseSigma() {
            return 1;
        }

        @Override
        public int order() {
            return 1;
        }

        @Override
        public Tensor scaleModelInput(Tensor sample, double timestep) {
            return Tensor.ofFloats(scale(sample.toFloatArray(), timestep), sample.shape());
        }

        static float[] scale(float[] x, double timestep) {
            float[] out = new float[x.length];
            for (int j = 0; j < x.length; j++) {
                out[j] = (float) (x[j] / Math.sqrt(1 + timestep / 1000.0));
            }
            return out;
        }

        @Override
        public Tensor step(Tensor modelOutput, double timestep, Tensor sample, RandomGenerator rng) {
            return Tensor.ofFloats(update(modelOutput.toFloatArray(), timestep, sample.toFloatArray()), sample.shape());
        }

        static float[] update(float[] eps, double timestep, float[] x) {
            float[] out = new float[x.length];
            for (int j = 0; j < x.length; j++) {
                out[j] = (float) (x[j] * 0.95 - eps[j] * (0.05 + timestep / 20000.0));
            }
            return out;
        }

        @Override
        public Tensor addNoise(Tensor original, Tensor noise, double timestep) {
            throw new IllegalStateException("not used by these tests");
        }
    }
}
