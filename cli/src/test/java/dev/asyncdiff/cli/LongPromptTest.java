package dev.asyncdiff.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.Images;
import dev.asyncdiff.synthetic.Family;
import dev.asyncdiff.synthetic.Scale;
import dev.asyncdiff.synthetic.SyntheticModels;
import dev.asyncdiff.synthetic.TokenizerKind;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Long prompts: ONNX Runtime 1.29 used to crash the JVM (exit 139, no message) when the command line held an
 * argument over ~4,000 characters. These start the CLI as a real process, since the crash depends on its own
 * command line; {@code --prompt-file} keeps long prompts off the command line altogether.
 */
class LongPromptTest {
    private static final long LIMIT_SECONDS = 180;
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

    static String words(int count) {
        String[] vocabulary = {"an", "illuminated", "lighthouse", "standing", "above", "shimmering", "water", "beneath",
            "luminous", "clouds", "painted", "golden", "morning", "atmosphere"};
        return IntStream.range(0, count).mapToObj(i -> vocabulary[i % vocabulary.length])
                .collect(Collectors.joining(" "));
    }

    @Test
    void aFiveHundredWordPromptOnTheCommandLineGenerates() throws Exception {
        String prompt = words(500);
        assertThat(prompt.length()).as("longer than the ~4,000 characters that crashed").isGreaterThan(4_000);
        assertGenerates("--prompt", prompt);
    }

    @Test
    void aTenThousandCharacterPromptOnTheCommandLineGenerates() throws Exception {
        String prompt = words(2_000).substring(0, 10_000);
        assertGenerates("--prompt", prompt);
    }

    @Test
    void aPromptFileGivesTheSameImageAsTheSamePromptOnTheCommandLine() throws Exception {
        String prompt = words(40);
        Path file = Files.writeString(dir.resolve("prompt.txt"), prompt + "\n", StandardCharsets.UTF_8);
        CliRun fromFile = CliRun.of("generate", "--model", sd15.toString(), "--prompt-file", file.toString(),
                "--steps", "2", "--width", "64", "--height", "64", "--seed", "5", "--out", dir.resolve("f.png").toString());
        CliRun inline = CliRun.of("generate", "--model", sd15.toString(), "--prompt", prompt,
                "--steps", "2", "--width", "64", "--height", "64", "--seed", "5", "--out", dir.resolve("i.png").toString());
        assertThat(fromFile.exitCode()).as(fromFile.err()).isZero();
        assertThat(inline.exitCode()).as(inline.err()).isZero();
        assertThat(Files.readAllBytes(dir.resolve("f.png"))).isEqualTo(Files.readAllBytes(dir.resolve("i.png")));

        Path tenThousand = Files.writeString(dir.resolve("long.txt"), words(2_000).substring(0, 10_000));
        CliRun longFile = CliRun.of("generate", "--model", sd15.toString(), "--prompt-file", tenThousand.toString(),
                "--steps", "1", "--width", "64", "--height", "64", "--out", dir.resolve("l.png").toString());
        assertThat(longFile.exitCode()).as(longFile.err()).isZero();
        assertThat(Images.readPngText(dir.resolve("l.png"), "parameters")).startsWith(words(12));
    }

    @Test
    void promptFlagsAreCheckedAsUsage() {
        CliRun none = CliRun.of("generate", "--model", sd15.toString());
        assertThat(none.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(none.err()).contains("--prompt TEXT or --prompt-file FILE");
        CliRun both = CliRun.of("generate", "--model", sd15.toString(), "--prompt", "x", "--prompt-file", "p.txt");
        assertThat(both.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(both.err()).contains("cannot both be given");
        CliRun missing = CliRun.of("generate", "--model", sd15.toString(), "--prompt-file",
                dir.resolve("absent.txt").toString());
        assertThat(missing.exitCode()).isEqualTo(ExitCodes.FAILURE);
        assertThat(missing.err()).contains("prompt file (--prompt-file) not found").contains("absent.txt");
    }

    private void assertGenerates(String... promptArgs) throws Exception {
        Path out = dir.resolve("long.png");
        String[] args = java.util.stream.Stream.concat(java.util.stream.Stream.of("generate", "--model",
                        sd15.toString(), "--steps", "1", "--width", "64", "--height", "64", "--out", out.toString()),
                java.util.Arrays.stream(promptArgs)).toArray(String[]::new);
        JavaProcess cli = JavaProcess.startCli(dir.resolve("cache"), dir.resolve("output.txt"), args);
        int exit = cli.exitCode(LIMIT_SECONDS);
        assertThat(exit).as("exit code (139 was the crash); output:%n%s", cli.output()).isZero();
        assertThat(out).isRegularFile();
        assertThat(cli.output()).contains("wrote " + out.toAbsolutePath());
    }
}
