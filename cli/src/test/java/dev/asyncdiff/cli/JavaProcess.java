package dev.asyncdiff.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The CLI started as a real process ({@code java -cp <test class path> dev.asyncdiff.cli.Main …}) with the cache
 * at a given folder, its stdout and stderr going to one file. For what only a separate JVM shows: crashes that
 * depend on the process's command line, and processes sharing a cache.
 */
final class JavaProcess {
    private final Process process;
    private final Path output;

    private JavaProcess(Process process, Path output) {
        this.process = process;
        this.output = output;
    }

    /** Starts {@code asyncdiff args…} with {@code $ASYNCDIFF_CACHE_DIR} (and the cache property) at {@code cache}. */
    static JavaProcess startCli(Path cache, Path output, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile());
        builder.environment().put("ASYNCDIFF_CACHE_DIR", cache.toString());
        return new JavaProcess(builder.start(), output);
    }

    /** Waits at most {@code seconds} for the exit code; a process still running then is killed and fails the call. */
    int exitCode(long seconds) throws IOException, InterruptedException {
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            throw new AssertionError("the process did not finish within " + seconds + " s; output:\n" + output());
        }
        return process.exitValue();
    }

    /** Kills the process at once (SIGKILL) and waits for it to go. */
    void kill() throws InterruptedException {
        process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** What it printed so far. */
    String output() throws IOException {
        return Files.readString(output, StandardCharsets.UTF_8);
    }
}
