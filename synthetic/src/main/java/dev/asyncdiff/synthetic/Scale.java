package dev.asyncdiff.synthetic;

import java.util.Arrays;
import java.util.Locale;

/** How large the synthetic models are; every scale keeps each family's block structure. */
public enum Scale {
    /** A few MB per folder, for unit tests: a UNet step well under 50 ms on one CPU core. */
    TINY,
    /** For CPU benchmarks: a UNet step of roughly 100 to 300 ms on one core at 64x64 latents. */
    SMALL,
    /** The family's real dimensions and exact parameter counts, for GPU timing. */
    FULL;

    /** The lower-case name used on the command line, e.g. {@code tiny}. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Parses {@code tiny}, {@code small} or {@code full}, case-insensitively.
     *
     * @throws IllegalArgumentException naming the accepted names when {@code name} is none of them
     */
    public static Scale parse(String name) {
        String wanted = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
        for (Scale scale : values()) {
            if (scale.cliName().equals(wanted)) {
                return scale;
            }
        }
        throw new IllegalArgumentException("unknown scale '" + name + "'; expected one of "
                + Arrays.stream(values()).map(Scale::cliName).toList());
    }
}
