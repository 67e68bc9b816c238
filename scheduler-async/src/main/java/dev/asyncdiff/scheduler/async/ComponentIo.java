package dev.asyncdiff.scheduler.async;

import dev.asyncdiff.api.DenoiserComponent;
import dev.asyncdiff.api.TensorSpec;
import java.util.List;
import java.util.Set;

/**
 * The inputs and outputs of a component, wherever it runs, and the inputs it reads only for their shape:
 * what the loop routes by.
 */
record ComponentIo(List<TensorSpec> inputs, List<TensorSpec> outputs, Set<String> shapeOnlyInputs) {
    ComponentIo {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        shapeOnlyInputs = Set.copyOf(shapeOnlyInputs);
    }

    /** A component already loaded, whose inputs are all read for their values. */
    static ComponentIo of(DenoiserComponent component) {
        return new ComponentIo(component.inputs(), component.outputs(), Set.of());
    }
}
