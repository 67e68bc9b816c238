package dev.asyncdiff.scheduler.async;

import dev.asyncdiff.api.ComponentFile;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.api.TensorAllocator;
import dev.asyncdiff.api.TensorSpec;
import dev.asyncdiff.spi.Backend;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A split denoiser of deterministic functions that treats every batch entry on its own, as a real
 * UNet does (so guidance in one batch and CFG-parallel can be compared bit for bit): latents of 4
 * channels on 2×2, a {@code sample} input of {@code inChannels} channels (9 for an inpainting-style
 * input: latents, mask, masked latents), conditioning {@code encoder_hidden_states [batch, 3]}. Stage
 * 0 gives {@code h0} and {@code skip0}, middle stages {@code h_i}, the last {@code out_sample}.
 */
final class BatchwiseModel {
    static final int LATENT_CHANNELS = 4;
    static final int PIXELS = 4;
    static final int CONDITION = 3;

    private BatchwiseModel() {
    }

    /** Stage {@code i} of {@code n} on one batch entry's arrays. */
    static Map<String, float[]> stage(int i, int n, int inChannels, Map<String, float[]> in, float t) {
        float[] condition = in.get("encoder_hidden_states");
        float bias = 0;
        for (float c : condition) {
            bias += c;
        }
        bias /= condition.length;
        int size = LATENT_CHANNELS * PIXELS;
        if (i == 0) {
            float[] x = in.get("sample");
            float[] mixed = new float[size];
            for (int c = 0; c < LATENT_CHANNELS; c++) {
                for (int p = 0; p < PIXELS; p++) {
                    float sum = 0;
                    for (int ci = 0; ci < inChannels; ci++) {
                        sum += x[ci * PIXELS + p] * (0.3f + 0.05f * ((c + 2 * ci) % 7));
                    }
                    mixed[c * PIXELS + p] = sum;
                }
            }
            if (n == 1) {
                float[] out = new float[size];
                for (int j = 0; j < size; j++) {
                    out[j] = (float) Math.tanh(mixed[j] * 0.8f + t * 1e-3f + bias) * 0.5f;
                }
                return Map.of("out_sample", out);
            }
            float[] hidden = new float[size];
            float[] skip = new float[size];
            for (int j = 0; j < size; j++) {
                hidden[j] = (float) Math.tanh(mixed[j] * 1.1f + t * 2e-3f) + bias;
                skip[j] = x[j] * 0.5f - j * 0.01f;
            }
            return Map.of("h0", hidden, "skip0", skip);
        }
        float[] h = in.get("h" + (i - 1));
        float[] out = new float[size];
        if (i < n - 1) {
            for (int j = 0; j < size; j++) {
                out[j] = (float) Math.sin(h[j] * 0.9f + t * 1e-3f * (i + 1)) + bias * 0.1f;
            }
            return Map.of("h" + i, out);
        }
        float[] skip = in.get("skip0");
        for (int j = 0; j < size; j++) {
            out[j] = h[j] * 0.7f + skip[j] * 0.3f + t * 1e-4f;
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

    /** Loads {@code stage-I-of-N-cC} files (I, N and the sample's channels C in the name) as sessions. */
    static final class FakeBackend implements Backend {
        final List<InferenceSession> opened = new ArrayList<>();

        @Override
        public String name() {
            return "batchwise";
        }

        @Override
        public synchronized InferenceSession load(Path file, Device device) {
            String[] parts = file.getFileName().toString().split("-");
            InferenceSession session = session(Integer.parseInt(parts[1]), Integer.parseInt(parts[3]),
                    Integer.parseInt(parts[4].substring(1)), device);
            opened.add(session);
            return session;
        }

        @Override
        public void close() {
        }
    }

    /** The component files of a {@code parts}-way split of a model whose sample has {@code inChannels}. */
    static List<ComponentFile> files(Path dir, int parts, int inChannels) {
        List<ComponentFile> files = new ArrayList<>();
        for (int i = 0; i < parts; i++) {
            Path file = dir.resolve("stage-" + i + "-of-" + parts + "-c" + inChannels);
            try {
                Files.write(file, new byte[100 * (i + 1)]);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            files.add(new ComponentFile(i, file, List.of(), List.of()));
        }
        return files;
    }

    static InferenceSession session(int i, int n, int inChannels, Device device) {
        return new InferenceSession() {
            private boolean closed;

            @Override
            public List<TensorSpec> inputs() {
                return inputNames(i, n).stream().map(name -> new TensorSpec(name, DType.FP32, switch (name) {
                    case "timestep" -> new long[0];
                    case "encoder_hidden_states" -> new long[] {-1, CONDITION};
                    case "sample" -> new long[] {-1, inChannels, 2, 2};
                    default -> new long[] {-1, LATENT_CHANNELS, 2, 2};
                })).toList();
            }

            @Override
            public List<TensorSpec> outputs() {
                return outputNames(i, n).stream().map(name -> new TensorSpec(name, DType.FP32,
                        new long[] {-1, LATENT_CHANNELS, 2, 2})).toList();
            }

            @Override
            public Device device() {
                return device;
            }

            @Override
            public NamedTensors run(Map<String, Tensor> inputs) {
                return run(inputs, TensorAllocator.UNPOOLED);
            }

            @Override
            public NamedTensors run(Map<String, Tensor> inputs, TensorAllocator allocator) {
                if (closed) {
                    throw new IllegalStateException("stage " + i + " is closed");
                }
                Tensor sample = inputs.get(i == 0 ? "sample" : "h" + (i - 1));
                long batch = sample.dim(0);
                if (i == 0 && sample.dim(1) != inChannels) {
                    throw new IllegalArgumentException("sample has " + sample.dim(1) + " channels, the model "
                            + inChannels);
                }
                if (inputs.get("encoder_hidden_states").dim(0) != batch) {
                    throw new IllegalArgumentException("conditioning batch " + inputs.get("encoder_hidden_states").dim(0)
                            + " differs from the sample's " + batch);
                }
                float t = inputs.get("timestep").toFloatArray()[0];
                Map<String, float[]> whole = new HashMap<>();
                for (String name : inputNames(i, n)) {
                    whole.put(name, inputs.get(name).toFloatArray());
                }
                NamedTensors out = new NamedTensors();
                Map<String, float[]> results = new HashMap<>();
                for (int b = 0; b < batch; b++) {
                    Map<String, float[]> one = new HashMap<>();
                    for (String name : inputNames(i, n)) {
                        float[] all = whole.get(name);
                        if (name.equals("timestep")) {
                            continue;
                        }
                        int per = (int) (all.length / batch);
                        float[] part = new float[per];
                        System.arraycopy(all, b * per, part, 0, per);
                        one.put(name, part);
                    }
                    for (Map.Entry<String, float[]> e : stage(i, n, inChannels, one, t).entrySet()) {
                        float[] into = results.computeIfAbsent(e.getKey(),
                                k -> new float[(int) batch * e.getValue().length]);
                        System.arraycopy(e.getValue(), 0, into, b * e.getValue().length, e.getValue().length);
                    }
                }
                for (String name : outputNames(i, n)) {
                    Tensor tensor = allocator.allocate(DType.FP32, batch, LATENT_CHANNELS, 2, 2);
                    tensor.buffer().asFloatBuffer().put(results.get(name));
                    out.put(name, tensor);
                }
                return out;
            }

            @Override
            public void close() {
                closed = true;
            }

            @Override
            public String toString() {
                return closed ? "closed" : "open";
            }
        };
    }
}
