package dev.asyncdiff.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.asyncdiff.adapters.sd.ModelFolder;
import dev.asyncdiff.api.ComponentFile;
import dev.asyncdiff.api.DenoiseRequest;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.Guidance;
import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.api.ModelNotFoundException;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.api.ParallelStrategy;
import dev.asyncdiff.api.StepInputs;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.api.TensorSpec;
import dev.asyncdiff.backend.onnx.OnnxBackendProvider;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import dev.asyncdiff.onnx.graph.split.SplitManifest;
import dev.asyncdiff.spi.Communicator;
import dev.asyncdiff.spi.CommunicatorProvider;
import dev.asyncdiff.onnx.graph.split.GraphSplitter;
import dev.asyncdiff.onnx.graph.split.SplitOptions;
import dev.asyncdiff.onnx.graph.split.SplitResult;
import dev.asyncdiff.onnx.graph.split.UnitCosts;
import dev.asyncdiff.samplers.Samplers;
import dev.asyncdiff.scheduler.async.AsyncStrategyProvider;
import dev.asyncdiff.scheduler.async.LatentOps;
import dev.asyncdiff.scheduler.async.SequentialStrategyProvider;
import dev.asyncdiff.spi.Backend;
import dev.asyncdiff.spi.BackendOptions;
import dev.asyncdiff.spi.DenoiserSource;
import dev.asyncdiff.spi.StrategyContext;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;

/**
 * Times the denoising loop of a model folder's UNet under several configurations, side by side in
 * one run, with classifier-free guidance (batch 2, or its halves on two device groups for the
 * CFG-parallel {@code cfg2} forms) and the folder's own scheduler, and measures what the engine adds
 * over calling ONNX Runtime directly on the same model, sequentially and for AsyncDiff n2s1.
 */
public final class DenoiseBenchmark {
    private static final double GUIDANCE = 7.5;
    private static final int WARM_RUN_STEPS = 2;
    private static final int OVERHEAD_ROUNDS = 5;
    private static final int DEFAULT_SEQUENCE = 77;

    private final Path modelDir;
    private final Path unet;
    private final Map<String, long[]> inputShapes;
    private final String schedulerJson;
    private final int latentHeight;
    private final int latentWidth;
    /** The UNet's {@code out_channels} from its config, 0 when it does not say. */
    private final int outChannels;
    private final GraphSplitter splitter = new GraphSplitter();
    private UnitCosts measured;

    /**
     * One configuration's time.
     *
     * @param componentMillis for a split configuration, each component timed alone on the first device
     *                        (batch 1, median of a few runs); empty for sequential ones
     */
    public record Result(String config, int devices, double seconds, double speedup, double[] componentMillis) {
        /** The slowest component over the fastest, minus 1, in percent (0 without components). */
        public double imbalancePercent() {
            if (componentMillis.length < 2) {
                return 0;
            }
            double max = java.util.Arrays.stream(componentMillis).max().orElse(0);
            double min = java.util.Arrays.stream(componentMillis).min().orElse(0);
            return min > 0 ? 100 * (max / min - 1) : 0;
        }
    }

    /**
     * What the engine adds over the same loop written directly against ONNX Runtime, from rounds that
     * each time one engine loop and then one direct loop back to back (so drift in the machine's speed
     * hits both alike): the median of the rounds' overheads and their spread.
     *
     * @param config        the configuration measured ({@code sequential} or {@code n2s1})
     * @param medianPercent the median over rounds of (engine time / direct time − 1), in percent
     * @param minPercent    the smallest round's overhead
     * @param maxPercent    the largest round's overhead
     * @param rounds        the number of rounds
     */
    public record Overhead(String config, double medianPercent, double minPercent, double maxPercent, int rounds) {
    }

    /**
     * A benchmark run.
     *
     * @param model           the model folder
     * @param steps           denoising steps per timed run
     * @param latentHeight    latent height
     * @param latentWidth     latent width
     * @param results         each configuration's time and speedup over the first
     * @param overheadPercent the sequential engine's median overhead over direct ONNX Runtime calls, in percent
     * @param overheads       the overhead with its spread, for {@code sequential} and (with two devices) {@code n2s1}
     */
    public record Report(String model, int steps, int latentHeight, int latentWidth, List<Result> results,
                         double overheadPercent, List<Overhead> overheads) {
    }

    /**
     * A benchmark of the folder's {@code unet/model.onnx} at the latent size of its config's {@code sample_size}.
     *
     * @throws ModelNotFoundException when the folder has no UNet or scheduler config
     */
    public DenoiseBenchmark(Path modelDir) {
        this(modelDir, 0);
    }

    /**
     * A benchmark of the folder's {@code unet/model.onnx} with square latents of {@code latentSize}
     * (0: the config's {@code sample_size}).
     *
     * @throws ModelNotFoundException when the folder has no UNet or scheduler config
     */
    public DenoiseBenchmark(Path modelDir, int latentSize) {
        this.modelDir = modelDir;
        this.unet = GraphSplitter.denoiserFile(modelDir);
        Path schedulerConfig = modelDir.resolve("scheduler/scheduler_config.json");
        if (!Files.isRegularFile(schedulerConfig)) {
            throw new ModelNotFoundException(schedulerConfig, "scheduler config");
        }
        try {
            this.schedulerJson = Files.readString(schedulerConfig);
            JsonNode config = new ObjectMapper().readTree(unet.resolveSibling("config.json").toFile());
            JsonNode sampleSize = config.get("sample_size");
            this.latentHeight = latentSize > 0 ? latentSize : sampleSize == null ? 64 : sampleSize.asInt(64);
            this.outChannels = config.path("out_channels").asInt(0);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the configs of " + modelDir + ": " + e.getMessage(), e);
        }
        this.latentWidth = latentHeight;
        this.inputShapes = ModelFolder.open(modelDir).denoiserInputShapes(latentHeight, latentWidth);
    }

    /**
     * Times each configuration once after an untimed warm run (repeats take the fastest), the first
     * configuration being the baseline of the speedups.
     *
     * @param log told what is being timed
     * @throws IllegalArgumentException when a configuration needs more devices than given
     */
    public Report run(List<Device> devices, int steps, List<BenchConfig> configs, int repeats, Consumer<String> log) {
        if (steps < 1 || repeats < 1) {
            throw new IllegalArgumentException("steps and repeats must be >= 1, were " + steps + " and " + repeats);
        }
        for (BenchConfig config : configs) {
            if (config.devices() > devices.size()) {
                throw new IllegalArgumentException("configuration " + config.name() + " needs " + config.devices()
                        + " devices, --devices gives " + devices.size() + " " + devices);
            }
        }
        List<Result> results = new ArrayList<>();
        double baseline = 0;
        for (BenchConfig config : configs) {
            log.accept("timing " + config.name() + " …");
            double seconds = time(config, devices.subList(0, config.devices()), steps, repeats);
            if (results.isEmpty()) {
                baseline = seconds;
            }
            double[] components = config.sequential() ? new double[0] : componentMillis(config, devices.get(0));
            results.add(new Result(config.name(), config.devices(), seconds, baseline / seconds, components));
        }
        List<Overhead> overheads = new ArrayList<>();
        log.accept("measuring engine overhead (sequential, " + OVERHEAD_ROUNDS + " interleaved rounds) …");
        overheads.add(overhead(BenchConfig.parse("sequential"), devices.subList(0, 1), steps));
        if (devices.size() >= 2) {
            log.accept("measuring engine overhead (n2s1, " + OVERHEAD_ROUNDS + " interleaved rounds) …");
            overheads.add(overhead(BenchConfig.parse("n2s1"), devices.subList(0, 2), steps));
        }
        if (devices.size() >= 2 && configs.stream().anyMatch(config -> config.guidanceGroups() == 2)) {
            log.accept("measuring engine overhead (cfg2, " + OVERHEAD_ROUNDS + " interleaved rounds) …");
            overheads.add(overhead(BenchConfig.parse("cfg2"), devices.subList(0, 2), steps));
        }
        return new Report(modelDir.toAbsolutePath().toString(), steps, latentHeight, latentWidth, results,
                overheads.get(0).medianPercent(), overheads);
    }

    private double time(BenchConfig config, List<Device> devices, int steps, int repeats) {
        try (Prepared prepared = prepare(config, devices)) {
            prepared.denoise(WARM_RUN_STEPS);
            double best = Double.MAX_VALUE;
            for (int r = 0; r < repeats; r++) {
                long start = System.nanoTime();
                prepared.denoise(steps);
                best = Math.min(best, (System.nanoTime() - start) / 1e9);
            }
            return best;
        }
    }

    /**
     * n2s1 with rank 1 in another process (over {@code remote}, e.g. {@code grpc}, whose world of 2 ranks is
     * already started) against n2s1 with both ranks in this one, in {@code rounds} interleaved rounds of
     * {@code steps} steps after {@code warmUpRounds} untimed ones (a few hundred messages pass before both JVMs'
     * JIT has compiled the transport); medians, with the bytes the transport moved per step against the plan's
     * estimate.
     */
    public Transport transport(CommunicatorProvider remote, List<Device> devices, int steps, int rounds,
                               int warmUpRounds, Consumer<String> log) {
        if (devices.size() != 2 || rounds < 1 || steps < 2 || warmUpRounds < 0) {
            throw new IllegalArgumentException("the transport benchmark runs n2s1 on 2 devices, >= 1 round of >= 2 "
                    + "steps after >= 0 warm-up rounds; got " + devices + ", " + rounds + " rounds, " + steps
                    + " steps, " + warmUpRounds + " warm-up rounds");
        }
        BenchConfig config = BenchConfig.parse("n2s1");
        log.accept("joining the " + remote.name() + " world and loading n2s1 on it and in process …");
        Communicator world = remote.create(devices);
        try (Backend backend = backend(devices, 1);
             ParallelStrategy local = strategy(config, backend, devices, null);
             ParallelStrategy distributed = strategy(config, backend, devices, remote)) {
            denoise(local, WARM_RUN_STEPS);
            denoise(distributed, WARM_RUN_STEPS);
            for (int r = 0; r < warmUpRounds; r++) {
                log.accept("warm-up round " + (r + 1) + " of " + warmUpRounds + " …");
                denoise(local, steps);
                denoise(distributed, steps);
            }
            double[] inProcess = new double[rounds];
            double[] overTransport = new double[rounds];
            long bytes = 0;
            for (int r = 0; r < rounds; r++) {
                log.accept("round " + (r + 1) + " of " + rounds + " …");
                long start = System.nanoTime();
                denoise(local, steps);
                inProcess[r] = (System.nanoTime() - start) / 1e6 / steps;
                long before = world.bytesTransferred();
                start = System.nanoTime();
                denoise(distributed, steps);
                overTransport[r] = (System.nanoTime() - start) / 1e6 / steps;
                bytes += world.bytesTransferred() - before;
                log.accept(String.format(Locale.ROOT, "round %d of %d: in process %.2f ms/step, over %s "
                        + "%.2f ms/step", r + 1, rounds, inProcess[r], remote.name(), overTransport[r]));
            }
            double localMillis = median(inProcess);
            double remoteMillis = median(overTransport);
            double[] paired = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                paired[r] = 100 * (overTransport[r] / inProcess[r] - 1);
            }
            SplitManifest.Component second = splitter.split(unet, 2, latentHeight, latentWidth, null,
                    ExternalDataPolicy.AUTO, splitOptions(config, devices)).manifest().components().get(1);
            long prediction = (long) outChannels * latentHeight * latentWidth * DType.FP32.byteSize();
            double planned = 2.0 * (second.receiveBytes() + prediction);
            return new Transport(remote.name(), localMillis, remoteMillis, median(paired),
                    Arrays.stream(paired).min().orElseThrow(), Arrays.stream(paired).max().orElseThrow(),
                    (double) bytes / rounds / steps, planned, rounds, steps, warmUpRounds);
        } finally {
            world.close();
        }
    }

    /**
     * What {@link #transport} measured, per step: the medians in process and over the transport; the transport's
     * overhead of each round against the in-process run just before it (paired, so that a machine that drifts
     * slower or faster during the benchmark moves both alike), its median and spread; the bytes the transport
     * moved (sent and received by rank 0: all of it with 2 ranks) and the plan's estimate of them in a parallel
     * step (component 1's received tensors and the prediction, at the guidance batch of 2); the untimed rounds
     * before (a new world's first few hundred steps cost more while the JIT compiles the transport).
     */
    public record Transport(String communicator, double inProcessMillis, double transportMillis,
                            double overheadPercent, double minOverheadPercent, double maxOverheadPercent,
                            double bytesPerStep, double plannedBytesPerStep, int rounds, int steps,
                            int warmUpRounds) {
        /** The median overhead in milliseconds per step: {@link #overheadPercent} of the in-process median. */
        public double overheadMillis() {
            return inProcessMillis * overheadPercent / 100;
        }
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /** Opens the backend and loads the strategy of {@code config} on {@code devices}; the caller closes it. */
    public Prepared prepare(BenchConfig config, List<Device> devices) {
        Backend backend = backend(devices, config.intraOpThreads());
        try {
            return new Prepared(backend, strategy(config, backend, devices));
        } catch (RuntimeException e) {
            backend.close();
            throw e;
        }
    }

    /** A loaded configuration, ready to run denoising loops. */
    public final class Prepared implements AutoCloseable {
        private final Backend backend;
        private final ParallelStrategy strategy;

        private Prepared(Backend backend, ParallelStrategy strategy) {
            this.backend = backend;
            this.strategy = strategy;
        }

        /** Runs a denoising loop of {@code steps} steps. */
        public void denoise(int steps) {
            DenoiseBenchmark.this.denoise(strategy, steps);
        }

        @Override
        public void close() {
            strategy.close();
            backend.close();
        }
    }

    private ParallelStrategy strategy(BenchConfig config, Backend backend, List<Device> devices) {
        return strategy(config, backend, devices, null);
    }

    private ParallelStrategy strategy(BenchConfig config, Backend backend, List<Device> devices,
                                      CommunicatorProvider communicator) {
        List<Device> group = devices.subList(0, devices.size() / config.guidanceGroups());
        SplitOptions options = splitOptions(config, group);
        DenoiserSource source = parts -> splitter.components(unet, parts, latentHeight, latentWidth, options);
        StrategyContext context = new StrategyContext(config.async(), source, backend, devices,
                config.guidanceGroups(), communicator);
        return config.sequential() ? new SequentialStrategyProvider().create(context)
                : new AsyncStrategyProvider().create(context);
    }

    /** The split options of {@code config}: measured unit times (timed once, on the first device) for {@code c}. */
    private synchronized SplitOptions splitOptions(BenchConfig config, List<Device> devices) {
        SplitOptions options = SplitOptions.forDevices(devices).withInputShapes(inputShapes);
        if (!config.calibrated()) {
            return options;
        }
        if (measured == null) {
            Device device = devices.get(0);
            try (Backend backend = backend(List.of(device), config.intraOpThreads())) {
                measured = splitter.calibrate(unet, latentHeight, latentWidth, options, file -> backend.load(file, device),
                        backend.timingProfile(device), 3, 9);
            }
        }
        return options.withMeasured(measured);
    }

    /** Each component of {@code config}'s split timed alone on {@code device}, in milliseconds. */
    private double[] componentMillis(BenchConfig config, Device device) {
        SplitOptions options = splitOptions(config, List.of(device));
        SplitResult split = splitter.split(unet, config.async().modelN(), latentHeight, latentWidth, null,
                ExternalDataPolicy.AUTO, options);
        try (Backend backend = backend(List.of(device), config.intraOpThreads())) {
            double[] seconds = splitter.timeComponents(unet, split, options, file -> backend.load(file, device), 3, 9);
            return java.util.Arrays.stream(seconds).map(s -> s * 1e3).toArray();
        }
    }

    private static Backend backend(List<Device> devices, int intraOpThreads) {
        return new OnnxBackendProvider().open(new BackendOptions(devices,
                Map.of("intraOpThreads", Integer.toString(intraOpThreads))));
    }

    /**
     * The engine against the same loop written directly over ONNX Runtime sessions (for n2s1: the two
     * components on two plain threads, the warm-up step in order; for cfg2: the whole UNet on each
     * device, one half of the guidance batch each, on two plain threads), in interleaved rounds.
     */
    private Overhead overhead(BenchConfig config, List<Device> devices, int steps) {
        boolean cfgParallel = config.guidanceGroups() == 2;
        int parts = cfgParallel ? 2 : config.async().modelN();
        List<ComponentFile> files = parts == 1 || cfgParallel ? List.of()
                : splitter.components(unet, parts, latentHeight, latentWidth, splitOptions(config, devices));
        List<InferenceSession> sessions = new ArrayList<>();
        ExecutorService threads = Executors.newFixedThreadPool(parts);
        DirectLoop direct = cfgParallel ? (warmUp, n) -> directCfgParallelLoop(sessions, threads, n)
                : (warmUp, n) -> directLoop(sessions, threads, warmUp, n);
        try (Backend backend = backend(devices, 1);
             ParallelStrategy strategy = strategy(config, backend, devices);
             AutoCloseable closeSessions = () -> sessions.forEach(InferenceSession::close)) {
            for (int i = 0; i < parts; i++) {
                sessions.add(backend.load(files.isEmpty() ? unet : files.get(i).file(), devices.get(i)));
            }
            denoise(strategy, WARM_RUN_STEPS);
            direct.run(config.async().warmUp(), WARM_RUN_STEPS);
            double[] percents = new double[OVERHEAD_ROUNDS];
            for (int round = 0; round < OVERHEAD_ROUNDS; round++) {
                long start = System.nanoTime();
                denoise(strategy, steps);
                double engine = System.nanoTime() - start;
                start = System.nanoTime();
                direct.run(config.async().warmUp(), steps);
                double directNanos = System.nanoTime() - start;
                percents[round] = 100 * (engine / directNanos - 1);
            }
            double[] sorted = percents.clone();
            Arrays.sort(sorted);
            return new Overhead(config.name(), sorted[sorted.length / 2], sorted[0], sorted[sorted.length - 1],
                    OVERHEAD_ROUNDS);
        } catch (Exception e) {
            throw e instanceof RuntimeException runtime ? runtime : new IllegalStateException(e);
        } finally {
            threads.shutdownNow();
        }
    }

    private void denoise(ParallelStrategy strategy, int steps) {
        try (Inputs inputs = new Inputs(steps)) {
            strategy.denoise(new DenoiseRequest(inputs.scheduler, inputs.latents, inputs.conditioning,
                    Guidance.of(GUIDANCE), inputs.stepInputs(), new SplittableRandom(1), null, null, null)).close();
        }
    }

    /**
     * What the engine does per step, without workers, ranks or pools: scale, double the batch, run the
     * components (after {@code warmUp} sequential steps, all at once on {@code threads}, each but the
     * first reading the previous step's outputs of the earlier ones), guide, step.
     */
    private void directLoop(List<InferenceSession> sessions, ExecutorService threads, int warmUp, int steps) {
        try (Inputs inputs = new Inputs(steps)) {
            Tensor latents = inputs.latents.to(inputs.latents.dtype());
            Map<String, Tensor> previous = new HashMap<>();
            List<NamedTensors> previousSets = new ArrayList<>();
            double[] timesteps = inputs.scheduler.timesteps();
            for (int k = 0; k < timesteps.length; k++) {
                double t = timesteps[k];
                try (Tensor scaled = inputs.scheduler.scaleModelInput(latents, t);
                     Tensor input = inputs.modelInput(scaled);
                     Tensor doubled = LatentOps.doubleBatch(input);
                     Tensor timestep = Tensor.scalar((float) t)) {
                    List<NamedTensors> produced = new ArrayList<>();
                    Map<String, Tensor> current = new HashMap<>();
                    if (k < warmUp || sessions.size() == 1) {
                        for (InferenceSession session : sessions) {
                            NamedTensors out = session.run(feed(session, doubled, timestep, inputs.conditioning, current));
                            produced.add(out);
                            current.putAll(out.asMap());
                        }
                    } else {
                        List<Future<NamedTensors>> running = new ArrayList<>();
                        for (InferenceSession session : sessions) {
                            Map<String, Tensor> feed = feed(session, doubled, timestep, inputs.conditioning, previous);
                            running.add(threads.submit(() -> session.run(feed)));
                        }
                        for (Future<NamedTensors> future : running) {
                            produced.add(join(future));
                        }
                        produced.forEach(out -> current.putAll(out.asMap()));
                    }
                    Tensor prediction = produced.get(produced.size() - 1).get(
                            sessions.get(sessions.size() - 1).outputs().get(0).name());
                    try (Tensor guided = LatentOps.guide(prediction, GUIDANCE)) {
                        Tensor next = inputs.scheduler.step(guided, t, latents, inputs.rng);
                        latents.close();
                        latents = next;
                    }
                    previousSets.forEach(NamedTensors::close);
                    previousSets = produced;
                    previous = current;
                }
            }
            previousSets.forEach(NamedTensors::close);
            latents.close();
        }
    }

    /** A denoising loop written directly over sessions: {@code warmUp} sequential steps of {@code steps}. */
    @FunctionalInterface
    private interface DirectLoop {
        void run(int warmUp, int steps);
    }

    /**
     * CFG-parallel without the engine: each step runs the whole UNet on both sessions at once, the
     * unconditional half of the conditioning on the first and the conditional half on the second, then
     * joins the two predictions, guides and steps.
     */
    private void directCfgParallelLoop(List<InferenceSession> sessions, ExecutorService threads, int steps) {
        try (Inputs inputs = new Inputs(steps)) {
            List<Map<String, Tensor>> halves = new ArrayList<>();
            for (int half = 0; half < 2; half++) {
                Map<String, Tensor> conditioning = new HashMap<>();
                for (Map.Entry<String, Tensor> entry : inputs.conditioning.entrySet()) {
                    conditioning.put(entry.getKey(), entry.getValue().batchSlice(half, 1));
                }
                halves.add(conditioning);
            }
            Tensor latents = inputs.latents.to(inputs.latents.dtype());
            for (double t : inputs.scheduler.timesteps()) {
                try (Tensor scaled = inputs.scheduler.scaleModelInput(latents, t);
                     Tensor input = inputs.modelInput(scaled);
                     Tensor timestep = Tensor.scalar((float) t)) {
                    List<Future<NamedTensors>> running = new ArrayList<>();
                    for (int half = 0; half < 2; half++) {
                        InferenceSession session = sessions.get(half);
                        Map<String, Tensor> feed = feed(session, input, timestep, halves.get(half), Map.of());
                        running.add(threads.submit(() -> session.run(feed)));
                    }
                    List<NamedTensors> produced = new ArrayList<>();
                    for (Future<NamedTensors> future : running) {
                        produced.add(join(future));
                    }
                    String output = sessions.get(0).outputs().get(0).name();
                    try (Tensor prediction = LatentOps.concatBatch(List.of(produced.get(0).get(output),
                            produced.get(1).get(output)));
                         Tensor guided = LatentOps.guide(prediction, GUIDANCE)) {
                        Tensor next = inputs.scheduler.step(guided, t, latents, inputs.rng);
                        latents.close();
                        latents = next;
                    }
                    produced.forEach(NamedTensors::close);
                }
            }
            latents.close();
        }
    }

    /** The denoiser's latent input: a UNet's {@code sample}, a transformer's {@code hidden_states}. */
    private static boolean isLatent(String input) {
        return input.equals("sample") || input.equals("hidden_states");
    }

    private static Map<String, Tensor> feed(InferenceSession session, Tensor sample, Tensor timestep,
                                            Map<String, Tensor> conditioning, Map<String, Tensor> crossing) {
        Map<String, Tensor> feed = new LinkedHashMap<>();
        for (TensorSpec spec : session.inputs()) {
            String name = spec.name();
            feed.put(name, isLatent(name) ? sample : name.equals("timestep") ? timestep
                    : crossing.containsKey(name) ? crossing.get(name) : conditioning.get(name));
        }
        return feed;
    }

    private static NamedTensors join(Future<NamedTensors> future) {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.util.concurrent.CancellationException("interrupted while measuring the overhead");
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException runtime ? runtime
                    : new IllegalStateException("a direct component run failed: " + e.getCause(), e.getCause());
        }
    }

    /**
     * Seeded noise, random text conditioning for every other UNet input, and a fresh scheduler. A UNet that
     * takes more channels than it predicts (inpainting: 9 in, 4 out) gets the extra ones (random stand-ins for
     * the mask and the masked image's latents) concatenated to the latents every step, as its pipeline does.
     */
    private final class Inputs implements AutoCloseable {
        final NoiseScheduler scheduler = Samplers.fromConfig(schedulerJson);
        final SplittableRandom rng = new SplittableRandom(7);
        final Tensor latents;
        final Tensor extraChannels;
        final Map<String, Tensor> conditioning = new LinkedHashMap<>();

        Inputs(int steps) {
            scheduler.setTimesteps(steps);
            long channels = unetInputs().stream().filter(spec -> isLatent(spec.name()))
                    .mapToLong(spec -> inputShapes.containsKey(spec.name()) ? inputShapes.get(spec.name())[1]
                            : spec.shape()[1]).filter(c -> c > 0).findFirst().orElse(4);
            long predicted = outChannels > 0 && outChannels < channels ? outChannels : channels;
            latents = gaussian(rng, scheduler.initNoiseSigma(), 1, predicted, latentHeight, latentWidth);
            extraChannels = predicted < channels ? gaussian(rng, 1, 1, channels - predicted, latentHeight, latentWidth)
                    : null;
            for (TensorSpec spec : unetInputs()) {
                if (!isLatent(spec.name()) && !spec.name().equals("timestep")) {
                    long[] known = inputShapes.get(spec.name());
                    long[] shape = known != null ? known.clone() : spec.shape();
                    for (int i = 0; i < shape.length; i++) {
                        shape[i] = i == 0 ? 2 : shape[i] >= 0 ? shape[i] : DEFAULT_SEQUENCE;
                    }
                    conditioning.put(spec.name(), spec.dtype().isFloatingPoint() ? gaussian(rng, 1, shape)
                            : classLabels(shape));
                }
            }
        }

        /** The UNet's latent input for {@code scaled}: a copy, with the extra channels where the UNet takes them. */
        Tensor modelInput(Tensor scaled) {
            if (extraChannels == null) {
                return scaled.to(scaled.dtype());
            }
            long[] shape = scaled.shape();
            int plane = (int) (shape[2] * shape[3]);
            int own = (int) shape[1] * plane;
            int extra = (int) extraChannels.elementCount();
            float[] values = scaled.toFloatArray();
            float[] appended = extraChannels.toFloatArray();
            float[] out = new float[(int) shape[0] * (own + extra)];
            for (int image = 0; image < shape[0]; image++) {
                System.arraycopy(values, image * own, out, image * (own + extra), own);
                System.arraycopy(appended, 0, out, image * (own + extra) + own, extra);
            }
            return Tensor.ofFloats(out, shape[0], shape[1] + extraChannels.dim(1), shape[2], shape[3]);
        }

        /** The engine's per-step hook doing {@link #modelInput}, or null when the UNet takes the latents alone. */
        StepInputs stepInputs() {
            return extraChannels == null ? null
                    : (step, scaled) -> new NamedTensors().put(StepInputs.SAMPLE, modelInput(scaled));
        }

        @Override
        public void close() {
            latents.close();
            if (extraChannels != null) {
                extraChannels.close();
            }
            conditioning.values().forEach(Tensor::close);
        }
    }

    private List<TensorSpec> unetSpecs;

    private synchronized List<TensorSpec> unetInputs() {
        if (unetSpecs == null) {
            try (Backend backend = backend(List.of(Device.CPU), 1);
                 InferenceSession session = backend.load(unet, Device.CPU)) {
                unetSpecs = session.inputs();
            }
        }
        return unetSpecs;
    }

    /** An integer input (the x4 upscaler's {@code class_labels}): its default noise level everywhere. */
    private static Tensor classLabels(long... shape) {
        long count = 1;
        for (long dim : shape) {
            count *= dim;
        }
        long[] values = new long[Math.toIntExact(count)];
        java.util.Arrays.fill(values, dev.asyncdiff.api.GenerationRequest.DEFAULT_NOISE_LEVEL);
        return Tensor.ofLongs(values, shape);
    }

    private static Tensor gaussian(SplittableRandom rng, double scale, long... shape) {
        long count = 1;
        for (long dim : shape) {
            count *= dim;
        }
        float[] values = new float[Math.toIntExact(count)];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (rng.nextGaussian() * scale);
        }
        return Tensor.ofFloats(values, shape);
    }
}
