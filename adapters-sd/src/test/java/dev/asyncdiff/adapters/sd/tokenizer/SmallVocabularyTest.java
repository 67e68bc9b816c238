package dev.asyncdiff.adapters.sd.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.asyncdiff.synthetic.BpeVocabulary;
import dev.asyncdiff.synthetic.SmallBpe;
import dev.asyncdiff.synthetic.TokenizerFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The tokenizer over the synthetic module's small byte-level BPE, which needs no shared data. */
class SmallVocabularyTest {
    @Test
    void tokensSpellTheByteMappedWordsAndIdsComeFromTheVocabulary(@TempDir Path dir) throws IOException {
        BpeVocabulary vocabulary = SmallBpe.vocabulary();
        TokenizerFiles.write(Files.createDirectories(dir.resolve("tokenizer")), vocabulary, BpeVocabulary.END_OF_TEXT);
        ClipTokenizer tokenizer = ClipTokenizer.load(dir);
        String text = "The quick brown fox, naïve café 42 🐱";
        List<String> words = ClipTokenizer.words(text);
        assertThat(words).containsExactly("the", "quick", "brown", "fox", ",", "naïve", "café", "4", "2", "🐱");
        String expected = String.join("", words.stream().map(w -> ByteLevel.encode(w) + "</w>").toList());
        assertThat(String.join("", tokenizer.tokenize(text))).isEqualTo(expected);
        int[] ids = tokenizer.encode(text).ids();
        assertThat(ids[0]).isEqualTo(vocabulary.idOf(BpeVocabulary.START_OF_TEXT));
        assertThat(ids[ids.length - 1]).isEqualTo(vocabulary.idOf(BpeVocabulary.END_OF_TEXT));
        List<String> tokens = tokenizer.tokenize(text);
        for (int i = 0; i < tokens.size(); i++) {
            assertThat(ids[i + 1]).isEqualTo(vocabulary.idOf(tokens.get(i)));
        }
        // merges were learned from English text: common words need fewer tokens than bytes
        assertThat(tokenizer.tokenize("the")).hasSizeLessThan(3);
    }

    @Test
    void byteLevelMappingIsPrintableAndBijective() {
        java.util.Set<Character> seen = new java.util.HashSet<>();
        for (int b = 0; b < 256; b++) {
            char symbol = ByteLevel.symbol(b);
            assertThat(Character.isWhitespace(symbol)).isFalse();
            assertThat(seen.add(symbol)).isTrue();
        }
        assertThat(ByteLevel.symbol(' ')).isEqualTo('\u0120');
        assertThat(ByteLevel.symbol('a')).isEqualTo('a');
    }
}
