package dev.asyncdiff.tck;

import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.api.TensorAllocator;
import dev.asyncdiff.api.TensorSpec;
import dev.asyncdiff.backend.onnx.OnnxBackendProvider;
import dev.asyncdiff.spi.Backend;
import dev.asyncdiff.spi.BackendOptions;
import dev.asyncdiff.spi.BackendProvider;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The {@code onnx} backend with one fault each, standing in for adapters broken in the ways the kit must
 * catch; each is a {@link BackendProvider} on the test class path, named in the kit's subject.
 */
final class FaultyBackends {
    private FaultyBackends() {
    }

    /** The onnx backend, with every session it loads passed through {@link #load}. */
    abstract static class Faulty implements BackendProvider {
        @Override
        public Backend open(BackendOptions options) {
            Backend onnx = new OnnxBackendProvider().open(options);
            return new Backend() {
                @Override
                public String name() {
                    return Faulty.this.name();
                }

                @Override
                public InferenceSession load(Path modelFile, Device device) {
                    return Faulty.this.load(onnx, modelFile, device);
                }

                @Override
                public void close() {
                    onnx.close();
                }
            };
        }

        /** Loads {@code file} for {@code device} with {@code onnx}, breaking it in this fixture's way. */
        abstract InferenceSession load(Backend onnx, Path file, Device device);

        static boolean isComponent(Path file, int index) {
            return file.getFileName().toString().equals("component-" + index + ".onnx");
        }

        static boolean isDenoiserPart(Path file) {
            return file.getFileName().toString().startsWith("component-");
        }
    }

    /** A session that runs {@code inputs} through {@link #fed} and may keep the outputs ({@link #produced}). */
    abstract static class Forwarding implements InferenceSession {
        final InferenceSession session;

        Forwarding(InferenceSession session) {
            this.session = session;
        }

        Map<String, Tensor> fed(Map<String, Tensor> inputs, List<Tensor> owned) {
            return inputs;
        }

        void produced(NamedTensors outputs) {
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
        public NamedTensors run(Map<String, Tensor> inputs, TensorAllocator allocator) {
            List<Tensor> owned = new ArrayList<>();
            try {
                Map<String, Tensor> fed = fed(inputs, owned);
                NamedTensors outputs = allocator == null ? session.run(fed) : session.run(fed, allocator);
                produced(outputs);
                return outputs;
            } finally {
                owned.forEach(Tensor::close);
            }
        }

        @Override
        public void close() {
            session.close();
        }
    }

    /** The first component gets the timestep of its previous run: the async path steps with a stale timestep. */
    public static final class StaleTimestep extends Faulty {
        @Override
        public String name() {
            return "stale-timestep-onnx";
        }

        @Override
        InferenceSession load(Backend onnx, Path file, Device device) {
            InferenceSession session = onnx.load(file, device);
            if (!isComponent(file, 0)) {
                return session;
            }
            return new Forwarding(session) {
                private Tensor previous;

                @Override
                synchronized Map<String, Tensor> fed(Map<String, Tensor> inputs, List<Tensor> owned) {
                    Tensor timestep = inputs.get("timestep");
                    Map<String, Tensor> fed = new LinkedHashMap<>(inputs);
                    if (previous != null) {
                        fed.put("timestep", previous);
                        owned.add(previous);
                    }
                    previous = timestep.to(timestep.dtype());
                    return fed;
                }
            };
        }
    }

    /** The denoiser reads the conditioning batch the wrong way round: [conditional; unconditional]. */
    public static final class SwappedGuidance extends Faulty {
        private static final Set<String> CONDITIONING = Set.of("encoder_hidden_states", "text_embeds", "time_ids",
                "pooled_projections");

        @Override
        public String name() {
            return "swapped-guidance-onnx";
        }

        @Override
        InferenceSession load(Backend onnx, Path file, Device device) {
            InferenceSession session = onnx.load(file, device);
            if (!isDenoiserPart(file) && !file.getParent().getFileName().toString().matches("unet|transformer")) {
                return session;
            }
            return new Forwarding(session) {
                @Override
                Map<String, Tensor> fed(Map<String, Tensor> inputs, List<Tensor> owned) {
                    Map<String, Tensor> fed = new LinkedHashMap<>(inputs);
                    inputs.forEach((name, tensor) -> {
                        if (CONDITIONING.contains(name) && tensor.rank() > 0 && tensor.dim(0) % 2 == 0) {
                            Tensor swapped = swapHalves(tensor);
                            owned.add(swapped);
                            fed.put(name, swapped);
                        }
                    });
                    return fed;
                }
            };
        }

        private static Tensor swapHalves(Tensor tensor) {
            Tensor out = tensor.to(tensor.dtype());
            ByteBuffer source = tensor.buffer();
            ByteBuffer target = out.buffer();
            int half = source.remaining() / 2;
            for (int i = 0; i < half; i++) {
                target.put(i, source.get(half + i));
                target.put(half + i, source.get(i));
            }
            return out;
        }
    }

    /** Every session is loaded on the first device, whatever it was placed on. */
    public static final class Misplacing extends Faulty {
        @Override
        public String name() {
            return "misplacing-onnx";
        }

        @Override
        InferenceSession load(Backend onnx, Path file, Device device) {
            return onnx.load(file, Device.cpu(0));
        }
    }

    /** The denoiser keeps a direct copy of every output it produced (an unbounded cache). */
    public static final class Leaking extends Faulty {
        private static final List<ByteBuffer> RETAINED = new ArrayList<>();

        @Override
        public String name() {
            return "leaking-onnx";
        }

        @Override
        InferenceSession load(Backend onnx, Path file, Device device) {
            InferenceSession session = onnx.load(file, device);
            if (!isDenoiserPart(file)) {
                return session;
            }
            return new Forwarding(session) {
                @Override
                void produced(NamedTensors outputs) {
                    for (String name : outputs.names()) {
                        ByteBuffer data = outputs.get(name).buffer();
                        ByteBuffer copy = ByteBuffer.allocateDirect(data.remaining());
                        copy.put(data);
                        synchronized (RETAINED) {
                            RETAINED.add(copy);
                        }
                    }
                }
            };
        }
    }
}
