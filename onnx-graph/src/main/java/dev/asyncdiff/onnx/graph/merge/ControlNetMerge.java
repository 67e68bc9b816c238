package dev.asyncdiff.onnx.graph.merge;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.MalformedModelException;
import dev.asyncdiff.onnx.graph.Attr;
import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import dev.asyncdiff.onnx.graph.Initializer;
import dev.asyncdiff.onnx.graph.OnnxModel;
import dev.asyncdiff.onnx.graph.OnnxWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Graph surgery for ControlNet: wires ControlNets' residuals into a UNet, so that the UNet and its ControlNets
 * become one denoiser graph the planner splits and balances like any other.
 *
 * <p>The UNet is either OnnxStack's "controlnet UNet" (inputs {@code down_block_{i}_additional_residual} and
 * {@code mid_block_additional_residual}) or a plain export: then each residual is added where diffusers adds it,
 * to the skip connection an up block concatenates and to the mid block's output. The skips are found as the
 * channel concatenations directly inside the up blocks ({@code /up_blocks.N/Concat…}), the last skip first.
 *
 * <p>ControlNet {@code j} (OnnxStack's contract: {@code sample}, {@code timestep}, {@code encoder_hidden_states}
 * [, {@code text_embeds}, {@code time_ids}], {@code controlnet_cond}, {@code conditioning_scale} → the residuals)
 * shares the UNet's inputs of the same names; its {@code controlnet_cond} becomes the merged graph's
 * {@link #condInput(int) controlnet_cond_j}, its {@code conditioning_scale} is fixed at 1, and its residual
 * {@code i} is multiplied by column {@code i} of the FP32 input {@link #scalesInput(int) controlnet_scales_j}
 * {@code [batch, residuals]}: one scale per image and residual covers the conditioning scale, guess mode's
 * logspace scales, a zero scale for the unconditional branch and steps outside the control guidance window.
 * ControlNet residuals are summed (MultiControlNet). Its nodes are named {@code /controlnetJ.<scope>/…} and
 * ordered just before the UNet's block of the same name, so a cut between blocks carries few extra tensors.
 */
public final class ControlNetMerge {
    /** Bumped whenever a change would merge a model differently; part of a merged model's cache key. */
    public static final int VERSION = 1;
    /** The UNet's and ControlNet's name of the mid block's residual. */
    public static final String MID_RESIDUAL = "mid_block_additional_residual";
    private static final Pattern DOWN_RESIDUAL = Pattern.compile("down_block_(\\d+)_additional_residual");
    private static final Pattern UP_BLOCK_CONCAT = Pattern.compile("/up_blocks\\.\\d+/Concat(_\\d+)?");
    private static final String CONTROL_IMAGE = "controlnet_cond";
    private static final String CONDITIONING_SCALE = "conditioning_scale";
    private static final int FIRST_AXES_INPUT_OPSET = 13;
    private static final int REDUCE_AXES_INPUT_OPSET = 18;

    private ControlNetMerge() {
    }

    /**
     * One ControlNet to merge.
     *
     * @param model      its graph
     * @param globalPool diffusers' {@code global_pool_conditions}: each residual is averaged over its spatial axes
     */
    public record ControlNet(OnnxModel model, boolean globalPool) {
        public ControlNet {
            if (model == null) {
                throw new IllegalArgumentException("a ControlNet to merge needs its model");
            }
        }
    }

    /** A merged model, ready to write. */
    public record Merged(ModelProto skeleton, List<Initializer> initializers) {
        /** Writes the model (and its external data when large) to {@code file}, atomically. */
        public void write(Path file) {
            OnnxWriter.write(skeleton, initializers, file, ExternalDataPolicy.AUTO);
        }
    }

    /** The merged graph's input for ControlNet {@code j}'s control image. */
    public static String condInput(int j) {
        return CONTROL_IMAGE + "_" + j;
    }

    /** The merged graph's input for ControlNet {@code j}'s scale per image and residual. */
    public static String scalesInput(int j) {
        return "controlnet_scales_" + j;
    }

    /** The name of down residual {@code i}, in a ControlNet's outputs and a controlnet UNet's inputs. */
    public static String downResidual(int i) {
        return "down_block_" + i + "_additional_residual";
    }

    /**
     * The number of residuals a ControlNet gives, mid block included (13 for SD 1.5, 10 for SDXL).
     *
     * @throws MalformedModelException when its outputs are not the down residuals {@code 0..n-1} and the mid one
     */
    public static int residualCount(OnnxModel controlNet) {
        List<String> names = controlNet.graph().getOutputList().stream().map(ValueInfoProto::getName).toList();
        int down = 0;
        while (names.contains(downResidual(down))) {
            down++;
        }
        if (down == 0 || !names.contains(MID_RESIDUAL) || names.size() != down + 1) {
            throw new MalformedModelException(controlNet.file(), "a ControlNet's outputs must be "
                    + "down_block_0_additional_residual … down_block_{n-1}_additional_residual and "
                    + MID_RESIDUAL + ", found " + names);
        }
        return down + 1;
    }

    /**
     * The UNet with {@code controlNets} computed inside it.
     *
     * @throws MalformedModelException  when a graph does not fit the contracts above (names the graph and what)
     * @throws IllegalArgumentException when no ControlNet is given
     */
    public static Merged merge(OnnxModel unet, List<ControlNet> controlNets) {
        if (controlNets == null || controlNets.isEmpty()) {
            throw new IllegalArgumentException("merging needs at least one ControlNet");
        }
        int residuals = residualCount(controlNets.get(0).model());
        for (ControlNet controlNet : controlNets) {
            int count = residualCount(controlNet.model());
            if (count != residuals) {
                throw new MalformedModelException(controlNet.model().file(), "gives " + count + " residuals, "
                        + controlNets.get(0).model().file() + " gives " + residuals + ": ControlNets merged together "
                        + "must fit the same UNet");
            }
        }
        Surgery surgery = new Surgery(unet, residuals);
        int opset = surgery.opset;
        for (ControlNet controlNet : controlNets) {
            opset = mergedOpset(opset, defaultOpset(controlNet.model()), unet, controlNet.model());
        }
        surgery.opset = opset;
        List<List<String>> scaled = new ArrayList<>();
        for (int j = 0; j < controlNets.size(); j++) {
            scaled.add(surgery.addControlNet(j, controlNets.get(j)));
        }
        for (int i = 0; i < residuals; i++) {
            String sum = scaled.get(0).get(i);
            for (int j = 1; j < controlNets.size(); j++) {
                sum = surgery.glue("Add", List.of(sum, scaled.get(j).get(i)), surgery.controlNetScope(j) + ".sum",
                        "Add_" + i);
            }
            surgery.feedResidual(i, sum);
        }
        return surgery.build(List.of());
    }

    /** Whether {@code unet} is a controlnet UNet: it takes the residuals as inputs. */
    public static boolean takesResiduals(OnnxModel unet) {
        return unet.graph().getInputList().stream().anyMatch(i -> i.getName().equals(MID_RESIDUAL));
    }

    /**
     * A plain UNet made a controlnet UNet, for a ControlNet run on its own: the inputs of {@code controlNet}'s
     * residual outputs, added where diffusers adds them.
     *
     * @throws IllegalArgumentException when {@code unet} already {@link #takesResiduals takes residuals}
     */
    public static Merged withResidualInputs(OnnxModel unet, OnnxModel controlNet) {
        if (takesResiduals(unet)) {
            throw new IllegalArgumentException(unet.file() + " already takes the ControlNet residuals as inputs");
        }
        int residuals = residualCount(controlNet);
        Surgery surgery = new Surgery(unet, residuals);
        List<ValueInfoProto> inputs = new ArrayList<>();
        for (int i = 0; i < residuals; i++) {
            String name = i < residuals - 1 ? downResidual(i) : MID_RESIDUAL;
            ValueInfoProto declared = controlNet.graph().getOutputList().stream()
                    .filter(o -> o.getName().equals(name)).findFirst().orElseThrow();
            inputs.add(declared);
            surgery.feedResidual(i, name);
        }
        return surgery.build(inputs);
    }

    /**
     * {@code controlNet} with its {@code conditioning_scale} input fixed at 1, for a ControlNet run on its own
     * whose residuals the caller scales: the scale is a double, which not every runtime binding passes.
     */
    public static Merged withUnitScale(OnnxModel controlNet) {
        residualCount(controlNet);
        GraphProto graph = controlNet.graph();
        GraphProto.Builder copy = graph.toBuilder().clearInput().clearInitializer().clearNode();
        for (ValueInfoProto input : graph.getInputList()) {
            if (input.getName().equals(CONDITIONING_SCALE)) {
                copy.addNode(NodeProto.newBuilder().setOpType("Constant").setName("/Constant_" + CONDITIONING_SCALE)
                        .addOutput(CONDITIONING_SCALE).addAttribute(Attr.tensor("value", ones(input, controlNet))));
            } else {
                copy.addInput(input);
            }
        }
        copy.addAllNode(graph.getNodeList());
        return new Merged(controlNet.proto().toBuilder().setGraph(copy).build(), controlNet.initializers());
    }

    private static int defaultOpset(OnnxModel model) {
        return model.proto().getOpsetImportList().stream()
                .filter(o -> o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx"))
                .mapToInt(o -> (int) o.getVersion()).max().orElse(0);
    }

    /** The opset of the merged graph: the newer one, where no operator the graphs use changed in between. */
    private static int mergedOpset(int a, int b, OnnxModel unet, OnnxModel controlNet) {
        boolean sameBand = (a >= REDUCE_AXES_INPUT_OPSET) == (b >= REDUCE_AXES_INPUT_OPSET)
                && a >= FIRST_AXES_INPUT_OPSET && b >= FIRST_AXES_INPUT_OPSET;
        if (!sameBand) {
            throw new MalformedModelException(controlNet.file(), "uses ONNX opset " + b + " and the UNet "
                    + unet.file() + " opset " + a + "; graphs merge when both are in 13..17 or both at 18 or later "
                    + "(operators changed their inputs at 13 and 18): export them at one opset");
        }
        return Math.max(a, b);
    }

    /** The state of one merge: the UNet's nodes, the ControlNets' and the glue, with their ordering keys. */
    private static final class Surgery {
        private final OnnxModel unet;
        private final GraphProto graph;
        private final int residuals;
        private final boolean hasResidualInputs;
        private final List<NodeProto> nodes = new ArrayList<>();
        private final List<Double> keys = new ArrayList<>();
        private final Map<String, Integer> producer = new HashMap<>();
        private final Map<String, Integer> firstNodeOfScope = new HashMap<>();
        private final Map<String, ValueInfoProto> unetInputs = new LinkedHashMap<>();
        private final List<ValueInfoProto> addedInputs = new ArrayList<>();
        private final List<Initializer> initializers = new ArrayList<>();
        private final List<OperatorSetIdProto> otherDomains = new ArrayList<>();
        /** The skip concatenation consuming down residual i, the last skip first in the graph. */
        private final List<Integer> skipConcats = new ArrayList<>();
        private String midOutput;
        private long irVersion;
        private int opset;
        private int glueCount;

        Surgery(OnnxModel unet, int residuals) {
            this.unet = unet;
            this.graph = unet.graph();
            this.residuals = residuals;
            this.irVersion = unet.proto().getIrVersion();
            this.opset = defaultOpset(unet);
            unet.proto().getOpsetImportList().stream().filter(o -> !o.getDomain().isEmpty()
                    && !o.getDomain().equals("ai.onnx")).forEach(otherDomains::add);
            graph.getInputList().forEach(i -> unetInputs.put(i.getName(), i));
            initializers.addAll(unet.initializers());
            for (NodeProto node : graph.getNodeList()) {
                requireNoSubgraphs(node, unet);
                add(node, nodes.size());
                String scope = firstScope(node.getName());
                if (!scope.isEmpty()) {
                    firstNodeOfScope.putIfAbsent(scope, nodes.size() - 1);
                }
            }
            this.hasResidualInputs = unetInputs.containsKey(MID_RESIDUAL);
            if (hasResidualInputs) {
                for (int i = 0; i < residuals - 1; i++) {
                    if (!unetInputs.containsKey(downResidual(i))) {
                        throw new MalformedModelException(unet.file(), "has the input " + MID_RESIDUAL + " but not "
                                + downResidual(i) + ": the ControlNet gives " + (residuals - 1) + " down residuals");
                    }
                }
                int declared = (int) unetInputs.keySet().stream().filter(n -> DOWN_RESIDUAL.matcher(n).matches()).count();
                if (declared != residuals - 1) {
                    throw new MalformedModelException(unet.file(), "takes " + declared + " down residuals, the "
                            + "ControlNet gives " + (residuals - 1));
                }
            } else {
                findSkips();
            }
        }

        private void findSkips() {
            for (int n = 0; n < nodes.size(); n++) {
                NodeProto node = nodes.get(n);
                if (node.getOpType().equals("Concat") && UP_BLOCK_CONCAT.matcher(node.getName()).matches()
                        && node.getInputCount() == 2 && axis(node) == 1) {
                    skipConcats.add(n);
                }
            }
            if (skipConcats.size() != residuals - 1) {
                throw new MalformedModelException(unet.file(), "its up blocks concatenate " + skipConcats.size()
                        + " skip connections (nodes /up_blocks.N/Concat…), the ControlNet gives " + (residuals - 1)
                        + " down residuals: not the UNet this ControlNet was trained for, or not a diffusers export");
            }
            String first = nodes.get(skipConcats.get(0)).getInput(0);
            Integer from = producer.get(first);
            if (from == null || !firstScope(nodes.get(from).getName()).equals("mid_block")) {
                throw new MalformedModelException(unet.file(), "the first up block's concatenation does not take the "
                        + "mid block's output (it takes '" + first + "'); cannot place the mid block's residual");
            }
            midOutput = first;
        }

        private static int axis(NodeProto node) {
            return node.getAttributeList().stream().filter(a -> a.getName().equals("axis"))
                    .mapToInt(a -> (int) a.getI()).findFirst().orElse(0);
        }

        /** Adds ControlNet j's nodes and weights; returns its scaled residuals, mid block last. */
        List<String> addControlNet(int j, ControlNet controlNet) {
            OnnxModel model = controlNet.model();
            GraphProto cn = model.graph();
            irVersion = Math.max(irVersion, model.proto().getIrVersion());
            String scope = controlNetScope(j);
            String prefix = scope + "/";
            Map<String, String> renamed = new HashMap<>();
            for (ValueInfoProto input : cn.getInputList()) {
                String name = input.getName();
                if (name.equals(CONTROL_IMAGE)) {
                    addedInputs.add(input.toBuilder().setName(condInput(j)).build());
                    renamed.put(name, condInput(j));
                } else if (name.equals(CONDITIONING_SCALE)) {
                    renamed.put(name, glueNamed("Constant", List.of(), scope, "Constant_" + CONDITIONING_SCALE,
                            prefix + CONDITIONING_SCALE, Attr.tensor("value", ones(castOnly(input, cn), model))));
                } else {
                    renamed.put(name, shared(j, input, model));
                }
            }
            for (TensorProto tensor : cn.getInitializerList()) {
                if (renamed.containsKey(tensor.getName())) {
                    continue;
                }
                renamed.put(tensor.getName(), prefix + tensor.getName());
                Initializer weight = model.initializer(tensor);
                initializers.add(new Initializer(prefix + tensor.getName(), weight.dtype(), weight.shape(),
                        weight::bytes));
            }
            for (NodeProto node : cn.getNodeList()) {
                requireNoSubgraphs(node, model);
                NodeProto.Builder copy = node.toBuilder().setName(renameNode(scope, node.getName())).clearInput()
                        .clearOutput();
                for (String input : node.getInputList()) {
                    copy.addInput(input.isEmpty() ? "" : renamed.computeIfAbsent(input, v -> prefix + v));
                }
                for (String output : node.getOutputList()) {
                    copy.addOutput(output.isEmpty() ? "" : renamed.computeIfAbsent(output, v -> prefix + v));
                }
                Integer anchor = firstNodeOfScope.get(firstScope(node.getName()));
                add(copy.build(), anchor != null ? anchor - 0.5 : null);
            }
            String scales = scalesInput(j);
            addedInputs.add(ValueInfoProto.newBuilder().setName(scales).setType(TypeProto.newBuilder()
                    .setTensorType(TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE)
                            .setShape(TensorShapeProto.newBuilder()
                                    .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("batch"))
                                    .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(residuals))))).build());
            List<String> out = new ArrayList<>(residuals);
            for (int i = 0; i < residuals; i++) {
                String name = i < residuals - 1 ? downResidual(i) : MID_RESIDUAL;
                ValueInfoProto output = cn.getOutputList().stream().filter(o -> o.getName().equals(name)).findFirst()
                        .orElseThrow();
                String residual = renamed.get(name);
                if (residual == null) {
                    throw new MalformedModelException(model.file(), "no node computes the output " + name);
                }
                String scaleScope = scope + ".scale";
                if (controlNet.globalPool()) {
                    residual = opset >= REDUCE_AXES_INPUT_OPSET
                            ? glue("ReduceMean", List.of(residual, longs(scaleScope, "spatial_axes", 2, 3)), scaleScope,
                                    "ReduceMean_" + i, Attr.i("keepdims", 1))
                            : glue("ReduceMean", List.of(residual), scaleScope, "ReduceMean_" + i, Attr.ints("axes", 2, 3),
                                    Attr.i("keepdims", 1));
                }
                String column = glue("Slice", List.of(scales, longs(scaleScope, "start_" + i, i),
                        longs(scaleScope, "end_" + i, i + 1), longs(scaleScope, "scale_axis", 1)), scaleScope, "Slice_" + i);
                String scale = glue("Unsqueeze", List.of(column, longs(scaleScope, "image_axes", 2, 3)), scaleScope,
                        "Unsqueeze_" + i);
                int dtype = output.getType().getTensorType().getElemType();
                if (dtype != TensorProto.DataType.FLOAT_VALUE) {
                    scale = glue("Cast", List.of(scale), scaleScope, "Cast_" + i, Attr.i("to", dtype));
                }
                out.add(glue("Mul", List.of(residual, scale), scaleScope, "Mul_" + i));
            }
            return out;
        }

        String controlNetScope(int j) {
            return "controlnet" + j;
        }

        /** The UNet input ControlNet j's input {@code input} reads, cast to the ControlNet's dtype if it differs. */
        private String shared(int j, ValueInfoProto input, OnnxModel model) {
            ValueInfoProto own = unetInputs.get(input.getName());
            if (own == null) {
                throw new MalformedModelException(model.file(), "takes the input '" + input.getName() + "', which the "
                        + "UNet " + unet.file() + " does not have (it has " + unetInputs.keySet() + "); a ControlNet "
                        + "takes the UNet's inputs plus controlnet_cond and conditioning_scale");
            }
            TypeProto.Tensor mine = input.getType().getTensorType();
            TypeProto.Tensor theirs = own.getType().getTensorType();
            int myRank = mine.getShape().getDimCount();
            int theirRank = theirs.getShape().getDimCount();
            String value = input.getName();
            String scope = controlNetScope(j);
            if (myRank != theirRank) {
                // a timestep: a scalar against [1] or [batch] (every entry the same timestep)
                if (myRank == 0 && theirRank == 1) {
                    value = glue("Gather", List.of(value, longScalar(scope, "first")), scope, "Gather_" + value,
                            Attr.i("axis", 0));
                } else if (myRank == 1 && theirRank == 0) {
                    value = glue("Unsqueeze", List.of(value, longs(scope, "axis_0", 0)), scope, "Unsqueeze_" + value);
                } else {
                    throw new MalformedModelException(model.file(), "declares '" + input.getName() + "' with rank "
                            + myRank + ", the UNet " + unet.file() + " with rank " + theirRank
                            + "; export both with the same input ranks");
                }
            }
            if (mine.getElemType() == theirs.getElemType()) {
                return value;
            }
            return glue("Cast", List.of(value), scope, "Cast_" + input.getName(), Attr.i("to", mine.getElemType()));
        }

        private String longScalar(String scope, String name) {
            String full = scope + "/" + name;
            if (initializers.stream().noneMatch(i -> i.name().equals(full))) {
                byte[] data = new byte[Long.BYTES];
                initializers.add(new Initializer(full, DType.INT64, new long[0],
                        () -> ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN)));
            }
            return full;
        }

        /** Routes {@code value} to where residual i goes: the controlnet UNet's input, or added to a skip (mid last). */
        void feedResidual(int i, String value) {
            if (hasResidualInputs) {
                String name = i < residuals - 1 ? downResidual(i) : MID_RESIDUAL;
                unetInputs.remove(name);
                glueNamed("Identity", List.of(value), controlNetScope(0) + ".sum", "Identity_" + i, name);
                return;
            }
            if (i == residuals - 1) {
                String sum = glue("Add", List.of(midOutput, value), "mid_block", "ControlNetResidual_Add");
                for (int n = 0; n < nodes.size(); n++) {
                    NodeProto node = nodes.get(n);
                    if (node.getInputList().contains(midOutput) && !node.getOutputList().contains(sum)) {
                        nodes.set(n, rewire(node, midOutput, sum));
                    }
                }
                return;
            }
            int concat = skipConcats.get(residuals - 2 - i);
            String skip = nodes.get(concat).getInput(1);
            Integer from = producer.get(skip);
            String scope = from == null ? "" : scopePath(nodes.get(from).getName());
            String sum = glue("Add", List.of(skip, value), scope, "ControlNetResidual_Add_" + i);
            nodes.set(concat, nodes.get(concat).toBuilder().setInput(1, sum).build());
        }

        private static NodeProto rewire(NodeProto node, String from, String to) {
            NodeProto.Builder copy = node.toBuilder();
            for (int k = 0; k < copy.getInputCount(); k++) {
                if (copy.getInput(k).equals(from)) {
                    copy.setInput(k, to);
                }
            }
            return copy.build();
        }

        String glue(String op, List<String> inputs, String scope, String name, AttributeProto... attributes) {
            return glueNamed(op, inputs, scope, name, scope + "/" + name + "_output_" + glueCount++, attributes);
        }

        private String glueNamed(String op, List<String> inputs, String scope, String name, String output,
                                 AttributeProto... attributes) {
            NodeProto.Builder node = NodeProto.newBuilder().setOpType(op).setName("/" + scope + "/" + name)
                    .addAllInput(inputs).addOutput(output);
            for (AttributeProto attribute : attributes) {
                node.addAttribute(attribute);
            }
            add(node.build(), null);
            return output;
        }

        private String longs(String scope, String name, long... values) {
            String full = scope + "/" + name;
            if (initializers.stream().noneMatch(i -> i.name().equals(full))) {
                ByteBuffer bytes = ByteBuffer.allocate(values.length * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
                for (long v : values) {
                    bytes.putLong(v);
                }
                byte[] data = bytes.array();
                initializers.add(new Initializer(full, DType.INT64, new long[] {values.length},
                        () -> ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN)));
            }
            return full;
        }

        /** Adds a node with an ordering key: {@code key}, or after the latest of its inputs' producers. */
        private void add(NodeProto node, Number key) {
            double order = key != null ? key.doubleValue() : -1;
            if (key == null) {
                for (String input : node.getInputList()) {
                    Integer from = producer.get(input);
                    if (from != null) {
                        order = Math.max(order, keys.get(from));
                    }
                }
            }
            for (String output : node.getOutputList()) {
                producer.put(output, nodes.size());
            }
            nodes.add(node);
            keys.add(order);
        }

        /** The merged model: the nodes in a topological order by key, the UNet's outputs, merged inputs. */
        Merged build(List<ValueInfoProto> residualInputs) {
            GraphProto.Builder merged = graph.toBuilder().clearNode().clearInitializer().clearInput().clearValueInfo();
            merged.addAllInput(unetInputs.values()).addAllInput(residualInputs).addAllInput(addedInputs);
            merged.addAllNode(topological());
            ModelProto.Builder model = unet.proto().toBuilder().setGraph(merged).setIrVersion(irVersion)
                    .clearOpsetImport().addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset))
                    .addAllOpsetImport(otherDomains);
            return new Merged(model.build(), List.copyOf(initializers));
        }

        private List<NodeProto> topological() {
            int n = nodes.size();
            int[] missing = new int[n];
            Map<Integer, List<Integer>> consumers = new HashMap<>();
            for (int c = 0; c < n; c++) {
                for (String input : Set.copyOf(nodes.get(c).getInputList())) {
                    Integer from = producer.get(input);
                    if (from != null) {
                        missing[c]++;
                        consumers.computeIfAbsent(from, k -> new ArrayList<>()).add(c);
                    }
                }
            }
            PriorityQueue<Integer> ready = new PriorityQueue<>((a, b) -> {
                int byKey = Double.compare(keys.get(a), keys.get(b));
                return byKey != 0 ? byKey : Integer.compare(a, b);
            });
            for (int c = 0; c < n; c++) {
                if (missing[c] == 0) {
                    ready.add(c);
                }
            }
            List<NodeProto> order = new ArrayList<>(n);
            while (!ready.isEmpty()) {
                int next = ready.poll();
                order.add(nodes.get(next));
                for (int c : consumers.getOrDefault(next, List.of())) {
                    if (--missing[c] == 0) {
                        ready.add(c);
                    }
                }
            }
            if (order.size() != n) {
                throw new MalformedModelException(unet.file(), "the merged graph has a cycle; the UNet or a "
                        + "ControlNet is not a valid ONNX graph");
            }
            return order;
        }

        private static void requireNoSubgraphs(NodeProto node, OnnxModel model) {
            for (AttributeProto attribute : node.getAttributeList()) {
                if (attribute.hasG() || attribute.getGraphsCount() > 0) {
                    throw new MalformedModelException(model.file(), "node " + node.getName() + " (" + node.getOpType()
                            + ") holds a subgraph; graphs with control flow cannot be merged");
                }
            }
        }
    }

    /**
     * {@code input} declared as float where every consumer casts it (as a torch export of a Python float does), so
     * that the constant replacing it has a type the planner's shape inference knows; else {@code input}.
     */
    private static ValueInfoProto castOnly(ValueInfoProto input, GraphProto graph) {
        boolean casts = graph.getNodeList().stream().filter(n -> n.getInputList().contains(input.getName()))
                .allMatch(n -> n.getOpType().equals("Cast"));
        if (!casts) {
            return input;
        }
        ValueInfoProto.Builder copy = input.toBuilder();
        copy.getTypeBuilder().getTensorTypeBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE);
        return copy.build();
    }

    /**
     * A tensor of ones with {@code input}'s element type and shape (a dynamic axis taken as 1); a double input (as
     * OnnxStack exports {@code conditioning_scale}) is allowed, which {@link DType} does not model.
     */
    private static TensorProto ones(ValueInfoProto input, OnnxModel model) {
        TypeProto.Tensor type = input.getType().getTensorType();
        TensorProto.Builder tensor = TensorProto.newBuilder().setDataType(type.getElemType());
        long count = 1;
        for (TensorShapeProto.Dimension dim : type.getShape().getDimList()) {
            long size = dim.hasDimValue() && dim.getDimValue() > 0 ? dim.getDimValue() : 1;
            tensor.addDims(size);
            count *= size;
        }
        int width = switch (type.getElemType()) {
            case TensorProto.DataType.DOUBLE_VALUE -> Double.BYTES;
            case TensorProto.DataType.FLOAT_VALUE -> Float.BYTES;
            case TensorProto.DataType.FLOAT16_VALUE -> Short.BYTES;
            default -> throw new MalformedModelException(model.file(), "declares " + CONDITIONING_SCALE
                    + " with ONNX element type " + type.getElemType() + "; expected double, float or float16");
        };
        ByteBuffer bytes = ByteBuffer.allocate((int) (count * width)).order(ByteOrder.LITTLE_ENDIAN);
        for (long k = 0; k < count; k++) {
            switch (width) {
                case Double.BYTES -> bytes.putDouble(1.0);
                case Float.BYTES -> bytes.putFloat(1f);
                default -> bytes.putShort((short) 0x3C00);
            }
        }
        return tensor.setRawData(ByteString.copyFrom(bytes.array())).build();
    }

    /** The first scope of a torch-export node name ({@code /down_blocks.0/resnets.0/Conv} → {@code down_blocks.0}). */
    static String firstScope(String nodeName) {
        String[] parts = nodeName.split("/");
        return parts.length > 2 ? parts[1] : "";
    }

    private static String scopePath(String nodeName) {
        int last = nodeName.lastIndexOf('/');
        return last > 0 ? nodeName.substring(1, last) : "";
    }

    /** ControlNet j's name for a node: {@code /controlnetJ.<first scope>/…}, or {@code /controlnetJ/<name>}. */
    private static String renameNode(String scope, String name) {
        Matcher scoped = Pattern.compile("/([^/]+)/(.+)").matcher(name);
        if (scoped.matches()) {
            return "/" + scope + "." + scoped.group(1) + "/" + scoped.group(2);
        }
        return "/" + scope + "/" + (name.startsWith("/") ? name.substring(1) : name);
    }
}
