package dev.asyncdiff.synthetic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.asyncdiff.api.DType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad arguments fail with messages naming the value and the valid ones; the real CLIP vocabulary. */
class SyntheticArgumentsTest {
    @TempDir
    Path dir;

    @Test
    void unknownFamilyScaleAndDtypeListTheValidValues() {
        assertThatThrownBy(() -> Family.parse("sd4")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'sd4'").hasMessageContaining("sd15").hasMessageContaining("sd21")
                .hasMessageContaining("sdxl");
        assertThatThrownBy(() -> Scale.parse("huge")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'huge'").hasMessageContaining("tiny").hasMessageContaining("full");
        assertThatThrownBy(() -> SyntheticModels.parseDType("int8")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'int8'").hasMessageContaining("fp32, fp16");
        assertThatThrownBy(() -> SyntheticModels.parseDType("bf16")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bf16").hasMessageContaining("fp32, fp16");
        assertThat(SyntheticModels.parseDType("float16")).isEqualTo(DType.FP16);
        assertThatThrownBy(() -> SyntheticModels.write(Family.SD15, Scale.TINY, DType.INT64, 0, TokenizerKind.BPE,
                dir.resolve("x"))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("INT64");
    }

    @Test
    void outputFolderThatIsAFileOrUnderAFileIsRejectedByName() throws IOException {
        Path file = Files.writeString(dir.resolve("plain.txt"), "x");
        assertThatThrownBy(() -> SyntheticModels.write(Family.SD15, Scale.TINY, DType.FP32, 0, TokenizerKind.BPE,
                file)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(file.toString())
                .hasMessageContaining("not a folder");
        Path under = file.resolve("model");
        assertThatThrownBy(() -> SyntheticModels.write(Family.SD15, Scale.TINY, DType.FP32, 0, TokenizerKind.BPE,
                under)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(under.toString());
        assertThat(Files.readString(file)).isEqualTo("x");
    }

    @Test
    void nonEmptyOutputFolderIsNeverOverwritten() throws IOException {
        Path out = Files.createDirectories(dir.resolve("busy"));
        Files.writeString(out.resolve("keep.txt"), "mine");
        assertThatThrownBy(() -> SyntheticModels.write(Family.SD15, Scale.TINY, DType.FP32, 0, TokenizerKind.BPE,
                out)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(out.toString())
                .hasMessageContaining("not empty");
        assertThat(Files.readString(out.resolve("keep.txt"))).isEqualTo("mine");
        try (var entries = Files.list(dir)) {
            assertThat(entries.map(p -> p.getFileName().toString())).containsExactly("busy");
        }
    }

    @Test
    void emptyOutputFolderIsFilled() {
        Path out = dir.resolve("empty");
        assertThat(out.toFile().mkdir()).isTrue();
        SyntheticFolder folder = SyntheticModels.write(Family.SD15, Scale.TINY, DType.FP32, 0, TokenizerKind.BPE, out);
        assertThat(folder.directory()).isEqualTo(out.toAbsolutePath());
        assertThat(out.resolve(SyntheticModels.MODEL_INDEX)).isRegularFile();
    }

    @Test
    void realClipTokenizerFolderRuns() throws Exception {
        assumeTrue(SharedData.clipMergesFile().isPresent(), "skipped: " + SharedData.CLIP_MERGES
                + " not found (set -D" + SharedData.PROPERTY + " or " + SharedData.ENVIRONMENT + ")");
        SyntheticFolder folder = SyntheticModels.write(Family.SD15, Scale.TINY, DType.FP32, 3, TokenizerKind.CLIP,
                dir.resolve("clip"));
        Path root = folder.directory();
        ObjectMapper mapper = new ObjectMapper();
        assertThat(folder.vocabSize()).isEqualTo(49408);
        assertThat(mapper.readTree(root.resolve("tokenizer/vocab.json").toFile()).size()).isEqualTo(49408);
        assertThat(mapper.readTree(root.resolve("tokenizer/vocab.json").toFile()).get("a</w>").asInt())
                .isEqualTo(320);
        assertThat(mapper.readTree(root.resolve("text_encoder/config.json").toFile()).get("vocab_size").asInt())
                .isEqualTo(49408);
        List<String> merges = Files.readAllLines(root.resolve("tokenizer/merges.txt"), StandardCharsets.UTF_8);
        assertThat(merges).hasSize(48895);
        assertThat(merges.get(0)).isEqualTo("#version: 0.2");
        FamilyPreset preset = FamilyPreset.of(Family.SD15, Scale.TINY).withVocabSize(49408);
        assertThat(preset.textEncoder().bosTokenId()).isEqualTo(49406);
        SyntheticModelsTest.checkTextEncoder(root.resolve("text_encoder/model.onnx"), preset.textEncoder());
    }
}
