package dev.asyncdiff.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.asyncdiff.adapters.video.VideoAdapterProvider;
import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.bench.BenchConfig;
import dev.asyncdiff.bench.ControlNetBenchmark;
import dev.asyncdiff.bench.DenoiseBenchmark;
import dev.asyncdiff.spi.CommunicatorProvider;
import dev.asyncdiff.spi.ProviderCatalog;
import dev.asyncdiff.bench.SoakBenchmark;
import dev.asyncdiff.bench.VideoBenchmark;
import dev.asyncdiff.spi.RuntimeConfig;
import dev.asyncdiff.synthetic.Family;
import dev.asyncdiff.synthetic.Scale;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code asyncdiff bench}: times the denoising loop under several configurations side by side and
 * prints seconds, speedup over the first configuration and the engine's overhead per step.
 */
@Command(name = "bench",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = {
            "Times the denoising loop (guidance 7.5, the model's scheduler) under each configuration, side by side.",
            "Configurations: sequential (one device, one thread), sequential-tK (K intra-op threads),",
            "nNsS[wW] (AsyncDiff: N components, stride S, W warm-up steps; one thread per device),",
            "cfg2 and cfg2-nNsS[wW] (CFG-parallel: the guidance halves on two device groups)."
        })
final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR",
            description = "Model folder (default: a synthetic SD 2.1 'small' folder written once into the cache).")
    Path model;

    @Option(names = "--devices", paramLabel = "LIST", defaultValue = "cpu:0,cpu:1",
            description = "Devices, in order (default: ${DEFAULT-VALUE}).")
    String devices;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "20", description = "Steps per timed run (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--repeats", paramLabel = "N", defaultValue = "1",
            description = "Timed runs per configuration; the fastest counts (default: ${DEFAULT-VALUE}).")
    int repeats;

    @Option(names = "--configs", paramLabel = "LIST", split = ",",
            description = "Configurations, the first being the baseline (default: sequential, sequential-t2, then "
                    + "n2s1, n2s2, n3s1 as the devices allow).")
    List<String> configs;

    @Option(names = "--size", paramLabel = "PIXELS", defaultValue = "512",
            description = "Square image size; latents are a eighth of it (default: ${DEFAULT-VALUE}).")
    int size;

    @Option(names = "--json", description = "Print the results as JSON.")
    boolean json;

    @Option(names = "--controlnet", paramLabel = "DIR",
            description = "Instead of the bare UNet: time ControlNet generation with these ControlNets (repeat for "
                    + "several) placed separate (whole every step, as the original AsyncDiff) and merged into the UNet "
                    + "graph (split with it), sequential and under each nNsS of --configs (default n2s1), side by side.")
    List<Path> controlNets = new ArrayList<>();

    @Option(names = "--frames", paramLabel = "N", defaultValue = "8",
            description = "For an SVD or AnimateDiff --model: frames per clip (default: ${DEFAULT-VALUE}).")
    int frames;

    @Option(names = "--decode-chunks", paramLabel = "LIST", split = ",", defaultValue = "0,2",
            description = "For a video --model: decode chunk sizes whose decoding time and peak memory are measured, 0 "
                    + "for the whole clip at once (default: ${DEFAULT-VALUE}).")
    List<Integer> decodeChunks;

    private static final int SOAK_DEFAULT_SIZE = 64;

    @Option(names = "--soak", paramLabel = "CYCLES",
            description = "Instead of timing: open a pipeline, generate one image (--steps, --size; default the "
                    + "synthetic tiny SD 2.1; 64 px unless --size), close it, CYCLES times, and report the process's RSS (e.g. 100).")
    Integer soak;

    @Option(names = "--communicator", paramLabel = "NAME",
            description = "Time n2s1 with rank 1 in another process over this communicator (grpc: start "
                    + "`asyncdiff worker` with WORLD_SIZE=2 first) against n2s1 in process, in --repeats interleaved "
                    + "rounds; the overhead is the median of each round's against the in-process round just before it.")
    String communicator;

    @Option(names = "--warm-up-rounds", paramLabel = "N", defaultValue = "20",
            description = "With --communicator: untimed interleaved rounds first, until both JVMs' JIT has finished "
                    + "with the transport's code, a few hundred steps in (default: ${DEFAULT-VALUE}).")
    int warmUpRounds;

    @Override
    public Integer call() throws IOException {
        List<Device> deviceList = new ArrayList<>();
        for (String device : devices.split(",")) {
            deviceList.add(Device.parse(device));
        }
        List<BenchConfig> parsed = new ArrayList<>();
        for (String name : configs != null ? configs : defaultConfigs(deviceList.size())) {
            try {
                parsed.add(BenchConfig.parse(name));
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
        }
        if (size <= 0 || size % 8 != 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--size must be a positive multiple of 8, was "
                    + size);
        }
        PrintWriter err = spec.commandLine().getErr();
        if (soak != null) {
            return soak(deviceList, err);
        }
        Path folder = model != null ? model : CachedModels.ensure(Family.SD21, Scale.SMALL, err);
        if (!controlNets.isEmpty()) {
            return controlNet(folder, deviceList, parsed, err);
        }
        if (new VideoAdapterProvider().supports(folder)) {
            return video(folder, deviceList, parsed, err);
        }
        if (communicator != null) {
            return transport(folder, deviceList, err);
        }
        DenoiseBenchmark.Report report = new DenoiseBenchmark(folder, size / 8).run(deviceList, steps, parsed, repeats, line -> {
            err.println("asyncdiff: " + line);
            err.flush();
        });
        PrintWriter out = spec.commandLine().getOut();
        out.println(json ? toJson(report) : toTable(report));
        out.flush();
        return ExitCodes.OK;
    }

    private int transport(Path folder, List<Device> deviceList, PrintWriter err) throws IOException {
        CommunicatorProvider provider;
        try {
            provider = ProviderCatalog.load(RuntimeOptions.providerLoader(List.of(), System.getenv())).communicators()
                    .get(communicator);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--communicator: " + e.getMessage());
        }
        DenoiseBenchmark.Transport t = new DenoiseBenchmark(folder, size / 8).transport(provider, deviceList, steps,
                repeats, warmUpRounds, line -> {
                    err.println("asyncdiff: " + line);
                    err.flush();
                });
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(toJson(t, size));
            out.flush();
            return ExitCodes.OK;
        }
        out.printf(Locale.ROOT, "n2s1 at %d px, %d steps, median of %d interleaved rounds after %d warm-up rounds%n",
                size, t.steps(), t.rounds(), t.warmUpRounds());
        out.printf(Locale.ROOT, "in process          %9.2f ms/step%n", t.inProcessMillis());
        out.printf(Locale.ROOT, "over %-14s %9.2f ms/step%n", t.communicator(), t.transportMillis());
        out.printf(Locale.ROOT, "transport overhead  %9.2f ms/step (%.1f %% of the step; per round %.1f %% to %.1f %%)%n",
                t.overheadMillis(), t.overheadPercent(), t.minOverheadPercent(), t.maxOverheadPercent());
        out.printf(Locale.ROOT, "bytes moved         %9.0f per step (plan: %.0f in a parallel step)%n", t.bytesPerStep(),
                t.plannedBytesPerStep());
        out.flush();
        return ExitCodes.OK;
    }

    private int controlNet(Path folder, List<Device> deviceList, List<BenchConfig> parsed, PrintWriter err) {
        List<AsyncConfig> asyncConfigs = parsed.stream().filter(c -> !c.sequential() && c.guidanceGroups() == 1)
                .map(BenchConfig::async).toList();
        if (configs == null) {
            asyncConfigs = List.of(new AsyncConfig(2, 1, 1, false));
        }
        List<ControlNetBenchmark.Result> results = new ControlNetBenchmark(folder, controlNets, size).run(deviceList,
                steps, asyncConfigs, repeats, line -> {
                    err.println("asyncdiff: " + line);
                    err.flush();
                });
        PrintWriter out = spec.commandLine().getOut();
        out.println(String.format(Locale.ROOT, "%s with %s: %d steps, %dx%d px, guidance 7.5", folder, controlNets,
                steps, size, size));
        out.print(ControlNetBenchmark.table(results));
        out.flush();
        return ExitCodes.OK;
    }

    private int video(Path folder, List<Device> deviceList, List<BenchConfig> parsed, PrintWriter err) {
        if (frames < 1 || decodeChunks.stream().anyMatch(c -> c < 0)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--frames must be >= 1 and --decode-chunks "
                    + ">= 0, were " + frames + " and " + decodeChunks);
        }
        List<AsyncConfig> asyncConfigs = configs == null ? List.of(new AsyncConfig(2, 1, 1, false))
                : parsed.stream().filter(c -> !c.sequential() && c.guidanceGroups() == 1).map(BenchConfig::async)
                        .toList();
        VideoBenchmark benchmark = new VideoBenchmark(folder, size, frames);
        java.util.function.Consumer<String> log = line -> {
            err.println("asyncdiff: " + line);
            err.flush();
        };
        List<VideoBenchmark.Timing> timings = benchmark.time(deviceList, steps, asyncConfigs, repeats, log);
        List<VideoBenchmark.Decode> decodes = benchmark.decode(deviceList.subList(0, 1), decodeChunks, log);
        PrintWriter out = spec.commandLine().getOut();
        out.println(String.format(Locale.ROOT, "%s: %d frames of %dx%d px, %d steps", folder, frames, size, size,
                steps));
        out.print(VideoBenchmark.tables(timings, decodes));
        out.flush();
        return ExitCodes.OK;
    }

    private int soak(List<Device> deviceList, PrintWriter err) throws IOException {
        if (soak < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--soak must be >= 1, was " + soak);
        }
        Path folder = model != null ? model : CachedModels.ensure(Family.SD21, Scale.TINY, err);
        RuntimeConfig config = RuntimeConfig.builder().devices(deviceList.get(0)).build();
        int soakSize = spec.commandLine().getParseResult().hasMatchedOption("--size") ? size : SOAK_DEFAULT_SIZE;
        SoakBenchmark.Report report = new SoakBenchmark(folder, config, steps, soakSize,
                CachedModels.cacheRoot().resolve("splits")).run(soak, line -> {
                    err.println("asyncdiff: " + line);
                    err.flush();
                });
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectMapper mapper = new ObjectMapper();
            ObjectNode root = mapper.createObjectNode();
            root.put("cycles", report.rssBytes().size());
            root.put("startRssBytes", report.startRssBytes());
            root.put("maxRssBytes", report.maxRssBytes());
            root.set("rssBytes", mapper.valueToTree(report.rssBytes()));
            root.set("heapBytes", mapper.valueToTree(report.heapBytes()));
            out.println(mapper.writeValueAsString(root));
        } else {
            out.println(report.summary());
        }
        out.flush();
        return ExitCodes.OK;
    }

    private static List<String> defaultConfigs(int devices) {
        List<String> names = new ArrayList<>(List.of("sequential", "sequential-t2", "n2s1"));
        if (devices >= 3) {
            names.add("n2s2");
            names.add("n3s1");
        }
        return names;
    }

    static String toTable(DenoiseBenchmark.Report report) {
        StringBuilder table = new StringBuilder();
        table.append(String.format(Locale.ROOT, "%s: %d steps, %dx%d latents, guidance 7.5 (batch 2)%n",
                report.model(), report.steps(), report.latentHeight(), report.latentWidth()));
        table.append(String.format(Locale.ROOT, "%-16s %7s %9s %8s  %s%n", "config", "devices", "seconds", "speedup",
                "components alone (ms, batch 1), imbalance"));
        for (DenoiseBenchmark.Result r : report.results()) {
            String components = r.componentMillis().length == 0 ? "" : Arrays.stream(r.componentMillis())
                    .mapToObj(ms -> String.format(Locale.ROOT, "%.1f", ms)).collect(Collectors.joining(" / "))
                    + String.format(Locale.ROOT, "  (%.1f%%)", r.imbalancePercent());
            table.append(String.format(Locale.ROOT, "%-16s %7d %9.3f %7.2fx  %s%n", r.config(), r.devices(),
                    r.seconds(), r.speedup(), components));
        }
        for (DenoiseBenchmark.Overhead o : report.overheads()) {
            table.append(String.format(Locale.ROOT, "engine overhead over direct ONNX Runtime calls, %s: median %.1f%% "
                    + "(min %.1f%%, max %.1f%%, %d interleaved rounds)%n", o.config(), o.medianPercent(),
                    o.minPercent(), o.maxPercent(), o.rounds()));
        }
        return table.toString().stripTrailing();
    }

    private static String toJson(DenoiseBenchmark.Transport t, int size) throws IOException {
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = mapper.createObjectNode().put("communicator", t.communicator()).put("size", size)
                .put("steps", t.steps()).put("rounds", t.rounds()).put("warmUpRounds", t.warmUpRounds())
                .put("inProcessMillis", t.inProcessMillis())
                .put("transportMillis", t.transportMillis()).put("overheadMillis", t.overheadMillis())
                .put("overheadPercent", t.overheadPercent()).put("minOverheadPercent", t.minOverheadPercent())
                .put("maxOverheadPercent", t.maxOverheadPercent()).put("bytesPerStep", t.bytesPerStep())
                .put("plannedBytesPerStep", t.plannedBytesPerStep());
        return mapper.writeValueAsString(root);
    }

    private static String toJson(DenoiseBenchmark.Report report) throws IOException {
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = mapper.createObjectNode();
        ArrayNode results = root.putArray("results");
        for (DenoiseBenchmark.Result r : report.results()) {
            ObjectNode result = results.addObject().put("config", r.config()).put("devices", r.devices())
                    .put("seconds", r.seconds()).put("speedup", r.speedup());
            if (r.componentMillis().length > 0) {
                ArrayNode components = result.putArray("componentMillis");
                Arrays.stream(r.componentMillis()).forEach(components::add);
                result.put("imbalancePercent", r.imbalancePercent());
            }
        }
        root.put("overheadPercent", report.overheadPercent());
        ArrayNode overheads = root.putArray("overheads");
        for (DenoiseBenchmark.Overhead o : report.overheads()) {
            overheads.addObject().put("config", o.config()).put("medianPercent", o.medianPercent())
                    .put("minPercent", o.minPercent()).put("maxPercent", o.maxPercent()).put("rounds", o.rounds());
        }
        root.put("steps", report.steps());
        root.put("model", report.model());
        return mapper.writeValueAsString(root);
    }
}
