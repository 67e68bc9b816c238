package dev.asyncdiff.synthetic;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.TensorInfo;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import dev.asyncdiff.onnx.graph.GraphBuilder;
import dev.asyncdiff.onnx.graph.OnnxModel;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class UNetGraphTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(value = Family.class, names = {"SD3", "SVD", "ANIMATEDIFF"}, mode = EnumSource.Mode.EXCLUDE) // image UNets; SD 3, video: own tests
    void tinyUnetRunsWithTheStandardInputsAndOutputs(Family family) throws OrtException {
        UNetConfig cfg = FamilyPreset.of(family, Scale.TINY).unet();
        try (GraphRun run = new GraphRun(UNetGraph.build(cfg, new Weights(1), DType.FP32), dir.resolve("unet.onnx"))) {
            Map<String, TensorInfo> inputs = run.inputInfo();
            List<String> expected = family.base() == Family.SDXL
                    ? List.of("sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids")
                    : family.upscaler() ? List.of("sample", "timestep", "encoder_hidden_states", "class_labels")
                    : List.of("sample", "timestep", "encoder_hidden_states");
            assertThat(inputs.keySet()).containsExactlyInAnyOrderElementsOf(expected);
            int channels = family.inpainting() ? Family.INPAINT_CHANNELS : family.upscaler() ? Family.UPSCALE_CHANNELS : 4;
            assertThat(inputs.get("sample").getShape()).containsExactly(-1, channels, -1, -1);
            assertThat(inputs.get("timestep").getShape()).isEmpty();
            assertThat(inputs.get("timestep").type).isEqualTo(OnnxJavaType.FLOAT);
            assertThat(inputs.get("encoder_hidden_states").getShape()).containsExactly(-1, 77, cfg.crossAttentionDim());
            assertThat(run.outputInfo().keySet()).containsExactly("out_sample");

            run.randomInput("sample", 1, 2, cfg.inChannels(), 16, 8).randomInput("encoder_hidden_states", 2, 2, 77,
                    cfg.crossAttentionDim()).floatInput("timestep", new float[] {999}, new long[0]);
            if (family.base() == Family.SDXL) {
                run.randomInput("text_embeds", 3, 2, cfg.textEmbedsDim())
                        .floatInput("time_ids", new float[] {512, 512, 0, 0, 512, 512, 1024, 768, 0, 0, 1024, 768}, 2, 6);
            }
            if (family.upscaler()) {
                run.longInput("class_labels", new long[] {20, 20}, 2);
            }
            GraphRun.Result late = run.run().get("out_sample");
            assertThat(late.shape()).containsExactly(2, 4, 16, 8);
            assertThat(late.std()).isBetween(0.01, 10.0);

            run.floatInput("timestep", new float[] {1}, new long[0]);
            GraphRun.Result early = run.run().get("out_sample");
            assertThat(early.values()).as("the timestep reaches the output").isNotEqualTo(late.values());

            run.randomInput("encoder_hidden_states", 5, 2, 77, cfg.crossAttentionDim());
            assertThat(run.run().get("out_sample").values()).as("the text conditioning reaches the output")
                    .isNotEqualTo(early.values());
        }
    }

    @Test
    void upscalerEmbedsTheNoiseLevelAsClassLabels() throws OrtException {
        UNetConfig cfg = FamilyPreset.of(Family.X4_UPSCALER, Scale.TINY).unet();
        try (GraphRun run = new GraphRun(UNetGraph.build(cfg, new Weights(1), DType.FP32), dir.resolve("x4.onnx"))) {
            TensorInfo labels = run.inputInfo().get("class_labels");
            assertThat(labels.type).isEqualTo(OnnxJavaType.INT64);
            assertThat(labels.getShape()).containsExactly(-1);
            run.randomInput("sample", 1, 2, Family.UPSCALE_CHANNELS, 16, 16)
                    .randomInput("encoder_hidden_states", 2, 2, 77, cfg.crossAttentionDim())
                    .floatInput("timestep", new float[] {500}, new long[0]).longInput("class_labels", new long[] {20, 20}, 2);
            GraphRun.Result low = run.run().get("out_sample");
            assertThat(low.shape()).containsExactly(2, 4, 16, 16);
            assertThat(low.std()).isBetween(0.01, 10.0);
            run.longInput("class_labels", new long[] {350, 20}, 2);
            float[] mixed = run.run().get("out_sample").values();
            int half = mixed.length / 2;
            assertThat(Arrays.copyOfRange(mixed, 0, half)).as("noise level 350 changes its sample")
                    .isNotEqualTo(Arrays.copyOfRange(low.values(), 0, half));
            assertThat(Arrays.copyOfRange(mixed, half, mixed.length)).as("and only its own sample")
                    .containsExactly(Arrays.copyOfRange(low.values(), half, mixed.length));
        }
    }

    @Test
    void upscalerAttendsToTheTextInAttn1OfItsOuterAttentionLevels() {
        UNetConfig tiny = FamilyPreset.of(Family.X4_UPSCALER, Scale.TINY).unet();
        GraphBuilder unet = UNetGraph.build(tiny, new Weights(0), DType.FP32);
        assertThat(nodeNames(tiny)).contains("/class_embedding/Gather", "/conv_in/Conv",
                "/down_blocks.1/attentions.0/transformer_blocks.0/attn1/to_k/MatMul",
                "/down_blocks.3/attentions.0/transformer_blocks.0/attn2/to_v/MatMul",
                "/mid_block/attentions.0/transformer_blocks.0/attn1/to_q/MatMul",
                "/up_blocks.2/attentions.1/proj_out/MatMul", "/up_blocks.3/resnets.1/conv2/Conv")
                .noneMatch(name -> name.startsWith("/down_blocks.0/attentions"))
                .noneMatch(name -> name.startsWith("/up_blocks.3/attentions"));
        for (String block : List.of("down_blocks.1", "down_blocks.2", "up_blocks.1", "up_blocks.2")) {
            assertThat(keySource(unet, block, "attn1")).as(block + " attn1 (only_cross_attention)")
                    .isEqualTo("encoder_hidden_states");
        }
        for (String block : List.of("down_blocks.3", "up_blocks.0", "mid_block")) {
            assertThat(keySource(unet, block, "attn1")).as(block + " attn1 (self-attention)")
                    .isEqualTo("/" + block + "/attentions.0/transformer_blocks.0/norm1/LayerNormalization_output_0");
        }
        for (String block : List.of("down_blocks.1", "down_blocks.3", "mid_block", "up_blocks.0", "up_blocks.2")) {
            assertThat(keySource(unet, block, "attn2")).as(block + " attn2").isEqualTo("encoder_hidden_states");
        }
        GraphBuilder full = UNetGraph.build(FamilyPreset.of(Family.X4_UPSCALER, Scale.FULL).unet(), new Weights(0),
                DType.FP16);
        assertThat(shape(full, "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_k.weight"))
                .as("[in, out]: keys projected from the 1024-wide text").containsExactly(1024, 512);
        assertThat(shape(full, "down_blocks.0.resnets.0.conv1.weight")).containsExactly(256, 256, 3, 3);
        assertThat(shape(full, "conv_in.weight")).containsExactly(256, 7, 3, 3);
        assertThat(shape(unet, "class_embedding.weight")).containsExactly(1000, tiny.timeEmbedDim());
    }

    /** The tensor that the first transformer block's {@code attn}'s {@code to_k} projects in {@code block}. */
    private static String keySource(GraphBuilder graph, String block, String attn) {
        String node = "/" + block + "/attentions.0/transformer_blocks.0/" + attn + "/to_k/MatMul";
        return graph.skeleton().getGraph().getNodeList().stream().filter(n -> n.getName().equals(node)).findFirst()
                .orElseThrow(() -> new AssertionError("no node " + node)).getInput(0);
    }

    private static long[] shape(GraphBuilder graph, String name) {
        return graph.initializers().stream().filter(i -> i.name().equals(name)).findFirst().orElseThrow().shape();
    }

    @Test
    void nodeNamesFollowTheTorchExport() {
        assertThat(nodeNames(FamilyPreset.of(Family.SD15, Scale.TINY).unet())).contains(
                "/conv_in/Conv", "/time_proj/Sin", "/time_embedding/linear_1/MatMul",
                "/down_blocks.0/resnets.0/conv1/Conv", "/down_blocks.0/resnets.0/time_emb_proj/MatMul",
                "/down_blocks.1/attentions.0/proj_in/Conv",
                "/down_blocks.1/attentions.0/transformer_blocks.0/attn2/to_k/MatMul",
                "/down_blocks.1/attentions.0/transformer_blocks.0/ff/net.0/proj/MatMul",
                "/down_blocks.0/downsamplers.0/conv/Conv", "/mid_block/resnets.1/conv2/Conv",
                "/mid_block/attentions.0/transformer_blocks.0/attn1/to_q/MatMul",
                "/up_blocks.0/resnets.0/conv_shortcut/Conv", "/up_blocks.0/upsamplers.0/Resize",
                "/up_blocks.1/attentions.1/proj_out/Conv", "/conv_norm_out/InstanceNormalization",
                "/conv_out/Conv");
        List<String> xl = nodeNames(FamilyPreset.of(Family.SDXL, Scale.TINY).unet());
        assertThat(xl).contains("/add_time_proj/Sin", "/add_embedding/linear_1/MatMul", "/add_embedding/linear_2/Add",
                "/down_blocks.1/attentions.0/proj_in/MatMul",
                "/down_blocks.2/attentions.0/transformer_blocks.1/attn2/to_v/MatMul",
                "/up_blocks.0/attentions.1/transformer_blocks.1/ff/net.2/MatMul");
        assertThat(xl).noneMatch(name -> name.startsWith("/down_blocks.0/attentions"))
                .noneMatch(name -> name.startsWith("/up_blocks.2/attentions"));
    }

    @Test
    void fullSdxlNamesItsParametersLikeDiffusers() {
        GraphBuilder unet = UNetGraph.build(FamilyPreset.of(Family.SDXL, Scale.FULL).unet(), new Weights(0), DType.FP16);
        List<String> names = unet.initializers().stream().map(i -> i.name()).toList();
        assertThat(names).contains("down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight",
                "down_blocks.2.attentions.1.transformer_blocks.9.ff.net.0.proj.weight",
                "mid_block.attentions.0.transformer_blocks.9.norm3.bias", "add_embedding.linear_1.weight",
                "up_blocks.0.attentions.2.transformer_blocks.9.attn1.to_out.0.bias", "conv_out.weight")
                .doesNotContain("down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.bias",
                        "down_blocks.2.attentions.0.transformer_blocks.10.norm1.weight");
        assertThat(unet.initializers().stream().filter(i -> i.name().equals("add_embedding.linear_1.weight"))
                .findFirst().orElseThrow().shape()).containsExactly(2816, 1280);
    }

    @Test
    void headsFollowEachFamily() {
        assertThat(headSplit(Family.SD15, "down_blocks.0")).containsExactly(0, 0, 8, 40);
        assertThat(headSplit(Family.SD15, "mid_block")).containsExactly(0, 0, 8, 160);
        assertThat(headSplit(Family.SD21, "down_blocks.0")).containsExactly(0, 0, 5, 64);
        assertThat(headSplit(Family.SD21, "up_blocks.1")).containsExactly(0, 0, 20, 64);
        assertThat(headSplit(Family.SDXL, "down_blocks.2")).containsExactly(0, 0, 20, 64);
        assertThat(headSplit(Family.SDXL, "up_blocks.1")).containsExactly(0, 0, 10, 64);
    }

    /** The [0, 0, heads, head_dim] constant that splits the first self-attention's queries of a block. */
    private static long[] headSplit(Family family, String block) {
        GraphBuilder unet = UNetGraph.build(FamilyPreset.of(family, Scale.FULL).unet(), new Weights(0), DType.FP16);
        String prefix = "/" + block + "/attentions.0/transformer_blocks.0/attn1/Constant";
        NodeProto constant = unet.skeleton().getGraph().getNodeList().stream()
                .filter(node -> node.getName().equals(prefix)).findFirst().orElseThrow();
        TensorProto value = constant.getAttribute(0).getT();
        ByteBuffer bytes = value.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        long[] values = new long[bytes.remaining() / Long.BYTES];
        bytes.asLongBuffer().get(values);
        return values;
    }

    @Test
    void sameSeedWritesIdenticalBytesAndAnotherSeedDoesNot() throws IOException {
        UNetConfig cfg = FamilyPreset.of(Family.SD21, Scale.TINY).unet();
        Path a = dir.resolve("a.onnx");
        Path b = dir.resolve("b.onnx");
        Path c = dir.resolve("c.onnx");
        UNetGraph.build(cfg, new Weights(42), DType.FP32).write(a, ExternalDataPolicy.INLINE);
        UNetGraph.build(cfg, new Weights(42), DType.FP32).write(b, ExternalDataPolicy.INLINE);
        UNetGraph.build(cfg, new Weights(43), DType.FP32).write(c, ExternalDataPolicy.INLINE);
        assertThat(Files.readAllBytes(a)).isEqualTo(Files.readAllBytes(b)).isNotEqualTo(Files.readAllBytes(c));
    }

    @Test
    void halfPrecisionGraphDeclaresFp16TensorsAndAFloatTimestep() {
        GraphBuilder unet = UNetGraph.build(FamilyPreset.of(Family.SDXL, Scale.TINY).unet(), new Weights(0), DType.FP16);
        Path file = dir.resolve("fp16.onnx");
        unet.write(file, ExternalDataPolicy.EXTERNAL);
        OnnxModel model = OnnxModel.load(file);
        assertThat(model.graph().getInputList()).extracting(v -> v.getName() + ":" + v.getType().getTensorType().getElemType())
                .containsExactly("sample:10", "timestep:1", "encoder_hidden_states:10", "text_embeds:10", "time_ids:10");
        assertThat(model.graph().getOutput(0).getType().getTensorType().getElemType()).isEqualTo(10);
        assertThat(unet.initializers()).allMatch(i -> i.dtype() == DType.FP16);
    }

    private static List<String> nodeNames(UNetConfig cfg) {
        return UNetGraph.build(cfg, new Weights(0), DType.FP32).skeleton().getGraph().getNodeList().stream()
                .map(node -> node.getName()).toList();
    }
}
