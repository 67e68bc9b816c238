package dev.asyncdiff.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.Images;
import dev.asyncdiff.synthetic.Family;
import dev.asyncdiff.synthetic.Scale;
import dev.asyncdiff.synthetic.SyntheticModels;
import dev.asyncdiff.synthetic.TokenizerKind;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PNG parameters that regenerate the image, and the rough edges of issue 20 in {@code generate} and {@code split}. */
class GenerateRoughEdgesTest {
    @TempDir
    static Path shared;
    private static Path sd15;

    @TempDir
    Path dir;

    @BeforeAll
    static void writeModel() {
        sd15 = SyntheticModels.write(Family.SD15, Scale.TINY, DType.FP32, 3, TokenizerKind.BPE,
                shared.resolve("sd15")).directory();
    }

    private static CliRun generate(String... args) {
        return CliRun.of(Stream.concat(Stream.of("generate", "--model", sd15.toString(), "--width", "64", "--height",
                "64"), Stream.of(args)).toArray(String[]::new));
    }

    private static String steps(Path png) {
        Matcher steps = Pattern.compile("Steps: (\\d+)").matcher(Images.readPngText(png, "parameters"));
        assertThat(steps.find()).isTrue();
        return steps.group(1);
    }

    @Test
    void pndmParametersRecordTheStepsAskedForAndRegenerateTheSameBytes() throws Exception {
        Path first = dir.resolve("first.png");
        CliRun run = generate("--prompt", "a boat", "--steps", "3", "--seed", "9", "--out", first.toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(steps(first)).as("SD 1.5's PNDM runs an extra PRK step; the parameters say what was asked")
                .isEqualTo("3");
        Path again = dir.resolve("again.png");
        CliRun rerun = generate("--prompt", "a boat", "--steps", steps(first), "--seed", "9", "--out", again.toString());
        assertThat(rerun.exitCode()).as(rerun.err()).isZero();
        assertThat(Files.readAllBytes(again)).as("the recorded parameters regenerate the same bytes")
                .isEqualTo(Files.readAllBytes(first));
    }

    @Test
    void imageToImageRecordsTheStepsAskedForNotTheStrengthTail() throws Exception {
        Path input = dir.resolve("in.png");
        Images.writePng(new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB), input, Map.of());
        Path out = dir.resolve("edit.png");
        CliRun run = generate("--prompt", "x", "--image", input.toString(), "--strength", "0.6", "--steps", "10",
                "--seed", "2", "--out", out.toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(steps(out)).isEqualTo("10");
        Path again = dir.resolve("edit-again.png");
        CliRun rerun = generate("--prompt", "x", "--image", input.toString(), "--strength", "0.6", "--steps",
                steps(out), "--seed", "2", "--out", again.toString());
        assertThat(rerun.exitCode()).as(rerun.err()).isZero();
        assertThat(Files.readAllBytes(again)).isEqualTo(Files.readAllBytes(out));
    }

    @Test
    void aStrengthThatRunsNoStepIsWarnedAbout() throws Exception {
        Path input = dir.resolve("in.png");
        Images.writePng(new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB), input, Map.of());
        PrintStream previous = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        CliRun run;
        try {
            System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
            run = generate("--prompt", "x", "--image", input.toString(), "--strength", "0.01", "--steps", "25",
                    "--out", dir.resolve("kept.png").toString());
        } finally {
            System.setErr(previous);
        }
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(captured.toString(StandardCharsets.UTF_8)).contains("runs no denoising step")
                .contains("raise the strength or the steps");
    }

    @Test
    void anUnknownSchedulerIsAUsageError() {
        CliRun run = generate("--prompt", "x", "--scheduler", "nope");
        assertThat(run.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(run.err()).contains("--scheduler").contains("'nope'").contains("ddim");
    }

    @Test
    void asyncWithOneComponentSaysSo() {
        CliRun run = generate("--prompt", "x", "--strategy", "async", "--model-n", "1", "--devices", "cpu:0,cpu:1");
        assertThat(run.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(run.err()).contains("--model-n 1 with --stride 1 does not split the denoiser")
                .doesNotContain("at least 2 devices");
    }

    @Test
    void jpegOutputIsJpeg() throws Exception {
        Path out = dir.resolve("x.jpg");
        CliRun run = generate("--prompt", "x", "--steps", "1", "--out", out.toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        byte[] bytes = Files.readAllBytes(out);
        assertThat(new byte[] {bytes[0], bytes[1]}).as("JPEG's SOI marker").containsExactly(0xFF, 0xD8);
        assertThat(Images.read(out).getWidth()).isEqualTo(64);
        CliRun gif = generate("--prompt", "x", "--out", dir.resolve("x.gif").toString());
        assertThat(gif.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(gif.err()).contains(".png, .jpg or .jpeg");
    }

    @Test
    void anOutputThatCannotBeWrittenIsRefusedBeforeGenerating() throws Exception {
        CliRun missing = generate("--prompt", "x", "--out", dir.resolve("absent/out.png").toString());
        assertThat(missing.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(missing.err()).contains("does not exist").doesNotContain("denoising");

        Path blocked = Files.createDirectories(dir.resolve("batch-1.png"));
        CliRun batch = generate("--prompt", "x", "--steps", "1", "--num-images", "2", "--out",
                dir.resolve("batch.png").toString());
        assertThat(batch.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(batch.err()).contains(blocked.toString()).contains("is a folder");
        assertThat(dir.resolve("batch-0.png")).as("all or nothing").doesNotExist();

        assumeFalse("root".equals(System.getProperty("user.name")), "root may write anywhere");
        Path readOnly = Files.createDirectories(dir.resolve("read-only"));
        assertThat(readOnly.toFile().setWritable(false, false)).isTrue();
        try {
            CliRun denied = generate("--prompt", "x", "--out", readOnly.resolve("out.png").toString());
            assertThat(denied.exitCode()).isEqualTo(ExitCodes.USAGE);
            assertThat(denied.err()).contains("permission denied");
        } finally {
            readOnly.toFile().setWritable(true, false);
        }
    }

    @Test
    void severalImagesAreWrittenTogetherWithoutTemporaryFiles() throws Exception {
        CliRun run = generate("--prompt", "x", "--steps", "1", "--num-images", "2", "--out",
                dir.resolve("pair.png").toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        List<String> names = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            files.forEach(f -> names.add(f.getFileName().toString()));
        }
        assertThat(names).contains("pair-0.png", "pair-1.png").noneMatch(n -> n.contains(".tmp-"));
    }

    @Test
    void splitAcceptsLowerCasePoliciesAndPreSplitFolders() {
        Path out = dir.resolve("split");
        CliRun split = CliRun.of("split", "--model", sd15.toString(), "--parts", "2", "--height", "64", "--width",
                "64", "--external-data", "auto", "--out", out.toString());
        assertThat(split.exitCode()).as(split.err()).isZero();
        CliRun presplit = CliRun.of("split", "--model", out.toString(), "--parts", "2");
        assertThat(presplit.exitCode()).as(presplit.err()).isZero();
        assertThat(presplit.out()).contains("pre-split folder " + out.toAbsolutePath()).contains("component 1");
    }
}
