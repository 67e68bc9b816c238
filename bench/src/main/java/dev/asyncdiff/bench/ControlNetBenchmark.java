package dev.asyncdiff.bench;

import dev.asyncdiff.adapters.controlnet.ControlNets;
import dev.asyncdiff.adapters.sd.ModelFolder;
import dev.asyncdiff.adapters.sd.StableDiffusionPipeline;
import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.ControlImage;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.GenerationRequest;
import dev.asyncdiff.api.GenerationResult;
import dev.asyncdiff.engine.Engine;
import dev.asyncdiff.spi.AsyncDiffRuntime;
import dev.asyncdiff.spi.PipelineContext;
import dev.asyncdiff.spi.RuntimeConfig;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Times ControlNet generation's denoising phase with the ControlNets {@link ControlNets.Placement#SEPARATE separate}
 * (whole, every step, before the split UNet, as the original AsyncDiff runs them) and
 * {@link ControlNets.Placement#MERGED merged} into the UNet graph (their cost split over the devices with it),
 * sequential and with AsyncDiff, side by side in one run: the same prompt, seed, control image and steps, one
 * intra-op thread per device, the fastest of the repeats after an untimed warm run.
 */
public final class ControlNetBenchmark {
    private final Path base;
    private final List<Path> controlNets;
    private final int size;

    /**
     * One timing: the placement, the AsyncDiff configuration and the denoising seconds.
     *
     * @param speedup against the sequential run of the same placement
     * @param versusSeparate against the same configuration with the ControlNets separate
     */
    public record Result(ControlNets.Placement placement, String config, double seconds, double speedup,
                         double versusSeparate) {
    }

    /** A benchmark of {@code base} with {@code controlNets} at {@code size}×{@code size} pixels. */
    public ControlNetBenchmark(Path base, List<Path> controlNets, int size) {
        if (controlNets.isEmpty()) {
            throw new IllegalArgumentException("the ControlNet benchmark needs at least one ControlNet");
        }
        this.base = base;
        this.controlNets = List.copyOf(controlNets);
        this.size = size;
    }

    /**
     * Times sequential and each of {@code configs} for both placements on {@code devices}.
     *
     * @throws IllegalArgumentException when a configuration needs more devices than given
     */
    public List<Result> run(List<Device> devices, int steps, List<AsyncConfig> configs, int repeats,
                            Consumer<String> log) {
        List<AsyncConfig> all = new ArrayList<>(List.of(AsyncConfig.SEQUENTIAL));
        all.addAll(configs);
        List<Result> results = new ArrayList<>();
        double[] separate = new double[all.size()];
        for (ControlNets.Placement placement : List.of(ControlNets.Placement.SEPARATE, ControlNets.Placement.MERGED)) {
            double sequential = 0;
            for (int c = 0; c < all.size(); c++) {
                AsyncConfig config = all.get(c);
                log.accept("timing " + placement.id() + " " + name(config));
                double seconds = time(devices, config, placement, steps, repeats);
                if (c == 0) {
                    sequential = seconds;
                }
                if (placement == ControlNets.Placement.SEPARATE) {
                    separate[c] = seconds;
                }
                results.add(new Result(placement, name(config), seconds, sequential / seconds, separate[c] / seconds));
            }
        }
        return results;
    }

    private double time(List<Device> devices, AsyncConfig config, ControlNets.Placement placement, int steps,
                        int repeats) {
        AsyncDiffRuntime runtime = AsyncDiffRuntime.create(RuntimeConfig.builder().devices(devices)
                .option("intraOpThreads", "1").build());
        PipelineContext context = Engine.create(runtime).context();
        ControlNets nets;
        try {
            nets = ControlNets.open(ModelFolder.open(base), controlNets, placement, context);
        } catch (RuntimeException e) {
            context.close();
            throw e;
        }
        StableDiffusionPipeline pipeline;
        try {
            pipeline = StableDiffusionPipeline.open(base, context, nets);
        } catch (RuntimeException e) {
            nets.close();
            context.close();
            throw e;
        }
        try (pipeline) {
            pipeline.setAsyncConfig(config);
            pipeline.generate(request(2));
            double best = Double.POSITIVE_INFINITY;
            for (int r = 0; r < Math.max(1, repeats); r++) {
                GenerationResult result = pipeline.generate(request(steps));
                best = Math.min(best, result.timings().denoising().toNanos() / 1e9);
            }
            return best;
        }
    }

    private GenerationRequest request(int steps) {
        GenerationRequest.Builder request = GenerationRequest.builder("a lighthouse at dawn").steps(steps).seed(5)
                .size(size, size).guidanceScale(7.5);
        for (int j = 0; j < controlNets.size(); j++) {
            request.control(ControlImage.of(pattern(size)));
        }
        return request.build();
    }

    /** A white ring and bars on black: an edge map's structure. */
    private static BufferedImage pattern(int size) {
        BufferedImage image = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                double r = Math.hypot(x - size / 2.0, y - size / 2.0);
                boolean white = Math.abs(r - size / 4.0) < 2 || x % (size / 4) == 0;
                image.setRGB(x, y, white ? 0xFFFFFF : 0);
            }
        }
        return image;
    }

    /** {@code sequential} or {@code nNsS}. */
    static String name(AsyncConfig config) {
        return config.modelN() == 1 && config.stride() == 1 ? "sequential"
                : String.format(Locale.ROOT, "n%ds%d", config.modelN(), config.stride());
    }

    /** The results as a Markdown table. */
    public static String table(List<Result> results) {
        StringBuilder text = new StringBuilder("| ControlNet placement | config | denoise s | speedup | vs separate |\n"
                + "|---|---|---|---|---|\n");
        for (Result r : results) {
            text.append(String.format(Locale.ROOT, "| %s | %s | %.2f | %.2f× | %.2f× |%n", r.placement().id(),
                    r.config(), r.seconds(), r.speedup(), r.versusSeparate()));
        }
        return text.toString();
    }
}
