package dev.asyncdiff.backend.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.spi.BackendOptions;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs only on a machine with a GPU, built with {@code -Pgpu} and run with
 * {@code -Dasyncdiff.gpu=true}. With CPU fallback disabled, ONNX Runtime refuses to create the
 * session unless the CUDA execution provider takes every node, so a correct result proves the
 * graph ran on {@code cuda:0}.
 */
@EnabledIfSystemProperty(named = "asyncdiff.gpu", matches = "true")
class CudaSessionTest {
    @TempDir
    Path dir;

    @Test
    void linearReluRunsEntirelyOnCuda0() throws Exception {
        Device cuda = Device.parse("cuda:0");
        float[] x = {1f, 2f, 3f, -1f, 0.5f, -2f};
        try (OnnxBackend backend = new OnnxBackend(new BackendOptions(List.of(cuda),
                Map.of("disableCpuFallback", "true")));
                InferenceSession session = backend.load(TestModels.write(dir, "m.onnx", TestModels.linearRelu()), cuda);
                Tensor input = Tensor.ofFloats(x, 2, 3);
                NamedTensors out = session.run(Map.of("X", input))) {
            assertThat(session.device()).isEqualTo(cuda);
            assertThat(out.get("Y").toFloatArray()).containsExactly(TestModels.linearReluExpected(x, 2), within(1e-4f));
        }
    }
}
