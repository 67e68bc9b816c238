package dev.asyncdiff.adapters.sd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.asyncdiff.adapters.sd.tokenizer.ClipTokenizer;
import dev.asyncdiff.adapters.sd.tokenizer.T5Tokenizer;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.api.MalformedModelException;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.backend.onnx.OnnxBackend;
import dev.asyncdiff.spi.BackendOptions;
import dev.asyncdiff.synthetic.Family;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** SD 3's conditioning on the synthetic tiny folder, checked against the encoders run directly. */
class Sd3ConditionerTest {
    private static final int JOINT = 128;
    private static final int CLIP_L = 24;
    private static final int CLIP_G = 40;
    private static final int T5_TOKENS = 32;
    private static OnnxBackend backend;

    @BeforeAll
    static void openBackend() {
        backend = new OnnxBackend(BackendOptions.defaults());
    }

    @AfterAll
    static void closeBackend() {
        backend.close();
    }

    private static Path model() {
        return TestModels.tiny(Family.SD3);
    }

    private static Sd3Conditioner conditioner(boolean withT5) {
        Path model = model();
        Path t5 = model.resolve("text_encoder_3/model.onnx");
        return new Sd3Conditioner(ClipTokenizer.load(model.resolve("tokenizer")), encoder(model, "text_encoder"),
                ClipTokenizer.load(model.resolve("tokenizer_2")), encoder(model, "text_encoder_2"),
                withT5 ? T5Tokenizer.load(model) : null,
                withT5 ? new T5TextEncoder(t5, backend.load(t5, Device.CPU), JOINT) : null, JOINT, T5_TOKENS);
    }

    private static TextEncoder encoder(Path model, String name) {
        Path file = model.resolve(name).resolve("model.onnx");
        return new TextEncoder(file, backend.load(file, Device.CPU));
    }

    private static float[] direct(String component, int[] ids, String output) {
        try (InferenceSession session = backend.load(model().resolve(component).resolve("model.onnx"), Device.CPU);
             Tensor input = Tensor.ofLongs(Arrays.stream(ids).asLongStream().toArray(), 1, ids.length);
             NamedTensors out = session.run(Map.of("input_ids", input))) {
            return out.get(output).toFloatArray();
        }
    }

    private static float[] clipIds(String tokenizer, String component, String text, String output) {
        return direct(component, ClipTokenizer.load(model().resolve(tokenizer)).encodePadded(text), output);
    }

    private static float[] row(Tensor tensor, int row) {
        float[] all = tensor.toFloatArray();
        int size = (int) (tensor.elementCount() / tensor.dim(0));
        return Arrays.copyOfRange(all, row * size, (row + 1) * size);
    }

    @Test
    void concatenatesPadsAndAppendsT5AsDiffusersDoes() {
        try (Sd3Conditioner conditioner = conditioner(true);
             NamedTensors out = conditioner.condition("a red house", "blurry", 2, true)) {
            Tensor states = out.get("encoder_hidden_states");
            Tensor pooled = out.get("pooled_projections");
            assertThat(states.shape()).containsExactly(4, 77 + T5_TOKENS, JOINT);
            assertThat(pooled.shape()).containsExactly(4, CLIP_L + CLIP_G);
            float[] clipL = clipIds("tokenizer", "text_encoder", "a red house", "hidden_states.1");
            float[] clipG = clipIds("tokenizer_2", "text_encoder_2", "a red house", "hidden_states.1");
            float[] t5 = direct("text_encoder_3", T5Tokenizer.load(model()).encodePadded("a red house", T5_TOKENS),
                    "last_hidden_state");
            float[] positive = row(states, 2);
            for (int t = 0; t < 77; t++) {
                float[] token = Arrays.copyOfRange(positive, t * JOINT, (t + 1) * JOINT);
                assertThat(Arrays.copyOfRange(token, 0, CLIP_L)).containsExactly(Arrays.copyOfRange(clipL, t * CLIP_L,
                        (t + 1) * CLIP_L));
                assertThat(Arrays.copyOfRange(token, CLIP_L, CLIP_L + CLIP_G)).containsExactly(
                        Arrays.copyOfRange(clipG, t * CLIP_G, (t + 1) * CLIP_G));
                assertThat(Arrays.copyOfRange(token, CLIP_L + CLIP_G, JOINT)).as("zero padding to the T5 width")
                        .containsOnly(0f);
            }
            assertThat(Arrays.copyOfRange(positive, 77 * JOINT, positive.length)).containsExactly(t5);
            float[] pooledRow = row(pooled, 3);
            assertThat(Arrays.copyOfRange(pooledRow, 0, CLIP_L))
                    .containsExactly(clipIds("tokenizer", "text_encoder", "a red house", "text_embeds"));
            assertThat(Arrays.copyOfRange(pooledRow, CLIP_L, CLIP_L + CLIP_G))
                    .containsExactly(clipIds("tokenizer_2", "text_encoder_2", "a red house", "text_embeds"));
            assertThat(row(states, 0)).as("negative first").containsExactly(row(states, 1))
                    .isNotEqualTo(row(states, 2));
            assertThat(row(states, 3)).containsExactly(positive);
        }
    }

    @Test
    void withoutT5TheTextTokensAreZeros() {
        try (Sd3Conditioner conditioner = conditioner(false);
             NamedTensors out = conditioner.condition("a red house", null, 1, false)) {
            float[] states = row(out.get("encoder_hidden_states"), 0);
            assertThat(out.get("encoder_hidden_states").shape()).containsExactly(1, 77 + T5_TOKENS, JOINT);
            assertThat(Arrays.copyOfRange(states, 77 * JOINT, states.length)).containsOnly(0f);
            assertThat(Arrays.copyOfRange(states, 0, CLIP_L)).isNotEqualTo(new float[CLIP_L]);
        }
    }

    @Test
    void aT5ExportOfTheWrongWidthIsNamed() {
        Path t5 = model().resolve("text_encoder_3/model.onnx");
        assertThatThrownBy(() -> new T5TextEncoder(t5, backend.load(t5, Device.CPU), 4096))
                .isInstanceOf(MalformedModelException.class).hasMessageContaining("text_encoder_3")
                .hasMessageContaining("128").hasMessageContaining("joint_attention_dim is 4096");
        assertThatThrownBy(() -> new Sd3Conditioner(null, null, null, null, null, null, JOINT, 513))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("max_sequence_length");
    }
}
