package dev.asyncdiff.synthetic;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Hyper-parameters of a diffusers {@code AutoencoderKL}.
 *
 * @param sampleSize       image size the model was trained at
 * @param inChannels       image channels in (3)
 * @param outChannels      image channels out (3)
 * @param latentChannels   latent channels (4; 16 for SD 3)
 * @param blockOutChannels channels of each level; the image is {@code 2^(levels-1)} times the latent
 * @param layersPerBlock   ResNet blocks per encoder block (decoder blocks have one more)
 * @param normNumGroups    GroupNorm groups
 * @param scalingFactor    latent scaling factor (0.18215 SD 1.x/2.x, 0.13025 SDXL, 1.5305 SD 3)
 * @param forceUpcast      diffusers' {@code force_upcast} flag (SDXL's VAE overflows in fp16)
 * @param shiftFactor      latent shift ({@code shift_factor}, 0.0609 for SD 3), or {@code null} where the config has none
 * @param quantConv        whether the encoder ends in {@code quant_conv} and the decoder starts with
 *                         {@code post_quant_conv} (SD 3's VAE has neither)
 */
public record VaeConfig(int sampleSize, int inChannels, int outChannels, int latentChannels,
                        List<Integer> blockOutChannels, int layersPerBlock, int normNumGroups,
                        double scalingFactor, boolean forceUpcast, Double shiftFactor, boolean quantConv) {
    /** A VAE of SD 1.x/2.x/XL: no shift factor, quant convs present. */
    public VaeConfig(int sampleSize, int inChannels, int outChannels, int latentChannels,
                     List<Integer> blockOutChannels, int layersPerBlock, int normNumGroups,
                     double scalingFactor, boolean forceUpcast) {
        this(sampleSize, inChannels, outChannels, latentChannels, blockOutChannels, layersPerBlock, normNumGroups,
                scalingFactor, forceUpcast, null, true);
    }

    public VaeConfig {
        blockOutChannels = List.copyOf(blockOutChannels);
        ClipTextConfig.requirePositive("sample_size", sampleSize);
        ClipTextConfig.requirePositive("in_channels", inChannels);
        ClipTextConfig.requirePositive("out_channels", outChannels);
        ClipTextConfig.requirePositive("latent_channels", latentChannels);
        ClipTextConfig.requirePositive("layers_per_block", layersPerBlock);
        ClipTextConfig.requirePositive("norm_num_groups", normNumGroups);
        if (blockOutChannels.isEmpty()) {
            throw new IllegalArgumentException("block_out_channels needs at least one level");
        }
        for (int channels : blockOutChannels) {
            if (channels <= 0 || channels % normNumGroups != 0) {
                throw new IllegalArgumentException("block_out_channels " + blockOutChannels
                        + " must be positive multiples of norm_num_groups " + normNumGroups);
            }
        }
        if (!(scalingFactor > 0)) {
            throw new IllegalArgumentException("scaling_factor must be positive, was " + scalingFactor);
        }
        if (shiftFactor != null && !Double.isFinite(shiftFactor)) {
            throw new IllegalArgumentException("shift_factor must be finite, was " + shiftFactor);
        }
    }

    /** How many times larger the image is than the latent, per side. */
    public int downscaleFactor() {
        return 1 << (blockOutChannels.size() - 1);
    }

    /** The content of {@code vae_encoder/config.json} and {@code vae_decoder/config.json}, with diffusers' keys. */
    public Map<String, Object> toDiffusersConfig() {
        int levels = blockOutChannels.size();
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("_class_name", "AutoencoderKL");
        config.put("act_fn", "silu");
        config.put("block_out_channels", blockOutChannels);
        config.put("down_block_types", Collections.nCopies(levels, "DownEncoderBlock2D"));
        config.put("force_upcast", forceUpcast);
        config.put("in_channels", inChannels);
        config.put("latent_channels", latentChannels);
        config.put("layers_per_block", layersPerBlock);
        config.put("norm_num_groups", normNumGroups);
        config.put("out_channels", outChannels);
        config.put("sample_size", sampleSize);
        config.put("scaling_factor", scalingFactor);
        if (shiftFactor != null) {
            config.put("shift_factor", shiftFactor);
        }
        config.put("up_block_types", Collections.nCopies(levels, "UpDecoderBlock2D"));
        if (!quantConv) {
            config.put("use_post_quant_conv", false);
            config.put("use_quant_conv", false);
        }
        return config;
    }
}
