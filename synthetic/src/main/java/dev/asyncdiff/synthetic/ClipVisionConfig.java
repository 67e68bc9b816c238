package dev.asyncdiff.synthetic;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Hyper-parameters of a CLIP vision tower with projection (transformers' {@code CLIPVisionModelWithProjection}),
 * Stable Video Diffusion's {@code image_encoder}: a ViT whose patches, behind a learned class token, run through
 * pre-LayerNorm encoder layers; the class token's final state, post-normed and projected, is {@code image_embeds}.
 *
 * @param hiddenSize        width of the residual stream
 * @param intermediateSize  width of the MLP
 * @param numHiddenLayers   number of encoder layers
 * @param numAttentionHeads attention heads per layer
 * @param imageSize         side of the square input image (224)
 * @param patchSize         side of a square patch; must divide {@code imageSize}
 * @param numChannels       image channels (3)
 * @param projectionDim     width of {@code image_embeds}
 * @param hiddenAct         {@code gelu} (OpenCLIP, SVD's) or {@code quick_gelu} (OpenAI CLIP)
 * @param layerNormEps      LayerNorm epsilon
 */
public record ClipVisionConfig(int hiddenSize, int intermediateSize, int numHiddenLayers, int numAttentionHeads,
                               int imageSize, int patchSize, int numChannels, int projectionDim, String hiddenAct,
                               double layerNormEps) {
    private static final String CLASS_NAME = "CLIPVisionModelWithProjection";
    private static final Set<String> ACTIVATIONS = Set.of("quick_gelu", "gelu");
    private static final int IMAGE_SIZE = 224;
    private static final double EPS = 1e-5;

    public ClipVisionConfig {
        ClipTextConfig.requirePositive("hidden_size", hiddenSize);
        ClipTextConfig.requirePositive("intermediate_size", intermediateSize);
        ClipTextConfig.requirePositive("num_hidden_layers", numHiddenLayers);
        ClipTextConfig.requirePositive("num_attention_heads", numAttentionHeads);
        ClipTextConfig.requirePositive("image_size", imageSize);
        ClipTextConfig.requirePositive("patch_size", patchSize);
        ClipTextConfig.requirePositive("num_channels", numChannels);
        ClipTextConfig.requirePositive("projection_dim", projectionDim);
        if (hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException("hidden_size " + hiddenSize + " is not divisible by num_attention_heads "
                    + numAttentionHeads);
        }
        if (imageSize % patchSize != 0) {
            throw new IllegalArgumentException("image_size " + imageSize + " is not a multiple of patch_size "
                    + patchSize);
        }
        if (!ACTIVATIONS.contains(hiddenAct)) {
            throw new IllegalArgumentException("hidden_act must be one of " + ACTIVATIONS + ", was '" + hiddenAct + "'");
        }
        if (!(layerNormEps > 0)) {
            throw new IllegalArgumentException("layer_norm_eps must be positive, was " + layerNormEps);
        }
    }

    /**
     * The configuration at {@code scale}. {@code FULL} is SVD's image encoder (laion CLIP-ViT-H-14: hidden 1280,
     * 32 layers of 16 heads, MLP 5120, patch 14, projection 1024); {@code TINY} (patch 56, 17 tokens) and
     * {@code SMALL} (patch 32, 50 tokens) keep the 224-pixel input, so the same preprocessing feeds them, and project
     * to the width of the same scale's {@link SvdUNetConfig#crossAttentionDim()}, whose context they are.
     */
    public static ClipVisionConfig of(Scale scale) {
        return switch (scale) {
            case TINY -> new ClipVisionConfig(32, 64, 2, 4, IMAGE_SIZE, 56, 3, 32, "gelu", EPS);
            case SMALL -> new ClipVisionConfig(128, 512, 4, 4, IMAGE_SIZE, 32, 3, 128, "gelu", EPS);
            case FULL -> new ClipVisionConfig(1280, 5120, 32, 16, IMAGE_SIZE, 14, 3, 1024, "gelu", EPS);
        };
    }

    /** Patches per side. */
    public int gridSize() {
        return imageSize / patchSize;
    }

    /** Tokens of {@code last_hidden_state}: the class token and one per patch. */
    public int tokenCount() {
        return gridSize() * gridSize() + 1;
    }

    /** The content of the image encoder folder's {@code config.json}, with transformers' {@code CLIPVisionConfig} keys. */
    public Map<String, Object> toDiffusersConfig() {
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("_class_name", CLASS_NAME);
        config.put("architectures", List.of(CLASS_NAME));
        config.put("attention_dropout", 0.0);
        config.put("dropout", 0.0);
        config.put("hidden_act", hiddenAct);
        config.put("hidden_size", hiddenSize);
        config.put("image_size", imageSize);
        config.put("initializer_factor", 1.0);
        config.put("initializer_range", 0.02);
        config.put("intermediate_size", intermediateSize);
        config.put("layer_norm_eps", layerNormEps);
        config.put("model_type", "clip_vision_model");
        config.put("num_attention_heads", numAttentionHeads);
        config.put("num_channels", numChannels);
        config.put("num_hidden_layers", numHiddenLayers);
        config.put("patch_size", patchSize);
        config.put("projection_dim", projectionDim);
        return config;
    }

    /**
     * The content of the pipeline folder's {@code feature_extractor/preprocessor_config.json}: transformers'
     * {@code CLIPImageProcessor} resizing the shortest edge to the image size with bicubic resampling
     * ({@code resample} 3), centre-cropping, rescaling to [0, 1] and normalising with OpenAI CLIP's mean and std.
     */
    public Map<String, Object> preprocessorConfig() {
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("crop_size", imageSize);
        config.put("do_center_crop", true);
        config.put("do_convert_rgb", true);
        config.put("do_normalize", true);
        config.put("do_rescale", true);
        config.put("do_resize", true);
        config.put("feature_extractor_type", "CLIPFeatureExtractor");
        config.put("image_mean", List.of(0.48145466, 0.4578275, 0.40821073));
        config.put("image_processor_type", "CLIPImageProcessor");
        config.put("image_std", List.of(0.26862954, 0.26130258, 0.27577711));
        config.put("resample", 3);
        config.put("rescale_factor", 1.0 / 255);
        config.put("size", Map.of("shortest_edge", imageSize));
        return config;
    }
}
