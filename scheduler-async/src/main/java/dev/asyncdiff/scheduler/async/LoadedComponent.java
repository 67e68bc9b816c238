package dev.asyncdiff.scheduler.async;

import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.DenoiserComponent;
import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.api.TensorAllocator;
import dev.asyncdiff.api.TensorSpec;
import java.util.List;
import java.util.Map;

/** A component file loaded into a backend session; owns the session. */
final class LoadedComponent implements DenoiserComponent {
    private final int index;
    private final InferenceSession session;

    LoadedComponent(int index, InferenceSession session) {
        this.index = index;
        this.session = session;
    }

    @Override
    public int index() {
        return index;
    }

    @Override
    public List<TensorSpec> inputs() {
        return session.inputs();
    }

    @Override
    public List<TensorSpec> outputs() {
        return session.outputs();
    }

    @Override
    public Device device() {
        return session.device();
    }

    @Override
    public NamedTensors run(Map<String, Tensor> inputs) {
        return session.run(inputs);
    }

    @Override
    public NamedTensors run(Map<String, Tensor> inputs, TensorAllocator outputs) {
        return session.run(inputs, outputs);
    }

    @Override
    public void close() {
        session.close();
    }
}
