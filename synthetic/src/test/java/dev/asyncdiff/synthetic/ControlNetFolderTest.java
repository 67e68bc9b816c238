package dev.asyncdiff.synthetic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.TensorInfo;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.synthetic.OrtRunner.Input;
import dev.asyncdiff.synthetic.OrtRunner.Output;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** ControlNet folders and base folders whose UNet takes the residuals: files, config.json, the chain in ONNX Runtime. */
class ControlNetFolderTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final int BATCH = SyntheticModelsTest.BATCH;
    private static final int LATENT = SyntheticModelsTest.LATENT;
    /** The keys whose values {@code ControlNetModel.from_unet} takes from the UNet's config. */
    private static final List<String> FROM_UNET = List.of("in_channels", "block_out_channels", "down_block_types",
            "layers_per_block", "cross_attention_dim", "attention_head_dim", "transformer_layers_per_block",
            "use_linear_projection", "upcast_attention", "addition_embed_type", "addition_time_embed_dim",
            "projection_class_embeddings_input_dim", "norm_num_groups", "norm_eps", "flip_sin_to_cos", "freq_shift",
            "downsample_padding", "mid_block_scale_factor", "mid_block_type", "act_fn");

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(value = Family.class, names = {"SD15", "SDXL"})
    void controlNetFolderRunsAndFeedsTheResidualUnetOfItsBaseFolder(Family family) throws IOException, OrtException {
        ControlNetFolder controlnet = SyntheticModels.writeControlNet(family, Scale.TINY, DType.FP32, 11,
                dir.resolve("controlnet"));
        Path root = controlnet.directory();
        try (var files = Files.list(root)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("config.json", "model.onnx");
        }
        ControlNetConfig cfg = ControlNetConfig.of(family, Scale.TINY);
        assertThat(controlnet.parameterCount())
                .isEqualTo(ControlNetGraph.build(cfg, new Weights(0), DType.FP32).parameterCount());
        assertThat(controlnet.totalBytes()).isEqualTo(SyntheticModels.sizeOf(root));

        SyntheticFolder base = SyntheticModels.write(family, Scale.TINY, DType.FP32, 11, TokenizerKind.BPE,
                SyntheticModels.defaultUnetPolicy(Scale.TINY), true, dir.resolve("base"));
        JsonNode config = json(root.resolve("config.json"));
        JsonNode unetConfig = json(base.directory().resolve("unet/config.json"));
        assertThat(config.get("_class_name").asText()).isEqualTo("ControlNetModel");
        for (String key : FROM_UNET) {
            assertThat(config.get(key)).as(key + " taken from the UNet").isEqualTo(unetConfig.get(key));
        }
        assertThat(config.get("conditioning_embedding_out_channels")).hasSize(4);
        assertThat(config.get("controlnet_conditioning_channel_order").asText()).isEqualTo("rgb");
        assertThat(config.get("global_pool_conditions").asBoolean()).isFalse();
        assertThat(config.get("conditioning_channels").asInt()).isEqualTo(3);

        Map<String, TensorInfo> declared = OrtRunner.inputInfo(root.resolve("model.onnx"));
        assertThat(declared.get("conditioning_scale").type).isEqualTo(OnnxJavaType.DOUBLE);
        Map<String, Input> inputs = new LinkedHashMap<>();
        inputs.put("sample", Input.random(1, BATCH, 4, LATENT, LATENT));
        inputs.put("timestep", Input.of(i -> 981));
        inputs.put("encoder_hidden_states", Input.random(2, BATCH, 77, cfg.unet().crossAttentionDim()));
        if (family == Family.SDXL) {
            inputs.put("text_embeds", Input.random(3, BATCH, cfg.unet().textEmbedsDim()));
            double[] timeIds = {128, 128, 0, 0, 128, 128};
            inputs.put("time_ids", Input.of(i -> timeIds[(int) (i % 6)], BATCH, 6));
        }
        inputs.put("controlnet_cond", Input.of(i -> (i % 7) / 7.0, BATCH, 3, 8L * LATENT, 8L * LATENT));
        inputs.put("conditioning_scale", Input.of(i -> 1.0, 1));
        Map<String, Output> residuals = OrtRunner.run(root.resolve("model.onnx"), inputs);
        assertThat(residuals).hasSize(cfg.downResidualCount() + 1);
        residuals.forEach((name, residual) -> residual.assertFiniteAndVaried(name));

        Path unet = base.directory().resolve("unet/model.onnx");
        Map<String, Input> unetInputs = new LinkedHashMap<>(inputs);
        unetInputs.remove("controlnet_cond");
        unetInputs.remove("conditioning_scale");
        residuals.forEach((name, residual) -> unetInputs.put(name, new Input(residual.shape(),
                i -> residual.values()[(int) i])));
        Output controlled = OrtRunner.run(unet, unetInputs).get("out_sample");
        assertThat(controlled.shape()).containsExactly(BATCH, 4, LATENT, LATENT);
        controlled.assertFiniteAndVaried(family + " controlled out_sample");
    }

    /** The residual option changes {@code unet/model.onnx} only; the UNet's weights stay those of the plain folder. */
    @Test
    void residualUnetFolderDiffersFromThePlainOneOnlyInTheUnetGraph() throws IOException {
        Path plain = SyntheticModels.write(Family.SD15, Scale.TINY, DType.FP32, 2, TokenizerKind.BPE,
                dir.resolve("plain")).directory();
        SyntheticFolder residual = SyntheticModels.write(Family.SD15, Scale.TINY, DType.FP32, 2, TokenizerKind.BPE,
                SyntheticModels.defaultUnetPolicy(Scale.TINY), true, dir.resolve("residual"));
        for (String file : SyntheticModelsTest.expectedFiles(Family.SD15)) {
            byte[] expected = Files.readAllBytes(plain.resolve(file));
            byte[] actual = Files.readAllBytes(residual.directory().resolve(file));
            if (file.equals("unet/model.onnx")) {
                assertThat(actual).as(file).isNotEqualTo(expected);
            } else {
                assertThat(actual).as(file).isEqualTo(expected);
            }
        }
        long unetParameters = UNetGraph.build(FamilyPreset.of(Family.SD15, Scale.TINY).unet(), new Weights(0),
                DType.FP32).parameterCount();
        assertThat(residual.parameterCounts()).containsEntry("unet", unetParameters);
    }

    /** The published config.json of diffusers/controlnet-canny-sdxl-1.0 and lllyasviel/sd-controlnet-canny, key by key. */
    @Test
    void fullScaleConfigsAreTheReleasedOnes() {
        Map<String, Object> sdxl = ControlNetConfig.of(Family.SDXL, Scale.FULL).toDiffusersConfig();
        assertThat(sdxl).containsEntry("addition_embed_type", "text_time").containsEntry("addition_time_embed_dim", 256)
                .containsEntry("attention_head_dim", List.of(5, 10, 20)).containsEntry("block_out_channels",
                        List.of(320, 640, 1280)).containsEntry("conditioning_embedding_out_channels", List.of(16, 32, 96, 256))
                .containsEntry("cross_attention_dim", 2048).containsEntry("down_block_types",
                        List.of("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"))
                .containsEntry("projection_class_embeddings_input_dim", 2816)
                .containsEntry("transformer_layers_per_block", List.of(1, 2, 10))
                .containsEntry("use_linear_projection", true).containsEntry("layers_per_block", 2)
                .containsEntry("global_pool_conditions", false).containsEntry("conditioning_channels", 3);
        Map<String, Object> sd15 = ControlNetConfig.of(Family.SD15, Scale.FULL).toDiffusersConfig();
        assertThat(sd15).containsEntry("addition_embed_type", null).containsEntry("attention_head_dim", 8)
                .containsEntry("block_out_channels", List.of(320, 640, 1280, 1280)).containsEntry("cross_attention_dim", 768)
                .containsEntry("down_block_types", List.of("CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                        "CrossAttnDownBlock2D", "DownBlock2D"))
                .containsEntry("use_linear_projection", false).containsEntry("transformer_layers_per_block", 1)
                .containsEntry("only_cross_attention", false).containsEntry("upcast_attention", false);
        assertThat(List.copyOf(sdxl.keySet())).as("sorted, as diffusers saves a config").isSorted();
    }

    @Test
    void badArgumentsNameTheProblem() throws IOException {
        assertThatThrownBy(() -> SyntheticModels.writeControlNet(Family.SD3, Scale.TINY, DType.FP32, 0, dir.resolve("a")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[sd15, sd21, sdxl]");
        assertThatThrownBy(() -> SyntheticModels.writeControlNet(Family.SD15, Scale.TINY, DType.INT64, 0,
                dir.resolve("b"))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("INT64");
        assertThatThrownBy(() -> SyntheticModels.write(Family.SD3, Scale.TINY, DType.FP32, 0, TokenizerKind.BPE,
                SyntheticModels.defaultUnetPolicy(Scale.TINY), true, dir.resolve("c")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("transformer");
        Path taken = Files.createDirectories(dir.resolve("taken"));
        Files.writeString(taken.resolve("x"), "x");
        assertThatThrownBy(() -> SyntheticModels.writeControlNet(Family.SD15, Scale.TINY, DType.FP32, 0, taken))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not empty");
        try (var left = Files.list(dir)) {
            assertThat(left.map(p -> p.getFileName().toString())).containsExactly("taken");
        }
    }

    private static JsonNode json(Path file) throws IOException {
        return MAPPER.readTree(file.toFile());
    }
}
