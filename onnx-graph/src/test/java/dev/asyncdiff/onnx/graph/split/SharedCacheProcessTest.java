package dev.asyncdiff.onnx.graph.split;

import static org.assertj.core.api.Assertions.assertThat;

import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Processes sharing one split cache: started together on a never-split model, exactly one cuts it, the
 * others wait for its lock and reuse it, and every one runs the components it got (none sees a folder being
 * replaced). Each process is a real JVM; the whole test is bounded in time.
 */
class SharedCacheProcessTest {
    private static final int PROCESSES = 5;
    private static final long LIMIT_SECONDS = 180;

    @TempDir
    Path dir;

    @Test
    void processesSplittingTheSameModelTogetherCutItOnceAndAllRunIt() throws Exception {
        Path model = dir.resolve("unet/model.onnx");
        MiniUNet.build().write(model, ExternalDataPolicy.EXTERNAL);
        Path cache = dir.resolve("cache");
        Path go = dir.resolve("go");
        List<Process> processes = new ArrayList<>();
        List<Path> outputs = new ArrayList<>();
        for (int i = 0; i < PROCESSES; i++) {
            Path output = dir.resolve("output-" + i + ".txt");
            outputs.add(output);
            processes.add(new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), SharedCacheSplitMain.class.getName(),
                    model.toString(), cache.toString(), go.toString())
                    .redirectErrorStream(true).redirectOutput(output.toFile()).start());
        }
        Thread.sleep(2_000);   // let the JVMs start and load their classes, so they split at the same moment
        Files.createFile(go);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(LIMIT_SECONDS);
        int cut = 0;
        for (int i = 0; i < PROCESSES; i++) {
            Process process = processes.get(i);
            boolean finished = process.waitFor(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (!finished) {
                processes.forEach(Process::destroyForcibly);
            }
            String output = Files.readString(outputs.get(i), StandardCharsets.UTF_8);
            assertThat(finished).as("process %d finished in time; output:%n%s", i, output).isTrue();
            assertThat(process.exitValue()).as("process %d exit code; output:%n%s", i, output).isZero();
            assertThat(output).contains("ok ");
            cut += output.lines().anyMatch("cut"::equals) ? 1 : 0;
        }
        assertThat(cut).as("processes that cut the model (the others reuse its split)").isEqualTo(1);
        try (Stream<Path> entries = Files.list(cache)) {
            assertThat(entries.map(p -> p.getFileName().toString()).filter(n -> !n.endsWith(".lock")))
                    .as("one split folder and no temporary folders").hasSize(1).noneMatch(n -> n.contains(".tmp-"));
        }
    }
}
