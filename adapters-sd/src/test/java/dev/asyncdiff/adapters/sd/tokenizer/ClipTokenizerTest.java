package dev.asyncdiff.adapters.sd.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.asyncdiff.api.ModelNotFoundException;
import dev.asyncdiff.synthetic.BpeVocabulary;
import dev.asyncdiff.synthetic.SharedData;
import dev.asyncdiff.synthetic.TokenizerFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tokenizer against the real CLIP vocabulary (built from the shared merges file by the synthetic
 * module): hand-checked id sequences, a fixture written by OpenAI's {@code SimpleTokenizer} logic
 * ({@code clip_reference.py} beside the fixture), and properties. Skipped when the shared folder
 * lacks {@value SharedData#CLIP_MERGES}.
 */
class ClipTokenizerTest {
    private static final int BOS = 49406;
    private static final int EOS = 49407;

    @TempDir
    static Path folder;
    private static ClipTokenizer clip;
    private static ClipTokenizer clipExclamationPad;

    @BeforeAll
    static void writeClipFolders() throws IOException {
        var merges = SharedData.clipMergesFile();
        if (merges.isEmpty()) {
            return;
        }
        BpeVocabulary vocabulary = BpeVocabulary.clip(merges.get());
        Path eosPad = Files.createDirectories(folder.resolve("model/tokenizer"));
        TokenizerFiles.write(eosPad, vocabulary, BpeVocabulary.END_OF_TEXT);
        Path bangPad = Files.createDirectories(folder.resolve("tokenizer_2"));
        TokenizerFiles.write(bangPad, vocabulary, TokenizerFiles.EXCLAMATION_PAD);
        clip = ClipTokenizer.load(folder.resolve("model"));
        clipExclamationPad = ClipTokenizer.load(bangPad);
    }

    private static ClipTokenizer clip() {
        assumeTrue(clip != null, "skipped: the real CLIP vocabulary needs " + SharedData.CLIP_MERGES
                + " in the shared folder (-D" + SharedData.PROPERTY + " or ../shared)");
        return clip;
    }

    @Test
    void handCheckedPrompts() {
        ClipTokenizer tokenizer = clip();
        // a</w> 320, photo</w> 1125, of</w> 539, cat</w> 2368 in vocab.json
        assertThat(tokenizer.encode("a photo of a cat").ids()).containsExactly(BOS, 320, 1125, 539, 320, 2368, EOS);
        assertThat(tokenizer.encode("a photo of an astronaut riding a horse on mars").ids())
                .containsExactly(BOS, 320, 1125, 539, 550, 18376, 6765, 320, 4558, 525, 7496, EOS);
        // hello</w> 3306, ,</w> 267, world</w> 1002, !</w> 256
        assertThat(tokenizer.encode("Hello, World!").ids()).containsExactly(BOS, 3306, 267, 1002, 256, EOS);
        assertThat(tokenizer.tokenize("Hello, World!")).containsExactly("hello</w>", ",</w>", "world</w>", "!</w>");
        assertThat(tokenizer.encode("").ids()).containsExactly(BOS, EOS);
    }

    @Test
    void specialTokensComeFromTheFiles() {
        ClipTokenizer tokenizer = clip();
        assertThat(tokenizer.bosId()).isEqualTo(BOS);
        assertThat(tokenizer.eosId()).isEqualTo(EOS);
        assertThat(tokenizer.padId()).isEqualTo(EOS);
        assertThat(tokenizer.maxLength()).isEqualTo(77);
        assertThat(clipExclamationPad.padId()).isZero();
        assertThat(tokenizer.vocabularySize()).isEqualTo(49408);
    }

    @Test
    void paddingUsesTheConfiguredPadToken() {
        ClipTokenizer tokenizer = clip();
        int[] eosPadded = tokenizer.encodePadded("a cat");
        assertThat(eosPadded).hasSize(77);
        assertThat(Arrays.copyOf(eosPadded, 4)).containsExactly(BOS, 320, 2368, EOS);
        assertThat(Arrays.copyOfRange(eosPadded, 4, 77)).containsOnly(EOS);
        int[] bangPadded = clipExclamationPad.encodePadded("a cat");
        assertThat(Arrays.copyOf(bangPadded, 4)).containsExactly(BOS, 320, 2368, EOS);
        assertThat(Arrays.copyOfRange(bangPadded, 4, 77)).containsOnly(0);
    }

    @Test
    void equalsTheReferenceTokenizerOnVariedText() throws IOException {
        ClipTokenizer tokenizer = clip();
        JsonNode cases;
        try (InputStream in = getClass().getResourceAsStream("clip-reference.json")) {
            cases = new ObjectMapper().readTree(in);
        }
        assertThat(cases.size()).isGreaterThan(300);
        List<String> mismatches = new ArrayList<>();
        for (JsonNode c : cases) {
            String text = c.get("text").asText();
            int[] expected = new int[c.get("ids").size()];
            for (int i = 0; i < expected.length; i++) {
                expected[i] = c.get("ids").get(i).asInt();
            }
            Encoding actual = tokenizer.encode(text);
            if (!Arrays.equals(actual.ids(), expected) || actual.droppedTokens() != c.get("dropped").asInt()) {
                mismatches.add(text + " -> " + actual + ", expected " + Arrays.toString(expected));
            }
        }
        assertThat(mismatches).isEmpty();
    }

    @Test
    void contractionsSplitOffAndCaseIsIgnored() {
        ClipTokenizer tokenizer = clip();
        assertThat(tokenizer.tokenize("don't you're we've I'm they'll she'd it's"))
                .containsExactly("don</w>", "'t</w>", "you</w>", "'re</w>", "we</w>", "'ve</w>", "i</w>", "'m</w>",
                        "they</w>", "'ll</w>", "she</w>", "'d</w>", "it</w>", "'s</w>");
        assertThat(tokenizer.encode("A PHOTO OF A CAT")).isEqualTo(tokenizer.encode("a photo of a cat"));
        assertThat(tokenizer.encode("IT'S")).isEqualTo(tokenizer.encode("it's"));
    }

    @Test
    void numbersSplitPerDigit() {
        ClipTokenizer tokenizer = clip();
        assertThat(tokenizer.tokenize("1234 apples")).containsExactly("1</w>", "2</w>", "3</w>", "4</w>", "apples</w>");
        assertThat(tokenizer.encode("2024").ids()).containsExactly(BOS, 273, 271, 273, 275, EOS);
    }

    @Test
    void whitespaceRunsAndEndsDoNotMatter() {
        ClipTokenizer tokenizer = clip();
        Encoding plain = tokenizer.encode("a photo of a cat");
        assertThat(tokenizer.encode("  a   photo\tof\n\na\u00a0cat\u3000 ")).isEqualTo(plain);
        assertThat(tokenizer.encode(" \t\n ").ids()).containsExactly(BOS, EOS);
    }

    @Test
    void accentsCjkAndEmojiBecomeByteLevelTokens() {
        ClipTokenizer tokenizer = clip();
        // NFC: a decomposed é equals the composed one
        assertThat(tokenizer.encode("cafe\u0301")).isEqualTo(tokenizer.encode("caf\u00e9"));
        assertThat(tokenizer.encode("café naïve résumé").ids())
                .containsExactly(BOS, 15304, 1097, 35689, 563, 29106, 7054, 4166, EOS);
        // one letter run: CJK characters stay in one word, ending in </w>
        List<String> cjk = tokenizer.tokenize("東京タワーの夜景");
        assertThat(cjk.get(cjk.size() - 1)).endsWith("</w>");
        assertThat(cjk.subList(0, cjk.size() - 1)).noneMatch(token -> token.endsWith("</w>"));
        assertThat(tokenizer.encode("🐱🚀 cute cat 😊").ids()).containsExactly(BOS, 35710, 13542, 2242, 2368, 3020, EOS);
    }

    @Test
    void overLongPromptsAreTruncatedWithTheDroppedCount() {
        ClipTokenizer tokenizer = clip();
        Encoding encoding = tokenizer.encode(String.join(" ", java.util.Collections.nCopies(100, "word")));
        assertThat(encoding.length()).isEqualTo(77);
        assertThat(encoding.truncated()).isTrue();
        assertThat(encoding.droppedTokens()).isEqualTo(25);
        assertThat(encoding.ids()[0]).isEqualTo(BOS);
        assertThat(encoding.ids()[76]).isEqualTo(EOS);
        Encoding exact = tokenizer.encode(String.join(" ", java.util.Collections.nCopies(75, "word")));
        assertThat(exact.length()).isEqualTo(77);
        assertThat(exact.truncated()).isFalse();
    }

    @Test
    void specialTokensInTheTextStaySpecial() {
        ClipTokenizer tokenizer = clip();
        assertThat(tokenizer.encode("<|endoftext|> hi").ids()).containsExactly(BOS, EOS, 1883, EOS);
    }

    @Test
    void missingFolderOrFilesNameThePath(@TempDir Path empty) throws IOException {
        assertThatThrownBy(() -> ClipTokenizer.load(empty.resolve("nope")))
                .isInstanceOf(ModelNotFoundException.class).hasMessageContaining("nope");
        assertThatThrownBy(() -> ClipTokenizer.load(empty))
                .isInstanceOf(ModelNotFoundException.class).hasMessageContaining("vocab.json");
        Files.writeString(empty.resolve("vocab.json"), "{}");
        assertThatThrownBy(() -> ClipTokenizer.load(empty))
                .isInstanceOf(ModelNotFoundException.class).hasMessageContaining("merges.txt");
    }
}
