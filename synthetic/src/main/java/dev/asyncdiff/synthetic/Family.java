package dev.asyncdiff.synthetic;

import java.util.Arrays;
import java.util.Locale;

/** The Stable Diffusion families whose model folders the synthetic module writes. */
public enum Family {
    /** Stable Diffusion 1.5: CLIP ViT-L/14 text encoder, 4-level UNet with 8 heads, conv projections. */
    SD15("sd15"),
    /** Stable Diffusion 2.1: OpenCLIP ViT-H text encoder, 64-dim heads, linear projections, v-prediction. */
    SD21("sd21"),
    /** Stable Diffusion XL: two text encoders, 3-level UNet with add_embedding and deep transformer blocks. */
    SDXL("sdxl"),
    /**
     * Stable Diffusion 3 Medium: CLIP-L, CLIP-G and a T5 encoder, an MMDiT transformer (joint attention
     * over image and text tokens) instead of a UNet, a 16-channel VAE and flow matching.
     */
    SD3("sd3"),
    /** Stable Diffusion 1.5 inpainting: SD 1.5 with a 9-channel UNet (latents, mask, masked-image latents). */
    SD15_INPAINT("sd15-inpaint"),
    /** SDXL 1.0 inpainting 0.1: SDXL with a 9-channel UNet (latents, mask, masked-image latents). */
    SDXL_INPAINT("sdxl-inpaint"),
    /**
     * Stable Diffusion x4 upscaler: SD 2.1's OpenCLIP text encoder, a 7-channel UNet (latents and the
     * noised low-resolution image) whose {@code class_embedding} takes the noise level, cross-attention
     * only in the outer attention levels, and a 3-level VAE decoder (4x per side); no VAE encoder.
     */
    X4_UPSCALER("x4-upscaler"),
    /**
     * Stable Video Diffusion img2vid-xt: a CLIP vision image encoder, a spatio-temporal UNet over
     * {@code [batch, frames, 8, h, w]}, SD's VAE encoder and a temporal VAE decoder, EDM Euler ({@link SvdModels}).
     */
    SVD("svd"),
    /**
     * AnimateDiff: SD 1.5's text encoder, tokenizer and VAE with a UNet carrying v1-5-2 motion modules over
     * {@code [batch, 4, frames, h, w]}, DDIM with linear betas ({@link AnimateDiffModels}).
     */
    ANIMATEDIFF("animatediff");

    /** The UNet input channels of an inpainting model: 4 latent, 1 mask, 4 masked-image latent. */
    public static final int INPAINT_CHANNELS = 9;
    /** The UNet input channels of the x4 upscaler: 4 latent, 3 of the noised low-resolution image. */
    public static final int UPSCALE_CHANNELS = 7;

    private final String cliName;

    Family(String cliName) {
        this.cliName = cliName;
    }

    /** The lower-case name used on the command line, e.g. {@code sd15}. */
    public String cliName() {
        return cliName;
    }

    /** The family this one derives from: itself (the x4 upscaler too), or the base model of an inpainting family. */
    public Family base() {
        return switch (this) {
            case SD15_INPAINT -> SD15;
            case SDXL_INPAINT -> SDXL;
            default -> this;
        };
    }

    /** Whether the UNet takes the mask and the masked image's latents besides the latents. */
    public boolean inpainting() {
        return base() != this;
    }

    /**
     * Whether the pipeline upscales an image: the UNet takes the low-resolution image besides the
     * latents and its noise level as {@code class_labels}, and the folder has no VAE encoder.
     */
    public boolean upscaler() {
        return this == X4_UPSCALER;
    }

    /** Whether the family makes clips (its folder is written by {@link SvdModels} or {@link AnimateDiffModels}). */
    public boolean video() {
        return this == SVD || this == ANIMATEDIFF;
    }

    /** Whether the denoiser is a transformer ({@code transformer/}) rather than a UNet ({@code unet/}). */
    public boolean hasTransformer() {
        return this == SD3;
    }

    /**
     * Parses a {@link #cliName()} ({@code sd15}, {@code sdxl-inpaint}, …), case-insensitively.
     *
     * @throws IllegalArgumentException naming the accepted names when {@code name} is none of them
     */
    public static Family parse(String name) {
        String wanted = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
        for (Family family : values()) {
            if (family.cliName.equals(wanted)) {
                return family;
            }
        }
        throw new IllegalArgumentException("unknown model family '" + name + "'; expected one of "
                + Arrays.stream(values()).map(Family::cliName).toList());
    }
}
