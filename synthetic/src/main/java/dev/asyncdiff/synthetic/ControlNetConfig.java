package dev.asyncdiff.synthetic;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Hyper-parameters of a diffusers {@code ControlNetModel}: the encoder of {@code unet} (what
 * {@code ControlNetModel.from_unet} copies: in_channels, block_out_channels, down_block_types,
 * layers_per_block, heads, transformer depths, projections, norms, SDXL's add embedding) plus the
 * conditioning embedding that maps the {@code [batch, 3, H, W]} control image to the latent size.
 *
 * @param unet                              the base UNet whose encoder the ControlNet copies; without class embedding
 * @param conditioningEmbeddingOutChannels  channels of {@code controlnet_cond_embedding}'s stages; each stage after the
 *                                          first halves the image, so there are log2(VAE scale factor) + 1 of them
 */
public record ControlNetConfig(UNetConfig unet, List<Integer> conditioningEmbeddingOutChannels) {
    /** diffusers' default {@code conditioning_embedding_out_channels}, that of every released SD 1.5 and SDXL ControlNet. */
    public static final List<Integer> DEFAULT_EMBEDDING_CHANNELS = List.of(16, 32, 96, 256);
    /** Channels of {@code controlnet_cond}, an RGB image. */
    public static final int CONDITIONING_CHANNELS = 3;
    /** The families with a ControlNet: the base text-to-image UNets. */
    public static final List<Family> FAMILIES = List.of(Family.SD15, Family.SD21, Family.SDXL);
    private static final List<Integer> TINY_EMBEDDING_CHANNELS = List.of(8, 8, 16, 16);
    private static final List<Integer> SMALL_EMBEDDING_CHANNELS = List.of(16, 16, 32, 64);

    public ControlNetConfig {
        Objects.requireNonNull(unet, "unet");
        conditioningEmbeddingOutChannels = List.copyOf(conditioningEmbeddingOutChannels);
        if (conditioningEmbeddingOutChannels.isEmpty()
                || conditioningEmbeddingOutChannels.stream().anyMatch(channels -> channels <= 0)) {
            throw new IllegalArgumentException("conditioning_embedding_out_channels must be positive, at least one, was "
                    + conditioningEmbeddingOutChannels);
        }
        if (unet.hasClassEmbedding()) {
            throw new IllegalArgumentException("a ControlNet of a UNet with class embedding (num_class_embeds "
                    + unet.numClassEmbeds() + ") is not supported");
        }
    }

    /** diffusers' {@code ControlNetModel.from_unet(unet)}: {@link #DEFAULT_EMBEDDING_CHANNELS}. */
    public static ControlNetConfig fromUnet(UNetConfig unet) {
        return new ControlNetConfig(unet, DEFAULT_EMBEDDING_CHANNELS);
    }

    /**
     * The ControlNet of {@code family}'s UNet at {@code scale}: at full scale the released ControlNets'
     * (lllyasviel/sd-controlnet-canny for SD 1.5, diffusers/controlnet-canny-sdxl-1.0 for SDXL), i.e.
     * {@link #fromUnet}; the tiny and small scales narrow the conditioning embedding but keep its stride-2
     * stages, one per halving of the family's VAE.
     *
     * @throws IllegalArgumentException for a family not in {@link #FAMILIES}
     */
    public static ControlNetConfig of(Family family, Scale scale) {
        if (!FAMILIES.contains(family)) {
            throw new IllegalArgumentException("no ControlNet for family '" + (family == null ? null : family.cliName())
                    + "'; expected one of " + FAMILIES.stream().map(Family::cliName).toList());
        }
        FamilyPreset preset = FamilyPreset.of(family, scale);
        ControlNetConfig config = new ControlNetConfig(preset.unet(), switch (scale) {
            case TINY -> TINY_EMBEDDING_CHANNELS;
            case SMALL -> SMALL_EMBEDDING_CHANNELS;
            case FULL -> DEFAULT_EMBEDDING_CHANNELS;
        });
        if (config.downscaleFactor() != preset.vae().downscaleFactor()) {
            throw new IllegalStateException("the " + family.cliName() + " " + scale.cliName()
                    + " conditioning embedding shrinks the image " + config.downscaleFactor()
                    + " times, the VAE " + preset.vae().downscaleFactor() + " times");
        }
        return config;
    }

    /** How many times larger {@code controlnet_cond} is than {@code sample} per side: 2 per stride-2 stage. */
    public int downscaleFactor() {
        return 1 << (conditioningEmbeddingOutChannels.size() - 1);
    }

    /** The number of {@code down_block_K_additional_residual} outputs (12 for SD 1.5, 9 for SDXL). */
    public int downResidualCount() {
        return unet.downResidualChannels().size();
    }

    /**
     * The content of the ControlNet's {@code config.json}, with the keys of a diffusers v0.29
     * {@code ControlNetModel} (sorted, as diffusers saves them) and the values {@code from_unet} takes.
     */
    public Map<String, Object> toDiffusersConfig() {
        boolean xl = unet.hasAddEmbedding();
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("_class_name", "ControlNetModel");
        config.put("act_fn", "silu");
        config.put("addition_embed_type", xl ? "text_time" : null);
        config.put("addition_embed_type_num_heads", 64);
        config.put("addition_time_embed_dim", xl ? unet.additionTimeEmbedDim() : null);
        boolean sameHeads = unet.attentionHeadDim().stream().distinct().count() == 1;
        config.put("attention_head_dim", sameHeads ? unet.attentionHeadDim().get(0) : unet.attentionHeadDim());
        config.put("block_out_channels", unet.blockOutChannels());
        config.put("class_embed_type", null);
        config.put("conditioning_channels", CONDITIONING_CHANNELS);
        config.put("conditioning_embedding_out_channels", conditioningEmbeddingOutChannels);
        config.put("controlnet_conditioning_channel_order", "rgb");
        config.put("cross_attention_dim", unet.crossAttentionDim());
        config.put("down_block_types", unet.downBlockTypes());
        config.put("downsample_padding", 1);
        config.put("encoder_hid_dim", null);
        config.put("encoder_hid_dim_type", null);
        config.put("flip_sin_to_cos", true);
        config.put("freq_shift", 0);
        config.put("global_pool_conditions", false);
        config.put("in_channels", unet.inChannels());
        config.put("layers_per_block", unet.layersPerBlock());
        config.put("mid_block_scale_factor", 1);
        config.put("mid_block_type", "UNetMidBlock2DCrossAttn");
        config.put("norm_eps", unet.normEps());
        config.put("norm_num_groups", unet.normNumGroups());
        config.put("num_attention_heads", null);
        config.put("num_class_embeds", null);
        boolean sameOnlyCross = unet.onlyCrossAttention().stream().distinct().count() == 1;
        config.put("only_cross_attention", sameOnlyCross ? unet.onlyCrossAttention().get(0) : unet.onlyCrossAttention());
        config.put("projection_class_embeddings_input_dim", xl ? unet.projectionClassEmbeddingsInputDim() : null);
        config.put("resnet_time_scale_shift", "default");
        boolean sameDepth = unet.transformerLayersPerBlock().stream().distinct().count() == 1;
        config.put("transformer_layers_per_block",
                sameDepth ? unet.transformerLayersPerBlock().get(0) : unet.transformerLayersPerBlock());
        config.put("upcast_attention", unet.upcastAttention());
        config.put("use_linear_projection", unet.useLinearProjection());
        return config;
    }
}
