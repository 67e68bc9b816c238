package dev.asyncdiff.bench;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.DiffusionPipeline;
import dev.asyncdiff.api.GenerationListener;
import dev.asyncdiff.api.GenerationPhase;
import dev.asyncdiff.api.GenerationRequest;
import dev.asyncdiff.api.GenerationResult;
import dev.asyncdiff.api.RequestKind;
import dev.asyncdiff.api.VideoOptions;
import dev.asyncdiff.engine.Engine;
import dev.asyncdiff.spi.AsyncDiffRuntime;
import dev.asyncdiff.spi.RuntimeConfig;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Times a video model (SVD or AnimateDiff) side by side in one run: the denoising phase sequential and under each
 * AsyncDiff configuration (the same clip, seed and steps, one intra-op thread per device, the fastest of the repeats
 * after an untimed warm run), and the decoding phase's peak memory for each decode chunk size. The peak is the
 * process's resident set (Linux {@code VmHWM}, reset through {@code /proc/self/clear_refs} when decoding starts) above
 * what was resident at that moment.
 */
public final class VideoBenchmark {
    private static final Path STATUS = Path.of("/proc/self/status");
    private static final Path CLEAR_REFS = Path.of("/proc/self/clear_refs");

    private final Path folder;
    private final int size;
    private final int frames;

    /** One denoising timing; {@code speedup} against the sequential run. */
    public record Timing(String config, double seconds, double speedup) {
    }

    /**
     * One decode: the chunk size (0: the whole clip), the decoding seconds and the peak resident bytes above those at
     * its start (-1 where the platform does not say).
     */
    public record Decode(int chunk, double seconds, long peakBytes) {
    }

    /** A benchmark of the video folder at {@code size}×{@code size} pixels and {@code frames} frames. */
    public VideoBenchmark(Path folder, int size, int frames) {
        this.folder = folder;
        this.size = size;
        this.frames = frames;
    }

    /** Times sequential and each of {@code configs} on {@code devices}. */
    public List<Timing> time(List<Device> devices, int steps, List<AsyncConfig> configs, int repeats,
                             Consumer<String> log) {
        List<AsyncConfig> all = new ArrayList<>(List.of(AsyncConfig.SEQUENTIAL));
        all.addAll(configs);
        List<Timing> out = new ArrayList<>();
        try (DiffusionPipeline pipeline = open(devices)) {
            double sequential = 0;
            for (AsyncConfig config : all) {
                String name = ControlNetBenchmark.name(config);
                log.accept("timing " + name);
                pipeline.setAsyncConfig(config);
                pipeline.generate(request(pipeline, 2, 0, GenerationListener.NONE));
                double best = Double.POSITIVE_INFINITY;
                for (int r = 0; r < Math.max(1, repeats); r++) {
                    GenerationResult result = pipeline.generate(request(pipeline, steps, 0, GenerationListener.NONE));
                    best = Math.min(best, result.timings().denoising().toNanos() / 1e9);
                }
                if (out.isEmpty()) {
                    sequential = best;
                }
                out.add(new Timing(name, best, sequential / best));
            }
        }
        return out;
    }

    /**
     * Decodes the clip once per chunk size (0: whole), each with a fresh pipeline, smallest chunks first: memory the
     * runtime's allocator keeps after a larger decode would otherwise hide a smaller one's peak.
     */
    public List<Decode> decode(List<Device> devices, List<Integer> chunks, Consumer<String> log) {
        List<Decode> out = new ArrayList<>();
        List<Integer> ordered = chunks.stream().sorted(Comparator.comparingInt(c -> c == 0 ? Integer.MAX_VALUE : c))
                .toList();
        for (int chunk : ordered) {
            try (DiffusionPipeline pipeline = open(devices)) {
                log.accept("decoding with chunk " + (chunk == 0 ? "whole clip" : chunk));
                long[] residentAtStart = {-1};
                GenerationListener listener = new GenerationListener() {
                    @Override
                    public void onPhase(GenerationPhase phase) {
                        if (phase == GenerationPhase.DECODE) {
                            residentAtStart[0] = resetPeak() ? statusBytes("VmRSS:") : -1;
                        }
                    }
                };
                GenerationResult result = pipeline.generate(request(pipeline, 1, chunk, listener));
                long peak = residentAtStart[0] < 0 ? -1 : statusBytes("VmHWM:") - residentAtStart[0];
                out.add(new Decode(chunk, result.timings().decoding().toNanos() / 1e9, peak));
            }
        }
        return out;
    }

    private DiffusionPipeline open(List<Device> devices) {
        AsyncDiffRuntime runtime = AsyncDiffRuntime.create(RuntimeConfig.builder().devices(devices)
                .option("intraOpThreads", "1").build());
        return Engine.create(runtime).open(folder);
    }

    private GenerationRequest request(DiffusionPipeline pipeline, int steps, int chunk, GenerationListener listener) {
        VideoOptions options = VideoOptions.DEFAULT.withFrames(frames).withDecodeChunkSize(chunk);
        GenerationRequest.Builder request = GenerationRequest.builder("a sailing boat on a lake at dawn").steps(steps)
                .seed(5).size(size, size).listener(listener);
        return (pipeline.requestKinds().contains(RequestKind.IMAGE_TO_VIDEO)
                ? request.imageToVideo(still(size), options) : request.textToVideo(options)).build();
    }

    private static BufferedImage still(int size) {
        BufferedImage image = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                boolean disc = Math.hypot(x - size / 2.0, y - size / 2.0) < size / 4.0;
                image.setRGB(x, y, disc ? 0xF0D060 : ((x * 255 / size) << 16) | (y * 255 / size));
            }
        }
        return image;
    }

    /** Resets the peak resident set to the current one; false where the platform cannot. */
    private static boolean resetPeak() {
        try {
            Files.writeString(CLEAR_REFS, "5");
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** A {@code kB} field of {@code /proc/self/status} in bytes, or -1. */
    private static long statusBytes(String field) {
        try {
            for (String line : Files.readAllLines(STATUS)) {
                if (line.startsWith(field)) {
                    return Long.parseLong(line.substring(field.length()).trim().split("\\s+")[0]) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    /** The timings and decodes as Markdown tables. */
    public static String tables(List<Timing> timings, List<Decode> decodes) {
        StringBuilder text = new StringBuilder("| config | denoise s | speedup |\n|---|---|---|\n");
        for (Timing t : timings) {
            text.append(String.format(Locale.ROOT, "| %s | %.2f | %.2f× |%n", t.config(), t.seconds(), t.speedup()));
        }
        text.append("\n| decode chunk | decode s | peak memory above start |\n|---|---|---|\n");
        for (Decode d : decodes) {
            text.append(String.format(Locale.ROOT, "| %s | %.2f | %s |%n", d.chunk() == 0 ? "whole clip" : d.chunk(),
                    d.seconds(), d.peakBytes() < 0 ? "n/a" : String.format(Locale.ROOT, "%.1f MiB",
                            d.peakBytes() / (1024.0 * 1024.0))));
        }
        return text.toString();
    }
}
