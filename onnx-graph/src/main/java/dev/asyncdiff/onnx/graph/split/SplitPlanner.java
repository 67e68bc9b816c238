package dev.asyncdiff.onnx.graph.split;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.OnnxTypes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides where to cut a denoiser. Nodes whose data depends on the latent input form the latent
 * path; they are grouped into units by the block names of a torch export, and the unit sequence is
 * cut into N parts that minimise the slowest part's estimated <em>time</em>: its compute (the FLOP
 * and byte estimate at a device rate, or measured unit times) plus the time to receive and send the
 * tensors that cross its cuts over the {@link Link}. Everything else (timestep embedding, text
 * projections, shape arithmetic) depends only on conditioning inputs and is copied into each
 * component that needs it.
 *
 * <p>Cuts fall at block boundaries — between resnets, attentions, transformer blocks, samplers and
 * the top-level blocks — unless no such plan comes within {@value #TARGET_IMBALANCE}× of an even
 * split and a finer cut (inside an attention or a transformer block) makes the slowest component at
 * least {@value #FINE_CUT_GAIN_PERCENT} % faster, traffic included.
 */
final class SplitPlanner {
    /** Bumped whenever a change would cut a model differently; part of the cache key. */
    static final int VERSION = 3;
    static final double TARGET_IMBALANCE = 1.10;
    static final int FINE_CUT_GAIN_PERCENT = 5;
    private static final Logger LOG = LoggerFactory.getLogger(SplitPlanner.class);
    private static final Set<String> LATENT_INPUT_NAMES = Set.of("sample", "hidden_states");
    private static final Pattern INDEXED = Pattern.compile(".+\\.\\d+");
    /**
     * diffusers' attention modules ({@code attn}, {@code attn1}, {@code attn2}): a unit never reaches
     * inside one, so no cut sends queries, keys and values separately.
     */
    private static final Pattern ATTENTION = Pattern.compile("attn\\d*");
    private static final Set<String> SHAPE_ONLY_OPS = Set.of("Shape", "Size");
    private static final int BATCH_A = 1;
    private static final int BATCH_B = 2;

    /**
     * A run of consecutive latent nodes cut as one piece.
     *
     * @param cost     the FLOP-and-byte estimate of its nodes
     * @param seconds  its compute time on the target (estimated, or measured)
     * @param blockCut whether a cut right before it falls on a block boundary
     */
    record Unit(String key, int depth, List<Integer> nodes, double cost, double seconds, boolean blockCut) {
        Unit withSeconds(double value) {
            return new Unit(key, depth, nodes, cost, value, blockCut);
        }

        Unit withBlockCut(boolean value) {
            return new Unit(key, depth, nodes, cost, seconds, value);
        }
    }

    /** What the planner knows about a graph before it cuts: bound shapes, latent nodes, node costs. */
    record Analysis(GraphIndex graph, Set<String> latentInputs, Map<String, ValueInfo> infos,
                    List<Map<String, ValueInfo>> variations, Set<Integer> latentNodes, double[] cost,
                    List<Integer> order, double flopsPerSecond) {
    }

    /**
     * The decided cut: units per component, with the inferred value infos and their variations, and
     * how the time per step was estimated.
     */
    record Plan(Analysis analysis, List<List<Unit>> components, SplitOptions options) {
        GraphIndex graph() {
            return analysis.graph();
        }

        Set<String> latentInputs() {
            return analysis.latentInputs();
        }

        Set<Integer> latentNodes() {
            return analysis.latentNodes();
        }

        Map<String, ValueInfo> infos() {
            return analysis.infos();
        }

        List<Map<String, ValueInfo>> variations() {
            return analysis.variations();
        }

        /** A component's compute seconds per step at batch 1. */
        double computeSeconds(int component) {
            return components.get(component).stream().mapToDouble(Unit::seconds).sum();
        }

        /** A component's compute time as a share of the whole latent path's. */
        double costShare(int component) {
            double total = 0;
            for (int c = 0; c < components.size(); c++) {
                total += computeSeconds(c);
            }
            return total == 0 ? 1.0 / components.size() : computeSeconds(component) / total;
        }

        /** Whether a cut right before component {@code c} falls on a block boundary. */
        boolean blockCut(int component) {
            return components.get(component).get(0).blockCut();
        }
    }

    private SplitPlanner() {
    }

    /** Binds the inputs, infers shapes, finds the latent path and estimates each node's cost. */
    static Analysis analyse(GraphIndex graph, int latentHeight, int latentWidth, SplitOptions options) {
        Set<String> latentInputs = latentInputs(graph);
        Map<String, ValueInfo> infos = ShapeInference.infer(graph,
                bindInputs(graph, latentInputs, BATCH_A, latentHeight, latentWidth, options, 1));
        // Three more inferences — at another batch, at twice the latent size, and at twice every other
        // dynamic axis of the conditioning inputs (a text length) — tell which dimensions of the tensors
        // crossing a cut are dynamic: components then run any batch, image size and text length.
        List<Map<String, ValueInfo>> variations = List.of(
                ShapeInference.infer(graph, bindInputs(graph, latentInputs, BATCH_B, latentHeight, latentWidth, options,
                        1)),
                ShapeInference.infer(graph, bindInputs(graph, latentInputs, BATCH_A, 2 * latentHeight,
                        2 * latentWidth, options, 1)),
                ShapeInference.infer(graph, bindInputs(graph, latentInputs, BATCH_A, latentHeight, latentWidth, options,
                        2)));
        Set<Integer> latentNodes = latentNodes(graph, latentInputs);
        if (latentNodes.isEmpty()) {
            throw new IllegalArgumentException("model " + graph.model().file() + ": no node computes on the latent input "
                    + latentInputs + "; nothing to split");
        }
        double[] cost = new double[graph.nodes().size()];
        for (int i : latentNodes) {
            cost[i] = CostModel.cost(graph.nodes().get(i), infos);
        }
        return new Analysis(graph, latentInputs, infos, variations, latentNodes, cost,
                new ArrayList<>(new TreeSet<>(latentNodes)), options.flopsPerSecond());
    }

    static Plan plan(GraphIndex graph, int parts, int latentHeight, int latentWidth, SplitOptions options) {
        if (parts < 1) {
            throw new IllegalArgumentException("parts must be >= 1, was " + parts);
        }
        Analysis analysis = analyse(graph, latentHeight, latentWidth, options);
        List<Unit> blocks = measured(blockUnits(analysis), options.measured(), graph);
        double total = blocks.stream().mapToDouble(Unit::seconds).sum();
        double target = TARGET_IMBALANCE * total / parts;
        List<List<Unit>> best = null;
        double bestTime = Double.POSITIVE_INFINITY;
        if (parts <= blocks.size()) {
            best = partition(analysis, blocks, parts, options.link());
            bestTime = slowest(analysis, best, options.link());
        }
        if (bestTime > target) {
            List<Unit> units = blocks;
            List<List<Unit>> fine = null;
            double fineTime = Double.POSITIVE_INFINITY;
            for (int round = 0; round < 500; round++) {
                List<Unit> refined = refineLargest(analysis, units);
                if (refined == null) {
                    break;
                }
                units = refined;
                if (parts <= units.size()) {
                    List<List<Unit>> candidate = partition(analysis, units, parts, options.link());
                    double time = slowest(analysis, candidate, options.link());
                    if (time < fineTime) {
                        fine = candidate;
                        fineTime = time;
                    }
                    if (fineTime <= target) {
                        break;
                    }
                }
            }
            if (fine != null && (best == null || fineTime < (1 - FINE_CUT_GAIN_PERCENT / 100.0) * bestTime)) {
                LOG.debug("cutting inside blocks: slowest component {} s instead of {} s at block boundaries",
                        fineTime, bestTime);
                best = fine;
            }
        }
        if (best == null) {
            throw new IllegalArgumentException("cannot split " + graph.model().file().getFileName() + " into " + parts
                    + " components: its latent path has only " + blocks.size() + " units ("
                    + String.join(", ", blocks.stream().map(Unit::key).toList()) + ")");
        }
        return new Plan(analysis, best, options);
    }

    /** One component per block-level unit: what {@link Calibrator} times. */
    static Plan perUnit(GraphIndex graph, int latentHeight, int latentWidth, SplitOptions options) {
        Analysis analysis = analyse(graph, latentHeight, latentWidth, options);
        List<List<Unit>> components = new ArrayList<>();
        for (Unit unit : blockUnits(analysis)) {
            components.add(List.of(unit));
        }
        return new Plan(analysis, components, options);
    }

    /** The block-level units with their measured seconds, when {@code costs} has them. */
    private static List<Unit> measured(List<Unit> units, UnitCosts costs, GraphIndex graph) {
        if (costs == null) {
            return units;
        }
        List<Unit> out = new ArrayList<>(units.size());
        for (Unit unit : units) {
            Double seconds = costs.secondsPerUnit().get(unit.key());
            if (seconds == null) {
                throw new IllegalArgumentException("the measured unit costs (" + costs.target() + ") do not fit "
                        + graph.model().file() + ": they have no unit '" + unit.key() + "'; calibrate again");
            }
            out.add(unit.withSeconds(seconds));
        }
        return out;
    }

    private static Set<String> latentInputs(GraphIndex graph) {
        Set<String> found = new LinkedHashSet<>();
        for (String name : graph.inputs().keySet()) {
            if (LATENT_INPUT_NAMES.contains(name)) {
                found.add(name);
            }
        }
        if (found.isEmpty()) {
            throw new IllegalArgumentException("model " + graph.model().file() + " has no latent input; expected an input "
                    + "named 'sample' (UNet) or 'hidden_states' (transformer), found " + graph.inputs().keySet());
        }
        return found;
    }

    /**
     * Concrete shapes for every input: fixed dimensions as declared, axis 0 the batch, the latent
     * input's last two axes the latent size, any other dynamic axis from {@code options} (times
     * {@code conditioningScale} for the conditioning inputs).
     *
     * @throws IllegalArgumentException naming the input and axis when a dynamic axis is bound by nothing
     */
    private static Map<String, ValueInfo> bindInputs(GraphIndex graph, Set<String> latentInputs, int batch,
                                                     int latentHeight, int latentWidth, SplitOptions options,
                                                     int conditioningScale) {
        Map<String, ValueInfo> bound = new HashMap<>();
        Map<String, long[]> given = options.inputShapes();
        for (ValueInfoProto input : graph.inputs().values()) {
            DType dtype = OnnxTypes.fromOnnx(input.getType().getTensorType().getElemType());
            List<TensorShapeProto.Dimension> dims = input.getType().getTensorType().getShape().getDimList();
            long[] shape = new long[dims.size()];
            long[] binding = given.get(input.getName());
            if (binding != null && binding.length != shape.length) {
                throw new IllegalArgumentException("input '" + input.getName() + "' of " + graph.model().file()
                        + " has rank " + shape.length + ", but its shape was given as " + Arrays.toString(binding));
            }
            boolean latent = latentInputs.contains(input.getName());
            for (int i = 0; i < shape.length; i++) {
                TensorShapeProto.Dimension dim = dims.get(i);
                if (dim.hasDimValue() && dim.getDimValue() > 0) {
                    shape[i] = dim.getDimValue();
                    if (binding != null && i > 0 && binding[i] != shape[i] && !(latent && i >= shape.length - 2)) {
                        throw new IllegalArgumentException("input '" + input.getName() + "' of " + graph.model().file()
                                + " declares axis " + i + " as " + shape[i] + ", but its shape was given as "
                                + Arrays.toString(binding));
                    }
                } else if (i == 0) {
                    shape[i] = batch;
                } else if (latent && i == shape.length - 2) {
                    shape[i] = latentHeight;
                } else if (latent && i == shape.length - 1) {
                    shape[i] = latentWidth;
                } else if (binding != null) {
                    shape[i] = latent ? binding[i] : binding[i] * conditioningScale;
                } else {
                    String symbol = dim.getDimParam().isEmpty() ? "" : " ('" + dim.getDimParam() + "')";
                    throw new IllegalArgumentException("input '" + input.getName() + "' of " + graph.model().file()
                            + " has a dynamic axis " + i + symbol + " that nothing binds: give the input's shape at "
                            + "batch 1 (the model folder's config.json and tokenizer say it; on the command line "
                            + "--input-shape " + input.getName() + "=1,…)");
                }
            }
            bound.put(input.getName(), ValueInfo.of(dtype, shape));
        }
        return bound;
    }

    /** Nodes whose data (not merely shape) depends on a latent input. */
    private static Set<Integer> latentNodes(GraphIndex graph, Set<String> latentInputs) {
        Set<String> latentValues = new HashSet<>(latentInputs);
        Set<Integer> nodes = new HashSet<>();
        List<NodeProto> all = graph.nodes();
        for (int i = 0; i < all.size(); i++) {
            NodeProto node = all.get(i);
            if (SHAPE_ONLY_OPS.contains(node.getOpType())) {
                continue;
            }
            boolean latent = node.getInputList().stream().anyMatch(latentValues::contains);
            if (latent) {
                nodes.add(i);
                latentValues.addAll(node.getOutputList());
            }
        }
        return nodes;
    }

    static List<String> scopes(NodeProto node) {
        String[] parts = node.getName().split("/");
        List<String> scopes = new ArrayList<>();
        for (int i = 0; i < parts.length - 1; i++) {
            if (!parts[i].isEmpty()) {
                scopes.add(parts[i]);
            }
        }
        return scopes;
    }

    private static boolean hasBlockNames(GraphIndex graph, List<Integer> order) {
        long scoped = order.stream().filter(i -> !scopes(graph.nodes().get(i)).isEmpty()).count();
        return scoped * 2 > order.size();
    }

    /** The unit key of a node at {@code depth}: its first scopes, one more where the next one is indexed, never past an attention module. */
    private static String key(NodeProto node, int depth) {
        List<String> scopes = scopes(node);
        int take = Math.min(depth, scopes.size());
        if (take == depth && scopes.size() > depth && INDEXED.matcher(scopes.get(depth)).matches()) {
            take++;
        }
        for (int i = 0; i < take; i++) {
            if (ATTENTION.matcher(scopes.get(i)).matches()) {
                take = i + 1;
            }
        }
        return String.join("/", scopes.subList(0, take));
    }

    /**
     * Groups consecutive nodes with the same key into units; nodes whose key is a parent of the next
     * unit's key (glue such as a skip concatenation) join that next unit.
     */
    private static List<Unit> runs(Analysis analysis, List<Integer> nodes, int depth) {
        GraphIndex graph = analysis.graph();
        List<String> keys = new ArrayList<>();
        List<List<Integer>> groups = new ArrayList<>();
        for (int index : nodes) {
            String key = key(graph.nodes().get(index), depth);
            if (!keys.isEmpty() && keys.get(keys.size() - 1).equals(key)) {
                groups.get(groups.size() - 1).add(index);
            } else {
                keys.add(key);
                groups.add(new ArrayList<>(List.of(index)));
            }
        }
        List<Unit> units = new ArrayList<>();
        List<Integer> glue = new ArrayList<>();
        for (int g = 0; g < groups.size(); g++) {
            String key = keys.get(g);
            boolean isGlue = g + 1 < groups.size() && isParent(key, keys.get(g + 1));
            glue.addAll(groups.get(g));
            if (!isGlue) {
                units.add(unit(key, depth, glue, analysis.cost(), analysis.flopsPerSecond()));
                glue = new ArrayList<>();
            }
        }
        if (!glue.isEmpty()) {
            units.add(unit(keys.get(keys.size() - 1), depth, glue, analysis.cost(),
                    analysis.flopsPerSecond()));
        }
        return units;
    }

    private static boolean isParent(String key, String next) {
        return key.isEmpty() || next.startsWith(key + "/");
    }

    private static Unit unit(String key, int depth, List<Integer> nodes, double[] cost, double flopsPerSecond) {
        double total = 0;
        for (int index : nodes) {
            total += cost[index];
        }
        return new Unit(key.isEmpty() ? "(top level)" : key, depth, List.copyOf(nodes), total, total / flopsPerSecond,
                true);
    }

    /**
     * Units for a graph without block names: cut only where few latent tensors are live, i.e. where
     * the fewest values produced so far are still needed later.
     */
    private static List<Unit> lowLivenessUnits(Analysis analysis) {
        GraphIndex graph = analysis.graph();
        List<Integer> order = analysis.order();
        Set<Integer> latentNodes = analysis.latentNodes();
        int n = order.size();
        int[] live = new int[n + 1];
        Map<Integer, Integer> position = new HashMap<>();
        for (int p = 0; p < n; p++) {
            position.put(order.get(p), p);
        }
        for (int p = 0; p < n; p++) {
            for (String output : graph.nodes().get(order.get(p)).getOutputList()) {
                int lastUse = p;
                for (int consumer : graph.consumersOf(output)) {
                    if (latentNodes.contains(consumer)) {
                        lastUse = Math.max(lastUse, position.get(consumer));
                    }
                }
                for (int boundary = p + 1; boundary <= lastUse; boundary++) {
                    live[boundary]++;
                }
            }
        }
        int fewest = Integer.MAX_VALUE;
        for (int boundary = 1; boundary < n; boundary++) {
            fewest = Math.min(fewest, live[boundary]);
        }
        List<Unit> units = new ArrayList<>();
        List<Integer> current = new ArrayList<>();
        for (int p = 0; p < n; p++) {
            if (p > 0 && live[p] <= fewest + 1) {
                units.add(unit("nodes " + graph.nodes().get(current.get(0)).getName() + "…", 0, current, analysis.cost(),
                        analysis.flopsPerSecond()));
                current = new ArrayList<>();
            }
            current.add(order.get(p));
        }
        units.add(unit("nodes " + graph.nodes().get(current.get(0)).getName() + "…", 0, current, analysis.cost(),
                        analysis.flopsPerSecond()));
        return units;
    }

    /**
     * The units the planner cuts between by default: the top-level blocks refined into their resnets,
     * attentions, transformer blocks and samplers, every boundary a block boundary. Where a block
     * also holds pieces that are not blocks of their own (an attention's norm and projections), those
     * stay with the neighbouring block so no cut separates them.
     */
    static List<Unit> blockUnits(Analysis analysis) {
        if (!hasBlockNames(analysis.graph(), analysis.order())) {
            return lowLivenessUnits(analysis);
        }
        List<Unit> out = new ArrayList<>();
        for (Unit top : runs(analysis, analysis.order(), 1)) {
            out.addAll(blockLevel(analysis, top, true));
        }
        return out;
    }

    private static List<Unit> blockLevel(Analysis analysis, Unit unit, boolean isBlock) {
        List<Unit> children = isBlock ? finer(analysis, unit) : List.of();
        if (children.size() < 2) {
            return List.of(unit);
        }
        List<Unit> out = new ArrayList<>();
        boolean previousIsBlock = false;
        for (int i = 0; i < children.size(); i++) {
            Unit child = children.get(i);
            boolean childIsBlock = isChildBlock(unit, child);
            List<Unit> parts = new ArrayList<>(blockLevel(analysis, child, childIsBlock));
            if (i > 0 && !(previousIsBlock && childIsBlock)) {
                parts.set(0, merge(out.remove(out.size() - 1), parts.get(0), childIsBlock && !previousIsBlock));
            }
            out.addAll(parts);
            previousIsBlock = childIsBlock;
        }
        if (out.size() == 1) {
            return List.of(unit);
        }
        out.set(0, out.get(0).withBlockCut(unit.blockCut()));
        return out;
    }

    /** One unit of both, named after {@code second} when it is the block the pieces before it lead into. */
    private static Unit merge(Unit first, Unit second, boolean namedAfterSecond) {
        List<Integer> nodes = new ArrayList<>(first.nodes());
        nodes.addAll(second.nodes());
        Unit named = namedAfterSecond ? second : first;
        return new Unit(named.key(), named.depth(), List.copyOf(nodes), first.cost() + second.cost(),
                first.seconds() + second.seconds(), first.blockCut());
    }

    /** Whether {@code child} is one indexed block directly inside {@code parent} (a resnet, an attention, a transformer block). */
    private static boolean isChildBlock(Unit parent, Unit child) {
        String key = child.key();
        int slash = key.lastIndexOf('/');
        return slash > 0 && key.substring(0, slash).equals(parent.key()) && INDEXED.matcher(leaf(key)).matches();
    }

    private static String leaf(String key) {
        int slash = key.lastIndexOf('/');
        return slash < 0 ? key : key.substring(slash + 1);
    }

    /** The sub-units of {@code unit} one naming level down (a few levels where a level has one child). */
    private static List<Unit> finer(Analysis analysis, Unit unit) {
        List<Unit> finer = runs(analysis, unit.nodes(), unit.depth() + 1);
        for (int extra = 2; finer.size() < 2 && extra <= 4; extra++) {
            finer = runs(analysis, unit.nodes(), unit.depth() + extra);
        }
        return finer;
    }

    /**
     * Replaces the slowest unit that has finer pieces inside by those pieces, whose cuts are not
     * block boundaries, or returns null. The measured (or estimated) time of the unit is shared out
     * by the pieces' estimated costs.
     */
    static List<Unit> refineLargest(Analysis analysis, List<Unit> units) {
        Integer[] bySeconds = new Integer[units.size()];
        for (int i = 0; i < bySeconds.length; i++) {
            bySeconds[i] = i;
        }
        Arrays.sort(bySeconds, (a, b) -> Double.compare(units.get(b).seconds(), units.get(a).seconds()));
        for (int candidate : bySeconds) {
            Unit unit = units.get(candidate);
            List<Unit> finer = finer(analysis, unit);
            if (finer.size() >= 2) {
                double cost = finer.stream().mapToDouble(Unit::cost).sum();
                List<Unit> out = new ArrayList<>(units.subList(0, candidate));
                for (int i = 0; i < finer.size(); i++) {
                    Unit piece = finer.get(i);
                    double share = cost > 0 ? piece.cost() / cost : 1.0 / finer.size();
                    out.add(piece.withSeconds(unit.seconds() * share).withBlockCut(i == 0 && unit.blockCut()));
                }
                out.addAll(units.subList(candidate + 1, units.size()));
                return out;
            }
        }
        return null;
    }

    /**
     * Splits {@code units} into {@code parts} consecutive groups minimising the slowest group's time:
     * its compute plus moving the tensors it receives and sends over {@code link}.
     */
    static List<List<Unit>> partition(Analysis analysis, List<Unit> units, int parts, Link link) {
        int m = units.size();
        double[] prefix = new double[m + 1];
        for (int i = 0; i < m; i++) {
            prefix[i + 1] = prefix[i] + units.get(i).seconds();
        }
        Traffic traffic = new Traffic(analysis, units);
        double[][] best = new double[parts + 1][m + 1];
        int[][] cut = new int[parts + 1][m + 1];
        for (double[] row : best) {
            Arrays.fill(row, Double.POSITIVE_INFINITY);
        }
        best[0][0] = 0;
        for (int k = 1; k <= parts; k++) {
            for (int j = k; j <= m - (parts - k); j++) {
                for (int i = k - 1; i < j; i++) {
                    double time = prefix[j] - prefix[i] + link.seconds(traffic.bytes(i, j));
                    double value = Math.max(best[k - 1][i], time);
                    if (value < best[k][j]) {
                        best[k][j] = value;
                        cut[k][j] = i;
                    }
                }
            }
        }
        List<List<Unit>> groups = new ArrayList<>();
        int end = m;
        for (int k = parts; k >= 1; k--) {
            int start = cut[k][end];
            groups.add(0, List.copyOf(units.subList(start, end)));
            end = start;
        }
        return groups;
    }

    /** The slowest group's estimated time, traffic included. */
    private static double slowest(Analysis analysis, List<List<Unit>> groups, Link link) {
        List<Unit> units = new ArrayList<>();
        groups.forEach(units::addAll);
        Traffic traffic = new Traffic(analysis, units);
        double worst = 0;
        int start = 0;
        for (List<Unit> group : groups) {
            int end = start + group.size();
            double compute = group.stream().mapToDouble(Unit::seconds).sum();
            worst = Math.max(worst, compute + link.seconds(traffic.bytes(start, end)));
            start = end;
        }
        return worst;
    }

    /**
     * The bytes a run of consecutive units {@code [a, b)} receives from earlier units and sends to
     * later ones per step, at batch 1: latent-path tensors crossing its edges, the latent input for
     * the first run and the model output for the run producing it. A tensor several later runs read
     * is counted once, as if broadcast.
     */
    static final class Traffic {
        private final long[][] received;
        private final long[][] sent;

        Traffic(Analysis analysis, List<Unit> units) {
            int m = units.size();
            Map<Integer, Integer> unitOf = new HashMap<>();
            for (int u = 0; u < m; u++) {
                for (int node : units.get(u).nodes()) {
                    unitOf.put(node, u);
                }
            }
            GraphIndex graph = analysis.graph();
            Set<String> outputs = new HashSet<>();
            graph.model().graph().getOutputList().forEach(o -> outputs.add(o.getName()));
            List<int[]> consumersByValue = new ArrayList<>();
            List<Integer> producers = new ArrayList<>();
            List<Long> sizes = new ArrayList<>();
            for (int u = 0; u < m; u++) {
                for (int node : units.get(u).nodes()) {
                    for (String value : graph.nodes().get(node).getOutputList()) {
                        TreeSet<Integer> readers = new TreeSet<>();
                        for (int consumer : graph.consumersOf(value)) {
                            Integer reader = unitOf.get(consumer);
                            if (reader != null && reader != u) {
                                readers.add(reader);
                            }
                        }
                        if (outputs.contains(value)) {
                            readers.add(m);
                        }
                        if (!readers.isEmpty()) {
                            consumersByValue.add(readers.stream().mapToInt(Integer::intValue).toArray());
                            producers.add(u);
                            sizes.add(analysis.infos().getOrDefault(value, ValueInfo.UNKNOWN).byteCount());
                        }
                    }
                }
            }
            long latentBytes = analysis.latentInputs().stream()
                    .mapToLong(name -> analysis.infos().getOrDefault(name, ValueInfo.UNKNOWN).byteCount()).sum();
            received = new long[m + 1][m + 1];
            sent = new long[m + 1][m + 1];
            for (int a = 0; a < m; a++) {
                long[] firstReadAt = new long[m + 1];
                for (int v = 0; v < producers.size(); v++) {
                    if (producers.get(v) < a) {
                        int first = firstAtLeast(consumersByValue.get(v), a);
                        if (first >= 0 && first < m) {
                            firstReadAt[first] += sizes.get(v);
                        }
                    }
                }
                long sum = a == 0 ? latentBytes : 0;
                for (int b = a + 1; b <= m; b++) {
                    sum += firstReadAt[b - 1];
                    received[a][b] = sum;
                }
            }
            for (int b = 1; b <= m; b++) {
                long[] producedAt = new long[m];
                for (int v = 0; v < producers.size(); v++) {
                    int[] readers = consumersByValue.get(v);
                    if (producers.get(v) < b && readers[readers.length - 1] >= b) {
                        producedAt[producers.get(v)] += sizes.get(v);
                    }
                }
                long sum = 0;
                for (int a = b - 1; a >= 0; a--) {
                    sum += producedAt[a];
                    sent[a][b] = sum;
                }
            }
        }

        long received(int a, int b) {
            return received[a][b];
        }

        long sent(int a, int b) {
            return sent[a][b];
        }

        long bytes(int a, int b) {
            return received[a][b] + sent[a][b];
        }

        private static int firstAtLeast(int[] sorted, int value) {
            for (int reader : sorted) {
                if (reader >= value) {
                    return reader;
                }
            }
            return -1;
        }
    }
}
