package dev.asyncdiff.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.InferenceSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BackendPlacementTest {
    @TempDir
    Path dir;

    @Test
    void keysAreCheckedAndTheBackendSuffixIsOptional() {
        BackendPlacement placement = new BackendPlacement(Map.of("components.0.backend", "tensorrt", "vae", "onnx"));
        assertThat(placement.byPart()).isEqualTo(Map.of("components.0", "tensorrt", "vae", "onnx"));
        assertThatThrownBy(() -> new BackendPlacement(Map.of("unet", "tensorrt")))
                .hasMessageContaining("unknown part 'unet'").hasMessageContaining("denoiser, textEncoder, vae");
        assertThatThrownBy(() -> new BackendPlacement(Map.of("components.x", "tensorrt")))
                .hasMessageContaining("components.N");
        assertThatThrownBy(() -> new BackendPlacement(Map.of("vae", "no good"))).hasMessageContaining("backend name");
    }

    @Test
    void filesFindTheirPartAComponentWinningOverTheDenoiser() throws IOException {
        Path split = Files.createDirectories(dir.resolve("splits").resolve("abc-n2"));
        Files.writeString(split.resolve("manifest.json"), "{}");
        BackendPlacement placement = new BackendPlacement(Map.of("denoiser", "tensorrt", "components.1", "onnx",
                "textEncoder", "cpu-onnx"));
        assertThat(placement.backendFor(split.resolve("component-0.onnx"))).contains("tensorrt");
        assertThat(placement.backendFor(split.resolve("component-1.onnx"))).contains("onnx");
        assertThat(placement.backendFor(dir.resolve("sd").resolve("unet").resolve("model.onnx"))).contains("tensorrt");
        assertThat(placement.backendFor(dir.resolve(".calibrating-1").resolve("unit-7.onnx"))).contains("tensorrt");
        assertThat(placement.backendFor(dir.resolve("sd").resolve("text_encoder_2").resolve("model.onnx")))
                .contains("cpu-onnx");
        assertThat(placement.backendFor(dir.resolve("sd").resolve("vae_decoder").resolve("model.onnx"))).isEmpty();
        // a component file without a manifest beside it is not a split component
        assertThat(placement.backendFor(dir.resolve("loose").resolve("component-1.onnx"))).isEmpty();
    }

    /** A backend that names itself in every session it "loads" and records its closes. */
    private static final class NamedBackends implements BackendProvider {
        private final String name;
        final List<String> events;

        NamedBackends(String name, List<String> events) {
            this.name = name;
            this.events = events;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public Backend open(BackendOptions options) {
            events.add("open " + name + " " + options.options());
            if (name.equals("broken")) {
                throw new IllegalStateException("broken cannot open");
            }
            return new Backend() {
                @Override
                public String name() {
                    return name;
                }

                @Override
                public String timingProfile(Device device) {
                    return name + " timing";
                }

                @Override
                public InferenceSession load(Path modelFile, Device device) {
                    events.add(name + " loads " + modelFile.getParent().getFileName() + "/" + modelFile.getFileName());
                    return null;
                }

                @Override
                public void close() {
                    events.add("close " + name);
                }
            };
        }
    }

    @Test
    void theRuntimeOpensEveryPlacedBackendOnceAndRoutesLoads() {
        List<String> events = new ArrayList<>();
        ProviderCatalog catalog = catalog(events);
        RuntimeConfig config = RuntimeConfig.builder().backend("main")
                .placement(new BackendPlacement(Map.of("denoiser", "gpu", "vae", "gpu", "textEncoder", "main")))
                .options("gpu", Map.of("profile", "512:1024")).build();
        try (Backend backend = AsyncDiffRuntime.create(config, catalog).openBackend()) {
            assertThat(backend.name()).isEqualTo("main");
            assertThat(backend.timingProfile(Device.CPU)).isEqualTo("gpu timing");
            backend.load(Path.of("m", "unet", "model.onnx"), Device.CPU);
            backend.load(Path.of("m", "text_encoder", "model.onnx"), Device.CPU);
            backend.load(Path.of("m", "scheduler", "model.onnx"), Device.CPU);
        }
        assertThat(events).containsExactly("open main {}", "open gpu {profile=512:1024}", "gpu loads unet/model.onnx",
                "main loads text_encoder/model.onnx", "main loads scheduler/model.onnx", "close gpu", "close main");
    }

    @Test
    void aPlacedBackendThatFailsToOpenClosesTheOthers() {
        List<String> events = new ArrayList<>();
        RuntimeConfig config = RuntimeConfig.builder().backend("main")
                .placement(new BackendPlacement(Map.of("vae", "gpu", "denoiser", "broken"))).build();
        AsyncDiffRuntime runtime = AsyncDiffRuntime.create(config, catalog(events));
        assertThatThrownBy(runtime::openBackend).hasMessageContaining("broken cannot open");
        assertThat(events).contains("close main");
        if (events.stream().anyMatch(e -> e.startsWith("open gpu"))) {
            assertThat(events).contains("close gpu");
        }
    }

    private static ProviderCatalog catalog(List<String> events) {
        return new ProviderCatalog(ProviderRegistry.of("backend", List.of(new NamedBackends("main", events),
                new NamedBackends("gpu", events), new NamedBackends("broken", events))),
                ProviderRegistry.of("adapter", List.of()), ProviderRegistry.of("strategy", List.of()),
                ProviderRegistry.of("sampler", List.of()), ProviderRegistry.of("communicator", List.of()));
    }
}
