package dev.asyncdiff.synthetic;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * A SentencePiece unigram vocabulary in T5's layout: {@code <pad>} 0, {@code </s>} 1, {@code <unk>} 2,
 * then pieces by descending score. {@link #learn} builds one deterministically from a text: every
 * character of the text (so any text of the same characters can be encoded), the word-initial
 * {@code ▁} forms and the most frequent substrings of words, each scored by the log of its relative
 * frequency. That is not SentencePiece's EM training, and needs not be: a synthetic folder only needs a
 * valid unigram model whose segmentation a tokenizer must reproduce.
 *
 * @param pieces the pieces in id order, specials first
 * @param scores the log-probability of each piece (0 for the specials)
 */
public record UnigramVocabulary(List<String> pieces, List<Float> scores) {
    /** SentencePiece's word-boundary mark, which replaces spaces and starts every word. */
    public static final String SPACE = "\u2581";
    /** The special pieces, at ids 0, 1 and 2. */
    public static final List<String> SPECIALS = List.of("<pad>", "</s>", "<unk>");
    private static final int MAX_PIECE = 8;

    public UnigramVocabulary {
        pieces = List.copyOf(pieces);
        scores = List.copyOf(scores);
        if (pieces.size() != scores.size()) {
            throw new IllegalArgumentException(pieces.size() + " pieces but " + scores.size() + " scores");
        }
        if (pieces.size() <= SPECIALS.size() || !pieces.subList(0, SPECIALS.size()).equals(SPECIALS)) {
            throw new IllegalArgumentException("a T5 vocabulary starts with " + SPECIALS + " and has pieces after them");
        }
    }

    /** Pieces, specials included. */
    public int size() {
        return pieces.size();
    }

    /**
     * Learns a vocabulary of at most {@code size} pieces (specials included) from {@code text}.
     *
     * @throws IllegalArgumentException when {@code size} cannot hold the specials and every character of the text
     */
    public static UnigramVocabulary learn(String text, int size) {
        Objects.requireNonNull(text, "text");
        Map<String, Integer> words = new HashMap<>();
        for (String word : Normalizer.normalize(text, Normalizer.Form.NFKC).trim().split("\\s+")) {
            if (!word.isEmpty()) {
                words.merge(SPACE + word, 1, Integer::sum);
            }
        }
        Map<String, Long> counts = new TreeMap<>();
        Map<String, Long> characters = new TreeMap<>();
        for (Map.Entry<String, Integer> entry : words.entrySet()) {
            int[] points = entry.getKey().codePoints().toArray();
            for (int start = 0; start < points.length; start++) {
                characters.merge(new String(points, start, 1), (long) entry.getValue(), Long::sum);
                for (int end = start + 2; end <= Math.min(points.length, start + MAX_PIECE); end++) {
                    counts.merge(new String(points, start, end - start), (long) entry.getValue(), Long::sum);
                }
            }
        }
        int room = size - SPECIALS.size() - characters.size();
        if (room < 0) {
            throw new IllegalArgumentException("a vocabulary of " + size + " pieces cannot hold the " + SPECIALS.size()
                    + " specials and the text's " + characters.size() + " characters");
        }
        List<Map.Entry<String, Long>> chosen = new ArrayList<>(characters.entrySet());
        counts.entrySet().stream().filter(e -> e.getValue() >= 2)
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
                .limit(room).forEach(chosen::add);
        double total = chosen.stream().mapToLong(Map.Entry::getValue).sum();
        chosen.sort(Comparator.<Map.Entry<String, Long>>comparingLong(Map.Entry::getValue).reversed()
                .thenComparing(Map.Entry.comparingByKey()));
        List<String> pieces = new ArrayList<>(SPECIALS);
        List<Float> scores = new ArrayList<>(List.of(0f, 0f, 0f));
        for (Map.Entry<String, Long> entry : chosen) {
            pieces.add(entry.getKey());
            scores.add((float) Math.log(entry.getValue() / total));
        }
        return new UnigramVocabulary(pieces, scores);
    }

    /** The vocabulary written into synthetic SD 3 folders: 512 pieces learned from the built-in text. */
    public static UnigramVocabulary small() {
        return Holder.SMALL;
    }

    private static final class Holder {
        static final UnigramVocabulary SMALL = learn(SmallBpe.corpus(), 512);
    }
}
