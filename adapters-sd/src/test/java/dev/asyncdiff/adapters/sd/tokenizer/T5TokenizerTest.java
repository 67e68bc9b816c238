package dev.asyncdiff.adapters.sd.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.asyncdiff.api.MalformedModelException;
import dev.asyncdiff.api.ModelNotFoundException;
import dev.asyncdiff.synthetic.T5TokenizerFiles;
import dev.asyncdiff.synthetic.UnigramVocabulary;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * T5's unigram tokenizer. The reference ids in {@code t5-mini/reference-ids.json} come from Debian's
 * {@code python3-sentencepiece} 0.1.97: {@code spiece.model} beside them was trained by
 * {@code SentencePieceTrainer.train(input=bpe-corpus.txt, model_type="unigram", vocab_size=300,
 * pad_id=0, eos_id=1, unk_id=2, bos_id=-1, character_coverage=1.0)} (T5's special ids, the default
 * {@code nmt_nfkc} normalizer) on the synthetic module's built-in text, and each text encoded with
 * {@code SentencePieceProcessor.encode(text)}, which appends no {@code </s>}.
 */
class T5TokenizerTest {
    private static final String RESOURCES = "/dev/asyncdiff/adapters/sd/tokenizer/t5-mini/";

    @TempDir
    Path dir;

    private Path miniFolder() throws IOException {
        Path folder = Files.createDirectories(dir.resolve("t5-mini"));
        try (InputStream in = T5TokenizerTest.class.getResourceAsStream(RESOURCES + "spiece.model")) {
            Files.copy(in, folder.resolve("spiece.model"));
        }
        return folder;
    }

    @Test
    void equalsSentencePieceOnAModelItTrained() throws IOException {
        T5Tokenizer tokenizer = T5Tokenizer.load(miniFolder());
        JsonNode references;
        try (InputStream in = T5TokenizerTest.class.getResourceAsStream(RESOURCES + "reference-ids.json")) {
            references = new ObjectMapper().readTree(in);
        }
        assertThat(references).hasSizeGreaterThan(8);
        for (JsonNode reference : references) {
            int[] expected = new int[reference.get("ids").size() + 1];
            for (int i = 0; i < expected.length - 1; i++) {
                expected[i] = reference.get("ids").get(i).asInt();
            }
            expected[expected.length - 1] = 1;
            assertThat(tokenizer.encode(reference.get("text").asText())).as("ids of '%s'", reference.get("text").asText())
                    .containsExactly(expected);
        }
    }

    @Test
    void fusesRunsOfUnknownCharactersAndNormalizesLikeNmtNfkc() throws IOException {
        T5Tokenizer tokenizer = T5Tokenizer.load(miniFolder());
        assertThat(tokenizer.tokenize("日本語")).containsExactly("▁", "<unk>");
        assertThat(T5Tokenizer.normalize("  ﬁne\t①  ＦＵＬＬ \n")).isEqualTo("▁fine▁1▁FULL");
        assertThat(T5Tokenizer.normalize(" \t\n")).isEmpty();
        assertThat(tokenizer.encode("   ")).containsExactly(1);
    }

    @Test
    void padsAndTruncatesAsDiffusersAsksTheTokenizer() throws IOException {
        T5Tokenizer tokenizer = T5Tokenizer.load(miniFolder());
        int[] short256 = tokenizer.encodePadded("a photo of a cat", T5Tokenizer.DEFAULT_MAX_SEQUENCE_LENGTH);
        assertThat(short256).hasSize(256);
        assertThat(Arrays.copyOf(short256, 7)).containsExactly(6, 267, 10, 6, 47, 45, 1);
        assertThat(Arrays.copyOfRange(short256, 7, 256)).containsOnly(0);
        int[] truncated = tokenizer.encodePadded("x".repeat(40), 10);
        assertThat(truncated).containsExactly(3, 262, 262, 262, 262, 262, 262, 262, 262, 1);
        assertThat(tokenizer.encodePadded("", 4)).containsExactly(1, 0, 0, 0);
        assertThatThrownBy(() -> tokenizer.encodePadded("a", 513)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("max_sequence_length").hasMessageContaining("513");
    }

    @Test
    void tokenizerJsonAndSpieceModelOfASyntheticFolderAgree() throws IOException {
        UnigramVocabulary vocabulary = UnigramVocabulary.small();
        Path both = Files.createDirectories(dir.resolve("model/tokenizer_3"));
        T5TokenizerFiles.write(both, vocabulary);
        Path spieceOnly = Files.createDirectories(dir.resolve("spiece-only"));
        Files.copy(both.resolve("spiece.model"), spieceOnly.resolve("spiece.model"));
        T5Tokenizer fromJson = T5Tokenizer.load(dir.resolve("model"));
        T5Tokenizer fromSpiece = T5Tokenizer.load(spieceOnly);
        assertThat(fromJson.vocabularySize()).isEqualTo(fromSpiece.vocabularySize()).isEqualTo(vocabulary.size());
        for (String text : List.of("A portrait of an old man with a white beard", "golden hour, fifty millimetre",
                "Zebra QUIZ jumps 12 × 7", "", "über café")) {
            assertThat(fromJson.encode(text)).as(text).containsExactly(fromSpiece.encode(text));
        }
        assertThat(fromJson.tokenize("a photo")).allSatisfy(piece -> assertThat(vocabulary.pieces()).contains(piece));
        assertThat(String.join("", fromJson.tokenize("a red house"))).isEqualTo("▁a▁red▁house");
    }

    @Test
    void aMissingOrBrokenTokenizerIsAClearError() throws IOException {
        Path empty = Files.createDirectories(dir.resolve("no-t5"));
        assertThatThrownBy(() -> T5Tokenizer.load(empty)).isInstanceOf(ModelNotFoundException.class)
                .hasMessageContaining("no-t5").hasMessageContaining("tokenizer_3");
        Path broken = Files.createDirectories(dir.resolve("broken"));
        Files.write(broken.resolve("spiece.model"), new byte[] {(byte) 0x0a, (byte) 0xff, 0x01});
        assertThatThrownBy(() -> T5Tokenizer.load(broken)).isInstanceOf(MalformedModelException.class)
                .hasMessageContaining("spiece.model");
        Path notUnigram = Files.createDirectories(dir.resolve("bpe"));
        Files.writeString(notUnigram.resolve("tokenizer.json"), "{\"model\":{\"type\":\"BPE\",\"vocab\":{}}}");
        assertThatThrownBy(() -> T5Tokenizer.load(notUnigram)).isInstanceOf(MalformedModelException.class)
                .hasMessageContaining("Unigram").hasMessageContaining("BPE");
    }
}
