package dev.asyncdiff.cli;

import dev.asyncdiff.api.AddOn;
import dev.asyncdiff.spi.ProviderCatalog;
import dev.asyncdiff.tck.CheckResult;
import dev.asyncdiff.tck.CompatibilityKit;
import dev.asyncdiff.tck.KitReport;
import dev.asyncdiff.tck.Tolerances;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

/**
 * {@code asyncdiff tck}: runs the compatibility kit against an adapter and a model folder, prints a
 * line per check and writes JSON or Markdown reports. Exits 1 when a check fails.
 */
@Command(name = "tck",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = {
            "Runs the compatibility kit: checks that an adapter's asynchronous output stays close to sequential.",
            "Checks: split-exactness, degenerate-schedules, closeness, guidance, placement, determinism, lifecycle,",
            "input-validation."
        })
final class TckCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "A model folder the adapter opens.")
    Path model;

    @Option(names = "--adapter", paramLabel = "NAME",
            description = "Adapter provider name (default: the first adapter that supports the folder).")
    String adapter;

    @Option(names = "--backend", paramLabel = "NAME", defaultValue = "onnx", description = "Backend (default: ${DEFAULT-VALUE}).")
    String backend;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "12", description = "Steps per generation (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--size", paramLabel = "PIXELS", defaultValue = "64",
            description = "Image width and height; 0 for the model's default (default: ${DEFAULT-VALUE}).")
    int size;

    @Option(names = "--guidance", paramLabel = "SCALE", defaultValue = "5.0",
            description = "Guidance scale of the kit's generations; 1 for models without guidance (default: ${DEFAULT-VALUE}).")
    double guidance;

    @Option(names = "--seed-fraction", paramLabel = "F",
            description = "Largest asynchronous distance as a fraction of the seed distance, for every configuration "
                    + "(default: per configuration, see the README).")
    Double seedFraction;

    @Option(names = "--known-bad-margin", paramLabel = "F",
            description = "Largest asynchronous distance as a fraction of the known-bad schedule's, for every "
                    + "configuration (default: 0.8 at stride 1, 0.95 at stride 2).")
    Double knownBadMargin;

    @Option(names = "--min-psnr", paramLabel = "DB", description = "Smallest PSNR of decoded images (default: not checked).")
    Double minPsnr;

    @Option(names = "--min-ssim", paramLabel = "S", description = "Smallest SSIM of decoded images (default: not checked).")
    Double minSsim;

    @Option(names = "--trained-fp16", description = "Start from the tolerances for trained fp16 models instead of "
            + "those for random weights.")
    boolean trainedFp16;

    @Option(names = "--split-tolerance", paramLabel = "E", description = "Split exactness (relative L2 after one step).")
    Double splitTolerance;

    @Option(names = "--stochastic-sampler", paramLabel = "NAME", defaultValue = CompatibilityKit.DEFAULT_STOCHASTIC_SAMPLER,
            description = "Stochastic sampler tried with a fixed seed; 'none' to skip (default: ${DEFAULT-VALUE}).")
    String stochasticSampler;

    @Option(names = "--plugins", paramLabel = "DIR",
            description = "A folder of plugin jars (e.g. the adapter under test); repeatable; added to ASYNCDIFF_PLUGINS.")
    List<Path> pluginFolders = new ArrayList<>();

    @Option(names = "--json", paramLabel = "FILE", description = "Write the report as JSON.")
    Path json;

    @Option(names = "--markdown", paramLabel = "FILE", description = "Write the report as Markdown.")
    Path markdown;

    @Option(names = "--html", paramLabel = "FILE", description = "Write the report as a self-contained HTML page.")
    Path html;

    @Option(names = "--controlnet", paramLabel = "DIR",
            description = "A ControlNet opened with --model (repeat for several): the kit then checks ControlNet "
                    + "generation, one control image per ControlNet.")
    List<Path> controlNets = new java.util.ArrayList<>();

    @Override
    public Integer call() throws IOException {
        Tolerances tolerances = trainedFp16 ? Tolerances.TRAINED_FP16 : Tolerances.RANDOM_WEIGHTS;
        if (splitTolerance != null) {
            tolerances = tolerances.withSplitRelativeL2(splitTolerance);
        }
        if (seedFraction != null) {
            tolerances = tolerances.withSeedFraction(seedFraction);
        }
        if (knownBadMargin != null) {
            tolerances = tolerances.withKnownBadMargin(knownBadMargin);
        }
        if (minPsnr != null || minSsim != null) {
            tolerances = tolerances.withImageBounds(minPsnr != null ? minPsnr : tolerances.minPsnrDb(),
                    minSsim != null ? minSsim : tolerances.minSsim());
        }
        CompatibilityKit kit;
        try {
            kit = CompatibilityKit.create(new CompatibilityKit.Subject(adapter, model, tolerances, steps, size, backend,
                    guidance, stochasticSampler.equals("none") ? null : stochasticSampler,
                    controlNets.stream().map(AddOn::controlNet).toList()),
                    ProviderCatalog.load(RuntimeOptions.providerLoader(pluginFolders, System.getenv())));
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println("compatibility kit: adapter " + kit.adapterName() + ", model " + model.toAbsolutePath());
        out.flush();
        List<CheckResult> results = new java.util.ArrayList<>();
        PrintWriter err = spec.commandLine().getErr();
        dev.asyncdiff.tck.Check[] checks = dev.asyncdiff.tck.Check.values();
        for (int i = 0; i < checks.length; i++) {
            dev.asyncdiff.tck.Check check = checks[i];
            // progress on stderr: some checks run dozens of generations, and the result line comes only at the end
            err.printf(Locale.ROOT, "asyncdiff: tck check %d/%d: %s …%n", i + 1, checks.length, check.id());
            err.flush();
            long start = System.nanoTime();
            CheckResult result = kit.run(check);
            err.printf(Locale.ROOT, "asyncdiff: tck check %d/%d: %s done in %.1f s%n", i + 1, checks.length, check.id(),
                    (System.nanoTime() - start) / 1e9);
            err.flush();
            results.add(result);
            out.printf(Locale.ROOT, "%-7s %-21s %s%n", result.status().name().toLowerCase(Locale.ROOT),
                    check.id(), result.message());
            out.flush();
        }
        KitReport report = new KitReport(kit.adapterName(), model.toAbsolutePath().toString(), results);
        if (json != null) {
            Files.writeString(json, report.toJson());
        }
        if (markdown != null) {
            Files.writeString(markdown, report.toMarkdown());
        }
        if (html != null) {
            Files.writeString(html, report.toHtml());
        }
        out.println(report.passed() ? "all checks passed" : "some checks FAILED");
        out.flush();
        return report.passed() ? ExitCodes.OK : ExitCodes.FAILURE;
    }
}
