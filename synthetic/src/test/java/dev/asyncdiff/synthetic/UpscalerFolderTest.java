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
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A tiny x4 upscaler folder in our own layout: two schedulers, the noise level as class labels, no VAE encoder. */
class UpscalerFolderTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final int BATCH = 2;
    private static final int LATENT = 16;

    @TempDir
    static Path shared;

    static SyntheticFolder folder;

    @BeforeAll
    static void write() {
        folder = SyntheticModels.write(Family.X4_UPSCALER, Scale.TINY, DType.FP32, 7, TokenizerKind.BPE,
                shared.resolve("x4"));
    }

    private static JsonNode json(String file) throws IOException {
        return MAPPER.readTree(folder.directory().resolve(file).toFile());
    }

    @Test
    void modelIndexNamesTheUpscalePipelineAndEveryFolder() throws IOException {
        JsonNode index = json("model_index.json");
        List<String> keys = new ArrayList<>();
        index.fieldNames().forEachRemaining(keys::add);
        assertThat(keys).containsExactly("_class_name", "_diffusers_version", "low_res_scheduler", "max_noise_level",
                "scheduler", "text_encoder", "tokenizer", "unet", "vae_decoder");
        assertThat(index.get("_class_name").asText()).isEqualTo("StableDiffusionUpscalePipeline");
        assertThat(index.get("max_noise_level").asInt()).isEqualTo(350);
        assertThat(index.get("low_res_scheduler").toString()).isEqualTo("[\"diffusers\",\"DDPMScheduler\"]");
        assertThat(index.get("scheduler").toString()).isEqualTo("[\"diffusers\",\"DDIMScheduler\"]");
        assertThat(index.get("text_encoder").toString()).isEqualTo("[\"transformers\",\"CLIPTextModel\"]");
        assertThat(index.get("tokenizer").toString()).isEqualTo("[\"transformers\",\"CLIPTokenizer\"]");
        assertThat(index.get("unet").toString()).isEqualTo("[\"diffusers\",\"UNet2DConditionModel\"]");
        assertThat(index.get("vae_decoder").toString()).isEqualTo("[\"diffusers\",\"AutoencoderKL\"]");
        assertThat(PipelineIndex.components(Family.X4_UPSCALER))
                .allSatisfy(component -> assertThat(folder.directory().resolve(component)).isDirectory());
        assertThat(folder.totalBytes()).as("a few MB").isLessThan(12L << 20);
    }

    @Test
    void schedulersAreVPredictionDdimAndTheLowResolutionDdpm() throws IOException {
        JsonNode scheduler = json("scheduler/scheduler_config.json");
        assertThat(scheduler.get("_class_name").asText()).isEqualTo("DDIMScheduler");
        assertThat(scheduler.get("prediction_type").asText()).isEqualTo("v_prediction");
        assertThat(scheduler.get("timestep_spacing").asText()).isEqualTo("leading");
        assertThat(scheduler.get("steps_offset").asInt()).isEqualTo(1);
        assertThat(scheduler.get("clip_sample").asBoolean()).isFalse();
        assertThat(scheduler.get("set_alpha_to_one").asBoolean()).isFalse();
        JsonNode lowRes = json("low_res_scheduler/scheduler_config.json");
        assertThat(lowRes.get("_class_name").asText()).isEqualTo("DDPMScheduler");
        assertThat(lowRes.get("prediction_type").asText()).isEqualTo("epsilon");
        assertThat(lowRes.get("variance_type").asText()).isEqualTo("fixed_small");
        assertThat(lowRes.get("clip_sample").asBoolean()).isFalse();
        for (JsonNode config : List.of(scheduler, lowRes)) {
            assertThat(config.get("beta_schedule").asText()).isEqualTo("scaled_linear");
            assertThat(config.get("beta_start").decimalValue()).isEqualByComparingTo("0.0001");
            assertThat(config.get("beta_end").decimalValue()).isEqualByComparingTo("0.02");
            assertThat(config.get("num_train_timesteps").asInt()).isEqualTo(1000);
        }
    }

    @Test
    void modelConfigsCarryTheX4Structure() throws IOException {
        JsonNode unet = json("unet/config.json");
        assertThat(unet.get("in_channels").asInt()).isEqualTo(7);
        assertThat(unet.get("out_channels").asInt()).isEqualTo(4);
        assertThat(unet.get("num_class_embeds").asInt()).isEqualTo(1000);
        assertThat(unet.get("class_embed_type").isNull()).isTrue();
        assertThat(unet.get("only_cross_attention").toString()).isEqualTo("[true,true,true,false]");
        assertThat(unet.get("sample_size").asInt()).isEqualTo(FamilyPreset.TINY_SAMPLE);
        JsonNode vae = json("vae_decoder/config.json");
        assertThat(vae.get("scaling_factor").asDouble()).isEqualTo(0.08333);
        assertThat(vae.get("block_out_channels").size()).isEqualTo(3);
        assertThat(json("text_encoder/config.json").get("hidden_act").asText()).as("SD 2.1's OpenCLIP encoder")
                .isEqualTo("gelu");
    }

    @Test
    void unetTakesTheNoiseLevelAsInt64ClassLabels() throws OrtException {
        Path model = folder.directory().resolve("unet/model.onnx");
        Map<String, TensorInfo> declared = OrtRunner.inputInfo(model);
        assertThat(declared.keySet()).containsExactly("sample", "timestep", "encoder_hidden_states", "class_labels");
        assertThat(declared.get("class_labels").type).isEqualTo(OnnxJavaType.INT64);
        assertThat(declared.get("sample").getShape()).containsExactly(-1, 7, -1, -1);
        Output twenty = run(model, 20);
        assertThat(twenty.assertFiniteAndVaried("out_sample").shape()).containsExactly(BATCH, 4, LATENT, LATENT);
        assertThat(run(model, 350).values()).as("the noise level reaches the output").isNotEqualTo(twenty.values());
        assertThat(run(model, 20).values()).containsExactly(twenty.values());
    }

    @Test
    void fp16FolderRuns() throws OrtException {
        SyntheticFolder half = SyntheticModels.write(Family.X4_UPSCALER, Scale.TINY, DType.FP16, 7, TokenizerKind.BPE,
                shared.resolve("x4-fp16"));
        Path model = half.directory().resolve("unet/model.onnx");
        assertThat(OrtRunner.inputInfo(model).get("sample").type).isEqualTo(OnnxJavaType.FLOAT16);
        run(model, 20).assertFiniteAndVaried("fp16 out_sample");
    }

    @Test
    void onlyTheUpscalerHasALowResolutionScheduler() {
        assertThatThrownBy(() -> SchedulerConfigs.lowResolution(Family.SD21))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("SD21");
    }

    private static Output run(Path model, int noiseLevel) throws OrtException {
        UNetConfig config = FamilyPreset.of(Family.X4_UPSCALER, Scale.TINY).unet();
        Map<String, Input> inputs = new LinkedHashMap<>();
        inputs.put("sample", Input.random(1, BATCH, Family.UPSCALE_CHANNELS, LATENT, LATENT));
        inputs.put("timestep", Input.of(i -> 981));
        inputs.put("encoder_hidden_states", Input.random(2, BATCH, config.sequenceLength(), config.crossAttentionDim()));
        inputs.put("class_labels", Input.of(i -> noiseLevel, BATCH));
        Map<String, Output> outputs = OrtRunner.run(model, inputs);
        assertThat(outputs).containsOnlyKeys("out_sample");
        return outputs.get("out_sample");
    }
}
