package dev.asyncdiff.synthetic;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Hyper-parameters of Stable Video Diffusion's {@code UNetSpatioTemporalConditionModel}, with diffusers' names
 * and meanings. Unlike {@link UNetConfig}, {@code numAttentionHeads} really is a head count (diffusers' SVD UNet
 * takes {@code num_attention_heads}), every GroupNorm has 32 groups (hard-coded in diffusers, so every width is a
 * multiple of 32) and the time embedding is {@code 4 * blockOutChannels[0]} wide.
 *
 * @param sampleSize                latent size the model was trained at (96 for SVD-XT's 576x1024 frames)
 * @param inChannels                channels of {@code sample}: 8, the noisy latent and the conditioning image latent
 * @param outChannels               channels of {@code out_sample}
 * @param blockOutChannels          channels of each resolution level
 * @param downBlockTypes            {@code CrossAttnDownBlockSpatioTemporal} or {@code DownBlockSpatioTemporal} per level
 * @param upBlockTypes              {@code UpBlockSpatioTemporal} or {@code CrossAttnUpBlockSpatioTemporal}, deepest first
 * @param layersPerBlock            res blocks per down block (up blocks have one more)
 * @param crossAttentionDim         width of {@code encoder_hidden_states} (the CLIP image embedding)
 * @param numAttentionHeads         attention heads per level; the head width is the level's channels divided by it
 * @param transformerLayersPerBlock spatial and temporal transformer block pairs per transformer model, per level
 * @param additionTimeEmbedDim      width of each sinusoidal {@code added_time_ids} embedding (fps, motion, noise aug)
 * @param numFrames                 frames the model was trained for (the graph takes any count)
 */
public record SvdUNetConfig(int sampleSize, int inChannels, int outChannels, List<Integer> blockOutChannels,
                            List<String> downBlockTypes, List<String> upBlockTypes, int layersPerBlock,
                            int crossAttentionDim, List<Integer> numAttentionHeads,
                            List<Integer> transformerLayersPerBlock, int additionTimeEmbedDim, int numFrames) {
    /** The number of {@code added_time_ids} per sample: fps, motion bucket id and noise augmentation strength. */
    public static final int TIME_IDS = 3;
    /** GroupNorm groups everywhere in the model, as diffusers hard-codes them. */
    public static final int NORM_GROUPS = 32;
    /** GroupNorm epsilon of the mid block's res blocks. */
    static final double MID_RESNET_EPS = 1e-5;
    /** GroupNorm epsilon of both up block kinds' res blocks: diffusers leaves them at their default. */
    static final double UP_RESNET_EPS = 1e-6;
    static final String CROSS_DOWN = "CrossAttnDownBlockSpatioTemporal";
    static final String PLAIN_DOWN = "DownBlockSpatioTemporal";
    static final String CROSS_UP = "CrossAttnUpBlockSpatioTemporal";
    static final String PLAIN_UP = "UpBlockSpatioTemporal";

    public SvdUNetConfig {
        blockOutChannels = List.copyOf(blockOutChannels);
        downBlockTypes = List.copyOf(downBlockTypes);
        upBlockTypes = List.copyOf(upBlockTypes);
        numAttentionHeads = List.copyOf(numAttentionHeads);
        transformerLayersPerBlock = List.copyOf(transformerLayersPerBlock);
        int levels = blockOutChannels.size();
        if (levels < 2) {
            throw new IllegalArgumentException("block_out_channels needs at least 2 levels, was " + blockOutChannels);
        }
        for (List<?> perLevel : List.of(downBlockTypes, upBlockTypes, numAttentionHeads, transformerLayersPerBlock)) {
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
        ClipTextConfig.requirePositive("addition_time_embed_dim", additionTimeEmbedDim);
        ClipTextConfig.requirePositive("num_frames", numFrames);
        if (additionTimeEmbedDim % 2 != 0) {
            throw new IllegalArgumentException("addition_time_embed_dim must be even, was " + additionTimeEmbedDim);
        }
        for (int level = 0; level < levels; level++) {
            int channels = blockOutChannels.get(level);
            if (channels <= 0 || channels % NORM_GROUPS != 0) {
                throw new IllegalArgumentException("block_out_channels " + blockOutChannels
                        + " must be positive multiples of " + NORM_GROUPS + " (the GroupNorm groups)");
            }
            boolean crossDown = switch (downBlockTypes.get(level)) {
                case CROSS_DOWN -> true;
                case PLAIN_DOWN -> false;
                default -> throw new IllegalArgumentException("down_block_types entries are " + CROSS_DOWN + " or "
                        + PLAIN_DOWN + ", found '" + downBlockTypes.get(level) + "'");
            };
            String up = upBlockTypes.get(levels - 1 - level);
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
            int heads = numAttentionHeads.get(level);
            if (heads <= 0 || channels % heads != 0) {
                throw new IllegalArgumentException("num_attention_heads " + numAttentionHeads
                        + " must divide block_out_channels " + blockOutChannels);
            }
            if (transformerLayersPerBlock.get(level) <= 0) {
                throw new IllegalArgumentException("transformer_layers_per_block must be positive, was "
                        + transformerLayersPerBlock);
            }
        }
    }

    /**
     * The configuration of {@code scale}. FULL is stabilityai/stable-video-diffusion-img2vid-xt's
     * {@code unet/config.json}; TINY (a step well under 50 ms on one core at 8x8 latents and 3 frames) and
     * SMALL (roughly 100 to 300 ms at 32x32 and 8 frames, with FULL's four levels) keep every block kind: cross-attention down and up
     * blocks, a plain down and up block, the mid block, and in each the temporal res blocks, temporal
     * transformer blocks and time mixers.
     */
    public static SvdUNetConfig of(Scale scale) {
        List<String> down2 = List.of(CROSS_DOWN, PLAIN_DOWN);
        List<String> up2 = List.of(PLAIN_UP, CROSS_UP);
        List<String> fullDown = List.of(CROSS_DOWN, CROSS_DOWN, CROSS_DOWN, PLAIN_DOWN);
        List<String> fullUp = List.of(PLAIN_UP, CROSS_UP, CROSS_UP, CROSS_UP);
        return switch (scale) {
            case TINY -> new SvdUNetConfig(8, 8, 4, List.of(32, 64), down2, up2, 1, 32, List.of(1, 2), List.of(1, 1),
                    8, 3);
            case SMALL -> new SvdUNetConfig(32, 8, 4, List.of(32, 64, 64, 128), fullDown, fullUp, 1, 128,
                    List.of(1, 1, 2, 2), List.of(1, 1, 1, 1), 32, 8);
            case FULL -> new SvdUNetConfig(96, 8, 4, List.of(320, 640, 1280, 1280), fullDown, fullUp, 2, 1024,
                    List.of(5, 10, 20, 20), List.of(1, 1, 1, 1), 256, 25);
        };
    }

    /** The number of resolution levels. */
    public int levels() {
        return blockOutChannels.size();
    }

    /** Height and width must be multiples of this, {@code 2^(levels-1)}, for the up path to meet its skips. */
    public int sizeMultiple() {
        return 1 << (levels() - 1);
    }

    /** Whether the down block of {@code level} (and its mirrored up block) has spatio-temporal transformers. */
    public boolean hasCrossAttention(int level) {
        return downBlockTypes.get(level).equals(CROSS_DOWN);
    }

    /** Width of the time embedding: four times the first level's channels. */
    public int timeEmbedDim() {
        return 4 * blockOutChannels.get(0);
    }

    /** Input width of {@code add_embedding}: the three sinusoidal {@code added_time_ids}, side by side. */
    public int projectionClassEmbeddingsInputDim() {
        return TIME_IDS * additionTimeEmbedDim;
    }

    /**
     * GroupNorm epsilon of the res blocks (spatial and temporal) of a down block: diffusers builds
     * {@code CrossAttnDownBlockSpatioTemporal}'s with 1e-6 and {@code DownBlockSpatioTemporal}'s with 1e-5.
     */
    double downResnetEps(int level) {
        return hasCrossAttention(level) ? 1e-6 : 1e-5;
    }

    /** The content of {@code unet/config.json}, with diffusers' keys. */
    public Map<String, Object> toDiffusersConfig() {
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("_class_name", "UNetSpatioTemporalConditionModel");
        config.put("addition_time_embed_dim", additionTimeEmbedDim);
        config.put("block_out_channels", blockOutChannels);
        config.put("cross_attention_dim", crossAttentionDim);
        config.put("down_block_types", downBlockTypes);
        config.put("in_channels", inChannels);
        config.put("layers_per_block", layersPerBlock);
        config.put("num_attention_heads", numAttentionHeads);
        config.put("num_frames", numFrames);
        config.put("out_channels", outChannels);
        config.put("projection_class_embeddings_input_dim", projectionClassEmbeddingsInputDim());
        config.put("sample_size", sampleSize);
        boolean sameDepth = transformerLayersPerBlock.stream().distinct().count() == 1;
        config.put("transformer_layers_per_block",
                sameDepth ? transformerLayersPerBlock.get(0) : transformerLayersPerBlock);
        config.put("up_block_types", upBlockTypes);
        return config;
    }

    /**
     * The number of trainable parameters, module by module as diffusers builds them (see
     * the res block and transformer counts below); the graph's {@code parameterCount()} is the same.
     */
    public long parameterCount() {
        long c0 = blockOutChannels.get(0);
        long t = timeEmbedDim();
        long count = conv(inChannels, c0, 9) + linear(c0, t) + linear(t, t)
                + linear(projectionClassEmbeddingsInputDim(), t) + linear(t, t);
        long current = c0;
        Deque<Long> skips = new ArrayDeque<>();
        skips.push(current);
        for (int level = 0; level < levels(); level++) {
            long out = blockOutChannels.get(level);
            for (int j = 0; j < layersPerBlock; j++) {
                count += resBlockParameters(current, out);
                current = out;
                if (hasCrossAttention(level)) {
                    count += transformerParameters(out, transformerLayersPerBlock.get(level));
                }
                skips.push(out);
            }
            if (level < levels() - 1) {
                count += conv(out, out, 9);
                skips.push(out);
            }
        }
        int deepest = levels() - 1;
        count += 2 * resBlockParameters(current, current) + transformerParameters(current,
                transformerLayersPerBlock.get(deepest));
        for (int i = 0; i < levels(); i++) {
            int level = levels() - 1 - i;
            long out = blockOutChannels.get(level);
            for (int j = 0; j <= layersPerBlock; j++) {
                count += resBlockParameters(current + skips.pop(), out);
                current = out;
                if (hasCrossAttention(level)) {
                    count += transformerParameters(out, transformerLayersPerBlock.get(level));
                }
            }
            if (i < levels() - 1) {
                count += conv(out, out, 9);
            }
        }
        return count + 2 * c0 + conv(c0, outChannels, 9);
    }

    /**
     * A {@code SpatioTemporalResBlock} from {@code in} to {@code out} channels: the {@code ResnetBlock2D}
     * (two GroupNorms, 3x3 convs, {@code time_emb_proj}, a 1x1 shortcut when the width changes), the
     * {@code TemporalResnetBlock} (the same over {@code out} with (3, 1, 1) Conv3d kernels and no shortcut) and
     * the time mixer's one {@code mix_factor}.
     */
    long resBlockParameters(long in, long out) {
        long t = timeEmbedDim();
        long spatial = 2 * in + conv(in, out, 9) + linear(t, out) + 2 * out + conv(out, out, 9)
                + (in == out ? 0 : conv(in, out, 1));
        long temporal = 2 * out + conv(out, out, 3) + linear(t, out) + 2 * out + conv(out, out, 3);
        return spatial + temporal + 1;
    }

    /**
     * A {@code TransformerSpatioTemporalModel} over {@code c} channels with {@code depth} block pairs:
     * {@code norm}, {@code proj_in}; per pair a {@code BasicTransformerBlock} (three LayerNorms, bias-free
     * q/k/v, attn2's keys and values from {@code crossAttentionDim}, GEGLU feed-forward) and a
     * {@code TemporalBasicTransformerBlock} (which adds {@code norm_in} and {@code ff_in}); {@code time_pos_embed}
     * (c to 4c to c), the time mixer and {@code proj_out}.
     */
    long transformerParameters(long c, int depth) {
        long d = crossAttentionDim;
        long attention = 3 * c * c + linear(c, c);
        long crossAttention = c * c + 2 * d * c + linear(c, c);
        long spatial = 6 * c + attention + crossAttention + feedForward(c);
        long temporal = 2 * c + feedForward(c) + 6 * c + attention + crossAttention + feedForward(c);
        return 2 * c + linear(c, c) + depth * (spatial + temporal) + linear(c, 4 * c) + linear(4 * c, c) + 1
                + linear(c, c);
    }

    private static long feedForward(long c) {
        return linear(c, 8 * c) + linear(4 * c, c);
    }

    private static long linear(long in, long out) {
        return in * out + out;
    }

    private static long conv(long in, long out, long kernelElements) {
        return in * out * kernelElements + out;
    }
}
