package dev.asyncdiff.tck;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.AddOn;
import dev.asyncdiff.api.RequestKind;
import dev.asyncdiff.spi.ModelAdapterProvider;
import dev.asyncdiff.spi.ProviderCatalog;
import dev.asyncdiff.spi.ProviderRegistry;
import dev.asyncdiff.tck.KitRuns.Ask;
import dev.asyncdiff.tck.KitRuns.Opened;
import dev.asyncdiff.tck.KitRuns.Run;
import dev.asyncdiff.tck.Variant.Schedule;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs the {@link Check}s against an adapter and a model folder: opens the adapter's pipeline on
 * CPU devices through a backend, generates with the sequential baseline and with asynchronous
 * configurations for every request kind the pipeline serves, and compares. Not thread-safe; one kit per subject.
 */
public final class CompatibilityKit {
    /** Logical CPU devices the kit places components on: enough for N = 4 with stride 2. */
    static final int DEVICES = 5;
    /** The most components the kit splits into. */
    static final int MAX_N = 4;
    /** The guidance scale generations use unless the subject sets one. */
    public static final double DEFAULT_GUIDANCE = 5.0;
    /** The stochastic sampler the kit tries unless the subject names another (or none). */
    public static final String DEFAULT_STOCHASTIC_SAMPLER = "euler_a";
    /** The seed of the second sequential run, which gives the seed distance. */
    private static final long OTHER_SEED = KitRuns.SEED + 1000;
    /** The guidance identities hold up to rounding: this many split tolerances. */
    private static final double GUIDANCE_ROUNDING = 10;
    /** The first-order sampler the guidance check steps with, so that one step is affine in the prediction. */
    private static final String AFFINE_SAMPLER = "euler";
    /** Direct memory a run may leave behind (pools settle after the first runs): 256 KiB. */
    private static final long LEAK_ALLOWANCE_BYTES = 256 * 1024;
    private static final int LEAK_RUNS = 3;
    private static final long FAILURE_TIMEOUT_SECONDS = 120;

    /**
     * What the kit checks.
     *
     * @param adapter           the adapter provider's name, or null for the first adapter that supports the folder
     * @param modelFolder       a model folder the adapter opens
     * @param tolerances        the tolerances to hold the adapter to
     * @param steps             denoising steps per generation (&ge; 4)
     * @param size              image width and height in pixels, or 0 for the model's default
     * @param backend           the backend provider's name, e.g. {@code onnx}
     * @param guidance          the guidance scale of every generation ({@code 1} for models without guidance)
     * @param stochasticSampler a stochastic sampler to try with a fixed seed, or null for none
     * @param addOns            models opened with the folder (ControlNets: one control image each per request)
     */
    public record Subject(String adapter, Path modelFolder, Tolerances tolerances, int steps, int size, String backend,
                          double guidance, String stochasticSampler, List<AddOn> addOns) {
        /** A subject without add-on models. */
        public Subject(String adapter, Path modelFolder, Tolerances tolerances, int steps, int size, String backend,
                       double guidance, String stochasticSampler) {
            this(adapter, modelFolder, tolerances, steps, size, backend, guidance, stochasticSampler, List.of());
        }

        /** A subject trying {@link #DEFAULT_STOCHASTIC_SAMPLER}. */
        public Subject(String adapter, Path modelFolder, Tolerances tolerances, int steps, int size, String backend,
                       double guidance) {
            this(adapter, modelFolder, tolerances, steps, size, backend, guidance, DEFAULT_STOCHASTIC_SAMPLER);
        }

        /** A subject generating at {@link #DEFAULT_GUIDANCE}. */
        public Subject(String adapter, Path modelFolder, Tolerances tolerances, int steps, int size, String backend) {
            this(adapter, modelFolder, tolerances, steps, size, backend, DEFAULT_GUIDANCE);
        }

        public Subject {
            addOns = addOns == null ? List.of() : List.copyOf(addOns);
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

        /** The same subject opened with {@code models} (ControlNets …) besides its folder. */
        public Subject withAddOns(List<AddOn> models) {
            return new Subject(adapter, modelFolder, tolerances, steps, size, backend, guidance, stochasticSampler,
                    models);
        }
    }

    private final Subject subject;
    private final ModelAdapterProvider adapter;
    private final KitRuns runs;
    private List<Variant> variants;

    private CompatibilityKit(Subject subject, ModelAdapterProvider adapter, ProviderCatalog catalog) {
        this.subject = subject;
        this.adapter = adapter;
        this.runs = new KitRuns(subject, adapter, catalog);
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
                : adapters.all().stream().filter(a -> a.supports(subject.modelFolder(), subject.addOns())).findFirst()
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
        Map<String, List<Double>> curves = new LinkedHashMap<>();
        try {
            String summary = switch (check) {
                case SPLIT_EXACTNESS -> splitExactness(figures);
                case DEGENERATE_SCHEDULES -> degenerateSchedules(figures);
                case CLOSENESS -> closeness(figures, curves);
                case GUIDANCE -> guidance(figures);
                case PLACEMENT -> placement(figures);
                case DETERMINISM -> determinism(figures);
                case LIFECYCLE -> lifecycle(figures);
                case INPUT_VALIDATION -> inputValidation(figures);
            };
            return new CheckResult(check, CheckResult.Status.PASSED, summary, figures, curves);
        } catch (NotApplicable e) {
            return new CheckResult(check, CheckResult.Status.SKIPPED, e.getMessage(), figures, curves);
        } catch (AssertionError e) {
            return new CheckResult(check, CheckResult.Status.FAILED, e.getMessage(), figures, curves);
        } catch (RuntimeException e) {
            return new CheckResult(check, CheckResult.Status.FAILED, "unexpected " + e.getClass().getSimpleName()
                    + ": " + e.getMessage(), figures, curves);
        }
    }

    /** Thrown by a check that does not apply to the subject: the check is reported as skipped. */
    private static final class NotApplicable extends RuntimeException {
        private static final long serialVersionUID = 1L;

        NotApplicable(String reason) {
            super(reason, null, false, false);
        }
    }

    private String splitExactness(Map<String, Object> figures) {
        Ask oneStep = new Ask(KitRuns.SEED, 1, subject.guidance(), KitRuns.PROMPT, null, false);
        Run whole = runs.run(runs.primary(), AsyncConfig.SEQUENTIAL, oneStep);
        for (int n = 2; n <= MAX_N; n++) {
            Run chained = runs.run(runs.primary(), new AsyncConfig(n, 1, 1, false), oneStep);
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
        Ask usual = runs.usual();
        Run sequential = runs.run(runs.primary(), AsyncConfig.SEQUENTIAL, usual);
        Run single = runs.run(runs.primary(), AsyncConfig.of(1, 1, false), usual);
        check(Arrays.equals(single.latents(), sequential.latents()),
                "async with modelN = 1 differs from sequential: relative L2 "
                        + Numerics.relativeL2(single.latents(), sequential.latents()));
        int everyStep = everyStep(sequential);
        double bound = subject.tolerances().splitRelativeL2() * sequential.steps();
        for (int n = 2; n <= 3; n++) {
            Run chained = runs.run(runs.primary(), new AsyncConfig(n, 1, everyStep, false), usual);
            Run strided = runs.run(runs.primary(), new AsyncConfig(n, 2, everyStep, false), usual);
            check(Arrays.equals(strided.latents(), chained.latents()), "N=" + n
                    + ": with warm-up covering every step, stride 2 differs from stride 1: relative L2 "
                    + Numerics.relativeL2(strided.latents(), chained.latents()));
            double error = Numerics.relativeL2(chained.latents(), sequential.latents());
            figures.put("N=" + n + " warm-up over every step, relative L2 vs whole", error);
            check(error <= bound, String.format(Locale.ROOT,
                    "N=%d with warm-up over every step differs from sequential: relative L2 %.3g > %.3g", n, error,
                    bound));
        }
        return "N = 1 equals sequential bit for bit; warm-up >= steps equals the chained sequential run";
    }

    private String closeness(Map<String, Object> figures, Map<String, List<Double>> curves) {
        Tolerances tolerances = subject.tolerances();
        List<String> failures = new ArrayList<>();
        int compared = 0;
        for (Variant variant : variants(figures)) {
            Ask usual = runs.usual();
            Run sequential = runs.run(variant, AsyncConfig.SEQUENTIAL, usual);
            Run otherSeed = runs.run(variant, AsyncConfig.SEQUENTIAL, new Ask(OTHER_SEED, usual.steps(),
                    usual.guidance(), usual.prompt(), null, false));
            double seedDistance = Numerics.relativeL2(otherSeed.latents(), sequential.latents());
            int steps = sequential.steps();
            int laterWarmUp = Math.max(2, steps / 2);
            String prefix = variant.name() + " ";
            figures.put(prefix + "denoising steps", steps);
            figures.put(prefix + "seed distance", seedDistance);
            for (Schedule schedule : variant.schedules()) {
                String name = prefix + schedule.key();
                Run async = runs.run(variant, new AsyncConfig(schedule.n(), schedule.stride(), 1, false), usual);
                Run later = runs.run(variant, new AsyncConfig(schedule.n(), schedule.stride(), laterWarmUp, false),
                        usual);
                Run all = runs.run(variant, new AsyncConfig(schedule.n(), schedule.stride(), everyStep(sequential),
                        false), usual);
                Run bad = runs.run(variant, new AsyncConfig(schedule.n(), schedule.stride(), 1, false),
                        new Ask(usual.seed(), usual.steps(), usual.guidance(), usual.prompt(), null, true));
                double distance = Numerics.relativeL2(async.latents(), sequential.latents());
                double laterDistance = Numerics.relativeL2(later.latents(), sequential.latents());
                double allDistance = Numerics.relativeL2(all.latents(), sequential.latents());
                double badDistance = Numerics.relativeL2(bad.latents(), sequential.latents());
                double fraction = tolerances.seedFraction(schedule.n(), schedule.stride());
                figures.put(name + " distance (warm-up 1)", distance);
                figures.put(name + " distance / seed distance", distance / seedDistance);
                figures.put(name + " distance (warm-up " + laterWarmUp + ")", laterDistance);
                figures.put(name + " distance (warm-up >= steps)", allDistance);
                figures.put(name + " known-bad distance", badDistance);
                figures.put(name + " distance / known-bad distance", distance / badDistance);
                curves.put(name + " async", perStep(async, sequential));
                if (variant.equals(runs.primary()) && schedule.n() == 2 && schedule.stride() == 1) {
                    curves.put(name + " known-bad", perStep(bad, sequential));
                }
                compared++;
                if (!(distance <= fraction * seedDistance)) {
                    failures.add(String.format(Locale.ROOT, "%s: distance %.4f is %.2f of the seed distance %.4f, "
                            + "above the allowed %.2f", name, distance, distance / seedDistance, seedDistance, fraction));
                }
                double margin = tolerances.knownBadMargin(schedule.n(), schedule.stride());
                if (!(distance <= margin * badDistance)) {
                    failures.add(String.format(Locale.ROOT, "%s: distance %.4f is not clearly below the known-bad "
                            + "schedule's %.4f (allowed %.2f of it): the asynchronous run is as far from sequential as "
                            + "one fed activations three runs stale", name, distance, badDistance, margin));
                }
                if (!(laterDistance <= distance + tolerances.warmUpSlack() * seedDistance)) {
                    failures.add(String.format(Locale.ROOT, "%s: the distance grows with warm-up: %.4f at warm-up 1, "
                            + "%.4f at warm-up %d (allowed slack %.2f of the seed distance)", name, distance,
                            laterDistance, laterWarmUp, tolerances.warmUpSlack()));
                }
                double exact = tolerances.splitRelativeL2() * steps;
                if (!(allDistance <= exact)) {
                    failures.add(String.format(Locale.ROOT, "%s: with warm-up over every step the distance is %.3g, "
                            + "not zero (bound %.3g)", name, allDistance, exact));
                }
                imageSpace(name, async, sequential, figures, failures);
                if (variant.kind().video()) {
                    perFrame(name, async, sequential, otherSeed, fraction, figures, failures);
                }
            }
        }
        check(failures.isEmpty(), String.join("; ", failures));
        return compared + " configurations over " + variants.size() + " request variants within calibrated bounds; "
                + "distances fall with warm-up and vanish at warm-up >= steps";
    }

    /**
     * Video: each decoded frame's distance from the sequential clip's, against that frame's own seed distance, so a
     * schedule cannot hide one ruined frame in a clip that is close on average.
     */
    private static void perFrame(String name, Run async, Run sequential, Run otherSeed, double fraction,
                                 Map<String, Object> figures, List<String> failures) {
        int frames = (int) sequential.pixelShape()[0];
        int perFrame = sequential.pixels().length / frames;
        double worst = 0;
        int worstFrame = 0;
        for (int f = 0; f < frames; f++) {
            float[] expected = Arrays.copyOfRange(sequential.pixels(), f * perFrame, (f + 1) * perFrame);
            double distance = Numerics.relativeL2(Arrays.copyOfRange(async.pixels(), f * perFrame, (f + 1) * perFrame),
                    expected);
            double seed = Numerics.relativeL2(Arrays.copyOfRange(otherSeed.pixels(), f * perFrame, (f + 1) * perFrame),
                    expected);
            double ratio = seed > 0 ? distance / seed : distance;
            if (ratio > worst) {
                worst = ratio;
                worstFrame = f;
            }
        }
        figures.put(name + " frames", frames);
        figures.put(name + " worst frame's pixel distance / seed distance", worst);
        if (!(worst <= fraction)) {
            failures.add(String.format(Locale.ROOT, "%s: frame %d's pixels are %.2f of that frame's seed distance from "
                    + "the sequential clip's, above the allowed %.2f", name, worstFrame, worst, fraction));
        }
    }

    /** PSNR and SSIM of the decoded images, checked where the tolerances set bounds. */
    private void imageSpace(String name, Run async, Run sequential, Map<String, Object> figures, List<String> failures) {
        Tolerances tolerances = subject.tolerances();
        double psnr = Numerics.psnr(async.pixels(), sequential.pixels());
        double ssim = Numerics.ssim(async.pixels(), sequential.pixels(), sequential.pixelShape());
        figures.put(name + " PSNR dB", psnr);
        figures.put(name + " SSIM", ssim);
        if (tolerances.minPsnrDb() > 0 && !(psnr >= tolerances.minPsnrDb())) {
            failures.add(String.format(Locale.ROOT, "%s: decoded images' PSNR %.2f dB is below %.2f dB", name, psnr,
                    tolerances.minPsnrDb()));
        }
        if (tolerances.minSsim() > 0 && !(ssim >= tolerances.minSsim())) {
            failures.add(String.format(Locale.ROOT, "%s: decoded images' SSIM %.3f is below %.3f", name, ssim,
                    tolerances.minSsim()));
        }
    }

    /**
     * Guidance: with one step of a first-order sampler the latents are affine in the guidance scale, so the
     * runs at two scales extrapolate to the conditional branch alone at scale 1 and to the negative prompt's
     * branch at scale 0; and CFG-parallel gives what both branches in one batch give, to rounding (the same
     * bytes for fp32 models, which is reported).
     */
    private String guidance(Map<String, Object> figures) {
        if (subject.guidance() <= 1) {
            throw new NotApplicable("the kit generates without guidance (scale " + subject.guidance() + ")");
        }
        String sampler = affineSampler(figures);
        double low = subject.guidance();
        double high = low + 2;
        Run atLow = runs.run(runs.primary(), AsyncConfig.SEQUENTIAL, oneStep(low, KitRuns.PROMPT, sampler));
        Run atHigh = runs.run(runs.primary(), AsyncConfig.SEQUENTIAL, oneStep(high, KitRuns.PROMPT, sampler));
        Run conditional = runs.run(runs.primary(), AsyncConfig.SEQUENTIAL, oneStep(1, KitRuns.PROMPT, sampler));
        double bound = GUIDANCE_ROUNDING * subject.tolerances().splitRelativeL2();
        double toConditional = Numerics.relativeL2(extrapolate(atLow, atHigh, low, high, 1), conditional.latents());
        figures.put("scale 1 extrapolated vs the prompt alone, relative L2", toConditional);
        List<String> failures = new ArrayList<>();
        // image-to-video's unconditional branch is zero image conditioning, which no request runs alone; its frame
        // scales ramp from a fixed minimum, still affine in the scale, so the conditional end is checked
        boolean promptBranches = runs.primary().kind() != RequestKind.IMAGE_TO_VIDEO;
        double toNegative = 0;
        if (promptBranches) {
            Run negative = runs.run(runs.primary(), AsyncConfig.SEQUENTIAL, oneStep(1, KitRuns.NEGATIVE, sampler));
            toNegative = Numerics.relativeL2(extrapolate(atLow, atHigh, low, high, 0), negative.latents());
            figures.put("scale 0 extrapolated vs the negative prompt alone, relative L2", toNegative);
        }
        if (!(toConditional <= bound) || !(toNegative <= bound)) {
            failures.add(String.format(Locale.ROOT, "the guided step is not u + s·(c − u) of the unconditional "
                    + "branch u and the conditional c: extrapolated to scale 1 it is %.3g from the conditional branch "
                    + "alone, to scale 0 %.3g from the negative prompt alone (bound %.3g); are the branches swapped or "
                    + "mis-stacked?", toConditional, toNegative, bound));
        }
        String parallel = cfgParallel(figures, failures);
        check(failures.isEmpty(), String.join("; ", failures));
        return "guidance is u + s·(c − u) of the right branches; " + parallel;
    }

    /** The affine sampler if the adapter accepts it, else the model's own (whose first step is then assumed affine). */
    private String affineSampler(Map<String, Object> figures) {
        try {
            runs.run(runs.primary(), AsyncConfig.SEQUENTIAL, oneStep(1, KitRuns.PROMPT, AFFINE_SAMPLER));
            figures.put("sampler", AFFINE_SAMPLER);
            return AFFINE_SAMPLER;
        } catch (IllegalArgumentException e) {
            figures.put("sampler", "the model's own (" + AFFINE_SAMPLER + " refused: " + e.getMessage() + ")");
            return null;
        }
    }

    private Ask oneStep(double scale, String prompt, String sampler) {
        return new Ask(KitRuns.SEED, 1, scale, prompt, sampler, false);
    }

    /** The latents at scale {@code target} on the line through the runs at scales {@code low} and {@code high}. */
    private static float[] extrapolate(Run atLow, Run atHigh, double low, double high, double target) {
        float[] a = atLow.latents();
        float[] b = atHigh.latents();
        float[] out = new float[a.length];
        double t = (target - low) / (high - low);
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) (a[i] + t * ((double) b[i] - a[i]));
        }
        return out;
    }

    /** CFG-parallel against one batch, sequential and N = 2, where the pipeline runs it. */
    private String cfgParallel(Map<String, Object> figures, List<String> failures) {
        Ask usual = runs.usual();
        for (AsyncConfig config : List.of(AsyncConfig.SEQUENTIAL, AsyncConfig.of(2, 1, false))) {
            Run batched = runs.run(runs.primary(), config, usual);
            Run parallel;
            try (Opened opened = runs.open(DEVICES)) {
                opened.pipeline.setAsyncConfig(config);
                try {
                    opened.pipeline.setCfgParallel(true);
                } catch (IllegalArgumentException e) {
                    figures.put("CFG-parallel", "not offered: " + e.getMessage());
                    return "the pipeline does not offer CFG-parallel";
                }
                parallel = opened.run(runs.primary(), usual);
            }
            double distance = Numerics.relativeL2(parallel.latents(), batched.latents());
            double bound = subject.tolerances().splitRelativeL2() * batched.steps();
            figures.put("CFG-parallel vs one batch, " + label(config) + ", relative L2", distance);
            figures.put("CFG-parallel vs one batch, " + label(config) + ", same bytes",
                    Arrays.equals(parallel.latents(), batched.latents()));
            if (!(distance <= bound)) {
                failures.add(String.format(Locale.ROOT, "%s: CFG-parallel differs from guidance in one batch: relative "
                        + "L2 %.3g > %.3g (the split tolerance per step)", label(config), distance, bound));
            }
        }
        return "CFG-parallel gives what one batch gives";
    }

    private String placement(Map<String, Object> figures) {
        List<String> failures = new ArrayList<>();
        for (AsyncConfig config : List.of(AsyncConfig.of(3, 1, false), AsyncConfig.of(2, 2, false))) {
            try (Opened opened = runs.open(DEVICES)) {
                opened.pipeline.setAsyncConfig(config);
                opened.run(subject.steps());
                Set<String> used = new java.util.TreeSet<>();
                for (TrackingBackend.Placement placement : opened.backend.placements()) {
                    if (!placement.actual().equals(placement.requested())) {
                        failures.add(label(config) + ": " + placement.file().getFileName() + " was placed on "
                                + placement.requested() + " but runs on " + placement.actual());
                    }
                    if (placement.component() >= 0 && placement.runs() > 0) {
                        used.add(placement.actual().toString());
                    }
                }
                figures.put(label(config) + ": devices the components ran on", String.join(", ", used));
                if (used.size() != config.devicesRequired()) {
                    failures.add(label(config) + ": the components ran on " + used.size() + " devices " + used + ", not the "
                            + config.devicesRequired() + " the schedule places them on");
                }
            }
        }
        check(failures.isEmpty(), String.join("; ", failures));
        return "every component ran on the device it was placed on, one device each";
    }

    private String determinism(Map<String, Object> figures) {
        List<AsyncConfig> configs = List.of(AsyncConfig.SEQUENTIAL, AsyncConfig.of(2, 1, false),
                AsyncConfig.of(2, 2, false), AsyncConfig.of(3, 1, true));
        List<Variant> tried = new ArrayList<>(List.of(runs.primary()));
        variants(figures).stream().filter(v -> v.sampler() != null).forEach(tried::add);
        try (Opened opened = runs.open(DEVICES)) {
            for (Variant variant : tried) {
                for (AsyncConfig config : configs) {
                    opened.pipeline.setAsyncConfig(config);
                    Run first = opened.run(variant, runs.usual());
                    Run second = opened.run(variant, runs.usual());
                    check(Arrays.equals(first.latents(), second.latents())
                                    && Arrays.equals(first.pixels(), second.pixels()),
                            variant.name() + " " + label(config) + ": the same seed gave different outputs (latents relative L2 "
                                    + Numerics.relativeL2(second.latents(), first.latents()) + ")");
                }
            }
        }
        figures.put("configurations", configs.size() * tried.size());
        return "identical bytes for the same seed under " + configs.size() * tried.size() + " configurations";
    }

    private String lifecycle(Map<String, Object> figures) {
        Set<Thread> before = new HashSet<>(Thread.getAllStackTraces().keySet());
        TrackingBackend tracking;
        try (Opened opened = runs.open(DEVICES)) {
            tracking = opened.backend;
            opened.pipeline.setAsyncConfig(AsyncConfig.of(2, 1, false));
            opened.run(subject.steps());
            opened.run(subject.steps());
            long directBefore = NativeMemory.directBytesInUse();
            int sessionsBefore = tracking.openSessions().size();
            for (int i = 0; i < LEAK_RUNS; i++) {
                opened.run(subject.steps());
            }
            long grown = NativeMemory.directBytesInUse() - directBefore;
            int sessionsGrown = tracking.openSessions().size() - sessionsBefore;
            figures.put("direct memory grown over " + LEAK_RUNS + " runs, bytes", grown);
            figures.put("sessions opened over " + LEAK_RUNS + " runs and not closed", sessionsGrown);
            check(grown <= LEAK_ALLOWANCE_BYTES * LEAK_RUNS, String.format(Locale.ROOT, "native memory grows across "
                    + "runs: %d direct bytes more after %d further runs (allowed %d per run, for pools settling)",
                    grown, LEAK_RUNS, LEAK_ALLOWANCE_BYTES));
            check(sessionsGrown == 0, sessionsGrown + " sessions were opened during " + LEAK_RUNS
                    + " runs and not closed");
            String target = tracking.failDenoiserRun(2);
            figures.put("failing session", target);
            CompletableFuture<Run> failing = CompletableFuture.supplyAsync(() -> opened.run(subject.steps()));
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
            } catch (ExecutionException e) {
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
        return "no native memory or sessions accumulate across runs; a component failure surfaced as an exception; "
                + "closing released every session and thread";
    }

    private String inputValidation(Map<String, Object> figures) {
        try (Opened opened = runs.open(2)) {
            String tooFewDevices = expectIllegalArgument(() -> {
                opened.pipeline.setAsyncConfig(AsyncConfig.of(2, 2, false));
                opened.run(subject.steps());
            });
            check(tooFewDevices.toLowerCase(Locale.ROOT).contains("device"), "stride 2 with N = 2 on 2 devices failed "
                    + "with a message that does not mention devices: " + tooFewDevices);
            figures.put("too few devices", tooFewDevices);
        }
        int many = 100_000;   // more than any planner cuts a denoiser into, however fine its units
        try (Opened opened = runs.open(many)) {
            String tooManyParts = expectIllegalArgument(() -> {
                opened.pipeline.setAsyncConfig(new AsyncConfig(many, 1, 1, false));
                opened.run(subject.steps());
            });
            check(tooManyParts.contains(Integer.toString(many)), "splitting into " + many
                    + " components failed with a message that does not say how many were asked for: " + tooManyParts);
            figures.put("more components than units", tooManyParts);
        }
        Variant primary = runs.primary();
        Ask oneStep = new Ask(KitRuns.SEED, 1, subject.guidance(), KitRuns.PROMPT, null, false);
        try (Opened opened = runs.open(1)) {
            int odd = (subject.size() > 0 ? subject.size() : 64) + 3;
            String size = expectIllegalArgument(() -> opened.pipeline.run(runs.builder(primary, oneStep)
                    .size(odd, odd).build()).close());
            check(size.contains(Integer.toString(odd)), "a " + odd + "x" + odd + " image failed with a message that does "
                    + "not name the size: " + size);
            figures.put("odd size", size);
            String unknown = "no-such-sampler";
            String sampler = expectIllegalArgument(() -> opened.pipeline.run(runs.builder(primary, oneStep)
                    .scheduler(unknown).build()).close());
            check(sampler.contains(unknown), "an unknown sampler failed with a message that does not name it: " + sampler);
            figures.put("unknown sampler", sampler);
            for (RequestKind kind : RequestKind.values()) {
                if (!runs.kinds().contains(kind)) {
                    Variant other = new Variant(kind.id(), kind, 1, null, List.of());
                    String refused = expectIllegalArgument(() -> opened.pipeline.run(runs.builder(other, oneStep)
                            .build()).close());
                    figures.put(kind.id() + ", not served", refused);
                }
            }
        }
        return "too few devices, too many components, an odd size, an unknown sampler"
                + " and requests of kinds not served fail with clear messages";
    }

    /**
     * The variants the pipeline serves: text-to-image over every schedule, then image-to-image (if served), a
     * batch of two, and the subject's stochastic sampler (if the adapter accepts it) over a few.
     */
    private List<Variant> variants(Map<String, Object> figures) {
        if (variants == null) {
            List<Schedule> few = List.of(new Schedule(2, 1), new Schedule(2, 2), new Schedule(3, 1));
            Set<RequestKind> kinds = runs.kinds();
            Variant primary = runs.primary();
            List<Variant> list = new ArrayList<>(List.of(primary));
            for (RequestKind kind : RequestKind.values()) {
                if (kinds.contains(kind) && kind != primary.kind()) {
                    list.add(new Variant(kind.id(), kind, 1, null, few));
                }
            }
            list.add(new Variant("batch-2", primary.kind(), 2, null, few.subList(0, 2)));
            String stochastic = subject.stochasticSampler();
            if (stochastic != null) {
                Variant withSampler = new Variant(stochastic, primary.kind(), 1, stochastic, few.subList(0, 2));
                try {
                    runs.run(withSampler, AsyncConfig.SEQUENTIAL, runs.usual());
                    list.add(withSampler);
                } catch (IllegalArgumentException e) {
                    figures.put(stochastic, "not tried: the adapter refuses it: " + e.getMessage());
                }
            }
            variants = List.copyOf(list);
            figures.put("request kinds served", kinds.stream().map(RequestKind::id).sorted().toList());
        }
        return variants;
    }

    /** {@code sequential}, or e.g. {@code N=2 stride=1 warm-up 1 time-shift}. */
    static String label(AsyncConfig config) {
        if (config.modelN() == 1 && config.stride() == 1 && !config.timeShift()) {
            return "sequential";
        }
        return Tolerances.key(config.modelN(), config.stride()) + " warm-up " + config.warmUp()
                + (config.timeShift() ? " time-shift" : "");
    }

    /** A warm-up that covers every model evaluation (samplers may step more timesteps than steps). */
    private static int everyStep(Run sequential) {
        return 2 * sequential.steps() + 1;
    }

    /** The relative L2 distance of the latents after each step. */
    private static List<Double> perStep(Run run, Run sequential) {
        List<Double> distances = new ArrayList<>();
        for (int k = 0; k < Math.min(run.steps(), sequential.steps()); k++) {
            distances.add(Numerics.relativeL2(run.stepLatents().get(k), sequential.stepLatents().get(k)));
        }
        return distances;
    }

    private static String expectIllegalArgument(Runnable action) {
        try {
            action.run();
        } catch (IllegalArgumentException e) {
            check(e.getMessage() != null && !e.getMessage().isBlank(), "an IllegalArgumentException without a message");
            return e.getMessage();
        }
        throw new AssertionError("an impossible request was accepted");
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
