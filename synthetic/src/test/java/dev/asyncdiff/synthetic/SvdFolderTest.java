package dev.asyncdiff.synthetic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.asyncdiff.api.DType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Stable Video Diffusion folder: its files, configs that agree with each other, and full-scale counts. */
class SvdFolderTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void writesEveryComponentWithConsistentConfigs() throws IOException {
        SyntheticFolder folder = SyntheticModels.write(Family.SVD, Scale.TINY, DType.FP32, 2, TokenizerKind.BPE,
                dir.resolve("svd"));
        Path root = folder.directory();
        for (String file : List.of("model_index.json", "scheduler/scheduler_config.json",
                "feature_extractor/preprocessor_config.json", "image_encoder/model.onnx", "unet/model.onnx",
                "vae_encoder/model.onnx", "vae_decoder/model.onnx")) {
            assertThat(root.resolve(file)).as(file).isRegularFile();
        }
        JsonNode index = MAPPER.readTree(root.resolve("model_index.json").toFile());
        assertThat(index.path("_class_name").asText()).isEqualTo("StableVideoDiffusionPipeline");
        for (String component : PipelineIndex.components(Family.SVD)) {
            assertThat(index.has(component)).as(component).isTrue();
            assertThat(root.resolve(component)).isDirectory();
        }
        JsonNode unet = MAPPER.readTree(root.resolve("unet/config.json").toFile());
        JsonNode vision = MAPPER.readTree(root.resolve("image_encoder/config.json").toFile());
        assertThat(vision.path("projection_dim").asInt()).as("the image embedding is the UNet's context")
                .isEqualTo(unet.path("cross_attention_dim").asInt());
        assertThat(unet.path("in_channels").asInt()).isEqualTo(8);
        JsonNode scheduler = MAPPER.readTree(root.resolve("scheduler/scheduler_config.json").toFile());
        assertThat(scheduler.path("prediction_type").asText()).isEqualTo("v_prediction");
        assertThat(scheduler.path("timestep_type").asText()).isEqualTo("continuous");
        assertThat(scheduler.path("use_karras_sigmas").asBoolean()).isTrue();
        assertThat(folder.parameterCounts()).containsOnlyKeys("image_encoder", "unet", "vae_encoder", "vae_decoder");
        try (Stream<Path> siblings = Files.list(dir)) {
            assertThat(siblings).as("no staging folder left").hasSize(1);
        }
        assertThatThrownBy(() -> SyntheticModels.write(Family.SVD, Scale.TINY, DType.FP32, 2, TokenizerKind.BPE, root))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not empty");
        assertThatThrownBy(() -> SyntheticModels.write(Family.SVD, Scale.TINY, DType.FP32, 2, TokenizerKind.BPE,
                dev.asyncdiff.onnx.graph.ExternalDataPolicy.AUTO, true, dir.resolve("residual")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("makes clips");
    }

    /**
     * The released stabilityai/stable-video-diffusion-img2vid-xt: UNet 1,524,623,082, image encoder 632,076,800,
     * VAE 97,742,847 (Ctrl-Crash, Table G.6; see each graph's test for the per-module split).
     */
    @Test
    void fullScaleCountsAreTheReleasedModels() {
        assertThat(SvdUNetConfig.of(Scale.FULL).parameterCount()).isEqualTo(1_524_623_082L);
        assertThat(ClipVisionConfig.of(Scale.FULL).projectionDim())
                .isEqualTo(SvdUNetConfig.of(Scale.FULL).crossAttentionDim());
        assertThat(TemporalVaeGraph.parameterCount(TemporalVaeConfig.of(Scale.FULL))).isEqualTo(97_742_847L);
    }
}
