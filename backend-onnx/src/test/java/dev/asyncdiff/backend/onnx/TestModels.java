package dev.asyncdiff.backend.onnx;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Small ONNX graphs written in code with the ONNX protobuf classes, and the weights the tests use
 * to compute expected values independently.
 */
final class TestModels {
    /** W of the linear model, 3x2 row-major. */
    static final float[] W = {0.5f, -1f, 2f, 0.25f, -0.75f, 1.5f};
    /** B of the linear model. */
    static final float[] B = {0.1f, -0.2f};
    /** The embedding table of the gather model, 5x3 row-major. */
    static final float[] TABLE = {0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32, 40, 41, 42};

    private TestModels() {
    }

    /** {@code Y[batch,2] = Relu(X[batch,3] · W + B)}, all fp32, W and B inside the model. */
    static ModelProto linearRelu() {
        return linearRelu(floats("W", W, 3, 2), "batch", 2L);
    }

    /**
     * The linear model with its output {@code Y} declared with {@code outputDims} (a fixed
     * {@code Long} or a symbolic {@code String} each), which may disagree with what it computes.
     */
    static ModelProto linearReluDeclaring(Object... outputDims) {
        return linearRelu(floats("W", W, 3, 2), outputDims);
    }

    /** The linear model with W stored in {@code dataFile} (beside the model) at {@code offset}. */
    static ModelProto linearReluExternal(String dataFile, long offset) {
        TensorProto weights = TensorProto.newBuilder().setName("W").setDataType(DataType.FLOAT_VALUE)
                .addAllDims(List.of(3L, 2L))
                .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(entry("location", dataFile))
                .addExternalData(entry("offset", Long.toString(offset)))
                .addExternalData(entry("length", Integer.toString(W.length * 4)))
                .build();
        return linearRelu(weights, "batch", 2L);
    }

    private static ModelProto linearRelu(TensorProto weights, Object... outputDims) {
        GraphProto graph = GraphProto.newBuilder().setName("linear_relu")
                .addInput(value("X", DataType.FLOAT, "batch", 3L))
                .addOutput(value("Y", DataType.FLOAT, outputDims))
                .addInitializer(weights)
                .addInitializer(floats("B", B, 2))
                .addNode(node("MatMul", List.of("X", "W"), List.of("XW")))
                .addNode(node("Add", List.of("XW", "B"), List.of("Z")))
                .addNode(node("Relu", List.of("Z"), List.of("Y")))
                .build();
        return model(graph);
    }

    /** {@code Y[2,2] fp32 = 2 · float(X)} and {@code Z = X}, with {@code X[2,2]} fp16. */
    static ModelProto halfInput() {
        return sixteenBitInput(DataType.FLOAT16);
    }

    /** {@code Y[2,2] fp32 = 2 · float(X)} and {@code Z = X}, with {@code X[2,2]} of a 16-bit float type. */
    static ModelProto sixteenBitInput(DataType type) {
        GraphProto graph = GraphProto.newBuilder().setName("sixteen_bit_input")
                .addInput(value("X", type, 2L, 2L))
                .addOutput(value("Y", DataType.FLOAT, 2L, 2L))
                .addOutput(value("Z", type, 2L, 2L))
                .addInitializer(floats("two", new float[] {2f}))
                .addNode(node("Cast", List.of("X"), List.of("Xf"),
                        AttributeProto.newBuilder().setName("to").setType(AttributeProto.AttributeType.INT)
                                .setI(DataType.FLOAT_VALUE).build()))
                .addNode(node("Mul", List.of("Xf", "two"), List.of("Y")))
                .addNode(node("Identity", List.of("X"), List.of("Z")))
                .build();
        return model(graph);
    }

    /** {@code Y[n,3] = TABLE[ids]} with {@code ids[n]} int64 and a 5x3 fp32 table. */
    static ModelProto gather() {
        return gather(DataType.INT64);
    }

    /** {@code Y[n,3] = TABLE[ids]} with {@code ids[n]} of {@code idsType} (int64 or int32). */
    static ModelProto gather(DataType idsType) {
        GraphProto graph = GraphProto.newBuilder().setName("gather")
                .addInput(value("ids", idsType, "n"))
                .addOutput(value("Y", DataType.FLOAT, "n", 3L))
                .addInitializer(floats("table", TABLE, 5, 3))
                .addNode(node("Gather", List.of("table", "ids"), List.of("Y")))
                .build();
        return model(graph);
    }

    /**
     * {@code Y[batch,2] = sample · timestep[:, None]} and {@code T = timestep}, with
     * {@code timestep} declared rank 1: {@code [batch]}, or {@code [fixed]} when fixed > 0.
     */
    static ModelProto timestepVector(long fixed) {
        ValueInfoProto timestep = fixed > 0 ? value("timestep", DataType.FLOAT, fixed)
                : value("timestep", DataType.FLOAT, "batch");
        GraphProto graph = GraphProto.newBuilder().setName("timestep_vector")
                .addInput(value("sample", DataType.FLOAT, "batch", 2L))
                .addInput(timestep)
                .addOutput(value("Y", DataType.FLOAT, "batch", 2L))
                .addOutput(value("T", DataType.FLOAT, "batch"))
                .addInitializer(longs("axes", new long[] {1}, 1))
                .addNode(node("Unsqueeze", List.of("timestep", "axes"), List.of("t2")))
                .addNode(node("Mul", List.of("sample", "t2"), List.of("Y")))
                .addNode(node("Identity", List.of("timestep"), List.of("T")))
                .build();
        return model(graph);
    }

    /** {@code Y[batch,2] = sample · timestep} with {@code timestep} a rank-0 int64 scalar. */
    static ModelProto timestepScalar() {
        GraphProto graph = GraphProto.newBuilder().setName("timestep_scalar")
                .addInput(value("sample", DataType.FLOAT, "batch", 2L))
                .addInput(value("timestep", DataType.INT64))
                .addOutput(value("Y", DataType.FLOAT, "batch", 2L))
                .addNode(node("Cast", List.of("timestep"), List.of("tf"),
                        AttributeProto.newBuilder().setName("to").setType(AttributeProto.AttributeType.INT)
                                .setI(DataType.FLOAT_VALUE).build()))
                .addNode(node("Mul", List.of("sample", "tf"), List.of("Y")))
                .build();
        return model(graph);
    }

    /** A model with a double input, which the backend does not support. */
    static ModelProto doubleInput() {
        GraphProto graph = GraphProto.newBuilder().setName("double_input")
                .addInput(value("X", DataType.DOUBLE, 2L))
                .addOutput(value("Y", DataType.DOUBLE, 2L))
                .addNode(node("Identity", List.of("X"), List.of("Y")))
                .build();
        return model(graph);
    }

    /** Writes {@code model} to {@code dir/name} and returns the path. */
    static Path write(Path dir, String name, ModelProto model) throws IOException {
        return Files.write(dir.resolve(name), model.toByteArray());
    }

    /** {@code values} as little-endian fp32 bytes, the layout of ONNX raw and external data. */
    static byte[] floatBytes(float[] values) {
        ByteBuffer buffer = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buffer.asFloatBuffer().put(values);
        return buffer.array();
    }

    /** The expected output of the linear model, computed in Java: {@code max(0, x·W + b)}. */
    static float[] linearReluExpected(float[] x, int batch) {
        float[] y = new float[batch * 2];
        for (int r = 0; r < batch; r++) {
            for (int c = 0; c < 2; c++) {
                float sum = B[c];
                for (int k = 0; k < 3; k++) {
                    sum += x[r * 3 + k] * W[k * 2 + c];
                }
                y[r * 2 + c] = Math.max(0f, sum);
            }
        }
        return y;
    }

    private static ModelProto model(GraphProto graph) {
        return ModelProto.newBuilder()
                .setIrVersion(8)
                .setProducerName("asyncdiff-backend-onnx-tests")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17).build())
                .setGraph(graph)
                .build();
    }

    private static NodeProto node(String op, List<String> inputs, List<String> outputs, AttributeProto... attributes) {
        return NodeProto.newBuilder().setOpType(op).setName(op + "_" + outputs.get(0))
                .addAllInput(inputs).addAllOutput(outputs).addAllAttribute(Arrays.asList(attributes)).build();
    }

    /** A tensor value; each dimension is a fixed {@code Long} or a symbolic {@code String}. */
    private static ValueInfoProto value(String name, DataType type, Object... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (Object dim : dims) {
            TensorShapeProto.Dimension.Builder d = TensorShapeProto.Dimension.newBuilder();
            if (dim instanceof String symbol) {
                d.setDimParam(symbol);
            } else {
                d.setDimValue((Long) dim);
            }
            shape.addDim(d);
        }
        TypeProto.Tensor tensor = TypeProto.Tensor.newBuilder().setElemType(type.getNumber()).setShape(shape).build();
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(tensor)).build();
    }

    private static TensorProto floats(String name, float[] values, long... dims) {
        return TensorProto.newBuilder().setName(name).setDataType(DataType.FLOAT_VALUE)
                .addAllDims(Arrays.stream(dims).boxed().toList())
                .setRawData(ByteString.copyFrom(floatBytes(values))).build();
    }

    private static TensorProto longs(String name, long[] values, long... dims) {
        ByteBuffer buffer = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        buffer.asLongBuffer().put(values);
        return TensorProto.newBuilder().setName(name).setDataType(DataType.INT64_VALUE)
                .addAllDims(Arrays.stream(dims).boxed().toList())
                .setRawData(ByteString.copyFrom(buffer.array())).build();
    }

    private static StringStringEntryProto entry(String key, String value) {
        return StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
    }
}
