package dev.asyncdiff.synthetic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtException;
import dev.asyncdiff.api.DType;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class ClipTextEncoderGraphTest {
    private static final int TOKENS = 77;

    @TempDir
    Path dir;

    @Test
    void clipTextModelPoolsTheEndOfTextStateAndIsCausal() throws OrtException {
        ClipTextConfig cfg = FamilyPreset.of(Family.SD15, Scale.TINY).textEncoder();
        int hidden = cfg.hiddenSize();
        long[] ids = prompt(cfg, new int[] {5, 17, 300}, new int[] {42});
        try (GraphRun run = new GraphRun(ClipTextEncoderGraph.build(cfg, new Weights(4), DType.FP32),
                dir.resolve("te.onnx"))) {
            assertThat(run.inputInfo().get("input_ids").type).isEqualTo(OnnxJavaType.INT64);
            assertThat(run.inputInfo().get("input_ids").getShape()).containsExactly(-1, TOKENS);
            assertThat(run.outputInfo().keySet()).containsExactly("last_hidden_state", "pooler_output");
            Map<String, GraphRun.Result> out = run.longInput("input_ids", ids, 2, TOKENS).run();
            GraphRun.Result last = out.get("last_hidden_state");
            GraphRun.Result pooled = out.get("pooler_output");
            assertThat(last.shape()).containsExactly(2, TOKENS, hidden);
            assertThat(pooled.shape()).containsExactly(2, hidden);
            assertThat(pooled.values()).containsExactly(concat(row(last, 0, 4, hidden), row(last, 1, 2, hidden)));

            long[] changed = ids.clone();
            changed[3] = 99; // first prompt, position 3
            GraphRun.Result other = run.longInput("input_ids", changed, 2, TOKENS).run().get("last_hidden_state");
            for (int position = 0; position < 3; position++) {
                assertThat(row(other, 0, position, hidden)).as("position %d sees no later token", position)
                        .containsExactly(row(last, 0, position, hidden));
            }
            assertThat(row(other, 0, 3, hidden)).isNotEqualTo(row(last, 0, 3, hidden));
            assertThat(row(other, 0, 10, hidden)).isNotEqualTo(row(last, 0, 10, hidden));
            assertThat(row(other, 1, 10, hidden)).containsExactly(row(last, 1, 10, hidden));
        }
    }

    @Test
    void projectionModelOutputsTextEmbedsAndEveryHiddenState() throws OrtException {
        ClipTextConfig cfg = FamilyPreset.of(Family.SDXL, Scale.TINY).textEncoder2();
        int hidden = cfg.hiddenSize();
        try (GraphRun run = new GraphRun(ClipTextEncoderGraph.build(cfg, new Weights(4), DType.FP32),
                dir.resolve("te2.onnx"))) {
            assertThat(run.outputInfo().keySet()).containsExactly("text_embeds", "last_hidden_state", "hidden_states.0",
                    "hidden_states.1", "hidden_states.2");
            Map<String, GraphRun.Result> out = run.longInput("input_ids", prompt(cfg, new int[] {7, 8}, new int[] {9}),
                    2, TOKENS).run();
            assertThat(out.get("text_embeds").shape()).containsExactly(2, cfg.projectionDim());
            assertThat(out.get("hidden_states.1").shape()).containsExactly(2, TOKENS, hidden);
            float[] penultimate = row(out.get("hidden_states.1"), 0, 1, hidden);
            float[] lastLayer = row(out.get("hidden_states.2"), 0, 1, hidden);
            assertThat(penultimate).isNotEqualTo(lastLayer);
            float[] normed = row(out.get("last_hidden_state"), 0, 1, hidden);
            float[] expected = layerNorm(lastLayer);
            for (int i = 0; i < hidden; i++) {
                assertThat(normed[i]).as("last_hidden_state is the final LayerNorm of hidden_states.N")
                        .isCloseTo(expected[i], within(1e-4f));
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = Family.class, names = "SVD", mode = EnumSource.Mode.EXCLUDE) // SVD conditions on an image
    void everyFamilysTinyEncodersRunWithFiniteOutputs(Family family) throws OrtException {
        FamilyPreset preset = FamilyPreset.of(family, Scale.TINY);
        for (ClipTextConfig cfg : preset.textEncoder2() == null ? List.of(preset.textEncoder())
                : List.of(preset.textEncoder(), preset.textEncoder2())) {
            try (GraphRun run = new GraphRun(ClipTextEncoderGraph.build(cfg, new Weights(6), DType.FP32),
                    dir.resolve(cfg.className() + ".onnx"))) {
                GraphRun.Result last = run.longInput("input_ids", prompt(cfg, new int[] {1, 2, 3}, new int[] {4}), 2,
                        TOKENS).run().get("last_hidden_state");
                assertThat(last.shape()).containsExactly(2, TOKENS, cfg.hiddenSize());
                assertThat(last.std()).as("layer-normed states").isBetween(0.5, 1.5);
            }
        }
    }

    @Test
    void sdxlFirstEncoderKeepsThePooledOutputAndAddsHiddenStates() throws OrtException {
        ClipTextConfig cfg = FamilyPreset.of(Family.SDXL, Scale.TINY).textEncoder();
        try (GraphRun run = new GraphRun(ClipTextEncoderGraph.build(cfg, new Weights(4), DType.FP32),
                dir.resolve("te1.onnx"))) {
            assertThat(run.outputInfo().keySet()).containsExactly("last_hidden_state", "pooler_output",
                    "hidden_states.0", "hidden_states.1", "hidden_states.2");
        }
    }

    @Test
    void namesAndActivationsFollowTransformersClip() {
        ClipTextConfig openClip = FamilyPreset.of(Family.SD21, Scale.TINY).textEncoder();
        List<String> nodes = ClipTextEncoderGraph.build(openClip, new Weights(0), DType.FP32).skeleton().getGraph()
                .getNodeList().stream().map(n -> n.getName()).toList();
        assertThat(nodes).contains("/text_model/embeddings/token_embedding/Gather",
                "/text_model/encoder/layers.1/self_attn/q_proj/MatMul", "/text_model/encoder/layers.1/mlp/fc2/Add",
                "/text_model/encoder/layers.0/mlp/activation_fn/Erf",
                "/text_model/final_layer_norm/LayerNormalization");
        ClipTextConfig openAi = FamilyPreset.of(Family.SD15, Scale.TINY).textEncoder();
        List<String> quick = ClipTextEncoderGraph.build(openAi, new Weights(0), DType.FP32).skeleton().getGraph()
                .getNodeList().stream().map(n -> n.getName()).toList();
        assertThat(quick).contains("/text_model/encoder/layers.0/mlp/activation_fn/Sigmoid")
                .doesNotContain("/text_model/encoder/layers.0/mlp/activation_fn/Erf");
        List<String> parameters = ClipTextEncoderGraph.build(FamilyPreset.of(Family.SDXL, Scale.FULL).textEncoder2(),
                new Weights(0), DType.FP16).initializers().stream().map(i -> i.name()).toList();
        assertThat(parameters).contains("text_model.embeddings.token_embedding.weight",
                "text_model.embeddings.position_embedding.weight",
                "text_model.encoder.layers.31.self_attn.out_proj.bias", "text_model.encoder.layers.0.layer_norm2.weight",
                "text_model.final_layer_norm.weight", "text_projection.weight")
                .doesNotContain("text_projection.bias");
    }

    /** Two prompts: bos, the tokens, eos, then eos padding (the SD 1.x tokenizer's padding). */
    private static long[] prompt(ClipTextConfig cfg, int[] first, int[] second) {
        long[] ids = new long[2 * TOKENS];
        int[][] prompts = {first, second};
        for (int p = 0; p < 2; p++) {
            Arrays.fill(ids, p * TOKENS, (p + 1) * TOKENS, cfg.eosTokenId());
            ids[p * TOKENS] = cfg.bosTokenId();
            for (int i = 0; i < prompts[p].length; i++) {
                ids[p * TOKENS + 1 + i] = prompts[p][i];
            }
        }
        return ids;
    }

    private static float[] row(GraphRun.Result result, int batch, int position, int hidden) {
        int start = (batch * TOKENS + position) * hidden;
        return Arrays.copyOfRange(result.values(), start, start + hidden);
    }

    private static float[] concat(float[] a, float[] b) {
        float[] both = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        return both;
    }

    private static float[] layerNorm(float[] x) {
        double mean = 0;
        for (float v : x) {
            mean += v;
        }
        mean /= x.length;
        double variance = 0;
        for (float v : x) {
            variance += (v - mean) * (v - mean);
        }
        variance /= x.length;
        float[] normed = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            normed[i] = (float) ((x[i] - mean) / Math.sqrt(variance + 1e-5));
        }
        return normed;
    }
}
