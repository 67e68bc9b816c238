package dev.asyncdiff.tck;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.DiffusionPipeline;
import dev.asyncdiff.api.PipelineOutput;
import dev.asyncdiff.api.TextToImageRequest;
import dev.asyncdiff.engine.Engine;
import dev.asyncdiff.spi.AsyncDiffRuntime;
import dev.asyncdiff.spi.ModelAdapterProvider;
import dev.asyncdiff.spi.PipelineContext;
import dev.asyncdiff.spi.ProviderCatalog;
import dev.asyncdiff.spi.ProviderRegistry;
import dev.asyncdiff.spi.RuntimeConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs the {@link Check}s against an adapter and a model folder: opens the adapter's pipeline on
 * CPU devices through a backend, generates with the sequential baseline and with asynchronous
 * configurations, and compares. Not thread-safe; one kit per subject.
 */
public final class CompatibilityKit {
    /** Logical CPU devices the kit places components on: enough for N = 4 with stride 2. */
    static final int DEVICES = 5;
    private static final int MAX_N = 4;
    private static final long SEED = 1234;
    private static final String PROMPT = "a lighthouse on a cliff at dawn, oil painting";
    /** The guidance scale generations use unless the subject sets one. */
    public static final double DEFAULT_GUIDANCE = 5.0;
    private static final long FAILURE_TIMEOUT_SECONDS = 120;

    /**
     * What the kit checks.
     *
     * @param adapter     the adapter provider's name, or null for the first adapter that supports the folder
     * @param modelFolder a model folder the adapter opens
     * @param tolerances  the adapter's declared tolerances
     * @param steps       denoising steps per generation (&ge; 4)
     * @param size        image width and height in pixels, or 0 for the model's default
     * @param backend     the backend provider's name, e.g. {@code onnx}
     * @param guidance    the guidance scale of every generation ({@code 1} for models without guidance)
     */
    public record Subject(String adapter, Path modelFolder, Tolerances tolerances, int steps, int size, String backend,
                          double guidance) {
        /** A subject generating at {@link #DEFAULT_GUIDANCE}. */
        public Subject(String adapter, Path modelFolder, Tolerances tolerances, int steps, int size, String backend) {
            this(adapter, modelFolder, tolerances, steps, size, backend, DEFAULT_GUIDANCE);
        }

        public Subject {
            if (!(guidance >= 0) || !Double.isFinite(guidance)) {
                throw new IllegalArgumentException("the kit's guidance scale must be a finite number >= 0, was "
                        + guidance);
            }
            if (modelFolder == null || tolerances == null || backend == null) {
                throw new IllegalArgumentException("a kit subject needs a model folder, tolerances and a backend");
            }
            if (steps < 4) {
                throw new IllegalArgumentException("the kit needs at least 4 steps to see warm-up and strides, was "
                        + steps);
            }
        }
    }

    private final Subject subject;
    private final ModelAdapterProvider adapter;
    private final ProviderCatalog catalog;
    private final Map<String, Outputs> cache = new HashMap<>();

    private record Outputs(float[] latents, float[] pixels) {
    }

    private CompatibilityKit(Subject subject, ModelAdapterProvider adapter, ProviderCatalog catalog) {
        this.subject = subject;
        this.adapter = adapter;
        this.catalog = catalog;
    }

    /**
     * A kit for {@code subject}, finding its adapter and backend on the class path.
     *
     * @throws IllegalArgumentException when the folder is missing, or no adapter or backend matches
     */
    public static CompatibilityKit create(Subject subject) {
        return create(subject, ProviderCatalog.load());
    }

    /**
     * A kit for {@code subject} with the providers of {@code catalog} (e.g. with plugin jars).
     *
     * @throws IllegalArgumentException when the folder is missing, or no adapter or backend matches
     */
    public static CompatibilityKit create(Subject subject, ProviderCatalog catalog) {
        if (!Files.isDirectory(subject.modelFolder())) {
            throw new IllegalArgumentException("model folder " + subject.modelFolder() + " does not exist");
        }
        ProviderRegistry<ModelAdapterProvider> adapters = catalog.adapters();
        ModelAdapterProvider adapter = subject.adapter() != null ? adapters.get(subject.adapter())
                : adapters.all().stream().filter(a -> a.supports(subject.modelFolder())).findFirst()
                        .orElseThrow(() -> new IllegalArgumentException("no adapter supports " + subject.modelFolder()
                                + "; adapters on the class path: " + adapters.names()));
        catalog.backends().get(subject.backend());
        return new CompatibilityKit(subject, adapter, catalog);
    }

    /** The adapter under test. */
    public String adapterName() {
        return adapter.name();
    }

    /** Runs every check in order. */
    public List<CheckResult> runAll() {
        List<CheckResult> results = new ArrayList<>();
        for (Check check : Check.values()) {
            results.add(run(check));
        }
        return results;
    }

    /** Runs one check; a failure is reported in the result, never thrown. */
    public CheckResult run(Check check) {
        Map<String, Object> figures = new LinkedHashMap<>();
        try {
            String summary = switch (check) {
                case SPLIT_EXACTNESS -> splitExactness(figures);
                case DEGENERATE_SCHEDULES -> degenerateSchedules(figures);
                case CLOSENESS -> closeness(figures);
                case DETERMINISM -> determinism(figures);
                case LIFECYCLE -> lifecycle(figures);
                case INPUT_VALIDATION -> inputValidation(figures);
            };
            return new CheckResult(check, CheckResult.Status.PASSED, summary, figures);
        } catch (AssertionError e) {
            return new CheckResult(check, CheckResult.Status.FAILED, e.getMessage(), figures);
        } catch (RuntimeException e) {
            return new CheckResult(check, CheckResult.Status.FAILED, "unexpected " + e.getClass().getSimpleName()
                    + ": " + e.getMessage(), figures);
        }
    }

    private String splitExactness(Map<String, Object> figures) {
        Outputs whole = generate(AsyncConfig.SEQUENTIAL, 1);
        for (int n = 2; n <= MAX_N; n++) {
            Outputs chained = generate(new AsyncConfig(n, 1, 1, false), 1);
            double error = Numerics.relativeL2(chained.latents(), whole.latents());
            figures.put("N=" + n + " relative L2 after one step", error);
            check(error <= subject.tolerances().splitRelativeL2(), String.format(Locale.ROOT,
                    "N=%d: the components chained in order differ from the whole denoiser after one step: relative L2 "
                            + "%.3g > tolerance %.3g (max |diff| %.3g); a tensor that should cross a cut (a skip "
                            + "connection?) is missing or wrong", n, error, subject.tolerances().splitRelativeL2(),
                    Numerics.maxAbsDiff(chained.latents(), whole.latents())));
        }
        return "components for N = 2.." + MAX_N + " reproduce the whole denoiser";
    }

    private String degenerateSchedules(Map<String, Object> figures) {
        int steps = subject.steps();
        // Samplers may step more timesteps than steps (PNDM n + 1, Heun 2n − 1): this warm-up covers them all.
        int everyStep = 2 * steps + 1;
        Outputs sequential = generate(AsyncConfig.SEQUENTIAL, steps);
        Outputs single = generate(AsyncConfig.of(1, 1, false), steps);
        check(Arrays.equals(single.latents(), sequential.latents()),
                "async with modelN = 1 differs from sequential: relative L2 "
                        + Numerics.relativeL2(single.latents(), sequential.latents()));
        for (int n = 2; n <= 3; n++) {
            Outputs chained = generate(new AsyncConfig(n, 1, everyStep, false), steps);
            Outputs strided = generate(new AsyncConfig(n, 2, everyStep, false), steps);
            check(Arrays.equals(strided.latents(), chained.latents()), "N=" + n
                    + ": with warm-up covering every step, stride 2 differs from stride 1: relative L2 "
                    + Numerics.relativeL2(strided.latents(), chained.latents()));
            double error = Numerics.relativeL2(chained.latents(), sequential.latents());
            figures.put("N=" + n + " warm-up over every step, relative L2 vs whole", error);
            check(error <= subject.tolerances().splitRelativeL2() * steps, String.format(Locale.ROOT,
                    "N=%d with warm-up over every step differs from sequential: relative L2 %.3g > %.3g", n, error,
                    subject.tolerances().splitRelativeL2() * steps));
        }
        return "N = 1 equals sequential bit for bit; warm-up >= steps equals the chained sequential run";
    }

    private String closeness(Map<String, Object> figures) {
        int steps = subject.steps();
        Outputs sequential = generate(AsyncConfig.SEQUENTIAL, steps);
        Tolerances tolerances = subject.tolerances();
        int laterWarmUp = Math.max(2, steps / 2);
        for (int n = 2; n <= MAX_N; n++) {
            for (int stride = 1; stride <= 2; stride++) {
                String name = "N=" + n + " stride=" + stride;
                Outputs early = generate(new AsyncConfig(n, stride, 1, false), steps);
                Outputs late = generate(new AsyncConfig(n, stride, laterWarmUp, false), steps);
                double error = Numerics.relativeL2(early.latents(), sequential.latents());
                double laterError = Numerics.relativeL2(late.latents(), sequential.latents());
                double psnr = Numerics.psnr(early.pixels(), sequential.pixels());
                figures.put(name + " relative L2 (warm-up 1)", error);
                figures.put(name + " relative L2 (warm-up " + laterWarmUp + ")", laterError);
                figures.put(name + " PSNR dB (warm-up 1)", psnr);
                check(error <= tolerances.maxRelativeL2(), String.format(Locale.ROOT,
                        "%s: final latents' relative L2 error %.4f against sequential exceeds the declared %.4f",
                        name, error, tolerances.maxRelativeL2()));
                check(psnr >= tolerances.minPsnrDb(), String.format(Locale.ROOT,
                        "%s: decoded images' PSNR %.2f dB against sequential is below the declared %.2f dB", name,
                        psnr, tolerances.minPsnrDb()));
                check(laterError <= error * (1 + 1e-6) + 1e-12, String.format(Locale.ROOT,
                        "%s: the error grows with warm-up: %.4f at warm-up 1, %.4f at warm-up %d", name, error,
                        laterError, laterWarmUp));
            }
        }
        return "N = 2.." + MAX_N + ", strides 1 and 2 within tolerances; errors shrink with warm-up";
    }

    private String determinism(Map<String, Object> figures) {
        List<AsyncConfig> configs = List.of(AsyncConfig.SEQUENTIAL, AsyncConfig.of(2, 1, false),
                AsyncConfig.of(2, 2, false), AsyncConfig.of(3, 1, true));
        try (Opened opened = open(DEVICES)) {
            for (AsyncConfig config : configs) {
                opened.pipeline.setAsyncConfig(config);
                Outputs first = opened.generate(subject.steps());
                Outputs second = opened.generate(subject.steps());
                check(Arrays.equals(first.latents(), second.latents()) && Arrays.equals(first.pixels(), second.pixels()),
                        config + ": the same seed gave different outputs (latents relative L2 "
                                + Numerics.relativeL2(second.latents(), first.latents()) + ")");
            }
        }
        figures.put("configurations", configs.size());
        return "identical bytes for the same seed under " + configs.size() + " configurations";
    }

    private String lifecycle(Map<String, Object> figures) {
        Set<Thread> before = new HashSet<>(Thread.getAllStackTraces().keySet());
        TrackingBackend tracking;
        try (Opened opened = open(DEVICES)) {
            tracking = opened.backend;
            opened.pipeline.setAsyncConfig(AsyncConfig.of(2, 1, false));
            opened.generate(subject.steps());
            String target = tracking.failDenoiserRun(2);
            figures.put("failing session", target);
            CompletableFuture<Outputs> failing = CompletableFuture.supplyAsync(() -> opened.generate(subject.steps()));
            Throwable failure;
            try {
                failing.get(FAILURE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
                throw new AssertionError("a generation whose denoiser component " + target
                        + " throws completed without an exception");
            } catch (TimeoutException e) {
                throw new AssertionError("a generation whose denoiser component " + target + " throws did not end within "
                        + FAILURE_TIMEOUT_SECONDS + " s (hang)");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting for the failing generation");
            } catch (java.util.concurrent.ExecutionException e) {
                failure = e.getCause();
            }
            check(causedBy(failure, TrackingBackend.InjectedFailure.class), "the generation failed, but the component's "
                    + "exception is not in the cause chain: " + failure);
            figures.put("surfaced as", failure.getClass().getName() + ": " + failure.getMessage());
        }
        List<String> open = tracking.openSessions();
        check(open.isEmpty(), "closing the pipeline left sessions open: " + open);
        List<String> threads = waitForThreadsToEnd(before);
        check(threads.isEmpty(), "closing the pipeline left threads running: " + threads);
        figures.put("sessions loaded and closed", tracking.loadedCount());
        return "a component failure surfaced as an exception; closing released every session and thread";
    }

    private String inputValidation(Map<String, Object> figures) {
        try (Opened opened = open(2)) {
            String tooFewDevices = expectIllegalArgument(() -> {
                opened.pipeline.setAsyncConfig(AsyncConfig.of(2, 2, false));
                opened.generate(subject.steps());
            });
            check(tooFewDevices.toLowerCase(Locale.ROOT).contains("device"), "stride 2 with N = 2 on 2 devices failed "
                    + "with a message that does not mention devices: " + tooFewDevices);
            figures.put("too few devices", tooFewDevices);
        }
        int many = 400;
        try (Opened opened = open(many)) {
            String tooManyParts = expectIllegalArgument(() -> {
                opened.pipeline.setAsyncConfig(new AsyncConfig(many, 1, 1, false));
                opened.generate(subject.steps());
            });
            check(tooManyParts.contains(Integer.toString(many)), "splitting into " + many
                    + " components failed with a message that does not say how many were asked for: " + tooManyParts);
            figures.put("more components than units", tooManyParts);
        }
        String steps = expectIllegalArgument(() -> new TextToImageRequest(PROMPT, "", 0, subject.guidance(), SEED, 0, 0));
        String stride = expectIllegalArgument(() -> new AsyncConfig(2, 3, 1, false));
        figures.put("zero steps", steps);
        figures.put("stride 3", stride);
        return "too few devices, too many components, zero steps and stride 3 fail with clear messages";
    }

    private static String expectIllegalArgument(Runnable action) {
        try {
            action.run();
        } catch (IllegalArgumentException e) {
            check(e.getMessage() != null && !e.getMessage().isBlank(), "an IllegalArgumentException without a message");
            return e.getMessage();
        }
        throw new AssertionError("an impossible configuration was accepted");
    }

    /** The generation of {@code config} at {@code steps} steps, on a pipeline of {@link #DEVICES} devices, memoised. */
    private Outputs generate(AsyncConfig config, int steps) {
        String key = config + "/" + steps;
        Outputs cached = cache.get(key);
        if (cached != null) {
            return cached;
        }
        try (Opened opened = open(DEVICES)) {
            opened.pipeline.setAsyncConfig(config);
            Outputs outputs = opened.generate(steps);
            cache.put(key, outputs);
            return outputs;
        }
    }

    private Opened open(int devices) {
        List<Device> list = new ArrayList<>();
        for (int i = 0; i < devices; i++) {
            list.add(Device.cpu(i));
        }
        AsyncDiffRuntime runtime = AsyncDiffRuntime.create(RuntimeConfig.builder().backend(subject.backend())
                .devices(list).build(), catalog);
        TrackingBackend tracking = new TrackingBackend(runtime.openBackend());
        PipelineContext context = Engine.create(runtime).context(tracking);
        try {
            return new Opened(tracking, adapter.open(subject.modelFolder(), context));
        } catch (RuntimeException e) {
            context.close();
            tracking.close();
            throw e;
        }
    }

    /** A pipeline on its tracking backend; closing closes both. */
    private final class Opened implements AutoCloseable {
        final TrackingBackend backend;
        final DiffusionPipeline pipeline;

        Opened(TrackingBackend backend, DiffusionPipeline pipeline) {
            this.backend = backend;
            this.pipeline = pipeline;
        }

        Outputs generate(int steps) {
            TextToImageRequest request = new TextToImageRequest(PROMPT, "", steps, subject.guidance(), SEED, subject.size(),
                    subject.size());
            try (PipelineOutput output = pipeline.run(request)) {
                return new Outputs(output.latents().toFloatArray(), output.pixels().toFloatArray());
            }
        }

        @Override
        public void close() {
            try {
                pipeline.close();
            } finally {
                backend.close();
            }
        }
    }

    /** The threads started since {@code before} that are still running after a grace period. */
    private static List<String> waitForThreadsToEnd(Set<Thread> before) {
        for (int attempt = 0; attempt < 100 && !newThreads(before).isEmpty(); attempt++) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return newThreads(before);
    }

    /** Live threads not in {@code before}: every non-daemon one, and the engine's workers even if daemons. */
    private static List<String> newThreads(Set<Thread> before) {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && !before.contains(t) && (!t.isDaemon() || t.getName().startsWith("asyncdiff-")))
                .map(Thread::getName).toList();
    }

    private static boolean causedBy(Throwable failure, Class<? extends Throwable> type) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
        }
        return false;
    }

    private static void check(boolean condition, String message) {
        if (!condition) {
            throw new AssertionError(message);
        }
    }
}
