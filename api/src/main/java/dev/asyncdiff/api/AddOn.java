package dev.asyncdiff.api;

import java.nio.file.Path;
import java.util.Locale;

/**
 * A model opened together with a pipeline's own folder and changing what its denoiser computes: a ControlNet
 * (kind {@value #CONTROLNET}) today; a motion adapter or LoRA are add-ons of other kinds. Adapters say which
 * kinds they take ({@code ModelAdapterProvider#supports(Path, java.util.List)}).
 *
 * @param kind   what the add-on is, lower case, e.g. {@value #CONTROLNET}
 * @param folder where it lies
 */
public record AddOn(String kind, Path folder) {
    /** The kind of a ControlNet. */
    public static final String CONTROLNET = "controlnet";

    public AddOn {
        if (kind == null || kind.isBlank()) {
            throw new IllegalArgumentException("an add-on needs a kind, e.g. '" + CONTROLNET + "'");
        }
        if (folder == null) {
            throw new IllegalArgumentException("a " + kind + " add-on needs its folder");
        }
        kind = kind.toLowerCase(Locale.ROOT);
    }

    /** The ControlNet in {@code folder}. */
    public static AddOn controlNet(Path folder) {
        return new AddOn(CONTROLNET, folder);
    }
}
