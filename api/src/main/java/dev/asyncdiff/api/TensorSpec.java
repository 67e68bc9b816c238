package dev.asyncdiff.api;

import java.util.Arrays;

/**
 * The declared name, dtype and shape of a model input or output. A dimension of {@code -1} is
 * dynamic (symbolic in the model).
 */
public record TensorSpec(String name, DType dtype, long[] shape) {
    public TensorSpec {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("tensor spec needs a name");
        }
        if (dtype == null) {
            throw new IllegalArgumentException("tensor spec '" + name + "' needs a dtype");
        }
        shape = shape.clone();
        for (long dim : shape) {
            if (dim < -1) {
                throw new IllegalArgumentException("tensor spec '" + name + "' has dimension " + dim
                        + "; expected >= 0, or -1 for a dynamic dimension");
            }
        }
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    /** Whether a tensor of {@code actual} shape fits this spec (same rank, fixed dimensions equal). */
    public boolean accepts(long[] actual) {
        if (actual.length != shape.length) {
            return false;
        }
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] >= 0 && shape[i] != actual[i]) {
                return false;
            }
        }
        return true;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof TensorSpec spec && name.equals(spec.name) && dtype == spec.dtype
                && Arrays.equals(shape, spec.shape);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * name.hashCode() + dtype.hashCode()) + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + ":" + dtype.name().toLowerCase(java.util.Locale.ROOT) + Arrays.toString(shape);
    }
}
