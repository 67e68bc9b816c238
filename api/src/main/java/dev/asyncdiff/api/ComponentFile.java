package dev.asyncdiff.api;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * A component a {@link ComponentSplitter} wrote: its position, its model file, its inputs and outputs, and
 * the inputs it reads only for their shape (a later component reading the latent's size, e.g. for an
 * upsampling target), for which any tensor of that shape will do.
 */
public record ComponentFile(int index, Path file, List<TensorSpec> inputs, List<TensorSpec> outputs,
                            Set<String> shapeOnlyInputs) {
    public ComponentFile {
        if (index < 0) {
            throw new IllegalArgumentException("component index must be >= 0, was " + index);
        }
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        shapeOnlyInputs = Set.copyOf(shapeOnlyInputs);
    }

    /** A component that reads every input's values. */
    public ComponentFile(int index, Path file, List<TensorSpec> inputs, List<TensorSpec> outputs) {
        this(index, file, inputs, outputs, Set.of());
    }
}
