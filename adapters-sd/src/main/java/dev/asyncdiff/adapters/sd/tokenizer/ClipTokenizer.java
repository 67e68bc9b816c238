package dev.asyncdiff.adapters.sd.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.asyncdiff.api.MalformedModelException;
import dev.asyncdiff.api.ModelNotFoundException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * CLIP's byte-level BPE tokenizer, as OpenAI's {@code SimpleTokenizer} and Hugging Face's
 * {@code CLIPTokenizer} apply it without ftfy: the text is NFC-normalised, whitespace runs become
 * one space and the ends are stripped, the text is lower-cased and cut into words by CLIP's pattern
 * ({@code <|startoftext|>}, {@code <|endoftext|>}, English contractions, letter runs, single
 * digits, runs of other non-space characters); each word's UTF-8 bytes are mapped to
 * {@code bytes_to_unicode} symbols, the last marked with {@code </w>}, and merged by rank.
 *
 * <p>Immutable and thread-safe; it caches the BPE of words it has seen.
 */
public final class ClipTokenizer {
    /** The sequence length of every CLIP text encoder, used when the config gives none. */
    public static final int DEFAULT_MAX_LENGTH = 77;
    /** The files a tokenizer folder holds. */
    public static final List<String> FILES = List.of("vocab.json", "merges.txt", "tokenizer_config.json",
            "special_tokens_map.json");

    private static final Logger LOG = LoggerFactory.getLogger(ClipTokenizer.class);
    private static final String END_OF_WORD = "</w>";
    private static final String START_OF_TEXT = "<|startoftext|>";
    private static final String END_OF_TEXT = "<|endoftext|>";
    /** Unicode White_Space: what {@code \s} matches in the {@code regex} module the reference tokenizers use. */
    private static final String WHITESPACE =
            "\\t\\n\\x0B\\f\\r \\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000";
    private static final Pattern WHITESPACE_RUN = Pattern.compile("[" + WHITESPACE + "]+");
    private static final Pattern WHITESPACE_CHAR = Pattern.compile("[" + WHITESPACE + "]");
    private static final Pattern WORDS = Pattern.compile(
            "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^" + WHITESPACE
                    + "\\p{L}\\p{N}]+",
            Pattern.CASE_INSENSITIVE);
    private static final int CACHE_LIMIT = 50_000;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, Integer> vocabulary;
    private final Map<String, Integer> mergeRanks;
    private final int bosId;
    private final int eosId;
    private final int padId;
    private final int unkId;
    private final int maxLength;
    private final Map<String, String[]> cache = new ConcurrentHashMap<>();

    /**
     * A tokenizer over {@code vocabulary} (token to id) and {@code merges} (in rank order, each two
     * symbols separated by one space).
     *
     * @throws IllegalArgumentException when a special token is missing from the vocabulary, a merge
     *                                  is not two symbols, or {@code maxLength} is below 2
     */
    public ClipTokenizer(Map<String, Integer> vocabulary, List<String> merges, String bosToken, String eosToken,
                         String padToken, String unkToken, int maxLength) {
        if (maxLength < 2) {
            throw new IllegalArgumentException("model_max_length must hold at least BOS and EOS, was " + maxLength);
        }
        this.vocabulary = Map.copyOf(vocabulary);
        Map<String, Integer> ranks = new HashMap<>();
        for (int i = 0; i < merges.size(); i++) {
            String merge = merges.get(i);
            int space = merge.indexOf(' ');
            if (space <= 0 || space == merge.length() - 1 || merge.indexOf(' ', space + 1) >= 0) {
                throw new IllegalArgumentException("merge " + (i + 1) + " '" + merge
                        + "' must be two symbols separated by one space");
            }
            ranks.putIfAbsent(merge, i);
        }
        this.mergeRanks = ranks;
        this.bosId = idOf(bosToken, "bos_token");
        this.eosId = idOf(eosToken, "eos_token");
        this.padId = idOf(padToken, "pad_token");
        this.unkId = idOf(unkToken, "unk_token");
        this.maxLength = maxLength;
        cache.put(START_OF_TEXT, new String[] {START_OF_TEXT});
        cache.put(END_OF_TEXT, new String[] {END_OF_TEXT});
    }

    /**
     * Reads the tokenizer in {@code path}: a tokenizer folder, or a model folder whose
     * {@code tokenizer/} subfolder is one.
     *
     * @throws ModelNotFoundException  naming the folder and the files it lacks
     * @throws MalformedModelException naming the file that cannot be read
     */
    public static ClipTokenizer load(Path path) {
        Path dir = locate(path);
        Path vocabFile = dir.resolve("vocab.json");
        Path mergesFile = dir.resolve("merges.txt");
        Map<String, Integer> vocabulary = new HashMap<>();
        JsonNode vocab = readJson(vocabFile);
        if (!vocab.isObject()) {
            throw new MalformedModelException(vocabFile, "expected an object mapping tokens to ids");
        }
        for (Map.Entry<String, JsonNode> entry : vocab.properties()) {
            if (!entry.getValue().canConvertToInt()) {
                throw new MalformedModelException(vocabFile, "token '" + entry.getKey() + "' has id "
                        + entry.getValue() + "; expected an integer");
            }
            vocabulary.put(entry.getKey(), entry.getValue().intValue());
        }
        List<String> merges = readMerges(mergesFile);
        JsonNode config = optionalJson(dir.resolve("tokenizer_config.json"));
        JsonNode special = optionalJson(dir.resolve("special_tokens_map.json"));
        String eos = token(config, special, "eos_token", END_OF_TEXT);
        String bos = token(config, special, "bos_token", START_OF_TEXT);
        String pad = token(config, special, "pad_token", eos);
        String unk = token(config, special, "unk_token", eos);
        int maxLength = DEFAULT_MAX_LENGTH;
        JsonNode length = config.get("model_max_length");
        if (length != null && length.isNumber() && length.asDouble() >= 2 && length.asDouble() <= 1_000_000) {
            maxLength = length.asInt();
        }
        try {
            return new ClipTokenizer(vocabulary, merges, bos, eos, pad, unk, maxLength);
        } catch (IllegalArgumentException e) {
            throw new MalformedModelException(dir, e.getMessage(), e);
        }
    }

    /**
     * The tokenizer folder for {@code path}: {@code path} itself when it holds {@code vocab.json},
     * else its {@code tokenizer/} subfolder.
     *
     * @throws ModelNotFoundException naming what was looked for
     */
    public static Path locate(Path path) {
        if (!Files.isDirectory(path)) {
            throw new ModelNotFoundException(path, "tokenizer folder");
        }
        if (Files.isRegularFile(path.resolve("vocab.json"))) {
            return requireFiles(path);
        }
        Path nested = path.resolve("tokenizer");
        if (Files.isRegularFile(nested.resolve("vocab.json"))) {
            return requireFiles(nested);
        }
        throw new ModelNotFoundException(path, "tokenizer (a folder with vocab.json and merges.txt, or a model "
                + "folder with tokenizer/vocab.json)");
    }

    private static Path requireFiles(Path dir) {
        if (!Files.isRegularFile(dir.resolve("merges.txt"))) {
            throw new ModelNotFoundException(dir.resolve("merges.txt"), "tokenizer merges file");
        }
        return dir;
    }

    /** The ids of {@code text} with BOS and EOS, truncated to {@link #maxLength()}, without padding. */
    public Encoding encode(String text) {
        if (text == null) {
            throw new IllegalArgumentException("text to tokenize must not be null");
        }
        List<Integer> tokens = tokenIds(text);
        int room = maxLength - 2;
        int dropped = Math.max(0, tokens.size() - room);
        int kept = tokens.size() - dropped;
        int[] ids = new int[kept + 2];
        ids[0] = bosId;
        for (int i = 0; i < kept; i++) {
            ids[i + 1] = tokens.get(i);
        }
        ids[kept + 1] = eosId;
        if (dropped > 0) {
            LOG.warn("prompt is {} tokens long but the text encoder takes {}; the last {} token(s) were dropped",
                    tokens.size(), room, dropped);
        }
        return new Encoding(ids, dropped);
    }

    /** {@link #encode} padded with the pad token to exactly {@link #maxLength()} ids. */
    public int[] encodePadded(String text) {
        int[] ids = encode(text).ids();
        int[] padded = Arrays.copyOf(ids, maxLength);
        Arrays.fill(padded, ids.length, maxLength, padId);
        return padded;
    }

    /** The BPE tokens of {@code text}, without BOS and EOS; for inspection and tests. */
    public List<String> tokenize(String text) {
        List<String> tokens = new ArrayList<>();
        for (String word : words(text)) {
            tokens.addAll(Arrays.asList(bpe(word)));
        }
        return tokens;
    }

    /** CLIP's clean-up and pre-tokenization: the words BPE runs on, before byte mapping. */
    public static List<String> words(String text) {
        String normalized = Normalizer.normalize(text, Normalizer.Form.NFC);
        String clean = strip(WHITESPACE_RUN.matcher(normalized).replaceAll(" ")).toLowerCase(Locale.ROOT);
        List<String> words = new ArrayList<>();
        Matcher matcher = WORDS.matcher(clean);
        while (matcher.find()) {
            words.add(matcher.group());
        }
        return words;
    }

    /** The sequence length the text encoder takes ({@code model_max_length}). */
    public int maxLength() {
        return maxLength;
    }

    /** The id of the start-of-text token. */
    public int bosId() {
        return bosId;
    }

    /** The id of the end-of-text token. */
    public int eosId() {
        return eosId;
    }

    /** The id padding uses. */
    public int padId() {
        return padId;
    }

    /** The number of tokens in the vocabulary. */
    public int vocabularySize() {
        return vocabulary.size();
    }

    private List<Integer> tokenIds(String text) {
        List<Integer> ids = new ArrayList<>();
        for (String word : words(text)) {
            for (String token : bpe(word)) {
                ids.add(vocabulary.getOrDefault(token, unkId));
            }
        }
        return ids;
    }

    /** The BPE of one pre-tokenized word (before byte mapping). */
    private String[] bpe(String word) {
        String[] cached = cache.get(word);
        if (cached != null) {
            return cached;
        }
        String symbols = ByteLevel.encode(word);
        List<String> parts = new ArrayList<>(symbols.length());
        for (int i = 0; i < symbols.length() - 1; i++) {
            parts.add(String.valueOf(symbols.charAt(i)));
        }
        parts.add(symbols.charAt(symbols.length() - 1) + END_OF_WORD);
        while (parts.size() > 1) {
            int bestRank = Integer.MAX_VALUE;
            String bestFirst = null;
            String bestSecond = null;
            for (int i = 0; i + 1 < parts.size(); i++) {
                Integer rank = mergeRanks.get(parts.get(i) + " " + parts.get(i + 1));
                if (rank != null && rank < bestRank) {
                    bestRank = rank;
                    bestFirst = parts.get(i);
                    bestSecond = parts.get(i + 1);
                }
            }
            if (bestFirst == null) {
                break;
            }
            List<String> merged = new ArrayList<>(parts.size());
            for (int i = 0; i < parts.size(); i++) {
                if (i + 1 < parts.size() && parts.get(i).equals(bestFirst) && parts.get(i + 1).equals(bestSecond)) {
                    merged.add(bestFirst + bestSecond);
                    i++;
                } else {
                    merged.add(parts.get(i));
                }
            }
            parts = merged;
        }
        String[] result = parts.toArray(String[]::new);
        if (cache.size() < CACHE_LIMIT) {
            cache.put(word, result);
        }
        return result;
    }

    private int idOf(String token, String role) {
        Integer id = vocabulary.get(token);
        if (id == null) {
            throw new IllegalArgumentException(role + " '" + token + "' is not in the vocabulary");
        }
        return id;
    }

    /**
     * Strips from both ends what Python's {@code str.strip()} strips: Unicode White_Space and also
     * the separators {@code U+001C..U+001F}, which {@code \s} of the {@code regex} module keeps.
     */
    private static String strip(String text) {
        int start = 0;
        int end = text.length();
        while (start < end && isPythonSpace(text.charAt(start))) {
            start++;
        }
        while (end > start && isPythonSpace(text.charAt(end - 1))) {
            end--;
        }
        return text.substring(start, end);
    }

    private static boolean isPythonSpace(char c) {
        return (c >= '\u001C' && c <= '\u001F') || WHITESPACE_CHAR.matcher(String.valueOf(c)).matches();
    }

    /** The special token {@code key}: from the config, else the special tokens map, else {@code fallback}. */
    private static String token(JsonNode config, JsonNode special, String key, String fallback) {
        for (JsonNode source : List.of(config, special)) {
            JsonNode node = source.get(key);
            if (node != null && node.isTextual()) {
                return node.asText();
            }
            if (node != null && node.isObject() && node.path("content").isTextual()) {
                return node.get("content").asText();
            }
        }
        return fallback;
    }

    private static List<String> readMerges(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new MalformedModelException(file, "cannot read merges: " + e.getMessage(), e);
        }
        List<String> merges = new ArrayList<>(lines.size());
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if ((i == 0 && line.startsWith("#")) || line.isBlank()) {
                continue;
            }
            merges.add(line.strip());
        }
        return merges;
    }

    private static JsonNode readJson(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new ModelNotFoundException(file, "tokenizer file");
        }
        try {
            return JSON.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            throw new MalformedModelException(file, "not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new MalformedModelException(file, "cannot be read: " + e.getMessage(), e);
        }
    }

    private static JsonNode optionalJson(Path file) {
        return Files.isRegularFile(file) ? readJson(file) : JSON.createObjectNode();
    }
}
