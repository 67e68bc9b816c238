package dev.asyncdiff.synthetic;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigFilesTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir
    Path dir;

    private static List<String> keys(Map<String, Object> map) {
        return new ArrayList<>(map.keySet());
    }

    @Test
    void sd15ShipsPndmWithPlmsOnly() {
        Map<String, Object> config = SchedulerConfigs.of(Family.SD15);
        assertThat(keys(config)).containsExactly("_class_name", "_diffusers_version", "beta_end", "beta_schedule",
                "beta_start", "num_train_timesteps", "prediction_type", "set_alpha_to_one", "skip_prk_steps",
                "steps_offset", "trained_betas", "clip_sample");
        assertThat(config).containsEntry("_class_name", "PNDMScheduler").containsEntry("skip_prk_steps", true)
                .containsEntry("steps_offset", 1).containsEntry("prediction_type", "epsilon")
                .containsEntry("set_alpha_to_one", false).containsEntry("clip_sample", false)
                .containsEntry("trained_betas", null);
    }

    @Test
    void sd21ShipsDdimWithVPrediction() {
        Map<String, Object> config = SchedulerConfigs.of(Family.SD21);
        assertThat(config).containsEntry("_class_name", "DDIMScheduler")
                .containsEntry("prediction_type", "v_prediction").containsEntry("clip_sample", false)
                .containsEntry("set_alpha_to_one", false).containsEntry("steps_offset", 1);
    }

    @Test
    void sdxlShipsEulerWithLeadingSpacing() {
        Map<String, Object> config = SchedulerConfigs.of(Family.SDXL);
        assertThat(keys(config)).contains("interpolation_type", "use_karras_sigmas", "sample_max_value");
        assertThat(config).containsEntry("_class_name", "EulerDiscreteScheduler")
                .containsEntry("timestep_spacing", "leading").containsEntry("steps_offset", 1)
                .containsEntry("prediction_type", "epsilon").containsEntry("use_karras_sigmas", false)
                .containsEntry("interpolation_type", "linear");
    }

    @Test
    void x4UpscalerShipsDdimWithVPredictionAndADdpmForTheLowResolutionImage() {
        Map<String, Object> config = SchedulerConfigs.of(Family.X4_UPSCALER);
        assertThat(keys(config)).containsExactly("_class_name", "_diffusers_version", "beta_end", "beta_schedule",
                "beta_start", "clip_sample", "num_train_timesteps", "prediction_type", "set_alpha_to_one",
                "steps_offset", "timestep_spacing", "trained_betas");
        assertThat(config).containsEntry("_class_name", "DDIMScheduler").containsEntry("prediction_type", "v_prediction")
                .containsEntry("beta_schedule", "scaled_linear").containsEntry("beta_start", new BigDecimal("0.0001"))
                .containsEntry("beta_end", new BigDecimal("0.02")).containsEntry("num_train_timesteps", 1000)
                .containsEntry("clip_sample", false).containsEntry("set_alpha_to_one", false)
                .containsEntry("steps_offset", 1).containsEntry("timestep_spacing", "leading");
        Map<String, Object> lowRes = SchedulerConfigs.lowResolution(Family.X4_UPSCALER);
        assertThat(keys(lowRes)).containsExactly("_class_name", "_diffusers_version", "beta_end", "beta_schedule",
                "beta_start", "clip_sample", "num_train_timesteps", "prediction_type", "trained_betas", "variance_type");
        assertThat(lowRes).containsEntry("_class_name", "DDPMScheduler").containsEntry("prediction_type", "epsilon")
                .containsEntry("beta_schedule", "scaled_linear").containsEntry("beta_start", new BigDecimal("0.0001"))
                .containsEntry("beta_end", new BigDecimal("0.02")).containsEntry("num_train_timesteps", 1000)
                .containsEntry("clip_sample", false).containsEntry("variance_type", "fixed_small");
        assertThat(PipelineIndex.of(Family.X4_UPSCALER)).containsEntry("max_noise_level", 350)
                .containsEntry("low_res_scheduler", List.of("diffusers", "DDPMScheduler"))
                .containsEntry("scheduler", List.of("diffusers", "DDIMScheduler")).doesNotContainKey("vae_encoder");
    }

    @Test
    void jsonIsLaidOutLikePythonAndKeepsDecimals() throws IOException {
        Path file = dir.resolve("scheduler_config.json");
        Json.write(file, SchedulerConfigs.of(Family.SDXL));
        String text = Files.readString(file, StandardCharsets.UTF_8);
        assertThat(text).startsWith("{\n  \"_class_name\": \"EulerDiscreteScheduler\",\n")
                .contains("\n  \"beta_start\": 0.00085,\n").contains("\n  \"beta_end\": 0.012,\n")
                .contains("\n  \"sample_max_value\": 1.0,\n").contains("\"trained_betas\": null")
                .endsWith("}\n");
        JsonNode node = MAPPER.readTree(text);
        assertThat(node.get("beta_start").asDouble()).isEqualTo(0.00085);
    }

    @Test
    void modelIndexNamesEveryFolderOfTheFamily() throws IOException {
        for (Family family : new Family[] {Family.SD15, Family.SD21, Family.SDXL}) {
            Map<String, Object> index = PipelineIndex.of(family);
            Path file = dir.resolve(family.cliName() + ".json");
            Json.write(file, index);
            JsonNode node = MAPPER.readTree(file.toFile());
            assertThat(node.get("_class_name").asText()).isEqualTo(
                    family.base() == Family.SDXL ? "StableDiffusionXLPipeline" : "StableDiffusionPipeline");
            assertThat(node.get("_diffusers_version").asText()).matches("0\\.\\d+\\.\\d+.*");
            for (String component : PipelineIndex.components(family)) {
                assertThat(node.get(component).isArray()).as(component).isTrue();
                assertThat(node.get(component).get(1).asText()).as(component).isNotBlank();
            }
            assertThat(node.get("scheduler").get(1).asText())
                    .isEqualTo(SchedulerConfigs.of(family).get("_class_name"));
            assertThat(node.has("text_encoder_2")).isEqualTo(family.base() == Family.SDXL);
            assertThat(node.get("unet").toString()).isEqualTo("[\"diffusers\",\"UNet2DConditionModel\"]");
        }
    }

    @Test
    void tokenizerFolderHoldsTheFourHuggingFaceFiles() throws IOException {
        BpeVocabulary vocabulary = SmallBpe.vocabulary();
        TokenizerFiles.write(dir, vocabulary, TokenizerFiles.EXCLAMATION_PAD);
        for (String name : TokenizerFiles.FILES) {
            assertThat(dir.resolve(name)).isRegularFile();
        }
        JsonNode vocab = MAPPER.readTree(dir.resolve("vocab.json").toFile());
        assertThat(vocab.size()).isEqualTo(vocabulary.size());
        assertThat(vocab.get("!").asInt()).isZero();
        assertThat(vocab.get("\u0120</w>").asInt()).isEqualTo(256 + ByteLevelAlphabet.symbols().indexOf("\u0120"));
        assertThat(vocab.get(BpeVocabulary.END_OF_TEXT).asInt()).isEqualTo(vocabulary.size() - 1);
        List<String> merges = Files.readAllLines(dir.resolve("merges.txt"), StandardCharsets.UTF_8);
        assertThat(merges.get(0)).isEqualTo("#version: 0.2");
        assertThat(merges.subList(1, merges.size())).isEqualTo(vocabulary.merges());
        JsonNode config = MAPPER.readTree(dir.resolve("tokenizer_config.json").toFile());
        assertThat(config.get("model_max_length").asInt()).isEqualTo(77);
        assertThat(config.get("do_lower_case").asBoolean()).isTrue();
        assertThat(config.get("pad_token").asText()).isEqualTo("!");
        assertThat(config.get("bos_token").get("content").asText()).isEqualTo(BpeVocabulary.START_OF_TEXT);
        assertThat(config.get("tokenizer_class").asText()).isEqualTo("CLIPTokenizer");
        JsonNode special = MAPPER.readTree(dir.resolve("special_tokens_map.json").toFile());
        assertThat(special.get("pad_token").asText()).isEqualTo("!");
        assertThat(special.get("eos_token").get("content").asText()).isEqualTo(BpeVocabulary.END_OF_TEXT);
    }

    @Test
    void sdPadTokenIsEndOfText() throws IOException {
        TokenizerFiles.write(dir, SmallBpe.vocabulary(), BpeVocabulary.END_OF_TEXT);
        JsonNode special = MAPPER.readTree(dir.resolve("special_tokens_map.json").toFile());
        assertThat(special.get("pad_token").get("content").asText()).isEqualTo(BpeVocabulary.END_OF_TEXT);
        JsonNode config = MAPPER.readTree(dir.resolve("tokenizer_config.json").toFile());
        assertThat(config.get("pad_token").asText()).isEqualTo(BpeVocabulary.END_OF_TEXT);
    }
}
