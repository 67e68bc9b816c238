package dev.asyncdiff.synthetic;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The components of a Stable Video Diffusion folder (stabilityai/stable-video-diffusion-img2vid-xt) in the ONNX
 * layout OnnxStack and NVIDIA's demo export: {@code unet/} ({@link SvdUNetGraph}), {@code image_encoder/}
 * ({@link ClipVisionGraph}) with {@code feature_extractor/preprocessor_config.json}, {@code vae_encoder/} (SD's
 * AutoencoderKL encoder, which SVD's VAE shares), {@code vae_decoder/} ({@link TemporalVaeGraph}) and the EDM Euler
 * {@code scheduler/}.
 */
final class SvdModels {
    static final String PIPELINE_CLASS = "StableVideoDiffusionPipeline";

    private SvdModels() {
    }

    /** Writes every component of {@code scale} into {@code dir}; returns the parameters per component. */
    static Map<String, Long> writeComponents(Path dir, Scale scale, DType dtype, Weights weights,
                                             ExternalDataPolicy unetPolicy) {
        SvdUNetConfig unet = SvdUNetConfig.of(scale);
        ClipVisionConfig vision = ClipVisionConfig.of(scale);
        TemporalVaeConfig vae = TemporalVaeConfig.of(scale);
        Map<String, Long> parameters = new LinkedHashMap<>();
        Json.write(SyntheticModels.folder(dir, "scheduler").resolve("scheduler_config.json"), schedulerConfig());
        Json.write(SyntheticModels.folder(dir, "feature_extractor").resolve("preprocessor_config.json"),
                vision.preprocessorConfig());
        SyntheticModels.writeModel(dir, "image_encoder", vision.toDiffusersConfig(),
                ClipVisionGraph.build(vision, weights, dtype), ExternalDataPolicy.AUTO, parameters);
        SyntheticModels.writeModel(dir, "unet", unet.toDiffusersConfig(), SvdUNetGraph.build(unet, weights, dtype),
                unetPolicy, parameters);
        SyntheticModels.writeModel(dir, "vae_encoder", vae.toDiffusersConfig(),
                VaeGraphs.encoder(vae.encoderConfig(), weights, dtype), ExternalDataPolicy.AUTO, parameters);
        SyntheticModels.writeModel(dir, "vae_decoder", vae.toDiffusersConfig(),
                TemporalVaeGraph.decoder(vae, weights, dtype), ExternalDataPolicy.AUTO, parameters);
        return parameters;
    }

    /** {@code model_index.json}: diffusers' SVD components, the VAE as Optimum splits it. */
    static Map<String, Object> modelIndex() {
        Map<String, Object> index = new LinkedHashMap<>();
        index.put("_class_name", PIPELINE_CLASS);
        index.put("_diffusers_version", "0.24.0.dev0");
        index.put("feature_extractor", List.of("transformers", "CLIPImageProcessor"));
        index.put("image_encoder", List.of("transformers", "CLIPVisionModelWithProjection"));
        index.put("scheduler", List.of("diffusers", "EulerDiscreteScheduler"));
        index.put("unet", List.of("diffusers", "UNetSpatioTemporalConditionModel"));
        index.put("vae_encoder", List.of("diffusers", "OnnxRuntimeModel"));
        index.put("vae_decoder", List.of("diffusers", "OnnxRuntimeModel"));
        return index;
    }

    /**
     * SVD-xt's {@code EulerDiscreteScheduler}: v-prediction with continuous timesteps {@code 0.25·ln σ} over Karras
     * sigmas in [0.002, 700], scaled-linear betas 0.00085–0.012, leading spacing, steps offset 1.
     */
    static Map<String, Object> schedulerConfig() {
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("_class_name", "EulerDiscreteScheduler");
        config.put("_diffusers_version", "0.24.0.dev0");
        config.put("beta_end", 0.012);
        config.put("beta_schedule", "scaled_linear");
        config.put("beta_start", 0.00085);
        config.put("clip_sample", false);
        config.put("interpolation_type", "linear");
        config.put("num_train_timesteps", 1000);
        config.put("prediction_type", "v_prediction");
        config.put("set_alpha_to_one", false);
        config.put("sigma_max", 700.0);
        config.put("sigma_min", 0.002);
        config.put("skip_prk_steps", true);
        config.put("steps_offset", 1);
        config.put("timestep_spacing", "leading");
        config.put("timestep_type", "continuous");
        config.put("trained_betas", null);
        config.put("use_karras_sigmas", true);
        return config;
    }
}
