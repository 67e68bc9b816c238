package dev.asyncdiff.synthetic;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes an AnimateDiff text-to-video folder (diffusers' {@code AnimateDiffPipeline}: an SD 1.5 base such as
 * emilianJR/epiCRealism with guoyww/animatediff-motion-adapter-v1-5-2) in the exported layout:
 * {@code model_index.json}, {@code scheduler/}, {@code tokenizer/}, {@code text_encoder/}, {@code vae_encoder/} and
 * {@code vae_decoder/} as the {@link Family#SD15} folder of the same scale and seed writes them, {@code unet/} with the
 * {@link MotionUNetGraph motion UNet} (the adapter merged in, as {@code UNetMotionModel.from_unet2d} does; its spatial
 * weights are the SD 1.5 UNet's) and {@code motion_adapter/config.json}. The adapter's weights live in the UNet, so
 * its folder holds the config alone. The scheduler is the DDIM configuration AnimateDiff's examples load.
 *
 * <p>{@link SyntheticModels#write} stages the folder and renames it into place once complete, as every family's.
 */
final class AnimateDiffModels {
    /** diffusers' pipeline class of the folders written here. */
    static final String PIPELINE_CLASS = "AnimateDiffPipeline";
    /** The diffusers release whose {@code UNetMotionModel} and pipeline these folders follow. */
    static final String DIFFUSERS_VERSION = "0.29.2";
    private static final String SCHEDULER_FILE = "scheduler_config.json";

    private AnimateDiffModels() {
    }

    /** Writes every component of {@code scale} into {@code dir}; returns the parameters per component. */
    static Map<String, Long> writeComponents(Path dir, Scale scale, DType dtype, Weights weights,
                                             BpeVocabulary vocabulary, ExternalDataPolicy unetPolicy) {
        FamilyPreset base = FamilyPreset.of(Family.SD15, scale).withVocabSize(vocabulary.size());
        MotionUNetConfig motion = MotionUNetConfig.of(scale);
        Json.write(SyntheticModels.folder(dir, "scheduler").resolve(SCHEDULER_FILE), schedulerConfig());
        TokenizerFiles.write(SyntheticModels.folder(dir, "tokenizer"), vocabulary, BpeVocabulary.END_OF_TEXT);
        Json.write(SyntheticModels.folder(dir, "motion_adapter").resolve("config.json"), motion.motionAdapterConfig());
        Map<String, Long> parameters = new LinkedHashMap<>();
        SyntheticModels.writeModel(dir, "text_encoder", base.textEncoder().toDiffusersConfig(),
                ClipTextEncoderGraph.build(base.textEncoder(), weights, dtype), ExternalDataPolicy.AUTO, parameters);
        SyntheticModels.writeModel(dir, "unet", motion.toDiffusersConfig(),
                MotionUNetGraph.build(motion, weights, dtype), unetPolicy, parameters);
        SyntheticModels.writeModel(dir, "vae_encoder", base.vae().toDiffusersConfig(),
                VaeGraphs.encoder(base.vae(), weights, dtype), ExternalDataPolicy.AUTO, parameters);
        SyntheticModels.writeModel(dir, "vae_decoder", base.vae().toDiffusersConfig(),
                VaeGraphs.decoder(base.vae(), weights, dtype), ExternalDataPolicy.AUTO, parameters);
        return parameters;
    }

    /** The component folders, in the order {@code model_index.json} lists them. */
    public static List<String> components() {
        return List.of("motion_adapter", "scheduler", "text_encoder", "tokenizer", "unet", "vae_decoder",
                "vae_encoder");
    }

    /**
     * The content of {@code model_index.json}: {@code AnimateDiffPipeline} with SD 1.5's components, the exported
     * VAE halves instead of {@code vae}, {@code motion_adapter}, and the pipeline's optional
     * {@code feature_extractor} and {@code image_encoder} (IP-Adapter) absent.
     */
    public static Map<String, Object> modelIndex() {
        Map<String, Object> index = new LinkedHashMap<>();
        index.put("_class_name", PIPELINE_CLASS);
        index.put("_diffusers_version", DIFFUSERS_VERSION);
        index.put("feature_extractor", Arrays.asList(null, null));
        index.put("image_encoder", Arrays.asList(null, null));
        index.put("motion_adapter", List.of("diffusers", "MotionAdapter"));
        index.put("scheduler", List.of("diffusers", "DDIMScheduler"));
        index.put("text_encoder", List.of("transformers", "CLIPTextModel"));
        index.put("tokenizer", List.of("transformers", "CLIPTokenizer"));
        index.put("unet", List.of("diffusers", "UNetMotionModel"));
        index.put("vae_decoder", List.of("diffusers", "AutoencoderKL"));
        index.put("vae_encoder", List.of("diffusers", "AutoencoderKL"));
        return index;
    }

    /**
     * The DDIM scheduler of AnimateDiff's examples ({@code DDIMScheduler.from_pretrained(base, subfolder="scheduler",
     * clip_sample=False, timestep_spacing="linspace", beta_schedule="linear", steps_offset=1)}) over SD 1.5's betas.
     */
    public static Map<String, Object> schedulerConfig() {
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("_class_name", "DDIMScheduler");
        config.put("_diffusers_version", DIFFUSERS_VERSION);
        config.put("beta_end", new BigDecimal("0.012"));
        config.put("beta_schedule", "linear");
        config.put("beta_start", new BigDecimal("0.00085"));
        config.put("clip_sample", false);
        config.put("num_train_timesteps", 1000);
        config.put("prediction_type", "epsilon");
        config.put("set_alpha_to_one", false);
        config.put("steps_offset", 1);
        config.put("timestep_spacing", "linspace");
        config.put("trained_betas", null);
        return config;
    }
}
