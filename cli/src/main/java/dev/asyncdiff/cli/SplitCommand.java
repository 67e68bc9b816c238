package dev.asyncdiff.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.asyncdiff.adapters.sd.ModelFolder;
import dev.asyncdiff.adapters.video.VideoAdapterProvider;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import dev.asyncdiff.onnx.graph.split.GraphSplitter;
import dev.asyncdiff.onnx.graph.split.Link;
import dev.asyncdiff.onnx.graph.split.SplitManifest;
import dev.asyncdiff.onnx.graph.split.SplitOptions;
import dev.asyncdiff.onnx.graph.split.SplitResult;
import dev.asyncdiff.onnx.graph.split.UnitCosts;
import dev.asyncdiff.spi.AsyncDiffRuntime;
import dev.asyncdiff.spi.Backend;
import dev.asyncdiff.spi.RuntimeConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

/**
 * {@code asyncdiff split}: cuts a model folder's denoiser into N components and prints the plan:
 * per component its units, its share of the estimated cost, and the tensors it receives and sends.
 */
@Command(name = "split",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = {
            "Cuts the denoiser (unet/ or transformer/model.onnx) into N components and prints the plan.",
            "Components are cached under ~/.cache/asyncdiff/splits (or $ASYNCDIFF_CACHE_DIR/splits) unless --out is given."
        })
final class SplitCommand implements Callable<Integer> {
    private static final int VAE_FACTOR = 8;
    private static final int DEFAULT_IMAGE_SIZE = 512;
    private static final int CALIBRATION_WARM_UPS = 3;
    private static final int CALIBRATION_RUNS = 9;

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "Model folder, denoiser .onnx file, or a pre-split folder with manifest.json.")
    Path model;

    @Option(names = "--parts", required = true, paramLabel = "N", description = "Number of components.")
    int parts;

    @Option(names = "--height", paramLabel = "PIXELS",
            description = "Image height the cost is estimated for (default: the denoiser config's sample_size × 8, else 512).")
    Integer height;

    @Option(names = "--width", paramLabel = "PIXELS", description = "Image width (default: like --height).")
    Integer width;

    @Option(names = "--out", paramLabel = "DIR", description = "Write the components here instead of the cache.")
    Path out;

    @Option(names = "--external-data", paramLabel = "POLICY", defaultValue = "AUTO",
            description = "Where component weights go: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    ExternalDataPolicy externalData;

    @Option(names = "--json", description = "Print the plan as JSON.")
    boolean json;

    @Option(names = "--link", paramLabel = "LINK",
            description = "The link crossing tensors travel over: inprocess, nvlink, pcie, ethernet, or a bandwidth in "
                    + "GB/s (default: inprocess for cpu devices, pcie for GPUs; see --devices).")
    String link;

    @Option(names = "--input-shape", paramLabel = "NAME=D0,D1,…",
            description = "The shape at batch 1 of a denoiser input whose axes the export leaves dynamic, e.g. "
                    + "encoder_hidden_states=1,77,768; repeatable (default: read from the model folder's configs).")
    Map<String, String> inputShapes = new LinkedHashMap<>();

    @Option(names = "--calibrate",
            description = "Time every block of the denoiser on the first device (a few warm runs, the median), store "
                    + "the times beside the split cache, and balance on them instead of the FLOP estimate.")
    boolean calibrate;

    @Option(names = "--frames", paramLabel = "N", defaultValue = "0",
            description = "For an SVD or AnimateDiff folder: the frames the plan is made for (default: the model's).")
    int frames;

    @Mixin
    RuntimeOptions runtime;

    @Override
    public Integer call() throws IOException {
        if (parts < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--parts must be >= 1, was " + parts);
        }
        int defaultSize = defaultImageSize(model);
        int imageHeight = height != null ? height : defaultSize;
        int imageWidth = width != null ? width : height != null ? height : defaultSize;
        for (int size : new int[] {imageHeight, imageWidth}) {
            if (size <= 0 || size % VAE_FACTOR != 0) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "--height and --width must be positive multiples of 8, got " + imageHeight + "x" + imageWidth);
            }
        }
        int latentHeight = imageHeight / VAE_FACTOR;
        int latentWidth = imageWidth / VAE_FACTOR;
        RuntimeConfig config = runtime.toConfig();
        SplitOptions options = SplitOptions.forDevices(config.devices())
                .withInputShapes(inputShapes(latentHeight, latentWidth));
        if (link != null) {
            options = options.withLink(parseLink(link));
        }
        GraphSplitter splitter = new GraphSplitter(CachedModels.cacheRoot().resolve("splits"));
        PrintWriter err = spec.commandLine().getErr();
        if (!Files.isRegularFile(model.resolve(SplitManifest.FILE_NAME))) {
            options = options.withMeasured(measuredCosts(splitter, config, options, latentHeight, latentWidth, err));
        }
        SplitResult split = splitter.split(model, parts, latentHeight, latentWidth, out, externalData, options);
        PrintWriter stdout = spec.commandLine().getOut();
        if (json) {
            stdout.println(toJson(split));
        } else {
            print(split, stdout);
        }
        stdout.flush();
        return ExitCodes.OK;
    }

    /** The input shapes the folder's configs give, overridden by {@code --input-shape}. */
    private Map<String, long[]> inputShapes(int latentHeight, int latentWidth) {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        if (Files.isDirectory(model) && ModelFolder.looksSupported(model)) {
            shapes.putAll(ModelFolder.open(model).denoiserInputShapes(latentHeight, latentWidth));
        } else if (Files.isDirectory(model) && new VideoAdapterProvider().supports(model)) {
            shapes.putAll(VideoAdapterProvider.denoiserInputShapes(model, latentHeight, latentWidth, frames));
        }
        for (Map.Entry<String, String> given : inputShapes.entrySet()) {
            try {
                long[] dims = Arrays.stream(given.getValue().split(",")).map(String::trim).mapToLong(Long::parseLong)
                        .toArray();
                shapes.put(given.getKey(), dims);
            } catch (NumberFormatException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--input-shape " + given.getKey() + "="
                        + given.getValue() + ": expected comma-separated positive integers, e.g. 1,77,768");
            }
        }
        return shapes;
    }

    private Link parseLink(String text) {
        try {
            return Link.parse(text);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--link: " + e.getMessage());
        }
    }

    /**
     * With {@code --calibrate}: every block timed now on the first device; otherwise the times stored for
     * the same backend settings and device kind, if any.
     */
    private UnitCosts measuredCosts(GraphSplitter splitter, RuntimeConfig config, SplitOptions options,
                                    int latentHeight, int latentWidth, PrintWriter err) {
        Device device = config.devices().get(0);
        AsyncDiffRuntime providers = AsyncDiffRuntime.create(config, runtime.providerLoader(System.getenv()));
        try (Backend backend = providers.openBackend()) {
            String target = backend.timingProfile(device);
            if (!calibrate) {
                return splitter.storedCalibration(model, latentHeight, latentWidth, target).orElse(null);
            }
            err.println("asyncdiff: timing every block of the denoiser with " + target + " …");
            err.flush();
            UnitCosts costs = splitter.calibrate(model, latentHeight, latentWidth, options,
                    file -> backend.load(file, device), target, CALIBRATION_WARM_UPS, CALIBRATION_RUNS);
            err.printf(Locale.ROOT, "asyncdiff: %d blocks timed, %.2f ms per step at batch 1 in all%n",
                    costs.secondsPerUnit().size(), costs.totalSeconds() * 1e3);
            err.flush();
            return costs;
        }
    }

    /** The sample_size of the denoiser's config.json times 8, else 512. */
    private static int defaultImageSize(Path model) {
        for (String folder : new String[] {"unet", "transformer"}) {
            Path config = model.resolve(folder).resolve("config.json");
            if (Files.isRegularFile(config)) {
                try {
                    JsonNode size = new ObjectMapper().readTree(config.toFile()).get("sample_size");
                    if (size != null && size.isInt()) {
                        return size.asInt() * VAE_FACTOR;
                    }
                } catch (IOException e) {
                    return DEFAULT_IMAGE_SIZE;
                }
            }
        }
        return DEFAULT_IMAGE_SIZE;
    }

    private static String toJson(SplitResult split) throws IOException {
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = mapper.createObjectNode();
        if (split.manifest().planning() != null) {
            root.set("planning", mapper.valueToTree(split.manifest().planning()));
        }
        root.set("components", mapper.valueToTree(split.manifest().components()));
        root.put("manifest", split.manifestFile().toAbsolutePath().toString());
        root.put("reused", split.reused());
        return mapper.writeValueAsString(root);
    }

    private void print(SplitResult split, PrintWriter out) {
        SplitManifest m = split.manifest();
        out.printf(Locale.ROOT, "%s: %d component(s), costs estimated for %dx%d latents (%dx%d images)%s%n",
                Files.isRegularFile(model.resolve(SplitManifest.FILE_NAME)) ? "pre-split folder " + model.toAbsolutePath()
                        : GraphSplitter.denoiserFile(model).toAbsolutePath(), m.parts(), m.latentHeight(), m.latentWidth(),
                m.latentHeight() * VAE_FACTOR, m.latentWidth() * VAE_FACTOR,
                split.reused() ? "; reused from " + split.directory() : "");
        SplitManifest.Planning planning = m.planning();
        if (planning != null) {
            out.printf(Locale.ROOT, "balanced on %s costs%s over link %s%s; estimated step %.3f ms at batch 1%n",
                    planning.costSource(), planning.measuredOn() == null ? "" : " (" + planning.measuredOn() + ")",
                    planning.link(), planning.linkGigabytesPerSecond() == null ? " (by reference)"
                            : String.format(Locale.ROOT, " (%.3g GB/s)", planning.linkGigabytesPerSecond()),
                    planning.estimatedStepMillis());
        }
        out.println("shapes at batch 1; * marks a dimension that follows the batch or image size");
        for (SplitManifest.Component c : m.components()) {
            out.printf(Locale.ROOT, "component %d  %s .. %s  cost %.1f%%  %.2f GFLOP/step  weights %s  %s%n",
                    c.index(), c.firstUnit(), c.lastUnit(), 100 * c.costShare(), c.gflops(), bytes(c.weightBytes()),
                    c.file());
            out.printf(Locale.ROOT, "  per step: receives %s, sends %s, estimated %.3f ms%s%n", bytes(c.receiveBytes()),
                    bytes(c.sendBytes()), c.estimatedMillis(), c.cut() == null ? "" : "; cut before it: " + c.cut());
            for (SplitManifest.Tensor t : c.inputs()) {
                String source = t.from() == null ? (Boolean.TRUE.equals(t.shapeOnly()) ? "model input, shape only"
                        : "model input") : "from component " + t.from();
                out.printf(Locale.ROOT, "  receives %-50s %s %-20s %s/step  (%s)%n", t.name(), t.dtype(),
                        shape(t), bytes(t.bytes()), source);
            }
            for (SplitManifest.Tensor t : c.outputs()) {
                String target = t.to() == null || t.to().isEmpty() ? "model output"
                        : "to component " + t.to().stream().map(String::valueOf).collect(Collectors.joining(", "));
                out.printf(Locale.ROOT, "  sends    %-50s %s %-20s %s/step  (%s)%n", t.name(), t.dtype(),
                        shape(t), bytes(t.bytes()), target);
            }
        }
        out.println("manifest: " + split.manifestFile().toAbsolutePath());
    }

    /** The shape at batch 1, a {@code *} after each dimension that follows the batch or image size. */
    private static String shape(SplitManifest.Tensor tensor) {
        if (tensor.shape() == null) {
            return "[?]";
        }
        long[] spec = tensor.specShape();
        long[] shape = tensor.shape();
        return IntStream.range(0, shape.length).mapToObj(i -> shape[i] + (spec[i] == -1 ? "*" : ""))
                .collect(Collectors.joining(",", "[", "]"));
    }

    static String bytes(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        double value = bytes;
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        int unit = -1;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
    }
}
