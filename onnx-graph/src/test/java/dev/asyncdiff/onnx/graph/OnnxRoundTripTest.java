package dev.asyncdiff.onnx.graph;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.MalformedModelException;
import dev.asyncdiff.api.ModelNotFoundException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OnnxRoundTripTest {
    private static final int IN = 16;
    private static final int OUT = 40;

    @TempDir
    Path dir;

    /** y = relu(x · W + b) with W[i][j] = (i - j) / 64, b[j] = j / 100, inside scope "block.0/proj". */
    private static GraphBuilder linearRelu() {
        GraphBuilder g = new GraphBuilder("test");
        String x = g.input("x", DType.FP32, "batch", IN);
        String y;
        try (var block = g.scope("block.0"); var proj = g.scope("proj")) {
            String w = g.parameter("weight", DType.FP32, new long[] {IN, OUT}, () -> floats(IN * OUT,
                    k -> ((k / OUT) - (k % OUT)) / 64f));
            String b = g.parameter("bias", DType.FP32, new long[] {OUT}, () -> floats(OUT, j -> j / 100f));
            y = g.op("Relu", List.of(g.op("Add", List.of(g.op("MatMul", List.of(x, w)), b))));
        }
        g.output(y, DType.FP32, "batch", OUT);
        return g;
    }

    private static ByteBuffer floats(int count, java.util.function.IntFunction<Float> value) {
        ByteBuffer bytes = ByteBuffer.allocate(count * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < count; i++) {
            bytes.putFloat(value.apply(i));
        }
        return bytes.flip();
    }

    private static float[] expected(float[] x) {
        float[] y = new float[OUT];
        for (int j = 0; j < OUT; j++) {
            float sum = j / 100f;
            for (int i = 0; i < IN; i++) {
                sum += x[i] * ((i - j) / 64f);
            }
            y[j] = Math.max(0f, sum);
        }
        return y;
    }

    private static float[] run(Path model, float[] x) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = env.createSession(model.toString(), new OrtSession.SessionOptions());
             OnnxTensor input = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {1, IN});
             OrtSession.Result result = session.run(Map.of("x", input))) {
            return ((float[][]) result.get(0).getValue())[0];
        }
    }

    private static float[] sampleInput() {
        float[] x = new float[IN];
        for (int i = 0; i < IN; i++) {
            x[i] = (i % 5) - 1.5f;
        }
        return x;
    }

    @Test
    void namesFollowTorchExport() {
        GraphBuilder g = linearRelu();
        assertThat(g.skeleton().getGraph().getNodeList()).extracting(n -> n.getName())
                .containsExactly("/block.0/proj/MatMul", "/block.0/proj/Add", "/block.0/proj/Relu");
        assertThat(g.initializers()).extracting(Initializer::name)
                .containsExactly("block.0.proj.weight", "block.0.proj.bias");
        assertThat(g.parameterCount()).isEqualTo(IN * OUT + OUT);
    }

    @Test
    void repeatedOpsInOneScopeGetNumberedNames() {
        GraphBuilder g = new GraphBuilder("t");
        String x = g.input("x", DType.FP32, 2);
        String a = g.op("Relu", List.of(x));
        String b = g.op("Relu", List.of(a));
        assertThat(a).isEqualTo("/Relu_output_0");
        assertThat(b).isEqualTo("/Relu_1_output_0");
    }

    @Test
    void inlineModelRunsInOnnxRuntime() throws Exception {
        Path model = dir.resolve("inline/model.onnx");
        linearRelu().write(model, ExternalDataPolicy.INLINE);
        assertThat(OnnxWriter.dataFileOf(model)).doesNotExist();
        float[] x = sampleInput();
        assertThat(run(model, x)).containsExactly(expected(x), org.assertj.core.data.Offset.offset(1e-5f));
    }

    @Test
    void externalDataRoundTrips() throws Exception {
        Path model = dir.resolve("ext/model.onnx");
        linearRelu().write(model, ExternalDataPolicy.EXTERNAL);
        Path data = dir.resolve("ext/model.onnx_data");
        assertThat(data).exists();

        OnnxModel read = OnnxModel.load(model);
        TensorProto weight = read.graph().getInitializer(0);
        TensorProto bias = read.graph().getInitializer(1);
        assertThat(OnnxModel.isExternal(weight)).as("large initializer goes to the data file").isTrue();
        assertThat(OnnxModel.isExternal(bias)).as("a 160-byte initializer stays inline").isFalse();
        assertThat(Files.size(data)).isGreaterThanOrEqualTo(IN * OUT * 4L);
        ByteBuffer w = read.tensorData(weight);
        assertThat(w.getFloat(4 * (3 * OUT + 1))).isEqualTo((3 - 1) / 64f);
        assertThat(read.tensorData(bias).getFloat(4 * 7)).isEqualTo(7 / 100f);

        float[] x = sampleInput();
        assertThat(run(model, x)).containsExactly(expected(x), org.assertj.core.data.Offset.offset(1e-5f));
    }

    @Test
    void rewritingAReadModelKeepsItsData() throws Exception {
        Path first = dir.resolve("a/model.onnx");
        linearRelu().write(first, ExternalDataPolicy.EXTERNAL);
        OnnxModel read = OnnxModel.load(first);
        Path second = dir.resolve("b/model.onnx");
        var skeleton = read.proto().toBuilder().setGraph(read.graph().toBuilder().clearInitializer()).build();
        OnnxWriter.write(skeleton, read.initializers(), second, ExternalDataPolicy.INLINE);
        float[] x = sampleInput();
        assertThat(run(second, x)).containsExactly(run(first, x));
    }

    @Test
    void sameBuildWritesIdenticalBytes() throws Exception {
        Path a = dir.resolve("same1/model.onnx");
        Path b = dir.resolve("same2/model.onnx");
        linearRelu().write(a, ExternalDataPolicy.EXTERNAL);
        linearRelu().write(b, ExternalDataPolicy.EXTERNAL);
        assertThat(Files.readAllBytes(a)).isEqualTo(Files.readAllBytes(b));
        assertThat(Files.readAllBytes(OnnxWriter.dataFileOf(a))).isEqualTo(Files.readAllBytes(OnnxWriter.dataFileOf(b)));
    }

    @Test
    void missingModelIsNamed() {
        Path missing = dir.resolve("nope/model.onnx");
        assertThatThrownBy(() -> OnnxModel.load(missing)).isInstanceOf(ModelNotFoundException.class)
                .hasMessageContaining("nope").hasMessageContaining("model.onnx");
    }

    @Test
    void truncatedModelIsMalformed() throws Exception {
        Path model = dir.resolve("t/model.onnx");
        linearRelu().write(model, ExternalDataPolicy.INLINE);
        byte[] bytes = Files.readAllBytes(model);
        Files.write(model, Arrays.copyOf(bytes, bytes.length / 2));
        assertThatThrownBy(() -> OnnxModel.load(model)).isInstanceOf(MalformedModelException.class)
                .hasMessageContaining(model.getFileName().toString());
    }

    @Test
    void garbageIsMalformed() throws Exception {
        Path model = dir.resolve("garbage.onnx");
        Files.writeString(model, "this is not a protobuf at all");
        assertThatThrownBy(() -> OnnxModel.load(model)).isInstanceOf(MalformedModelException.class)
                .hasMessageContaining("garbage.onnx");
    }

    @Test
    void missingOrTruncatedExternalDataIsNamed() throws Exception {
        Path model = dir.resolve("e/model.onnx");
        linearRelu().write(model, ExternalDataPolicy.EXTERNAL);
        Path data = OnnxWriter.dataFileOf(model);
        OnnxModel read = OnnxModel.load(model);
        TensorProto weight = read.graph().getInitializer(0);

        Files.write(data, Arrays.copyOf(Files.readAllBytes(data), 100));
        assertThatThrownBy(() -> read.tensorData(weight)).isInstanceOf(MalformedModelException.class)
                .hasMessageContaining("truncated").hasMessageContaining("model.onnx_data");

        Files.delete(data);
        assertThatThrownBy(() -> read.tensorData(weight)).isInstanceOf(ModelNotFoundException.class)
                .hasMessageContaining("model.onnx_data").hasMessageContaining("block.0.proj.weight");
    }

    @Test
    void failedWriteLeavesNothingBehind() {
        GraphBuilder g = new GraphBuilder("bad");
        String x = g.input("x", DType.FP32, 4);
        String w = g.parameter("w", DType.FP32, new long[] {4, 4}, () -> ByteBuffer.allocate(8));
        g.output(g.op("MatMul", List.of(x, w)), DType.FP32, 4);
        Path model = dir.resolve("bad/model.onnx");
        assertThatThrownBy(() -> g.write(model, ExternalDataPolicy.EXTERNAL))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("needs 64 bytes");
        assertThat(dir.resolve("bad")).isEmptyDirectory();
    }

    @Test
    void builderRejectsUnknownValuesAndDuplicateNames() {
        GraphBuilder g = new GraphBuilder("t");
        g.input("x", DType.FP32, 1);
        assertThatThrownBy(() -> g.op("Relu", List.of("y"))).hasMessageContaining("unknown value 'y'");
        assertThatThrownBy(() -> g.input("x", DType.FP32, 1)).hasMessageContaining("already used");
        assertThatThrownBy(g::skeleton).hasMessageContaining("declares no output");
    }
}
