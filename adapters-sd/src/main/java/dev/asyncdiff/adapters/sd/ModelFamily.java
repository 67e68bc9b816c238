package dev.asyncdiff.adapters.sd;

import java.util.Arrays;
import java.util.Locale;

/** The Stable Diffusion families this adapter runs. */
public enum ModelFamily {
    /** Stable Diffusion 1.x: one CLIP ViT-L text encoder (width 768), epsilon prediction. */
    SD15("sd15", "Stable Diffusion 1.x", 512, 7.5),
    /** Stable Diffusion 2.x: one OpenCLIP ViT-H text encoder (width 1024), v-prediction at 768 px. */
    SD21("sd21", "Stable Diffusion 2.x", 768, 7.5),
    /** Stable Diffusion XL: two text encoders, pooled text embeddings and size conditioning. */
    SDXL("sdxl", "Stable Diffusion XL", 1024, 5.0),
    /** Stable Diffusion 3: CLIP-L, CLIP-G and T5, an MMDiT transformer, flow matching (see {@link Sd3Pipeline}). */
    SD3("sd3", "Stable Diffusion 3", 1024, 7.0),
    /**
     * The x4 upscaler: SD 2's text encoder, a 7-channel UNet conditioned on the noised low-resolution image and its
     * noise level, a VAE with 4× upsampling (see {@link UpscalePipeline}); guidance 9 as diffusers.
     */
    X4_UPSCALER("x4-upscaler", "Stable Diffusion x4 upscaler", 512, 9.0);

    private final String id;
    private final String displayName;
    private final int defaultImageSize;
    private final double defaultGuidance;

    ModelFamily(String id, String displayName, int defaultImageSize, double defaultGuidance) {
        this.id = id;
        this.displayName = displayName;
        this.defaultImageSize = defaultImageSize;
        this.defaultGuidance = defaultGuidance;
    }

    /** The short name, e.g. {@code sd21}. */
    public String id() {
        return id;
    }

    /** The name for messages, e.g. {@code Stable Diffusion XL}. */
    public String displayName() {
        return displayName;
    }

    /** The image side used when the UNet config gives no {@code sample_size}. */
    public int defaultImageSize() {
        return defaultImageSize;
    }

    /** diffusers' default guidance scale for the family (7.5, 5.0 for XL, 7.0 for SD 3, 9.0 for the x4 upscaler). */
    public double defaultGuidance() {
        return defaultGuidance;
    }

    /** Whether the family conditions on two text encoders, pooled embeddings and time ids. */
    public boolean isXl() {
        return this == SDXL;
    }

    /**
     * Parses {@code sd15}, {@code sd21}, {@code sdxl} or {@code sd3}, case-insensitively.
     *
     * @throws IllegalArgumentException naming the accepted names
     */
    public static ModelFamily parse(String name) {
        String wanted = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
        for (ModelFamily family : values()) {
            if (family.id.equals(wanted)) {
                return family;
            }
        }
        throw new IllegalArgumentException("unknown model family '" + name + "'; expected one of "
                + Arrays.stream(values()).map(ModelFamily::id).toList());
    }
}
