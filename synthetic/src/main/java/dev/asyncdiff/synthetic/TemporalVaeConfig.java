package dev.asyncdiff.synthetic;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Hyper-parameters of a diffusers {@code AutoencoderKLTemporalDecoder}, Stable Video Diffusion's VAE:
 * SD's {@code Encoder} and {@code quant_conv}, and a {@code TemporalDecoder} whose every ResNet is a
 * {@code SpatioTemporalResBlock} and which ends in a temporal {@code time_conv_out}. There is no
 * {@code post_quant_conv}. GroupNorm uses 32 groups throughout, as diffusers hard-codes for this class.
 *
 * @param sampleSize       image size the model was trained at (768 for SVD)
 * @param inChannels       image channels into the encoder (3)
 * @param outChannels      image channels out of the decoder (3)
 * @param latentChannels   latent channels (4)
 * @param blockOutChannels channels of each level, multiples of 32; the image is {@code 2^(levels-1)} times the latent
 * @param layersPerBlock   ResNets per encoder block and in the decoder's mid block (decoder up blocks have one more)
 * @param scalingFactor    latent scaling factor; the pipeline divides by it before decoding, the graph does not
 * @param forceUpcast      diffusers' {@code force_upcast} flag
 */
public record TemporalVaeConfig(int sampleSize, int inChannels, int outChannels, int latentChannels,
                                List<Integer> blockOutChannels, int layersPerBlock, double scalingFactor,
                                boolean forceUpcast) {
    /** GroupNorm groups of every norm in the model; not a config key of this class. */
    public static final int NORM_GROUPS = 32;
    private static final double SVD_SCALING = 0.18215;

    public TemporalVaeConfig {
        blockOutChannels = List.copyOf(blockOutChannels);
        ClipTextConfig.requirePositive("sample_size", sampleSize);
        ClipTextConfig.requirePositive("in_channels", inChannels);
        ClipTextConfig.requirePositive("out_channels", outChannels);
        ClipTextConfig.requirePositive("latent_channels", latentChannels);
        ClipTextConfig.requirePositive("layers_per_block", layersPerBlock);
        if (blockOutChannels.isEmpty()) {
            throw new IllegalArgumentException("block_out_channels needs at least one level");
        }
        for (int channels : blockOutChannels) {
            if (channels <= 0 || channels % NORM_GROUPS != 0) {
                throw new IllegalArgumentException("block_out_channels " + blockOutChannels
                        + " must be positive multiples of " + NORM_GROUPS);
            }
        }
        if (!(scalingFactor > 0)) {
            throw new IllegalArgumentException("scaling_factor must be positive, was " + scalingFactor);
        }
    }

    /**
     * The configuration at {@code scale}. {@code FULL} is stabilityai/stable-video-diffusion-img2vid-xt's
     * {@code vae/config.json}; {@code TINY} and {@code SMALL} keep its four levels (so the x8 upscale), two
     * ResNets per block and the mid-block attention, with fewer channels.
     */
    public static TemporalVaeConfig of(Scale scale) {
        return switch (scale) {
            case TINY -> new TemporalVaeConfig(256, 3, 3, 4, List.of(32, 32, 64, 64), 2, SVD_SCALING, true);
            case SMALL -> new TemporalVaeConfig(512, 3, 3, 4, List.of(64, 128, 256, 256), 2, SVD_SCALING, true);
            case FULL -> new TemporalVaeConfig(768, 3, 3, 4, List.of(128, 256, 512, 512), 2, SVD_SCALING, true);
        };
    }

    /** How many times larger the image is than the latent, per side. */
    public int downscaleFactor() {
        return 1 << (blockOutChannels.size() - 1);
    }

    /**
     * The encoder half as an {@code AutoencoderKL} configuration: diffusers builds the same {@code Encoder}
     * (DownEncoderBlock2D levels, 32 groups, double_z, mid-block attention) and the same {@code quant_conv}
     * for both classes, so {@link VaeGraphs#encoder} writes it.
     */
    public VaeConfig encoderConfig() {
        return new VaeConfig(sampleSize, inChannels, outChannels, latentChannels, blockOutChannels, layersPerBlock,
                NORM_GROUPS, scalingFactor, forceUpcast);
    }

    /** The content of the VAE folder's {@code config.json}, with the keys of {@code AutoencoderKLTemporalDecoder}. */
    public Map<String, Object> toDiffusersConfig() {
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("_class_name", "AutoencoderKLTemporalDecoder");
        config.put("block_out_channels", blockOutChannels);
        config.put("down_block_types", Collections.nCopies(blockOutChannels.size(), "DownEncoderBlock2D"));
        config.put("force_upcast", forceUpcast);
        config.put("in_channels", inChannels);
        config.put("latent_channels", latentChannels);
        config.put("layers_per_block", layersPerBlock);
        config.put("out_channels", outChannels);
        config.put("sample_size", sampleSize);
        config.put("scaling_factor", scalingFactor);
        return config;
    }
}
