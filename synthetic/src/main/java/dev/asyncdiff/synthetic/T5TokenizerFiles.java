package dev.asyncdiff.synthetic;

import com.google.protobuf.CodedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a {@code T5TokenizerFast} folder ({@code tokenizer_3/} of SD 3) in the Hugging Face layout:
 * {@code spiece.model} (the SentencePiece model protobuf: pieces with scores and types, a unigram
 * trainer spec with T5's special ids, the {@code nmt_nfkc} normalizer with a dummy prefix and
 * whitespace escaping), {@code tokenizer.json} (the same vocabulary as a {@code Unigram} model, with
 * the {@code </s>} post-processor), {@code tokenizer_config.json} and {@code special_tokens_map.json}.
 * The synthetic vocabulary has no {@code <extra_id_N>} sentinels, which SD 3 never uses.
 */
public final class T5TokenizerFiles {
    /** The file names a T5 tokenizer folder holds. */
    public static final List<String> FILES = List.of("spiece.model", "tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json");
    /** T5's {@code model_max_length}. */
    public static final int MODEL_MAX_LENGTH = 512;
    private static final int NORMAL = 1;
    private static final int UNKNOWN = 2;
    private static final int CONTROL = 3;
    private static final int UNIGRAM = 1;

    private T5TokenizerFiles() {
    }

    /** Writes the four files into {@code dir} (which must exist). */
    public static void write(Path dir, UnigramVocabulary vocabulary) {
        Path model = dir.resolve("spiece.model");
        try {
            Files.write(model, sentencePieceModel(vocabulary));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + model + ": " + e, e);
        }
        Json.writeCompact(dir.resolve("tokenizer.json"), tokenizerJson(vocabulary));
        Json.write(dir.resolve("tokenizer_config.json"), tokenizerConfig());
        Json.write(dir.resolve("special_tokens_map.json"), map("eos_token", "</s>", "pad_token", "<pad>",
                "unk_token", "<unk>"));
    }

    /** The bytes of {@code spiece.model} (sentencepiece's {@code ModelProto}). */
    static byte[] sentencePieceModel(UnigramVocabulary vocabulary) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
            CodedOutputStream out = CodedOutputStream.newInstance(bytes);
            for (int id = 0; id < vocabulary.size(); id++) {
                byte[] piece = piece(vocabulary.pieces().get(id), vocabulary.scores().get(id), type(id));
                out.writeByteArray(1, piece);
            }
            out.writeByteArray(2, trainerSpec(vocabulary.size()));
            out.writeByteArray(3, normalizerSpec());
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode spiece.model", e);
        }
        return bytes.toByteArray();
    }

    private static int type(int id) {
        return id == T5EncoderConfig.UNK_ID ? UNKNOWN : id < UnigramVocabulary.SPECIALS.size() ? CONTROL : NORMAL;
    }

    private static byte[] piece(String piece, float score, int type) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        CodedOutputStream out = CodedOutputStream.newInstance(bytes);
        out.writeString(1, piece);
        out.writeFloat(2, score);
        out.writeEnum(3, type);
        out.flush();
        return bytes.toByteArray();
    }

    private static byte[] trainerSpec(int vocabSize) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        CodedOutputStream out = CodedOutputStream.newInstance(bytes);
        out.writeEnum(3, UNIGRAM);
        out.writeInt32(4, vocabSize);
        out.writeInt32(40, T5EncoderConfig.UNK_ID);
        out.writeInt32(41, -1);
        out.writeInt32(42, T5EncoderConfig.EOS_ID);
        out.writeInt32(43, T5EncoderConfig.PAD_ID);
        out.writeString(45, "<unk>");
        out.writeString(47, "</s>");
        out.writeString(48, "<pad>");
        out.flush();
        return bytes.toByteArray();
    }

    private static byte[] normalizerSpec() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        CodedOutputStream out = CodedOutputStream.newInstance(bytes);
        out.writeString(1, "nmt_nfkc");
        out.writeBool(3, true);
        out.writeBool(4, true);
        out.writeBool(5, true);
        out.flush();
        return bytes.toByteArray();
    }

    /** The content of {@code tokenizer.json}, as transformers' T5 converter lays it out. */
    static Map<String, Object> tokenizerJson(UnigramVocabulary vocabulary) {
        List<Map<String, Object>> added = new ArrayList<>();
        for (int id = 0; id < UnigramVocabulary.SPECIALS.size(); id++) {
            Map<String, Object> token = new LinkedHashMap<>();
            token.put("id", id);
            token.put("content", UnigramVocabulary.SPECIALS.get(id));
            token.put("single_word", false);
            token.put("lstrip", false);
            token.put("rstrip", false);
            token.put("normalized", false);
            token.put("special", true);
            added.add(token);
        }
        Map<String, Object> metaspace = new LinkedHashMap<>();
        metaspace.put("type", "Metaspace");
        metaspace.put("replacement", UnigramVocabulary.SPACE);
        metaspace.put("prepend_scheme", "always");
        metaspace.put("split", true);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("version", "1.0");
        json.put("truncation", null);
        json.put("padding", null);
        json.put("added_tokens", added);
        json.put("normalizer", map("type", "Sequence", "normalizers", List.of(map("type", "NFKC"),
                map("type", "Replace", "pattern", map("Regex", " {2,}"), "content", " "))));
        json.put("pre_tokenizer", map("type", "Sequence", "pretokenizers",
                List.of(map("type", "WhitespaceSplit"), metaspace)));
        json.put("post_processor", map("type", "TemplateProcessing",
                "single", List.of(map("Sequence", map("id", "A", "type_id", 0)),
                        map("SpecialToken", map("id", "</s>", "type_id", 0))),
                "pair", List.of(map("Sequence", map("id", "A", "type_id", 0)),
                        map("SpecialToken", map("id", "</s>", "type_id", 0)),
                        map("Sequence", map("id", "B", "type_id", 0)),
                        map("SpecialToken", map("id", "</s>", "type_id", 0))),
                "special_tokens", map("</s>", map("id", "</s>", "ids", List.of(T5EncoderConfig.EOS_ID),
                        "tokens", List.of("</s>")))));
        json.put("decoder", metaspace);
        List<List<Object>> vocab = new ArrayList<>();
        for (int id = 0; id < vocabulary.size(); id++) {
            vocab.add(List.of(vocabulary.pieces().get(id), (double) vocabulary.scores().get(id)));
        }
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("type", "Unigram");
        model.put("unk_id", T5EncoderConfig.UNK_ID);
        model.put("vocab", vocab);
        model.put("byte_fallback", false);
        json.put("model", model);
        return json;
    }

    /** A map of {@code key, value, ...} in that order (Map.of's order changes between runs; files must not). */
    private static Map<String, Object> map(Object... keysAndValues) {
        Map<String, Object> map = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            map.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return map;
    }

    private static Map<String, Object> tokenizerConfig() {
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("add_prefix_space", true);
        config.put("additional_special_tokens", List.of());
        config.put("clean_up_tokenization_spaces", true);
        config.put("eos_token", "</s>");
        config.put("extra_ids", 0);
        config.put("legacy", true);
        config.put("model_max_length", MODEL_MAX_LENGTH);
        config.put("pad_token", "<pad>");
        config.put("sp_model_kwargs", map());
        config.put("tokenizer_class", "T5Tokenizer");
        config.put("unk_token", "<unk>");
        return config;
    }
}
