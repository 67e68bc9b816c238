package dev.asyncdiff.synthetic;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a {@code CLIPTokenizer} folder in the Hugging Face layout: {@code vocab.json},
 * {@code merges.txt} (with the {@code #version: 0.2} header), {@code tokenizer_config.json} and
 * {@code special_tokens_map.json}; {@code model_max_length} 77, lower-casing on.
 */
public final class TokenizerFiles {
    /** The file names a tokenizer folder holds. */
    public static final List<String> FILES = List.of("vocab.json", "merges.txt", "tokenizer_config.json",
            "special_tokens_map.json");
    /** The sequence length of every CLIP text encoder. */
    public static final int MODEL_MAX_LENGTH = 77;
    /** The pad token of SDXL's second tokenizer (OpenCLIP pads with id 0). */
    public static final String EXCLAMATION_PAD = "!";

    private TokenizerFiles() {
    }

    /**
     * Writes the four files into {@code dir} (which must exist).
     *
     * @param padToken {@link BpeVocabulary#END_OF_TEXT} for SD 1.x/2.x and SDXL's first tokenizer,
     *     {@link #EXCLAMATION_PAD} for SDXL's second
     */
    public static void write(Path dir, BpeVocabulary vocabulary, String padToken) {
        if (vocabulary.idOf(padToken) < 0) {
            throw new IllegalArgumentException("pad token '" + padToken + "' is not in the vocabulary");
        }
        Json.writeCompact(dir.resolve("vocab.json"), vocabulary.encoder());
        StringBuilder merges = new StringBuilder("#version: 0.2\n");
        for (String merge : vocabulary.merges()) {
            merges.append(merge).append('\n');
        }
        Json.writeString(dir.resolve("merges.txt"), merges.toString());
        Json.write(dir.resolve("tokenizer_config.json"), tokenizerConfig(padToken));
        Json.write(dir.resolve("special_tokens_map.json"), specialTokensMap(padToken));
    }

    /** The content of {@code tokenizer_config.json}. */
    static Map<String, Object> tokenizerConfig(String padToken) {
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("add_prefix_space", false);
        config.put("bos_token", addedToken(BpeVocabulary.START_OF_TEXT));
        config.put("clean_up_tokenization_spaces", true);
        config.put("do_lower_case", true);
        config.put("eos_token", addedToken(BpeVocabulary.END_OF_TEXT));
        config.put("errors", "replace");
        config.put("model_max_length", MODEL_MAX_LENGTH);
        config.put("pad_token", padToken);
        config.put("tokenizer_class", "CLIPTokenizer");
        config.put("unk_token", addedToken(BpeVocabulary.END_OF_TEXT));
        return config;
    }

    /** The content of {@code special_tokens_map.json}. */
    static Map<String, Object> specialTokensMap(String padToken) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("bos_token", plainToken(BpeVocabulary.START_OF_TEXT));
        map.put("eos_token", plainToken(BpeVocabulary.END_OF_TEXT));
        map.put("pad_token", padToken.equals(BpeVocabulary.END_OF_TEXT) ? plainToken(padToken) : padToken);
        map.put("unk_token", plainToken(BpeVocabulary.END_OF_TEXT));
        return map;
    }

    private static Map<String, Object> addedToken(String content) {
        Map<String, Object> token = new LinkedHashMap<>();
        token.put("__type", "AddedToken");
        token.putAll(plainToken(content));
        return token;
    }

    private static Map<String, Object> plainToken(String content) {
        Map<String, Object> token = new LinkedHashMap<>();
        token.put("content", content);
        token.put("lstrip", false);
        token.put("normalized", true);
        token.put("rstrip", false);
        token.put("single_word", false);
        return token;
    }
}
