package dev.asyncdiff.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.asyncdiff.synthetic.BpeVocabulary;
import dev.asyncdiff.synthetic.SharedData;
import dev.asyncdiff.synthetic.SmallBpe;
import dev.asyncdiff.synthetic.TokenizerFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizeCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private Path modelWithTokenizer(BpeVocabulary vocabulary) throws IOException {
        TokenizerFiles.write(Files.createDirectories(dir.resolve("model/tokenizer")), vocabulary,
                BpeVocabulary.END_OF_TEXT);
        return dir.resolve("model");
    }

    @Test
    void printsIdsWithBosAndEosAsJson() throws IOException {
        BpeVocabulary vocabulary = SmallBpe.vocabulary();
        Path model = modelWithTokenizer(vocabulary);
        CliRun run = CliRun.of("tokenize", "--tokenizer", model.toString(), "the", "cat");
        assertThat(run.exitCode()).as(run.err()).isZero();
        JsonNode json = JSON.readTree(run.out());
        assertThat(json.fieldNames()).toIterable().containsExactly("ids", "truncated");
        assertThat(json.get("truncated").asBoolean()).isFalse();
        JsonNode ids = json.get("ids");
        assertThat(ids.get(0).asInt()).isEqualTo(vocabulary.idOf(BpeVocabulary.START_OF_TEXT));
        assertThat(ids.get(ids.size() - 1).asInt()).isEqualTo(vocabulary.idOf(BpeVocabulary.END_OF_TEXT));
        // the same through the tokenizer folder itself
        CliRun direct = CliRun.of("tokenize", "--tokenizer", model.resolve("tokenizer").toString(), "the cat");
        assertThat(direct.out()).isEqualTo(run.out());
    }

    @Test
    void overLongTextIsTruncatedTo77Ids() throws IOException {
        Path model = modelWithTokenizer(SmallBpe.vocabulary());
        CliRun run = CliRun.of("tokenize", "--tokenizer", model.toString(),
                String.join(" ", Collections.nCopies(120, "x")));
        assertThat(run.exitCode()).isZero();
        JsonNode json = JSON.readTree(run.out());
        assertThat(json.get("truncated").asBoolean()).isTrue();
        assertThat(json.get("ids").size()).isEqualTo(77);
    }

    @Test
    void realClipIdsWhenTheSharedVocabularyIsThere() throws IOException {
        Assumptions.assumeTrue(SharedData.clipMergesFile().isPresent(),
                "skipped: needs " + SharedData.CLIP_MERGES + " in the shared folder");
        Path model = modelWithTokenizer(BpeVocabulary.clip(SharedData.clipMergesFile().get()));
        CliRun run = CliRun.of("tokenize", "--tokenizer", model.toString(), "a photo of a cat");
        assertThat(run.out().strip()).isEqualTo("{\"ids\":[49406,320,1125,539,320,2368,49407],\"truncated\":false}");
    }

    @Test
    void missingTokenizerIsOneErrorLine() {
        CliRun run = CliRun.of("tokenize", "--tokenizer", dir.resolve("nope").toString(), "x");
        assertThat(run.exitCode()).isEqualTo(ExitCodes.FAILURE);
        assertThat(run.errLines()).hasSize(1);
        assertThat(run.err()).startsWith("asyncdiff: error: ").contains("nope");
    }
}
