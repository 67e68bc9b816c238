package dev.asyncdiff.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SynthCommandTest {
    @TempDir
    Path dir;

    @Test
    void writesTheFolderAndPrintsWhereAndHowLarge() throws IOException {
        Path out = dir.resolve("sd21");
        CliRun run = CliRun.of("synth", "--family", "sd21", "--scale", "tiny", "--tokenizer", "bpe", "--seed", "7",
                "--out", out.toString());

        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.err()).isEmpty();
        assertThat(run.outLines().get(0)).startsWith("Wrote sd21 tiny fp32 model folder (seed 7, bpe tokenizer")
                .endsWith(" to " + out.toAbsolutePath());
        long bytes;
        try (var files = Files.walk(out)) {
            bytes = files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        }
        assertThat(run.outLines().get(1)).startsWith("Size: ").contains(String.format("(%,d bytes)", bytes));
        assertThat(run.outLines().get(2)).startsWith("Parameters: text_encoder ").contains("unet ");
        assertThat(new ObjectMapper().readTree(out.resolve("model_index.json").toFile()).get("_class_name").asText())
                .isEqualTo("StableDiffusionPipeline");
        assertThat(out.resolve("unet/model.onnx")).isRegularFile();
        assertThat(out.resolve("scheduler/scheduler_config.json")).content().contains("v_prediction");
    }

    @Test
    void writesAnSd3FolderWithTheTransformerAndThreeTextEncoders() throws IOException {
        Path out = dir.resolve("sd3");
        CliRun run = CliRun.of("synth", "--family", "sd3", "--scale", "tiny", "--tokenizer", "bpe", "--out",
                out.toString());

        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.outLines().get(0)).startsWith("Wrote sd3 tiny fp32 model folder");
        assertThat(run.outLines().get(2)).contains("text_encoder_3 ").contains("transformer ").doesNotContain("unet");
        assertThat(new ObjectMapper().readTree(out.resolve("model_index.json").toFile()).get("_class_name").asText())
                .isEqualTo("StableDiffusion3Pipeline");
        assertThat(out.resolve("transformer/model.onnx")).isRegularFile();
        assertThat(out.resolve("tokenizer_3/spiece.model")).isRegularFile();
    }

    @Test
    void unknownFamilyIsAUsageErrorListingTheFamilies() {
        CliRun run = CliRun.of("synth", "--family", "sd4", "--scale", "tiny", "--out", dir.resolve("x").toString());

        assertThat(run.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(run.out()).isEmpty();
        assertThat(run.errLines()).hasSize(1);
        assertThat(run.err()).startsWith("asyncdiff: error: ").contains("--family").contains("'sd4'")
                .contains("sd15").contains("sd21").contains("sdxl").contains("sd3");
        assertThat(dir.resolve("x")).doesNotExist();
    }

    @Test
    void unknownScaleAndDtypeAreUsageErrors() {
        CliRun scale = CliRun.of("synth", "--family", "sd15", "--scale", "huge", "--out", dir.resolve("x").toString());
        assertThat(scale.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(scale.err()).contains("'huge'").contains("tiny").contains("small").contains("full");

        CliRun dtype = CliRun.of("synth", "--family", "sd15", "--scale", "tiny", "--dtype", "int8", "--out",
                dir.resolve("x").toString());
        assertThat(dtype.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(dtype.err()).contains("'int8'").contains("fp32, fp16");

        CliRun missing = CliRun.of("synth", "--family", "sd15", "--scale", "tiny");
        assertThat(missing.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(missing.err()).contains("--out");
    }

    @Test
    void unwritableOutputFolderIsNamed() throws IOException {
        Path file = Files.writeString(dir.resolve("file.txt"), "x");
        Path out = file.resolve("model");
        CliRun run = CliRun.of("synth", "--family", "sdxl", "--scale", "tiny", "--tokenizer", "bpe", "--out",
                out.toString());

        assertThat(run.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(run.errLines()).hasSize(1);
        assertThat(run.err()).startsWith("asyncdiff: error: ").contains(out.toAbsolutePath().toString());
    }

    @Test
    void sizesAreHumanReadable() {
        assertThat(SynthCommand.humanSize(512)).isEqualTo("512 B");
        assertThat(SynthCommand.humanSize(3L << 20)).isEqualTo("3.0 MiB");
        assertThat(SynthCommand.humanSize(5_400_000_000L)).isEqualTo("5.0 GiB");
    }
}
