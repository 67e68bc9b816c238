package dev.asyncdiff.cli;

import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.spi.Backend;
import dev.asyncdiff.spi.BackendOptions;
import dev.asyncdiff.spi.BackendProvider;
import dev.asyncdiff.spi.SamplerProvider;

/** Providers registered in the CLI's test resources so that discovery has known entries to list. */
public final class CliTestProviders {
    private CliTestProviders() {
    }

    /** Backend {@code cli-test-backend}, version 1.2.3; the tests only select it, never open it. */
    public static final class TestBackend implements BackendProvider {
        @Override
        public String name() {
            return "cli-test-backend";
        }

        @Override
        public String version() {
            return "1.2.3";
        }

        @Override
        public Backend open(BackendOptions options) {
            throw new IllegalStateException("cli-test-backend is only listed and selected, never opened");
        }
    }

    /**
     * Backend {@code onnx-recording}: ONNX Runtime, remembering every file it loaded, so that tests can
     * see which parts a placement sent to it.
     */
    public static final class RecordingOnnxBackend implements BackendProvider {
        /** The files loaded by every backend this provider opened, in order. */
        public static final java.util.List<java.nio.file.Path> LOADED = new java.util.concurrent.CopyOnWriteArrayList<>();

        @Override
        public String name() {
            return "onnx-recording";
        }

        @Override
        public Backend open(BackendOptions options) {
            Backend onnx = new dev.asyncdiff.backend.onnx.OnnxBackendProvider().open(options);
            return new Backend() {
                @Override
                public String name() {
                    return "onnx-recording";
                }

                @Override
                public dev.asyncdiff.api.InferenceSession load(java.nio.file.Path modelFile, dev.asyncdiff.api.Device device) {
                    LOADED.add(modelFile);
                    return onnx.load(modelFile, device);
                }

                @Override
                public void close() {
                    onnx.close();
                }
            };
        }
    }

    /** Sampler {@code cli-test-sampler}, version 0.0.1; the tests never create a scheduler from it. */
    public static final class TestSampler implements SamplerProvider {
        @Override
        public String name() {
            return "cli-test-sampler";
        }

        @Override
        public String version() {
            return "0.0.1";
        }

        @Override
        public NoiseScheduler create(String schedulerConfigJson) {
            throw new IllegalStateException("cli-test-sampler is only listed, never created");
        }
    }
}
