package dev.asyncdiff.backend.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.spi.Backend;
import dev.asyncdiff.spi.BackendOptions;
import dev.asyncdiff.spi.BackendProvider;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OnnxBackendProviderTest {
    @TempDir
    Path dir;

    @Test
    void isFoundByServiceLoaderAsOnnx() {
        List<String> names = ServiceLoader.load(BackendProvider.class).stream()
                .map(ServiceLoader.Provider::get).map(BackendProvider::name).toList();
        assertThat(names).contains("onnx");
    }

    @Test
    void opensABackendThatRunsAModel() throws Exception {
        float[] x = {1, -1, 2};
        try (Backend backend = new OnnxBackendProvider().open(BackendOptions.defaults());
                InferenceSession session = backend.load(TestModels.write(dir, "m.onnx", TestModels.linearRelu()),
                        Device.parse("cpu:0"));
                Tensor input = Tensor.ofFloats(x, 1, 3);
                NamedTensors out = session.run(Map.of("X", input))) {
            assertThat(backend.name()).isEqualTo("onnx");
            assertThat(out.get("Y").toFloatArray()).containsExactly(TestModels.linearReluExpected(x, 1));
        }
    }

    @Test
    void invalidOptionsFailAtOpen() {
        assertThatThrownBy(() -> new OnnxBackendProvider().open(new BackendOptions(List.of(Device.CPU),
                Map.of("optimizationLevel", "fast"))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("optimizationLevel");
        assertThatThrownBy(() -> new OnnxBackendProvider().open(null)).isInstanceOf(IllegalArgumentException.class);
    }
}
