package dev.asyncdiff.spi;

import dev.asyncdiff.api.TensorSpec;
import java.util.List;

/**
 * A model input or output as a backend reports it: its {@link TensorSpec} and the symbolic name
 * of each dimension ({@code ""} where the model gives none).
 *
 * @param spec the name, dtype and shape ({@code -1} for a dynamic dimension)
 * @param dimensionNames one entry per dimension, never null
 */
public record DeclaredTensor(TensorSpec spec, List<String> dimensionNames) {
    public DeclaredTensor {
        dimensionNames = List.copyOf(dimensionNames);
        if (dimensionNames.size() != spec.rank()) {
            throw new IllegalArgumentException("tensor '" + spec.name() + "' has rank " + spec.rank() + " but "
                    + dimensionNames.size() + " dimension names");
        }
    }

    public String name() {
        return spec.name();
    }

    /** The symbolic name of dimension {@code axis}, or {@code ""}. */
    public String dimensionName(int axis) {
        return dimensionNames.get(axis);
    }
}
