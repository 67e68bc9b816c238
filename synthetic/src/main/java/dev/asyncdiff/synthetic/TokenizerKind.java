package dev.asyncdiff.synthetic;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** Which vocabulary a synthetic folder's tokenizers carry. */
public enum TokenizerKind {
    /** The real CLIP vocabulary (49,408 tokens), built from {@link SharedData#clipMergesFile()}. */
    CLIP,
    /** A small byte-level BPE learned from a built-in English text (see {@link SmallBpe}). */
    BPE;

    /** The lower-case name used on the command line. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** {@link #CLIP} when the CLIP merges file is available, else {@link #BPE}. */
    public static TokenizerKind defaultKind() {
        return SharedData.clipMergesFile().isPresent() ? CLIP : BPE;
    }

    /**
     * Parses {@code clip} or {@code bpe}, case-insensitively.
     *
     * @throws IllegalArgumentException listing the valid names
     */
    public static TokenizerKind parse(String name) {
        for (TokenizerKind kind : values()) {
            if (kind.cliName().equals(name == null ? "" : name.trim().toLowerCase(Locale.ROOT))) {
                return kind;
            }
        }
        throw new IllegalArgumentException("unknown tokenizer '" + name + "'; expected one of "
                + Arrays.stream(values()).map(TokenizerKind::cliName).collect(Collectors.joining(", ")));
    }

    /**
     * The vocabulary of this kind.
     *
     * @throws IllegalStateException for {@link #CLIP} when the merges file cannot be found, naming
     *     where it was looked for
     */
    public BpeVocabulary vocabulary() {
        return switch (this) {
            case CLIP -> BpeVocabulary.clip(SharedData.clipMergesFile().orElseThrow(() -> new IllegalStateException(
                    "--tokenizer clip needs " + SharedData.CLIP_MERGES + " in the shared folder (system property "
                            + SharedData.PROPERTY + ", environment " + SharedData.ENVIRONMENT
                            + " or ../shared); use --tokenizer bpe instead")));
            case BPE -> SmallBpe.vocabulary();
        };
    }
}
