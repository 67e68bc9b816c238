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
import java.util.regex.Pattern;

/**
 * Decides where to cut a denoiser. Nodes whose data depends on the latent input form the latent
 * path; they are grouped into units by the block names of a torch export and the unit sequence is
 * cut into N parts that minimise the slowest part's estimated cost. Everything else (timestep
 * embedding, text projections, shape arithmetic) depends only on conditioning inputs and is copied
 * into each component that needs it.
 */
final class SplitPlanner {
    /** Bumped whenever a change would cut a model differently; part of the cache key. */
    static final int VERSION = 2;
    static final double TARGET_IMBALANCE = 1.10;
    private static final Set<String> LATENT_INPUT_NAMES = Set.of("sample", "hidden_states");
    private static final Pattern INDEXED = Pattern.compile(".+\\.\\d+");
    private static final Set<String> SHAPE_ONLY_OPS = Set.of("Shape", "Size");
    private static final int BATCH_A = 1;
    private static final int BATCH_B = 2;
    private static final int DEFAULT_SEQUENCE = 77;

    /** A run of consecutive latent nodes cut as one piece. */
    record Unit(String key, int depth, List<Integer> nodes, double cost) {
    }

    /** The decided cut: units per component, with the inferred value infos and their variations. */
    record Plan(GraphIndex graph, Set<String> latentInputs, Set<Integer> latentNodes, List<List<Unit>> components,
                Map<String, ValueInfo> infos, List<Map<String, ValueInfo>> variations, double latentCost) {
        /** The node costs of a component's own latent nodes, as a share of the whole latent path. */
        double costShare(int component) {
            return components.get(component).stream().mapToDouble(Unit::cost).sum() / latentCost;
        }
    }

    private SplitPlanner() {
    }

    static Plan plan(GraphIndex graph, int parts, int latentHeight, int latentWidth) {
        if (parts < 1) {
            throw new IllegalArgumentException("parts must be >= 1, was " + parts);
        }
        Set<String> latentInputs = latentInputs(graph);
        Map<String, ValueInfo> infos = ShapeInference.infer(graph,
                bindInputs(graph, latentInputs, BATCH_A, latentHeight, latentWidth));
        // Two more inferences, at another batch and at twice the latent size, tell which dimensions of
        // the tensors crossing a cut are dynamic: components then run any batch and image size.
        List<Map<String, ValueInfo>> variations = List.of(
                ShapeInference.infer(graph, bindInputs(graph, latentInputs, BATCH_B, latentHeight, latentWidth)),
                ShapeInference.infer(graph, bindInputs(graph, latentInputs, BATCH_A, 2 * latentHeight, 2 * latentWidth)));
        Set<Integer> latentNodes = latentNodes(graph, latentInputs);
        if (latentNodes.isEmpty()) {
            throw new IllegalArgumentException("model " + graph.model().file() + ": no node computes on the latent input "
                    + latentInputs + "; nothing to split");
        }
        double[] cost = new double[graph.nodes().size()];
        double latentCost = 0;
        for (int i : latentNodes) {
            cost[i] = CostModel.cost(graph.nodes().get(i), infos);
            latentCost += cost[i];
        }
        List<Integer> order = new ArrayList<>(new java.util.TreeSet<>(latentNodes));
        List<Unit> units = hasBlockNames(graph, order) ? runs(graph, order, 1, cost)
                : lowLivenessUnits(graph, order, latentNodes, cost);
        int coarse = units.size();
        if (parts > coarse) {
            throw new IllegalArgumentException("cannot split " + graph.model().file().getFileName() + " into " + parts
                    + " components: its latent path has only " + coarse + " units ("
                    + String.join(", ", units.stream().map(Unit::key).toList()) + ")");
        }
        List<List<Unit>> best = partition(units, parts);
        for (int round = 0; round < 500 && maxCost(best) > TARGET_IMBALANCE * latentCost / parts; round++) {
            List<Unit> refined = refineLargest(graph, units, cost);
            if (refined == null) {
                break;
            }
            units = refined;
            List<List<Unit>> candidate = partition(units, parts);
            if (maxCost(candidate) < maxCost(best)) {
                best = candidate;
            }
        }
        return new Plan(graph, latentInputs, latentNodes, best, infos, variations, latentCost == 0 ? 1 : latentCost);
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

    private static Map<String, ValueInfo> bindInputs(GraphIndex graph, Set<String> latentInputs, int batch,
                                                     int latentHeight, int latentWidth) {
        Map<String, ValueInfo> bound = new HashMap<>();
        for (ValueInfoProto input : graph.inputs().values()) {
            DType dtype = OnnxTypes.fromOnnx(input.getType().getTensorType().getElemType());
            List<TensorShapeProto.Dimension> dims = input.getType().getTensorType().getShape().getDimList();
            long[] shape = new long[dims.size()];
            boolean latent = latentInputs.contains(input.getName());
            for (int i = 0; i < shape.length; i++) {
                TensorShapeProto.Dimension dim = dims.get(i);
                if (dim.hasDimValue() && dim.getDimValue() > 0) {
                    shape[i] = dim.getDimValue();
                } else if (i == 0) {
                    shape[i] = batch;
                } else if (latent && i == shape.length - 2) {
                    shape[i] = latentHeight;
                } else if (latent && i == shape.length - 1) {
                    shape[i] = latentWidth;
                } else {
                    shape[i] = DEFAULT_SEQUENCE;
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

    /** The unit key of a node at {@code depth}: its first scopes, one more where the next one is indexed. */
    private static String key(NodeProto node, int depth) {
        List<String> scopes = scopes(node);
        int take = Math.min(depth, scopes.size());
        if (take == depth && scopes.size() > depth && INDEXED.matcher(scopes.get(depth)).matches()) {
            take++;
        }
        return String.join("/", scopes.subList(0, take));
    }

    /**
     * Groups consecutive nodes with the same key into units; nodes whose key is a parent of the next
     * unit's key (glue such as a skip concatenation) join that next unit.
     */
    private static List<Unit> runs(GraphIndex graph, List<Integer> nodes, int depth, double[] cost) {
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
                units.add(unit(key, depth, glue, cost));
                glue = new ArrayList<>();
            }
        }
        if (!glue.isEmpty()) {
            units.add(unit(keys.get(keys.size() - 1), depth, glue, cost));
        }
        return units;
    }

    private static boolean isParent(String key, String next) {
        return key.isEmpty() || next.startsWith(key + "/");
    }

    private static Unit unit(String key, int depth, List<Integer> nodes, double[] cost) {
        double total = 0;
        for (int index : nodes) {
            total += cost[index];
        }
        return new Unit(key.isEmpty() ? "(top level)" : key, depth, List.copyOf(nodes), total);
    }

    /** Replaces the costliest unit that has finer blocks inside by those blocks, or returns null. */
    private static List<Unit> refineLargest(GraphIndex graph, List<Unit> units, double[] cost) {
        Integer[] byCost = new Integer[units.size()];
        for (int i = 0; i < byCost.length; i++) {
            byCost[i] = i;
        }
        Arrays.sort(byCost, (a, b) -> Double.compare(units.get(b).cost(), units.get(a).cost()));
        for (int candidate : byCost) {
            Unit unit = units.get(candidate);
            List<Unit> finer = runs(graph, unit.nodes(), unit.depth() + 1, cost);
            for (int extra = 2; finer.size() < 2 && extra <= 4; extra++) {
                finer = runs(graph, unit.nodes(), unit.depth() + extra, cost);
            }
            if (finer.size() >= 2) {
                List<Unit> out = new ArrayList<>(units.subList(0, candidate));
                out.addAll(finer);
                out.addAll(units.subList(candidate + 1, units.size()));
                return out;
            }
        }
        return null;
    }

    /**
     * Units for a graph without block names: cut only where few latent tensors are live, i.e. where
     * the fewest values produced so far are still needed later.
     */
    private static List<Unit> lowLivenessUnits(GraphIndex graph, List<Integer> order, Set<Integer> latentNodes,
                                               double[] cost) {
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
                units.add(unit("nodes " + graph.nodes().get(current.get(0)).getName() + "…", 0, current, cost));
                current = new ArrayList<>();
            }
            current.add(order.get(p));
        }
        units.add(unit("nodes " + graph.nodes().get(current.get(0)).getName() + "…", 0, current, cost));
        return units;
    }

    /** Splits {@code units} into {@code parts} consecutive groups minimising the largest group cost. */
    static List<List<Unit>> partition(List<Unit> units, int parts) {
        int m = units.size();
        double[] prefix = new double[m + 1];
        for (int i = 0; i < m; i++) {
            prefix[i + 1] = prefix[i] + units.get(i).cost();
        }
        double[][] best = new double[parts + 1][m + 1];
        int[][] cut = new int[parts + 1][m + 1];
        for (double[] row : best) {
            Arrays.fill(row, Double.POSITIVE_INFINITY);
        }
        best[0][0] = 0;
        for (int k = 1; k <= parts; k++) {
            for (int j = k; j <= m - (parts - k); j++) {
                for (int i = k - 1; i < j; i++) {
                    double value = Math.max(best[k - 1][i], prefix[j] - prefix[i]);
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

    private static double maxCost(List<List<Unit>> groups) {
        return groups.stream().mapToDouble(g -> g.stream().mapToDouble(Unit::cost).sum()).max().orElse(0);
    }
}
