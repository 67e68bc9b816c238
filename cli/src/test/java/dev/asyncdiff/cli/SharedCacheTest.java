package dev.asyncdiff.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs sharing a cache, as real concurrent processes: the README's {@code generate} started twice at once on a
 * fresh cache, and a run killed while it writes the synthetic model. Bounded in time.
 */
class SharedCacheTest {
    private static final long LIMIT_SECONDS = 240;
    private static final String[] GENERATE = {"generate", "--prompt", "a lighthouse at dawn", "--steps", "2",
        "--width", "64", "--height", "64", "--seed", "3"};

    @TempDir
    Path dir;
    private String previousCache;

    @BeforeEach
    void rememberCache() {
        previousCache = System.getProperty(CachedModels.CACHE_PROPERTY);
    }

    @AfterEach
    void restoreCache() {
        if (previousCache == null) {
            System.clearProperty(CachedModels.CACHE_PROPERTY);
        } else {
            System.setProperty(CachedModels.CACHE_PROPERTY, previousCache);
        }
    }

    private static String[] generate(Path out, String... more) {
        return Stream.concat(Stream.of(GENERATE), Stream.concat(Stream.of("--out", out.toString()), Stream.of(more)))
                .toArray(String[]::new);
    }

    @Test
    void twoGenerateRunsStartedTogetherOnAFreshCacheBothSucceed() throws Exception {
        Path cache = dir.resolve("cache");
        JavaProcess first = JavaProcess.startCli(cache, dir.resolve("first.txt"), generate(dir.resolve("a.png"),
                "--devices", "cpu:0,cpu:1", "--strategy", "async", "--model-n", "2"));
        JavaProcess second = JavaProcess.startCli(cache, dir.resolve("second.txt"), generate(dir.resolve("b.png"),
                "--devices", "cpu:0,cpu:1", "--strategy", "async", "--model-n", "2"));
        int firstExit = first.exitCode(LIMIT_SECONDS);
        int secondExit = second.exitCode(LIMIT_SECONDS);
        assertThat(firstExit).as("first run; output:%n%s", first.output()).isZero();
        assertThat(secondExit).as("second run; output:%n%s", second.output()).isZero();
        assertThat(Files.readAllBytes(dir.resolve("a.png"))).isEqualTo(Files.readAllBytes(dir.resolve("b.png")));
        long writers = Stream.of(first.output(), second.output()).filter(o -> o.contains("writing the synthetic"))
                .count();
        assertThat(writers).as("runs that wrote the synthetic model (the other waited and reused it)").isEqualTo(1);
        assertThat(entries(cache.resolve("models"))).as("one model folder, no temporary folder")
                .containsExactly("sd21-tiny");
        assertThat(entries(cache.resolve("splits"))).as("one split folder, no temporary folder").hasSize(1)
                .noneMatch(name -> name.contains(".tmp-"));
    }

    @Test
    void aRunKilledWhileItWritesTheModelLeavesNothingTheNextRunKeeps() throws Exception {
        Path cache = dir.resolve("cache");
        JavaProcess killed = JavaProcess.startCli(cache, dir.resolve("killed.txt"), generate(dir.resolve("k.png")));
        Path models = cache.resolve("models");
        long deadline = System.nanoTime() + LIMIT_SECONDS * 1_000_000_000L;
        while (staging(models).isEmpty() && killed.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        killed.kill();
        List<String> left = staging(models);
        assertThat(left).as("the killed run was writing; output:%n%s", killed.output()).isNotEmpty();

        System.setProperty(CachedModels.CACHE_PROPERTY, cache.toString());
        CliRun next = CliRun.of(generate(dir.resolve("next.png")));
        assertThat(next.exitCode()).as(next.err()).isZero();
        assertThat(entries(models)).as("the abandoned staging folder %s is gone", left).containsExactly("sd21-tiny");
    }

    private static List<String> staging(Path models) throws Exception {
        return entries(models).stream().filter(name -> name.contains(".tmp-")).toList();
    }

    private static List<String> entries(Path folder) throws Exception {
        if (!Files.isDirectory(folder)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(folder)) {
            return entries.map(p -> p.getFileName().toString()).filter(n -> !n.endsWith(".lock")).sorted().toList();
        }
    }
}
