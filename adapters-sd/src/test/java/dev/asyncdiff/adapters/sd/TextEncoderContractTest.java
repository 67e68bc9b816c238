package dev.asyncdiff.adapters.sd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.api.MalformedModelException;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.api.TensorSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The export contract a {@link TextEncoder} probes, on hand-made sessions. */
class TextEncoderContractTest {
    private static final Path FILE = Path.of("text_encoder/model.onnx");

    /** A session whose every output {@code name} is filled with {@code index + 1} of the outputs list. */
    private static final class FakeSession implements InferenceSession {
        private final List<TensorSpec> inputs;
        private final List<TensorSpec> outputs;
        final List<Tensor> seen = new ArrayList<>();
        boolean closed;

        FakeSession(DType ids, String... outputNames) {
            this.inputs = List.of(new TensorSpec("input_ids", ids, new long[] {-1, 77}));
            List<TensorSpec> specs = new ArrayList<>();
            for (String name : outputNames) {
                boolean pooled = name.equals("text_embeds") || name.equals("pooler_output");
                specs.add(new TensorSpec(name, DType.FP32, pooled ? new long[] {-1, 4} : new long[] {-1, 77, 4}));
            }
            this.outputs = specs;
        }

        @Override
        public List<TensorSpec> inputs() {
            return inputs;
        }

        @Override
        public List<TensorSpec> outputs() {
            return outputs;
        }

        @Override
        public Device device() {
            return Device.CPU;
        }

        @Override
        public NamedTensors run(Map<String, Tensor> in) {
            Tensor ids = in.get("input_ids");
            seen.add(ids.to(ids.dtype()));
            NamedTensors out = new NamedTensors();
            for (int i = 0; i < outputs.size(); i++) {
                TensorSpec spec = outputs.get(i);
                int count = spec.rank() == 2 ? 4 : 77 * 4;
                float[] values = new float[count];
                java.util.Arrays.fill(values, i + 1);
                out.put(spec.name(), spec.rank() == 2 ? Tensor.ofFloats(values, 1, 4) : Tensor.ofFloats(values, 1, 77, 4));
            }
            return out;
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    @Test
    void int32IdsLastHiddenStateAndPoolerOutput() {
        FakeSession session = new FakeSession(DType.INT32, "last_hidden_state", "pooler_output");
        try (TextEncoder encoder = new TextEncoder(FILE, session)) {
            TextEncoder.Output out = encoder.encode(new int[77], false, true);
            assertThat(session.seen.get(0).dtype()).isEqualTo(DType.INT32);
            assertThat(session.seen.get(0).shape()).containsExactly(1, 77);
            assertThat(out.hidden()).containsOnly(1f);
            assertThat(out.pooled()).containsOnly(2f);
            assertThat(out.tokens()).isEqualTo(77);
            assertThat(out.width()).isEqualTo(4);
        }
        assertThat(session.closed).isTrue();
    }

    @Test
    void int64IdsPenultimateHiddenStateAndProjectedEmbeds() {
        FakeSession session = new FakeSession(DType.INT64, "text_embeds", "last_hidden_state", "hidden_states.0",
                "hidden_states.1", "hidden_states.2", "hidden_states.3");
        try (TextEncoder encoder = new TextEncoder(FILE, session)) {
            TextEncoder.Output penultimate = encoder.encode(new int[77], true, true);
            assertThat(session.seen.get(0).dtype()).isEqualTo(DType.INT64);
            assertThat(penultimate.hidden()).containsOnly(5f); // hidden_states.2 is the 5th output
            assertThat(penultimate.pooled()).containsOnly(1f);
            assertThat(encoder.encode(new int[77], false, false).hidden()).containsOnly(2f);
        }
    }

    @Test
    void withoutHiddenStatesThePenultimateFallsBackToTheLastState() {
        FakeSession session = new FakeSession(DType.INT64, "last_hidden_state", "pooler_output");
        try (TextEncoder encoder = new TextEncoder(FILE, session)) {
            assertThat(encoder.encode(new int[77], true, false).hidden()).containsOnly(1f);
        }
    }

    @Test
    void missingPooledOutputOrIdsInputIsAClearError() {
        FakeSession noPooled = new FakeSession(DType.INT64, "last_hidden_state");
        try (TextEncoder encoder = new TextEncoder(FILE, noPooled)) {
            assertThatThrownBy(() -> encoder.encode(new int[77], true, true))
                    .isInstanceOf(MalformedModelException.class).hasMessageContaining("text_embeds");
        }
        FakeSession floatIds = new FakeSession(DType.FP32, "last_hidden_state");
        assertThatThrownBy(() -> new TextEncoder(FILE, floatIds)).isInstanceOf(MalformedModelException.class)
                .hasMessageContaining("input_ids");
        assertThat(floatIds.closed).isTrue();
    }
}
