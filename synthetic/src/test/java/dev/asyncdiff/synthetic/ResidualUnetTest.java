package dev.asyncdiff.synthetic;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.TensorInfo;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import dev.asyncdiff.onnx.graph.GraphBuilder;
import dev.asyncdiff.onnx.graph.Initializer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The UNet that takes a ControlNet's residuals (OnnxStack's "controlnet UNet"). */
class ResidualUnetTest {
    private static final int LATENT = 16;
    private static final int BATCH = 2;

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(value = Family.class, names = {"SD15", "SDXL"})
    void residualsAreDeclaredAfterTheOtherInputsWithTheirChannels(Family family) throws OrtException {
        UNetConfig cfg = FamilyPreset.of(family, Scale.TINY).unet();
        try (GraphRun run = new GraphRun(UNetGraph.build(cfg, new Weights(1), DType.FP32, true), dir.resolve("u.onnx"))) {
            Map<String, TensorInfo> inputs = run.inputInfo();
            List<String> expected = new ArrayList<>(family == Family.SDXL
                    ? List.of("sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids")
                    : List.of("sample", "timestep", "encoder_hidden_states"));
            List<Integer> channels = cfg.downResidualChannels();
            for (int k = 0; k < channels.size(); k++) {
                expected.add("down_block_" + k + "_additional_residual");
            }
            expected.add("mid_block_additional_residual");
            assertThat(inputs.keySet()).containsExactlyElementsOf(expected);
            for (int k = 0; k < channels.size(); k++) {
                assertThat(inputs.get("down_block_" + k + "_additional_residual").getShape()).as("residual " + k)
                        .containsExactly(-1, channels.get(k), -1, -1);
            }
            assertThat(inputs.get("mid_block_additional_residual").getShape())
                    .containsExactly(-1, cfg.blockOutChannels().get(cfg.levels() - 1), -1, -1);
            assertThat(run.outputInfo().keySet()).containsExactly("out_sample");
        }
    }

    /** Residuals of zero leave every skip and the mid block's output as they were: the plain UNet's output, bit for bit. */
    @ParameterizedTest
    @EnumSource(value = Family.class, names = {"SD15", "SD21", "SDXL", "SD15_INPAINT"})
    void zeroResidualsGiveExactlyThePlainUnetsOutput(Family family) throws OrtException {
        UNetConfig cfg = FamilyPreset.of(family, Scale.TINY).unet();
        GraphBuilder plainGraph = UNetGraph.build(cfg, new Weights(4), DType.FP32);
        GraphBuilder residualGraph = UNetGraph.build(cfg, new Weights(4), DType.FP32, true);
        assertThat(residualGraph.initializers()).extracting(Initializer::name)
                .containsExactlyElementsOf(plainGraph.initializers().stream().map(Initializer::name).toList());
        assertThat(residualGraph.parameterCount()).isEqualTo(plainGraph.parameterCount());
        try (GraphRun plain = new GraphRun(plainGraph, dir.resolve("plain.onnx"));
             GraphRun residual = new GraphRun(residualGraph, dir.resolve("residual.onnx"))) {
            feedUnet(plain, family, cfg);
            feedUnet(residual, family, cfg);
            zeroResiduals(residual, cfg);
            float[] expected = plain.run().get("out_sample").values();
            assertThat(residual.run().get("out_sample").values()).containsExactly(expected);

            List<Integer> channels = cfg.downResidualChannels();
            int last = channels.size() - 1;
            int side = LATENT / cfg.downResidualScales().get(last);
            residual.randomInput("down_block_" + last + "_additional_residual", 7, BATCH, channels.get(last), side, side);
            float[] withDown = residual.run().get("out_sample").values();
            assertThat(withDown).as("a down residual reaches the output").isNotEqualTo(expected);
            zeroResiduals(residual, cfg);
            int deepest = LATENT >> (cfg.levels() - 1);
            residual.randomInput("mid_block_additional_residual", 8, BATCH, cfg.blockOutChannels().get(cfg.levels() - 1),
                    deepest, deepest);
            assertThat(residual.run().get("out_sample").values()).as("the mid residual reaches the output")
                    .isNotEqualTo(expected).isNotEqualTo(withDown);
        }
    }

    /**
     * Where diffusers adds them: residual 0 to the skip of {@code conv_in}, the last one to the deepest down
     * block's output, only on the skip path (the mid block still reads the unmodified output), and the mid
     * residual to the mid block's output before the first up block.
     */
    @Test
    void residualsAreAddedToTheSkipsAndTheMidBlocksOutput() {
        UNetConfig cfg = FamilyPreset.of(Family.SD15, Scale.TINY).unet();
        List<NodeProto> nodes = UNetGraph.build(cfg, new Weights(0), DType.FP32, true).skeleton().getGraph()
                .getNodeList();
        assertThat(otherInput(nodes, "down_block_0_additional_residual")).isEqualTo("/conv_in/Conv_output_0");
        int last = cfg.downResidualChannels().size() - 1;
        String deepest = otherInput(nodes, "down_block_" + last + "_additional_residual");
        assertThat(deepest).startsWith("/down_blocks." + (cfg.levels() - 1) + "/resnets.");
        assertThat(nodes).as("the mid block reads the down path's own output")
                .anyMatch(n -> n.getName().startsWith("/mid_block/resnets.0/") && n.getInputList().contains(deepest));
        String mid = otherInput(nodes, "mid_block_additional_residual");
        assertThat(mid).startsWith("/mid_block/resnets.1/");
        String midSum = nodes.stream().filter(n -> n.getInputList().contains("mid_block_additional_residual"))
                .findFirst().orElseThrow().getOutput(0);
        NodeProto firstUp = nodes.stream().filter(n -> n.getName().startsWith("/up_blocks.0/")).findFirst().orElseThrow();
        assertThat(firstUp.getOpType()).isEqualTo("Concat");
        assertThat(firstUp.getInput(0)).isEqualTo(midSum);
    }

    /** The ControlNet's outputs are the residual UNet's inputs: same names, shapes and dtype; the chain runs. */
    @ParameterizedTest
    @EnumSource(value = Family.class, names = {"SD15", "SDXL"})
    void controlNetOutputsFeedTheResidualUnet(Family family) throws OrtException {
        ControlNetConfig cfg = ControlNetConfig.of(family, Scale.TINY);
        Path controlnetFile = dir.resolve("controlnet.onnx");
        ControlNetGraph.build(cfg, new Weights(9), DType.FP32).write(controlnetFile, ExternalDataPolicy.AUTO);
        try (GraphRun controlnet = new GraphRun(controlnetFile);
             GraphRun unet = new GraphRun(UNetGraph.build(cfg.unet(), new Weights(9), DType.FP32, true),
                     dir.resolve("unet.onnx"))) {
            ControlNetGraphTest.feed(controlnet, family, cfg.unet(), 1.0);
            Map<String, GraphRun.Result> residuals = controlnet.run();
            feedUnet(unet, family, cfg.unet());
            zeroResiduals(unet, cfg.unet());
            float[] uncontrolled = unet.run().get("out_sample").values();
            for (Map.Entry<String, GraphRun.Result> entry : residuals.entrySet()) {
                unet.floatInput(entry.getKey(), entry.getValue().values(), entry.getValue().shape());
            }
            GraphRun.Result controlled = unet.run().get("out_sample");
            assertThat(controlled.shape()).containsExactly(BATCH, 4, LATENT, LATENT);
            assertThat(controlled.values()).isNotEqualTo(uncontrolled);
        }
    }

    private static String otherInput(List<NodeProto> nodes, String residual) {
        NodeProto add = nodes.stream().filter(n -> n.getInputList().contains(residual)).findFirst()
                .orElseThrow(() -> new AssertionError("nothing reads " + residual));
        assertThat(add.getOpType()).isEqualTo("Add");
        return add.getInput(0).equals(residual) ? add.getInput(1) : add.getInput(0);
    }

    private static void feedUnet(GraphRun run, Family family, UNetConfig cfg) throws OrtException {
        run.randomInput("sample", 1, BATCH, cfg.inChannels(), LATENT, LATENT)
                .floatInput("timestep", new float[] {500}, new long[0])
                .randomInput("encoder_hidden_states", 2, BATCH, 77, cfg.crossAttentionDim());
        if (family.base() == Family.SDXL) {
            run.randomInput("text_embeds", 4, BATCH, cfg.textEmbedsDim())
                    .floatInput("time_ids", new float[] {128, 128, 0, 0, 128, 128, 128, 128, 0, 0, 128, 128}, BATCH, 6);
        }
    }

    private static void zeroResiduals(GraphRun run, UNetConfig cfg) throws OrtException {
        List<Integer> channels = cfg.downResidualChannels();
        List<Integer> scales = cfg.downResidualScales();
        for (int k = 0; k < channels.size(); k++) {
            int side = LATENT / scales.get(k);
            run.floatInput("down_block_" + k + "_additional_residual", new float[BATCH * channels.get(k) * side * side],
                    BATCH, channels.get(k), side, side);
        }
        int deepest = LATENT >> (cfg.levels() - 1);
        int midChannels = cfg.blockOutChannels().get(cfg.levels() - 1);
        run.floatInput("mid_block_additional_residual", new float[BATCH * midChannels * deepest * deepest], BATCH,
                midChannels, deepest, deepest);
    }
}
