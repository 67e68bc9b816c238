package dev.asyncdiff.backend.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.spi.BackendOptions;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BadInputTest {
    private static OnnxBackend backend;

    @TempDir
    Path dir;

    private InferenceSession linear;
    private InferenceSession gather;
    private InferenceSession gather32;

    @BeforeAll
    static void open() {
        backend = new OnnxBackend(BackendOptions.defaults());
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    @BeforeEach
    void load() throws Exception {
        linear = backend.load(TestModels.write(dir, "linear.onnx", TestModels.linearRelu()), Device.CPU);
        gather = backend.load(TestModels.write(dir, "gather.onnx", TestModels.gather()), Device.CPU);
        gather32 = backend.load(TestModels.write(dir, "gather32.onnx", TestModels.gather(DataType.INT32)), Device.CPU);
    }

    @AfterEach
    void unload() {
        linear.close();
        gather.close();
        gather32.close();
    }

    @Test
    void unknownInputNameListsTheExpectedInputs() {
        try (Tensor x = Tensor.ofFloats(new float[3], 1, 3)) {
            assertThatThrownBy(() -> linear.run(Map.of("X", x, "x2", x)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("no input named [x2]")
                    .hasMessageContaining("linear.onnx")
                    .hasMessageContaining("X:fp32[-1, 3]");
        }
    }

    @Test
    void missingInputListsTheExpectedInputs() {
        assertThatThrownBy(() -> linear.run(Map.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("missing input(s) [X]")
                .hasMessageContaining("X:fp32[-1, 3]");
    }

    @Test
    void wrongShapeNamesExpectedAndActual() {
        try (Tensor x = Tensor.ofFloats(new float[8], 2, 4)) {
            assertThatThrownBy(() -> linear.run(Map.of("X", x)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("input 'X'")
                    .hasMessageContaining("expects shape [-1, 3]")
                    .hasMessageContaining("got shape [2, 4]");
        }
    }

    @Test
    void wrongRankNamesExpectedAndActual() {
        try (Tensor x = Tensor.ofFloats(new float[3], 3)) {
            assertThatThrownBy(() -> linear.run(Map.of("X", x)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("expects rank 2")
                    .hasMessageContaining("got rank 1, shape [3]");
        }
    }

    @Test
    void fractionalFloatsForAnInt64InputAreRejected() {
        try (Tensor ids = Tensor.ofFloats(new float[] {1, 2.5f}, 2)) {
            assertThatThrownBy(() -> gather.run(Map.of("ids", ids)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("input 'ids'")
                    .hasMessageContaining("expects dtype int64, got fp32 holding 2.5");
        }
    }

    @Test
    void wholeFloatsForAnInt64InputAreConvertedExactly() {
        try (Tensor ids = Tensor.ofFloats(new float[] {4, 0}, 2); Tensor asLongs = Tensor.ofLongs(new long[] {4, 0}, 2);
             NamedTensors fromFloats = gather.run(Map.of("ids", ids));
             NamedTensors fromLongs = gather.run(Map.of("ids", asLongs))) {
            assertThat(fromFloats.get("Y").toFloatArray()).containsExactly(fromLongs.get("Y").toFloatArray());
            assertThat(fromLongs.get("Y").toFloatArray()).isNotEqualTo(new float[6]);
        }
    }

    @Test
    void aFloatTooLargeForAnInt32InputIsRejected() {
        try (Tensor ids = Tensor.ofFloats(new float[] {3e9f}, 1)) {
            assertThatThrownBy(() -> gather32.run(Map.of("ids", ids)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("expects dtype int32, got fp32 holding 3.0E9");
        }
    }

    @Test
    void intsForAFloatInputAreConvertedNotRejected() {
        try (Tensor x = Tensor.ofInts(new int[] {1, 2, 3}, 1, 3); NamedTensors out = linear.run(Map.of("X", x))) {
            assertThat(out.get("Y").toFloatArray())
                    .containsExactly(TestModels.linearReluExpected(new float[] {1, 2, 3}, 1),
                            within(1e-5f));
        }
    }

    @Test
    void nullInputsAreRejected() {
        assertThatThrownBy(() -> linear.run(null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("must not be null");
    }
}
