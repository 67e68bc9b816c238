package dev.asyncdiff.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.asyncdiff.api.DenoiseRequest;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.api.ModelNotFoundException;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.api.ParallelStrategy;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.api.TensorSpec;
import dev.asyncdiff.backend.onnx.OnnxBackendProvider;
import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Times the denoising loop of a model folder's UNet under several configurations, side by side in
 * one run, with classifier-free guidance (batch 2) and the folder's own scheduler, and measures
 * what the engine adds per step over calling ONNX Runtime directly on the same model.
 */
public final class DenoiseBenchmark {
    private static final double GUIDANCE = 7.5;
    private static final int WARM_RUN_STEPS = 2;
    private static final int OVERHEAD_ROUNDS = 3;
    private static final int DEFAULT_SEQUENCE = 77;

    private final Path modelDir;
    private final Path unet;
    private final String schedulerJson;
    private final int latentHeight;
    private final int latentWidth;
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
     * A benchmark run.
     *
     * @param model           the model folder
     * @param steps           denoising steps per timed run
     * @param latentHeight    latent height
     * @param latentWidth     latent width
     * @param results         each configuration's time and speedup over the first
     * @param overheadPercent the engine's per-step time over direct ONNX Runtime calls, minus 1, in percent
     */
    public record Report(String model, int steps, int latentHeight, int latentWidth, List<Result> results,
                         double overheadPercent) {
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
            JsonNode sampleSize = new ObjectMapper().readTree(unet.resolveSibling("config.json").toFile()).get("sample_size");
            this.latentHeight = latentSize > 0 ? latentSize : sampleSize == null ? 64 : sampleSize.asInt(64);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the configs of " + modelDir + ": " + e.getMessage(), e);
        }
        this.latentWidth = latentHeight;
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
        log.accept("measuring engine overhead …");
        double overhead = overheadPercent(devices.get(0), steps);
        return new Report(modelDir.toAbsolutePath().toString(), steps, latentHeight, latentWidth, results, overhead);
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
        SplitOptions options = splitOptions(config, devices);
        DenoiserSource source = parts -> splitter.components(unet, parts, latentHeight, latentWidth, options);
        StrategyContext context = new StrategyContext(config.async(), source, backend, devices);
        return config.sequential() ? new SequentialStrategyProvider().create(context)
                : new AsyncStrategyProvider().create(context);
    }

    /** The split options of {@code config}: measured unit times (timed once, on the first device) for {@code c}. */
    private synchronized SplitOptions splitOptions(BenchConfig config, List<Device> devices) {
        SplitOptions options = SplitOptions.forDevices(devices);
        if (!config.calibrated()) {
            return options;
        }
        if (measured == null) {
            Device device = devices.get(0);
            try (Backend backend = backend(List.of(device), config.intraOpThreads())) {
                measured = splitter.calibrate(unet, latentHeight, latentWidth, options, file -> backend.load(file, device),
                        "onnx on " + device.kind().name().toLowerCase(Locale.ROOT), 3, 9);
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
            double[] seconds = splitter.timeComponents(split, options, file -> backend.load(file, device), 3, 9);
            return java.util.Arrays.stream(seconds).map(s -> s * 1e3).toArray();
        }
    }

    private static Backend backend(List<Device> devices, int intraOpThreads) {
        return new OnnxBackendProvider().open(new BackendOptions(devices,
                Map.of("intraOpThreads", Integer.toString(intraOpThreads))));
    }

    /** The engine's sequential loop against the same loop written directly over one ONNX Runtime session. */
    private double overheadPercent(Device device, int steps) {
        BenchConfig sequential = BenchConfig.parse("sequential");
        try (Backend backend = backend(List.of(device), 1);
             ParallelStrategy strategy = strategy(sequential, backend, List.of(device));
             InferenceSession session = backend.load(unet, device)) {
            denoise(strategy, WARM_RUN_STEPS);
            directLoop(session, WARM_RUN_STEPS);
            double engine = Double.MAX_VALUE;
            double direct = Double.MAX_VALUE;
            for (int round = 0; round < OVERHEAD_ROUNDS; round++) {
                long start = System.nanoTime();
                denoise(strategy, steps);
                engine = Math.min(engine, System.nanoTime() - start);
                start = System.nanoTime();
                directLoop(session, steps);
                direct = Math.min(direct, System.nanoTime() - start);
            }
            return 100 * (engine / direct - 1);
        }
    }

    private void denoise(ParallelStrategy strategy, int steps) {
        try (Inputs inputs = new Inputs(steps)) {
            strategy.denoise(new DenoiseRequest(inputs.scheduler, inputs.latents, inputs.conditioning, GUIDANCE,
                    new SplittableRandom(1), null, null)).close();
        }
    }

    /** What the engine does per step, without workers: scale, double the batch, run, guide, step. */
    private void directLoop(InferenceSession session, int steps) {
        try (Inputs inputs = new Inputs(steps)) {
            Tensor latents = inputs.latents.to(inputs.latents.dtype());
            for (double t : inputs.scheduler.timesteps()) {
                Map<String, Tensor> feed = new LinkedHashMap<>(inputs.conditioning);
                try (Tensor scaled = inputs.scheduler.scaleModelInput(latents, t);
                     Tensor doubled = LatentOps.doubleBatch(scaled);
                     Tensor timestep = Tensor.scalar((float) t)) {
                    feed.put("sample", doubled);
                    feed.put("timestep", timestep);
                    try (NamedTensors out = session.run(feed);
                         Tensor guided = LatentOps.guide(out.get(session.outputs().get(0).name()), GUIDANCE)) {
                        Tensor next = inputs.scheduler.step(guided, t, latents, inputs.rng);
                        latents.close();
                        latents = next;
                    }
                }
            }
            latents.close();
        }
    }

    /** Seeded noise, random text conditioning for every other UNet input, and a fresh scheduler. */
    private final class Inputs implements AutoCloseable {
        final NoiseScheduler scheduler = Samplers.fromConfig(schedulerJson);
        final SplittableRandom rng = new SplittableRandom(7);
        final Tensor latents;
        final Map<String, Tensor> conditioning = new LinkedHashMap<>();

        Inputs(int steps) {
            scheduler.setTimesteps(steps);
            long channels = unetInputs().stream().filter(spec -> spec.name().equals("sample"))
                    .mapToLong(spec -> spec.shape()[1]).findFirst().orElse(4);
            latents = gaussian(rng, scheduler.initNoiseSigma(), 1, channels, latentHeight, latentWidth);
            for (TensorSpec spec : unetInputs()) {
                if (!spec.name().equals("sample") && !spec.name().equals("timestep")) {
                    long[] shape = spec.shape();
                    for (int i = 0; i < shape.length; i++) {
                        shape[i] = shape[i] >= 0 ? shape[i] : i == 0 ? 2 : DEFAULT_SEQUENCE;
                    }
                    conditioning.put(spec.name(), gaussian(rng, 1, shape));
                }
            }
        }

        @Override
        public void close() {
            latents.close();
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
