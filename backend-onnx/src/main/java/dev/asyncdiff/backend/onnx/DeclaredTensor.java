package dev.asyncdiff.backend.onnx;

import dev.asyncdiff.api.TensorSpec;
import java.util.List;

/**
 * A model input or output as ONNX Runtime reports it: its {@link TensorSpec} and the symbolic name
 * of each dimension ({@code ""} where the model gives none).
 *
 * @param spec the name, dtype and shape ({@code -1} for a dynamic dimension)
 * @param dimensionNames one entry per dimension, never null
 */
record DeclaredTensor(TensorSpec spec, List<String> dimensionNames) {
    DeclaredTensor {
        dimensionNames = List.copyOf(dimensionNames);
        if (dimensionNames.size() != spec.rank()) {
            throw new IllegalArgumentException("tensor '" + spec.name() + "' has rank " + spec.rank() + " but "
                    + dimensionNames.size() + " dimension names");
        }
    }

    String name() {
        return spec.name();
    }

    /** The symbolic name of dimension {@code axis}, or {@code ""}. */
    String dimensionName(int axis) {
        return dimensionNames.get(axis);
    }
}
