package dev.asyncdiff.synthetic;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OrtException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.synthetic.OrtRunner.Output;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A synthetic SD 3 folder in Optimum's layout. */
class Sd3FolderTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir
    static Path shared;

    static SyntheticFolder folder;

    @BeforeAll
    static void write() {
        folder = SyntheticModels.write(Family.SD3, Scale.TINY, DType.FP32, 99, TokenizerKind.BPE, shared.resolve("sd3"));
    }

    private static JsonNode json(String file) throws IOException {
        return MAPPER.readTree(folder.directory().resolve(file).toFile());
    }

    @Test
    void folderHoldsEveryComponentOfTheOptimumLayout() throws IOException {
        Path root = folder.directory();
        List<String> expected = new ArrayList<>(List.of("model_index.json", "scheduler/scheduler_config.json"));
        for (String tokenizer : List.of("tokenizer", "tokenizer_2")) {
            TokenizerFiles.FILES.forEach(file -> expected.add(tokenizer + "/" + file));
        }
        T5TokenizerFiles.FILES.forEach(file -> expected.add("tokenizer_3/" + file));
        for (String model : List.of("text_encoder", "text_encoder_2", "text_encoder_3", "transformer", "vae_encoder",
                "vae_decoder")) {
            expected.add(model + "/config.json");
            expected.add(model + "/model.onnx");
        }
        List<String> present;
        try (var walk = Files.walk(root)) {
            present = walk.filter(Files::isRegularFile).map(p -> root.relativize(p).toString().replace('\\', '/'))
                    .toList();
        }
        assertThat(present).containsExactlyInAnyOrderElementsOf(expected);
        assertThat(folder.totalBytes()).isLessThan(40L << 20);
        JsonNode index = json("model_index.json");
        assertThat(index.get("_class_name").asText()).isEqualTo("StableDiffusion3Pipeline");
        assertThat(index.get("transformer").toString()).isEqualTo("[\"diffusers\",\"SD3Transformer2DModel\"]");
        assertThat(index.get("text_encoder_3").toString()).isEqualTo("[\"transformers\",\"T5EncoderModel\"]");
        assertThat(index.get("tokenizer_3").toString()).isEqualTo("[\"transformers\",\"T5TokenizerFast\"]");
        assertThat(index.has("unet")).isFalse();
        PipelineIndex.components(Family.SD3).forEach(component -> assertThat(index.has(component)).as(component).isTrue());
        assertThat(folder.parameterCounts()).containsOnlyKeys("text_encoder", "text_encoder_2", "text_encoder_3",
                "transformer", "vae_encoder", "vae_decoder");
    }

    @Test
    void configsCarrySd3sSchedulerAndLatentFormat() throws IOException {
        JsonNode scheduler = json("scheduler/scheduler_config.json");
        assertThat(scheduler.get("_class_name").asText()).isEqualTo("FlowMatchEulerDiscreteScheduler");
        assertThat(scheduler.get("shift").asDouble()).isEqualTo(3.0);
        assertThat(scheduler.get("num_train_timesteps").asInt()).isEqualTo(1000);
        for (String vae : List.of("vae_encoder", "vae_decoder")) {
            JsonNode config = json(vae + "/config.json");
            assertThat(config.get("latent_channels").asInt()).isEqualTo(16);
            assertThat(config.get("scaling_factor").asDouble()).isEqualTo(1.5305);
            assertThat(config.get("shift_factor").asDouble()).isEqualTo(0.0609);
            assertThat(config.get("use_quant_conv").asBoolean()).isFalse();
        }
        JsonNode transformer = json("transformer/config.json");
        assertThat(transformer.get("_class_name").asText()).isEqualTo("SD3Transformer2DModel");
        assertThat(transformer.get("in_channels").asInt()).isEqualTo(16);
        assertThat(transformer.get("joint_attention_dim").asInt())
                .isEqualTo(json("text_encoder_3/config.json").get("d_model").asInt());
        assertThat(transformer.get("pooled_projection_dim").asInt())
                .isEqualTo(json("text_encoder/config.json").get("projection_dim").asInt()
                        + json("text_encoder_2/config.json").get("projection_dim").asInt());
        assertThat(json("text_encoder/config.json").get("_class_name").asText()).isEqualTo("CLIPTextModelWithProjection");
    }

    @Test
    void t5VocabularyCoversItsTokenizer() throws IOException {
        JsonNode tokenizer = json("tokenizer_3/tokenizer.json");
        int pieces = tokenizer.get("model").get("vocab").size();
        assertThat(pieces).isEqualTo(UnigramVocabulary.small().size());
        assertThat(tokenizer.get("model").get("unk_id").asInt()).isEqualTo(2);
        assertThat(tokenizer.get("model").get("vocab").get(1).get(0).asText()).isEqualTo("</s>");
        assertThat(json("text_encoder_3/config.json").get("vocab_size").asInt()).isGreaterThanOrEqualTo(pieces);
        assertThat(json("tokenizer_3/tokenizer_config.json").get("eos_token").asText()).isEqualTo("</s>");
        assertThat(Files.size(folder.directory().resolve("tokenizer_3/spiece.model"))).isGreaterThan(pieces * 6L);
    }

    @Test
    void textEncodersRunWithOptimumsOutputNames() throws OrtException {
        FamilyPreset preset = FamilyPreset.of(Family.SD3, Scale.TINY).withVocabSize(folder.vocabSize());
        SyntheticModelsTest.checkTextEncoder(folder.directory().resolve("text_encoder/model.onnx"), preset.textEncoder());
        SyntheticModelsTest.checkTextEncoder(folder.directory().resolve("text_encoder_2/model.onnx"),
                preset.textEncoder2());
        Map<String, Output> t5 = OrtRunner.run(folder.directory().resolve("text_encoder_3/model.onnx"),
                Map.of("input_ids", OrtRunner.Input.of(i -> i % 256 == 255 ? 1 : 3 + i % 50, 2, 256)));
        assertThat(t5.keySet()).containsExactly("last_hidden_state");
        assertThat(t5.get("last_hidden_state").shape()).containsExactly(2, 256, preset.textEncoder3().dModel());
    }

    @Test
    void sameSeedWritesTheSameBytes() throws IOException {
        SyntheticFolder again = SyntheticModels.write(Family.SD3, Scale.TINY, DType.FP32, 99, TokenizerKind.BPE,
                shared.resolve("sd3-again"));
        for (String file : List.of("transformer/model.onnx", "text_encoder_3/model.onnx", "tokenizer_3/spiece.model",
                "tokenizer_3/tokenizer.json", "vae_decoder/model.onnx")) {
            assertThat(Files.readAllBytes(again.directory().resolve(file))).as(file)
                    .isEqualTo(Files.readAllBytes(folder.directory().resolve(file)));
        }
    }
}
