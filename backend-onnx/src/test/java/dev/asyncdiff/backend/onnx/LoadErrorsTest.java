package dev.asyncdiff.backend.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.MalformedModelException;
import dev.asyncdiff.api.ModelNotFoundException;
import dev.asyncdiff.spi.BackendOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

class LoadErrorsTest {
    private static OnnxBackend backend;

    @TempDir
    Path dir;

    @BeforeAll
    static void open() {
        backend = new OnnxBackend(BackendOptions.defaults());
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    @Test
    void missingFileIsModelNotFound() {
        Path missing = dir.resolve("nope/model.onnx");
        assertThatThrownBy(() -> backend.load(missing, Device.CPU))
                .isInstanceOf(ModelNotFoundException.class)
                .hasMessageContaining("ONNX model file not found")
                .hasMessageContaining(missing.toAbsolutePath().toString());
    }

    @Test
    void directoryIsMalformed() {
        assertThatThrownBy(() -> backend.load(dir, Device.CPU))
                .isInstanceOf(MalformedModelException.class)
                .hasMessageContaining("is a directory");
    }

    @Test
    void truncatedFileIsMalformedNamingTheFile() throws IOException {
        byte[] whole = TestModels.linearRelu().toByteArray();
        Path file = Files.write(dir.resolve("truncated.onnx"), Arrays.copyOf(whole, whole.length / 2));
        assertThatThrownBy(() -> backend.load(file, Device.CPU))
                .isInstanceOf(MalformedModelException.class)
                .hasMessageContaining(file.toAbsolutePath().toString())
                .satisfies(e -> assertThat(((MalformedModelException) e).path()).isEqualTo(file));
    }

    @Test
    void garbageBytesAreMalformed() throws IOException {
        Path file = Files.write(dir.resolve("garbage.onnx"), "this is not a protobuf \u0000\u00ff\u0012 model".repeat(20)
                .getBytes(StandardCharsets.ISO_8859_1));
        assertThatThrownBy(() -> backend.load(file, Device.CPU))
                .isInstanceOf(MalformedModelException.class)
                .hasMessageContaining("garbage.onnx");
    }

    @Test
    void missingExternalDataIsMalformed() throws IOException {
        Path file = TestModels.write(dir, "model.onnx", TestModels.linearReluExternal("model.onnx_data", 0));
        assertThatThrownBy(() -> backend.load(file, Device.CPU))
                .isInstanceOf(MalformedModelException.class)
                .hasMessageContaining(file.toAbsolutePath().toString())
                .hasMessageContaining("external data");
    }

    @Test
    void unsupportedInputTypeIsRejected() throws IOException {
        Path file = TestModels.write(dir, "double.onnx", TestModels.doubleInput());
        assertThatThrownBy(() -> backend.load(file, Device.CPU))
                .isInstanceOf(MalformedModelException.class)
                .hasMessageContaining("input 'X'")
                .hasMessageContaining("DOUBLE")
                .hasMessageContaining("fp16");
    }

    @Test
    @DisabledIfSystemProperty(named = "asyncdiff.gpu", matches = "true")
    void cudaWithoutTheGpuArtifactSaysHowToEnableIt() throws IOException {
        Path file = TestModels.write(dir, "model.onnx", TestModels.linearRelu());
        assertThatThrownBy(() -> backend.load(file, Device.parse("cuda:0")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cuda:0")
                .hasMessageContaining("CUDA")
                .hasMessageContaining("unavailable")
                .hasMessageContaining("-Pgpu");
        assertThatThrownBy(() -> new OnnxBackend(new BackendOptions(List.of(Device.parse("cuda:1")), Map.of())))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cuda:1")
                .hasMessageContaining("-Pgpu");
    }

    @Test
    void loadAfterCloseThrowsIllegalState() throws IOException {
        Path file = TestModels.write(dir, "model.onnx", TestModels.linearRelu());
        OnnxBackend other = new OnnxBackend(BackendOptions.defaults());
        other.close();
        other.close();
        assertThatThrownBy(() -> other.load(file, Device.CPU))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("OnnxBackend");
    }
}
