package dev.asyncdiff.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.DiffusionPipeline;
import dev.asyncdiff.api.ModelNotFoundException;
import dev.asyncdiff.api.ParallelStrategy;
import dev.asyncdiff.spi.AsyncDiffRuntime;
import dev.asyncdiff.spi.Backend;
import dev.asyncdiff.spi.BackendProvider;
import dev.asyncdiff.spi.CommunicatorProvider;
import dev.asyncdiff.spi.ModelAdapterProvider;
import dev.asyncdiff.spi.PipelineContext;
import dev.asyncdiff.spi.ProviderCatalog;
import dev.asyncdiff.spi.ProviderRegistry;
import dev.asyncdiff.spi.RuntimeConfig;
import dev.asyncdiff.spi.SamplerProvider;
import dev.asyncdiff.spi.StrategyContext;
import dev.asyncdiff.spi.StrategyProvider;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EngineTest {
    /** An adapter for folders whose model_index.json names {@code className}; opening fails after recording. */
    private static final class ClassAdapter implements ModelAdapterProvider {
        private final String name;
        private final String className;
        final List<PipelineContext> contexts = new ArrayList<>();

        ClassAdapter(String name, String className) {
            this.name = name;
            this.className = className;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public boolean supports(Path modelDir) {
            try {
                return Files.readString(modelDir.resolve("model_index.json")).contains("\"" + className + "\"");
            } catch (IOException e) {
                return false;
            }
        }

        @Override
        public DiffusionPipeline open(Path modelDir, PipelineContext context) {
            contexts.add(context);
            throw new IllegalArgumentException(name + " cannot open " + modelDir);
        }
    }

    private static final class NamedStrategy implements StrategyProvider {
        private final String name;

        NamedStrategy(String name) {
            this.name = name;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public ParallelStrategy create(StrategyContext context) {
            throw new IllegalStateException("not used");
        }
    }

    /** Counts closes of the backends it opens. */
    private static final class CountingBackends implements BackendProvider {
        int open;

        @Override
        public String name() {
            return "counting";
        }

        @Override
        public Backend open(dev.asyncdiff.spi.BackendOptions options) {
            open++;
            return new Backend() {
                @Override
                public String name() {
                    return "counting";
                }

                @Override
                public dev.asyncdiff.api.InferenceSession load(Path modelFile, Device device) {
                    throw new IllegalStateException("not used");
                }

                @Override
                public void close() {
                    open--;
                }
            };
        }
    }

    private final ClassAdapter ddpm = new ClassAdapter("ddpm", "DDPMPipeline");
    private final ClassAdapter sd = new ClassAdapter("sd", "StableDiffusionPipeline");
    private final CountingBackends backends = new CountingBackends();

    private Engine engine(String strategy, Device... devices) {
        ProviderCatalog catalog = new ProviderCatalog(ProviderRegistry.of("backend", List.of(backends)),
                ProviderRegistry.of("adapter", List.of(ddpm, sd)),
                ProviderRegistry.of("strategy", List.of(new NamedStrategy("sequential"), new NamedStrategy("async"),
                        new NamedStrategy("mine"))),
                ProviderRegistry.of("sampler", List.<SamplerProvider>of()),
                ProviderRegistry.of("communicator", List.<CommunicatorProvider>of()));
        RuntimeConfig config = RuntimeConfig.builder().backend("counting").devices(devices).build();
        return Engine.builder(AsyncDiffRuntime.create(config, catalog)).strategy(strategy).build();
    }

    private static Path folder(Path dir, String className) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("model_index.json"), "{\"_class_name\": \"" + className + "\"}");
        return dir;
    }

    @Test
    void theAdapterIsTheOneThatSupportsTheFolder(@TempDir Path dir) throws IOException {
        Engine engine = engine(null, Device.CPU);
        assertThat(engine.adapterFor(folder(dir.resolve("a"), "DDPMPipeline"))).isSameAs(ddpm);
        assertThat(engine.adapterFor(folder(dir.resolve("b"), "StableDiffusionPipeline"))).isSameAs(sd);
        assertThatThrownBy(() -> engine.adapterFor(folder(dir.resolve("c"), "FluxPipeline")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no adapter opens").hasMessageContaining("'FluxPipeline'")
                .hasMessageContaining("ddpm, sd").hasMessageContaining("--plugins");
        assertThatThrownBy(() -> engine.adapterFor(dir.resolve("missing"))).isInstanceOf(ModelNotFoundException.class);
        assertThatThrownBy(() -> engine.adapterFor(Files.createDirectories(dir.resolve("empty"))))
                .isInstanceOf(ModelNotFoundException.class).hasMessageContaining("model_index.json");
    }

    @Test
    void aFailedOpenClosesTheBackendItsContextOpened(@TempDir Path dir) throws IOException {
        Engine engine = engine(null, Device.CPU);
        assertThatThrownBy(() -> engine.open(folder(dir, "DDPMPipeline"))).hasMessageContaining("ddpm cannot open");
        assertThat(ddpm.contexts).hasSize(1);
        assertThat(backends.open).isZero();
    }

    @Test
    void theStrategyFollowsTheConfigurationUnlessOneIsNamed() {
        Engine auto = engine(null, Device.CPU);
        assertThat(auto.strategyName(AsyncConfig.SEQUENTIAL)).isEqualTo("sequential");
        assertThat(auto.strategyName(AsyncConfig.of(2, 1, false))).isEqualTo("async");
        assertThat(auto.strategyName(new AsyncConfig(1, 2, 1, false))).isEqualTo("async");
        assertThat(engine("mine", Device.CPU).strategyName(AsyncConfig.SEQUENTIAL)).isEqualTo("mine");
        assertThatThrownBy(() -> engine("nope", Device.CPU)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown strategy 'nope'").hasMessageContaining("async, mine, sequential");
    }

    @Test
    void aContextChecksDevicesAndPlacesModelsOnlyThroughItsBackend() {
        Engine engine = engine(null, Device.cpu(0), Device.cpu(1), new Device("trt", 0));
        try (PipelineContext context = engine.context()) {
            assertThat(backends.open).isEqualTo(1);
            context.requireDevices(AsyncConfig.of(3, 1, false), false);
            context.requireDevices(AsyncConfig.SEQUENTIAL, true);
            assertThatThrownBy(() -> context.requireDevices(AsyncConfig.of(2, 1, false), true))
                    .hasMessageContaining("2 CFG-parallel groups needs 4 devices, the runtime has 3")
                    .hasMessageContaining("trt:0");
            assertThat(context.strategyName(AsyncConfig.of(2, 1, false))).isEqualTo("async");
        }
        assertThat(backends.open).isZero();
    }
}
