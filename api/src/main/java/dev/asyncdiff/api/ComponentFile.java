package dev.asyncdiff.api;

import java.nio.file.Path;
import java.util.List;

/** A component a {@link ComponentSplitter} wrote: its position, its model file, its inputs and outputs. */
public record ComponentFile(int index, Path file, List<TensorSpec> inputs, List<TensorSpec> outputs) {
    public ComponentFile {
        if (index < 0) {
            throw new IllegalArgumentException("component index must be >= 0, was " + index);
        }
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
    }
}
