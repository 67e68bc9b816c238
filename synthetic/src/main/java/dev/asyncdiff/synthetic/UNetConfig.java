package dev.asyncdiff.synthetic;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Hyper-parameters of a diffusers {@code UNet2DConditionModel}, with diffusers' meanings: as in
 * diffusers, {@code attentionHeadDim} holds the number of attention <em>heads</em> of each block
 * (the head width is the block's channels divided by it).
 *
 * @param sampleSize                latent size the model was trained at (64 SD 1.5, 96 SD 2.1, 128 SDXL and x4)
 * @param inChannels                channels of {@code sample}: 4, or 9 inpainting, 7 x4 upscaler
 * @param outChannels               channels of {@code out_sample}
 * @param blockOutChannels          channels of each resolution level
 * @param downBlockTypes            {@code CrossAttnDownBlock2D} or {@code DownBlock2D} per level
 * @param upBlockTypes              {@code CrossAttnUpBlock2D} or {@code UpBlock2D} per level, deepest first
 * @param layersPerBlock            ResNet blocks per down block (up blocks have one more)
 * @param crossAttentionDim         width of {@code encoder_hidden_states}
 * @param attentionHeadDim          attention heads per level (diffusers' {@code attention_head_dim})
 * @param transformerLayersPerBlock {@code BasicTransformerBlock}s per Transformer2D model, per level
 * @param useLinearProjection       whether {@code proj_in}/{@code proj_out} are linear (else 1x1 convs)
 * @param upcastAttention           diffusers' {@code upcast_attention} flag (SD 2.1), kept for the config
 * @param normNumGroups             GroupNorm groups
 * @param normEps                   GroupNorm epsilon of ResNets and the output norm
 * @param additionTimeEmbedDim      SDXL's {@code addition_time_embed_dim}; 0 when there is no add_embedding
 * @param textEmbedsDim             width of SDXL's pooled {@code text_embeds}; 0 when there is no add_embedding
 * @param sequenceLength            tokens of {@code encoder_hidden_states} (77)
 * @param onlyCrossAttention        diffusers' {@code only_cross_attention} per down block: whether the attn1 of the
 *                                  level's transformer blocks attends to {@code encoder_hidden_states} instead of
 *                                  the image tokens (the x4 upscaler's outer attention levels); up blocks mirror
 *                                  it, the mid block never has it, and a level without attention ignores it
 * @param numClassEmbeds            rows of the {@code class_embedding} table (1000 for the x4 upscaler, whose
 *                                  {@code class_labels} are the noise level); 0 when there is no class embedding
 */
public record UNetConfig(int sampleSize, int inChannels, int outChannels, List<Integer> blockOutChannels,
                         List<String> downBlockTypes, List<String> upBlockTypes, int layersPerBlock,
                         int crossAttentionDim, List<Integer> attentionHeadDim,
                         List<Integer> transformerLayersPerBlock, boolean useLinearProjection,
                         boolean upcastAttention, int normNumGroups, double normEps, int additionTimeEmbedDim,
                         int textEmbedsDim, int sequenceLength, List<Boolean> onlyCrossAttention,
                         int numClassEmbeds) {
    /** The number of SDXL {@code time_ids} per sample (original size, crop offset, target size). */
    public static final int TIME_IDS = 6;
    static final String CROSS_DOWN = "CrossAttnDownBlock2D";
    static final String PLAIN_DOWN = "DownBlock2D";
    static final String CROSS_UP = "CrossAttnUpBlock2D";
    static final String PLAIN_UP = "UpBlock2D";

    /** A UNet without class embedding whose attn1 is self-attention everywhere (SD 1.x, 2.x, XL). */
    public UNetConfig(int sampleSize, int inChannels, int outChannels, List<Integer> blockOutChannels,
                      List<String> downBlockTypes, List<String> upBlockTypes, int layersPerBlock,
                      int crossAttentionDim, List<Integer> attentionHeadDim,
                      List<Integer> transformerLayersPerBlock, boolean useLinearProjection,
                      boolean upcastAttention, int normNumGroups, double normEps, int additionTimeEmbedDim,
                      int textEmbedsDim, int sequenceLength) {
        this(sampleSize, inChannels, outChannels, blockOutChannels, downBlockTypes, upBlockTypes, layersPerBlock,
                crossAttentionDim, attentionHeadDim, transformerLayersPerBlock, useLinearProjection, upcastAttention,
                normNumGroups, normEps, additionTimeEmbedDim, textEmbedsDim, sequenceLength,
                Collections.nCopies(blockOutChannels.size(), false), 0);
    }

    public UNetConfig {
        blockOutChannels = List.copyOf(blockOutChannels);
        downBlockTypes = List.copyOf(downBlockTypes);
        upBlockTypes = List.copyOf(upBlockTypes);
        attentionHeadDim = List.copyOf(attentionHeadDim);
        transformerLayersPerBlock = List.copyOf(transformerLayersPerBlock);
        onlyCrossAttention = List.copyOf(onlyCrossAttention);
        int levels = blockOutChannels.size();
        if (levels < 2) {
            throw new IllegalArgumentException("block_out_channels needs at least 2 levels, was " + blockOutChannels);
        }
        for (List<?> perLevel : List.of(downBlockTypes, upBlockTypes, attentionHeadDim, transformerLayersPerBlock,
                onlyCrossAttention)) {
            if (perLevel.size() != levels) {
                throw new IllegalArgumentException("every per-block list needs " + levels + " entries like "
                        + "block_out_channels " + blockOutChannels + ", found " + perLevel);
            }
        }
        ClipTextConfig.requirePositive("sample_size", sampleSize);
        ClipTextConfig.requirePositive("in_channels", inChannels);
        ClipTextConfig.requirePositive("out_channels", outChannels);
        ClipTextConfig.requirePositive("layers_per_block", layersPerBlock);
        ClipTextConfig.requirePositive("cross_attention_dim", crossAttentionDim);
        ClipTextConfig.requirePositive("norm_num_groups", normNumGroups);
        ClipTextConfig.requirePositive("sequence_length", sequenceLength);
        if (numClassEmbeds < 0) {
            throw new IllegalArgumentException("num_class_embeds must be 0 (none) or positive, was " + numClassEmbeds);
        }
        for (int level = 0; level < levels; level++) {
            int channels = blockOutChannels.get(level);
            if (channels <= 0 || channels % normNumGroups != 0) {
                throw new IllegalArgumentException("block_out_channels " + blockOutChannels
                        + " must be positive multiples of norm_num_groups " + normNumGroups);
            }
            String down = downBlockTypes.get(level);
            String up = upBlockTypes.get(levels - 1 - level);
            boolean crossDown = switch (down) {
                case CROSS_DOWN -> true;
                case PLAIN_DOWN -> false;
                default -> throw new IllegalArgumentException("down_block_types entries are " + CROSS_DOWN + " or "
                        + PLAIN_DOWN + ", found '" + down + "'");
            };
            boolean crossUp = switch (up) {
                case CROSS_UP -> true;
                case PLAIN_UP -> false;
                default -> throw new IllegalArgumentException("up_block_types entries are " + CROSS_UP + " or "
                        + PLAIN_UP + ", found '" + up + "'");
            };
            if (crossDown != crossUp) {
                throw new IllegalArgumentException("up_block_types " + upBlockTypes + " must mirror down_block_types "
                        + downBlockTypes);
            }
            int heads = attentionHeadDim.get(level);
            if (heads <= 0 || channels % heads != 0) {
                throw new IllegalArgumentException("attention_head_dim (heads) " + attentionHeadDim
                        + " must divide block_out_channels " + blockOutChannels);
            }
            if (transformerLayersPerBlock.get(level) <= 0) {
                throw new IllegalArgumentException("transformer_layers_per_block must be positive, was "
                        + transformerLayersPerBlock);
            }
        }
        if ((additionTimeEmbedDim == 0) != (textEmbedsDim == 0) || additionTimeEmbedDim < 0 || textEmbedsDim < 0) {
            throw new IllegalArgumentException("addition_time_embed_dim (" + additionTimeEmbedDim
                    + ") and the text_embeds width (" + textEmbedsDim + ") are both positive (SDXL) or both 0");
        }
        if (additionTimeEmbedDim % 2 != 0 || blockOutChannels.get(0) % 2 != 0) {
            throw new IllegalArgumentException("sinusoidal embedding widths must be even");
        }
    }

    /** The number of resolution levels. */
    public int levels() {
        return blockOutChannels.size();
    }

    /** Whether the down block of {@code level} (and its mirrored up block) has Transformer2D models. */
    public boolean hasCrossAttention(int level) {
        return downBlockTypes.get(level).equals(CROSS_DOWN);
    }

    /**
     * Whether the transformer blocks of {@code level} (down block and mirrored up block) have an attn1
     * whose keys and values come from {@code encoder_hidden_states}, as diffusers' {@code only_cross_attention}.
     */
    public boolean crossAttentionOnly(int level) {
        return hasCrossAttention(level) && onlyCrossAttention.get(level);
    }

    /** Whether noise-level or class labels ({@code class_labels}) are embedded and added to the time embedding. */
    public boolean hasClassEmbedding() {
        return numClassEmbeds > 0;
    }

    /** Width of the time embedding: four times the first level's channels. */
    public int timeEmbedDim() {
        return 4 * blockOutChannels.get(0);
    }

    /**
     * Channels of the down path's residuals in diffusers' order: {@code conv_in}'s output, then each down
     * block's ResNets (with their attentions) and downsampler. They are the skips the up blocks consume
     * (deepest first) and a ControlNet's {@code down_block_K_additional_residual} outputs: 12 for SD 1.5, 9 for SDXL.
     */
    public List<Integer> downResidualChannels() {
        List<Integer> channels = new ArrayList<>();
        channels.add(blockOutChannels.get(0));
        for (int level = 0; level < levels(); level++) {
            int count = layersPerBlock + (level < levels() - 1 ? 1 : 0);
            channels.addAll(Collections.nCopies(count, blockOutChannels.get(level)));
        }
        return List.copyOf(channels);
    }

    /**
     * How many times smaller than the latent each of {@link #downResidualChannels()} is per side: 1 up to
     * the first downsampler, whose output is 2, and so on (1, 1, 1, 2, 2, 2, 4, 4, 4, 8, 8, 8 for SD 1.5).
     */
    public List<Integer> downResidualScales() {
        List<Integer> scales = new ArrayList<>();
        scales.add(1);
        for (int level = 0; level < levels(); level++) {
            scales.addAll(Collections.nCopies(layersPerBlock, 1 << level));
            if (level < levels() - 1) {
                scales.add(1 << (level + 1));
            }
        }
        return List.copyOf(scales);
    }

    /** This UNet with {@code channels} input channels (an inpainting UNet: 9), everything else the same. */
    public UNetConfig withInChannels(int channels) {
        return new UNetConfig(sampleSize, channels, outChannels, blockOutChannels, downBlockTypes, upBlockTypes,
                layersPerBlock, crossAttentionDim, attentionHeadDim, transformerLayersPerBlock, useLinearProjection,
                upcastAttention, normNumGroups, normEps, additionTimeEmbedDim, textEmbedsDim, sequenceLength,
                onlyCrossAttention, numClassEmbeds);
    }

    /** Whether the model has SDXL's {@code add_embedding} (inputs {@code text_embeds} and {@code time_ids}). */
    public boolean hasAddEmbedding() {
        return additionTimeEmbedDim > 0;
    }

    /** Input width of {@code add_embedding}: six sinusoidal time ids plus the pooled text embedding. */
    public int projectionClassEmbeddingsInputDim() {
        return TIME_IDS * additionTimeEmbedDim + textEmbedsDim;
    }

    /**
     * The content of {@code unet/config.json}, with diffusers' keys; {@code class_embed_type},
     * {@code num_class_embeds} and {@code only_cross_attention} appear only where they differ from
     * diffusers' defaults, so the other families' files stay as they were.
     */
    public Map<String, Object> toDiffusersConfig() {
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("_class_name", "UNet2DConditionModel");
        config.put("act_fn", "silu");
        config.put("addition_embed_type", hasAddEmbedding() ? "text_time" : null);
        config.put("addition_time_embed_dim", hasAddEmbedding() ? additionTimeEmbedDim : null);
        boolean sameHeads = attentionHeadDim.stream().distinct().count() == 1;
        config.put("attention_head_dim", sameHeads ? attentionHeadDim.get(0) : attentionHeadDim);
        config.put("block_out_channels", blockOutChannels);
        config.put("center_input_sample", false);
        if (hasClassEmbedding()) {
            config.put("class_embed_type", null);
        }
        config.put("cross_attention_dim", crossAttentionDim);
        config.put("down_block_types", downBlockTypes);
        config.put("downsample_padding", 1);
        config.put("dual_cross_attention", false);
        config.put("flip_sin_to_cos", true);
        config.put("freq_shift", 0);
        config.put("in_channels", inChannels);
        config.put("layers_per_block", layersPerBlock);
        config.put("mid_block_scale_factor", 1);
        config.put("mid_block_type", "UNetMidBlock2DCrossAttn");
        config.put("norm_eps", normEps);
        config.put("norm_num_groups", normNumGroups);
        if (hasClassEmbedding()) {
            config.put("num_class_embeds", numClassEmbeds);
        }
        if (onlyCrossAttention.contains(true)) {
            config.put("only_cross_attention", onlyCrossAttention);
        }
        config.put("out_channels", outChannels);
        config.put("projection_class_embeddings_input_dim",
                hasAddEmbedding() ? projectionClassEmbeddingsInputDim() : null);
        config.put("sample_size", sampleSize);
        boolean sameDepth = transformerLayersPerBlock.stream().distinct().count() == 1;
        config.put("transformer_layers_per_block",
                sameDepth ? transformerLayersPerBlock.get(0) : transformerLayersPerBlock);
        config.put("up_block_types", upBlockTypes);
        config.put("upcast_attention", upcastAttention);
        config.put("use_linear_projection", useLinearProjection);
        return config;
    }
}
