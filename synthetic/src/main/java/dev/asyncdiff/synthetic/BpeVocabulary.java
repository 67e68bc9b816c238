package dev.asyncdiff.synthetic;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

/**
 * A CLIP-style byte-level BPE vocabulary: the 256 byte symbols, the same with {@code </w>}
 * appended, one token per merge, then {@code <|startoftext|>} and {@code <|endoftext|>}. A token's
 * id is its index in {@link #tokens()}.
 *
 * @param tokens the tokens in id order, all distinct
 * @param merges the merges in rank order, each two tokens separated by one space
 */
public record BpeVocabulary(List<String> tokens, List<String> merges) {
    /** The start-of-text token (CLIP's bos). */
    public static final String START_OF_TEXT = "<|startoftext|>";
    /** The end-of-text token (CLIP's eos, unk and the SD 1.x/2.x pad token). */
    public static final String END_OF_TEXT = "<|endoftext|>";
    /** The suffix marking the last symbol of a word. */
    public static final String END_OF_WORD = "</w>";
    /** The number of merges OpenAI CLIP and Hugging Face's CLIPTokenizer read from the merges file. */
    public static final int CLIP_MERGE_COUNT = 49152 - 256 - 2;

    /** CLIP's pre-tokenizer pattern (applied to lower-cased, whitespace-normalised text). */
    private static final Pattern WORDS = Pattern.compile(
            "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+");

    /** Validates that tokens are distinct and every merge names two tokens. */
    public BpeVocabulary {
        tokens = List.copyOf(tokens);
        merges = List.copyOf(merges);
        Set<String> seen = new LinkedHashSet<>();
        for (String token : tokens) {
            if (!seen.add(token)) {
                throw new IllegalArgumentException("vocabulary lists token '" + token + "' twice");
            }
        }
        for (String merge : merges) {
            String[] pair = merge.split(" ");
            if (pair.length != 2 || !seen.contains(pair[0]) || !seen.contains(pair[1])) {
                throw new IllegalArgumentException("merge '" + merge + "' must name two tokens of the vocabulary");
            }
        }
    }

    /** The number of tokens, i.e. the text encoder's {@code vocab_size}. */
    public int size() {
        return tokens.size();
    }

    /** The id of {@code token}, or -1 when the vocabulary lacks it. */
    public int idOf(String token) {
        return tokens.indexOf(token);
    }

    /** The token-to-id map in id order, as {@code vocab.json} holds it. */
    public Map<String, Integer> encoder() {
        Map<String, Integer> encoder = new java.util.LinkedHashMap<>();
        for (int i = 0; i < tokens.size(); i++) {
            encoder.put(tokens.get(i), i);
        }
        return encoder;
    }

    /**
     * Builds the real CLIP vocabulary (49,408 tokens) from OpenAI's {@code bpe_simple_vocab_16e6.txt.gz},
     * exactly as {@code SimpleTokenizer} does: merges are lines 1 to 48,894 of the file.
     *
     * @throws UncheckedIOException naming the file when it cannot be read
     * @throws IllegalArgumentException naming the file when it holds too few merges
     */
    public static BpeVocabulary clip(Path mergesGz) {
        List<String> lines;
        try (InputStream in = new GZIPInputStream(Files.newInputStream(mergesGz));
             BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            lines = reader.lines().limit(CLIP_MERGE_COUNT + 1L).toList();
        } catch (NoSuchFileException e) {
            throw new UncheckedIOException("CLIP merges file " + mergesGz.toAbsolutePath() + " does not exist", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read CLIP merges file " + mergesGz.toAbsolutePath()
                    + " (expected a gzip text file): " + e.getMessage(), e);
        }
        if (lines.size() < CLIP_MERGE_COUNT + 1) {
            throw new IllegalArgumentException("CLIP merges file " + mergesGz.toAbsolutePath() + " has "
                    + lines.size() + " lines; expected a header and at least " + CLIP_MERGE_COUNT + " merges");
        }
        return fromMerges(lines.subList(1, CLIP_MERGE_COUNT + 1));
    }

    /**
     * Learns {@code mergeCount} merges from {@code corpus} with CLIP's pre-tokenizer: each step merges
     * the most frequent adjacent pair (ties go to the lexicographically smallest pair); learning stops
     * early when no pair occurs twice. Deterministic for a given corpus and count.
     */
    public static BpeVocabulary learn(String corpus, int mergeCount) {
        if (mergeCount < 0) {
            throw new IllegalArgumentException("mergeCount must be >= 0, was " + mergeCount);
        }
        Map<List<String>, Integer> words = new HashMap<>();
        for (String word : preTokenize(corpus)) {
            List<String> symbols = new ArrayList<>();
            for (char c : ByteLevelAlphabet.encode(word).toCharArray()) {
                symbols.add(String.valueOf(c));
            }
            int last = symbols.size() - 1;
            symbols.set(last, symbols.get(last) + END_OF_WORD);
            words.merge(symbols, 1, Integer::sum);
        }
        Set<String> known = new java.util.HashSet<>(baseTokens());
        List<String> merges = new ArrayList<>();
        while (merges.size() < mergeCount) {
            Map<String, Integer> pairCounts = new HashMap<>();
            for (Map.Entry<List<String>, Integer> entry : words.entrySet()) {
                List<String> symbols = entry.getKey();
                for (int i = 0; i + 1 < symbols.size(); i++) {
                    pairCounts.merge(symbols.get(i) + " " + symbols.get(i + 1), entry.getValue(), Integer::sum);
                }
            }
            String best = null;
            int bestCount = 1;
            for (Map.Entry<String, Integer> entry : pairCounts.entrySet()) {
                String pair = entry.getKey();
                int count = entry.getValue();
                if (known.contains(pair.replace(" ", ""))) {
                    continue;
                }
                if (count > bestCount || (count == bestCount && best != null && pair.compareTo(best) < 0)) {
                    best = pair;
                    bestCount = count;
                }
            }
            if (best == null) {
                break;
            }
            merges.add(best);
            known.add(best.replace(" ", ""));
            words = applyMerge(words, best);
        }
        return fromMerges(merges);
    }

    /** CLIP's pre-tokenization: lower-cased words, single numerals and punctuation runs. */
    static List<String> preTokenize(String text) {
        String clean = text.strip().replaceAll("\\s+", " ").toLowerCase(Locale.ROOT);
        List<String> words = new ArrayList<>();
        Matcher matcher = WORDS.matcher(clean);
        while (matcher.find()) {
            words.add(matcher.group());
        }
        return words;
    }

    private static Map<List<String>, Integer> applyMerge(Map<List<String>, Integer> words, String pair) {
        int space = pair.indexOf(' ');
        String first = pair.substring(0, space);
        String second = pair.substring(space + 1);
        Map<List<String>, Integer> merged = new HashMap<>();
        for (Map.Entry<List<String>, Integer> entry : words.entrySet()) {
            List<String> symbols = entry.getKey();
            List<String> out = new ArrayList<>(symbols.size());
            for (int i = 0; i < symbols.size(); i++) {
                if (i + 1 < symbols.size() && symbols.get(i).equals(first) && symbols.get(i + 1).equals(second)) {
                    out.add(first + second);
                    i++;
                } else {
                    out.add(symbols.get(i));
                }
            }
            merged.merge(out, entry.getValue(), Integer::sum);
        }
        return merged;
    }

    private static List<String> baseTokens() {
        List<String> tokens = new ArrayList<>(ByteLevelAlphabet.symbols());
        for (String symbol : ByteLevelAlphabet.symbols()) {
            tokens.add(symbol + END_OF_WORD);
        }
        return tokens;
    }

    private static BpeVocabulary fromMerges(List<String> merges) {
        List<String> tokens = baseTokens();
        for (String merge : merges) {
            tokens.add(merge.replace(" ", ""));
        }
        tokens.add(START_OF_TEXT);
        tokens.add(END_OF_TEXT);
        return new BpeVocabulary(tokens, merges);
    }
}
