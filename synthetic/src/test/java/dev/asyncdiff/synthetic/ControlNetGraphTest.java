package dev.asyncdiff.synthetic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.TensorInfo;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import dev.asyncdiff.onnx.graph.GraphBuilder;
import dev.asyncdiff.onnx.graph.Initializer;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The ControlNet graph in ONNX Runtime: OnnxStack's inputs and outputs, residual shapes, conditioning scale. */
class ControlNetGraphTest {
    /** Latent side of the runs; the control image is 8 times that. */
    private static final int LATENT = 16;
    private static final int BATCH = 2;

    @TempDir
    Path dir;

    /** OnnxStack's residual table at full scale: SD 1.5 (12 down residuals) and SDXL (9), channels and downscale. */
    @Test
    void fullScaleResidualsAreTheReferenceTable() {
        UNetConfig sd15 = FamilyPreset.of(Family.SD15, Scale.FULL).unet();
        assertThat(sd15.downResidualChannels())
                .containsExactly(320, 320, 320, 320, 640, 640, 640, 1280, 1280, 1280, 1280, 1280);
        assertThat(sd15.downResidualScales()).containsExactly(1, 1, 1, 2, 2, 2, 4, 4, 4, 8, 8, 8);
        UNetConfig sdxl = FamilyPreset.of(Family.SDXL, Scale.FULL).unet();
        assertThat(sdxl.downResidualChannels()).containsExactly(320, 320, 320, 320, 640, 640, 640, 1280, 1280);
        assertThat(sdxl.downResidualScales()).containsExactly(1, 1, 1, 2, 2, 2, 4, 4, 4);
        assertThat(ControlNetConfig.of(Family.SD15, Scale.FULL).downResidualCount()).isEqualTo(12);
        assertThat(ControlNetConfig.of(Family.SDXL, Scale.FULL).downResidualCount()).isEqualTo(9);
    }

    /**
     * The tiny ControlNet with the released models' two layers per block, so that it has the reference table's
     * residual count: SD 1.5's 12 (channels 4 x c0, 3 x c1, 5 x c2 at s, s, s, s/2 x 3, s/4 x 3, s/8 x 3) and mid
     * at s/8; SDXL's 9 and mid at s/4; the tiny widths instead of 320, 640, 1280.
     */
    @ParameterizedTest
    @EnumSource(value = Family.class, names = {"SD15", "SDXL"})
    void tinyControlNetRunsWithOnnxStackInputsAndTheReferenceResidualShapes(Family family) throws OrtException {
        UNetConfig tiny = withLayersPerBlock(FamilyPreset.of(family, Scale.TINY).unet(), 2);
        ControlNetConfig cfg = new ControlNetConfig(tiny, ControlNetConfig.of(family, Scale.TINY)
                .conditioningEmbeddingOutChannels());
        List<Integer> c = tiny.blockOutChannels();
        int s = LATENT;
        List<long[]> expected = family == Family.SD15
                ? List.of(shape(c.get(0), s), shape(c.get(0), s), shape(c.get(0), s), shape(c.get(0), s / 2),
                        shape(c.get(1), s / 2), shape(c.get(1), s / 2), shape(c.get(1), s / 4),
                        shape(c.get(2), s / 4), shape(c.get(2), s / 4), shape(c.get(2), s / 8),
                        shape(c.get(3), s / 8), shape(c.get(3), s / 8), shape(c.get(3), s / 8))
                : List.of(shape(c.get(0), s), shape(c.get(0), s), shape(c.get(0), s), shape(c.get(0), s / 2),
                        shape(c.get(1), s / 2), shape(c.get(1), s / 2), shape(c.get(1), s / 4),
                        shape(c.get(2), s / 4), shape(c.get(2), s / 4), shape(c.get(2), s / 4));
        try (GraphRun run = open(cfg, "controlnet.onnx")) {
            Map<String, TensorInfo> inputs = run.inputInfo();
            assertThat(inputs.keySet()).containsExactlyElementsOf(family == Family.SDXL
                    ? List.of("sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids", "controlnet_cond",
                    "conditioning_scale")
                    : List.of("sample", "timestep", "encoder_hidden_states", "controlnet_cond", "conditioning_scale"));
            assertThat(inputs.get("controlnet_cond").getShape()).containsExactly(-1, 3, -1, -1);
            assertThat(inputs.get("conditioning_scale").type).isEqualTo(OnnxJavaType.DOUBLE);
            assertThat(inputs.get("conditioning_scale").getShape()).containsExactly(1);
            assertThat(inputs.get("timestep").getShape()).isEmpty();
            List<String> outputs = new ArrayList<>();
            IntStream.range(0, expected.size() - 1).forEach(k -> outputs.add("down_block_" + k + "_additional_residual"));
            outputs.add("mid_block_additional_residual");
            assertThat(run.outputInfo().keySet()).containsExactlyElementsOf(outputs);
            assertThat(run.outputInfo().get("down_block_0_additional_residual").getShape()).containsExactly(-1, c.get(0), -1, -1);

            Map<String, GraphRun.Result> results = feed(run, family, tiny, 1.0).run();
            for (int k = 0; k < outputs.size(); k++) {
                GraphRun.Result residual = results.get(outputs.get(k));
                assertThat(residual.shape()).as(outputs.get(k)).containsExactly(expected.get(k));
                assertThat(residual.std()).as(outputs.get(k) + " is small but not zero").isBetween(1e-4, 1.0);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = Family.class, names = {"SD15", "SDXL"})
    void conditioningScaleZeroGivesZeroResidualsAndTwoDoublesThem(Family family) throws OrtException {
        ControlNetConfig cfg = ControlNetConfig.of(family, Scale.TINY);
        try (GraphRun run = open(cfg, "controlnet.onnx")) {
            Map<String, GraphRun.Result> one = feed(run, family, cfg.unet(), 1.0).run();
            Map<String, GraphRun.Result> zero = run.doubleInput("conditioning_scale", new double[] {0}, 1).run();
            Map<String, GraphRun.Result> two = run.doubleInput("conditioning_scale", new double[] {2}, 1).run();
            assertThat(one).hasSize(cfg.downResidualCount() + 1);
            for (String name : one.keySet()) {
                float[] unit = one.get(name).values();
                float[] doubled = new float[unit.length];
                for (int i = 0; i < unit.length; i++) {
                    doubled[i] = 2 * unit[i];
                }
                float[] zeroed = zero.get(name).values();
                assertThat(IntStream.range(0, zeroed.length).allMatch(i -> zeroed[i] == 0)).as(name + " at scale 0 (±0)")
                        .isTrue();
                assertThat(two.get(name).values()).as(name + " at scale 2").containsExactly(doubled);
            }
        }
    }

    @Test
    void theControlImageReachesEveryResidual() throws OrtException {
        ControlNetConfig cfg = ControlNetConfig.of(Family.SD15, Scale.TINY);
        try (GraphRun run = open(cfg, "controlnet.onnx")) {
            Map<String, GraphRun.Result> before = feed(run, Family.SD15, cfg.unet(), 1.0).run();
            run.randomInput("controlnet_cond", 99, BATCH, 3, 8L * LATENT, 8L * LATENT);
            Map<String, GraphRun.Result> after = run.run();
            before.forEach((name, result) -> assertThat(after.get(name).values()).as(name)
                    .isNotEqualTo(result.values()));
        }
    }

    @Test
    void namesFollowDiffusersAndTheTorchExport() {
        ControlNetGraph graph = ControlNetGraph.build(ControlNetConfig.of(Family.SD15, Scale.FULL), new Weights(0),
                DType.FP16);
        List<String> nodes = graph.skeleton().getGraph().getNodeList().stream().map(n -> n.getName()).toList();
        assertThat(nodes).contains("/conv_in/Conv", "/time_embedding/linear_1/MatMul",
                "/controlnet_cond_embedding/conv_in/Conv", "/controlnet_cond_embedding/blocks.5/Conv",
                "/controlnet_cond_embedding/conv_out/Conv", "/down_blocks.0/resnets.0/conv1/Conv",
                "/down_blocks.2/attentions.1/transformer_blocks.0/attn2/to_k/MatMul",
                "/down_blocks.2/downsamplers.0/conv/Conv", "/mid_block/attentions.0/proj_out/Conv",
                "/controlnet_down_blocks.11/Conv", "/controlnet_mid_block/Conv")
                .noneMatch(name -> name.startsWith("/up_blocks") || name.startsWith("/conv_out"));
        Map<String, long[]> shapes = new HashMap<>();
        graph.initializers().forEach(i -> shapes.put(i.name(), i.shape()));
        assertThat(shapes.get("controlnet_cond_embedding.conv_in.weight")).containsExactly(16, 3, 3, 3);
        assertThat(shapes.get("controlnet_cond_embedding.blocks.5.weight")).containsExactly(256, 96, 3, 3);
        assertThat(shapes.get("controlnet_cond_embedding.conv_out.weight")).containsExactly(320, 256, 3, 3);
        assertThat(shapes.get("controlnet_down_blocks.11.weight")).containsExactly(1280, 1280, 1, 1);
        assertThat(shapes.get("controlnet_mid_block.bias")).containsExactly(1280);
        assertThat(shapes).doesNotContainKey("controlnet_down_blocks.12.weight");
        assertThat(graph.skeleton().getGraph().getInputList()).filteredOn(v -> v.getName().equals("conditioning_scale"))
                .singleElement().extracting(v -> v.getType().getTensorType().getElemType())
                .isEqualTo(TensorProto.DataType.DOUBLE_VALUE);
        assertThat(graph.skeleton().getGraph().getOutputList()).allMatch(v -> v.getType().getTensorType().getElemType()
                == TensorProto.DataType.FLOAT16_VALUE);
        assertThat(graph.initializers()).allMatch(i -> i.dtype() == DType.FP16);
    }

    /** The same seed gives the ControlNet the UNet's encoder weights, as {@code ControlNetModel.from_unet} copies them. */
    @Test
    void encoderWeightsAreTheUnetsUnderTheSameSeed() {
        ControlNetConfig cfg = ControlNetConfig.of(Family.SDXL, Scale.TINY);
        GraphBuilder unet = UNetGraph.build(cfg.unet(), new Weights(5), DType.FP32);
        ControlNetGraph controlnet = ControlNetGraph.build(cfg, new Weights(5), DType.FP32);
        for (String name : List.of("conv_in.weight", "time_embedding.linear_2.bias", "add_embedding.linear_1.weight",
                "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight", "mid_block.resnets.1.conv2.weight")) {
            assertThat(bytes(controlnet.initializers(), name)).as(name).isEqualTo(bytes(unet.initializers(), name));
        }
    }

    @Test
    void everyScaleShrinksTheControlImageAsTheVaeDoesAndOtherFamiliesHaveNone() {
        for (Family family : ControlNetConfig.FAMILIES) {
            for (Scale scale : Scale.values()) {
                assertThat(ControlNetConfig.of(family, scale).downscaleFactor()).as(family + " " + scale)
                        .isEqualTo(FamilyPreset.of(family, scale).vae().downscaleFactor()).isEqualTo(8);
            }
        }
        assertThat(ControlNetConfig.of(Family.SD15, Scale.FULL).conditioningEmbeddingOutChannels())
                .containsExactly(16, 32, 96, 256);
        assertThatThrownBy(() -> ControlNetConfig.of(Family.SD3, Scale.TINY)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("sd3").hasMessageContaining("[sd15, sd21, sdxl]");
        assertThatThrownBy(() -> ControlNetConfig.fromUnet(FamilyPreset.of(Family.X4_UPSCALER, Scale.TINY).unet()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("class embedding");
    }

    private GraphRun open(ControlNetConfig cfg, String file) throws OrtException {
        Path model = dir.resolve(file);
        ControlNetGraph.build(cfg, new Weights(3), DType.FP32).write(model, ExternalDataPolicy.AUTO);
        return new GraphRun(model);
    }

    /** Sets every input of a {@code family} ControlNet at {@link #LATENT}, with {@code scale}. */
    static GraphRun feed(GraphRun run, Family family, UNetConfig unet, double scale) throws OrtException {
        run.randomInput("sample", 1, BATCH, 4, LATENT, LATENT).floatInput("timestep", new float[] {500}, new long[0])
                .randomInput("encoder_hidden_states", 2, BATCH, 77, unet.crossAttentionDim())
                .randomInput("controlnet_cond", 3, BATCH, 3, 8L * LATENT, 8L * LATENT)
                .doubleInput("conditioning_scale", new double[] {scale}, 1);
        if (family == Family.SDXL) {
            run.randomInput("text_embeds", 4, BATCH, unet.textEmbedsDim())
                    .floatInput("time_ids", new float[] {128, 128, 0, 0, 128, 128, 128, 128, 0, 0, 128, 128}, BATCH, 6);
        }
        return run;
    }

    private static long[] shape(int channels, int side) {
        return new long[] {BATCH, channels, side, side};
    }

    private static byte[] bytes(List<Initializer> initializers, String name) {
        Initializer initializer = initializers.stream().filter(i -> i.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no parameter " + name));
        ByteBuffer buffer = initializer.bytes();
        byte[] out = new byte[buffer.remaining()];
        buffer.get(out);
        return out;
    }

    /** {@code cfg} with {@code layers} ResNets per down block. */
    static UNetConfig withLayersPerBlock(UNetConfig cfg, int layers) {
        return new UNetConfig(cfg.sampleSize(), cfg.inChannels(), cfg.outChannels(), cfg.blockOutChannels(),
                cfg.downBlockTypes(), cfg.upBlockTypes(), layers, cfg.crossAttentionDim(), cfg.attentionHeadDim(),
                cfg.transformerLayersPerBlock(), cfg.useLinearProjection(), cfg.upcastAttention(), cfg.normNumGroups(),
                cfg.normEps(), cfg.additionTimeEmbedDim(), cfg.textEmbedsDim(), cfg.sequenceLength(),
                cfg.onlyCrossAttention(), cfg.numClassEmbeds());
    }
}
