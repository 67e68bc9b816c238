package dev.asyncdiff.backend.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OnnxTensor;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.FloatFormats;
import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.api.TensorSpec;
import dev.asyncdiff.spi.BackendOptions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OnnxSessionTest {
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
    void linearReluMatchesJava() throws Exception {
        float[] x = {1f, 2f, 3f, -1f, 0.5f, -2f, 0.25f, -0.5f, 4f};
        try (InferenceSession session = backend.load(TestModels.write(dir, "m.onnx", TestModels.linearRelu()), Device.CPU);
                Tensor input = Tensor.ofFloats(x, 3, 3);
                NamedTensors out = session.run(Map.of("X", input))) {
            assertThat(out.names()).containsExactly("Y");
            Tensor y = out.get("Y");
            assertThat(y.dtype()).isEqualTo(DType.FP32);
            assertThat(y.shape()).containsExactly(3, 2);
            assertThat(y.toFloatArray()).containsExactly(TestModels.linearReluExpected(x, 3), within(1e-5f));
            assertThat(TestModels.linearReluExpected(x, 3)).contains(0f); // Relu clipped something
        }
    }

    @Test
    void repeatedRunsWithOtherBatchSizesStayCorrect() throws Exception {
        try (InferenceSession session = backend.load(TestModels.write(dir, "m.onnx", TestModels.linearRelu()), Device.CPU)) {
            for (int batch : new int[] {1, 4, 1, 4, 2}) {
                float[] x = new float[batch * 3];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (i * 37 % 11) / 3f - 1.5f + batch;
                }
                try (Tensor input = Tensor.ofFloats(x, batch, 3); NamedTensors out = session.run(Map.of("X", input))) {
                    assertThat(out.get("Y").shape()).containsExactly(batch, 2);
                    assertThat(out.get("Y").toFloatArray())
                            .containsExactly(TestModels.linearReluExpected(x, batch), within(1e-5f));
                }
            }
        }
    }

    @Test
    void outputsOfPredictableShapeAreWrittenInPlace() throws Exception {
        try (OnnxSession session = (OnnxSession) backend.load(TestModels.write(dir, "m.onnx", TestModels.linearRelu()),
                Device.CPU);
                Tensor input = Tensor.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
                NamedTensors out = session.run(Map.of("X", input))) {
            assertThat(out.get("Y").shape()).containsExactly(2, 2);
            assertThat(session.runner().copiedOutputs()).isZero();
        }
    }

    @Test
    void outputsOfUnpredictableShapeAreCopiedOutOnceThenLearned() throws Exception {
        Path model = TestModels.write(dir, "rows.onnx", TestModels.linearReluDeclaring("rows", 2L));
        try (OnnxSession session = (OnnxSession) backend.load(model, Device.CPU);
                Tensor input = Tensor.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3)) {
            for (int run = 0; run < 3; run++) {
                try (NamedTensors out = session.run(Map.of("X", input))) {
                    assertThat(out.get("Y").toFloatArray())
                            .containsExactly(TestModels.linearReluExpected(new float[] {1, 2, 3, 4, 5, 6}, 2),
                                    within(1e-5f));
                }
            }
            assertThat(session.runner().copiedOutputs()).isEqualTo(1);
        }
        assertOutputsCorrectOverRuns(model);
    }

    @Test
    void aWrongDeclaredOutputShapeFallsBackToOutputsAllocatedByOnnxRuntime() throws Exception {
        Path model = TestModels.write(dir, "wrong.onnx", TestModels.linearReluDeclaring(5L, 2L));
        assertOutputsCorrectOverRuns(model);
    }

    private void assertOutputsCorrectOverRuns(Path model) {
        try (InferenceSession session = backend.load(model, Device.CPU)) {
            for (int batch : new int[] {3, 3, 1, 3}) {
                float[] x = new float[batch * 3];
                for (int i = 0; i < x.length; i++) {
                    x[i] = i - 2.5f;
                }
                try (Tensor input = Tensor.ofFloats(x, batch, 3); NamedTensors out = session.run(Map.of("X", input))) {
                    assertThat(out.get("Y").shape()).containsExactly(batch, 2);
                    assertThat(out.get("Y").toFloatArray())
                            .containsExactly(TestModels.linearReluExpected(x, batch), within(1e-5f));
                }
            }
        }
    }

    @Test
    void specsComeFromTheModelWithDynamicDimsAsMinusOne() throws Exception {
        try (InferenceSession session = backend.load(TestModels.write(dir, "m.onnx", TestModels.timestepVector(0)),
                Device.CPU)) {
            assertThat(session.inputs()).containsExactly(
                    new TensorSpec("sample", DType.FP32, new long[] {-1, 2}),
                    new TensorSpec("timestep", DType.FP32, new long[] {-1}));
            assertThat(session.outputs()).containsExactly(
                    new TensorSpec("Y", DType.FP32, new long[] {-1, 2}),
                    new TensorSpec("T", DType.FP32, new long[] {-1}));
            assertThat(session.device()).isEqualTo(Device.CPU);
        }
    }

    @Test
    void fp32IsConvertedForAnFp16InputAndFp16OutputsStayFp16() throws Exception {
        float[] x = {1.0f, 0.1f, -65504f, 3.0e-6f};
        try (InferenceSession session = backend.load(TestModels.write(dir, "h.onnx", TestModels.halfInput()), Device.CPU);
                Tensor input = Tensor.ofFloats(x, 2, 2);
                NamedTensors out = session.run(Map.of("X", input))) {
            assertThat(session.inputs().get(0).dtype()).isEqualTo(DType.FP16);
            float[] rounded = new float[x.length];
            for (int i = 0; i < x.length; i++) {
                rounded[i] = FloatFormats.halfToFloat(FloatFormats.floatToHalf(x[i]));
            }
            assertThat(rounded[1]).isNotEqualTo(0.1f); // the test really sees fp16 rounding
            Tensor z = out.get("Z");
            assertThat(z.dtype()).isEqualTo(DType.FP16);
            assertThat(z.toFloatArray()).containsExactly(rounded);
            float[] doubled = new float[x.length];
            for (int i = 0; i < x.length; i++) {
                doubled[i] = 2 * rounded[i];
            }
            assertThat(out.get("Y").toFloatArray()).containsExactly(doubled);
        }
    }

    @Test
    void fp16TensorsForAnFp16InputPassUnchanged() throws Exception {
        try (InferenceSession session = backend.load(TestModels.write(dir, "h.onnx", TestModels.halfInput()), Device.CPU);
                Tensor fp32 = Tensor.ofFloats(new float[] {0.5f, -2f, 1024f, 6.1035156e-5f}, 2, 2);
                Tensor half = fp32.to(DType.FP16);
                NamedTensors out = session.run(Map.of("X", half))) {
            assertThat(out.get("Y").toFloatArray()).containsExactly(1f, -4f, 2048f, 1.2207031e-4f);
        }
    }

    @Test
    void fp32IsConvertedForABf16Input() throws Exception {
        float[] x = {1.0f, 0.1f, -3.3e38f, 1.0e-40f};
        try (InferenceSession session = backend.load(TestModels.write(dir, "b.onnx",
                TestModels.sixteenBitInput(DataType.BFLOAT16)), Device.CPU);
                Tensor input = Tensor.ofFloats(x, 2, 2);
                NamedTensors out = session.run(Map.of("X", input))) {
            assertThat(session.inputs().get(0).dtype()).isEqualTo(DType.BF16);
            float[] rounded = new float[x.length];
            for (int i = 0; i < x.length; i++) {
                rounded[i] = FloatFormats.bfloat16ToFloat(FloatFormats.floatToBfloat16(x[i]));
            }
            assertThat(rounded[1]).isNotEqualTo(0.1f);
            assertThat(out.get("Z").dtype()).isEqualTo(DType.BF16);
            assertThat(out.get("Z").toFloatArray()).containsExactly(rounded);
        }
    }

    @Test
    void int64IdsAreNarrowedForAnInt32InputAndOverflowIsNamed() throws Exception {
        try (InferenceSession session = backend.load(TestModels.write(dir, "g32.onnx",
                TestModels.gather(DataType.INT32)), Device.CPU);
                Tensor ids = Tensor.ofLongs(new long[] {1, 3}, 2);
                Tensor huge = Tensor.ofLongs(new long[] {1L << 40}, 1);
                NamedTensors out = session.run(Map.of("ids", ids))) {
            assertThat(out.get("Y").toFloatArray()).containsExactly(10, 11, 12, 30, 31, 32);
            assertThatThrownBy(() -> session.run(Map.of("ids", huge)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("input 'ids'")
                    .hasMessageContaining("out of range");
        }
    }

    @Test
    void concurrentRunsOnOneSessionGetTheirOwnResults() throws Exception {
        try (InferenceSession session = backend.load(TestModels.write(dir, "t.onnx", TestModels.timestepVector(0)),
                Device.CPU)) {
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<float[]>> results = new ArrayList<>();
                for (int task = 0; task < 16; task++) {
                    float step = task;
                    int batch = 1 + task % 3;
                    results.add(pool.submit(() -> {
                        try (Tensor s = Tensor.ofFloats(new float[batch * 2], batch, 2);
                                Tensor t = Tensor.scalar(step);
                                NamedTensors out = session.run(Map.of("sample", s, "timestep", t))) {
                            return out.get("T").toFloatArray();
                        }
                    }));
                }
                for (int task = 0; task < 16; task++) {
                    float[] expected = new float[1 + task % 3];
                    Arrays.fill(expected, task);
                    assertThat(results.get(task).get()).containsExactly(expected);
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void int32IdsAreConvertedForAnInt64Input() throws Exception {
        try (InferenceSession session = backend.load(TestModels.write(dir, "g.onnx", TestModels.gather()), Device.CPU);
                Tensor ids = Tensor.ofInts(new int[] {4, 0, 2}, 3);
                NamedTensors out = session.run(Map.of("ids", ids))) {
            assertThat(session.inputs().get(0).dtype()).isEqualTo(DType.INT64);
            assertThat(out.get("Y").shape()).containsExactly(3, 3);
            assertThat(out.get("Y").toFloatArray()).containsExactly(40, 41, 42, 0, 1, 2, 20, 21, 22);
        }
    }

    @Test
    void scalarTimestepIsBroadcastToTheBatchOfSample() throws Exception {
        float[] sample = {1, 2, 3, 4, 5, 6};
        try (InferenceSession session = backend.load(TestModels.write(dir, "t.onnx", TestModels.timestepVector(0)),
                Device.CPU);
                Tensor s = Tensor.ofFloats(sample, 3, 2);
                Tensor t = Tensor.scalar(0.5f);
                NamedTensors out = session.run(Map.of("sample", s, "timestep", t))) {
            assertThat(out.get("T").shape()).containsExactly(3);
            assertThat(out.get("T").toFloatArray()).containsExactly(0.5f, 0.5f, 0.5f);
            assertThat(out.get("Y").toFloatArray()).containsExactly(0.5f, 1, 1.5f, 2, 2.5f, 3);
        }
    }

    @Test
    void intScalarIsConvertedAndBroadcastToAFixedOneElementVector() throws Exception {
        try (InferenceSession session = backend.load(TestModels.write(dir, "t1.onnx", TestModels.timestepVector(1)),
                Device.CPU);
                Tensor s = Tensor.ofFloats(new float[] {1, 2}, 1, 2);
                Tensor t = Tensor.ofLongs(new long[] {3});
                NamedTensors out = session.run(Map.of("sample", s, "timestep", t))) {
            assertThat(out.get("T").shape()).containsExactly(1);
            assertThat(out.get("Y").toFloatArray()).containsExactly(3, 6);
        }
    }

    @Test
    void constantVectorBecomesAScalarForARankZeroInput() throws Exception {
        try (InferenceSession session = backend.load(TestModels.write(dir, "ts.onnx", TestModels.timestepScalar()),
                Device.CPU);
                Tensor s = Tensor.ofFloats(new float[] {1, 2, 3, 4}, 2, 2);
                Tensor batchOfSteps = Tensor.ofInts(new int[] {7, 7}, 2);
                NamedTensors out = session.run(Map.of("sample", s, "timestep", batchOfSteps))) {
            assertThat(session.inputs().get(1).rank()).isZero();
            assertThat(out.get("Y").toFloatArray()).containsExactly(7, 14, 21, 28);
        }
    }

    @Test
    void differentValuesCannotBecomeAScalar() throws Exception {
        try (InferenceSession session = backend.load(TestModels.write(dir, "ts.onnx", TestModels.timestepScalar()),
                Device.CPU);
                Tensor s = Tensor.ofFloats(new float[] {1, 2, 3, 4}, 2, 2);
                Tensor steps = Tensor.ofLongs(new long[] {7, 8}, 2)) {
            assertThatThrownBy(() -> session.run(Map.of("sample", s, "timestep", steps)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("input 'timestep'")
                    .hasMessageContaining("expects rank 0")
                    .hasMessageContaining("[2]");
        }
    }

    @Test
    void inputsAreWrappedWithoutCopying() throws Exception {
        try (OnnxSession session = (OnnxSession) backend.load(TestModels.write(dir, "m.onnx", TestModels.linearRelu()),
                Device.CPU);
                Tensor input = Tensor.ofFloats(new float[] {1, 2, 3}, 1, 3);
                OnnxTensor wrapped = session.runner().wrap(input)) {
            input.buffer().putFloat(4, 42f);
            assertThat(wrapped.getFloatBuffer().get(1)).isEqualTo(42f);
            assertThat(wrapped.ownsBuffer()).isFalse();
        }
    }

    @Test
    void closeIsIdempotentAndUseAfterCloseThrows() throws Exception {
        InferenceSession session = backend.load(TestModels.write(dir, "m.onnx", TestModels.linearRelu()), Device.CPU);
        session.close();
        session.close();
        try (Tensor input = Tensor.ofFloats(new float[] {1, 2, 3}, 1, 3)) {
            assertThatThrownBy(() -> session.run(Map.of("X", input)))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("OnnxSession")
                    .hasMessageContaining("closed");
        }
        assertThatThrownBy(session::inputs).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void closingTheBackendClosesSessionsStillOpen() throws Exception {
        OnnxBackend own = new OnnxBackend(BackendOptions.defaults());
        InferenceSession session = own.load(TestModels.write(dir, "m.onnx", TestModels.linearRelu()), Device.CPU);
        own.close();
        assertThatThrownBy(session::outputs).isInstanceOf(IllegalStateException.class);
        session.close();
    }
}
