package dev.asyncdiff.adapters.sd;

import static org.assertj.core.api.Assertions.assertThat;

import dev.asyncdiff.adapters.sd.tokenizer.ClipTokenizer;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.InferenceSession;
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

/** Text conditioning on the synthetic tiny folders, checked against the text encoders run directly. */
class ConditioningTest {
    private static OnnxBackend backend;

    @BeforeAll
    static void openBackend() {
        backend = new OnnxBackend(BackendOptions.defaults());
    }

    @AfterAll
    static void closeBackend() {
        backend.close();
    }

    private static TextEncoder encoder(Path model, String name) {
        Path file = model.resolve(name).resolve("model.onnx");
        return new TextEncoder(file, backend.load(file, Device.CPU));
    }

    /** The output {@code output} of {@code component} for the padded ids of {@code text}, run directly. */
    private static float[] direct(Path model, String component, String tokenizer, String text, String output) {
        int[] ids = ClipTokenizer.load(model.resolve(tokenizer)).encodePadded(text);
        try (InferenceSession session = backend.load(model.resolve(component).resolve("model.onnx"), Device.CPU);
             Tensor input = Tensor.ofLongs(Arrays.stream(ids).asLongStream().toArray(), 1, ids.length);
             NamedTensors out = session.run(Map.of("input_ids", input))) {
            return out.get(output).toFloatArray();
        }
    }

    private static float[] row(Tensor tensor, int row) {
        float[] all = tensor.toFloatArray();
        int size = (int) (tensor.elementCount() / tensor.dim(0));
        return Arrays.copyOfRange(all, row * size, (row + 1) * size);
    }

    @Test
    void sdConditionsOnLastHiddenStateWithNegativeBatchFirst() {
        Path model = TestModels.tiny(Family.SD21);
        try (PromptConditioner conditioner = new PromptConditioner(ClipTokenizer.load(model.resolve("tokenizer")),
                encoder(model, "text_encoder"));
             NamedTensors guided = conditioner.condition("a red cat", "blurry", 2, true, 64, 64);
             NamedTensors plain = conditioner.condition("a red cat", "blurry", 1, false, 64, 64)) {
            Tensor states = guided.get("encoder_hidden_states");
            assertThat(states.shape()).containsExactly(4, 77, 32);
            assertThat(guided.names()).containsExactly("encoder_hidden_states");
            float[] positive = direct(model, "text_encoder", "tokenizer", "a red cat", "last_hidden_state");
            float[] negative = direct(model, "text_encoder", "tokenizer", "blurry", "last_hidden_state");
            assertThat(row(states, 0)).containsExactly(negative);
            assertThat(row(states, 1)).containsExactly(negative);
            assertThat(row(states, 2)).containsExactly(positive);
            assertThat(row(states, 3)).containsExactly(positive);
            assertThat(positive).isNotEqualTo(negative);
            assertThat(plain.get("encoder_hidden_states").shape()).containsExactly(1, 77, 32);
            assertThat(row(plain.get("encoder_hidden_states"), 0)).containsExactly(positive);
        }
    }

    @Test
    void sdxlConcatenatesPenultimateStatesAndAddsPooledEmbedsAndTimeIds() {
        Path model = TestModels.tiny(Family.SDXL);
        ModelFolder folder = ModelFolder.open(model);
        try (PromptConditioner conditioner = xl(model, folder.forceZerosForEmptyPrompt());
             NamedTensors out = conditioner.condition("a lighthouse", "", 1, true, 64, 96)) {
            Tensor states = out.get("encoder_hidden_states");
            assertThat(states.shape()).containsExactly(2, 77, 64);
            // the tiny encoders have 2 layers: hidden_states.0..2, so the penultimate is hidden_states.1
            float[] first = direct(model, "text_encoder", "tokenizer", "a lighthouse", "hidden_states.1");
            float[] second = direct(model, "text_encoder_2", "tokenizer_2", "a lighthouse", "hidden_states.1");
            float[] last = direct(model, "text_encoder", "tokenizer", "a lighthouse", "last_hidden_state");
            float[] conditional = row(states, 1);
            for (int t = 0; t < 77; t++) {
                assertThat(Arrays.copyOfRange(conditional, t * 64, t * 64 + 32))
                        .containsExactly(Arrays.copyOfRange(first, t * 32, t * 32 + 32));
                assertThat(Arrays.copyOfRange(conditional, t * 64 + 32, t * 64 + 64))
                        .containsExactly(Arrays.copyOfRange(second, t * 32, t * 32 + 32));
            }
            assertThat(Arrays.copyOfRange(conditional, 0, 32)).isNotEqualTo(Arrays.copyOfRange(last, 0, 32));
            // empty negative prompt with force_zeros_for_empty_prompt: zeros
            assertThat(row(states, 0)).containsOnly(0f);
            Tensor pooled = out.get("text_embeds");
            assertThat(pooled.shape()).containsExactly(2, 32);
            assertThat(row(pooled, 0)).containsOnly(0f);
            assertThat(row(pooled, 1)).containsExactly(direct(model, "text_encoder_2", "tokenizer_2", "a lighthouse",
                    "text_embeds"));
            Tensor timeIds = out.get("time_ids");
            assertThat(timeIds.shape()).containsExactly(2, 6);
            assertThat(row(timeIds, 0)).containsExactly(64, 96, 0, 0, 64, 96);
            assertThat(row(timeIds, 1)).containsExactly(64, 96, 0, 0, 64, 96);
        }
    }

    @Test
    void sdxlEncodesTheEmptyNegativePromptWhenNotForcedToZeros() {
        Path model = TestModels.tiny(Family.SDXL);
        try (PromptConditioner conditioner = xl(model, false);
             NamedTensors out = conditioner.condition("a lighthouse", "", 1, true, 64, 64)) {
            float[] unconditional = row(out.get("encoder_hidden_states"), 0);
            float[] expected = direct(model, "text_encoder", "tokenizer", "", "hidden_states.1");
            assertThat(Arrays.copyOfRange(unconditional, 0, 32)).containsExactly(Arrays.copyOfRange(expected, 0, 32));
            assertThat(row(out.get("text_embeds"), 0)).doesNotContain(0f);
        }
    }

    @Test
    void aUnetTrainedWithAnAestheticScoreGetsFiveTimeIds() {
        Path model = TestModels.tiny(Family.SDXL);
        try (PromptConditioner conditioner = xl(model, true, 5);
             NamedTensors out = conditioner.condition("a lighthouse", "", 1, true, 128, 64)) {
            Tensor timeIds = out.get("time_ids");
            assertThat(timeIds.shape()).containsExactly(2, 5);
            assertThat(row(timeIds, 0)).containsExactly(128, 64, 0, 0, 2.5f);
            assertThat(row(timeIds, 1)).containsExactly(128, 64, 0, 0, 6f);
        }
    }

    private static PromptConditioner xl(Path model, boolean forceZeros) {
        return xl(model, forceZeros, 6);
    }

    private static PromptConditioner xl(Path model, boolean forceZeros, int timeIds) {
        return new PromptConditioner(ClipTokenizer.load(model.resolve("tokenizer")), encoder(model, "text_encoder"),
                ClipTokenizer.load(model.resolve("tokenizer_2")), encoder(model, "text_encoder_2"), forceZeros, timeIds);
    }
}
