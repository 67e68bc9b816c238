package dev.asyncdiff.synthetic;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Hyper-parameters of a diffusers {@code SD3Transformer2DModel} (the MMDiT of Stable Diffusion 3),
 * with diffusers' config keys.
 *
 * @param sampleSize           latent size the model was trained at (128 for 1024-pixel images)
 * @param patchSize            side of the square patches the latent is cut into (2)
 * @param inChannels           latent channels in (16)
 * @param numLayers            joint transformer blocks; the last one is "context pre-only"
 * @param attentionHeadDim     width of one attention head (64)
 * @param numAttentionHeads    heads per block; the residual width is {@code heads * headDim}
 * @param jointAttentionDim    width of the text states {@code encoder_hidden_states} (4096, T5-XXL's)
 * @param captionProjectionDim width {@code context_embedder} projects the text states to; must equal the residual width
 * @param pooledProjectionDim  width of {@code pooled_projections} (2048 = CLIP-L 768 + CLIP-G 1280)
 * @param outChannels          latent channels out (16)
 * @param posEmbedMaxSize      side of the stored position-embedding grid, cropped to the latent's patch grid (192)
 */
public record Sd3TransformerConfig(int sampleSize, int patchSize, int inChannels, int numLayers,
                                   int attentionHeadDim, int numAttentionHeads, int jointAttentionDim,
                                   int captionProjectionDim, int pooledProjectionDim, int outChannels,
                                   int posEmbedMaxSize) {
    /** Channels of the sinusoidal timestep projection ({@code Timesteps(256, flip_sin_to_cos=True)}). */
    public static final int TIME_PROJECTION = 256;
    /** Epsilon of every LayerNorm in the blocks and of {@code norm_out}. */
    public static final double NORM_EPS = 1e-6;

    public Sd3TransformerConfig {
        ClipTextConfig.requirePositive("sample_size", sampleSize);
        ClipTextConfig.requirePositive("patch_size", patchSize);
        ClipTextConfig.requirePositive("in_channels", inChannels);
        ClipTextConfig.requirePositive("num_layers", numLayers);
        ClipTextConfig.requirePositive("attention_head_dim", attentionHeadDim);
        ClipTextConfig.requirePositive("num_attention_heads", numAttentionHeads);
        ClipTextConfig.requirePositive("joint_attention_dim", jointAttentionDim);
        ClipTextConfig.requirePositive("caption_projection_dim", captionProjectionDim);
        ClipTextConfig.requirePositive("pooled_projection_dim", pooledProjectionDim);
        ClipTextConfig.requirePositive("out_channels", outChannels);
        ClipTextConfig.requirePositive("pos_embed_max_size", posEmbedMaxSize);
        if (captionProjectionDim != attentionHeadDim * numAttentionHeads) {
            throw new IllegalArgumentException("caption_projection_dim " + captionProjectionDim
                    + " must equal the residual width num_attention_heads * attention_head_dim = "
                    + attentionHeadDim * numAttentionHeads);
        }
        if (sampleSize % patchSize != 0 || sampleSize / patchSize > posEmbedMaxSize) {
            throw new IllegalArgumentException("sample_size " + sampleSize + " must be a multiple of patch_size "
                    + patchSize + " with at most pos_embed_max_size " + posEmbedMaxSize + " patches per side");
        }
    }

    /** The residual width, {@code num_attention_heads * attention_head_dim}. */
    public int innerDim() {
        return attentionHeadDim * numAttentionHeads;
    }

    /** The content of {@code transformer/config.json}, with diffusers' keys. */
    public Map<String, Object> toDiffusersConfig() {
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("_class_name", "SD3Transformer2DModel");
        config.put("_diffusers_version", "0.29.0.dev0");
        config.put("attention_head_dim", attentionHeadDim);
        config.put("caption_projection_dim", captionProjectionDim);
        config.put("in_channels", inChannels);
        config.put("joint_attention_dim", jointAttentionDim);
        config.put("num_attention_heads", numAttentionHeads);
        config.put("num_layers", numLayers);
        config.put("out_channels", outChannels);
        config.put("patch_size", patchSize);
        config.put("pooled_projection_dim", pooledProjectionDim);
        config.put("pos_embed_max_size", posEmbedMaxSize);
        config.put("sample_size", sampleSize);
        return config;
    }
}
