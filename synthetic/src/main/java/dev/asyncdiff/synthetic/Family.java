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
    SDXL("sdxl");

    private final String cliName;

    Family(String cliName) {
        this.cliName = cliName;
    }

    /** The lower-case name used on the command line, e.g. {@code sd15}. */
    public String cliName() {
        return cliName;
    }

    /**
     * Parses {@code sd15}, {@code sd21} or {@code sdxl}, case-insensitively.
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
