package dev.asyncdiff.synthetic;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code model_index.json} of a synthetic folder. {@code _class_name} is the diffusers pipeline
 * ({@code StableDiffusionPipeline}, {@code StableDiffusionXLPipeline} or {@code StableDiffusion3Pipeline}) and
 * {@code _diffusers_version} the one the family's published index names. Unlike the PyTorch layout,
 * every component entry names a folder that exists: the exported layout has {@code vae_encoder} and
 * {@code vae_decoder} (both {@code AutoencoderKL} halves) instead of {@code vae}; the safety checker
 * and feature extractor are absent ({@code [null, null]}).
 *
 * <p>The x4 upscaler ({@code StableDiffusionUpscalePipeline}) has no exported layout anywhere, so its
 * folder follows ours: the published index's entries ({@code low_res_scheduler}, {@code max_noise_level},
 * {@code scheduler}, {@code text_encoder}, {@code tokenizer}, {@code unet}) and {@code vae_decoder} alone,
 * since the pipeline never encodes an image. Its {@code _diffusers_version} is the release that added
 * the pipeline (0.9.0), not read from the hub.
 */
public final class PipelineIndex {
    /** The highest {@code noise_level} the x4 upscale pipeline accepts, and its {@code model_index.json} entry. */
    public static final int MAX_NOISE_LEVEL = 350;

    private PipelineIndex() {
    }

    /** The pipeline class name of {@code family}. */
    public static String pipelineClass(Family family) {
        return switch (family) {
            case SD15, SD21 -> "StableDiffusionPipeline";
            case SDXL -> "StableDiffusionXLPipeline";
            case SD3 -> "StableDiffusion3Pipeline";
            case SD15_INPAINT -> "StableDiffusionInpaintPipeline";
            case SDXL_INPAINT -> "StableDiffusionXLInpaintPipeline";
            case X4_UPSCALER -> "StableDiffusionUpscalePipeline";
            case SVD -> SvdModels.PIPELINE_CLASS;
            case ANIMATEDIFF -> AnimateDiffModels.PIPELINE_CLASS;
        };
    }

    /** The component folders of {@code family}, in the order {@code model_index.json} lists them. */
    public static List<String> components(Family family) {
        return switch (family.base()) {
            case SVD -> List.of("feature_extractor", "image_encoder", "scheduler", "unet", "vae_decoder", "vae_encoder");
            case ANIMATEDIFF -> AnimateDiffModels.components();
            case SD15, SD21 -> List.of("scheduler", "text_encoder", "tokenizer", "unet", "vae_decoder", "vae_encoder");
            case SDXL -> List.of("scheduler", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2", "unet",
                    "vae_decoder", "vae_encoder");
            case SD3 -> List.of("scheduler", "text_encoder", "text_encoder_2", "text_encoder_3", "tokenizer",
                    "tokenizer_2", "tokenizer_3", "transformer", "vae_decoder", "vae_encoder");
            case X4_UPSCALER -> List.of("low_res_scheduler", "scheduler", "text_encoder", "tokenizer", "unet",
                    "vae_decoder");
            default -> throw new IllegalArgumentException("no base family " + family);
        };
    }

    /** The content of {@code model_index.json} for {@code family}. */
    public static Map<String, Object> of(Family named) {
        if (named == Family.SVD) {
            return SvdModels.modelIndex();
        }
        if (named == Family.ANIMATEDIFF) {
            return AnimateDiffModels.modelIndex();
        }
        Map<String, Object> index = new LinkedHashMap<>();
        index.put("_class_name", pipelineClass(named));
        Family family = named.base();
        index.put("_diffusers_version", switch (family.base()) {
            case SD15 -> "0.6.0";
            case SD21 -> "0.10.0.dev0";
            case SDXL -> "0.19.0.dev0";
            case SD3 -> "0.29.0.dev0";
            case X4_UPSCALER -> "0.9.0";
            default -> throw new IllegalArgumentException("no base family " + family);
        });
        if (family == Family.SD3) {
            return sd3(index);
        }
        if (family == Family.X4_UPSCALER) {
            return upscaler(index);
        }
        if (family == Family.SDXL) {
            index.put("force_zeros_for_empty_prompt", true);
            index.put("add_watermarker", null);
        } else {
            index.put("feature_extractor", Arrays.asList(null, null));
            index.put("requires_safety_checker", false);
            index.put("safety_checker", Arrays.asList(null, null));
        }
        index.put("scheduler", List.of("diffusers", (String) SchedulerConfigs.of(family).get("_class_name")));
        index.put("text_encoder", List.of("transformers", "CLIPTextModel"));
        if (family == Family.SDXL) {
            index.put("text_encoder_2", List.of("transformers", "CLIPTextModelWithProjection"));
        }
        index.put("tokenizer", List.of("transformers", "CLIPTokenizer"));
        if (family == Family.SDXL) {
            index.put("tokenizer_2", List.of("transformers", "CLIPTokenizer"));
        }
        index.put("unet", List.of("diffusers", "UNet2DConditionModel"));
        index.put("vae_decoder", List.of("diffusers", "AutoencoderKL"));
        index.put("vae_encoder", List.of("diffusers", "AutoencoderKL"));
        return index;
    }

    /** The x4 upscaler: two schedulers (one noises the low-resolution image), SD 2.1's text encoder, no VAE encoder. */
    private static Map<String, Object> upscaler(Map<String, Object> index) {
        index.put("low_res_scheduler", List.of("diffusers",
                (String) SchedulerConfigs.lowResolution(Family.X4_UPSCALER).get("_class_name")));
        index.put("max_noise_level", MAX_NOISE_LEVEL);
        index.put("scheduler", List.of("diffusers",
                (String) SchedulerConfigs.of(Family.X4_UPSCALER).get("_class_name")));
        index.put("text_encoder", List.of("transformers", "CLIPTextModel"));
        index.put("tokenizer", List.of("transformers", "CLIPTokenizer"));
        index.put("unet", List.of("diffusers", "UNet2DConditionModel"));
        index.put("vae_decoder", List.of("diffusers", "AutoencoderKL"));
        return index;
    }

    /** SD 3: both CLIP encoders with projection, T5's encoder and tokenizer, the transformer. */
    private static Map<String, Object> sd3(Map<String, Object> index) {
        index.put("scheduler", List.of("diffusers", (String) SchedulerConfigs.of(Family.SD3).get("_class_name")));
        index.put("text_encoder", List.of("transformers", "CLIPTextModelWithProjection"));
        index.put("text_encoder_2", List.of("transformers", "CLIPTextModelWithProjection"));
        index.put("text_encoder_3", List.of("transformers", "T5EncoderModel"));
        index.put("tokenizer", List.of("transformers", "CLIPTokenizer"));
        index.put("tokenizer_2", List.of("transformers", "CLIPTokenizer"));
        index.put("tokenizer_3", List.of("transformers", "T5TokenizerFast"));
        index.put("transformer", List.of("diffusers", "SD3Transformer2DModel"));
        index.put("vae_decoder", List.of("diffusers", "AutoencoderKL"));
        index.put("vae_encoder", List.of("diffusers", "AutoencoderKL"));
        return index;
    }
}
