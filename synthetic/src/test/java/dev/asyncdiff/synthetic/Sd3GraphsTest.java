package dev.asyncdiff.synthetic;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnxruntime.OrtException;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.GraphBuilder;
import dev.asyncdiff.onnx.graph.Initializer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The synthetic SD 3 graphs: the MMDiT transformer and the T5 encoder. */
class Sd3GraphsTest {
    private static final FamilyPreset TINY = FamilyPreset.of(Family.SD3, Scale.TINY);

    @TempDir
    Path dir;

    @Test
    void transformerHasOptimumsContractAndRunsAtAnySizeWithinThePositionGrid() throws OrtException {
        Sd3TransformerConfig cfg = TINY.transformer();
        try (GraphRun run = new GraphRun(Sd3TransformerGraph.build(cfg, new Weights(7), DType.FP32),
                dir.resolve("transformer.onnx"))) {
            assertThat(run.inputInfo().keySet()).containsExactly("hidden_states", "encoder_hidden_states",
                    "pooled_projections", "timestep");
            assertThat(run.inputInfo().get("hidden_states").getShape()).containsExactly(-1, 16, -1, -1);
            assertThat(run.inputInfo().get("encoder_hidden_states").getShape()).containsExactly(-1, -1, 128);
            assertThat(run.inputInfo().get("pooled_projections").getShape()).containsExactly(-1, 64);
            assertThat(run.inputInfo().get("timestep").getShape()).containsExactly(-1);
            assertThat(run.outputInfo().keySet()).containsExactly("out_hidden_states");
            for (long[] size : new long[][] {{8, 12}, {48, 48}}) {
                GraphRun.Result out = run.randomInput("hidden_states", 1, 2, 16, size[0], size[1])
                        .randomInput("encoder_hidden_states", 2, 2, 333, 128).randomInput("pooled_projections", 3, 2, 64)
                        .floatInput("timestep", new float[] {1000f, 1000f}, 2).run().get("out_hidden_states");
                assertThat(out.shape()).containsExactly(2, 16, size[0], size[1]);
                assertThat(out.std()).as("a prediction of order one").isBetween(0.01, 10.0);
            }
        }
    }

    @Test
    void predictionDependsOnTheTextThePooledEmbeddingAndTheTimestep() throws OrtException {
        try (GraphRun run = new GraphRun(Sd3TransformerGraph.build(TINY.transformer(), new Weights(7), DType.FP32),
                dir.resolve("transformer.onnx"))) {
            run.randomInput("hidden_states", 1, 1, 16, 8, 8).randomInput("encoder_hidden_states", 2, 1, 20, 128)
                    .randomInput("pooled_projections", 3, 1, 64).floatInput("timestep", new float[] {500f}, 1);
            float[] base = run.run().get("out_hidden_states").values();
            float[] text = run.randomInput("encoder_hidden_states", 4, 1, 20, 128).run().get("out_hidden_states").values();
            float[] pooled = run.randomInput("encoder_hidden_states", 2, 1, 20, 128)
                    .randomInput("pooled_projections", 5, 1, 64).run().get("out_hidden_states").values();
            float[] time = run.randomInput("pooled_projections", 3, 1, 64).floatInput("timestep", new float[] {20f}, 1)
                    .run().get("out_hidden_states").values();
            float[] again = run.floatInput("timestep", new float[] {500f}, 1).run().get("out_hidden_states").values();
            assertThat(again).containsExactly(base);
            assertThat(maxDifference(base, text)).isGreaterThan(1e-3);
            assertThat(maxDifference(base, pooled)).isGreaterThan(1e-3);
            assertThat(maxDifference(base, time)).isGreaterThan(1e-3);
        }
    }

    @Test
    void transformerIsNamedAsATorchExportNamesIt() {
        Sd3TransformerConfig cfg = TINY.transformer();
        GraphBuilder graph = Sd3TransformerGraph.build(cfg, new Weights(0), DType.FP32);
        List<String> nodes = graph.skeleton().getGraph().getNodeList().stream().map(NodeProto::getName).toList();
        assertThat(nodes).contains("/pos_embed/proj/Conv", "/time_text_embed/timestep_embedder/linear_1/MatMul",
                "/time_text_embed/text_embedder/linear_2/MatMul", "/context_embedder/MatMul",
                "/transformer_blocks.0/norm1/linear/MatMul", "/transformer_blocks.0/attn/to_q/MatMul",
                "/transformer_blocks.0/attn/add_k_proj/MatMul", "/transformer_blocks.0/attn/to_add_out/MatMul",
                "/transformer_blocks.0/ff_context/net.2/MatMul", "/transformer_blocks.11/ff/net.0/proj/MatMul",
                "/norm_out/linear/MatMul", "/proj_out/MatMul");
        Map<String, List<Long>> shapes = graph.initializers().stream().collect(Collectors.toMap(Initializer::name,
                i -> java.util.Arrays.stream(i.shape()).boxed().toList()));
        int c = cfg.innerDim();
        assertThat(shapes).containsEntry("pos_embed.pos_embed", List.of(1L, 24L * 24, (long) c))
                .containsEntry("pos_embed.proj.weight", List.of((long) c, 16L, 2L, 2L))
                .containsEntry("transformer_blocks.0.norm1_context.linear.weight", List.of((long) c, 6L * c))
                .containsEntry("transformer_blocks.11.norm1_context.linear.weight", List.of((long) c, 2L * c))
                .containsEntry("norm_out.linear.weight", List.of((long) c, 2L * c))
                .containsEntry("proj_out.weight", List.of((long) c, 2L * 2 * 16));
        assertThat(shapes.keySet()).as("the last block is context pre-only")
                .noneMatch(name -> name.startsWith("transformer_blocks.11.attn.to_add_out")
                        || name.startsWith("transformer_blocks.11.ff_context") || name.startsWith("transformer_blocks.12"))
                .contains("transformer_blocks.10.attn.to_add_out.weight", "transformer_blocks.10.ff_context.net.2.weight");
    }

    @Test
    void t5EncoderRunsAtAnySequenceLengthWithRmsNormedStates() throws OrtException {
        T5EncoderConfig cfg = TINY.textEncoder3();
        GraphBuilder graph = T5EncoderGraph.build(cfg, new Weights(9), DType.FP32);
        assertThat(graph.initializers().stream().map(Initializer::name)).contains("shared.weight",
                "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
                "encoder.block.1.layer.1.DenseReluDense.wi_0.weight", "encoder.final_layer_norm.weight")
                .noneMatch(name -> name.endsWith(".bias") || name.startsWith("encoder.block.1.layer.0.SelfAttention.rel"));
        try (GraphRun run = new GraphRun(graph, dir.resolve("t5.onnx"))) {
            assertThat(run.inputInfo().keySet()).containsExactly("input_ids");
            assertThat(run.outputInfo().keySet()).containsExactly("last_hidden_state");
            for (int length : new int[] {5, 256}) {
                long[] ids = new long[2 * length];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = i % length == length - 1 ? T5EncoderConfig.EOS_ID : 3 + (i * 17L) % (cfg.vocabSize() - 3);
                }
                GraphRun.Result states = run.longInput("input_ids", ids, 2, length).run().get("last_hidden_state");
                assertThat(states.shape()).containsExactly(2, length, cfg.dModel());
                assertThat(states.std()).as("RMS-normed states").isBetween(0.5, 1.5);
            }
        }
    }

    @Test
    void t5StatesDependOnTheOtherTokens() throws OrtException {
        try (GraphRun run = new GraphRun(T5EncoderGraph.build(TINY.textEncoder3(), new Weights(9), DType.FP32),
                dir.resolve("t5.onnx"))) {
            float[] a = run.longInput("input_ids", new long[] {5, 6, 7, 1}, 1, 4).run().get("last_hidden_state").values();
            float[] b = run.longInput("input_ids", new long[] {5, 6, 8, 1}, 1, 4).run().get("last_hidden_state").values();
            int d = TINY.textEncoder3().dModel();
            float[] firstA = java.util.Arrays.copyOf(a, d);
            float[] firstB = java.util.Arrays.copyOf(b, d);
            assertThat(maxDifference(firstA, firstB)).as("token 0 attends to token 2").isGreaterThan(1e-4);
        }
    }

    private static double maxDifference(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }
}
