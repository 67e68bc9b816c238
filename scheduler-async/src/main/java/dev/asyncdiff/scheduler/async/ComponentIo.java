package dev.asyncdiff.scheduler.async;

import dev.asyncdiff.api.ComponentFile;
import dev.asyncdiff.api.DenoiserComponent;
import dev.asyncdiff.api.TensorSpec;
import java.util.List;

/** The inputs and outputs of a component, wherever it runs: what the loop routes by. */
record ComponentIo(List<TensorSpec> inputs, List<TensorSpec> outputs) {
    ComponentIo {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
    }

    static ComponentIo of(DenoiserComponent component) {
        return new ComponentIo(component.inputs(), component.outputs());
    }

    static ComponentIo of(ComponentFile file) {
        return new ComponentIo(file.inputs(), file.outputs());
    }
}
