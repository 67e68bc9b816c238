package dev.asyncdiff.onnx.graph.split;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.Initializer;
import dev.asyncdiff.onnx.graph.OnnxTypes;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Turns a {@link SplitPlanner.Plan} into component models: each holds its own latent nodes, a copy
 * of every conditioning node they need (down to the model inputs), only the initializers those
 * nodes use, and as inputs the model inputs it reads plus the latent tensors earlier components
 * produce for it.
 */
final class ComponentBuilder {
    /** A component ready to write, and its manifest entry (file name not yet set). */
    record Built(ModelProto skeleton, List<Initializer> initializers, SplitManifest.Component entry) {
    }

    private final SplitPlanner.Plan plan;
    private final GraphIndex graph;
    private final int[] owner;

    private ComponentBuilder(SplitPlanner.Plan plan) {
        this.plan = plan;
        this.graph = plan.graph();
        this.owner = new int[graph.nodes().size()];
        Arrays.fill(owner, -1);
        for (int c = 0; c < plan.components().size(); c++) {
            for (SplitPlanner.Unit unit : plan.components().get(c)) {
                for (int node : unit.nodes()) {
                    owner[node] = c;
                }
            }
        }
    }

    static List<Built> build(SplitPlanner.Plan plan) {
        return new ComponentBuilder(plan).buildAll();
    }

    /** What one component needs, found by walking back from its latent nodes. */
    private record Needs(Set<Integer> nodes, Set<String> modelInputs, Map<String, Integer> crossing,
                         Set<String> initializers) {
    }

    private List<Built> buildAll() {
        int count = plan.components().size();
        List<Needs> needs = new ArrayList<>();
        for (int c = 0; c < count; c++) {
            needs.add(needs(c));
        }
        Set<String> modelOutputs = new LinkedHashSet<>();
        plan.graph().model().graph().getOutputList().forEach(o -> modelOutputs.add(o.getName()));
        List<Built> built = new ArrayList<>();
        for (int c = 0; c < count; c++) {
            Map<String, List<Integer>> sends = new LinkedHashMap<>();
            for (int later = c + 1; later < count; later++) {
                for (Map.Entry<String, Integer> in : needs.get(later).crossing().entrySet()) {
                    if (in.getValue() == c) {
                        sends.computeIfAbsent(in.getKey(), k -> new ArrayList<>()).add(later);
                    }
                }
            }
            for (String output : modelOutputs) {
                int producer = graph.producerOf(output);
                if (producer >= 0 && needs.get(c).nodes().contains(producer)) {
                    sends.putIfAbsent(output, List.of());
                }
            }
            built.add(component(c, needs.get(c), sends));
        }
        return built;
    }

    private Needs needs(int c) {
        Set<Integer> nodes = new TreeSet<>();
        Set<String> modelInputs = new LinkedHashSet<>();
        Map<String, Integer> crossing = new TreeMap<>();
        Set<String> initializers = new LinkedHashSet<>();
        Deque<String> pending = new ArrayDeque<>();
        for (SplitPlanner.Unit unit : plan.components().get(c)) {
            for (int node : unit.nodes()) {
                nodes.add(node);
                pending.addAll(graph.nodes().get(node).getInputList());
            }
        }
        Set<String> seen = new HashSet<>();
        while (!pending.isEmpty()) {
            String value = pending.pop();
            if (value.isEmpty() || !seen.add(value)) {
                continue;
            }
            int producer = graph.producerOf(value);
            if (producer < 0) {
                if (graph.initializers().containsKey(value)) {
                    initializers.add(value);
                } else if (graph.inputs().containsKey(value)) {
                    modelInputs.add(value);
                }
            } else if (plan.latentNodes().contains(producer)) {
                if (owner[producer] != c) {
                    crossing.put(value, owner[producer]);
                }
            } else if (nodes.add(producer)) {
                pending.addAll(graph.nodes().get(producer).getInputList());
            }
        }
        return new Needs(nodes, modelInputs, crossing, initializers);
    }

    private Built component(int c, Needs needs, Map<String, List<Integer>> sends) {
        GraphProto source = graph.model().graph();
        GraphProto.Builder out = GraphProto.newBuilder().setName(source.getName() + "_component_" + c);
        List<SplitManifest.Tensor> inputEntries = new ArrayList<>();
        for (ValueInfoProto input : source.getInputList()) {
            if (needs.modelInputs().contains(input.getName())) {
                out.addInput(input);
                boolean shapeOnly = plan.latentInputs().contains(input.getName()) && readsOnlyShape(input.getName(), needs);
                inputEntries.add(entry(input.getName(), null, shapeOnly ? Boolean.TRUE : null, null));
            }
        }
        for (Map.Entry<String, Integer> crossing : needs.crossing().entrySet()) {
            out.addInput(valueInfo(crossing.getKey()));
            inputEntries.add(entry(crossing.getKey(), crossing.getValue(), null, null));
        }
        List<SplitManifest.Tensor> outputEntries = new ArrayList<>();
        Map<String, ValueInfoProto> declaredOutputs = new LinkedHashMap<>();
        source.getOutputList().forEach(o -> declaredOutputs.put(o.getName(), o));
        for (Map.Entry<String, List<Integer>> send : sends.entrySet()) {
            ValueInfoProto declared = declaredOutputs.get(send.getKey());
            out.addOutput(declared != null ? declared : valueInfo(send.getKey()));
            outputEntries.add(entry(send.getKey(), null, null, send.getValue()));
        }
        double flops = 0;
        for (int node : needs.nodes()) {
            NodeProto proto = graph.nodes().get(node);
            out.addNode(proto);
            flops += CostModel.flops(proto, plan.infos());
        }
        List<Initializer> initializers = new ArrayList<>();
        long weightBytes = 0;
        for (String name : needs.initializers()) {
            TensorProto tensor = graph.initializers().get(name);
            Initializer initializer = graph.model().initializer(tensor);
            initializers.add(initializer);
            weightBytes += initializer.byteCount();
        }
        List<SplitPlanner.Unit> units = plan.components().get(c);
        long received = 0;
        for (SplitManifest.Tensor input : inputEntries) {
            boolean latent = plan.latentInputs().contains(input.name()) && !Boolean.TRUE.equals(input.shapeOnly());
            received += input.from() != null || latent ? input.bytes() : 0;
        }
        long sent = 0;
        for (SplitManifest.Tensor output : outputEntries) {
            sent += output.bytes() * Math.max(1, output.to().size());
        }
        double millis = 1e3 * (plan.computeSeconds(c) + plan.options().link().seconds(received + sent));
        SplitManifest.Component entry = new SplitManifest.Component(c, null, units.get(0).key(),
                units.get(units.size() - 1).key(), round(plan.costShare(c)), round(flops / 1e9), weightBytes,
                inputEntries, outputEntries, received, sent, Math.round(millis * 1e4) / 1e4,
                c == 0 ? null : plan.blockCut(c) ? "block" : "inside-block");
        ModelProto skeleton = graph.model().proto().toBuilder().setGraph(out).build();
        return new Built(skeleton, initializers, entry);
    }

    private boolean readsOnlyShape(String input, Needs needs) {
        for (int consumer : graph.consumersOf(input)) {
            if (needs.nodes().contains(consumer) && !graph.nodes().get(consumer).getOpType().equals("Shape")) {
                return false;
            }
        }
        return true;
    }

    private SplitManifest.Tensor entry(String name, Integer from, Boolean shapeOnly, List<Integer> to) {
        ValueInfo info = plan.infos().getOrDefault(name, ValueInfo.UNKNOWN);
        long[] dynamic = dynamicShape(name);
        String dtype = info.dtype() == null ? "unknown" : info.dtype().name().toLowerCase(Locale.ROOT);
        int[] dynamicAxes = dynamic == null ? null
                : java.util.stream.IntStream.range(0, dynamic.length).filter(i -> dynamic[i] == -1).toArray();
        return new SplitManifest.Tensor(name, dtype, info.known() ? info.shape() : null, dynamicAxes, info.byteCount(),
                from, shapeOnly, to);
    }

    /** The shape at batch 1 with -1 where the dimension changes with the batch or the latent size; null when unknown. */
    private long[] dynamicShape(String name) {
        ValueInfo base = plan.infos().getOrDefault(name, ValueInfo.UNKNOWN);
        if (!base.known()) {
            return null;
        }
        long[] shape = base.shape().clone();
        for (Map<String, ValueInfo> variation : plan.variations()) {
            ValueInfo other = variation.getOrDefault(name, ValueInfo.UNKNOWN);
            for (int i = 0; i < shape.length; i++) {
                if (!other.known() || other.shape().length != shape.length || other.shape()[i] != base.shape()[i]) {
                    shape[i] = -1;
                }
            }
        }
        return shape;
    }

    private ValueInfoProto valueInfo(String name) {
        ValueInfo info = plan.infos().getOrDefault(name, ValueInfo.UNKNOWN);
        if (info.dtype() == null || !info.known()) {
            for (ValueInfoProto declared : graph.model().graph().getValueInfoList()) {
                if (declared.getName().equals(name)) {
                    return declared;
                }
            }
            throw new IllegalStateException("cannot infer the type of tensor '" + name + "' that crosses a cut in "
                    + graph.model().file() + " (produced by " + graph.nodes().get(graph.producerOf(name)).getName()
                    + ", an operator without a shape rule); add value_info for it to the model");
        }
        long[] base = info.shape();
        long[] dynamic = dynamicShape(name);
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (int i = 0; i < base.length; i++) {
            TensorShapeProto.Dimension.Builder dim = TensorShapeProto.Dimension.newBuilder();
            if (dynamic[i] == -1) {
                // ONNX Runtime plans memory as if equal names meant equal sizes: one name per tensor axis.
                dim.setDimParam(name.replaceAll("[^A-Za-z0-9]+", "_") + "_dim" + i);
            } else {
                dim.setDimValue(base[i]);
            }
            shape.addDim(dim);
        }
        DType dtype = info.dtype();
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(OnnxTypes.toOnnx(dtype).getNumber()).setShape(shape)))
                .build();
    }

    private static double round(double value) {
        return Math.round(value * 1e4) / 1e4;
    }
}
