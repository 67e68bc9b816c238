package dev.asyncdiff.onnx.graph.split;

import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.HostBufferPool;
import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.api.TensorSpec;
import dev.asyncdiff.onnx.graph.CacheLock;
import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import dev.asyncdiff.onnx.graph.OnnxWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Times every block-level unit of a denoiser on a real backend and device: each unit is cut out as a
 * component of its own (with the conditioning it needs), the chain is run once on seeded random
 * inputs to produce every unit's real inputs, then each unit runs a few warm-up times and all units
 * a few timed rounds in turn, and each unit's median is kept. The planner then balances these times
 * instead of its estimate.
 *
 * <p>Stateless; the sessions it opens are closed before it returns.
 */
final class Calibrator {
    private static final Logger LOG = LoggerFactory.getLogger(Calibrator.class);
    private static final float TIMESTEP = 500f;

    private Calibrator() {
    }

    /**
     * Measures the units of the model behind {@code graph}.
     *
     * @param loader  opens a component file on the target device; the sessions are closed here
     * @param target  what the units run on, e.g. {@code onnx on cpu:0}
     * @param workDir an empty scratch folder for the unit files, removed afterwards
     */
    static UnitCosts measure(GraphIndex graph, String hash, int latentHeight, int latentWidth, SplitOptions options,
                             Function<Path, InferenceSession> loader, String target, int warmUps, int timedRuns,
                             Path workDir) {
        SplitPlanner.Plan plan = SplitPlanner.perUnit(graph, latentHeight, latentWidth, options.withMeasured(null));
        List<ComponentBuilder.Built> units = ComponentBuilder.build(plan);
        List<Path> files = new ArrayList<>();
        try {
            Files.createDirectories(workDir);
            for (int u = 0; u < units.size(); u++) {
                ComponentBuilder.Built built = units.get(u);
                Path file = workDir.resolve("unit-" + u + ".onnx");
                OnnxWriter.write(built.skeleton(), built.initializers(), file, ExternalDataPolicy.AUTO);
                files.add(file);
            }
            double[] medians = timeChain(plan.analysis(), files, loader, warmUps, timedRuns);
            Map<String, Double> seconds = new LinkedHashMap<>();
            for (int u = 0; u < medians.length; u++) {
                seconds.put(plan.components().get(u).get(0).key(), medians[u]);
            }
            LOG.info("timed {} units of {} on {}: {} ms per step in all", seconds.size(), graph.model().file(), target,
                    String.format(java.util.Locale.ROOT, "%.2f", Arrays.stream(medians).sum() * 1e3));
            return new UnitCosts(hash, SplitPlanner.VERSION, latentHeight, latentWidth, target, seconds);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the units to time under " + workDir + ": " + e, e);
        } finally {
            deleteTree(workDir);
        }
    }

    /**
     * Runs {@code files} (components of the model behind {@code analysis}, in order) once as a chain on
     * seeded random inputs, so that each gets its real inputs, then times them: {@code warmUps} untimed
     * runs of each, then {@code timedRuns} rounds that run every file once in turn, and the median of each
     * file's runs. Round-robin, with every session open, so that a drift of the machine's speed while
     * timing (another process, the clock) weighs on every file alike instead of on the ones timed last.
     * Returns the median seconds per file.
     */
    static double[] timeChain(SplitPlanner.Analysis analysis, List<Path> files, Function<Path, InferenceSession> loader,
                              int warmUps, int timedRuns) {
        if (warmUps < 0 || timedRuns < 1) {
            throw new IllegalArgumentException("timing needs >= 0 warm-up runs and >= 1 timed run, was "
                    + warmUps + " and " + timedRuns);
        }
        Map<String, Tensor> available = new HashMap<>();
        List<InferenceSession> sessions = new ArrayList<>();
        // Outputs reuse pooled memory, as a worker's do: fresh zeroed buffers per run would add
        // allocation time that the denoising loop never pays, most to the smallest units.
        HostBufferPool outputs = new HostBufferPool(Device.CPU);
        try {
            SplittableRandom random = new SplittableRandom(0);
            for (String input : analysis.graph().inputs().keySet()) {
                available.put(input, randomInput(input, analysis.infos().get(input), random));
            }
            List<Map<String, Tensor>> inputs = new ArrayList<>();
            for (Path file : files) {
                InferenceSession session = loader.apply(file);
                sessions.add(session);
                Map<String, Tensor> feed = new LinkedHashMap<>();
                for (TensorSpec spec : session.inputs()) {
                    feed.put(spec.name(), available.get(spec.name()));
                }
                inputs.add(feed);
                try (NamedTensors first = session.run(feed)) {
                    for (String name : List.copyOf(first.names())) {
                        if (!available.containsKey(name)) {
                            available.put(name, first.take(name));
                        }
                    }
                }
                for (int run = 0; run < warmUps; run++) {
                    session.run(feed, outputs).close();
                }
            }
            double[][] times = new double[files.size()][timedRuns];
            for (int round = 0; round < timedRuns; round++) {
                for (int u = 0; u < files.size(); u++) {
                    long start = System.nanoTime();
                    sessions.get(u).run(inputs.get(u), outputs).close();
                    times[u][round] = (System.nanoTime() - start) / 1e9;
                }
            }
            double[] medians = new double[files.size()];
            for (int u = 0; u < files.size(); u++) {
                Arrays.sort(times[u]);
                medians[u] = times[u][timedRuns / 2];
                LOG.debug("{}: {} ms", files.get(u).getFileName(), medians[u] * 1e3);
            }
            return medians;
        } finally {
            sessions.forEach(InferenceSession::close);
            available.values().forEach(Tensor::close);
            outputs.close();
        }
    }

    /** Seeded Gaussian values for a floating-point input; {@value #TIMESTEP} for an integer one (a timestep). */
    private static Tensor randomInput(String name, ValueInfo info, SplittableRandom random) {
        if (info == null || !info.known()) {
            throw new IllegalStateException("the shape of input '" + name + "' is unknown; cannot time the units");
        }
        long count = info.elementCount();
        float[] values = new float[Math.toIntExact(count)];
        for (int i = 0; i < values.length; i++) {
            values[i] = info.dtype().isFloatingPoint() ? (float) nextGaussian(random) : TIMESTEP;
        }
        try (Tensor floats = Tensor.ofFloats(values, info.shape())) {
            return floats.to(info.dtype());
        }
    }

    private static double nextGaussian(SplittableRandom random) {
        double u = 1 - random.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.nextDouble());
    }

    private static void deleteTree(Path root) {
        try {
            CacheLock.deleteTree(root);
        } catch (UncheckedIOException e) {
            LOG.warn("could not remove {}: {}", root, e.getMessage());
        }
    }
}
