package dev.asyncdiff.backend.onnx;

import dev.asyncdiff.spi.DeclaredTensor;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Predicts the shapes of a model's outputs from the shapes of its inputs, so that outputs can be
 * written by ONNX Runtime straight into tensors allocated beforehand (pinned outputs). An output's
 * shape is known when each dimension is fixed in the model, or symbolic with a name that an input
 * dimension also carries, or when a run with the same input shapes has shown it.
 *
 * <p>Thread-safe: the shapes learned from runs live in a concurrent map of bounded size.
 */
final class OutputShapes {
    /** How many distinct input-shape combinations to remember per session. */
    static final int MAX_LEARNED = 64;

    private final List<DeclaredTensor> inputs;
    private final List<DeclaredTensor> outputs;
    private final Map<String, Map<String, long[]>> learned = new ConcurrentHashMap<>();

    /** Predictions for a model with these declared inputs and outputs. */
    OutputShapes(List<DeclaredTensor> inputs, List<DeclaredTensor> outputs) {
        this.inputs = List.copyOf(inputs);
        this.outputs = List.copyOf(outputs);
    }

    /**
     * The output shapes known for these input shapes, by output name; outputs whose shape cannot be
     * predicted are absent.
     *
     * @param inputShapes the shape fed for each declared input
     */
    Map<String, long[]> predict(Map<String, long[]> inputShapes) {
        Map<String, long[]> seen = learned.get(key(inputShapes));
        if (seen != null) {
            return copy(seen);
        }
        Map<String, Long> sizes = symbolicSizes(inputShapes);
        Map<String, long[]> predicted = new LinkedHashMap<>();
        for (DeclaredTensor output : outputs) {
            long[] shape = output.spec().shape();
            boolean known = true;
            for (int axis = 0; axis < shape.length && known; axis++) {
                if (shape[axis] < 0) {
                    Long size = sizes.get(output.dimensionName(axis));
                    known = size != null;
                    shape[axis] = known ? size : -1;
                }
            }
            if (known) {
                predicted.put(output.name(), shape);
            }
        }
        return predicted;
    }

    /** Remembers the output shapes a run with {@code inputShapes} produced. */
    void learn(Map<String, long[]> inputShapes, Map<String, long[]> outputShapes) {
        if (learned.size() < MAX_LEARNED) {
            learned.put(key(inputShapes), copy(outputShapes));
        }
    }

    /** Forgets what was learned for {@code inputShapes}, after a prediction turned out wrong. */
    void forget(Map<String, long[]> inputShapes) {
        learned.remove(key(inputShapes));
    }

    /** Sizes of named symbolic dimensions in the fed inputs; names bound to two sizes are dropped. */
    private Map<String, Long> symbolicSizes(Map<String, long[]> inputShapes) {
        Map<String, Long> sizes = new HashMap<>();
        Set<String> conflicting = new HashSet<>();
        for (DeclaredTensor input : inputs) {
            long[] shape = inputShapes.get(input.name());
            for (int axis = 0; shape != null && axis < shape.length && axis < input.spec().rank(); axis++) {
                String name = input.dimensionName(axis);
                if (!name.isEmpty()) {
                    Long previous = sizes.putIfAbsent(name, shape[axis]);
                    if (previous != null && previous != shape[axis]) {
                        conflicting.add(name);
                    }
                }
            }
        }
        conflicting.forEach(sizes::remove);
        return sizes;
    }

    private String key(Map<String, long[]> inputShapes) {
        StringBuilder key = new StringBuilder();
        for (DeclaredTensor input : inputs) {
            key.append(Arrays.toString(inputShapes.get(input.name()))).append(';');
        }
        return key.toString();
    }

    private static Map<String, long[]> copy(Map<String, long[]> shapes) {
        Map<String, long[]> copy = new LinkedHashMap<>();
        shapes.forEach((name, shape) -> copy.put(name, shape.clone()));
        return copy;
    }
}
