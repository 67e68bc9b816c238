package dev.asyncdiff.synthetic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BpeVocabularyTest {
    @TempDir
    Path dir;

    private static BpeVocabulary realClip() {
        Optional<Path> merges = SharedData.clipMergesFile();
        assumeTrue(merges.isPresent(), "skipped: " + SharedData.CLIP_MERGES + " not found (set -D"
                + SharedData.PROPERTY + " or " + SharedData.ENVIRONMENT + ")");
        return BpeVocabulary.clip(merges.get());
    }

    @Test
    void byteAlphabetFollowsBytesToUnicode() {
        List<String> symbols = ByteLevelAlphabet.symbols();
        assertThat(symbols).hasSize(256).doesNotHaveDuplicates();
        assertThat(symbols.get(0)).isEqualTo("!");
        assertThat(symbols.get(93)).isEqualTo("~");
        assertThat(symbols.get(94)).isEqualTo("\u00a1");
        // byte 0 is the first non-printable byte: U+0100; space (0x20) is the 33rd: U+0120 'Ġ'
        assertThat(ByteLevelAlphabet.symbolOf(0)).isEqualTo('\u0100');
        assertThat(ByteLevelAlphabet.symbolOf(' ')).isEqualTo('\u0120');
        assertThat(ByteLevelAlphabet.encode("é")).isEqualTo("\u00c3\u00a9");
    }

    @Test
    void realClipVocabularyHasKnownIds() {
        BpeVocabulary clip = realClip();
        assertThat(clip.size()).isEqualTo(49408);
        assertThat(clip.merges()).hasSize(48894);
        assertThat(clip.merges().get(0)).isEqualTo("i n");
        assertThat(clip.idOf("!")).isZero();
        assertThat(clip.idOf("!</w>")).isEqualTo(256);
        assertThat(clip.idOf("in")).isEqualTo(512);
        assertThat(clip.idOf("a</w>")).isEqualTo(320);
        assertThat(clip.idOf("photo</w>")).isEqualTo(1125);
        assertThat(clip.idOf("of</w>")).isEqualTo(539);
        assertThat(clip.idOf("cat</w>")).isEqualTo(2368);
        assertThat(clip.idOf(BpeVocabulary.START_OF_TEXT)).isEqualTo(49406);
        assertThat(clip.idOf(BpeVocabulary.END_OF_TEXT)).isEqualTo(49407);
    }

    @Test
    void clipReadsOnlyTheMergesSimpleTokenizerReads() throws IOException {
        Path file = dir.resolve("short.txt.gz");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file))) {
            out.write("#version: 0.2\ni n\nt h\n".getBytes(StandardCharsets.UTF_8));
        }
        assertThatThrownBy(() -> BpeVocabulary.clip(file))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(file.getFileName().toString())
                .hasMessageContaining("48894");
        assertThatThrownBy(() -> BpeVocabulary.clip(dir.resolve("missing.gz")))
                .hasMessageContaining("missing.gz").hasMessageContaining("does not exist");
    }

    @Test
    void learnMergesTheMostFrequentPairFirst() {
        BpeVocabulary vocabulary = BpeVocabulary.learn("low low low lower lowest newest newest", 3);
        // "l o" occurs 5 times, then "w e" 4 times (lower, lowest, newest x2); then "lo w</w>",
        // "s t</w>" and "we s" tie at 3 and the lexicographically smallest wins
        assertThat(vocabulary.merges()).containsExactly("l o", "w e", "lo w</w>");
        assertThat(vocabulary.size()).isEqualTo(512 + 3 + 2);
        assertThat(vocabulary.idOf("low</w>")).isEqualTo(514);
        assertThat(vocabulary.tokens().get(vocabulary.size() - 2)).isEqualTo(BpeVocabulary.START_OF_TEXT);
    }

    @Test
    void learnStopsWhenNoPairRepeats() {
        assertThat(BpeVocabulary.learn("ab", 10).merges()).isEmpty();
        assertThat(BpeVocabulary.learn("ab ab", 10).merges()).containsExactly("a b</w>");
    }

    @Test
    void smallBpeIsDeterministicAndFull() {
        BpeVocabulary small = SmallBpe.vocabulary();
        assertThat(small.merges()).hasSize(SmallBpe.MERGES);
        assertThat(small.size()).isEqualTo(512 + SmallBpe.MERGES + 2);
        assertThat(BpeVocabulary.learn(SmallBpe.corpus(), SmallBpe.MERGES)).isEqualTo(small);
        assertThat(small.idOf("the</w>")).isPositive();
        assertThat(small.idOf("!")).isZero();
    }

    @Test
    void constructorRejectsDuplicatesAndDanglingMerges() {
        assertThatThrownBy(() -> new BpeVocabulary(List.of("a", "a"), List.of()))
                .hasMessageContaining("'a' twice");
        assertThatThrownBy(() -> new BpeVocabulary(List.of("a", "b"), List.of("a c")))
                .hasMessageContaining("merge 'a c'");
    }

    @Test
    void tokenizerKindParsesAndListsValidNames() {
        assertThat(TokenizerKind.parse("CLIP")).isEqualTo(TokenizerKind.CLIP);
        assertThat(TokenizerKind.parse(" bpe ")).isEqualTo(TokenizerKind.BPE);
        assertThatThrownBy(() -> TokenizerKind.parse("sentencepiece"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'sentencepiece'").hasMessageContaining("clip, bpe");
    }
}
