package dev.asyncdiff.synthetic;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * The small byte-level BPE vocabulary written with {@code --tokenizer bpe}: {@link #MERGES} merges
 * learned deterministically from a built-in English text (the resource {@code bpe-corpus.txt}) by
 * {@link BpeVocabulary#learn}, so every build writes the same files.
 */
public final class SmallBpe {
    /** How many merges are learned. */
    public static final int MERGES = 256;
    private static final String CORPUS = "bpe-corpus.txt";

    private SmallBpe() {
    }

    /** The learned vocabulary; computed once. */
    public static BpeVocabulary vocabulary() {
        return Holder.VOCABULARY;
    }

    /** The built-in English text the merges are learned from. */
    public static String corpus() {
        try (InputStream in = SmallBpe.class.getResourceAsStream(CORPUS)) {
            if (in == null) {
                throw new IllegalStateException("resource " + CORPUS + " is missing from the synthetic module");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read resource " + CORPUS, e);
        }
    }

    private static final class Holder {
        static final BpeVocabulary VOCABULARY = BpeVocabulary.learn(corpus(), MERGES);
    }
}
