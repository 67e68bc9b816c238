package dev.asyncdiff.synthetic;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Hyper-parameters of a diffusers {@code UNetMotionModel}: an SD 1.5 {@code UNet2DConditionModel} with an
 * AnimateDiff {@code MotionAdapter} merged in ({@code UNetMotionModel.from_unet2d}). Every down block gets one
 * motion module after each ResNet (and its attention), every up block one after each of its
 * {@code layers_per_block + 1} ResNets, and, with {@code use_motion_mid_block}, the mid block one between its
 * attention and its second ResNet. A motion module is a {@code TransformerTemporalModel} of the block's width that
 * attends over the frame axis only ({@link TemporalTransformer}).
 *
 * @param unet                    the spatial UNet: SD 1.5's, without SDXL's add embedding or a class embedding
 * @param motionLayersPerBlock    diffusers' {@code motion_layers_per_block}: motion modules per down block; it equals
 *                                the UNet's {@code layers_per_block}, as {@code from_unet2d} needs
 * @param motionNumAttentionHeads heads of each temporal attention (their width is the block's channels divided by it)
 * @param motionMaxSeqLength      rows of the sinusoidal position table: the most frames one call may have
 * @param useMotionMidBlock       whether the mid block has a motion module (v1-5-2: true; v1-5-3: false)
 * @param motionNormNumGroups     groups of each motion module's GroupNorm
 */
public record MotionUNetConfig(UNetConfig unet, int motionLayersPerBlock, int motionNumAttentionHeads,
                               int motionMaxSeqLength, boolean useMotionMidBlock, int motionNormNumGroups) {
    /** Motion modules of the mid block when it has them: one per attention ({@code motion_mid_block_layers_per_block}). */
    public static final int MID_BLOCK_MOTION_LAYERS = 1;
    private static final String MOTION_DOWN_CROSS = "CrossAttnDownBlockMotion";
    private static final String MOTION_DOWN_PLAIN = "DownBlockMotion";
    private static final String MOTION_UP_CROSS = "CrossAttnUpBlockMotion";
    private static final String MOTION_UP_PLAIN = "UpBlockMotion";

    public MotionUNetConfig {
        if (unet == null) {
            throw new IllegalArgumentException("a motion UNet needs its spatial UNet config");
        }
        if (unet.hasAddEmbedding() || unet.hasClassEmbedding()) {
            throw new IllegalArgumentException("AnimateDiff's UNetMotionModel here wraps an SD 1.x-style UNet, without "
                    + "add_embedding or class_embedding");
        }
        if (motionLayersPerBlock != unet.layersPerBlock()) {
            throw new IllegalArgumentException("motion_layers_per_block (" + motionLayersPerBlock
                    + ") must equal the UNet's layers_per_block (" + unet.layersPerBlock() + ")");
        }
        ClipTextConfig.requirePositive("motion_num_attention_heads", motionNumAttentionHeads);
        ClipTextConfig.requirePositive("motion_max_seq_length", motionMaxSeqLength);
        ClipTextConfig.requirePositive("motion_norm_num_groups", motionNormNumGroups);
        for (int channels : unet.blockOutChannels()) {
            if (channels % motionNumAttentionHeads != 0 || channels % motionNormNumGroups != 0) {
                throw new IllegalArgumentException("block_out_channels " + unet.blockOutChannels()
                        + " must be multiples of motion_num_attention_heads " + motionNumAttentionHeads
                        + " and motion_norm_num_groups " + motionNormNumGroups);
            }
        }
        if (unet.blockOutChannels().get(0) % 2 != 0) {
            throw new IllegalArgumentException("the sinusoidal frame positions need even widths");
        }
    }

    /**
     * SD 1.5's UNet of {@code scale} ({@link FamilyPreset} for {@link Family#SD15}) with the adapter of
     * guoyww/animatediff-motion-adapter-v1-5-2 at {@link Scale#FULL} (2 motion layers per block, 8 heads,
     * 32 positions, a mid-block motion module, 32 groups); the small scales keep its structure with fewer heads
     * and, like their UNets, one layer per block.
     */
    public static MotionUNetConfig of(Scale scale) {
        UNetConfig unet = FamilyPreset.of(Family.SD15, scale).unet();
        int heads = switch (scale) {
            case TINY -> 2;
            case SMALL -> 4;
            case FULL -> 8;
        };
        return new MotionUNetConfig(unet, unet.layersPerBlock(), heads, 32, true, 32);
    }

    /** The most frames a call may denoise together: the rows of the position table, {@code motion_max_seq_length}. */
    public int maxFrames() {
        return motionMaxSeqLength;
    }

    /**
     * The content of {@code unet/config.json} as {@code UNetMotionModel.from_unet2d(unet, adapter).save_pretrained}
     * writes it: the SD 1.5 UNet's keys, the block types renamed to their motion counterparts, diffusers'
     * {@code num_attention_heads} (the base config's {@code attention_head_dim}) and the adapter's
     * {@code motion_num_attention_heads}, {@code motion_max_seq_length} and {@code use_motion_mid_block}.
     */
    public Map<String, Object> toDiffusersConfig() {
        Map<String, Object> config = new LinkedHashMap<>(unet.toDiffusersConfig());
        config.put("_class_name", "UNetMotionModel");
        config.put("down_block_types", unet.downBlockTypes().stream()
                .map(type -> type.equals(UNetConfig.CROSS_DOWN) ? MOTION_DOWN_CROSS : MOTION_DOWN_PLAIN).toList());
        config.put("up_block_types", unet.upBlockTypes().stream()
                .map(type -> type.equals(UNetConfig.CROSS_UP) ? MOTION_UP_CROSS : MOTION_UP_PLAIN).toList());
        config.put("motion_max_seq_length", motionMaxSeqLength);
        config.put("motion_num_attention_heads", motionNumAttentionHeads);
        config.put("num_attention_heads", config.get("attention_head_dim"));
        config.put("use_motion_mid_block", useMotionMidBlock);
        return config;
    }

    /** The content of {@code motion_adapter/config.json}, with diffusers' {@code MotionAdapter} keys. */
    public Map<String, Object> motionAdapterConfig() {
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("_class_name", "MotionAdapter");
        config.put("block_out_channels", unet.blockOutChannels());
        config.put("motion_layers_per_block", motionLayersPerBlock);
        config.put("motion_max_seq_length", motionMaxSeqLength);
        config.put("motion_mid_block_layers_per_block", MID_BLOCK_MOTION_LAYERS);
        config.put("motion_norm_num_groups", motionNormNumGroups);
        config.put("motion_num_attention_heads", motionNumAttentionHeads);
        config.put("use_motion_mid_block", useMotionMidBlock);
        return config;
    }

    /** The number of motion modules: down, mid (if any) and up blocks together. */
    public int motionModuleCount() {
        int levels = unet.levels();
        return levels * motionLayersPerBlock + (useMotionMidBlock ? MID_BLOCK_MOTION_LAYERS : 0)
                + levels * (motionLayersPerBlock + 1);
    }

    /**
     * Parameters of the motion adapter, the motion modules alone (the position tables are buffers, not
     * parameters): what the UNetMotionModel has beyond its spatial UNet.
     */
    public long motionAdapterParameterCount() {
        List<Integer> channels = unet.blockOutChannels();
        long count = 0;
        for (int channel : channels) {
            count += (2L * motionLayersPerBlock + 1) * motionModuleParameterCount(channel);
        }
        if (useMotionMidBlock) {
            count += MID_BLOCK_MOTION_LAYERS * motionModuleParameterCount(channels.get(channels.size() - 1));
        }
        return count;
    }

    /**
     * Parameters of one {@code TransformerTemporalModel} of width {@code c} with one transformer block:
     * GroupNorm 2c, proj_in and proj_out c²+c each, norm1..3 2c each, two attentions of 4c²+c (bias-free
     * q, k, v; to_out with bias), GEGLU 8c²+8c and 4c²+c: 22c² + 21c.
     */
    static long motionModuleParameterCount(int c) {
        return 22L * c * c + 21L * c;
    }
}
