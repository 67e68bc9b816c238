package dev.asyncdiff.backend.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * ONNX Runtime 1.29 crashed the JVM (exit 139) while creating its environment when the command line held an
 * argument over ~4,000 characters; the backend now creates it on a large-stack thread. Each case starts a
 * real JVM, since the crash depends on the process's own command line.
 */
class LongCommandLineTest {
    private static final long LIMIT_SECONDS = 120;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} characters")
    @ValueSource(ints = {10_000, 60_000, 120_000})
    void aLongArgumentDoesNotCrashTheEnvironment(int length) throws Exception {
        Path model = TestModels.write(dir, "linear.onnx", TestModels.linearRelu());
        String argument = "a lighthouse at dawn ".repeat(length / 21 + 1).substring(0, length);
        Process process = startJava(LongCommandLineMain.class.getName(), model.toString(), argument);
        assertThat(process.waitFor(LIMIT_SECONDS, TimeUnit.SECONDS)).as("finished within %d s", LIMIT_SECONDS).isTrue();
        String output = Files.readString(dir.resolve("output.txt"), StandardCharsets.UTF_8);
        assertThat(process.exitValue()).as("exit code (139 is the crash); output:%n%s", output).isZero();
        assertThat(output).contains("loaded 1 input(s); argument of " + length + " characters");
    }

    private Process startJava(String mainClass, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), mainClass));
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(dir.resolve("output.txt").toFile()).start();
    }
}
