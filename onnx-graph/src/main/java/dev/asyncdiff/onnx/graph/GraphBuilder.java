package dev.asyncdiff.onnx.graph;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.asyncdiff.api.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Assembles an ONNX graph whose names follow a torch export: inside {@link #scope scopes}
 * {@code down_blocks.0} and {@code resnets.1}, a {@code Conv} node is named
 * {@code /down_blocks.0/resnets.1/Conv} with output {@code /down_blocks.0/resnets.1/Conv_output_0},
 * and a parameter {@code weight} is named {@code down_blocks.0.resnets.1.weight}. Initializer bytes
 * are produced only when the model is written. Not thread-safe.
 */
public final class GraphBuilder {
    /** The opset graphs are built for unless {@link #opset(int)} says otherwise. */
    public static final int DEFAULT_OPSET = 17;

    private final String graphName;
    private final Deque<String> scopes = new ArrayDeque<>();
    private final List<NodeProto> nodes = new ArrayList<>();
    private final List<ValueInfoProto> inputs = new ArrayList<>();
    private final List<ValueInfoProto> outputs = new ArrayList<>();
    private final List<Initializer> initializers = new ArrayList<>();
    private final Set<String> valueNames = new HashSet<>();
    private final Map<String, Integer> nodeNameCounts = new HashMap<>();
    private long parameterCount;
    private int opset = DEFAULT_OPSET;

    /** A builder for a graph called {@code graphName}. */
    public GraphBuilder(String graphName) {
        this.graphName = graphName;
    }

    /** Sets the default-domain opset version. */
    public GraphBuilder opset(int version) {
        if (version < 13) {
            throw new IllegalArgumentException("opset must be >= 13, was " + version);
        }
        this.opset = version;
        return this;
    }

    /** The names in scope become part of node and parameter names until the returned scope is closed. */
    public Scope scope(String name) {
        if (name.isEmpty() || name.contains("/")) {
            throw new IllegalArgumentException("scope names are non-empty and have no '/', was '" + name + "'");
        }
        scopes.addLast(name);
        int depth = scopes.size();
        return () -> {
            if (scopes.size() != depth) {
                throw new IllegalStateException("scopes must close in reverse order; open: " + scopes);
            }
            scopes.removeLast();
        };
    }

    /** An open scope; closing it leaves the scope. */
    @FunctionalInterface
    public interface Scope extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Declares a graph input. Each dimension is a number (fixed) or a string (symbolic, e.g. {@code batch}).
     *
     * @return the input's name, for use as a node input
     */
    public String input(String name, DType dtype, Object... dims) {
        claim(name);
        inputs.add(valueInfo(name, dtype, dims));
        return name;
    }

    /** Declares the value {@code name} (an existing node output or input) as a graph output. */
    public void output(String name, DType dtype, Object... dims) {
        if (!valueNames.contains(name)) {
            throw new IllegalArgumentException("no value named '" + name + "' to output");
        }
        outputs.add(valueInfo(name, dtype, dims));
    }

    /**
     * Adds a trained parameter named by the current scope, e.g. {@code down_blocks.0.resnets.1.conv1.weight}.
     * It counts towards {@link #parameterCount()}.
     *
     * @return the initializer's name
     */
    public String parameter(String localName, DType dtype, long[] shape, Supplier<ByteBuffer> data) {
        String name = scopes.isEmpty() ? localName : String.join(".", scopes) + "." + localName;
        Initializer initializer = new Initializer(name, dtype, shape, data);
        claim(name);
        initializers.add(initializer);
        parameterCount += initializer.elementCount();
        return name;
    }

    /** Adds a {@code Constant} node holding a 1-D int64 tensor (shapes, axes). */
    public String constantLongs(long... values) {
        ByteBuffer bytes = ByteBuffer.allocate(values.length * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (long value : values) {
            bytes.putLong(value);
        }
        return constant(new Initializer("value", DType.INT64, new long[] {values.length}, bytes::flip));
    }

    /** Adds a {@code Constant} node holding a float scalar of {@code dtype} (FP32 or FP16). */
    public String constantScalar(float value, DType dtype) {
        ByteBuffer bytes = ByteBuffer.allocate(dtype.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype) {
            case FP32 -> bytes.putFloat(value);
            case FP16 -> bytes.putShort(dev.asyncdiff.api.FloatFormats.floatToHalf(value));
            default -> throw new IllegalArgumentException("constantScalar takes FP32 or FP16, not " + dtype);
        }
        return constant(new Initializer("value", dtype, new long[0], bytes::flip));
    }

    private String constant(Initializer value) {
        TensorProto tensor = OnnxWriter.inline(value);
        return op("Constant", List.of(), Attr.tensor("value", tensor.toBuilder().clearName().build()));
    }

    /** Adds a node with one output; returns the output's name. */
    public String op(String opType, List<String> nodeInputs, AttributeProto... attributes) {
        return op(opType, 1, nodeInputs, attributes).get(0);
    }

    /**
     * Adds a node of {@code opType} with {@code outputCount} outputs, named after the current scope.
     * An empty string in {@code nodeInputs} marks an omitted optional input.
     *
     * @throws IllegalArgumentException when an input names no known value
     */
    public List<String> op(String opType, int outputCount, List<String> nodeInputs, AttributeProto... attributes) {
        return addNode(opType, outputCount, null, nodeInputs, attributes);
    }

    /**
     * Adds a node with one output called {@code outputName} instead of the scope-derived name, as a
     * torch export names the values that are graph outputs (e.g. {@code out_sample}).
     *
     * @return {@code outputName}
     * @throws IllegalArgumentException when an input names no known value or the name is taken
     */
    public String namedOp(String opType, List<String> nodeInputs, String outputName, AttributeProto... attributes) {
        if (outputName == null || outputName.isEmpty()) {
            throw new IllegalArgumentException("namedOp needs a non-empty output name");
        }
        return addNode(opType, 1, outputName, nodeInputs, attributes).get(0);
    }

    private List<String> addNode(String opType, int outputCount, String outputName, List<String> nodeInputs,
                                 AttributeProto... attributes) {
        for (String input : nodeInputs) {
            if (!input.isEmpty() && !valueNames.contains(input)) {
                throw new IllegalArgumentException("node " + opType + " in scope /" + String.join("/", scopes)
                        + " takes unknown value '" + input + "'");
            }
        }
        String base = "/" + String.join("/", scopes) + (scopes.isEmpty() ? "" : "/") + opType;
        int seen = nodeNameCounts.merge(base, 1, Integer::sum) - 1;
        String nodeName = seen == 0 ? base : base + "_" + seen;
        NodeProto.Builder node = NodeProto.newBuilder().setName(nodeName).setOpType(opType)
                .addAllInput(nodeInputs);
        for (AttributeProto attribute : attributes) {
            node.addAttribute(attribute);
        }
        List<String> produced = new ArrayList<>(outputCount);
        for (int i = 0; i < outputCount; i++) {
            String output = outputName != null ? outputName : nodeName + "_output_" + i;
            claim(output);
            node.addOutput(output);
            produced.add(output);
        }
        nodes.add(node.build());
        return produced;
    }

    /** The number of elements of all {@link #parameter parameters} (constants excluded). */
    public long parameterCount() {
        return parameterCount;
    }

    /** The initializers added so far, in order. */
    public List<Initializer> initializers() {
        return List.copyOf(initializers);
    }

    /** The model without initializers, for {@link OnnxWriter}. */
    public ModelProto skeleton() {
        if (outputs.isEmpty()) {
            throw new IllegalStateException("graph '" + graphName + "' declares no output");
        }
        GraphProto graph = GraphProto.newBuilder().setName(graphName).addAllNode(nodes)
                .addAllInput(inputs).addAllOutput(outputs).build();
        return ModelProto.newBuilder()
                .setIrVersion(8)
                .setProducerName("asyncdiff")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset))
                .setGraph(graph)
                .build();
    }

    /** Writes the model to {@code modelFile}, producing each initializer's bytes once. */
    public void write(Path modelFile, ExternalDataPolicy policy) {
        OnnxWriter.write(skeleton(), initializers, modelFile, policy);
    }

    private void claim(String name) {
        if (!valueNames.add(name)) {
            throw new IllegalArgumentException("value name '" + name + "' is already used in graph '"
                    + graphName + "'");
        }
    }

    /** A value info of {@code dtype} with fixed (number) or symbolic (string) dimensions. */
    public static ValueInfoProto valueInfo(String name, DType dtype, Object... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (Object dim : dims) {
            TensorShapeProto.Dimension.Builder dimension = TensorShapeProto.Dimension.newBuilder();
            if (dim instanceof Number number) {
                dimension.setDimValue(number.longValue());
            } else if (dim instanceof String symbol) {
                dimension.setDimParam(symbol);
            } else {
                throw new IllegalArgumentException("dimension of '" + name + "' must be a number or a name, was "
                        + dim);
            }
            shape.addDim(dimension);
        }
        TypeProto type = TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder()
                .setElemType(OnnxTypes.toOnnx(dtype).getNumber()).setShape(shape)).build();
        return ValueInfoProto.newBuilder().setName(name).setType(type).build();
    }
}
