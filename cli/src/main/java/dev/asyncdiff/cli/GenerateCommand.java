package dev.asyncdiff.cli;

import dev.asyncdiff.adapters.controlnet.ControlNetAdapterProvider;
import dev.asyncdiff.api.AddOn;
import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.CancellationToken;
import dev.asyncdiff.api.DiffusionPipeline;
import dev.asyncdiff.api.GenerationRequest;
import dev.asyncdiff.api.GenerationResult;
import dev.asyncdiff.api.Images;
import dev.asyncdiff.api.ModelNotFoundException;
import dev.asyncdiff.engine.Engine;
import dev.asyncdiff.spi.AsyncDiffRuntime;
import dev.asyncdiff.spi.RuntimeConfig;
import dev.asyncdiff.synthetic.Family;
import dev.asyncdiff.synthetic.Scale;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ThreadLocalRandom;
import javax.imageio.ImageIO;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code asyncdiff generate}: text-to-image or image-to-image with any model folder an adapter
 * plugin opens (Stable Diffusion 1.x, 2.x, XL and 3 built in), sequentially or with AsyncDiff across
 * devices. Progress goes to stderr, the written
 * files and a summary with the time per phase to stdout; each PNG carries the generation
 * parameters in a {@code parameters} text chunk. Ctrl-C cancels the generation cleanly.
 */
@Command(name = "generate",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = {
            "Generates images from a prompt (and optionally an init image) with a model folder: SD 1.x, 2.x, XL, 3,",
            "or any family an adapter plugin adds (--plugins).",
            "The denoiser runs sequentially or with AsyncDiff across devices.",
            "Without --model a synthetic tiny SD 2.1 with random weights makes a smoke run."
        })
class GenerateCommand implements Callable<Integer> {
    /** Exit code after Ctrl-C or another cancellation. */
    static final int CANCELLED = 130;

    @Spec
    CommandSpec spec;

    @Mixin
    RuntimeOptions runtime;

    @Option(names = "--model", paramLabel = "DIR",
            description = "Exported model folder (model_index.json, unet/, vae_decoder/, …). Default: a synthetic "
                    + "tiny SD 2.1 written once into the cache ($ASYNCDIFF_CACHE_DIR/models or ~/.cache/asyncdiff/models).")
    Path model;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "What to draw (this or --prompt-file).")
    String prompt;

    @Option(names = "--prompt-file", paramLabel = "FILE",
            description = "Reads the prompt from a UTF-8 text file (for long prompts; a final line break is dropped).")
    Path promptFile;

    @Option(names = "--negative-prompt", paramLabel = "TEXT", defaultValue = "",
            description = "What to steer away from (default: none).")
    String negativePrompt;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "25",
            description = "Denoising steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--guidance", paramLabel = "SCALE",
            description = "Classifier-free guidance scale; <= 1 turns guidance off (default: the family's, e.g. 7.5 for SD 1.x/2.x, 5.0 for SDXL).")
    Double guidance;

    @Option(names = "--seed", paramLabel = "N",
            description = "Seed of the first image's noise; image i starts from the noise of seed + i (default: random, printed).")
    Long seed;

    @Option(names = "--width", paramLabel = "PIXELS",
            description = "Image width, a multiple of 8 (default: the model's, or the init image's; 256 for the "
                    + "synthetic default model).")
    Integer width;

    @Option(names = "--height", paramLabel = "PIXELS",
            description = "Image height, a multiple of 8 (default: the model's, or the init image's; 256 for the "
                    + "synthetic default model).")
    Integer height;

    @Option(names = "--num-images", paramLabel = "N", defaultValue = "1",
            description = "Images per prompt, made as one batch (default: ${DEFAULT-VALUE}).")
    int numImages;

    @Option(names = "--scheduler", paramLabel = "NAME",
            description = "Sampler: ddim, pndm, euler, euler_a, lms, heun, dpmpp_2m, dpmpp_2m_karras, unipc, … "
                    + "or a diffusers class name (default: the model's scheduler_config.json).")
    String scheduler;

    @Option(names = "--image", paramLabel = "FILE", description = "Init image for image-to-image (PNG, JPEG, …).")
    Path image;

    @Option(names = "--mask", paramLabel = "FILE",
            description = "Inpainting mask for --image: white where the image is repainted, black where it is kept "
                    + "(binarised at half brightness; resized to the image, with a warning, when its size differs).")
    Path mask;

    @Option(names = "--strength", paramLabel = "S", defaultValue = "0.8",
            description = "Image-to-image and inpainting strength in [0, 1]: how much of the init image is replaced; "
                    + "inpainting at 1 starts from pure noise (default: ${DEFAULT-VALUE}).")
    double strength;

    @ArgGroup(exclusive = false, multiplicity = "0..*", heading = "ControlNet (repeat for several):%n")
    List<ControlNetOptions> controlNets = new ArrayList<>();

    @Option(names = "--guess-mode",
            description = "ControlNet guess mode: the ControlNets act on the conditional half of guidance alone, "
                    + "their residuals scaled from 0.1 to 1, so the control image is followed even without a prompt.")
    boolean guessMode;

    @Option(names = "--controlnet-placement", paramLabel = "merged|separate", defaultValue = "merged",
            description = "Where ControlNets run: merged into the UNet graph, their cost split over the devices with "
                    + "it, or separate, whole before the UNet every step as the original AsyncDiff (default: "
                    + "${DEFAULT-VALUE}).")
    String controlNetPlacement;

    @Option(names = "--out", paramLabel = "FILE.png", defaultValue = "out.png",
            description = "Output PNG (with the parameters) or JPEG (.jpg); with several images out-0.png, "
                    + "out-1.png, … (default: ${DEFAULT-VALUE}).")
    Path out;

    @Mixin
    DenoiserOptions denoising;

    @Override
    public Integer call() {
        validateFlags();
        checkOutput();
        String promptText = promptText();
        RuntimeConfig config = runtime.toConfig();
        AsyncDiffRuntime providers = AsyncDiffRuntime.create(config, runtime.providerLoader(System.getenv()));
        Engine engine = denoising.engine(providers, scheduler);
        AsyncConfig asyncConfig = denoising.asyncConfig(config);
        BufferedImage initImage = image == null ? null : Images.read(image);
        BufferedImage maskImage = mask == null ? null : Images.read(mask);
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path modelDir = model;
        if (modelDir == null) {
            modelDir = CachedModels.ensure(defaultFamily(), Scale.TINY, err);
        }
        long firstSeed = seed != null ? seed : ThreadLocalRandom.current().nextLong(0, 1L << 32);
        CancellationToken cancellation = new CancellationToken();
        ProgressBar progress = new ProgressBar(err, System.console() != null);
        GenerationRequest.Builder request = GenerationRequest.builder(promptText).negativePrompt(negativePrompt)
                .steps(steps).seed(firstSeed)
                .size(width == null ? 0 : width, height == null ? 0 : height)
                .numImages(numImages).scheduler(scheduler).listener(progress).cancellation(cancellation);
        if (guidance != null) {
            request.guidanceScale(guidance);
        }
        startFrom(request, initImage, maskImage);
        for (ControlNetOptions control : controlNets) {
            request.control(control.controlImage());
        }
        request.guessMode(guessMode);
        GenerationRequest generation = request.build();
        List<AddOn> addOns = controlNets.stream().map(c -> AddOn.controlNet(c.folder)).toList();
        System.setProperty(ControlNetAdapterProvider.PLACEMENT_PROPERTY, controlNetPlacement);
        try (CancelOnInterrupt interrupt = new CancelOnInterrupt(cancellation);
             DiffusionPipeline pipeline = addOns.isEmpty() ? engine.open(modelDir) : engine.open(modelDir, addOns)) {
            configure(pipeline);
            pipeline.setCfgParallel(denoising.cfgParallel);
            pipeline.setAsyncConfig(asyncConfig);
            GenerationResult result = pipeline.generate(generation);
            progress.closeBar();
            List<Path> files = outputFiles(out, result.images().size());
            writeAll(result, files);
            for (Path file : files) {
                stdout.println("wrote " + file.toAbsolutePath());
            }
            BufferedImage first = result.images().get(0);
            double denoiseSeconds = result.timings().denoising().toNanos() / 1e9;
            stdout.println(String.format(Locale.ROOT, "%s %d image(s) %dx%d, seed %d, %d steps, %s: %s%s",
                    pipeline.family(), files.size(), first.getWidth(), first.getHeight(), result.seed(), result.steps(),
                    denoising.placement(asyncConfig, config, pipeline.strategyName()), result.timings().summary(),
                    result.steps() > 0 && denoiseSeconds > 0
                            ? String.format(Locale.ROOT, " (%.2f it/s)", result.steps() / denoiseSeconds) : ""));
            stdout.flush();
            return ExitCodes.OK;
        } catch (CancellationException e) {
            progress.closeBar();
            err.println("asyncdiff: generation cancelled; nothing written");
            err.flush();
            return CANCELLED;
        }
    }

    /** The synthetic family made (once, into the cache) when no {@code --model} is given. */
    Family defaultFamily() {
        return Family.SD21;
    }

    /** What the generation starts from: noise, or the init image (image-to-image, inpainting with a mask). */
    void startFrom(GenerationRequest.Builder request, BufferedImage initImage, BufferedImage maskImage) {
        if (initImage != null) {
            request.initImage(initImage, strength).mask(maskImage);
        }
    }

    /** Settings of the opened pipeline beyond the strategy; none by default. */
    void configure(DiffusionPipeline pipeline) {
    }

    void validateFlags() {
        if ((prompt == null) == (promptFile == null)) {
            throw usage(prompt == null ? "a prompt is required: --prompt TEXT or --prompt-file FILE"
                    : "--prompt and --prompt-file cannot both be given");
        }
        if (steps < 1) {
            throw usage("--steps must be >= 1, was " + steps);
        }
        if (numImages < 1) {
            throw usage("--num-images must be >= 1, was " + numImages);
        }
        for (Integer size : new Integer[] {width, height}) {
            if (size != null && (size <= 0 || size % 8 != 0)) {
                throw usage("--width and --height must be positive multiples of 8, got "
                        + (width == null ? "default" : width) + "x" + (height == null ? "default" : height));
            }
        }
        if (!(strength >= 0 && strength <= 1)) {
            throw usage("--strength must be in [0, 1], was " + strength);
        }
        if (mask != null && image == null) {
            throw usage("--mask needs --image: the mask says which part of that image to repaint");
        }
        if (guessMode && controlNets.isEmpty()) {
            throw usage("--guess-mode is a ControlNet setting: give --controlnet DIR --control-image FILE");
        }
        if (!controlNets.isEmpty() && image != null) {
            throw usage("--controlnet guides a generation from noise; it cannot be combined with --image");
        }
        if (!controlNetPlacement.equals("merged") && !controlNetPlacement.equals("separate")) {
            throw usage("--controlnet-placement must be merged or separate, was " + controlNetPlacement);
        }
        if (guidance != null && !(guidance >= 0 && Double.isFinite(guidance))) {
            throw usage("--guidance must be a finite number >= 0, was " + guidance);
        }
        denoising.validate();
    }

    /** {@code --prompt}, or the text of {@code --prompt-file} without its final line break. */
    private String promptText() {
        if (prompt != null) {
            return prompt;
        }
        try {
            return Files.readString(promptFile, StandardCharsets.UTF_8).replaceFirst("\\R\\z", "");
        } catch (NoSuchFileException e) {
            throw new ModelNotFoundException(promptFile, "prompt file (--prompt-file)");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the prompt file " + promptFile + " (--prompt-file): " + e, e);
        }
    }

    /**
     * Checks before any work that the output files can be written: a known image format ({@code .png},
     * {@code .jpg}/{@code .jpeg}, or no extension for PNG) and a folder that exists and may be written, so a
     * long generation never ends in an error about its output.
     */
    private List<Path> checkOutput() {
        String format = formatOf(out);
        if (format == null) {
            throw usage("--out " + out + ": unknown image format; expected a .png, .jpg or .jpeg file");
        }
        List<Path> files = outputFiles(out, numImages);
        Path folder = out.toAbsolutePath().getParent();
        if (folder != null && !Files.isDirectory(folder)) {
            throw usage("--out " + out + ": the folder " + folder + (Files.exists(folder) ? " is not a folder"
                    : " does not exist"));
        }
        if (folder != null && !Files.isWritable(folder)) {
            throw usage("--out " + out + ": cannot write in " + folder + ": permission denied");
        }
        for (Path file : files) {
            if (Files.isDirectory(file)) {
                throw usage("--out " + file + " is a folder; expected an image file name");
            }
            if (Files.exists(file) && !Files.isWritable(file)) {
                throw usage("--out " + file + ": cannot overwrite it: permission denied");
            }
        }
        return files;
    }

    /** {@code png}, {@code jpg} or null (unknown) for a file name; no extension means PNG. */
    static String formatOf(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        int dot = name.lastIndexOf('.');
        if (dot <= 0) {
            return "png";
        }
        return switch (name.substring(dot + 1)) {
            case "png" -> "png";
            case "jpg", "jpeg" -> "jpg";
            default -> null;
        };
    }

    /**
     * Writes every image to a temporary file beside its target, then renames them all into place: with
     * several images, a failed write leaves none of them (and no temporary file).
     */
    private void writeAll(GenerationResult result, List<Path> files) {
        List<Path> temporaries = new ArrayList<>(files.size());
        try {
            for (int i = 0; i < files.size(); i++) {
                Path file = files.get(i).toAbsolutePath();
                Path temporary = file.resolveSibling("." + file.getFileName() + ".tmp-" + ProcessHandle.current().pid());
                temporaries.add(temporary);
                BufferedImage image = result.images().get(i);
                if (formatOf(file).equals("jpg")) {
                    writeJpeg(image, temporary);
                } else {
                    Images.writePng(image, temporary, Map.of("parameters", result.parameters().get(i)));
                }
            }
            for (int i = 0; i < files.size(); i++) {
                Files.move(temporaries.get(i), files.get(i).toAbsolutePath(), StandardCopyOption.REPLACE_EXISTING,
                        StandardCopyOption.ATOMIC_MOVE);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + files + ": " + e + "; nothing was written", e);
        } catch (RuntimeException e) {
            throw new IllegalStateException("cannot write " + files + ": " + e.getMessage() + "; nothing was written", e);
        } finally {
            for (Path temporary : temporaries) {
                try {
                    Files.deleteIfExists(temporary);
                } catch (IOException ignored) {
                    // best effort: the temporary file was never renamed into place
                }
            }
        }
    }

    /** JPEG (no alpha; JPEG has no place for the generation parameters, which only PNGs carry). */
    private static void writeJpeg(BufferedImage image, Path file) throws IOException {
        BufferedImage rgb = new BufferedImage(image.getWidth(), image.getHeight(), BufferedImage.TYPE_INT_RGB);
        rgb.getGraphics().drawImage(image, 0, 0, null);
        if (!ImageIO.write(rgb, "jpg", file.toFile())) {
            throw new IOException("no JPEG writer in this JVM");
        }
    }

    /** {@code out} itself for one image, else {@code out-0.png}, {@code out-1.png}, …. */
    static List<Path> outputFiles(Path out, int count) {
        if (count == 1) {
            return List.of(out);
        }
        String name = out.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String stem = dot > 0 ? name.substring(0, dot) : name;
        String extension = dot > 0 ? name.substring(dot) : ".png";
        List<Path> files = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            files.add(out.resolveSibling(stem + "-" + i + extension));
        }
        return files;
    }

    ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }
}
