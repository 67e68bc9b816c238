package dev.asyncdiff.bench;

import dev.asyncdiff.api.DiffusionPipeline;
import dev.asyncdiff.api.GenerationRequest;
import dev.asyncdiff.engine.Engine;
import dev.asyncdiff.spi.AsyncDiffRuntime;
import dev.asyncdiff.spi.RuntimeConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Native memory across pipelines: {@code cycles} times open a pipeline, generate one image, close it, and record
 * the process's resident set size (RSS, from {@code /proc/self/status}) and the used heap after each cycle.
 *
 * <p>Why: a long-running service opens and closes pipelines; sessions, environments and buffers that were not
 * released would show as RSS growing cycle after cycle while the heap stays flat. glibc's per-thread malloc arenas
 * also keep freed native memory, which shows the same way; {@code MALLOC_ARENA_MAX=2} tells the two apart (see the
 * README's troubleshooting section).
 */
public final class SoakBenchmark {
    private final Path model;
    private final RuntimeConfig config;
    private final int steps;
    private final int size;
    private final Path splitCache;

    /**
     * @param model      an SD folder
     * @param config     backend and devices
     * @param steps      denoising steps per image (>= 1)
     * @param size       square image size, a multiple of 8
     * @param splitCache where denoiser splits are cached
     */
    public SoakBenchmark(Path model, RuntimeConfig config, int steps, int size, Path splitCache) {
        if (steps < 1 || size <= 0 || size % 8 != 0) {
            throw new IllegalArgumentException("soak needs steps >= 1 and a size that is a positive multiple of 8, got "
                    + steps + " steps and size " + size);
        }
        this.model = model;
        this.config = config;
        this.steps = steps;
        this.size = size;
        this.splitCache = splitCache;
    }

    /**
     * What the cycles measured.
     *
     * @param startRssBytes RSS before the first cycle (-1 where the platform does not say)
     * @param rssBytes      RSS after each cycle (-1 each where the platform does not say)
     * @param heapBytes     used heap after each cycle (after a GC request)
     */
    public record Report(long startRssBytes, List<Long> rssBytes, List<Long> heapBytes) {
        public Report {
            rssBytes = List.copyOf(rssBytes);
            heapBytes = List.copyOf(heapBytes);
        }

        /** The highest RSS after a cycle. */
        public long maxRssBytes() {
            return rssBytes.stream().mapToLong(Long::longValue).max().orElse(-1);
        }

        /** One line: cycles, RSS before, after the first, tenth and last cycle, the maximum, and the last heap. */
        public String summary() {
            int n = rssBytes.size();
            return String.format(Locale.ROOT, "soak %d cycles: RSS start %s, after cycle 1 %s, cycle %d %s, last %s, "
                    + "max %s; heap last %s", n, mib(startRssBytes), mib(rssBytes.get(0)), Math.min(10, n),
                    mib(rssBytes.get(Math.min(10, n) - 1)), mib(rssBytes.get(n - 1)), mib(maxRssBytes()),
                    mib(heapBytes.get(n - 1)));
        }
    }

    /** Runs {@code cycles} open → generate → close cycles, reporting each on {@code progress}. */
    public Report run(int cycles, Consumer<String> progress) {
        if (cycles < 1) {
            throw new IllegalArgumentException("soak needs at least one cycle, got " + cycles);
        }
        long start = rssBytes();
        List<Long> rss = new ArrayList<>(cycles);
        List<Long> heap = new ArrayList<>(cycles);
        for (int cycle = 1; cycle <= cycles; cycle++) {
            try (DiffusionPipeline pipeline = Engine.builder(AsyncDiffRuntime.create(config)).splitCache(splitCache)
                    .build().open(model)) {
                pipeline.generate(GenerationRequest.builder("a lighthouse at dawn").steps(steps).seed(cycle)
                        .size(size, size).build());
            }
            System.gc();
            Runtime runtime = Runtime.getRuntime();
            rss.add(rssBytes());
            heap.add(runtime.totalMemory() - runtime.freeMemory());
            if (cycle == 1 || cycle % 10 == 0 || cycle == cycles) {
                progress.accept(String.format(Locale.ROOT, "soak cycle %d/%d: RSS %s, heap %s", cycle, cycles,
                        mib(rss.get(cycle - 1)), mib(heap.get(cycle - 1))));
            }
        }
        return new Report(start, rss, heap);
    }

    /** This process's resident set size from {@code /proc/self/status}, or -1 where there is none. */
    public static long rssBytes() {
        Path status = Path.of("/proc/self/status");
        try {
            if (!Files.isReadable(status)) {
                return -1;
            }
            for (String line : Files.readAllLines(status)) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    private static String mib(long bytes) {
        return bytes < 0 ? "n/a" : String.format(Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024.0));
    }
}
