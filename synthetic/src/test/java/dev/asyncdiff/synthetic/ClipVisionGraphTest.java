package dev.asyncdiff.synthetic;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OrtException;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import dev.asyncdiff.onnx.graph.GraphBuilder;
import dev.asyncdiff.onnx.graph.Initializer;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClipVisionGraphTest {
    private static final ClipVisionConfig TINY = ClipVisionConfig.of(Scale.TINY);
    private static final int IMAGE_VALUES = 3 * 224 * 224;

    @TempDir
    Path dir;

    @Test
    void imageEmbedsProjectThePostNormedClassToken() throws OrtException {
        int hidden = TINY.hiddenSize();
        GraphBuilder graph = ClipVisionGraph.build(TINY, new Weights(8), DType.FP32);
        float[] projection = floats(graph, "visual_projection.weight");
        try (GraphRun run = new GraphRun(graph, dir.resolve("image_encoder.onnx"))) {
            assertThat(run.inputInfo().keySet()).containsExactly("pixel_values");
            assertThat(run.inputInfo().get("pixel_values").getShape()).containsExactly(-1, 3, 224, 224);
            assertThat(run.outputInfo().keySet()).containsExactly("image_embeds", "last_hidden_state");
            Map<String, GraphRun.Result> out = run.floatInput("pixel_values", images(2, 1), 2, 3, 224, 224).run();
            GraphRun.Result embeds = out.get("image_embeds");
            GraphRun.Result last = out.get("last_hidden_state");
            assertThat(embeds.shape()).containsExactly(2, TINY.projectionDim());
            assertThat(last.shape()).containsExactly(2, 17, hidden);
            assertThat(embeds.std()).isBetween(0.05, 20.0);
            for (int b = 0; b < 2; b++) {
                float[] classToken = Arrays.copyOfRange(last.values(), b * 17 * hidden, (b * 17 + 1) * hidden);
                float[] expected = Reference.matmul(Reference.layerNorm(classToken, TINY.layerNormEps()), projection,
                        hidden, TINY.projectionDim());
                assertClose(slice(embeds, b), expected, 1e-4);
            }
        }
    }

    @Test
    void batchItemsAreIndependentAndThePooledTokenSeesEveryPatch() throws OrtException {
        try (GraphRun run = new GraphRun(ClipVisionGraph.build(TINY, new Weights(8), DType.FP32),
                dir.resolve("image_encoder.onnx"))) {
            float[] pair = images(2, 3);
            Map<String, GraphRun.Result> both = run.floatInput("pixel_values", pair, 2, 3, 224, 224).run();
            float[] first = Arrays.copyOf(pair, IMAGE_VALUES);
            Map<String, GraphRun.Result> alone = run.floatInput("pixel_values", first, 1, 3, 224, 224).run();
            assertClose(slice(both.get("image_embeds"), 0), alone.get("image_embeds").values(), 1e-5);
            assertClose(slice(both.get("last_hidden_state"), 0), alone.get("last_hidden_state").values(), 1e-5);

            float[] changed = pair.clone();
            int patch = 56;
            for (int c = 0; c < 3; c++) { // the patch in grid row 2, column 1 of image 1
                for (int y = 2 * patch; y < 3 * patch; y++) {
                    for (int x = patch; x < 2 * patch; x++) {
                        changed[IMAGE_VALUES + (c * 224 + y) * 224 + x] += 0.5f;
                    }
                }
            }
            Map<String, GraphRun.Result> other = run.floatInput("pixel_values", changed, 2, 3, 224, 224).run();
            assertClose(slice(other.get("image_embeds"), 0), slice(both.get("image_embeds"), 0), 1e-6);
            assertThat(maxDifference(slice(other.get("image_embeds"), 1), slice(both.get("image_embeds"), 1)))
                    .as("one patch moves the class token's embedding").isGreaterThan(1e-3);
        }
    }

    /** An independent forward pass in plain Java over the graph's own initializers. */
    @Test
    void matchesAReferenceVisionTransformer() throws OrtException {
        GraphBuilder graph = ClipVisionGraph.build(TINY, new Weights(21), DType.FP32);
        Map<String, float[]> weights = new HashMap<>();
        for (Initializer initializer : graph.initializers()) {
            weights.put(initializer.name(), floats(initializer));
        }
        float[] image = images(1, 5);
        try (GraphRun run = new GraphRun(graph, dir.resolve("image_encoder.onnx"))) {
            Map<String, GraphRun.Result> out = run.floatInput("pixel_values", image, 1, 3, 224, 224).run();
            Reference reference = new Reference(TINY, weights);
            float[][] last = reference.lastHiddenState(image);
            float[] flat = new float[last.length * TINY.hiddenSize()];
            for (int t = 0; t < last.length; t++) {
                System.arraycopy(last[t], 0, flat, t * TINY.hiddenSize(), TINY.hiddenSize());
            }
            assertClose(out.get("last_hidden_state").values(), flat, 2e-4);
            assertClose(out.get("image_embeds").values(), reference.imageEmbeds(last), 2e-4);
        }
    }

    @Test
    void fp16TowerRuns() throws OrtException {
        Path model = dir.resolve("image_encoder_fp16.onnx");
        ClipVisionGraph.build(TINY, new Weights(8), DType.FP16).write(model, ExternalDataPolicy.AUTO);
        Map<String, OrtRunner.Output> out = OrtRunner.run(model,
                Map.of("pixel_values", OrtRunner.Input.random(4, 2, 3, 224, 224)));
        assertThat(out.get("image_embeds").shape()).containsExactly(2, TINY.projectionDim());
        out.get("image_embeds").assertFiniteAndVaried("fp16 image_embeds");
        out.get("last_hidden_state").assertFiniteAndVaried("fp16 last_hidden_state");
    }

    /**
     * SVD's image encoder, laion CLIP-ViT-H-14 with projection, has 632,076,800 parameters. Sources: the Ctrl-Crash
     * paper's Table G.6 (an SVD img2vid-xt fine-tune) counts its CLIP image encoder at 632,076,800; a published
     * CLIP comparison table lists laion--CLIP-ViT-H-14-laion2B-s32B-b79K's vision tower at 632,076,800 with
     * 629,678,080 in its encoder layers; a try-on training script (which loads the same image encoder) notes
     * {@code image_encoder ## 632,076,800}. Derivation: embeddings, class_embedding 1280 + patch_embedding
     * 3 * 14 * 14 * 1280 (no bias) + position_embedding 257 * 1280: 1,082,880; pre_layrnorm 2,560; 32 layers of
     * q/k/v/out_proj 4 * (1280^2 + 1280), two LayerNorms 5,120, fc1 1280 * 5120 + 5120, fc2 5120 * 1280 + 1280:
     * 19,677,440 each, 629,678,080; post_layernorm 2,560; visual_projection 1280 * 1024 (no bias) 1,310,720.
     */
    @Test
    void fullTowerMatchesTheReleasedImageEncoder() {
        GraphBuilder full = ClipVisionGraph.build(ClipVisionConfig.of(Scale.FULL), new Weights(0), DType.FP16);
        Map<String, Long> modules = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        for (Initializer initializer : full.initializers()) {
            String[] parts = initializer.name().split("\\.");
            String module = parts[0].equals("vision_model") ? parts[1] : parts[0];
            modules.merge(module, initializer.elementCount(), Long::sum);
            shapes.put(initializer.name(), initializer.shape());
        }
        assertThat(modules).containsExactly(Map.entry("embeddings", 1_082_880L), Map.entry("pre_layrnorm", 2_560L),
                Map.entry("encoder", 629_678_080L), Map.entry("post_layernorm", 2_560L),
                Map.entry("visual_projection", 1_310_720L));
        assertThat(full.parameterCount()).isEqualTo(632_076_800L);
        assertThat(shapes.get("vision_model.embeddings.class_embedding")).containsExactly(1280);
        assertThat(shapes.get("vision_model.embeddings.patch_embedding.weight")).containsExactly(1280, 3, 14, 14);
        assertThat(shapes.get("vision_model.embeddings.position_embedding.weight")).containsExactly(257, 1280);
        assertThat(shapes.get("vision_model.encoder.layers.31.mlp.fc1.weight")).containsExactly(1280, 5120);
        assertThat(shapes.get("visual_projection.weight")).containsExactly(1280, 1024);
        assertThat(shapes).containsKeys("vision_model.encoder.layers.0.self_attn.q_proj.bias",
                "vision_model.encoder.layers.0.layer_norm2.weight", "vision_model.post_layernorm.bias")
                .doesNotContainKeys("vision_model.embeddings.patch_embedding.bias", "visual_projection.bias");
    }

    @Test
    void configFilesHaveTransformersKeys() {
        Map<String, Object> config = ClipVisionConfig.of(Scale.FULL).toDiffusersConfig();
        assertThat(config).containsEntry("architectures", List.of("CLIPVisionModelWithProjection"))
                .containsEntry("model_type", "clip_vision_model").containsEntry("hidden_size", 1280)
                .containsEntry("intermediate_size", 5120).containsEntry("num_hidden_layers", 32)
                .containsEntry("num_attention_heads", 16).containsEntry("patch_size", 14)
                .containsEntry("image_size", 224).containsEntry("projection_dim", 1024)
                .containsEntry("hidden_act", "gelu").containsEntry("layer_norm_eps", 1e-5)
                .containsEntry("num_channels", 3);
        Map<String, Object> preprocessor = TINY.preprocessorConfig();
        assertThat(preprocessor).containsEntry("crop_size", 224).containsEntry("do_center_crop", true)
                .containsEntry("do_normalize", true).containsEntry("do_resize", true).containsEntry("resample", 3)
                .containsEntry("image_mean", List.of(0.48145466, 0.4578275, 0.40821073))
                .containsEntry("image_std", List.of(0.26862954, 0.26130258, 0.27577711))
                .containsEntry("size", Map.of("shortest_edge", 224))
                .containsEntry("feature_extractor_type", "CLIPFeatureExtractor")
                .containsEntry("image_processor_type", "CLIPImageProcessor");
        assertThat(Json.toPrettyString(preprocessor)).contains("\"shortest_edge\": 224", "0.48145466");
        for (Scale scale : Scale.values()) {
            assertThat(ClipVisionConfig.of(scale).imageSize()).as(scale.cliName()).isEqualTo(224);
        }
        assertThat(TINY.tokenCount()).isEqualTo(17);
    }

    private static float[] images(int count, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] values = new float[count * IMAGE_VALUES];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (2 * random.nextDouble() - 1);
        }
        return values;
    }

    private static float[] slice(GraphRun.Result result, int item) {
        int size = result.values().length / (int) result.shape()[0];
        return Arrays.copyOfRange(result.values(), item * size, (item + 1) * size);
    }

    private static float[] floats(GraphBuilder graph, String name) {
        return floats(graph.initializers().stream().filter(i -> i.name().equals(name)).findFirst().orElseThrow());
    }

    private static float[] floats(Initializer initializer) {
        FloatBuffer buffer = initializer.bytes().asFloatBuffer();
        float[] values = new float[buffer.remaining()];
        buffer.get(values);
        return values;
    }

    private static void assertClose(float[] actual, float[] expected, double tolerance) {
        assertThat(actual).hasSameSizeAs(expected);
        for (int i = 0; i < actual.length; i++) {
            double bound = tolerance * (1 + Math.abs(expected[i]));
            assertThat((double) Math.abs(actual[i] - expected[i])).as("element %d: %s vs %s", i, actual[i], expected[i])
                    .isLessThanOrEqualTo(bound);
        }
    }

    private static double maxDifference(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }

    /** transformers' {@code CLIPVisionModelWithProjection.forward} for one image, in doubles, from named weights. */
    private record Reference(ClipVisionConfig cfg, Map<String, float[]> w) {
        float[][] lastHiddenState(float[] image) {
            int hidden = cfg.hiddenSize();
            int patch = cfg.patchSize();
            int grid = cfg.gridSize();
            String e = "vision_model.embeddings.";
            float[] conv = w.get(e + "patch_embedding.weight");
            float[] positions = w.get(e + "position_embedding.weight");
            float[][] h = new float[cfg.tokenCount()][hidden];
            h[0] = w.get(e + "class_embedding").clone();
            for (int gy = 0; gy < grid; gy++) {
                for (int gx = 0; gx < grid; gx++) {
                    float[] token = h[1 + gy * grid + gx];
                    for (int o = 0; o < hidden; o++) {
                        double sum = 0;
                        for (int c = 0; c < 3; c++) {
                            for (int ky = 0; ky < patch; ky++) {
                                for (int kx = 0; kx < patch; kx++) {
                                    sum += conv[((o * 3 + c) * patch + ky) * patch + kx]
                                            * image[(c * cfg.imageSize() + gy * patch + ky) * cfg.imageSize() + gx * patch + kx];
                                }
                            }
                        }
                        token[o] = (float) sum;
                    }
                }
            }
            for (int t = 0; t < h.length; t++) {
                for (int d = 0; d < hidden; d++) {
                    h[t][d] += positions[t * hidden + d];
                }
                h[t] = layerNorm(h[t], cfg.layerNormEps());
            }
            for (int l = 0; l < cfg.numHiddenLayers(); l++) {
                h = layer(h, "vision_model.encoder.layers." + l + ".");
            }
            return h;
        }

        float[] imageEmbeds(float[][] last) {
            return matmul(layerNorm(last[0], cfg.layerNormEps()), w.get("visual_projection.weight"), cfg.hiddenSize(),
                    cfg.projectionDim());
        }

        private float[][] layer(float[][] x, String p) {
            int hidden = cfg.hiddenSize();
            int heads = cfg.numAttentionHeads();
            int headDim = hidden / heads;
            int tokens = x.length;
            float[][] q = new float[tokens][];
            float[][] k = new float[tokens][];
            float[][] v = new float[tokens][];
            for (int t = 0; t < tokens; t++) {
                float[] normed = layerNorm(x[t], cfg.layerNormEps());
                q[t] = linear(normed, p + "self_attn.q_proj", hidden, hidden);
                k[t] = linear(normed, p + "self_attn.k_proj", hidden, hidden);
                v[t] = linear(normed, p + "self_attn.v_proj", hidden, hidden);
            }
            float[][] out = new float[tokens][];
            for (int t = 0; t < tokens; t++) {
                float[] context = new float[hidden];
                for (int head = 0; head < heads; head++) {
                    double[] scores = new double[tokens];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int s = 0; s < tokens; s++) {
                        double dot = 0;
                        for (int d = 0; d < headDim; d++) {
                            dot += q[t][head * headDim + d] * k[s][head * headDim + d];
                        }
                        scores[s] = dot / Math.sqrt(headDim);
                        max = Math.max(max, scores[s]);
                    }
                    double total = 0;
                    for (int s = 0; s < tokens; s++) {
                        scores[s] = Math.exp(scores[s] - max);
                        total += scores[s];
                    }
                    for (int s = 0; s < tokens; s++) {
                        for (int d = 0; d < headDim; d++) {
                            context[head * headDim + d] += (float) (scores[s] / total * v[s][head * headDim + d]);
                        }
                    }
                }
                float[] h = add(x[t], linear(context, p + "self_attn.out_proj", hidden, hidden));
                float[] up = linear(layerNorm(h, cfg.layerNormEps()), p + "mlp.fc1", hidden, cfg.intermediateSize());
                for (int i = 0; i < up.length; i++) {
                    up[i] = (float) (0.5 * up[i] * (1 + erf(up[i] / Math.sqrt(2))));
                }
                out[t] = add(h, linear(up, p + "mlp.fc2", cfg.intermediateSize(), hidden));
            }
            return out;
        }

        private float[] linear(float[] x, String name, int in, int out) {
            float[] y = matmul(x, w.get(name + ".weight"), in, out);
            float[] bias = w.get(name + ".bias");
            for (int o = 0; o < out; o++) {
                y[o] += bias[o];
            }
            return y;
        }

        /** {@code x [in]} times a transposed linear weight {@code [in, out]}. */
        static float[] matmul(float[] x, float[] weight, int in, int out) {
            float[] y = new float[out];
            for (int o = 0; o < out; o++) {
                double sum = 0;
                for (int i = 0; i < in; i++) {
                    sum += x[i] * weight[i * out + o];
                }
                y[o] = (float) sum;
            }
            return y;
        }

        /** LayerNorm with the graph's unit weight and zero bias. */
        static float[] layerNorm(float[] x, double eps) {
            double mean = 0;
            for (float value : x) {
                mean += value;
            }
            mean /= x.length;
            double variance = 0;
            for (float value : x) {
                variance += (value - mean) * (value - mean);
            }
            variance /= x.length;
            float[] y = new float[x.length];
            for (int i = 0; i < x.length; i++) {
                y[i] = (float) ((x[i] - mean) / Math.sqrt(variance + eps));
            }
            return y;
        }

        private static float[] add(float[] a, float[] b) {
            float[] sum = new float[a.length];
            for (int i = 0; i < a.length; i++) {
                sum[i] = a[i] + b[i];
            }
            return sum;
        }

        /** The error function to about 1e-7 (Abramowitz and Stegun 7.1.26), enough against a float graph. */
        private static double erf(double x) {
            double t = 1 / (1 + 0.3275911 * Math.abs(x));
            double poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027
                    + t * 1.061405429))));
            double y = 1 - poly * Math.exp(-x * x);
            return x >= 0 ? y : -y;
        }
    }
}
