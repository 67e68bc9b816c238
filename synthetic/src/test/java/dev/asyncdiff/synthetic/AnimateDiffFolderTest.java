package dev.asyncdiff.synthetic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.TensorInfo;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.asyncdiff.api.DType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The AnimateDiff folder: its files, configs and index, its shared components, its staged write. */
class AnimateDiffFolderTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final long SEED = 21;
    /** The folders copied from the SD 1.5 folder of the same scale and seed, byte for byte. */
    private static final List<String> FROM_SD15 = List.of("text_encoder", "tokenizer", "vae_decoder", "vae_encoder");

    @TempDir
    static Path shared;
    private static SyntheticFolder video;

    @TempDir
    Path dir;

    @BeforeAll
    static void writeOnce() {
        video = SyntheticModels.write(Family.ANIMATEDIFF, Scale.TINY, DType.FP32, SEED, TokenizerKind.BPE,
                shared.resolve("animatediff"));
    }

    @Test
    void folderHoldsEveryFileAndNothingElse() throws IOException {
        Path root = video.directory();
        List<String> expected = new ArrayList<>(List.of("model_index.json", "scheduler/scheduler_config.json",
                "motion_adapter/config.json"));
        TokenizerFiles.FILES.forEach(file -> expected.add("tokenizer/" + file));
        for (String model : List.of("text_encoder", "unet", "vae_decoder", "vae_encoder")) {
            expected.add(model + "/config.json");
            expected.add(model + "/model.onnx");
        }
        assertThat(files(root)).containsExactlyInAnyOrderElementsOf(expected);
        assertThat(video.family()).isEqualTo(Family.ANIMATEDIFF);
        assertThat(video.scale()).isEqualTo(Scale.TINY);
        assertThat(video.dtype()).isEqualTo(DType.FP32);
        assertThat(video.seed()).isEqualTo(SEED);
        assertThat(video.totalBytes()).isEqualTo(SyntheticModels.sizeOf(root)).isLessThan(40L << 20);
        assertThat(video.parameterCounts()).containsOnlyKeys("text_encoder", "unet", "vae_encoder", "vae_decoder");
        assertThat(video.parameterCounts().get("unet")).isEqualTo(
                MotionUNetGraph.build(MotionUNetConfig.of(Scale.TINY), new Weights(0), DType.FP32).parameterCount());
        try (var siblings = Files.list(root.getParent())) {
            assertThat(siblings.map(p -> p.getFileName().toString())).as("no staging folder left")
                    .containsExactly("animatediff");
        }
    }

    @Test
    void modelIndexNamesEveryComponentFolder() throws IOException {
        JsonNode index = json("model_index.json");
        assertThat(index.get("_class_name").asText()).isEqualTo("AnimateDiffPipeline");
        List<String> components = new ArrayList<>();
        for (Map.Entry<String, JsonNode> entry : index.properties()) {
            JsonNode value = entry.getValue();
            if (value.isArray() && !value.get(0).isNull()) {
                components.add(entry.getKey());
                assertThat(video.directory().resolve(entry.getKey())).as(entry.getKey() + " folder").isDirectory();
            }
        }
        assertThat(components).containsExactlyElementsOf(AnimateDiffModels.components());
        assertThat(index.get("motion_adapter").toString()).isEqualTo("[\"diffusers\",\"MotionAdapter\"]");
        assertThat(index.get("unet").toString()).isEqualTo("[\"diffusers\",\"UNetMotionModel\"]");
        assertThat(index.get("scheduler").toString()).isEqualTo("[\"diffusers\",\"DDIMScheduler\"]");
        assertThat(index.get("text_encoder").toString()).isEqualTo("[\"transformers\",\"CLIPTextModel\"]");
    }

    @Test
    void configsParseWithDiffusersKeys() throws IOException {
        JsonNode scheduler = json("scheduler/scheduler_config.json");
        assertThat(scheduler.get("_class_name").asText()).isEqualTo("DDIMScheduler");
        assertThat(scheduler.get("beta_start").decimalValue()).isEqualByComparingTo("0.00085");
        assertThat(scheduler.get("beta_end").decimalValue()).isEqualByComparingTo("0.012");
        assertThat(scheduler.get("beta_schedule").asText()).isEqualTo("linear");
        assertThat(scheduler.get("clip_sample").asBoolean(true)).isFalse();
        assertThat(scheduler.get("set_alpha_to_one").asBoolean(true)).isFalse();
        assertThat(scheduler.get("timestep_spacing").asText()).isEqualTo("linspace");
        assertThat(scheduler.get("steps_offset").asInt()).isEqualTo(1);
        assertThat(scheduler.get("prediction_type").asText()).isEqualTo("epsilon");
        assertThat(scheduler.get("num_train_timesteps").asInt()).isEqualTo(1000);

        MotionUNetConfig cfg = MotionUNetConfig.of(Scale.TINY);
        JsonNode unet = json("unet/config.json");
        assertThat(unet.get("_class_name").asText()).isEqualTo("UNetMotionModel");
        assertThat(unet.get("down_block_types").get(0).asText()).isEqualTo("CrossAttnDownBlockMotion");
        assertThat(unet.get("up_block_types").get(0).asText()).isEqualTo("UpBlockMotion");
        assertThat(unet.get("motion_max_seq_length").asInt()).isEqualTo(cfg.maxFrames());
        assertThat(unet.get("use_motion_mid_block").asBoolean()).isTrue();
        assertThat(unet.get("cross_attention_dim").asInt()).isEqualTo(cfg.unet().crossAttentionDim());
        JsonNode adapter = json("motion_adapter/config.json");
        assertThat(adapter.get("_class_name").asText()).isEqualTo("MotionAdapter");
        assertThat(adapter.get("block_out_channels")).isEqualTo(unet.get("block_out_channels"));
        assertThat(adapter.get("motion_layers_per_block").asInt()).isEqualTo(unet.get("layers_per_block").asInt());
        assertThat(adapter.get("motion_num_attention_heads")).isEqualTo(unet.get("motion_num_attention_heads"));
        assertThat(json("vae_decoder/config.json").get("scaling_factor").asDouble()).isEqualTo(0.18215);
    }

    @Test
    void sharedComponentsAreTheSd15FolderOfTheSameSeed() throws IOException {
        SyntheticFolder sd15 = SyntheticModels.write(Family.SD15, Scale.TINY, DType.FP32, SEED, TokenizerKind.BPE,
                dir.resolve("sd15"));
        for (String component : FROM_SD15) {
            Path ours = video.directory().resolve(component);
            Path theirs = sd15.directory().resolve(component);
            assertThat(files(ours)).as(component).isEqualTo(files(theirs));
            for (String file : files(ours)) {
                assertThat(Files.readAllBytes(ours.resolve(file))).as(component + "/" + file)
                        .isEqualTo(Files.readAllBytes(theirs.resolve(file)));
            }
            if (!component.equals("tokenizer")) {
                assertThat(video.parameterCounts().get(component)).isEqualTo(sd15.parameterCounts().get(component));
            }
        }
    }

    @Test
    void unetTakesTheVideoInputs() throws OrtException {
        try (GraphRun run = new GraphRun(video.directory().resolve("unet/model.onnx"))) {
            Map<String, TensorInfo> inputs = run.inputInfo();
            assertThat(inputs.keySet()).containsExactlyInAnyOrder("sample", "timestep", "encoder_hidden_states");
            assertThat(inputs.get("sample").getShape()).hasSize(5);
            assertThat(run.outputInfo().keySet()).containsExactly("out_sample");
        }
    }

    @Test
    void secondWriteToANonEmptyFolderIsRefused() throws IOException {
        Path root = video.directory();
        byte[] index = Files.readAllBytes(root.resolve("model_index.json"));
        assertThatThrownBy(() -> SyntheticModels.write(Family.ANIMATEDIFF, Scale.TINY, DType.FP32, SEED + 1,
                TokenizerKind.BPE, root))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not empty")
                .hasMessageContaining(root.toString());
        assertThat(Files.readAllBytes(root.resolve("model_index.json"))).isEqualTo(index);
        assertThatThrownBy(() -> SyntheticModels.write(Family.ANIMATEDIFF, Scale.TINY, DType.BF16, SEED,
                TokenizerKind.BPE, dir.resolve("bf16"))).isInstanceOf(IllegalArgumentException.class);
        assertThat(dir.resolve("bf16")).doesNotExist();
    }

    private static JsonNode json(String file) throws IOException {
        return MAPPER.readTree(video.directory().resolve(file).toFile());
    }

    private static List<String> files(Path root) throws IOException {
        try (var walk = Files.walk(root)) {
            return walk.filter(Files::isRegularFile).map(p -> root.relativize(p).toString().replace('\\', '/'))
                    .sorted().toList();
        }
    }
}
