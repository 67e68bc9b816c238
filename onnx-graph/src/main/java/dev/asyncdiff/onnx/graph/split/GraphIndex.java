package dev.asyncdiff.onnx.graph.split;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.MalformedModelException;
import dev.asyncdiff.onnx.graph.OnnxModel;
import dev.asyncdiff.onnx.graph.OnnxTypes;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A read-only index over a model's main graph: nodes in topological order, who produces and who
 * consumes each value, and the initializers by name.
 */
final class GraphIndex {
    private final OnnxModel model;
    private final List<NodeProto> nodes;
    private final Map<String, Integer> producer = new HashMap<>();
    private final Map<String, List<Integer>> consumers = new HashMap<>();
    private final Map<String, TensorProto> initializers = new LinkedHashMap<>();
    private final Map<String, ValueInfoProto> inputs = new LinkedHashMap<>();

    GraphIndex(OnnxModel model) {
        this.model = model;
        for (TensorProto initializer : model.graph().getInitializerList()) {
            initializers.put(initializer.getName(), initializer);
        }
        for (ValueInfoProto input : model.graph().getInputList()) {
            if (!initializers.containsKey(input.getName())) {
                inputs.put(input.getName(), input);
            }
        }
        this.nodes = topologicalOrder(model.graph().getNodeList());
        for (int i = 0; i < nodes.size(); i++) {
            NodeProto node = nodes.get(i);
            for (String output : node.getOutputList()) {
                if (!output.isEmpty()) {
                    producer.put(output, i);
                }
            }
            for (String input : node.getInputList()) {
                if (!input.isEmpty()) {
                    consumers.computeIfAbsent(input, k -> new ArrayList<>()).add(i);
                }
            }
        }
    }

    OnnxModel model() {
        return model;
    }

    /** The nodes in a topological order that keeps the file's order where it already is one. */
    List<NodeProto> nodes() {
        return nodes;
    }

    /** The graph inputs that are not initializers, in order. */
    Map<String, ValueInfoProto> inputs() {
        return inputs;
    }

    Map<String, TensorProto> initializers() {
        return initializers;
    }

    /** The index of the node producing {@code value}, or -1 for a graph input, initializer or unknown name. */
    int producerOf(String value) {
        return producer.getOrDefault(value, -1);
    }

    List<Integer> consumersOf(String value) {
        return consumers.getOrDefault(value, Collections.emptyList());
    }

    /** The info of an initializer, with its elements when it has at most {@code maxFold} of them. */
    ValueInfo initializerInfo(TensorProto tensor, int maxFold) {
        long count = 1;
        for (long dim : tensor.getDimsList()) {
            count *= dim;
        }
        ByteBuffer data = count <= maxFold ? model.tensorData(tensor) : null;
        return tensorInfo(tensor, data, maxFold);
    }

    /** The info of a tensor whose little-endian bytes are {@code data} (null when not needed). */
    static ValueInfo tensorInfo(TensorProto tensor, ByteBuffer data, int maxFold) {
        DType dtype = OnnxTypes.fromOnnx(tensor.getDataType());
        long[] shape = OnnxModel.dims(tensor);
        long count = ShapeInference.product(shape);
        if (data == null || count > maxFold || data.remaining() < count * dtype.byteSize()) {
            return ValueInfo.of(dtype, shape);
        }
        ByteBuffer bytes = data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        double[] values = new double[(int) count];
        for (int i = 0; i < count; i++) {
            values[i] = switch (dtype) {
                case FP32 -> bytes.getFloat(4 * i);
                case FP16 -> dev.asyncdiff.api.FloatFormats.halfToFloat(bytes.getShort(2 * i));
                case BF16 -> dev.asyncdiff.api.FloatFormats.bfloat16ToFloat(bytes.getShort(2 * i));
                case INT64 -> bytes.getLong(8 * i);
                case INT32 -> bytes.getInt(4 * i);
                case BOOL, UINT8 -> bytes.get(i) & 0xFF;
            };
        }
        return new ValueInfo(dtype, shape, values);
    }

    private List<NodeProto> topologicalOrder(List<NodeProto> fileOrder) {
        Map<String, Integer> producedBy = new HashMap<>();
        for (int i = 0; i < fileOrder.size(); i++) {
            for (String output : fileOrder.get(i).getOutputList()) {
                producedBy.put(output, i);
            }
        }
        int[] pending = new int[fileOrder.size()];
        Map<Integer, List<Integer>> dependents = new HashMap<>();
        for (int i = 0; i < fileOrder.size(); i++) {
            for (String input : fileOrder.get(i).getInputList()) {
                Integer from = producedBy.get(input);
                if (from != null) {
                    pending[i]++;
                    dependents.computeIfAbsent(from, k -> new ArrayList<>()).add(i);
                }
            }
        }
        // Kahn's algorithm, always taking the lowest file position that is ready.
        java.util.PriorityQueue<Integer> ready = new java.util.PriorityQueue<>();
        for (int i = 0; i < pending.length; i++) {
            if (pending[i] == 0) {
                ready.add(i);
            }
        }
        List<NodeProto> order = new ArrayList<>(fileOrder.size());
        while (!ready.isEmpty()) {
            int next = ready.poll();
            order.add(fileOrder.get(next));
            for (int dependent : dependents.getOrDefault(next, List.of())) {
                if (--pending[dependent] == 0) {
                    ready.add(dependent);
                }
            }
        }
        if (order.size() != fileOrder.size()) {
            Deque<String> stuck = new ArrayDeque<>();
            for (int i = 0; i < pending.length && stuck.size() < 3; i++) {
                if (pending[i] > 0) {
                    stuck.add(fileOrder.get(i).getName());
                }
            }
            throw new MalformedModelException(model.file(), "the graph has a cycle (nodes " + stuck + " never become ready)");
        }
        return order;
    }
}
