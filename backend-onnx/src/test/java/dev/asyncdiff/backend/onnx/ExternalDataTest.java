package dev.asyncdiff.backend.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.spi.BackendOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExternalDataTest {
    @TempDir
    Path dir;

    @Test
    void initializerInAnExternalDataFileBesideTheModelIsUsed() throws Exception {
        // 16 bytes of padding before W, so the offset entry is really honoured.
        byte[] padding = TestModels.floatBytes(new float[] {99f, 99f, 99f, 99f});
        byte[] weights = TestModels.floatBytes(TestModels.W);
        byte[] data = new byte[padding.length + weights.length];
        System.arraycopy(padding, 0, data, 0, padding.length);
        System.arraycopy(weights, 0, data, padding.length, weights.length);
        Path modelDir = Files.createDirectories(dir.resolve("unet"));
        Files.write(modelDir.resolve("model.onnx_data"), data);
        Path model = TestModels.write(modelDir, "model.onnx",
                TestModels.linearReluExternal("model.onnx_data", padding.length));

        float[] x = {0.5f, 1.5f, -2f, 3f, 1f, 0.25f};
        try (OnnxBackend backend = new OnnxBackend(BackendOptions.defaults());
                InferenceSession session = backend.load(model, Device.CPU);
                Tensor input = Tensor.ofFloats(x, 2, 3);
                NamedTensors out = session.run(Map.of("X", input))) {
            assertThat(out.get("Y").toFloatArray())
                    .containsExactly(TestModels.linearReluExpected(x, 2), within(1e-5f));
        }
    }
}
