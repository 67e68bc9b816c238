package dev.asyncdiff.adapters.sd.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.asyncdiff.api.MalformedModelException;
import dev.asyncdiff.api.ModelNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.Arrays;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * T5's SentencePiece tokenizer ({@code T5TokenizerFast}, SD 3's {@code tokenizer_3/}), read from the
 * folder's own files: {@code tokenizer.json} (its {@code Unigram} model) when present, else
 * {@code spiece.model}. Text is normalized as T5's {@code nmt_nfkc} normalizer does for ordinary
 * text — NFKC, control characters dropped, every whitespace character a space, leading, trailing
 * and repeated spaces removed — then a {@code ▁} is prefixed and spaces become {@code ▁}; the
 * unigram model segments the result ({@link UnigramModel}) and {@code </s>} is appended. This is
 * not the precompiled character map itself, which also folds a few rare code points NFKC keeps.
 *
 * <p>{@link #encodePadded} mirrors diffusers' {@code tokenizer_3(padding="max_length",
 * max_length=max_sequence_length, truncation=True, add_special_tokens=True)}: at most
 * {@code maxLength - 1} pieces, then {@code </s>}, then {@code <pad>} up to {@code maxLength}.
 * Pure Java, immutable and thread-safe.
 */
public final class T5Tokenizer {
    /** diffusers' default {@code max_sequence_length} for SD 3's T5. */
    public static final int DEFAULT_MAX_SEQUENCE_LENGTH = 256;
    /** The most tokens SD 3's pipeline accepts. */
    public static final int MAX_SEQUENCE_LENGTH = 512;
    /** The files a T5 tokenizer folder may hold; one of the first two is required. */
    public static final List<String> FILES = List.of("tokenizer.json", "spiece.model", "tokenizer_config.json",
            "special_tokens_map.json");
    private static final String SPACE = "\u2581";
    private static final Logger LOG = LoggerFactory.getLogger(T5Tokenizer.class);
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final UnigramModel model;
    private final int eosId;
    private final int padId;

    /**
     * A tokenizer over {@code model} with the ids of {@code </s>} and {@code <pad>}.
     *
     * @throws IllegalArgumentException when an id is outside the model
     */
    public T5Tokenizer(UnigramModel model, int eosId, int padId) {
        if (eosId < 0 || eosId >= model.size() || padId < 0 || padId >= model.size()) {
            throw new IllegalArgumentException("eos id " + eosId + " and pad id " + padId + " must be ids of the "
                    + model.size() + " pieces");
        }
        this.model = model;
        this.eosId = eosId;
        this.padId = padId;
    }

    /**
     * Reads the tokenizer in {@code path}: a folder with {@code tokenizer.json} or {@code spiece.model},
     * or a model folder whose {@code tokenizer_3/} is one.
     *
     * @throws ModelNotFoundException  naming the folder when it holds neither file
     * @throws MalformedModelException naming the file that cannot be read, or that lacks {@code </s>} or {@code <pad>}
     */
    public static T5Tokenizer load(Path path) {
        Path dir = locate(path);
        Path json = dir.resolve("tokenizer.json");
        Path file = Files.isRegularFile(json) ? json : dir.resolve("spiece.model");
        UnigramModel model = file == json ? UnigramModel.fromTokenizerJson(file) : UnigramModel.fromSentencePiece(file);
        JsonNode config = optionalJson(dir.resolve("tokenizer_config.json"));
        int eos = idOf(model, file, token(config, "eos_token", "</s>"));
        int pad = idOf(model, file, token(config, "pad_token", "<pad>"));
        return new T5Tokenizer(model, eos, pad);
    }

    /**
     * The T5 tokenizer folder for {@code path}: {@code path} itself when it holds {@code tokenizer.json}
     * or {@code spiece.model}, else its {@code tokenizer_3/} subfolder.
     *
     * @throws ModelNotFoundException naming what was looked for
     */
    public static Path locate(Path path) {
        if (!Files.isDirectory(path)) {
            throw new ModelNotFoundException(path, "T5 tokenizer folder");
        }
        for (Path dir : List.of(path, path.resolve("tokenizer_3"))) {
            if (Files.isRegularFile(dir.resolve("tokenizer.json")) || Files.isRegularFile(dir.resolve("spiece.model"))) {
                return dir;
            }
        }
        throw new ModelNotFoundException(path, "T5 tokenizer (a folder with tokenizer.json or spiece.model, or a "
                + "model folder with tokenizer_3/)");
    }

    /** The ids of {@code text} followed by {@code </s>}, neither truncated nor padded. */
    public int[] encode(String text) {
        List<Integer> pieces = pieceIds(text);
        int[] ids = new int[pieces.size() + 1];
        for (int i = 0; i < pieces.size(); i++) {
            ids[i] = pieces.get(i);
        }
        ids[pieces.size()] = eosId;
        return ids;
    }

    /**
     * Exactly {@code maxLength} ids: at most {@code maxLength - 1} pieces of {@code text}, {@code </s>},
     * then padding; a warning says how many pieces were dropped.
     *
     * @throws IllegalArgumentException when {@code maxLength} is not in 1..{@value #MAX_SEQUENCE_LENGTH}
     */
    public int[] encodePadded(String text, int maxLength) {
        if (maxLength < 1 || maxLength > MAX_SEQUENCE_LENGTH) {
            throw new IllegalArgumentException("max_sequence_length must be in 1.." + MAX_SEQUENCE_LENGTH + ", was "
                    + maxLength);
        }
        List<Integer> pieces = pieceIds(text);
        int kept = Math.min(pieces.size(), maxLength - 1);
        if (kept < pieces.size()) {
            LOG.warn("prompt is {} T5 tokens long but max_sequence_length is {}; the last {} token(s) were dropped",
                    pieces.size() + 1, maxLength, pieces.size() - kept);
        }
        int[] ids = new int[maxLength];
        Arrays.fill(ids, padId);
        for (int i = 0; i < kept; i++) {
            ids[i] = pieces.get(i);
        }
        ids[kept] = eosId;
        return ids;
    }

    /** The pieces of {@code text} without {@code </s>}; for inspection and tests. */
    public List<String> tokenize(String text) {
        return pieceIds(text).stream().map(model::piece).toList();
    }

    /**
     * {@code text} as the unigram model sees it: normalized, {@code ▁}-prefixed, spaces as {@code ▁};
     * empty when nothing but whitespace is left.
     */
    public static String normalize(String text) {
        if (text == null) {
            throw new IllegalArgumentException("text to tokenize must not be null");
        }
        String nfkc = Normalizer.normalize(text, Normalizer.Form.NFKC);
        StringBuilder out = new StringBuilder(nfkc.length() + 1);
        boolean pendingSpace = false;
        for (int i = 0; i < nfkc.length(); ) {
            int c = nfkc.codePointAt(i);
            i += Character.charCount(c);
            if (Character.isWhitespace(c) || Character.isSpaceChar(c)) {
                pendingSpace = true;
            } else if (Character.getType(c) != Character.CONTROL && c != 0xFEFF) {
                if (pendingSpace || out.length() == 0) {
                    out.append(SPACE);
                }
                pendingSpace = false;
                out.appendCodePoint(c);
            }
        }
        return out.toString();
    }

    private List<Integer> pieceIds(String text) {
        String normalized = normalize(text);
        return normalized.isEmpty() ? List.of() : model.encode(normalized);
    }

    /** The id of {@code </s>}. */
    public int eosId() {
        return eosId;
    }

    /** The id of {@code <pad>}. */
    public int padId() {
        return padId;
    }

    /** Pieces in the vocabulary, specials included. */
    public int vocabularySize() {
        return model.size();
    }

    private static int idOf(UnigramModel model, Path file, String piece) {
        for (int id = 0; id < model.size(); id++) {
            if (model.piece(id).equals(piece)) {
                return id;
            }
        }
        throw new MalformedModelException(file, "the vocabulary has no '" + piece + "' piece");
    }

    private static String token(JsonNode config, String key, String fallback) {
        JsonNode value = config.get(key);
        if (value == null || value.isNull()) {
            return fallback;
        }
        return value.isTextual() ? value.asText() : value.path("content").asText(fallback);
    }

    private static JsonNode optionalJson(Path file) {
        if (!Files.isRegularFile(file)) {
            return MAPPER.createObjectNode();
        }
        try {
            return MAPPER.readTree(file.toFile());
        } catch (IOException e) {
            throw new MalformedModelException(file, "cannot read JSON: " + e.getMessage(), e);
        }
    }
}
